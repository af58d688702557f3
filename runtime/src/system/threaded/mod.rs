//! The `Threaded` base: actors run in parallel on a pool of worker threads owned by the system.
//!
//! Each actor has a mailbox its address points straight at, so a send is one push with no lookup.
//! An actor is scheduled on the pool only while it has mail (see `scheduler` and `runner`); an idle
//! actor is a few hundred bytes and costs no wake-ups. The system also owns a small tokio runtime
//! whose timers and I/O the workers use, for `async fn` handlers, `ask` timeouts and the async API.

mod placement;
mod runner;
mod scheduler;
pub(crate) mod tcp;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::Placement;
use super::{
    ActorOptions, Deliver, EXTERNAL_ID, Envelope, FIRST_ACTOR_ID, Host, IdMap, NewActor, Overflow, Refusal, Route,
    SYSTEM_ID, SystemBase, SystemImpl, SystemStats, ensure_blocking_allowed, record_dead_letter, record_unhandled,
    reply_result,
};
use crate::address::{ActorAddress, NodeId};
use crate::capabilities::{Capabilities, Value};
use crate::cell::{Cell, CellSetup};
use crate::context::ReplyFuture;
use crate::error::{Error, Result};
use crate::message::Message;
use crate::messages::{ActorExitRequest, ChildActorExited, DeadEnvelope, PoisonMessage};
use crate::payload::Payload;
use runner::ActorRunner;
use scheduler::Scheduler;

pub(super) struct ThreadedSystem {
    core: Arc<Core>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    shutdown_timeout: Duration,
    shutdown_lock: Mutex<()>,
}

/// What actors and the facade share.
struct Core {
    node: NodeId,
    handle: tokio::runtime::Handle,
    scheduler: Arc<Scheduler>,
    next_id: AtomicU64,
    /// Live actors by id: for addresses without a route (deserialized ones) and for shutdown.
    registry: Mutex<IdMap<Entry>>,
    /// Signalled when an actor leaves the registry.
    retired: Condvar,
    names: Mutex<HashMap<String, ActorAddress>>,
    system: ActorAddress,
    external: ActorAddress,
    listen_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Payload>>,
    shutting_down: AtomicBool,
    dead_letters: AtomicU64,
    unhandled: AtomicU64,
    /// The actor that receives dead letters, if one registered.
    dead_letter_handler: Mutex<Option<ActorAddress>>,
    /// Whether there is one: read without the lock on every dead letter and every exit.
    has_dead_letter_handler: AtomicBool,
    /// Where messages for other processes go (the multi-process base sets it).
    remote: std::sync::OnceLock<Arc<dyn Remote>>,
    /// Reply slots of asks sent to other processes: the reply comes back as a bare address.
    remote_slots: Arc<Mutex<IdMap<Route>>>,
    /// The system's capabilities.
    capabilities: RwLock<Arc<Capabilities>>,
    /// Counts the changes of the capabilities: a create that saw an older count checks the actor
    /// again once it is registered.
    capabilities_version: AtomicU64,
}

/// Carries messages to addresses of other processes.
trait Remote: Send + Sync {
    /// Sends `env` to `to`, an address of another node or process.
    fn send(&self, core: &Core, to: &ActorAddress, env: Envelope);
    /// Whether addresses of `node` can be reached from here.
    fn reaches(&self, node: NodeId) -> bool {
        let _ = node;
        true
    }
    /// Tells `sender`, in another process, that its message to `target` was not delivered.
    fn target_gone(&self, sender: &ActorAddress, target: &ActorAddress) {
        let _ = (sender, target);
    }
    /// Whether actors can be started in processes of their own from here (a node).
    fn hosts_processes(&self) -> bool {
        false
    }
    /// Places an actor this system cannot host on another node that can (a member of its
    /// convention); its address at once, or `None` when no node can.
    fn place(
        &self,
        parent: &ActorAddress,
        actor_type: &'static str,
        requirements: &crate::capabilities::Requirements,
        global_name: Option<String>,
    ) -> Option<ActorAddress> {
        let _ = (parent, actor_type, requirements, global_name);
        None
    }
    /// An actor of another node has exited: `true` if its parent here is to be told, `false` if
    /// it was told already.
    fn exited_elsewhere(&self, child: &ActorAddress) -> bool {
        let _ = child;
        true
    }
    /// Starts (or stops) telling `watcher` of the convention's members joining and leaving.
    fn watch_convention(&self, watcher: &ActorAddress, on: bool) {
        let _ = (watcher, on);
    }
    /// A capability of this system was set (or removed, for `None`).
    fn capability_updated(&self, name: &str, value: Option<&crate::capabilities::Value>, all: &Capabilities) {
        let _ = (name, value, all);
    }
    /// Starts an actor of a registered type in a process of its own; its address at once.
    fn create_isolated(
        &self,
        core: &Core,
        parent: &ActorAddress,
        actor_type: &'static str,
        global_name: Option<String>,
    ) -> Option<ActorAddress> {
        let _ = (core, parent, actor_type, global_name);
        None
    }
}

