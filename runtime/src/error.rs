//! The errors of the external API and of `ask`.

use std::time::Duration;

use crate::address::{ActorAddress, NodeId};
use crate::message::{DuplicateWireName, Message};

/// Everything that can go wrong when talking to an [`ActorSystem`](crate::ActorSystem).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two types share a wire name; the system refuses to start.
    #[error("the actor system cannot start: {0}")]
    DuplicateWireName(#[from] DuplicateWireName),

    /// The system has been shut down.
    #[error("the actor system {0} has been shut down")]
    ShutDown(NodeId),

    /// The address belongs to another actor system, for example one that has shut down.
    #[error("address {address} belongs to actor system {}, not to this system {system}; was it created by another ActorSystem that has since shut down?", address.node())]
    ForeignAddress {
        /// The address given.
        address: ActorAddress,
        /// This system's identity.
        system: NodeId,
    },

    /// The actor's constructor (`Default`) panicked; no actor was created.
    #[error("creating actor `{actor}` failed: its constructor panicked: {details}")]
    ConstructorPanicked {
        /// The actor type.
        actor: &'static str,
        /// The panic message.
        details: String,
    },

    /// The system cannot host the actor: the actor type's capability check (its
    /// `require_capability` entries and `capability_check` function) does not pass with the
    /// system's capabilities and the create's requirements. No actor was created. Thespian's
    /// `NoCompatibleSystemForActor`.
    #[error("no compatible actor system for actor `{actor_type}`: system {system} cannot host it: {reason}")]
    NoCompatibleSystem {
        /// The actor type asked for.
        actor_type: String,
        /// The system that was asked.
        system: NodeId,
        /// What did not pass, such as a capability that is not set.
        reason: String,
    },

    /// No actor type is registered under this name in this program.
    #[error("no actor type named `{name}` is registered in system {system}'s program")]
    UnknownActorType {
        /// The name asked for.
        name: String,
        /// The system asked.
        system: NodeId,
    },

    /// The address does not name a live actor of the requested type.
    #[error("address {address} is not an actor of type `{expected}` ({found})")]
    WrongActorType {
        /// The address checked.
        address: ActorAddress,
        /// The type asked for.
        expected: &'static str,
        /// What the address is instead.
        found: String,
    },

    /// `shutdown` gave up waiting for some actors to exit (a handler that never returns, say);
    /// they were stopped without finishing their exit.
    #[error("{remaining} actor(s) did not exit within the shutdown timeout of {timeout:?}; they were stopped")]
    ShutdownTimedOut {
        /// How many actors were still there.
        remaining: usize,
        /// The timeout that ran out.
        timeout: Duration,
    },

    /// No reply arrived within the timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),

    /// The target actor has exited (or never started), so no reply can come.
    #[error("the target actor {0} does not exist (it has exited or never started)")]
    DeadTarget(ActorAddress),

    /// The target's handler failed on the message: the reply was a `PoisonMessage`.
    #[error("the handler for `{message_type}` failed: {details}")]
    Poison {
        /// The wire name of the message that failed.
        message_type: String,
        /// What went wrong.
        details: String,
        /// The message itself, when the handler borrowed it and so did not consume it.
        message: Option<Box<dyn Message>>,
    },

    /// The target's mailbox is full and its overflow policy is to refuse; the message is given
    /// back.
    #[error("the mailbox of {address} is full ({capacity} messages); the message `{}` was not sent", message.wire_name())]
    MailboxFull {
        /// The target.
        address: ActorAddress,
        /// Its mailbox bound.
        capacity: usize,
        /// The message that was not sent.
        message: Box<dyn Message>,
    },

    /// A global name must not be empty.
    #[error("a global name cannot be empty")]
    InvalidGlobalName,

    /// No node could be reached or started on the admin address.
    #[error("no actor system node at {address}: {details}")]
    NodeUnavailable {
        /// The admin address.
        address: String,
        /// What went wrong.
        details: String,
    },

    /// Something that is not a node of this framework answers on the admin port.
    #[error("{address} is not an actor system node ({details}); is another program using the admin port?")]
    NotANode {
        /// The admin address.
        address: String,
        /// What it answered.
        details: String,
    },

    /// The node refused the connection (a wrong cookie, another protocol version).
    #[error("the node at {address} refused this process: {reason}")]
    Refused {
        /// The admin address.
        address: String,
        /// The node's reason.
        reason: String,
    },

    /// The running node was started from an older build of this very program: it would serve
    /// this process with old code.
    #[error(
        "the node at {address} runs another build of this program ({program}: node build {node_build}, this build {this_build}); stop the old node (for example `ActorSystem::builder().base(SystemBase::MultiprocTcp).admin_port(..).build()?.shutdown()` from the old build, or kill process {node_pid}) and start again"
    )]
    StaleNode {
        /// The admin address.
        address: String,
        /// The program's path.
        program: String,
        /// The running node's build.
        node_build: String,
        /// This process's build.
        this_build: String,
        /// The node's process id.
        node_pid: u32,
    },

    /// The connection to the node was lost.
    #[error("the connection to the node at {0} was lost")]
    ConnectionLost(String),

    /// The reply was not of the type the typed `ask` expected.
    #[error("expected a reply of type `{expected}`, got `{}`: {got:?}", got.type_name())]
    UnexpectedReply {
        /// The type asked for.
        expected: &'static str,
        /// The reply that arrived.
        got: Box<dyn Message>,
    },

    /// The operation is not available on this system base.
    #[error("{0}")]
    Unsupported(&'static str),

    /// A blocking call was made from inside an async runtime, where it would stall a worker thread.
    #[error("blocking `{0}` called from inside an async runtime; use `{0}_async(..).await` there")]
    BlockingInAsync(&'static str),

    /// The runtime could not be built.
    #[error("cannot start the runtime: {0}")]
    Io(#[from] std::io::Error),
}

/// The result type of the external API.
pub type Result<T, E = Error> = std::result::Result<T, E>;
