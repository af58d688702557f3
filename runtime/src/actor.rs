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
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::time::Duration;

use crate::capabilities::{Capabilities, CapabilityCheck, Requirements};
use crate::context::Context;
use crate::message::Message;
use crate::payload::Payload;

/// A boxed future returned by an `async fn` handler: it ends with [`Dispatch::Done`] or
/// [`Dispatch::Failed`].
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Dispatch> + Send + 'a>>;

/// What dispatching one message to an actor gave.
pub enum Dispatch {
    /// A handler ran; this is its outcome.
    Done(Result<(), HandlerError>),
    /// A handler that borrowed its message (`&M`) failed and handed the message back, so the
    /// runtime can retry it once and then return it to the sender in a
    /// [`PoisonMessage`](crate::PoisonMessage).
    Failed(HandlerError, Payload),
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
            Dispatch::Failed(e, m) => f.debug_tuple("Failed").field(e).field(m).finish(),
            Dispatch::Async(m) => f.debug_tuple("Async").field(m).finish(),
            Dispatch::Unhandled(m) => f.debug_tuple("Unhandled").field(m).finish(),
        }
    }
}

/// What happens to an actor whose handler panicked. Chosen with `#[actor(on_panic = ...)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnPanic {
    /// Keep the actor and its state, as the original does (the default).
    #[default]
    Resume,
    /// Replace the state with a fresh `Default` one. More than `max_restarts` restarts within
    /// `within` stop the actor, and its parent receives [`ChildActorExited`](crate::ChildActorExited).
    Restart {
        /// Restarts allowed within the window.
        max_restarts: u32,
        /// The window.
        within: Duration,
    },
}

/// An actor that exits by itself some time after it starts working
/// (`#[actor(transient(exit_after = "10s"))]`) or after it last worked
/// (`#[actor(transient_idle(exit_after = "10s"))]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transient {
    /// How long after its first message (or its last one, when `idle`) the actor exits.
    pub exit_after: Duration,
    /// Whether every message pushes the exit back.
    pub idle: bool,
}

/// The framework behaviours an `#[actor(...)]` attribute asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Behaviour {
    /// What a panic does to the actor.
    pub on_panic: OnPanic,
    /// Whether and when the actor exits by itself.
    pub transient: Option<Transient>,
    /// How many message types must arrive before any other message is handled
    /// (`#[actor(initializing_messages(A, B))]`); see [`Actor::init_slot`].
    pub initializing_messages: u32,
}

impl Behaviour {
    /// Thespian's behaviour: keep running after a panic, never exit by itself.
    pub const DEFAULT: Behaviour = Behaviour { on_panic: OnPanic::Resume, transient: None, initializing_messages: 0 };

    /// Sets what a panic does (for the code `#[actor]` generates).
    pub const fn on_panic(mut self, on_panic: OnPanic) -> Self {
        self.on_panic = on_panic;
        self
    }

    /// Makes the actor transient (for the code `#[actor]` generates).
    pub const fn transient(mut self, transient: Transient) -> Self {
        self.transient = Some(transient);
        self
    }

    /// Sets the number of initializing message types (for the code `#[actor]` generates).
    pub const fn initializing_messages(mut self, count: u32) -> Self {
        self.initializing_messages = count;
        self
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
        Box::pin(async move { Dispatch::Done(Err(HandlerError::new(format!("no async handler for `{name}`")))) })
    }

    /// The actor type's wire name.
    fn actor_type_name(&self) -> &'static str;

    /// The framework behaviours chosen with `#[actor(...)]` options.
    fn behaviour(&self) -> Behaviour {
        Behaviour::DEFAULT
    }

    /// For an actor with initializing messages: which of them `msg` is (0-based), if any.
    fn init_slot(&self, msg: &Payload) -> Option<u32> {
        let _ = msg;
        None
    }

    /// A fresh instance, for an actor restarted after a panic (`on_panic = restart`).
    fn fresh(&self) -> Option<Box<dyn Actor>> {
        None
    }

    /// What the actor type asks of the system that hosts it (`#[actor(require_capability ..)]`,
    /// `#[actor(capability_check = ..)]`); checked when an instance is given to
    /// `create_actor_from`.
    fn capability_check(&self) -> CapabilityCheck {
        CapabilityCheck::NONE
    }
}

/// An actor that `on_panic = restart` can rebuild: it needs `Default` (for the code `#[actor]`
/// generates).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`on_panic = restart` rebuilds `{Self}` with `Default`, which it does not implement",
    label = "a restart needs `{Self}: Default`",
    note = "derive or implement `Default` for the actor, or remove `on_panic = restart`"
)]
pub trait Restartable {
    /// A fresh instance.
    fn fresh_instance() -> Box<dyn Actor>;
}

impl<A: Actor + Default> Restartable for A {
    fn fresh_instance() -> Box<dyn Actor> {
        Box::new(A::default())
    }
}

/// A message an `async fn` handler may borrow: the borrow is held across `.await`s, in a future
/// that must be `Send`, so the message must be `Sync` (for the code `#[actor]` generates).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "an `async fn` handler that borrows its message needs `{Self}: Sync`",
    label = "borrowed across `.await` by an `async fn` handler",
    note = "take the message by value (`msg: {Self}`), or make it `Sync`"
)]
pub trait BorrowedAcrossAwait {}

impl<M: Sync> BorrowedAcrossAwait for M {}

/// Checks [`BorrowedAcrossAwait`] where the generated code calls it.
#[doc(hidden)]
pub const fn borrowed_across_await<M: BorrowedAcrossAwait + ?Sized>() {}

