//! The `Simple` base: deterministic, single-threaded, run in the caller's thread.
//!
//! One global FIFO of deliveries. `tell`, `ask` and `listen` run the system (one message at a time,
//! in the order they were sent) until it is quiet or the awaited reply has arrived. Only one thread
//! runs the system at a time; others wait for it, so the same input gives the same order every run.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{
    ActorOptions, CreateFailure, EXTERNAL_ID, Envelope, FIRST_ACTOR_ID, Host, IdMap, NewActor, Overflow, Refusal,
    Route, SYSTEM_ID, SystemBase, SystemImpl, SystemStats, ensure_blocking_allowed, record_dead_letter,
    record_unhandled,
};
use super::{Placement, aborted_poison, log_stop, stop_request};
use crate::address::{ActorAddress, NodeId};
use crate::capabilities::{Capabilities, Value};
use crate::cell::{Cell, CellSetup, Delivery, Outcome};
use crate::context::ReplyFuture;
use crate::error::{Error, Result};
use crate::message::Message;
use crate::messages::{
    ActorExitRequest, ChildActorExited, DeadEnvelope, PoisonMessage, bypasses_bound, is_timer_message,
};
use crate::payload::Payload;
use crate::queue::ChunkedQueue;

pub(super) struct SimpleSystem {
    node: NodeId,
    state: Mutex<State>,
    /// Signalled whenever a reply or a listened-for message arrives, or new work is queued.
    changed: Condvar,
    /// Drives `async fn` handlers (and any tokio timers they use) in the caller's thread.
    runtime: tokio::runtime::Runtime,
    dead_letters: AtomicU64,
    unhandled: AtomicU64,
    /// Live actors, readable without the state lock (so from inside a handler, too).
    actors: AtomicUsize,
}

thread_local! {
    /// The Simple system this thread is running, if any (its address as a number).
    static RUNNING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks the current thread as running a system while it delivers messages.
struct RunningGuard(usize);

impl RunningGuard {
    fn enter(system: &SimpleSystem) -> Self {
        RunningGuard(RUNNING.replace(std::ptr::from_ref(system) as usize))
    }

    fn is_running(system: &SimpleSystem) -> bool {
        RUNNING.get() == std::ptr::from_ref(system) as usize
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.set(self.0);
    }
}

impl SimpleSystem {
    /// Calls that need the system's lock cannot be made by a handler of this very system: it
    /// already holds it (a handler uses its `Context` instead).
    fn refuse_reentry(&self, what: &'static str) -> Result<()> {
        if RunningGuard::is_running(self) {
            tracing::warn!(call = what, "called on the Simple system from inside one of its handlers");
            Err(Error::Unsupported(
                "this ActorSystem call cannot be made from inside a handler of the same Simple system; use the handler's Context",
            ))
        } else {
            Ok(())
        }
    }
}

struct State {
    cells: IdMap<Box<Cell>>,
    /// Everything else: what a running handler's host may change while its cell is borrowed.
    shared: Shared,
}

/// What became of an actor after one delivery.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Handled {
    Running,
    /// Running, with held-back mail to handle first.
    Replay,
    Exited,
}

/// A delivery waiting in the queue. Every sender on this base is a routeless address of this
/// system (an actor, an ask, the system or its external endpoint), so its id is all that is kept:
/// a third less memory per queued message than a whole envelope.
struct Queued {
    target: u64,
    sender: u64,
    msg: Payload,
}