struct Entry {
    route: Route,
    parent: u64,
    /// For an actor type with a capability check: what to check again when the capabilities change.
    placement: Option<Arc<Placement>>,
}

/// What an `ask` receives: the reply, or why there is none.
type Reply = Result<Payload>;

/// The one-shot endpoint an `ask` waits on.
struct ReplySlot {
    tx: Mutex<Option<SlotTx>>,
}

/// Who waits at a reply slot: a future, or a thread blocked on a channel (no runtime between).
enum SlotTx {
    Async(oneshot::Sender<Reply>),
    Blocking(std::sync::mpsc::SyncSender<Reply>),
}

impl ReplySlot {
    fn new(tx: SlotTx) -> Self {
        ReplySlot { tx: Mutex::new(Some(tx)) }
    }

    fn fill(&self, result: Result<Payload>) -> std::result::Result<(), Result<Payload>> {
        match self.tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(SlotTx::Async(tx)) => tx.send(result),
            Some(SlotTx::Blocking(tx)) => tx.try_send(result).map_err(|e| match e {
                std::sync::mpsc::TrySendError::Full(r) | std::sync::mpsc::TrySendError::Disconnected(r) => r,
            }),
            None => Err(result),
        }
    }
}

impl Deliver for ReplySlot {
    fn deliver(&self, env: Envelope) -> std::result::Result<(), (Envelope, Refusal)> {
        let sender = env.sender;
        // A second reply (or one after the ask gave up) is a dead letter, never a stale reply.
        self.fill(reply_result(env.msg)).map_err(|r| {
            let msg = match r {
                Ok(msg) => msg,
                Err(Error::Poison { message_type, details, message }) => {
                    Payload::new(PoisonMessage { message, message_type, details })
                }
                Err(e) => Payload::new(e.to_string()),
            };
            (Envelope { sender, msg }, Refusal::Gone)
        })
    }

    fn target_gone(&self, target: &ActorAddress) {
        let _ = self.fill(Err(Error::DeadTarget(target.clone())));
    }

    fn connection_lost(&self, peer: &str) {
        let _ = self.fill(Err(Error::ConnectionLost(peer.to_owned())));
    }

    fn target_full(
        &self,
        target: &ActorAddress,
        capacity: usize,
        message: Box<dyn Message>,
    ) -> std::result::Result<(), Box<dyn Message>> {
        self.fill(Err(Error::MailboxFull { address: target.clone(), capacity, message })).map_err(|r| match r {
            Err(Error::MailboxFull { message, .. }) => message,
            _ => unreachable!("given back as it was"),
        })
    }
}

/// The parent of top-level actors: it accepts their exit notices.
struct SystemEndpoint;

impl Deliver for SystemEndpoint {
    fn deliver(&self, env: Envelope) -> std::result::Result<(), (Envelope, Refusal)> {
        if env.msg.is::<ChildActorExited>() { Ok(()) } else { Err((env, Refusal::Gone)) }
    }
}

/// The sender of external `tell`s: what is sent to it is read by `listen`.
struct ExternalEndpoint {
    tx: mpsc::UnboundedSender<Payload>,
}

impl Deliver for ExternalEndpoint {
    fn deliver(&self, env: Envelope) -> std::result::Result<(), (Envelope, Refusal)> {
        let sender = env.sender;
        self.tx.send(env.msg).map_err(|e| (Envelope { sender, msg: e.0 }, Refusal::Gone))
    }
}

