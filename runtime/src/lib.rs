//! Actors for Rust that run sequentially in-process, in parallel on threads, in separate
//! processes, or on other hosts of a convention — with no change to the actors themselves.
//!
//! An actor is a struct with an `#[actor]` impl block; each `#[handler]` method handles one
//! message type. Messages are plain `serde` types with `#[derive(Message)]`.
//!
//! ```
//! use thespian::prelude::*;
//!
//! #[derive(Default)]
//! struct Hello;
//!
//! #[actor]
//! impl Hello {
//!     #[handler]
//!     fn hi(&mut self, _msg: String) -> String {
//!         "Hello, World!".to_string()
//!     }
//! }
//!
//! let system = ActorSystem::new()?;
//! let hello = system.create_actor::<Hello>()?;
//! let reply: String = system.ask(&hello, "hi", Duration::from_secs(1))?;
//! assert_eq!(reply, "Hello, World!");
//! system.tell(&hello, ActorExitRequest::default())?;
//! # Ok::<(), thespian::Error>(())
//! ```
//!
//! | Base | Runs actors | For |
//! |---|---|---|
//! | [`SystemBase::Simple`] (default) | one at a time, in the caller's thread, in send order | tests, debugging, deterministic replays |
//! | [`SystemBase::Threaded`] | in parallel on a pool of worker threads owned by the system (one per core); `async fn` handlers can use tokio's timers and I/O | parallel work in one process |
//! | [`SystemBase::MultiprocTcp`] | in a node process that outlives the process that started it, joined over TCP by later processes; `#[actor(process)]` actors in processes of their own (the program calls [`init`] first) | systems that keep running; actors that must not take each other down; several hosts joined in a convention, actors placed by [`Capabilities`] |

#![deny(missing_docs)]

pub mod actor;
pub mod address;
pub mod capabilities;
mod cell;
mod context;
mod error;
pub mod message;
pub mod messages;
mod payload;
mod queue;
mod system;
mod troupe;
mod wire;

pub use actor::{Actor, ActorType, Behaviour, Dispatch, HandlerError, HandlerOutput, OnPanic, Transient, TroupeConfig};
pub use address::{ActorAddress, Addr, Handles, NodeId, Recipient};
pub use capabilities::{Capabilities, Requirements};
pub use context::Context;
pub use error::{Error, Result};
pub use message::{IntoMessage, Message};
pub use messages::{
    ActorExitRequest, ActorStatus, ActorStatusRequest, ActorSystemConventionUpdate, ChildActorExited, DeadEnvelope,
    PoisonMessage, TroupeSettings, TroupeStatus, TroupeStatusRequest, UpdateTroupeSettings, WakeupMessage,
};
pub use payload::{INLINE_CAPACITY, Payload};
pub use system::{ActorOptions, ActorSystem, ActorSystemBuilder, MailboxBound, Overflow, SystemBase, SystemStats};
pub use wire::{ConventionStatus, NodeStatus};

/// Lets this program serve as a node of the [`SystemBase::MultiprocTcp`] base.
///
/// Call it first thing in `main`. When the runtime starts this program as a node (or, later, as
/// an isolated actor's process), `init` runs that role and ends the process; otherwise it returns
/// at once and `main` goes on.
///
/// ```
/// thespian::init();
/// // ... the program goes on here: this process was not started as a node.
/// ```
pub fn init() {
    system::run_node_if_asked();
}

/// `#[derive(Message)]`: makes a serde type a message with a module-qualified wire name.
pub use thespian_macros::Message;
/// `#[actor]`: turns an inherent impl block into an actor. See the crate documentation.
pub use thespian_macros::actor;
/// `#[handler]`: marks a message handler inside an `#[actor]` impl block.
pub use thespian_macros::handler;
/// `#[thespian::main]`: `main` calls [`init`] first.
///
/// ```
/// #[thespian::main]
/// fn main() {
///     // Reached only in the process the user started; a node or an isolated actor's process
///     // started from this program never gets here.
/// }
/// # main();
/// ```
pub use thespian_macros::main;

/// Everything an actor program usually needs: `use thespian::prelude::*;`.
pub mod prelude {
    pub use crate::{
        ActorAddress, ActorExitRequest, ActorOptions, ActorSystem, ActorSystemConventionUpdate, Addr, Capabilities,
        ChildActorExited, Context, DeadEnvelope, Error, Message, Overflow, PoisonMessage, Requirements, SystemBase,
        WakeupMessage, actor, handler,
    };
    pub use serde::{Deserialize, Serialize};
    pub use std::time::Duration;
}

/// Items the macros' generated code refers to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::actor::{
        ActorRegistration, Behaviour, Dispatch, HandlerFuture, HandlerOutput, OnPanic, Restartable, Transient,
        TroupeConfig, borrowed_across_await, by_ref_outcome, catch_async, run_by_ref,
    };
    pub use crate::capabilities::{CapabilityCheck, CheckFn, RequiredCapability, RequiredValue};
    pub use crate::message::MessageRegistration;
    pub use crate::payload::Payload;
    pub use inventory;
    pub use std::any::{Any, TypeId};
    pub use std::boxed::Box;
    pub use std::time::Duration;
    pub use typetag;
}

/// The README's code, compiled and run as a doc test so it cannot drift from the API.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