struct Shared {
    queue: ChunkedQueue<Queued>,
    /// Reply slots of asks in progress: `None` until the reply (or a failure) arrives.
    asks: IdMap<Option<Result<Payload>>>,
    listened: VecDeque<Payload>,
    names: HashMap<String, ActorAddress>,
    /// Actors created by the handler now running; they join `cells` when it returns.
    created: Vec<Cell>,
    next_id: u64,
    shut_down: bool,
    /// How far the clock has been moved ahead of real time.
    clock_offset: Duration,
    /// Wakeups and other timers, earliest first.
    timers: BinaryHeap<Timer>,
    timer_seq: u64,
    /// The actor that receives dead letters, if one registered.
    dead_letter_handler: Option<u64>,
    /// Actors with a bounded mailbox, and how many messages each has queued.
    bounds: IdMap<Bound>,
    /// The system's capabilities.
    capabilities: Arc<Capabilities>,
    /// Live actors whose type has a capability check, checked again when the capabilities change.
    placements: IdMap<Arc<Placement>>,
}

/// A delivery due at a time on the system's clock.
struct Timer {
    due: Instant,
    /// Timers due at the same time fire in the order they were set.
    seq: u64,
    target: u64,
    msg: Payload,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}

impl Eq for Timer {}

impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timer {
    /// Reversed, so that the max-heap gives the earliest timer.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

struct Bound {
    capacity: usize,
    overflow: Overflow,
    queued: usize,
}

impl Shared {
    fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    /// Queues a delivery without checking a bound (replies from the framework, timers).
    #[inline]
    fn enqueue(&mut self, target: u64, sender: u64, msg: Payload) {
        if !self.bounds.is_empty()
            && let Some(bound) = self.bounds.get_mut(&target)
        {
            bound.queued += 1;
        }
        self.queue.push_back(Queued { target, sender, msg });
    }

    /// Whether `target`'s bounded mailbox is full (its capacity, if so).
    fn full(&self, target: u64) -> Option<(usize, Overflow)> {
        let bound = self.bounds.get(&target)?;
        (bound.queued >= bound.capacity).then_some((bound.capacity, bound.overflow))
    }
}

impl SimpleSystem {
    pub fn new(node: NodeId, capabilities: Arc<Capabilities>) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
        Ok(SimpleSystem {
            node,
            state: Mutex::new(State {
                cells: IdMap::default(),
                shared: Shared {
                    queue: ChunkedQueue::default(),
                    asks: IdMap::default(),
                    listened: VecDeque::new(),
                    names: HashMap::new(),
                    created: Vec::new(),
                    next_id: FIRST_ACTOR_ID,
                    shut_down: false,
                    clock_offset: Duration::ZERO,
                    timers: BinaryHeap::new(),
                    timer_seq: 0,
                    dead_letter_handler: None,
                    bounds: IdMap::default(),
                    capabilities,
                    placements: IdMap::default(),
                },
            }),
            changed: Condvar::new(),
            runtime,
            dead_letters: AtomicU64::new(0),
            unhandled: AtomicU64::new(0),
            actors: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.shared.shut_down { Err(Error::ShutDown(self.node)) } else { Ok(state) }
    }

    fn address(&self, id: u64) -> ActorAddress {
        ActorAddress::new(self.node, id, None)
    }

    /// Delivers queued messages until `done` holds or nothing is left to deliver (timers that
    /// are due by the system's clock included).
    fn run(&self, state: &mut State, done: impl Fn(&State) -> bool, deadline: Option<Instant>) {
        let _running = RunningGuard::enter(self);
        // Handlers run inside the system's runtime, so they may use tokio; entering it is cheap,
        // and only an `async fn` handler is driven by `block_on`.
        let _runtime = self.runtime.enter();
        // Timers that came due since the last call join the queue even if the call's answer
        // comes at once.
        state.fire_due_timers();
        let mut delivered = 0u32;
        while !done(state) {
            // A handler cannot be interrupted, but between messages the caller's deadline holds,
            // and timers that came due join the queue.
            delivered = delivered.wrapping_add(1);
            if delivered.is_multiple_of(64) {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                state.fire_due_timers();
            }
            let Some(Queued { target: id, sender, msg }) = state.shared.queue.pop_front() else {
                if state.fire_due_timers() {
                    continue;
                }
                break;
            };
            if !state.shared.bounds.is_empty()
                && let Some(bound) = state.shared.bounds.get_mut(&id)
            {
                bound.queued -= 1;
            }
            let env = Envelope { sender: self.address(sender), msg };
            if self.deliver_to(state, id, env) == Handled::Replay {
                self.replay(state, id);
            }
        }
    }

    /// The actor has just been initialized: what it held back goes first, in order.
    #[cold]
    fn replay(&self, state: &mut State, id: u64) {
        while let Some(env) = state.cells.get_mut(&id).and_then(|c| c.next_replay()) {
            if self.deliver_to(state, id, env) == Handled::Exited {
                break;
            }
        }
    }

    /// Delivers one message to actor `id` and retires it if it exits.
    #[inline]
    fn deliver_to(&self, state: &mut State, id: u64, env: Envelope) -> Handled {
        let mut host = SimpleHost { sys: self, shared: &mut state.shared };
        let Some(cell) = state.cells.get_mut(&id) else {
            // A timer of an actor that has gone is discarded with it.
            if !(env.sender.id() == id && is_timer_message(&env.msg)) {
                host.dead_letter(&self.address(id), env);
            }
            return Handled::Exited;
        };
        let outcome = match cell.deliver(env, &mut host) {
            Delivery::Done(outcome) => outcome,
            Delivery::Async(job) => self.runtime.block_on(cell.run_async(job, &mut host)),
        };
        let replay = outcome == Outcome::Running && cell.st.extras.is_some() && cell.has_replay();
        state.adopt_created(&self.actors);
        if outcome == Outcome::Exited {
            if let Some(cell) = state.cells.remove(&id) {
                self.actors.store(state.cells.len(), Ordering::Relaxed);
                self.retire(&mut state.shared, *cell);
            }
            return Handled::Exited;
        }
        if replay { Handled::Replay } else { Handled::Running }
    }

    /// Forgets an exited actor (its name, bound and dead-letter role), dead-letters what it held
    /// back, and tells its parent.
    fn retire(&self, shared: &mut Shared, mut cell: Cell) {
        let me = cell.st.me.clone();
        if cell.st.global_name().is_some() {
            shared.names.retain(|_, a| *a != me);
        }
        shared.bounds.remove(&me.id());
        if !shared.placements.is_empty() {
            shared.placements.remove(&me.id());
        }
        if shared.dead_letter_handler == Some(me.id()) {
            shared.dead_letter_handler = None;
        }
        let held = cell.take_held();
        let mut host = SimpleHost { sys: self, shared };
        for env in held {
            host.dead_letter(&me, env);
        }
        for watcher in cell.exit_watchers() {
            let note =
                Envelope { sender: self.address(SYSTEM_ID), msg: Payload::new(ChildActorExited { child: me.clone() }) };
            host.send(watcher, note);
        }
    }

    /// Runs the system until `ready` gives a value; while the system is quiet and nothing is ready,
    /// waits for other threads (which run the system themselves) until the deadline.
    fn wait_for<'g, T>(
        &'g self,
        mut state: MutexGuard<'g, State>,
        deadline: Instant,
        probe: impl Fn(&State) -> bool,
        take: impl Fn(&mut State) -> Option<T>,
    ) -> (MutexGuard<'g, State>, Result<T>) {
        loop {
            self.run(&mut state, &probe, Some(deadline));
            if let Some(value) = take(&mut state) {
                return (state, Ok(value));
            }
            if state.shared.shut_down {
                return (state, Err(Error::ShutDown(self.node)));
            }
            let now = Instant::now();
            if now >= deadline {
                return (state, Err(Error::Timeout(Duration::ZERO)));
            }
            // Quiet, but a timer may come due before the deadline: wake up for it.
            let wake = match state.shared.timers.peek() {
                Some(timer) => deadline.min(timer.due.checked_sub(state.shared.clock_offset).unwrap_or(now)),
                None => deadline,
            };
            let wait = wake.saturating_duration_since(now).max(Duration::from_micros(100));
            state = self.changed.wait_timeout(state, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn ask_here(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> Result<Payload> {
        let deadline = super::deadline_after(Instant::now(), timeout);
        let mut state = self.lock()?;
        self.make_room(&mut state, to);
        let id = state.shared.next_id;
        state.shared.next_id += 1;
        state.shared.asks.insert(id, None);
        let env = Envelope { sender: self.address(id), msg };
        SimpleHost { sys: self, shared: &mut state.shared }.send(to, env);
        let (mut state, result) = self.wait_for(
            state,
            deadline,
            |s| matches!(s.shared.asks.get(&id), Some(Some(_))),
            |s| s.shared.asks.get_mut(&id).and_then(Option::take),
        );
        state.shared.asks.remove(&id);
        result.and_then(|reply| reply).map_err(|e| match e {
            Error::Timeout(_) => Error::Timeout(timeout),
            e => e,
        })
    }

    fn listen_here(&self, timeout: Duration) -> Result<Payload> {
        let deadline = super::deadline_after(Instant::now(), timeout);
        let state = self.lock()?;
        let (state, result) =
            self.wait_for(state, deadline, |s| !s.shared.listened.is_empty(), |s| s.shared.listened.pop_front());
        drop(state);
        result.map_err(|e| match e {
            Error::Timeout(_) => Error::Timeout(timeout),
            e => e,
        })
    }

    /// Runs a call of the blocking API from async code: the Simple base does its work in the
    /// caller's thread, so on a multi-thread runtime the worker steps aside while it runs.
    fn run_from_async<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        match tokio::runtime::Handle::try_current() {
            Err(_) => f(),
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
            Ok(_) => Err(Error::Unsupported(
                "the Simple base's async API needs a multi-thread tokio runtime (it runs actors in the caller's thread)",
            )),
        }
    }
}

impl State {
    /// Queues the timers that are due, for actors that are still there. Whether any were.
    #[inline]
    fn fire_due_timers(&mut self) -> bool {
        // Reading the clock costs more than most deliveries: only when a timer is pending.
        if self.shared.timers.is_empty() {
            return false;
        }
        let now = self.shared.now();
        let mut fired = false;
        while self.shared.timers.peek().is_some_and(|t| t.due <= now) {
            let Some(timer) = self.shared.timers.pop() else { break };
            // Pending wakeups die with their actor: no dead letter for them.
            if self.cells.contains_key(&timer.target) {
                self.shared.enqueue(timer.target, timer.target, timer.msg);
                fired = true;
            }
        }
        fired
    }

    /// Moves actors created by the last handler into the map.
    #[inline]
    fn adopt_created(&mut self, live: &AtomicUsize) {
        if self.shared.created.is_empty() {
            return;
        }
        for cell in self.shared.created.drain(..) {
            self.cells.insert(cell.st.me.id(), Box::new(cell));
        }
        live.store(self.cells.len(), Ordering::Relaxed);
    }
}

/// The Simple base's side of a handler's [`Context`](crate::Context).
struct SimpleHost<'s> {
    sys: &'s SimpleSystem,
    shared: &'s mut Shared,
}

impl SimpleHost<'_> {
    /// Creates an actor the system can host; returns its address and whether it is a child of
    /// `parent` (a globally named actor belongs to the system). A taken global name gives the
    /// actor that has it, whatever the type and its capability check.
    fn try_create(
        &mut self,
        parent: &ActorAddress,
        new: NewActor,
        options: ActorOptions,
    ) -> std::result::Result<(ActorAddress, bool), CreateFailure> {
        if let Some(existing) = options.global_name.as_ref().and_then(|n| self.shared.names.get(n)) {
            return Ok((existing.clone(), false));
        }
        new.admits(&self.shared.capabilities, &options.requirements).map_err(CreateFailure::Refused)?;
        let placement = new.placement(&options.requirements);
        let actor = new.build().map_err(CreateFailure::ConstructorPanicked)?;
        let id = self.shared.next_id;
        self.shared.next_id += 1;
        let me = self.sys.address(id);
        let by_actor = parent.id() >= FIRST_ACTOR_ID;
        let ActorOptions { global_name, mailbox, troupe_manager, requirements: _ } = options;
        let (cell_parent, is_child, nanny) = match &global_name {
            Some(name) => {
                self.shared.names.insert(name.clone(), me.clone());
                // A named actor belongs to the system; the actor that created it is told when it
                // exits.
                (self.sys.address(SYSTEM_ID), false, by_actor.then(|| parent.clone()))
            }
            None => (parent.clone(), true, None),
        };
        if let Some(bound) = mailbox {
            self.shared.bounds.insert(id, Bound { capacity: bound.capacity, overflow: bound.overflow, queued: 0 });
        }
        if let Some(placement) = placement {
            self.shared.placements.insert(id, placement);
        }
        let setup = CellSetup { global_name, nanny, troupe_manager };
        self.shared.created.push(Cell::new(actor, me.clone(), cell_parent, setup));
        Ok((me, is_child))
    }

    /// Asks every actor whose capability check no longer passes to stop, in creation order.
    fn stop_unhostable(&mut self) {
        if self.shared.placements.is_empty() {
            return;
        }
        let mut ids: Vec<u64> = self.shared.placements.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let placement = &self.shared.placements[&id];
            if let Some(why) = placement.must_stop(&self.shared.capabilities) {
                log_stop(&self.sys.address(id), placement.actor_type, &why);
                // From the actor itself, as in the original.
                self.shared.enqueue(id, id, stop_request());
            }
        }
    }

    /// A send to an address that carries a route: on this base, only the address of an actor
    /// that was never created.
    #[cold]
    fn send_routed(&mut self, to: &ActorAddress, route: Route, env: Envelope) {
        match route.deliver(env) {
            Ok(()) => {}
            Err((env, Refusal::Aborted(reason))) if !env.msg.is::<PoisonMessage>() => {
                let poison = aborted_poison(env.msg, &reason);
                self.send(&env.sender, Envelope { sender: to.without_route(), msg: Payload::new(poison) });
            }
            Err((env, _)) => self.dead_letter(to, env),
        }
    }

    /// A send to a full bounded mailbox: an actor gets its message back as a `PoisonMessage`, an
    /// `ask` fails with `MailboxFull`; nothing is dropped.
    #[cold]
    fn overflow(&mut self, to: &ActorAddress, env: Envelope, capacity: usize) {
        let sender = env.sender.id();
        let message = env.msg.into_box();
        if let Some(slot) = self.shared.asks.get_mut(&sender).filter(|s| s.is_none()) {
            *slot = Some(Err(Error::MailboxFull { address: to.clone(), capacity, message }));
            self.sys.changed.notify_all();
            return;
        }
        tracing::warn!(target_actor = %to, capacity, message = message.wire_name(), "mailbox full; the message goes back to its sender");
        let poison = PoisonMessage {
            message_type: message.wire_name().to_owned(),
            details: format!("the mailbox of {to} is full ({capacity} messages)"),
            message: Some(message),
        };
        let back = Envelope { sender: to.without_route(), msg: Payload::new(poison) };
        let sender_address = self.sys.address(sender);
        if sender >= FIRST_ACTOR_ID && !self.shared.asks.contains_key(&sender) {
            self.shared.enqueue(sender, to.id(), back.msg);
        } else {
            self.send(&sender_address, back);
        }
    }
}

impl Host for SimpleHost<'_> {
    fn node(&self) -> NodeId {
        self.sys.node
    }

    fn send(&mut self, to: &ActorAddress, env: Envelope) {
        if to.node() != self.sys.node {
            tracing::warn!(target_actor = %to, "send to an address of another actor system");
            return self.dead_letter(to, env);
        }
        if let Some(route) = &to.route {
            return self.send_routed(to, route.clone(), env);
        }
        let id = to.id();
        if id >= FIRST_ACTOR_ID && (self.shared.asks.is_empty() || !self.shared.asks.contains_key(&id)) {
            // An actor (whether it still exists is checked on delivery, in order).
            debug_assert!(env.sender.node() == self.sys.node && env.sender.route.is_none());
            if !self.shared.bounds.is_empty()
                && let Some((capacity, _)) = self.shared.full(id)
                && !bypasses_bound(&env.msg)
            {
                return self.overflow(to, env, capacity);
            }
            self.shared.enqueue(id, env.sender.id(), env.msg);
        } else if let Some(slot) = self.shared.asks.get_mut(&id) {
            match slot {
                None => {
                    *slot = Some(super::reply_result(env.msg));
                    self.sys.changed.notify_all();
                }
                // A second reply to one ask is a dead letter, never a stale reply later.
                Some(_) => self.dead_letter(to, env),
            }
        } else if id == EXTERNAL_ID {
            self.shared.listened.push_back(env.msg);
            self.sys.changed.notify_all();
        } else if !env.msg.is::<ChildActorExited>() {
            // The system endpoint takes only the exit notices of top-level actors.
            self.dead_letter(to, env);
        }
    }

    fn create(&mut self, parent: &ActorAddress, new: NewActor, options: ActorOptions) -> (ActorAddress, bool) {
        let type_name = new.type_name();
        match self.try_create(parent, new, options) {
            Ok(created) => created,
            Err(failure) => {
                // The address is dead from the start; the creator is told at once.
                let id = self.shared.next_id;
                self.shared.next_id += 1;
                let me = ActorAddress::new(self.sys.node, id, failure.dead_route(type_name));
                let note = Envelope {
                    sender: self.sys.address(SYSTEM_ID),
                    msg: Payload::new(ChildActorExited { child: me.without_route() }),
                };
                self.send(parent, note);
                (me, true)
            }
        }
    }

    fn ask(&mut self, _from: &ActorAddress, _to: &ActorAddress, _msg: Payload, _timeout: Duration) -> ReplyFuture {
        Box::pin(std::future::ready(Err(Error::Unsupported(
            "an actor cannot ask on the Simple base: every actor runs in one thread, so waiting would stop them all; use the Threaded base or send and handle the reply",
        ))))
    }

    fn dead_letter(&mut self, target: &ActorAddress, env: Envelope) {
        record_dead_letter(&self.sys.dead_letters, target, &env);
        if let Some(slot) = self.shared.asks.get_mut(&env.sender.id()).filter(|s| s.is_none()) {
            *slot = Some(Err(Error::DeadTarget(target.clone())));
            self.sys.changed.notify_all();
        }
        // The handler gets it, unless it is itself a dead letter's envelope or an exit notice
        // (no loops), or the handler is the very actor that has gone.
        if let Some(handler) = self.shared.dead_letter_handler
            && handler != target.id()
            && !env.msg.is::<DeadEnvelope>()
            && !env.msg.is::<ChildActorExited>()
        {
            let dead = DeadEnvelope { dead_address: target.without_route(), message: env.msg.into_box() };
            self.shared.enqueue(handler, SYSTEM_ID, Payload::new(dead));
        }
    }

    fn unhandled(&mut self, actor: &ActorAddress, msg: &dyn Message) {
        record_unhandled(&self.sys.unhandled, actor, msg);
    }

    fn now(&self) -> Instant {
        self.shared.now()
    }

    fn schedule(&mut self, me: &ActorAddress, delay: Duration, msg: Payload) {
        if delay.is_zero() {
            // Due now: after the message being handled, like any send to oneself.
            self.shared.enqueue(me.id(), me.id(), msg);
            return;
        }
        let due = super::deadline_after(self.shared.now(), delay);
        let seq = self.shared.timer_seq;
        self.shared.timer_seq += 1;
        self.shared.timers.push(Timer { due, seq, target: me.id(), msg });
    }

    fn handle_dead_letters(&mut self, me: &ActorAddress, start: bool) {
        let handler = &mut self.shared.dead_letter_handler;
        if start {
            *handler = Some(me.id());
        } else if *handler == Some(me.id()) {
            *handler = None;
        }
    }

    fn mailbox_len(&mut self, me: &ActorAddress) -> usize {
        let id = me.id();
        self.shared.queue.iter().filter(|q| q.target == id).count()
    }

    fn capabilities(&self) -> Arc<Capabilities> {
        self.shared.capabilities.clone()
    }

    fn update_capability(&mut self, name: String, value: Option<Value>) {
        if Arc::make_mut(&mut self.shared.capabilities).update(name, value) {
            self.stop_unhostable();
        }
    }
}

