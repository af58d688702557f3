//! The actor cell: one actor's state, children and lifecycle, shared by every system base.
//!
//! A base owns the mailbox and the scheduling; it hands each envelope to [`Cell::deliver`], which
//! runs the handler (catching panics), retries a handler that borrowed its message, returns
//! failures to the sender as `PoisonMessage`, restarts or stops a supervised actor, answers status
//! requests, holds back mail until the initializing messages have arrived, and applies the exit
//! rules. The base then learns whether the actor is done.

use std::any::TypeId;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use futures_util::FutureExt;

use crate::actor::{Actor, Behaviour, Dispatch, HandlerError, OnPanic, panic_error};
use crate::address::ActorAddress;
use crate::context::Context;
use crate::messages::internal::{TransientCheck, TroupeMemberReady, TroupeWork};
use crate::messages::{
    ActorExitRequest, ActorStatus, ActorStatusRequest, ChildActorExited, PoisonMessage, WakeupMessage,
    is_system_message, is_timer_message,
};
use crate::payload::Payload;
use crate::system::{Envelope, Host, SYSTEM_ID};

/// Whether the actor goes on after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Keep delivering messages.
    Running,
    /// The actor has finished exiting: its children are gone. The base must retire it and tell
    /// its parent.
    Exited,
}

/// What [`Cell::deliver`] did with a message.
pub(crate) enum Delivery {
    /// Handled synchronously.
    Done(Outcome),
    /// The message is for an `async fn` handler: run it with [`Cell::run_async`] to completion
    /// before the next message.
    Async(AsyncJob),
}

/// A message bound for an `async fn` handler. It owns everything it needs, so a base may move
/// the cell and the job into a future of its own.
pub(crate) struct AsyncJob {
    msg: Payload,
    sender: ActorAddress,
    facts: Facts,
}

/// What is known of a message before its handler consumes it.
#[derive(Clone, Copy)]
struct Facts {
    exit_request: Option<bool>,
    is_poison: bool,
    wire_name: &'static str,
    /// A troupe worker's assigned work: the manager hears when it is done.
    troupe_work: bool,
}

/// How the handler's run went, over one or two attempts.
struct Ran {
    result: Result<(), HandlerError>,
    /// The message, when a handler that borrowed it failed twice: it goes back in the poison.
    message: Option<Payload>,
    exit_requested: bool,
    /// The supervision limit was passed: the actor stops.
    stop: bool,
    sender: ActorAddress,
}

/// One actor and the bookkeeping the framework keeps for it.
pub(crate) struct Cell {
    pub actor: Box<dyn Actor>,
    pub st: CellState,
}

/// Everything of a cell but the actor itself; a handler's [`Context`] borrows it.
pub(crate) struct CellState {
    pub me: ActorAddress,
    pub parent: ActorAddress,
    pub children: Vec<ActorAddress>,
    /// Messages handled, shifted left by one; the low bit says an exit has begun (waiting for
    /// children; only exit traffic reaches the handler). One word for both keeps a cell small.
    life: u64,
    /// What few actors need (options, a global name, troupe membership), kept out of line so a
    /// plain actor stays small.
    pub extras: Option<Box<Extras>>,
}

/// The less common parts of an actor's state.
#[derive(Default)]
pub(crate) struct Extras {
    /// The behaviours chosen with `#[actor(...)]` options.
    behaviour: Behaviour,
    pub global_name: Option<String>,
    /// Told of the actor's exit besides its parent: whoever created a globally named actor.
    pub nanny: Option<ActorAddress>,
    /// When the supervised actor was restarted, within the current window.
    restarts: VecDeque<Instant>,
    /// A transient actor exits at this time.
    transient_deadline: Option<Instant>,
    /// A transient check is scheduled.
    transient_armed: bool,
    /// Which initializing messages have arrived (one bit each).
    init_seen: u64,
    /// Mail held back until the initializing messages have arrived.
    stash: VecDeque<Envelope>,
    /// Held-back mail to handle before the mailbox, in order.
    replay: VecDeque<Envelope>,
    troupe: Option<TroupeRole>,
    /// Set by a troupe worker whose work spans several messages.
    pub work_in_progress: bool,
    /// Wakeups asked for and not delivered yet.
    pub pending_wakeups: u32,
}

/// A troupe worker's link to its manager.
struct TroupeRole {
    manager: ActorAddress,
    /// Work was handled and the manager has not been told yet.
    owes_ready: bool,
}

