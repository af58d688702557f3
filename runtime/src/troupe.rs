//! Troupes: one address in front of several workers of the same actor type.
//!
//! Creating an `#[actor(troupe(...))]` actor creates a manager that stands at the returned address.
//! Work sent there goes to an idle worker — a child of the manager, an ordinary instance of the
//! actor — with the original sender kept, so the worker's reply goes straight back to whoever
//! asked. Workers are started as needed up to `max_count`; when there is no work, those beyond
//! `idle_count` are dismissed after `dismiss_after`. A worker tells the manager when it is done
//! (the framework does it after the handler returns, unless the worker marked its work as still in
//! progress). A worker that exits before finishing its work has that work handed to another
//! worker, once; a second failure returns it to its sender as a `PoisonMessage`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::actor::{Actor, Dispatch, TroupeConfig};
use crate::address::ActorAddress;
use crate::context::Context;
use crate::messages::internal::{TroupeDismissCheck, TroupeMemberReady, TroupeWork};
use crate::messages::{
    ActorExitRequest, ChildActorExited, PoisonMessage, TroupeSettings, TroupeStatus, TroupeStatusRequest,
    UpdateTroupeSettings,
};
use crate::payload::Payload;
use crate::system::{ActorOptions, Envelope, NewActor};

/// The actor at a troupe's address.
pub(crate) struct TroupeManager {
    type_name: &'static str,
    create: fn() -> Box<dyn Actor>,
    settings: TroupeSettings,
    workers: Vec<Worker>,
    pending: VecDeque<Work>,
    dismiss_armed: bool,
}

struct Worker {
    address: ActorAddress,
    /// The work it is doing, kept so that it can be handed to another worker if this one dies.
    job: Option<InFlight>,
    idle_since: Instant,
}

/// Work waiting for a worker.
struct Work {
    sender: ActorAddress,
    msg: Payload,
    /// Workers that died holding it.
    failures: u8,
}

/// A copy of work handed to a worker. The worker consumes the message, so the copy is the
/// message in its wire form; a message that cannot be serialized cannot be re-dispatched.
struct InFlight {
    sender: ActorAddress,
    wire_name: &'static str,
    copy: Option<Vec<u8>>,
    failures: u8,
}

impl TroupeManager {
    pub fn new(type_name: &'static str, create: fn() -> Box<dyn Actor>, config: TroupeConfig) -> Self {
        TroupeManager {
            type_name,
            create,
            settings: TroupeSettings {
                max_count: config.max_count.max(1),
                idle_count: config.idle_count,
                dismiss_after: config.dismiss_after,
            },
            workers: Vec::new(),
            pending: VecDeque::new(),
            dismiss_armed: false,
        }
    }

    fn status(&self) -> TroupeStatus {
        TroupeStatus {
            settings: self.settings,
            workers: self.workers.iter().map(|w| w.address.without_route()).collect(),
            idle: self.workers.iter().filter(|w| w.job.is_none()).count(),
            pending: self.pending.len(),
        }
    }

    /// Hands out waiting work while there are idle workers or room for new ones.
    fn dispatch_pending(&mut self, cx: &mut Context<'_>) {
        while let Some(work) = self.pending.pop_front() {
            let worker = match self.workers.iter().position(|w| w.job.is_none()) {
                Some(i) => i,
                None if self.workers.len() < self.settings.max_count => {
                    let address = cx
                        .create::<Self>(
                            NewActor::worker(self.type_name, self.create),
                            ActorOptions { troupe_manager: Some(cx.my_address().clone()), ..ActorOptions::default() },
                        )
                        .into_address();
                    self.workers.push(Worker { address, job: None, idle_since: cx.host.now() });
                    self.workers.len() - 1
                }
                None => {
                    self.pending.push_front(work);
                    return;
                }
            };
            self.assign(worker, work, cx);
        }
    }