impl SystemImpl for SimpleSystem {
    fn node(&self) -> NodeId {
        self.node
    }

    fn base(&self) -> SystemBase {
        SystemBase::Simple
    }

    fn create(&self, new: NewActor, options: ActorOptions) -> Result<ActorAddress> {
        self.refuse_reentry("create_actor")?;
        let mut state = self.lock()?;
        let type_name = new.type_name();
        let system = self.address(SYSTEM_ID);
        let created = SimpleHost { sys: self, shared: &mut state.shared }.try_create(&system, new, options);
        state.adopt_created(&self.actors);
        created.map(|(address, _)| address).map_err(|failure| failure.into_error(type_name, self.node))
    }

    fn tell(&self, to: &ActorAddress, msg: Payload, from_async: bool) -> Result<()> {
        if from_async {
            self.run_from_async(|| self.tell_here(to, msg))
        } else {
            ensure_blocking_allowed("tell")?;
            self.tell_here(to, msg)
        }
    }

    fn ask(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> Result<Payload> {
        ensure_blocking_allowed("ask")?;
        self.ask_here(to, msg, timeout)
    }

    fn ask_async(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> ReplyFuture {
        let result = self.run_from_async(|| self.ask_here(to, msg, timeout));
        Box::pin(std::future::ready(result))
    }

    fn listen(&self, timeout: Duration) -> Result<Payload> {
        ensure_blocking_allowed("listen")?;
        self.listen_here(timeout)
    }

    fn listen_async(&self, timeout: Duration) -> ReplyFuture {
        let result = self.run_from_async(|| self.listen_here(timeout));
        Box::pin(std::future::ready(result))
    }

    fn actor_type(&self, address: &ActorAddress) -> Option<&'static str> {
        if RunningGuard::is_running(self) {
            return None;
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.cells.get(&address.id()) {
            Some(cell) => Some(cell.actor.actor_type_name()),
            None => None,
        }
    }

    fn named(&self, name: &str) -> Option<ActorAddress> {
        if RunningGuard::is_running(self) {
            return None;
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.shared.names.get(name).cloned()
    }

    fn stats(&self) -> SystemStats {
        SystemStats {
            actors: self.actors.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            unhandled: self.unhandled.load(Ordering::Relaxed),
        }
    }

    fn advance_clock(&self, by: Duration) -> Result<()> {
        self.refuse_reentry("advance_clock")?;
        self.advance_clock_here(by)
    }

    fn capabilities(&self) -> Result<Capabilities> {
        self.refuse_reentry("capabilities")?;
        Ok(Capabilities::clone(&self.lock()?.shared.capabilities))
    }

    fn update_capability(&self, name: String, value: Option<Value>) -> Result<()> {
        self.refuse_reentry("update_capability")?;
        let mut state = self.lock()?;
        SimpleHost { sys: self, shared: &mut state.shared }.update_capability(name, value);
        // The actors asked to stop exit before this returns, as after a `tell`.
        self.run(&mut state, |_| false, None);
        Ok(())
    }

    fn shutdown(&self) -> Result<()> {
        self.refuse_reentry("shutdown")?;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.shared.shut_down {
            return Ok(());
        }
        let mut asked = std::collections::HashSet::new();
        loop {
            // Every actor whose parent is gone (the system, or an actor that exited without its
            // children) is asked to exit, in creation order; children go when their parents ask.
            let mut orphans: Vec<ActorAddress> = state
                .cells
                .values()
                .filter(|cell| {
                    !asked.contains(&cell.st.me.id())
                        && (cell.st.parent.id() == SYSTEM_ID || !state.cells.contains_key(&cell.st.parent.id()))
                })
                .map(|cell| cell.st.me.clone())
                .collect();
            if orphans.is_empty() {
                break;
            }
            orphans.sort_by_key(ActorAddress::id);
            let system = self.address(SYSTEM_ID);
            for actor in orphans {
                asked.insert(actor.id());
                let env = Envelope { sender: system.clone(), msg: Payload::new(ActorExitRequest::default()) };
                SimpleHost { sys: self, shared: &mut state.shared }.send(&actor, env);
            }
            self.run(&mut state, |_| false, None);
        }
        if !state.cells.is_empty() {
            tracing::warn!(remaining = state.cells.len(), "actors that did not exit at shutdown are dropped");
        }
        state.cells.clear();
        self.actors.store(0, Ordering::Relaxed);
        state.shared.shut_down = true;
        for slot in state.shared.asks.values_mut().filter(|s| s.is_none()) {
            *slot = Some(Err(Error::ShutDown(self.node)));
        }
        self.changed.notify_all();
        Ok(())
    }
}

impl SimpleSystem {
    fn tell_here(&self, to: &ActorAddress, msg: Payload) -> Result<()> {
        let mut state = self.lock()?;
        self.make_room(&mut state, to);
        if !state.shared.bounds.is_empty()
            && to.node() == self.node
            && let Some((capacity, Overflow::Reject)) = state.shared.full(to.id())
            && !bypasses_bound(&msg)
        {
            return Err(Error::MailboxFull { address: to.clone(), capacity, message: msg.into_box() });
        }
        let env = Envelope { sender: self.address(EXTERNAL_ID), msg };
        SimpleHost { sys: self, shared: &mut state.shared }.send(to, env);
        self.run(&mut state, |_| false, None);
        Ok(())
    }
}

impl SimpleSystem {
    /// An outside call finds a bounded mailbox full only because deliveries queued ahead of it
    /// have not run yet (nothing runs between calls on this base): run them until there is room.
    fn make_room(&self, state: &mut State, to: &ActorAddress) {
        if state.shared.bounds.is_empty() || to.node() != self.node {
            return;
        }
        let id = to.id();
        if state.shared.full(id).is_some() {
            self.run(state, |s| s.shared.full(id).is_none(), None);
        }
    }

    fn advance_clock_here(&self, by: Duration) -> Result<()> {
        let mut state = self.lock()?;
        let target = state.shared.clock_offset + by;
        // Step from timer to timer, so that a timer set by a handler on the way fires too, at its
        // own time.
        loop {
            self.run(&mut state, |_| false, None);
            let Some(due) = state.shared.timers.peek().map(|t| t.due) else { break };
            let real_now = Instant::now();
            if due > real_now + target {
                break;
            }
            let needed = due.saturating_duration_since(real_now);
            state.shared.clock_offset = state.shared.clock_offset.max(needed).min(target);
            if !state.fire_due_timers() && state.shared.clock_offset >= target {
                break;
            }
        }
        state.shared.clock_offset = state.shared.clock_offset.max(target);
        self.run(&mut state, |_| false, None);
        Ok(())
    }
}

impl Drop for SimpleSystem {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            let _ = SystemImpl::shutdown(self);
        }
    }
}