/// How an actor comes into being, besides its type.
#[derive(Default)]
pub(crate) struct CellSetup {
    pub global_name: Option<String>,
    pub nanny: Option<ActorAddress>,
    pub troupe_manager: Option<ActorAddress>,
}

impl CellState {
    /// Whether an exit has begun.
    #[inline]
    pub fn exiting(&self) -> bool {
        self.life & 1 == 1
    }

    /// Messages handled.
    pub fn processed(&self) -> u64 {
        self.life >> 1
    }

    pub fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    pub fn global_name(&self) -> Option<&str> {
        self.extras.as_ref().and_then(|e| e.global_name.as_deref())
    }

    fn behaviour(&self) -> Behaviour {
        self.extras.as_ref().map_or(Behaviour::DEFAULT, |e| e.behaviour)
    }

    fn init_pending(&self) -> bool {
        self.extras.as_ref().is_some_and(|e| e.init_seen.count_ones() < e.behaviour.initializing_messages)
    }
}

impl Cell {
    pub fn new(actor: Box<dyn Actor>, me: ActorAddress, parent: ActorAddress, setup: CellSetup) -> Self {
        let behaviour = actor.behaviour();
        let needs_extras = setup.global_name.is_some()
            || setup.nanny.is_some()
            || setup.troupe_manager.is_some()
            || behaviour != Behaviour::DEFAULT;
        let extras = needs_extras.then(|| {
            Box::new(Extras {
                behaviour,
                global_name: setup.global_name,
                nanny: setup.nanny,
                troupe: setup.troupe_manager.map(|manager| TroupeRole { manager, owes_ready: false }),
                ..Extras::default()
            })
        });
        Cell { actor, st: CellState { me, parent, children: Vec::new(), life: 0, extras } }
    }

    /// Who is told when this actor exits: its parent, and the creator of a globally named actor.
    pub fn exit_watchers(&self) -> impl Iterator<Item = &ActorAddress> {
        std::iter::once(&self.st.parent).chain(self.st.extras.as_ref().and_then(|e| e.nanny.as_ref()))
    }

    /// Mail held back (initializing messages never came): dead letters when the actor exits.
    pub fn take_held(&mut self) -> Vec<Envelope> {
        match &mut self.st.extras {
            Some(extras) => extras.replay.drain(..).chain(extras.stash.drain(..)).collect(),
            None => Vec::new(),
        }
    }

    /// Whether held-back mail is waiting to be handled before the mailbox.
    #[inline]
    pub fn has_replay(&self) -> bool {
        self.st.extras.as_ref().is_some_and(|e| !e.replay.is_empty())
    }

    /// All held-back mail to handle before the mailbox, in order.
    pub fn take_replay(&mut self) -> VecDeque<Envelope> {
        self.st.extras.as_mut().map(|e| std::mem::take(&mut e.replay)).unwrap_or_default()
    }

    /// The next held-back message to handle before the mailbox, once initialization completed.
    #[inline]
    pub fn next_replay(&mut self) -> Option<Envelope> {
        self.st.extras.as_mut().and_then(|e| e.replay.pop_front())
    }