impl ThreadedSystem {
    pub fn new(node: NodeId, worker_threads: Option<usize>, shutdown_timeout: Duration) -> Result<Self> {
        // Timers and I/O for async handlers, `ask` timeouts and the async API; actors run on the
        // scheduler's workers, which enter this runtime.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("thespian-io")
            .build()?;
        let workers = worker_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let scheduler = Scheduler::start(workers, runtime.handle().clone())?;
        let (listen_tx, listen_rx) = mpsc::unbounded_channel();
        let core = Arc::new(Core {
            node,
            handle: runtime.handle().clone(),
            scheduler,
            next_id: AtomicU64::new(FIRST_ACTOR_ID),
            registry: Mutex::new(IdMap::default()),
            retired: Condvar::new(),
            names: Mutex::new(HashMap::new()),
            system: ActorAddress::new(node, SYSTEM_ID, Some(Arc::new(SystemEndpoint))),
            external: ActorAddress::new(node, EXTERNAL_ID, Some(Arc::new(ExternalEndpoint { tx: listen_tx }))),
            listen_rx: tokio::sync::Mutex::new(listen_rx),
            shutting_down: AtomicBool::new(false),
            dead_letters: AtomicU64::new(0),
            unhandled: AtomicU64::new(0),
            dead_letter_handler: Mutex::new(None),
            has_dead_letter_handler: AtomicBool::new(false),
            remote: std::sync::OnceLock::new(),
            remote_slots: Arc::new(Mutex::new(IdMap::default())),
            capabilities: RwLock::new(Arc::default()),
            capabilities_version: AtomicU64::new(0),
        });
        Ok(ThreadedSystem { core, runtime: Mutex::new(Some(runtime)), shutdown_timeout, shutdown_lock: Mutex::new(()) })
    }

    /// Sets the capabilities the system starts with.
    pub fn with_capabilities(self, capabilities: Arc<Capabilities>) -> Self {
        *self.core.capabilities.write().unwrap_or_else(|e| e.into_inner()) = capabilities;
        self
    }

    fn check_running(&self) -> Result<()> {
        if self.core.shutting_down.load(Ordering::Acquire) { Err(Error::ShutDown(self.core.node)) } else { Ok(()) }
    }

    fn block_on<T>(&self, what: &'static str, fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        ensure_blocking_allowed(what)?;
        self.check_running()?;
        self.core.handle.block_on(fut)
    }
}

impl Core {
    fn send(&self, to: &ActorAddress, env: Envelope) {
        if to.node() != self.node && to.route.is_none() {
            return self.send_remote(to, env);
        }
        match &to.route {
            Some(route) => self.deliver(route, to, env),
            None => match self.resolve(to) {
                Some(route) => self.deliver(&route, to, env),
                None => self.dead_letter(to, env),
            },
        }
    }

    #[inline]
    fn deliver(&self, route: &Route, to: &ActorAddress, env: Envelope) {
        if let Err((env, why)) = route.deliver(env) {
            self.refused(to, env, why);
        }
    }

    /// A message for another process: over the wire, or a dead letter when there is none.
    #[cold]
    fn send_remote(&self, to: &ActorAddress, env: Envelope) {
        match self.remote.get() {
            Some(remote) => remote.send(self, to, env),
            None => {
                tracing::warn!(target_actor = %to, "send to an address of another actor system");
                self.dead_letter(to, env);
            }
        }
    }

    /// A destination did not take a message: a dead letter, or a full mailbox.
    #[cold]
    fn refused(&self, to: &ActorAddress, env: Envelope, why: Refusal) {
        match why {
            Refusal::Gone => self.dead_letter(to, env),
            Refusal::Full(bound) => self.overflow(to, env, bound.capacity),
            Refusal::Aborted(reason) => self.aborted(to, env, &reason),
        }
    }

    /// A send to a full bounded mailbox: an `ask` fails with `MailboxFull`, an actor gets its
    /// message back as a `PoisonMessage`. A bounce that cannot be delivered is a dead letter.
    #[cold]
    fn overflow(&self, to: &ActorAddress, env: Envelope, capacity: usize) {
        let Envelope { sender, msg } = env;
        if msg.is::<PoisonMessage>() {
            return self.dead_letter(to, Envelope { sender, msg });
        }
        let mut message = msg.into_box();
        if let Some(route) = &sender.route {
            match route.target_full(to, capacity, message) {
                Ok(()) => return,
                Err(back) => message = back,
            }
        }
        tracing::warn!(target_actor = %to, capacity, message = message.wire_name(), "mailbox full; the message goes back to its sender");
        let poison = PoisonMessage {
            message_type: message.wire_name().to_owned(),
            details: format!("the mailbox of {to} is full ({capacity} messages)"),
            message: Some(message),
        };
        self.send(&sender, Envelope { sender: to.without_route(), msg: Payload::new(poison) });
    }

