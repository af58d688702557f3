//! The actor cell: one actor's state, children and lifecycle, shared by every system base.
//!
//! A base owns the mailbox and the scheduling; it hands each envelope to [`Cell::handle`], which
//! runs the handler (catching panics), applies the exit rules and says whether the actor is done.

use std::panic::{AssertUnwindSafe, catch_unwind};

use futures_util::FutureExt;

use crate::actor::{Actor, Dispatch, HandlerError};
use crate::address::ActorAddress;
use crate::context::Context;
use crate::messages::{ActorExitRequest, ChildActorExited, PoisonMessage};
use crate::payload::Payload;
use crate::system::{Envelope, Host};

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
}

/// One actor and the bookkeeping the framework keeps for it.
pub(crate) struct Cell {
    pub actor: Box<dyn Actor>,
    pub me: ActorAddress,
    pub parent: ActorAddress,
    pub children: Vec<ActorAddress>,
    /// An exit has begun: waiting for children; only exit traffic reaches the handler.
    pub exiting: bool,
    pub processed: u64,
}

impl Cell {
    pub fn new(actor: Box<dyn Actor>, me: ActorAddress, parent: ActorAddress) -> Self {
        Cell { actor, me, parent, children: Vec::new(), exiting: false, processed: 0 }
    }

    /// Delivers one envelope. Never panics because of the handler.
    ///
    /// A synchronous handler runs to completion here, with no future built; an `async fn` handler
    /// comes back as [`Delivery::Async`], the one case that allocates a continuation.
    pub fn deliver(&mut self, env: Envelope, host: &mut dyn Host) -> Delivery {
        let exit_request = env.msg.downcast_ref::<ActorExitRequest>().map(|r| r.recursive);
        if let Some(child) = env.msg.downcast_ref::<ChildActorExited>() {
            self.children.retain(|c| *c != child.child);
        } else if self.exiting && exit_request.is_none() {
            // Mail queued behind an exit is not processed; it is not silently lost either.
            host.dead_letter(&self.me, env);
            return Delivery::Done(Outcome::Running);
        }
        if exit_request.is_some() && self.exiting {
            return Delivery::Done(self.exit_progress());
        }

        self.processed += 1;
        let facts = Facts { exit_request, is_poison: env.msg.is::<PoisonMessage>(), wire_name: env.msg.wire_name() };
        let mut cx = Context {
            host: &mut *host,
            me: &self.me,
            parent: &self.parent,
            children: &mut self.children,
            sender: env.sender,
            exit_requested: false,
            exiting: self.exiting,
        };
        let actor = &mut self.actor;
        let cx_ref = &mut cx;
        let msg = env.msg;
        let result = match catch_unwind(AssertUnwindSafe(move || actor.dispatch(msg, cx_ref))) {
            Ok(Dispatch::Done(result)) => result,
            Ok(Dispatch::Unhandled(msg)) => {
                // An actor need not handle the lifecycle notices; anything else unhandled is counted.
                if !msg.is::<ActorExitRequest>() && !msg.is::<ChildActorExited>() {
                    cx.host.unhandled(&self.me, msg.as_message());
                }
                Ok(())
            }
            Ok(Dispatch::Async(msg)) => return Delivery::Async(AsyncJob { msg, sender: cx.sender, facts }),
            Err(panic) => Err(panic_error(panic)),
        };
        // The sender is needed again only if the handler failed; take it back rather than clone it
        // for every message.
        let (exit_requested, sender) = (cx.exit_requested, cx.sender);
        Delivery::Done(self.finish(facts, result, exit_requested, sender, host))
    }

    /// Runs an `async fn` handler to completion, then does what [`deliver`](Self::deliver) does
    /// after a synchronous one.
    pub async fn run_async(&mut self, job: AsyncJob, host: &mut dyn Host) -> Outcome {
        let AsyncJob { msg, sender, facts } = job;
        let mut cx = Context {
            host: &mut *host,
            me: &self.me,
            parent: &self.parent,
            children: &mut self.children,
            sender,
            exit_requested: false,
            exiting: self.exiting,
        };
        let actor = &mut self.actor;
        let result = match catch_unwind(AssertUnwindSafe(|| actor.dispatch_async(msg, &mut cx))) {
            Ok(future) => AssertUnwindSafe(future).catch_unwind().await.unwrap_or_else(|p| Err(panic_error(p))),
            Err(panic) => Err(panic_error(panic)),
        };
        let (exit_requested, sender) = (cx.exit_requested, cx.sender);
        self.finish(facts, result, exit_requested, sender, host)
    }

    /// After the handler: report a failure to the sender, and start or continue an exit.
    fn finish(
        &mut self,
        facts: Facts,
        result: Result<(), HandlerError>,
        exit_requested: bool,
        sender: ActorAddress,
        host: &mut dyn Host,
    ) -> Outcome {
        if let Err(err) = result {
            if facts.exit_request.is_some() {
                // An exit is never retried and never poisons: the actor exits all the same.
                tracing::warn!(actor = %self.me, error = %err, "ActorExitRequest handler failed; exiting anyway");
            } else {
                tracing::warn!(actor = %self.me, message = facts.wire_name, error = %err, "handler failed");
                if !facts.is_poison {
                    let poison =
                        PoisonMessage { message: None, message_type: facts.wire_name.to_owned(), details: err.0 };
                    host.send(&sender, Envelope { sender: self.me.without_route(), msg: Payload::new(poison) });
                }
            }
        }
        if let Some(recursive) = facts.exit_request {
            self.begin_exit(recursive, host)
        } else if exit_requested {
            self.begin_exit(true, host)
        } else if self.exiting {
            self.exit_progress()
        } else {
            Outcome::Running
        }
    }

    /// Starts exiting: asks every child to exit and waits for them, unless there are none.
    fn begin_exit(&mut self, recursive: bool, host: &mut dyn Host) -> Outcome {
        self.exiting = true;
        if recursive {
            for child in &self.children {
                host.send(
                    child,
                    Envelope { sender: self.me.without_route(), msg: Payload::new(ActorExitRequest::default()) },
                );
            }
        } else {
            self.children.clear();
        }
        self.exit_progress()
    }

    fn exit_progress(&self) -> Outcome {
        if self.exiting && self.children.is_empty() { Outcome::Exited } else { Outcome::Running }
    }
}

/// The text of a panic payload.
pub(crate) fn panic_error(panic: Box<dyn std::any::Any + Send>) -> HandlerError {
    let text = if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "handler panicked".to_owned()
    };
    HandlerError(format!("panic: {text}"))
}