    /// Delivers one envelope. Never panics because of the handler.
    ///
    /// A synchronous handler runs to completion here, with no future built; an `async fn` handler
    /// comes back as [`Delivery::Async`], the one case that allocates a continuation.
    pub fn deliver(&mut self, mut env: Envelope, host: &mut dyn Host) -> Delivery {
        let mut troupe_work = false;
        if self.st.extras.is_some() {
            if let Some(outcome) = self.framework_message(&env, host) {
                return Delivery::Done(outcome);
            }
            if env.msg.is::<TroupeWork>() && self.is_my_manager(&env.sender) {
                let work = env.msg.downcast::<TroupeWork>().unwrap_or_else(|_| unreachable!("checked above"));
                env = Envelope { sender: work.sender, msg: Payload::from_box(work.message) };
                troupe_work = true;
            }
        }
        let kind = env.msg.message_type_id();
        if kind == TypeId::of::<ActorStatusRequest>() {
            self.report_status(&env.sender, host);
            return Delivery::Done(Outcome::Running);
        }
        let exit_request = env.msg.downcast_ref::<ActorExitRequest>().map(|r| r.recursive);
        if kind == TypeId::of::<ChildActorExited>() {
            if let Some(child) = env.msg.downcast_ref::<ChildActorExited>() {
                self.st.children.retain(|c| *c != child.child);
            }
        } else if self.st.exiting() && exit_request.is_none() {
            // Pending wakeups die with the actor.
            if env.sender == self.st.me && is_timer_message(&env.msg) {
                return Delivery::Done(Outcome::Running);
            }
            // Mail queued behind an exit is not processed; it is not silently lost either.
            host.dead_letter(&self.st.me, env);
            return Delivery::Done(Outcome::Running);
        }
        if exit_request.is_some() && self.st.exiting() {
            return Delivery::Done(self.exit_progress());
        }

        if self.st.extras.is_some() {
            env = match self.before_handler(env, kind, host) {
                Ok(env) => env,
                Err(outcome) => return Delivery::Done(outcome),
            };
        }

        self.st.life += 2;
        let facts = Facts {
            exit_request,
            is_poison: kind == TypeId::of::<PoisonMessage>(),
            wire_name: env.msg.wire_name(),
            troupe_work,
        };
        let (dispatched, failure, exit_requested, sender) = self.dispatch_once(env.msg, env.sender, host);
        // The common case — the handler ran and succeeded, nothing else to do — stays short.
        let plain = failure.is_none() && !exit_requested && self.st.extras.is_none();
        if plain {
            let succeeded = matches!(dispatched, Ok(Dispatch::Done(Ok(()))));
            // Exit requests and exit notices need no handler.
            let lifecycle = matches!(dispatched, Ok(Dispatch::Unhandled(_)))
                && (exit_request.is_some() || kind == TypeId::of::<ChildActorExited>());
            if succeeded {
                // That variant owns nothing: skip the drop glue of the whole enum.
                std::mem::forget(dispatched);
            } else if lifecycle {
                drop(dispatched);
            } else {
                return self.deliver_slow(facts, dispatched, failure, exit_requested, sender, host);
            }
            return Delivery::Done(match exit_request {
                Some(recursive) => self.begin_exit(recursive, host),
                None if self.st.exiting() => self.exit_progress(),
                None => Outcome::Running,
            });
        }
        self.deliver_slow(facts, dispatched, failure, exit_requested, sender, host)
    }

    /// What an actor with extras does before its handler runs: wakeup accounting, holding mail
    /// back until the initializing messages have arrived, transient activity. `Err` when the
    /// message was held back; `Ok` gives it back.
    #[inline(never)]
    fn before_handler(&mut self, env: Envelope, kind: TypeId, host: &mut dyn Host) -> Result<Envelope, Outcome> {
        let system = is_system_message(&env.msg);
        let from_me = env.sender == self.st.me;
        let extras = self.st.extras_mut();
        if extras.pending_wakeups > 0 && kind == TypeId::of::<WakeupMessage>() && from_me {
            extras.pending_wakeups -= 1;
        }
        if self.st.init_pending() && !system {
            match self.actor.init_slot(&env.msg) {
                Some(slot) => self.st.extras_mut().init_seen |= 1 << slot,
                None => {
                    self.st.extras_mut().stash.push_back(env);
                    return Err(Outcome::Running);
                }
            }
            if !self.st.init_pending() {
                // Everything held back is handled next, in the order it arrived.
                let extras = self.st.extras_mut();
                let held = std::mem::take(&mut extras.stash);
                extras.replay.extend(held);
            }
        }
        if self.st.behaviour().transient.is_some() && !system {
            self.note_activity(host);
        }
        Ok(env)
    }

    /// Everything after a handler that failed, asked to exit, is async, or belongs to an actor
    /// with extras.
    #[inline(never)]
    fn deliver_slow(
        &mut self,
        facts: Facts,
        dispatched: std::thread::Result<Dispatch>,
        failure: Option<HandlerError>,
        exit_requested: bool,
        sender: ActorAddress,
        host: &mut dyn Host,
    ) -> Delivery {
        let ran = match self.settle(dispatched, failure, exit_requested, sender, host) {
            Attempt::Async(msg, sender) => return Delivery::Async(AsyncJob { msg, sender, facts }),
            Attempt::Ran(mut ran) => {
                if let Some(msg) = ran.message.take() {
                    self.retry(facts, msg, &mut ran, host);
                }
                ran
            }
        };
        Delivery::Done(self.finish(facts, ran, host))
    }

