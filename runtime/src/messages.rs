//! The system messages: what the framework itself sends to actors.
//!
//! They are ordinary message types: an actor reacts to one by writing a `#[handler]` for it, and
//! every actor accepts them through a typed [`Addr`](crate::Addr) whether it has a handler or not.
//!
//! ```
//! use thespian::prelude::*;
//!
//! #[derive(Default)]
//! struct Parent { exited: u32 }
//!
//! #[actor]
//! impl Parent {
//!     #[handler]
//!     fn child_exited(&mut self, _msg: ChildActorExited) { self.exited += 1; }
//!     #[handler]
//!     fn count(&mut self, _msg: u32) -> u32 { self.exited }
//! }
//! # let _ = Parent::default();
//! ```

use serde::{Deserialize, Serialize};

use crate::address::ActorAddress;
use crate::message::{Message, MessageRegistration};

/// Asks an actor to stop. The actor's handler for it (if any) runs first; then its children are
/// stopped and awaited; then the actor exits and its parent receives [`ChildActorExited`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActorExitRequest {
    /// Whether the actor's children are stopped too (the default).
    pub recursive: bool,
}

impl Default for ActorExitRequest {
    fn default() -> Self {
        ActorExitRequest { recursive: true }
    }
}

impl PartialEq for ActorExitRequest {
    /// All exit requests are equal, as in the original.
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

/// Tells a parent that one of its children has exited, for whatever reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildActorExited {
    /// The child that exited.
    pub child: ActorAddress,
}

/// Returned to the sender of a message whose handler failed (panicked or returned `Err`).
#[derive(Debug, Serialize, Deserialize)]
pub struct PoisonMessage {
    /// The message that failed, when the handler did not consume it; `None` for a by-value handler.
    pub message: Option<Box<dyn Message>>,
    /// The wire name of the message that failed.
    pub message_type: String,
    /// What went wrong: the panic payload or the error's text.
    pub details: String,
}

/// A message sent to an actor that no longer exists, as given to the dead-letter handler.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeadEnvelope {
    /// Where the message was going.
    pub dead_address: ActorAddress,
    /// The undelivered message.
    pub message: Box<dyn Message>,
}

/// A wakeup requested by the actor itself, delivered with the actor as sender.
#[derive(Debug, Serialize, Deserialize)]
pub struct WakeupMessage {
    /// How long after the request it was delivered.
    pub delay: std::time::Duration,
    /// The payload given with the request.
    pub payload: Option<Box<dyn Message>>,
}

/// Implements [`Message`] for the system messages under fixed wire names, and lists their names
/// for the `#[actor]` macro (every actor accepts them).
macro_rules! system_messages {
    ($($ty:ident),* $(,)?) => {
        $(
            #[typetag::serde(name = concat!("thespian::", stringify!($ty)))]
            impl Message for $ty {
                fn type_name(&self) -> &'static str {
                    std::any::type_name::<$ty>()
                }
            }
            inventory::submit! {
                MessageRegistration {
                    wire_name: concat!("thespian::", stringify!($ty)),
                    type_name: std::any::type_name::<$ty>,
                }
            }
        )*
    };
}

system_messages!(ActorExitRequest, ChildActorExited, PoisonMessage, DeadEnvelope, WakeupMessage);