    /// Finds the route of an address that does not carry one (a sender, or a deserialized copy).
    fn resolve(&self, to: &ActorAddress) -> Option<Route> {
        if to.node() != self.node {
            tracing::warn!(target_actor = %to, "send to an address of another actor system");
            return None;
        }
        match to.id() {
            SYSTEM_ID => self.system.route.clone(),
            EXTERNAL_ID => self.external.route.clone(),
            id => {
                let found = self.registry.lock().unwrap_or_else(|e| e.into_inner()).get(&id).map(|e| e.route.clone());
                found.or_else(|| {
                    self.remote.get()?;
                    self.remote_slots.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned()
                })
            }
        }
    }

    /// Tells `parent`, from the system, that `child` has exited.
    fn tell_exited(&self, parent: &ActorAddress, child: ActorAddress) {
        self.send(parent, Envelope { sender: self.system.clone(), msg: Payload::new(ChildActorExited { child }) });
    }

    /// Asks the actor at `address`, from the system, to exit.
    fn tell_to_exit(&self, address: &ActorAddress) {
        self.send(address, Envelope { sender: self.system.clone(), msg: Payload::new(ActorExitRequest::default()) });
    }

    fn dead_letter(&self, target: &ActorAddress, env: Envelope) {
        record_dead_letter(&self.dead_letters, target, &env);
        if env.sender.node() != self.node
            && let Some(remote) = self.remote.get()
        {
            // An `ask` from another process learns at once that its target has gone.
            remote.target_gone(&env.sender, target);
        }
        // The handler gets it, unless it is itself a dead letter's envelope or an exit notice (no
        // loops), or the handler is the very actor that has gone.
        if !self.has_dead_letter_handler.load(Ordering::Acquire)
            || env.msg.is::<DeadEnvelope>()
            || env.msg.is::<ChildActorExited>()
        {
            return;
        }
        let handler = self.dead_letter_handler.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(handler) = handler
            && handler.id() != target.id()
        {
            let dead = DeadEnvelope { dead_address: target.without_route(), message: env.msg.into_box() };
            self.send(&handler, Envelope { sender: self.system.clone(), msg: Payload::new(dead) });
        }
    }

    fn handle_dead_letters(&self, me: &ActorAddress, start: bool) {
        if !start && !self.has_dead_letter_handler.load(Ordering::Acquire) {
            return;
        }
        let mut handler = self.dead_letter_handler.lock().unwrap_or_else(|e| e.into_inner());
        if start {
            *handler = Some(me.clone());
        } else if handler.as_ref() == Some(me) {
            *handler = None;
        }
        self.has_dead_letter_handler.store(handler.is_some(), Ordering::Release);
    }