    /// Runs an `async fn` handler to completion, then does what [`deliver`](Self::deliver) does
    /// after a synchronous one.
    pub async fn run_async(&mut self, job: AsyncJob, host: &mut dyn Host) -> Outcome {
        let AsyncJob { msg, sender, facts } = job;
        let mut ran = self.attempt_async(msg, sender, host).await;
        if let Some(msg) = ran.message.take()
            && self.may_retry(facts, &ran)
        {
            let again = self.attempt_async(msg, ran.sender.clone(), host).await;
            ran = Ran {
                exit_requested: ran.exit_requested || again.exit_requested,
                stop: ran.stop || again.stop,
                ..again
            };
        }
        self.finish(facts, ran, host)
    }

    /// One run of the synchronous dispatch, settled.
    fn attempt(&mut self, msg: Payload, sender: ActorAddress, host: &mut dyn Host) -> Attempt {
        let (dispatched, failure, exit_requested, sender) = self.dispatch_once(msg, sender, host);
        self.settle(dispatched, failure, exit_requested, sender, host)
    }

    /// Runs the handler, catching a panic: what it gave, what it did wrong through its context,
    /// whether it asked to exit, and the sender back.
    #[inline(always)]
    fn dispatch_once(
        &mut self,
        msg: Payload,
        sender: ActorAddress,
        host: &mut dyn Host,
    ) -> (std::thread::Result<Dispatch>, Option<HandlerError>, bool, ActorAddress) {
        let mut cx = Context::new(host, &mut self.st, sender);
        let actor = &mut self.actor;
        let dispatched = catch_unwind(AssertUnwindSafe(|| actor.dispatch(msg, &mut cx)));
        let Context { failure, exit_requested, sender, .. } = cx;
        (dispatched, failure, exit_requested, sender)
    }

    /// Turns a dispatch into its outcome: a result, the message back if a handler that borrowed
    /// it failed, and whether a supervised actor must stop.
    fn settle(
        &mut self,
        dispatched: std::thread::Result<Dispatch>,
        failure: Option<HandlerError>,
        exit_requested: bool,
        sender: ActorAddress,
        host: &mut dyn Host,
    ) -> Attempt {
        let (result, message) = match dispatched {
            Ok(Dispatch::Done(result)) => (result, None),
            Ok(Dispatch::Failed(error, msg)) => (Err(error), Some(msg)),
            Ok(Dispatch::Unhandled(msg)) => {
                // An actor need not handle the lifecycle notices; anything else unhandled is counted.
                if !msg.is::<ActorExitRequest>() && !msg.is::<ChildActorExited>() && !msg.is::<WakeupMessage>() {
                    host.unhandled(&self.st.me, msg.as_message());
                }
                (Ok(()), None)
            }
            Ok(Dispatch::Async(msg)) => return Attempt::Async(msg, sender),
            Err(panic) => (Err(panic_error(panic)), None),
        };
        // A handler that did something invalid (such as sending to an address of another system)
        // failed, even if it returned normally.
        let result = match (result, failure) {
            (Ok(()), Some(failure)) => Err(failure),
            (result, _) => result,
        };
        let stop = result.as_ref().is_err_and(HandlerError::is_panic) && !self.restart_after_panic(host);
        Attempt::Ran(Ran { result, message, exit_requested, stop, sender })
    }

    /// One run of an `async fn` handler.
    async fn attempt_async(&mut self, msg: Payload, sender: ActorAddress, host: &mut dyn Host) -> Ran {
        let mut cx = Context::new(host, &mut self.st, sender);
        let actor = &mut self.actor;
        let dispatched = match catch_unwind(AssertUnwindSafe(|| actor.dispatch_async(msg, &mut cx))) {
            Ok(future) => {
                AssertUnwindSafe(future).catch_unwind().await.unwrap_or_else(|p| Dispatch::Done(Err(panic_error(p))))
            }
            Err(panic) => Dispatch::Done(Err(panic_error(panic))),
        };
        let failure = cx.failure.take();
        let (exit_requested, sender) = (cx.exit_requested, cx.sender);
        let (result, message) = match dispatched {
            Dispatch::Failed(error, msg) => (Err(error), Some(msg)),
            Dispatch::Done(result) => (result, None),
            Dispatch::Async(_) | Dispatch::Unhandled(_) => (Ok(()), None),
        };
        let result = match (result, failure) {
            (Ok(()), Some(failure)) => Err(failure),
            (result, _) => result,
        };
        let stop = result.as_ref().is_err_and(HandlerError::is_panic) && !self.restart_after_panic(host);
        Ran { result, message, exit_requested, stop, sender }
    }

