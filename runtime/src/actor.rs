//! The [`Actor`] trait that `#[actor]` implements, what a handler may return, and the registry of
//! actor types.
//!
//! Users do not implement these traits by hand; they write an `#[actor]` impl block:
//!
//! ```
//! use thespian::prelude::*;
//!
//! #[derive(Default)]
//! struct Counter { n: u64 }
//!
//! #[actor]
//! impl Counter {
//!     #[handler]
//!     fn add(&mut self, by: u64) -> u64 { self.n += by; self.n }
//!
//!     #[handler]
//!     async fn reset(&mut self, _msg: (), cx: &mut Context<'_>) {
//!         self.n = 0;
//!         let _ = cx.my_address();
//!     }
//! }
//!
//! let system = ActorSystem::new()?;
//! let counter = system.create_actor::<Counter>()?;
//! let n: u64 = system.ask(&counter, 2u64, Duration::from_secs(1))?;
//! assert_eq!(n, 2);
//! # Ok::<(), thespian::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::context::Context;
use crate::message::Message;
use crate::payload::Payload;

/// A boxed future returned by an `async fn` handler.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'a>>;

/// What dispatching one message to an actor gave.
pub enum Dispatch {
    /// A synchronous handler ran; this is its outcome.
    Done(Result<(), HandlerError>),
    /// The message's handler is an `async fn`: the runtime calls [`Actor::dispatch_async`] with it
    /// and polls the future to completion before the next message.
    Async(Payload),
    /// No handler matched (and there is no fallback); the message is handed back.
    Unhandled(Payload),
}

impl fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dispatch::Done(r) => f.debug_tuple("Done").field(r).finish(),
            Dispatch::Async(m) => f.debug_tuple("Async").field(m).finish(),
            Dispatch::Unhandled(m) => f.debug_tuple("Unhandled").field(m).finish(),
        }
    }
}

/// An actor: state plus a table of message handlers. Implemented by `#[actor]`.
pub trait Actor: Send + 'static {
    /// Runs the handler for `msg`. Generated code: a chain of type-id comparisons, no allocation
    /// for synchronous handlers.
    fn dispatch(&mut self, msg: Payload, cx: &mut Context<'_>) -> Dispatch;

    /// Runs the `async fn` handler for a message that [`dispatch`](Actor::dispatch) returned as
    /// [`Dispatch::Async`].
    fn dispatch_async<'a>(&'a mut self, msg: Payload, cx: &'a mut Context<'_>) -> HandlerFuture<'a> {
        let _ = cx;
        let name = msg.wire_name();
        Box::pin(async move { Err(HandlerError(format!("no async handler for `{name}`"))) })
    }

    /// The actor type's wire name.
    fn actor_type_name(&self) -> &'static str;
}

/// An actor type that can be created by the system: `#[actor]` implements it for `Default` types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be created by type",
    label = "not an `#[actor]` type with `Default`",
    note = "`create_actor::<A>()` needs an `#[actor]` type that implements `Default`; create an `#[actor(local)]` actor from a value with `create_actor_from(..)`"
)]
pub trait ActorType: Actor + Default {
    /// The name the type is registered under, for creation in another process.
    const WIRE_NAME: &'static str;
}

/// A registered actor type, so a node can create an actor asked for by name.
#[derive(Debug)]
pub struct ActorRegistration {
    /// The name the actor type is known by.
    pub wire_name: &'static str,
    /// The rust type name, for error messages.
    pub type_name: fn() -> &'static str,
    /// Builds a fresh instance with `Default`.
    pub create: fn() -> Box<dyn Actor>,
}

inventory::collect!(ActorRegistration);

/// Every actor type linked into this binary.
///
/// ```
/// use thespian::prelude::*;
/// #[derive(Default)]
/// struct Registered;
/// #[actor(name = "docs::Registered")]
/// impl Registered {
///     #[handler]
///     fn any(&mut self, _m: String) {}
/// }
/// assert!(thespian::actor::registered_actors().any(|r| r.wire_name == "docs::Registered"));
/// ```
pub fn registered_actors() -> impl Iterator<Item = &'static ActorRegistration> {
    inventory::iter::<ActorRegistration>.into_iter()
}

/// Finds a registered actor type by wire name.
pub fn actor_registration(wire_name: &str) -> Option<&'static ActorRegistration> {
    registered_actors().find(|r| r.wire_name == wire_name)
}

/// Why a handler failed: the text of its `Err`, or of its panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError(pub String);

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HandlerError {}

/// What a handler may return: nothing, a reply message, an `Option` of one, or a `Result` whose
/// `Err` marks the handler as failed.
#[diagnostic::on_unimplemented(
    message = "a handler cannot return `{Self}`",
    label = "return `()`, a message type, `Option<message>` or `Result<_, E: Display>`"
)]
pub trait HandlerOutput {
    /// Sends the reply, if any, to the sender and reports success or failure.
    fn complete(self, cx: &mut Context<'_>) -> Result<(), HandlerError>;
}

impl<M: Message> HandlerOutput for M {
    #[inline]
    fn complete(self, cx: &mut Context<'_>) -> Result<(), HandlerError> {
        // `()` is a message, but a handler returning nothing sends nothing.
        if std::any::TypeId::of::<M>() != std::any::TypeId::of::<()>() {
            cx.reply(self);
        }
        Ok(())
    }
}

impl<T: HandlerOutput> HandlerOutput for Option<T> {
    #[inline]
    fn complete(self, cx: &mut Context<'_>) -> Result<(), HandlerError> {
        match self {
            Some(out) => out.complete(cx),
            None => Ok(()),
        }
    }
}

impl<T: HandlerOutput, E: fmt::Display> HandlerOutput for Result<T, E> {
    #[inline]
    fn complete(self, cx: &mut Context<'_>) -> Result<(), HandlerError> {
        match self {
            Ok(out) => out.complete(cx),
            Err(e) => Err(HandlerError(e.to_string())),
        }
    }
}