    /// Sends from outside: a full mailbox refuses (`MailboxFull`, with the message) or makes the
    /// caller wait, as the actor's bound says.
    fn tell_external(&self, to: &ActorAddress, msg: Payload) -> Result<()> {
        if to.node() != self.node {
            self.send_remote(to, Envelope { sender: self.external.clone(), msg });
            return Ok(());
        }
        let resolved;
        let route = match &to.route {
            Some(route) => route,
            None => match self.resolve(to) {
                Some(route) => {
                    resolved = route;
                    &resolved
                }
                None => {
                    self.dead_letter(to, Envelope { sender: self.external.clone(), msg });
                    return Ok(());
                }
            },
        };
        let mut env = Envelope { sender: self.external.clone(), msg };
        loop {
            match route.deliver(env) {
                Ok(()) => return Ok(()),
                Err((back, Refusal::Gone)) => {
                    self.dead_letter(to, back);
                    return Ok(());
                }
                Err((back, Refusal::Aborted(reason))) => {
                    self.aborted(to, back, &reason);
                    return Ok(());
                }
                Err((back, Refusal::Full(bound))) => match bound.overflow {
                    Overflow::Reject => {
                        return Err(Error::MailboxFull {
                            address: to.clone(),
                            capacity: bound.capacity,
                            message: back.msg.into_box(),
                        });
                    }
                    // A handler of this system waiting for room could be waiting for itself.
                    Overflow::Block if self.scheduler.is_worker_thread() => {
                        return Err(Error::MailboxFull {
                            address: to.clone(),
                            capacity: bound.capacity,
                            message: back.msg.into_box(),
                        });
                    }
                    Overflow::Block => {
                        if self.shutting_down.load(Ordering::Acquire) {
                            return Err(Error::ShutDown(self.node));
                        }
                        let wait = || route.wait_for_room(Duration::from_millis(50));
                        match tokio::runtime::Handle::try_current() {
                            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                                tokio::task::block_in_place(wait);
                            }
                            _ => {
                                wait();
                            }
                        }
                        env = back;
                    }
                },
            }
        }
    }

    /// Forgets an exited actor; `shutdown` waits for the registry to empty.
    fn deregister(&self, actor: &ActorAddress) {
        self.registry.lock().unwrap_or_else(|e| e.into_inner()).remove(&actor.id());
        self.retired.notify_all();
    }

    /// Registers and starts an actor; `None` when the constructor panicked (the address is then dead).
    fn create(
        self: &Arc<Self>,
        parent: &ActorAddress,
        new: NewActor,
        options: ActorOptions,
    ) -> (ActorAddress, bool, Option<String>) {
        if let Some(name) = &options.global_name
            && let Some(existing) = self.names.lock().unwrap_or_else(|e| e.into_inner()).get(name)
        {
            return (existing.clone(), false, None);
        }
        if new.isolated
            && let Some(remote) = self.remote.get()
            && let Some(address) = remote.create_isolated(self, parent, new.type_name(), options.global_name.clone())
        {
            return (address, options.global_name.is_none(), None);
        }
        let actor_type = new.type_name();
        let placement = new.placement(&options.requirements);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let actor = match new.build() {
            Ok(actor) => actor,
            Err(details) => {
                tracing::warn!(actor = actor_type, %details, "actor constructor panicked");
                return (ActorAddress::new(self.node, id, None), true, Some(details));
            }
        };
        let ActorOptions { global_name, mailbox, troupe_manager, requirements: _ } = options;
        let runner = ActorRunner::new(self.clone(), actor_type, mailbox);
        let route: Route = runner.clone();
        let me = ActorAddress::new(self.node, id, Some(route.clone()));
        // The cell is installed before the address is published (by name, in the registry or to
        // the caller), so no message can reach an actor that is not there yet.
        let is_child = match global_name {
            Some(name) => {
                let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(existing) = names.get(&name) {
                    // Another thread won the race for the name: use its actor.
                    return (existing.clone(), false, None);
                }
                // A named actor belongs to the system; the actor that created it is told when it
                // exits.
                let nanny = (parent.id() >= FIRST_ACTOR_ID).then(|| parent.without_route());
                let setup = CellSetup { global_name: Some(name.clone()), nanny, troupe_manager };
                runner.install(Cell::new(actor, me.clone(), self.system.clone(), setup));
                names.insert(name, me.clone());
                false
            }
            None => {
                let setup = CellSetup { global_name: None, nanny: None, troupe_manager };
                runner.install(Cell::new(actor, me.clone(), parent.clone(), setup));
                true
            }
        };
        let parent_id = if is_child { parent.id() } else { SYSTEM_ID };
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, Entry { route, parent: parent_id, placement });
        (me, is_child, None)
    }

    /// A fresh reply slot: its address, and, when `remote`, a guard that keeps the slot findable
    /// by id (all a reply from another process names it by) until the ask ends.
    fn reply_slot(&self, tx: SlotTx, remote: bool) -> (ActorAddress, Option<RemoteSlot>) {
        let slot = Arc::new(ReplySlot::new(tx));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let guard = remote.then(|| {
            self.remote_slots.lock().unwrap_or_else(|e| e.into_inner()).insert(id, slot.clone());
            RemoteSlot { slots: self.remote_slots.clone(), id }
        });
        (ActorAddress::new(self.node, id, Some(slot)), guard)
    }

    fn ask(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> ReplyFuture {
        let (tx, rx) = oneshot::channel();
        let remote = to.node() != self.node && self.remote.get().is_some();
        let (from, remote_slots) = self.reply_slot(SlotTx::Async(tx), remote);
        self.send(to, Envelope { sender: from, msg });
        Box::pin(async move {
            let _forget_when_done = remote_slots;
            let deadline = super::deadline_after(tokio::time::Instant::now(), timeout);
            match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(result)) => result,
                // Every copy of the reply address is gone: no reply can come. Keep the promise of
                // the timeout all the same, so every base behaves alike.
                Ok(Err(_)) => {
                    tokio::time::sleep_until(deadline).await;
                    Err(Error::Timeout(timeout))
                }
                Err(_) => Err(Error::Timeout(timeout)),
            }
        })
    }
}