    /// Whether a handler that failed with its message in hand gets a second attempt: not for an
    /// exit request (never retried), nor for an actor that is stopping.
    fn may_retry(&self, facts: Facts, ran: &Ran) -> bool {
        facts.exit_request.is_none() && !ran.stop && !self.st.exiting()
    }

    /// The second and last attempt of a handler that borrowed its message.
    fn retry(&mut self, facts: Facts, msg: Payload, ran: &mut Ran, host: &mut dyn Host) {
        if !self.may_retry(facts, ran) {
            ran.message = Some(msg);
            return;
        }
        if let Some(error) = ran.result.as_ref().err() {
            tracing::debug!(actor = %self.st.me, message = facts.wire_name, %error, "handler failed; retrying once");
        }
        match self.attempt(msg, ran.sender.clone(), host) {
            Attempt::Ran(again) => {
                *ran = Ran {
                    exit_requested: ran.exit_requested || again.exit_requested,
                    stop: ran.stop || again.stop,
                    ..again
                }
            }
            // The same message type has the same (synchronous) handler both times.
            Attempt::Async(..) => unreachable!("a message dispatched synchronously once is again"),
        }
    }

    /// After a panic, a supervised actor gets a fresh state. `false` when it has used up its
    /// restarts (or the fresh state could not be built): it must stop.
    fn restart_after_panic(&mut self, host: &mut dyn Host) -> bool {
        let OnPanic::Restart { max_restarts, within } = self.st.behaviour().on_panic else { return true };
        if self.st.exiting() {
            return true;
        }
        let now = host.now();
        let me = self.st.me.clone();
        let extras = self.st.extras_mut();
        while extras.restarts.front().is_some_and(|t| now.saturating_duration_since(*t) >= within) {
            extras.restarts.pop_front();
        }
        if extras.restarts.len() >= max_restarts as usize {
            tracing::error!(actor = %me, max_restarts, ?within, "actor panicked past its restart limit; stopping it");
            return false;
        }
        extras.restarts.push_back(now);
        match catch_unwind(AssertUnwindSafe(|| self.actor.fresh())) {
            Ok(Some(fresh)) => {
                let old = std::mem::replace(&mut self.actor, fresh);
                if catch_unwind(AssertUnwindSafe(move || drop(old))).is_err() {
                    tracing::error!(actor = %me, "the old state panicked when dropped at restart");
                }
                tracing::warn!(actor = %me, "actor panicked; restarted with a fresh state");
                true
            }
            Ok(None) => true,
            Err(panic) => {
                tracing::error!(actor = %me, error = %panic_error(panic), "the constructor panicked at restart; stopping the actor");
                false
            }
        }
    }

    /// After the handler: report a failure to the sender, tell a troupe manager the work is done,
    /// and start or continue an exit.
    fn finish(&mut self, facts: Facts, ran: Ran, host: &mut dyn Host) -> Outcome {
        let Ran { result, message, exit_requested, stop, sender } = ran;
        if let Err(err) = result {
            if facts.exit_request.is_some() {
                // An exit is never retried and never poisons: the actor exits all the same.
                tracing::warn!(actor = %self.st.me, error = %err, "ActorExitRequest handler failed; exiting anyway");
            } else {
                tracing::warn!(actor = %self.st.me, message = facts.wire_name, error = %err, "handler failed");
                // Never a poison for a poison, nor to the system for its notices.
                if !facts.is_poison && sender.id() != SYSTEM_ID {
                    let poison = PoisonMessage {
                        message: message.map(Payload::into_box),
                        message_type: facts.wire_name.to_owned(),
                        details: err.into_text(),
                    };
                    host.send(&sender, Envelope { sender: self.st.me.without_route(), msg: Payload::new(poison) });
                }
            }
        }
        let exits = facts.exit_request.is_some() || exit_requested || stop || self.st.exiting();
        if let Some(role) = self.st.extras.as_mut().and_then(|e| e.troupe.as_mut()) {
            role.owes_ready |= facts.troupe_work;
            // A worker on its way out is not ready: its manager learns of the exit instead and
            // hands the unfinished work to another worker.
            let busy = exits || self.st.extras.as_ref().is_some_and(|e| e.work_in_progress);
            self.report_ready(busy, host);
        }
        if let Some(recursive) = facts.exit_request {
            self.begin_exit(recursive, host)
        } else if exit_requested || stop {
            self.begin_exit(true, host)
        } else if self.st.exiting() {
            self.exit_progress()
        } else {
            Outcome::Running
        }
    }

