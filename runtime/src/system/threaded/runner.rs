//! One actor of the `Threaded` base: its mailbox, whether it is scheduled, and a run on a worker.
//!
//! The scheduling state is two bits. `SCHEDULED`: the actor is queued or running, so nobody else
//! may queue it. `NOTIFIED`: something happened (mail, or its async handler was woken) while it
//! was scheduled; the run that is going on must look again before it lets go. A run clears
//! `NOTIFIED`, works, and then releases `SCHEDULED` only if `NOTIFIED` is still clear — so no
//! message and no wake-up is ever missed, and an actor never runs on two workers at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

use super::scheduler::{Runnable, Task};
use super::{Core, Outbox, RouteCache, ThreadedHost};
use crate::actor::panic_error;
use crate::cell::{Cell, Delivery, Outcome};
use crate::messages::bypasses_bound;
use crate::queue::ChunkedQueue;
use crate::system::{Deliver, Envelope, MailboxBound, Refusal};
use std::panic::{AssertUnwindSafe, catch_unwind};

const SCHEDULED: u8 = 0b01;
const NOTIFIED: u8 = 0b10;

/// Messages an actor handles in one run before it goes to the back of the queue.
const BUDGET: u32 = 256;

/// Mail waiting for an actor that is queued but not running. When a sender's burst reaches it,
/// the actor is probably stuck in the sending worker's "next" slot behind the sender's long
/// handler: it is made stealable so that another worker takes it.
const SPILL_BACKLOG: usize = 64;

/// An actor's async handler in progress; it gives back the cell when it is done.
type Suspended = Pin<Box<dyn Future<Output = (Box<Cell>, RouteCache, Outcome)> + Send>>;

pub(super) struct ActorRunner {
    this: Weak<ActorRunner>,
    core: Arc<Core>,
    actor_type: &'static str,
    state: AtomicU8,
    mailbox: Mutex<Mailbox>,
    /// Locked only by the worker running the actor (the `SCHEDULED` bit makes that one at a time).
    inner: Mutex<Inner>,
    /// For a bounded mailbox only (kept out of line: most mailboxes are unbounded).
    bound: Option<Box<Bounded>>,
}

/// A bounded mailbox's limit, and its count of messages not yet handled.
struct Bounded {
    bound: MailboxBound,
    queued: AtomicUsize,
    /// Outside senders waiting for room.
    room: Condvar,
    waiters: AtomicUsize,
}

#[derive(Default)]
struct Mailbox {
    queue: ChunkedQueue<Envelope>,
    closed: bool,
}

struct Inner {
    activity: Activity,
    /// Mail taken from the mailbox in one go and not yet handled.
    batch: ChunkedQueue<Envelope>,
    /// The sender route last looked up; replies hit it.
    routes: RouteCache,
    /// Where a synchronous handler's sends collect (kept to reuse its allocation).
    outbox: Outbox,
}

enum Activity {
    Ready(Box<Cell>),
    Suspended(Suspended),
    Retired,
}

/// What a stretch of work ended with.
enum Pause {
    /// Nothing to do: no mail, or an async handler waiting to be woken.
    Idle,
    /// Out of budget with mail left.
    Yield,
    /// The actor has exited.
    Retired,
}

impl ActorRunner {
    /// A new actor, not yet scheduled (it is, on its first message).
    pub fn new(core: Arc<Core>, actor_type: &'static str, bound: Option<MailboxBound>) -> Arc<Self> {
        Arc::new_cyclic(|this| ActorRunner {
            this: this.clone(),
            core,
            actor_type,
            state: AtomicU8::new(0),
            mailbox: Mutex::new(Mailbox::default()),
            inner: Mutex::new(Inner {
                activity: Activity::Retired,
                batch: ChunkedQueue::default(),
                routes: None,
                outbox: Outbox::default(),
            }),
            bound: bound.map(|bound| {
                Box::new(Bounded {
                    bound,
                    queued: AtomicUsize::new(0),
                    room: Condvar::new(),
                    waiters: AtomicUsize::new(0),
                })
            }),
        })
    }

    /// A message of a bounded mailbox was taken for handling: there is room for one more.
    #[cold]
    fn made_room(&self) {
        let Some(bounded) = &self.bound else { return };
        bounded.queued.fetch_sub(1, Ordering::SeqCst);
        if bounded.waiters.load(Ordering::SeqCst) > 0 {
            // Taken and released so that a waiter between its check and its wait is not missed.
            drop(self.lock_mailbox());
            bounded.room.notify_all();
        }
    }