/// Removes a remote ask's slot from the map when the ask ends (answered, timed out or dropped).
struct RemoteSlot {
    slots: Arc<Mutex<IdMap<Route>>>,
    id: u64,
}

impl Drop for RemoteSlot {
    fn drop(&mut self) {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

/// The Threaded base's side of a handler's [`Context`](crate::Context).
/// The route last looked up for an address that carried none (a sender): replies hit it.
type RouteCache = Option<(u64, Route)>;

struct ThreadedHost<'c> {
    core: &'c Arc<Core>,
    routes: &'c mut RouteCache,
    /// Present while a synchronous handler runs: its sends are handed over in batches.
    outbox: Option<&'c mut Outbox>,
    /// Messages the running actor has taken from its mailbox and not handled yet.
    held: usize,
}

/// Consecutive sends of one synchronous handler to one target, handed over under one lock when
/// the handler returns, when it sends elsewhere or asks, or every [`OUTBOX_BATCH`] messages. Per
/// sender→receiver order is kept; the receiver gets its mail in batches instead of contending for
/// its mailbox once per message.
#[derive(Default)]
struct Outbox {
    target: Option<(Route, ActorAddress)>,
    envs: Vec<Envelope>,
    /// The target of the last send that went straight over (its address, as a number).
    last_direct: usize,
}

const OUTBOX_BATCH: usize = 64;

impl ThreadedHost<'_> {
    /// Hands over what the outbox holds.
    #[inline]
    fn flush(&mut self) {
        if let Some(outbox) = &mut self.outbox
            && let Some((route, target)) = outbox.target.take()
        {
            let core = self.core;
            route.deliver_all(&mut outbox.envs, &mut |env, why| core.refused(&target, env, why));
        }
    }

    #[inline]
    fn deliver(&mut self, route: &Route, to: &ActorAddress, env: Envelope) {
        let Some(outbox) = &mut self.outbox else {
            return self.core.deliver(route, to, env);
        };
        if let Some((pending, _)) = &outbox.target
            && Arc::ptr_eq(pending, route)
        {
            outbox.envs.push(env);
            if outbox.envs.len() >= OUTBOX_BATCH {
                self.flush();
            }
            return;
        }
        // A first send to a target goes straight over (a request, a reply); the second in a row
        // to the same target starts a batch.
        let key = Arc::as_ptr(route).cast::<()>() as usize;
        let batch = outbox.last_direct == key;
        outbox.last_direct = key;
        self.flush();
        if batch {
            let outbox = self.outbox.as_mut().expect("checked above");
            outbox.target = Some((route.clone(), to.without_route()));
            outbox.envs.push(env);
        } else {
            self.core.deliver(route, to, env);
        }
    }
}