    /// A troupe worker that finished its work (and is not in the middle of a multi-step one)
    /// tells its manager it is ready for more.
    fn report_ready(&mut self, busy: bool, host: &mut dyn Host) {
        let Some(role) = self.st.extras.as_mut().and_then(|e| e.troupe.as_mut()) else { return };
        if role.owes_ready && !busy {
            role.owes_ready = false;
            let manager = role.manager.clone();
            host.send(&manager, Envelope { sender: self.st.me.without_route(), msg: Payload::new(TroupeMemberReady) });
        }
    }

    fn is_my_manager(&self, sender: &ActorAddress) -> bool {
        self.st.extras.as_ref().and_then(|e| e.troupe.as_ref()).is_some_and(|role| role.manager == *sender)
    }

    /// Messages the framework handles itself for actors with extras: transient timers. `None` when the message is for the handlers.
    fn framework_message(&mut self, env: &Envelope, host: &mut dyn Host) -> Option<Outcome> {
        if env.msg.is::<TransientCheck>() {
            if env.sender != self.st.me || self.st.exiting() {
                return Some(self.exit_progress());
            }
            let now = host.now();
            let extras = self.st.extras_mut();
            extras.transient_armed = false;
            return Some(match extras.transient_deadline {
                Some(deadline) if now >= deadline => {
                    tracing::debug!(actor = %self.st.me, "transient actor's time is up; exiting");
                    self.begin_exit(true, host)
                }
                Some(deadline) => {
                    extras.transient_armed = true;
                    let me = self.st.me.clone();
                    host.schedule(&me, deadline - now, Payload::new(TransientCheck));
                    Outcome::Running
                }
                None => Outcome::Running,
            });
        }
        None
    }

    /// A transient actor did some work: set (or, when idle-based, push back) its exit time.
    fn note_activity(&mut self, host: &mut dyn Host) {
        let Some(transient) = self.st.behaviour().transient else { return };
        let now = host.now();
        let me = self.st.me.clone();
        let extras = self.st.extras_mut();
        if extras.transient_deadline.is_none() || transient.idle {
            extras.transient_deadline = Some(now + transient.exit_after);
        }
        if !extras.transient_armed {
            extras.transient_armed = true;
            host.schedule(&me, transient.exit_after, Payload::new(TransientCheck));
        }
    }

    /// Answers a status request for the actor.
    fn report_status(&mut self, to: &ActorAddress, host: &mut dyn Host) {
        let status = ActorStatus {
            address: self.st.me.without_route(),
            actor_type: self.actor.actor_type_name().to_owned(),
            parent: self.st.parent.without_route(),
            children: self.st.children.iter().map(ActorAddress::without_route).collect(),
            mailbox_len: host.mailbox_len(&self.st.me)
                + self.st.extras.as_ref().map_or(0, |e| e.stash.len() + e.replay.len()),
            processed: self.st.processed(),
            pending_wakeups: self.st.extras.as_ref().map_or(0, |e| e.pending_wakeups),
            global_name: self.st.global_name().map(str::to_owned),
            exiting: self.st.exiting(),
        };
        host.send(to, Envelope { sender: self.st.me.without_route(), msg: Payload::new(status) });
    }

    /// Starts exiting: asks every child to exit and waits for them, unless there are none.
    fn begin_exit(&mut self, recursive: bool, host: &mut dyn Host) -> Outcome {
        self.st.life |= 1;
        if recursive {
            for child in &self.st.children {
                host.send(
                    child,
                    Envelope { sender: self.st.me.without_route(), msg: Payload::new(ActorExitRequest::default()) },
                );
            }
        } else {
            self.st.children.clear();
        }
        self.exit_progress()
    }

    fn exit_progress(&self) -> Outcome {
        if self.st.exiting() && self.st.children.is_empty() { Outcome::Exited } else { Outcome::Running }
    }
}

/// One attempt at a message: it ran, or its handler is an `async fn`.
enum Attempt {
    Ran(Ran),
    Async(Payload, ActorAddress),
}