    fn assign(&mut self, worker: usize, work: Work, cx: &mut Context<'_>) {
        let Work { sender, msg, failures } = work;
        let wire_name = msg.wire_name();
        let copy = match crate::message::to_bytes(msg.as_message()) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                tracing::debug!(message = wire_name, error = %e, "troupe work cannot be copied; it will not be re-dispatched");
                None
            }
        };
        let me = cx.my_address().without_route();
        let address = self.workers[worker].address.clone();
        self.workers[worker].job = Some(InFlight { sender: sender.clone(), wire_name, copy, failures });
        // One message, so nothing can come between the assignment and the work; the worker handles
        // it as if the original sender had sent it, so that its reply goes straight back.
        let work = TroupeWork { sender, message: msg.into_box() };
        cx.host.send(&address, Envelope { sender: me, msg: Payload::new(work) });
    }

    fn worker_ready(&mut self, worker: &ActorAddress, cx: &mut Context<'_>) {
        let now = cx.host.now();
        if let Some(w) = self.workers.iter_mut().find(|w| w.address == *worker) {
            w.job = None;
            w.idle_since = now;
        }
        self.dispatch_pending(cx);
        self.arm_dismissal(cx);
    }

    fn worker_exited(&mut self, child: &ActorAddress, cx: &mut Context<'_>) {
        let Some(i) = self.workers.iter().position(|w| w.address == *child) else { return };
        let worker = self.workers.remove(i);
        let Some(job) = worker.job else { return };
        if cx.st.exiting() {
            // The troupe is stopping: a worker finishes the work it has before it handles its
            // exit request, and its ready report could not reach the exiting manager.
            return;
        }
        let InFlight { sender, wire_name, copy, failures } = job;
        let restored = copy.as_deref().map(crate::message::from_bytes);
        match restored {
            Some(Ok(msg)) if failures == 0 => {
                tracing::warn!(troupe = %cx.my_address(), message = wire_name, "a troupe worker exited during its work; handing the work to another worker");
                self.pending.push_front(Work { sender, msg: Payload::from_box(msg), failures: failures + 1 });
                self.dispatch_pending(cx);
            }
            restored => {
                let details = match restored {
                    None => "the troupe worker handling it exited, and the message cannot be copied to retry it",
                    Some(Err(_)) => "the troupe worker handling it exited, and its copy could not be read back",
                    Some(Ok(_)) => "the troupe workers handling it exited twice",
                };
                let poison = PoisonMessage {
                    message: restored.and_then(Result::ok),
                    message_type: wire_name.to_owned(),
                    details: details.to_owned(),
                };
                let me = cx.my_address().without_route();
                cx.host.send(&sender, Envelope { sender: me, msg: Payload::new(poison) });
            }
        }
    }

    /// With workers beyond `idle_count`, checks back later to dismiss those that stayed idle.
    fn arm_dismissal(&mut self, cx: &mut Context<'_>) {
        if self.dismiss_armed || self.workers.len() <= self.settings.idle_count {
            return;
        }
        let now = cx.host.now();
        let Some(oldest_idle) = self.workers.iter().filter(|w| w.job.is_none()).map(|w| w.idle_since).min() else {
            return;
        };
        self.dismiss_armed = true;
        let due = (oldest_idle + self.settings.dismiss_after).saturating_duration_since(now);
        let me = cx.my_address().clone();
        cx.host.schedule(&me, due.max(Duration::from_millis(1)), Payload::new(TroupeDismissCheck));
    }

    fn dismiss_idle(&mut self, cx: &mut Context<'_>) {
        self.dismiss_armed = false;
        let now = cx.host.now();
        let me = cx.my_address().without_route();
        let mut idle: Vec<usize> = (0..self.workers.len()).filter(|&i| self.workers[i].job.is_none()).collect();
        idle.sort_by_key(|&i| self.workers[i].idle_since);
        let mut dismissed = Vec::new();
        let mut live = self.workers.len();
        for i in idle {
            if live <= self.settings.idle_count {
                break;
            }
            if now.saturating_duration_since(self.workers[i].idle_since) >= self.settings.dismiss_after {
                dismissed.push(i);
                live -= 1;
            }
        }
        dismissed.sort_unstable_by(|a, b| b.cmp(a));
        for i in dismissed {
            let worker = self.workers.remove(i);
            cx.host
                .send(&worker.address, Envelope { sender: me.clone(), msg: Payload::new(ActorExitRequest::default()) });
        }
        self.arm_dismissal(cx);
    }
}

impl Actor for TroupeManager {
    fn dispatch(&mut self, msg: Payload, cx: &mut Context<'_>) -> Dispatch {
        let msg = match msg.downcast::<TroupeMemberReady>() {
            Ok(_) => {
                let worker = cx.sender();
                self.worker_ready(&worker, cx);
                return Dispatch::Done(Ok(()));
            }
            Err(msg) => msg,
        };
        let msg = match msg.downcast::<ChildActorExited>() {
            Ok(exited) => {
                self.worker_exited(&exited.child, cx);
                return Dispatch::Done(Ok(()));
            }
            Err(msg) => msg,
        };
        if msg.is::<ActorExitRequest>() {
            // The workers are children: they are stopped with the manager. Work not started yet
            // becomes dead letters, never silently lost.
            let me = cx.my_address().clone();
            for work in self.pending.drain(..) {
                cx.host.dead_letter(&me, Envelope { sender: work.sender, msg: work.msg });
            }
            return Dispatch::Done(Ok(()));
        }
        if msg.is::<TroupeDismissCheck>() && cx.sender == *cx.my_address() {
            self.dismiss_idle(cx);
            return Dispatch::Done(Ok(()));
        }
        let msg = match msg.downcast::<UpdateTroupeSettings>() {
            Ok(update) => {
                if let Some(max) = update.max_count {
                    self.settings.max_count = max.max(1);
                }
                if let Some(idle) = update.idle_count {
                    self.settings.idle_count = idle;
                }
                if let Some(after) = update.dismiss_after {
                    self.settings.dismiss_after = after;
                }
                cx.reply(self.settings);
                self.dispatch_pending(cx);
                self.arm_dismissal(cx);
                return Dispatch::Done(Ok(()));
            }
            Err(msg) => msg,
        };
        if msg.is::<TroupeStatusRequest>() {
            cx.reply(self.status());
            return Dispatch::Done(Ok(()));
        }
        // Everything else is work — whatever its value: nothing is dropped for being empty or zero.
        self.pending.push_back(Work { sender: cx.sender(), msg, failures: 0 });
        self.dispatch_pending(cx);
        Dispatch::Done(Ok(()))
    }

    fn actor_type_name(&self) -> &'static str {
        self.type_name
    }
}