/// Runs a handler that borrows its message, catching a panic, and hands the message back if the
/// handler failed (for the code `#[actor]` generates).
#[doc(hidden)]
pub fn run_by_ref<M: Message>(
    msg: M,
    cx: &mut Context<'_>,
    handler: impl FnOnce(&M, &mut Context<'_>) -> Result<(), HandlerError>,
) -> Dispatch {
    let result = catch_unwind(AssertUnwindSafe(|| handler(&msg, &mut *cx))).unwrap_or_else(|p| Err(panic_error(p)));
    by_ref_outcome(result, msg, cx)
}

/// Awaits an `async fn` handler that borrows its message, catching a panic (for the code
/// `#[actor]` generates; [`by_ref_outcome`] then hands the message back on failure).
#[doc(hidden)]
pub async fn catch_async(handler: impl Future<Output = Result<(), HandlerError>>) -> Result<(), HandlerError> {
    use futures_util::FutureExt;
    AssertUnwindSafe(handler).catch_unwind().await.unwrap_or_else(|p| Err(panic_error(p)))
}

/// The outcome of a handler that borrowed `msg`: on failure (its own, or something invalid it did
/// through the context) the message goes back to the runtime.
#[doc(hidden)]
pub fn by_ref_outcome<M: Message>(result: Result<(), HandlerError>, msg: M, cx: &mut Context<'_>) -> Dispatch {
    let result = match (result, cx.failure.take()) {
        (Ok(()), Some(failure)) => Err(failure),
        (result, _) => result,
    };
    match result {
        Ok(()) => Dispatch::Done(Ok(())),
        Err(error) => Dispatch::Failed(error, Payload::new(msg)),
    }
}

/// The text of a panic payload, as a handler error.
pub(crate) fn panic_error(panic: Box<dyn std::any::Any + Send>) -> HandlerError {
    let text = if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "handler panicked".to_owned()
    };
    HandlerError { text: format!("panic: {text}"), panicked: true }
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
    /// For `#[actor(troupe(...))]`: creating the actor creates a troupe of them behind one address.
    const TROUPE: Option<TroupeConfig> = None;
    /// For `#[actor(process)]`: on the `MultiprocTcp` base the actor runs in a process of its own.
    const PROCESS: bool = false;
    /// What the actor type asks of the system that hosts it: `#[actor(require_capability ..)]`
    /// entries and an `#[actor(capability_check = ..)]` function. Any system, by default.
    const CAPABILITY_CHECK: CapabilityCheck = CapabilityCheck::NONE;
}

/// How a troupe is sized: `#[actor(troupe(max_count = 10, idle_count = 2))]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TroupeConfig {
    /// The most workers at once.
    pub max_count: usize,
    /// Workers kept when there is no work.
    pub idle_count: usize,
    /// How long a worker beyond `idle_count` stays idle before it is dismissed.
    pub dismiss_after: Duration,
}

impl TroupeConfig {
    /// The original's defaults: up to 10 workers, 2 kept idle, extras dismissed after 2 s idle.
    pub const DEFAULT: TroupeConfig =
        TroupeConfig { max_count: 10, idle_count: 2, dismiss_after: Duration::from_secs(2) };
}

impl Default for TroupeConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
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
    /// Set for a troupe: creating the actor by name creates a troupe.
    pub troupe: Option<TroupeConfig>,
    /// Set for `#[actor(process)]`: the actor runs in a process of its own on `MultiprocTcp`.
    pub process: bool,
    /// What the actor type asks of the system that hosts it ([`CapabilityCheck::NONE`]: any
    /// system). [`can_host`] evaluates it by the type's name.
    pub capability_check: CapabilityCheck,
}

inventory::collect!(ActorRegistration);

/// Whether a system with `capabilities` can host an actor of the type registered under
/// `wire_name`, created with `requirements`: `Ok`, or why not. `None` for a name no type is
/// registered under. The check fails closed (a check function that panics is a "no").
///
/// ```
/// use thespian::prelude::*;
/// use thespian::actor::can_host;
///
/// #[derive(Default)]
/// struct Server;
///
/// #[actor(name = "docs::Server", require_capability = "Server")]
/// impl Server {
///     #[handler]
///     fn any(&mut self, _m: String) {}
/// }
///
/// let server: Capabilities = [("Server", true)].into();
/// assert_eq!(can_host("docs::Server", &server, &Requirements::new()), Some(Ok(())));
/// let why = can_host("docs::Server", &Capabilities::new(), &Requirements::new()).unwrap().unwrap_err();
/// assert_eq!(why, "capability `Server` is not set (it must be set to a true value)");
/// assert_eq!(can_host("docs::NoSuchType", &server, &Requirements::new()), None);
/// ```
pub fn can_host(
    wire_name: &str,
    capabilities: &Capabilities,
    requirements: &Requirements,
) -> Option<Result<(), String>> {
    actor_registration(wire_name).map(|r| r.capability_check.evaluate(capabilities, requirements))
}

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
///
/// ```
/// use thespian::HandlerError;
/// let e = HandlerError::new("no such account");
/// assert_eq!(e.to_string(), "no such account");
/// assert!(!e.is_panic());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    text: String,
    panicked: bool,
}

impl HandlerError {
    /// A failure described by `text`.
    pub fn new(text: impl Into<String>) -> Self {
        HandlerError { text: text.into(), panicked: false }
    }

    /// Whether the handler panicked (rather than returned `Err`).
    pub fn is_panic(&self) -> bool {
        self.panicked
    }

    /// The description.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn into_text(self) -> String {
        self.text
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
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
            Err(e) => Err(HandlerError::new(e.to_string())),
        }
    }
}