    /// Installs the actor's cell (its address needs the runner to exist first).
    pub fn install(&self, cell: Cell) {
        self.lock_inner().activity = Activity::Ready(Box::new(cell));
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_mailbox(&self) -> MutexGuard<'_, Mailbox> {
        self.mailbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks for a run: queues the actor unless it is queued or running, in which case the run
    /// going on is told to look again.
    fn request_run(&self) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let (wanted, queue) = if state & SCHEDULED == 0 {
                (state | SCHEDULED, true)
            } else if state & NOTIFIED == 0 {
                (state | NOTIFIED, false)
            } else {
                return;
            };
            match self.state.compare_exchange_weak(state, wanted, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if queue && let Some(this) = self.this.upgrade() {
                        self.core.scheduler.schedule(this);
                    }
                    return;
                }
                Err(actual) => state = actual,
            }
        }
    }

    /// Handles mail (and polls a suspended handler) until there is nothing to do, the budget is
    /// spent, or the actor exits.
    fn work(self: &Arc<Self>, inner: &mut Inner, budget: &mut u32) -> Pause {
        loop {
            match &mut inner.activity {
                Activity::Retired => return Pause::Retired,
                Activity::Suspended(handler) => {
                    let waker = Waker::from(self.clone());
                    match handler.as_mut().poll(&mut TaskContext::from_waker(&waker)) {
                        Poll::Pending => return Pause::Idle,
                        Poll::Ready((cell, routes, outcome)) => {
                            inner.routes = routes;
                            if outcome == Outcome::Exited {
                                self.retire(*cell, inner);
                                return Pause::Retired;
                            }
                            let mut cell = cell;
                            if cell.has_replay() {
                                self.replay_first(&mut cell, &mut inner.batch);
                            }
                            inner.activity = Activity::Ready(cell);
                        }
                    }
                }
                Activity::Ready(cell) => {
                    if inner.batch.is_empty() {
                        let mut mailbox = self.lock_mailbox();
                        if mailbox.queue.is_empty() {
                            // Going idle: keep no more memory than an actor that never had a burst.
                            mailbox.queue.trim();
                            drop(mailbox);
                            inner.batch.trim();
                            if inner.outbox.envs.capacity() > 8 {
                                inner.outbox.envs = Vec::new();
                            }
                            return Pause::Idle;
                        }
                        std::mem::swap(&mut mailbox.queue, &mut inner.batch);
                    }
                    if *budget == 0 {
                        return Pause::Yield;
                    }
                    *budget -= 1;
                    let Some(env) = inner.batch.pop_front() else { continue };
                    if self.bound.is_some() {
                        self.made_room();
                    }
                    let mut host = ThreadedHost {
                        core: &self.core,
                        routes: &mut inner.routes,
                        outbox: Some(&mut inner.outbox),
                        held: inner.batch.len(),
                    };
                    let delivery = cell.deliver(env, &mut host);
                    host.flush();
                    match delivery {
                        Delivery::Done(Outcome::Running) => {
                            if cell.st.extras.is_some() && cell.has_replay() {
                                self.replay_first(cell, &mut inner.batch);
                            }
                        }
                        Delivery::Done(Outcome::Exited) => {
                            if let Activity::Ready(cell) = std::mem::replace(&mut inner.activity, Activity::Retired) {
                                self.retire(*cell, inner);
                            }
                            return Pause::Retired;
                        }
                        Delivery::Async(job) => {
                            let Activity::Ready(mut cell) = std::mem::replace(&mut inner.activity, Activity::Retired)
                            else {
                                unreachable!("the cell was just used")
                            };
                            let core = self.core.clone();
                            let routes = inner.routes.take();
                            inner.activity = Activity::Suspended(Box::pin(async move {
                                // Unbuffered: an async handler's sends must not wait across its awaits.
                                let mut routes = routes;
                                let mut host = ThreadedHost { core: &core, routes: &mut routes, outbox: None, held: 0 };
                                let outcome = cell.run_async(job, &mut host).await;
                                (cell, routes, outcome)
                            }));
                        }
                    }
                }
            }
        }
    }

    /// The actor has just been initialized: the mail it held back goes in front of the rest, in
    /// order.
    #[cold]
    fn replay_first(&self, cell: &mut Cell, batch: &mut ChunkedQueue<Envelope>) {
        let held = cell.take_replay();
        if let Some(bounded) = &self.bound {
            // They made room when they were first taken; they will again when taken now.
            bounded.queued.fetch_add(held.len(), Ordering::SeqCst);
        }
        batch.prepend(held);
    }

    /// The actor has exited: free its name, refuse and dead-letter its mail, tell its parent.
    fn retire(&self, mut cell: Cell, inner: &mut Inner) {
        inner.activity = Activity::Retired;
        // Two actors that replied to each other cache each other's route: let go of it, or the
        // pair would keep each other alive after both have exited.
        inner.routes = None;
        let core = &self.core;
        let me = cell.st.me.clone();
        // Free the global name first: once sends fail, the name must already be reusable.
        if cell.st.global_name().is_some() {
            core.names.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, a| *a != me);
        }
        core.handle_dead_letters(&me.without_route(), false);
        let rest = {
            let mut mailbox = self.lock_mailbox();
            mailbox.closed = true;
            std::mem::take(&mut mailbox.queue)
        };
        if let Some(bounded) = &self.bound
            && bounded.waiters.load(Ordering::SeqCst) > 0
        {
            bounded.room.notify_all();
        }
        let mut rest = rest;
        if cell.st.extras.is_some() {
            for env in cell.take_held() {
                core.dead_letter(&me, env);
            }
        }
        for env in inner.batch.drain().chain(rest.drain()) {
            core.dead_letter(&me, env);
        }
        // Told of the exit: the parent, and whoever created a globally named actor.
        let nanny = cell.st.extras.as_mut().and_then(|e| e.nanny.take());
        let Cell { actor, st } = cell;
        let parent = st.parent;
        // Gone from the registry before its state is dropped: if the state held the last handle
        // to the system, the shutdown that starts then must not wait for this actor.
        core.deregister(&me);
        if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(actor))) {
            tracing::error!(actor = %me, error = %panic_error(panic), "the actor's state panicked when dropped");
        }
        for watcher in std::iter::once(parent).chain(nanny) {
            core.tell_exited(&watcher, me.clone());
        }
    }
}

