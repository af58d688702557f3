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
    pub async fn handle(&mut self, env: Envelope, host: &mut dyn Host) -> Outcome {
        let exit_request = env.msg.downcast_ref::<ActorExitRequest>().map(|r| r.recursive);
        if let Some(child) = env.msg.downcast_ref::<ChildActorExited>() {
            self.children.retain(|c| *c != child.child);
        } else if self.exiting && exit_request.is_none() {
            // Mail queued behind an exit is not processed; it is not silently lost either.
            host.dead_letter(&self.me, env);
            return Outcome::Running;
        }
        if exit_request.is_some() && self.exiting {
            return self.exit_progress();
        }

        self.processed += 1;
        let is_poison = env.msg.is::<PoisonMessage>();
        let wire_name = env.msg.as_message().wire_name();
        let mut cx = Context {
            host: &mut *host,
            me: &self.me,
            parent: &self.parent,
            children: &mut self.children,
            sender: env.sender,
            exit_requested: false,
        };
        let actor = &mut self.actor;
        let cx_ref = &mut cx;
        let msg = env.msg;
        let mut unhandled = None;
        let result = match catch_unwind(AssertUnwindSafe(move || actor.dispatch(msg, cx_ref))) {
            Ok(Dispatch::Done(result)) => result,
            Ok(Dispatch::Pending(future)) => match AssertUnwindSafe(future).catch_unwind().await {
                Ok(result) => result,
                Err(panic) => Err(panic_error(panic)),
            },
            Ok(Dispatch::Unhandled(msg)) => {
                unhandled = Some(msg);
                Ok(())
            }
            Err(panic) => Err(panic_error(panic)),
        };
        let exit_requested = cx.exit_requested;
        // The sender is needed again only if the handler failed; take it back rather than clone it
        // for every message.
        let sender = cx.sender;
        // An actor need not handle the lifecycle notices; anything else unhandled is counted.
        if let Some(msg) = unhandled.filter(|m| !m.is::<ActorExitRequest>() && !m.is::<ChildActorExited>()) {
            host.unhandled(&self.me, msg.as_message());
        }

        if let Err(err) = result {
            if exit_request.is_some() {
                // An exit is never retried and never poisons: the actor exits all the same.
                tracing::warn!(actor = %self.me, error = %err, "ActorExitRequest handler failed; exiting anyway");
            } else {
                tracing::warn!(actor = %self.me, message = wire_name, error = %err, "handler failed");
                if !is_poison {
                    let poison = PoisonMessage { message: None, message_type: wire_name.to_owned(), details: err.0 };
                    host.send(&sender, Envelope { sender: self.me.clone(), msg: Payload::new(poison) });
                }
            }
        }

        if let Some(recursive) = exit_request {
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
                host.send(child, Envelope { sender: self.me.clone(), msg: Payload::new(ActorExitRequest::default()) });
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
