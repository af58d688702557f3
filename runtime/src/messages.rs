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

/// Tells an actor that asked (with `notify_on_system_registration_changes(true)`) that another
/// node joined or left its convention. At the asking, one arrives for every member known then.
///
/// ```
/// use thespian::prelude::*;
///
/// #[derive(Default)]
/// struct Watcher { members: Vec<String> }
///
/// #[actor]
/// impl Watcher {
///     #[handler]
///     fn update(&mut self, update: ActorSystemConventionUpdate) {
///         let node = update.remote_admin.node().as_str().to_owned();
///         if update.added { self.members.push(node) } else { self.members.retain(|m| *m != node) }
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorSystemConventionUpdate {
    /// The address of the member node's own system (its admin).
    pub remote_admin: ActorAddress,
    /// The member's capabilities.
    pub capabilities: crate::capabilities::Capabilities,
    /// Whether it joined (or changed its capabilities); `false` when it left or was lost.
    pub added: bool,
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

/// Asks any actor for its [`ActorStatus`]. The framework answers it; the actor's handlers never
/// see it. `ActorSystem::status` sends it for you.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorStatusRequest;

/// What an actor is doing, as a director or a dashboard shows it: the reply to
/// [`ActorStatusRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActorStatus {
    /// The actor.
    pub address: ActorAddress,
    /// Its type's wire name.
    pub actor_type: String,
    /// Its parent (the system, for top-level and globally named actors).
    pub parent: ActorAddress,
    /// Its live children.
    pub children: Vec<ActorAddress>,
    /// Messages waiting in its mailbox, not counting this request.
    pub mailbox_len: usize,
    /// Messages it has handled.
    pub processed: u64,
    /// Wakeups it has asked for that have not arrived yet.
    pub pending_wakeups: u32,
    /// Its global name, if it was created with one.
    pub global_name: Option<String>,
    /// Whether it is exiting (waiting for its children).
    pub exiting: bool,
}

/// Changes a troupe's size at run time; the troupe replies with the [`TroupeSettings`] in force.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateTroupeSettings {
    /// New most workers at once (at least 1).
    pub max_count: Option<usize>,
    /// New number of workers kept idle.
    pub idle_count: Option<usize>,
    /// New idle time after which extra workers are dismissed.
    pub dismiss_after: Option<std::time::Duration>,
}

/// A troupe's settings, as replied to [`UpdateTroupeSettings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TroupeSettings {
    /// The most workers at once.
    pub max_count: usize,
    /// Workers kept when there is no work.
    pub idle_count: usize,
    /// Idle time after which workers beyond `idle_count` are dismissed.
    pub dismiss_after: std::time::Duration,
}

/// Asks a troupe for its [`TroupeStatus`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TroupeStatusRequest;

/// A troupe's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TroupeStatus {
    /// Settings in force.
    pub settings: TroupeSettings,
    /// Live workers.
    pub workers: Vec<ActorAddress>,
    /// How many of them are idle.
    pub idle: usize,
    /// Work waiting for a worker.
    pub pending: usize,
}

/// Framework-internal messages: never handed to an actor's handlers.
pub(crate) mod internal {
    use serde::{Deserialize, Serialize};

    use crate::address::ActorAddress;
    use crate::message::Message;

    /// From a troupe manager to a worker: work, with the sender it came from. The worker handles
    /// the message as if that sender had sent it, then reports ready.
    #[derive(Debug, Serialize, Deserialize)]
    pub struct TroupeWork {
        pub sender: ActorAddress,
        pub message: Box<dyn Message>,
    }

    /// From a troupe worker to its manager: ready for more work.
    #[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
    pub struct TroupeMemberReady;

    /// A troupe manager's own timer: dismiss extra workers that stayed idle.
    #[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
    pub struct TroupeDismissCheck;

    /// A transient actor's own timer: exit if its time is up.
    #[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
    pub struct TransientCheck;
}

use internal::{TransientCheck, TroupeDismissCheck, TroupeMemberReady, TroupeWork};

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

system_messages!(
    ActorExitRequest,
    ActorSystemConventionUpdate,
    ChildActorExited,
    PoisonMessage,
    DeadEnvelope,
    WakeupMessage,
    ActorStatusRequest,
    ActorStatus,
    UpdateTroupeSettings,
    TroupeSettings,
    TroupeStatusRequest,
    TroupeStatus,
    TroupeWork,
    TroupeMemberReady,
    TroupeDismissCheck,
    TransientCheck,
);

/// Whether a message is one an actor's own timer delivers (a wakeup, a transient or troupe check):
/// such a message for an actor that has exited or is exiting is discarded, not a dead letter.
pub(crate) fn is_timer_message(msg: &crate::payload::Payload) -> bool {
    msg.is::<WakeupMessage>() || msg.is::<TransientCheck>() || msg.is::<TroupeDismissCheck>()
}

/// Whether a message is exempt from a mailbox bound: exits, exit notices, failures, dead letters,
/// wakeups, status and the framework's own control messages must always get through, or exits and
/// shutdown could hang and bounces could loop. Only ordinary messages count against the bound.
pub(crate) fn bypasses_bound(msg: &crate::payload::Payload) -> bool {
    is_system_message(msg)
        || msg.is::<TroupeMemberReady>()
        || msg.is::<TransientCheck>()
        || msg.is::<TroupeDismissCheck>()
        || msg.is::<ActorStatus>()
}

/// Whether a message is one the framework sends about an actor's life (exit, children, failures,
/// wakeups, dead letters, status) rather than work: such messages do not count as activity for
/// transient actors and are never held back while an actor waits for its initializing messages.
pub(crate) fn is_system_message(msg: &crate::payload::Payload) -> bool {
    msg.is::<ActorExitRequest>()
        || msg.is::<ChildActorExited>()
        || msg.is::<PoisonMessage>()
        || msg.is::<WakeupMessage>()
        || msg.is::<DeadEnvelope>()
        || msg.is::<ActorStatusRequest>()
}