impl Runnable for ActorRunner {
    fn run(self: Arc<Self>) {
        let mut guard = self.lock_inner();
        let inner = &mut *guard;
        let mut budget = BUDGET;
        loop {
            self.state.fetch_and(!NOTIFIED, Ordering::AcqRel);
            match self.work(inner, &mut budget) {
                // Stays scheduled for good: nothing will queue it again.
                Pause::Retired => return,
                Pause::Yield => {
                    drop(guard);
                    let task: Task = self.clone();
                    self.core.scheduler.reschedule(task);
                    return;
                }
                Pause::Idle => {
                    if self.state.compare_exchange(SCHEDULED, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                        return;
                    }
                    // Notified while working: look again.
                }
            }
        }
    }
}

impl Wake for ActorRunner {
    fn wake(self: Arc<Self>) {
        self.request_run();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.request_run();
    }
}

impl Deliver for ActorRunner {
    #[inline]
    fn deliver(&self, env: Envelope) -> Result<(), (Envelope, Refusal)> {
        let backlog = {
            let mut mailbox = self.lock_mailbox();
            if mailbox.closed {
                return Err((env, Refusal::Gone));
            }
            if let Some(bounded) = &self.bound {
                // Framework messages (exits, exit notices, failures, wakeups, ...) always get in.
                if bounded.queued.load(Ordering::SeqCst) >= bounded.bound.capacity && !bypasses_bound(&env.msg) {
                    return Err((env, Refusal::Full(bounded.bound)));
                }
                bounded.queued.fetch_add(1, Ordering::SeqCst);
            }
            mailbox.queue.push_back(env);
            mailbox.queue.len()
        };
        // Only the message that made the mailbox non-empty asks for a run. A later one found mail
        // ahead of it that nobody has taken yet; whoever sent that asked for a run, and the run
        // takes the whole mailbox, this message included.
        if backlog == 1 {
            self.request_run();
        } else if backlog == SPILL_BACKLOG {
            self.core.scheduler.spill_next();
        }
        Ok(())
    }

    fn deliver_all(&self, envs: &mut Vec<Envelope>, rejected: &mut dyn FnMut(Envelope, Refusal)) {
        if self.bound.is_some() {
            // One at a time, so each is checked against the bound.
            for env in envs.drain(..) {
                if let Err((env, why)) = self.deliver(env) {
                    rejected(env, why);
                }
            }
            return;
        }
        let (was_empty, backlog) = {
            let mut mailbox = self.lock_mailbox();
            if mailbox.closed {
                drop(mailbox);
                envs.drain(..).for_each(|env| rejected(env, Refusal::Gone));
                return;
            }
            let was_empty = mailbox.queue.is_empty();
            for env in envs.drain(..) {
                mailbox.queue.push_back(env);
            }
            (was_empty, mailbox.queue.len())
        };
        if was_empty {
            self.request_run();
        } else if backlog >= SPILL_BACKLOG {
            self.core.scheduler.spill_next();
        }
    }

    fn actor_type(&self) -> Option<&'static str> {
        (!self.lock_mailbox().closed).then_some(self.actor_type)
    }

    fn backlog(&self) -> usize {
        self.lock_mailbox().queue.len()
    }

    fn wait_for_room(&self, timeout: Duration) -> bool {
        let Some(bounded) = &self.bound else { return true };
        let capacity = bounded.bound.capacity;
        let mut mailbox = self.lock_mailbox();
        bounded.waiters.fetch_add(1, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + timeout;
        while !mailbox.closed && bounded.queued.load(Ordering::SeqCst) >= capacity {
            let now = std::time::Instant::now();
            if now >= deadline {
                break;
            }
            mailbox = bounded.room.wait_timeout(mailbox, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        bounded.waiters.fetch_sub(1, Ordering::SeqCst);
        bounded.queued.load(Ordering::SeqCst) < capacity
    }

    fn abandon(&self) {
        self.lock_mailbox().closed = true;
        // A worker stuck in this actor's handler holds the lock; it keeps the cell then.
        if let Ok(mut inner) = self.inner.try_lock() {
            inner.activity = Activity::Retired;
            inner.batch = ChunkedQueue::default();
            inner.routes = None;
        }
    }
}

impl std::fmt::Debug for ActorRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorRunner").field("actor_type", &self.actor_type).finish_non_exhaustive()
    }
}