impl Host for ThreadedHost<'_> {
    fn node(&self) -> NodeId {
        self.core.node
    }

    fn reaches(&self, node: NodeId) -> bool {
        node == self.core.node || self.core.remote.get().is_some_and(|r| r.reaches(node))
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn schedule(&mut self, me: &ActorAddress, delay: Duration, msg: Payload) {
        let env = Envelope { sender: me.without_route(), msg };
        if delay.is_zero() {
            // Due now: after the message being handled, like any send to oneself.
            return self.send(me, env);
        }
        let Some(route) = &me.route else { return };
        // A pending timer does not keep an exited actor in memory, and is dropped with it.
        let route = Arc::downgrade(route);
        self.core.handle.spawn(async move {
            tokio::time::sleep(delay).await;
            let mut env = env;
            // A timer is never lost to a full bounded mailbox: it waits for room. It is dropped
            // only with its actor.
            while let Some(route) = route.upgrade() {
                match route.deliver(env) {
                    Ok(()) | Err((_, Refusal::Gone | Refusal::Aborted(_))) => return,
                    Err((back, Refusal::Full(_))) => env = back,
                }
                drop(route);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }

    fn handle_dead_letters(&mut self, me: &ActorAddress, start: bool) {
        self.core.handle_dead_letters(me, start);
    }

    fn mailbox_len(&mut self, me: &ActorAddress) -> usize {
        self.flush();
        let waiting = me.route.as_ref().map_or(0, |r| r.backlog());
        waiting + self.held
    }

    #[inline]
    fn send(&mut self, to: &ActorAddress, env: Envelope) {
        if let Some(route) = &to.route {
            return self.deliver(route, to, env);
        }
        if to.node() != self.core.node {
            return self.core.send_remote(to, env);
        }
        if to.node() == self.core.node && self.routes.as_ref().is_some_and(|(id, _)| *id == to.id()) {
            // Moved out and back rather than cloned: no reference count touched per message.
            let cached = self.routes.take().expect("checked above");
            self.deliver(&cached.1, to, env);
            *self.routes = Some(cached);
            return;
        }
        match self.core.resolve(to) {
            Some(route) => {
                self.deliver(&route, to, env);
                *self.routes = Some((to.id(), route));
            }
            None => self.core.dead_letter(to, env),
        }
    }

    fn create(&mut self, parent: &ActorAddress, new: NewActor, options: ActorOptions) -> (ActorAddress, bool) {
        let type_name = new.type_name();
        match self.core.try_create(parent, new, options) {
            Ok(created) => created,
            Err(failure) => {
                // The address is dead from the start; the creator is told at once.
                let id = self.core.next_id.fetch_add(1, Ordering::Relaxed);
                let address = ActorAddress::new(self.core.node, id, failure.dead_route(type_name));
                self.core.tell_exited(parent, address.without_route());
                (address, true)
            }
        }
    }

    fn capabilities(&self) -> Arc<Capabilities> {
        self.core.capabilities()
    }

    fn update_capability(&mut self, name: String, value: Option<Value>) {
        // What this handler sent before reaches its targets before any of them is stopped.
        self.flush();
        self.core.update_capability(name, value);
    }

    fn ask(&mut self, _from: &ActorAddress, to: &ActorAddress, msg: Payload, timeout: Duration) -> ReplyFuture {
        // What this handler sent before must arrive before the question.
        self.flush();
        self.core.ask(to, msg, timeout)
    }

    fn dead_letter(&mut self, target: &ActorAddress, env: Envelope) {
        self.core.dead_letter(target, env)
    }

    fn unhandled(&mut self, actor: &ActorAddress, msg: &dyn Message) {
        record_unhandled(&self.core.unhandled, actor, msg);
    }

    fn watch_convention(&mut self, watcher: &ActorAddress, on: bool) {
        if let Some(remote) = self.core.remote.get() {
            remote.watch_convention(watcher, on);
        }
    }
}

impl SystemImpl for ThreadedSystem {
    fn node(&self) -> NodeId {
        self.core.node
    }

    fn base(&self) -> SystemBase {
        SystemBase::Threaded
    }

    fn create(&self, new: NewActor, options: ActorOptions) -> Result<ActorAddress> {
        self.check_running()?;
        let type_name = new.type_name();
        self.core
            .try_create(&self.core.system, new, options)
            .map(|(address, _)| address)
            .map_err(|failure| failure.into_error(type_name, self.core.node))
    }

    fn capabilities(&self) -> Result<Capabilities> {
        self.check_running()?;
        Ok(Capabilities::clone(&self.core.capabilities()))
    }

    fn update_capability(&self, name: String, value: Option<Value>) -> Result<()> {
        self.check_running()?;
        self.core.update_capability(name, value);
        Ok(())
    }

    fn tell(&self, to: &ActorAddress, msg: Payload, _from_async: bool) -> Result<()> {
        self.check_running()?;
        self.core.tell_external(to, msg)
    }

    fn ask(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> Result<Payload> {
        ensure_blocking_allowed("ask")?;
        self.check_running()?;
        // Waited for through a task of the runtime: if the system shuts down meanwhile, the task
        // is cancelled and the wait ends with `ShutDown` (a timer polled here would panic).
        let waiting = self.core.handle.spawn(self.core.ask(to, msg, timeout));
        let node = self.core.node;
        self.block_on("ask", async move { waiting.await.unwrap_or(Err(Error::ShutDown(node))) })
    }

    fn ask_async(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> ReplyFuture {
        if let Err(e) = self.check_running() {
            return Box::pin(std::future::ready(Err(e)));
        }
        let reply = self.core.ask(to, msg, timeout);
        // Run the wait on the system's own runtime, so the caller may use any executor.
        let waiting = self.core.handle.spawn(reply);
        let node = self.core.node;
        Box::pin(async move { waiting.await.unwrap_or(Err(Error::ShutDown(node))) })
    }

    fn listen(&self, timeout: Duration) -> Result<Payload> {
        self.block_on("listen", self.listen_async(timeout))
    }

    fn listen_async(&self, timeout: Duration) -> ReplyFuture {
        let core = self.core.clone();
        let waiting = self.core.handle.spawn(async move {
            // The timeout covers waiting for another listener to finish, too.
            let receive = async {
                let mut rx = core.listen_rx.lock().await;
                rx.recv().await
            };
            let deadline = super::deadline_after(tokio::time::Instant::now(), timeout);
            match tokio::time::timeout_at(deadline, receive).await {
                Ok(Some(msg)) => Ok(msg),
                Ok(None) => Err(Error::ShutDown(core.node)),
                Err(_) => Err(Error::Timeout(timeout)),
            }
        });
        let node = self.core.node;
        Box::pin(async move { waiting.await.unwrap_or(Err(Error::ShutDown(node))) })
    }

    fn actor_type(&self, address: &ActorAddress) -> Option<&'static str> {
        let registry = self.core.registry.lock().unwrap_or_else(|e| e.into_inner());
        registry.get(&address.id()).and_then(|e| e.route.actor_type())
    }

    fn named(&self, name: &str) -> Option<ActorAddress> {
        self.core.names.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    fn stats(&self) -> SystemStats {
        SystemStats {
            actors: self.core.registry.lock().unwrap_or_else(|e| e.into_inner()).len(),
            dead_letters: self.core.dead_letters.load(Ordering::Relaxed),
            unhandled: self.core.unhandled.load(Ordering::Relaxed),
        }
    }

    fn shutdown(&self) -> Result<()> {
        // A second caller waits for the first one to finish.
        let _serial = self.shutdown_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.core.shutting_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // An actor cannot wait for itself: from a worker, ask everyone to exit and go on.
        let on_worker = self.core.scheduler.is_worker_thread();
        let deadline = super::deadline_after(Instant::now(), self.shutdown_timeout);
        let mut asked = std::collections::HashSet::new();
        let mut registry = self.core.registry.lock().unwrap_or_else(|e| e.into_inner());
        let remaining = loop {
            // Every actor whose parent is gone — the system itself, or an actor that has exited
            // (orphans of a non-recursive exit, actors created while this runs) — is asked to
            // exit; children go when their parents ask them, before their parents finish.
            let mut orphans: Vec<(u64, Route)> = registry
                .iter()
                .filter(|(id, e)| !asked.contains(*id) && (e.parent == SYSTEM_ID || !registry.contains_key(&e.parent)))
                .map(|(id, e)| (*id, e.route.clone()))
                .collect();
            drop(registry);
            orphans.sort_by_key(|(id, _)| *id);
            for (id, route) in orphans {
                asked.insert(id);
                let env = Envelope { sender: self.core.system.clone(), msg: Payload::new(ActorExitRequest::default()) };
                let _ = route.deliver(env);
            }
            registry = self.core.registry.lock().unwrap_or_else(|e| e.into_inner());
            if registry.is_empty() || on_worker {
                break registry.len();
            }
            let now = Instant::now();
            if now >= deadline {
                break registry.len();
            }
            let wait = (deadline - now).min(Duration::from_millis(20));
            registry = self.core.retired.wait_timeout(registry, wait).unwrap_or_else(|e| e.into_inner()).0;
        };
        // Whatever is left will never run again: break the cycles that would keep it in memory.
        for entry in registry.values() {
            entry.route.abandon();
        }
        registry.clear();
        drop(registry);
        self.core.scheduler.stop();
        if let Some(runtime) = self.runtime.lock().unwrap_or_else(|e| e.into_inner()).take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(Duration::from_secs(1));
            }
        }
        if remaining > 0 && !on_worker {
            tracing::warn!(remaining, "actors did not exit within the shutdown timeout; they were stopped");
            return Err(Error::ShutdownTimedOut { remaining, timeout: self.shutdown_timeout });
        }
        Ok(())
    }
}

impl Drop for ThreadedSystem {
    fn drop(&mut self) {
        let _ = SystemImpl::shutdown(self);
    }
}
