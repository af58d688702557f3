//! [`Context`]: what a handler may do besides changing its own state.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::actor::{Actor, ActorType, HandlerError};
use crate::address::{ActorAddress, Addr, NodeId, Recipient};
use crate::capabilities::{Capabilities, Value};
use crate::cell::CellState;
use crate::error::{Error, Result};
use crate::message::{IntoMessage, Message};
use crate::payload::Payload;
use crate::system::{ActorOptions, Envelope, Host, NewActor};

/// A reply on its way, as returned by the runtime to an actor-side `ask`.
pub(crate) type ReplyFuture = Pin<Box<dyn Future<Output = Result<Payload>> + Send + 'static>>;

/// The handler's view of the system: send, create, ask, exit.
///
/// A handler receives it as an optional `cx: &mut Context<'_>` parameter.
///
/// ```
/// use thespian::prelude::*;
///
/// #[derive(Default)]
/// struct Greeter;
///
/// #[derive(Default)]
/// struct Shouter;
///
/// #[actor]
/// impl Shouter {
///     #[handler]
///     fn shout(&mut self, msg: String) -> String { msg.to_uppercase() }
/// }
///
/// #[actor]
/// impl Greeter {
///     #[handler]
///     async fn greet(&mut self, name: String, cx: &mut Context<'_>) -> Result<String, Error> {
///         let shouter = cx.create_actor::<Shouter>();
///         let loud: String = cx.ask(&shouter, format!("hello, {name}"), Duration::from_secs(1)).await?;
///         Ok(loud)
///     }
/// }
///
/// let system = ActorSystem::builder().base(SystemBase::Threaded).build()?;
/// let greeter = system.create_actor::<Greeter>()?;
/// let reply: String = system.ask(&greeter, "ann", Duration::from_secs(5))?;
/// assert_eq!(reply, "HELLO, ANN");
/// system.shutdown()?;
/// # Ok::<(), thespian::Error>(())
/// ```
pub struct Context<'a> {
    pub(crate) host: &'a mut dyn Host,
    pub(crate) st: &'a mut CellState,
    pub(crate) sender: ActorAddress,
    pub(crate) exit_requested: bool,
    /// Something the handler did through the context was invalid: the handler counts as failed.
    pub(crate) failure: Option<HandlerError>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("me", &self.st.me)
            .field("sender", &self.sender)
            .field("parent", &self.st.parent)
            .field("children", &self.st.children)
            .finish()
    }
}

impl<'a> Context<'a> {
    pub(crate) fn new(host: &'a mut dyn Host, st: &'a mut CellState, sender: ActorAddress) -> Self {
        Context { host, st, sender, exit_requested: false, failure: None }
    }

    /// This actor's own address.
    pub fn my_address(&self) -> &ActorAddress {
        &self.st.me
    }

    /// The sender of the message being handled.
    pub fn sender(&self) -> ActorAddress {
        self.sender.clone()
    }

    /// The actor that created this one (the system itself for actors created from outside and
    /// for globally named actors).
    pub fn parent(&self) -> &ActorAddress {
        &self.st.parent
    }

    /// The live children of this actor.
    pub fn children(&self) -> &[ActorAddress] {
        &self.st.children
    }

    /// This actor's global name, if it was created with one.
    pub fn global_name(&self) -> Option<&str> {
        self.st.global_name()
    }

    /// The identity of the system or node this actor runs on.
    pub fn node(&self) -> NodeId {
        self.st.me.node()
    }

    /// Sends `msg` to `to`, with this actor as the sender.
    ///
    /// The send never blocks. A message to an actor that has gone becomes a dead letter; one to a
    /// full bounded mailbox comes back to this actor as a [`PoisonMessage`](crate::PoisonMessage).
    /// An address of another actor system is invalid: the message is not sent and the handler
    /// counts as failed (its sender receives a `PoisonMessage` naming `InvalidActorAddress`).
    /// Messages from one sender to one receiver arrive in the order sent.
    #[inline]
    pub fn send<M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(&mut self, to: &T, msg: M) {
        self.send_payload(to.address(), Payload::new(msg.into_message()));
    }

    /// Sends an already boxed message to `to`.
    pub fn send_boxed(&mut self, to: &ActorAddress, msg: Box<dyn Message>) {
        self.send_payload(to, Payload::from_box(msg));
    }

    #[inline]
    fn send_payload(&mut self, to: &ActorAddress, msg: Payload) {
        let env = Envelope { sender: self.st.me.without_route(), msg };
        // An actor's own node is its system's: no call to the host to know it.
        if to.node() != self.st.me.node() && !self.host.reaches(to.node()) {
            self.invalid_address(to, env);
            return;
        }
        self.host.send(to, env);
    }

    #[cold]
    fn invalid_address(&mut self, to: &ActorAddress, env: Envelope) {
        let what = format!(
            "InvalidActorAddress: {to} belongs to actor system {}, not to this system {}; message `{}` not sent",
            to.node(),
            self.host.node(),
            env.msg.wire_name()
        );
        tracing::warn!(actor = %self.st.me, "{what}");
        self.host.dead_letter(to, env);
        self.failure.get_or_insert(HandlerError::new(what));
    }

    /// Sends `msg` to the sender of the message being handled.
    #[inline]
    pub fn reply<M: IntoMessage>(&mut self, msg: M) {
        let to = self.sender.clone();
        self.send_payload(&to, Payload::new(msg.into_message()));
    }

    /// Creates a child actor of type `A` with `A::default()` and returns its address at once.
    ///
    /// If the constructor panics, the address is still returned: messages to it become dead
    /// letters and this actor receives [`ChildActorExited`](crate::ChildActorExited).
    pub fn create_actor<A: ActorType>(&mut self) -> Addr<A> {
        self.create_actor_with::<A>(ActorOptions::default())
    }

    /// Creates a child actor of type `A` with options (such as a global name or requirements).
    ///
    /// With a global name that is already taken, the existing actor's address is returned and no
    /// new actor is created. A globally named actor belongs to the system, not to this actor: it
    /// is not among this actor's children and does not stop when this actor does, but the actor
    /// that created it receives [`ChildActorExited`](crate::ChildActorExited) when it exits. An
    /// empty global name is invalid: the handler counts as failed and the address returned is dead.
    ///
    /// If the system cannot host `A` (its capability check fails with the system's capabilities
    /// and the options' requirements), the address is still returned, but no actor is behind it:
    /// this actor receives [`ChildActorExited`](crate::ChildActorExited) for it, and every message
    /// sent to that address comes back to its sender as a [`PoisonMessage`](crate::PoisonMessage)
    /// whose details say why.
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// #[derive(Default)]
    /// struct Snowy;
    ///
    /// #[actor(require_capability = "Snow")]
    /// impl Snowy {
    ///     #[handler]
    ///     fn hi(&mut self, msg: String) -> String { format!("waagh! {msg}") }
    /// }
    ///
    /// #[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, Message)]
    /// struct Parent { exited: u32, bounced: u32 }
    ///
    /// #[actor]
    /// impl Parent {
    ///     #[handler]
    ///     fn start(&mut self, _go: (), cx: &mut Context<'_>) {
    ///         let child = cx.create_actor::<Snowy>();
    ///         cx.send(&child, "hi");
    ///     }
    ///     #[handler]
    ///     fn exited(&mut self, _m: ChildActorExited) { self.exited += 1; }
    ///     #[handler]
    ///     fn bounced(&mut self, poison: PoisonMessage) {
    ///         assert!(poison.details.contains("capability `Snow` is not set"));
    ///         self.bounced += 1;
    ///     }
    ///     #[handler]
    ///     fn report(&mut self, _m: u32) -> Parent { self.clone() }
    /// }
    ///
    /// let system = ActorSystem::new()?; // no "Snow" here
    /// let parent = system.create_actor::<Parent>()?;
    /// system.tell(&parent, ())?;
    /// let report: Parent = system.ask(&parent, 0u32, Duration::from_secs(1))?;
    /// assert_eq!(report, Parent { exited: 1, bounced: 1 });
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn create_actor_with<A: ActorType>(&mut self, options: ActorOptions) -> Addr<A> {
        self.create(NewActor::of::<A>(), options)
    }

    /// Creates a child actor from an existing instance (local only: it cannot be created by name
    /// in another process).
    pub fn create_actor_from<A: Actor>(&mut self, instance: A) -> Addr<A> {
        self.create(NewActor::from_instance(instance), ActorOptions::default())
    }

    pub(crate) fn create<A: Actor>(&mut self, new: NewActor, options: ActorOptions) -> Addr<A> {
        if let Err(e) = crate::system::check_options(&options) {
            self.failure.get_or_insert(HandlerError::new(e.to_string()));
            return Addr::unchecked(ActorAddress::new(self.st.me.node(), u64::MAX, None));
        }
        let (address, is_child) = self.host.create(&self.st.me, new, options);
        if is_child {
            self.st.children.push(address.clone());
            if self.st.exiting() {
                // A parent that is exiting waits for all its children: this one must go too.
                let exit = Envelope {
                    sender: self.st.me.without_route(),
                    msg: Payload::new(crate::ActorExitRequest::default()),
                };
                self.host.send(&address, exit);
            }
        }
        Addr::unchecked(address)
    }

    /// Stops this actor after the current handler returns, as if it had been sent an
    /// [`ActorExitRequest`](crate::ActorExitRequest): its children are stopped first.
    pub fn exit(&mut self) {
        self.exit_requested = true;
    }

    /// Asks for a [`WakeupMessage`](crate::WakeupMessage) from this actor to itself, no earlier
    /// than `delay` from now, carrying `payload` (`()` for none). Several may be pending at once;
    /// each arrives exactly once; pending wakeups are discarded when the actor exits. A zero delay
    /// delivers it after the message being handled.
    ///
    /// On the `Simple` base the delay runs on the system's clock, which a test can move forward
    /// with [`ActorSystem::advance_clock`](crate::ActorSystem::advance_clock).
    pub fn wakeup_after<P: IntoMessage>(&mut self, delay: Duration, payload: P) {
        let payload = payload.into_message();
        let payload: Option<Box<dyn Message>> = if std::any::TypeId::of::<P::Msg>() == std::any::TypeId::of::<()>() {
            None
        } else {
            Some(Box::new(payload))
        };
        let pending = &mut self.st.extras_mut().pending_wakeups;
        *pending = pending.saturating_add(1);
        let wakeup = crate::WakeupMessage { delay, payload };
        let me = self.st.me.clone();
        self.host.schedule(&me, delay, Payload::new(wakeup));
    }

    /// Makes this actor the system's dead-letter handler (`true`), or stops it being one
    /// (`false`, which does nothing unless this actor is the current handler).
    ///
    /// There is one handler per system and the last registration wins. It receives every message
    /// sent to an actor that has gone as a [`DeadEnvelope`](crate::DeadEnvelope), except dead
    /// `DeadEnvelope`s and `ChildActorExited` notices. When the handler exits, dead letters are
    /// only logged and counted again.
    pub fn handle_dead_letters(&mut self, start: bool) {
        let me = self.st.me.clone();
        self.host.handle_dead_letters(&me, start);
    }

    /// The capabilities of the system this actor runs on.
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// #[derive(Default)]
    /// struct Reader;
    ///
    /// #[actor]
    /// impl Reader {
    ///     #[handler]
    ///     fn region(&mut self, _m: (), cx: &mut Context<'_>) -> String {
    ///         cx.capabilities().get("Region").and_then(|v| v.as_str()).unwrap_or("none").to_owned()
    ///     }
    /// }
    ///
    /// let system = ActorSystem::builder().capability("Region", "eu").build()?;
    /// let reader = system.create_actor::<Reader>()?;
    /// assert_eq!(system.ask::<String, _, _>(&reader, (), Duration::from_secs(1))?, "eu");
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::clone(&self.host.capabilities())
    }

    /// Sets capability `name` of this actor's system to `value`, or removes it for `None`, as
    /// [`ActorSystem::update_capability`](crate::ActorSystem::update_capability) does: every actor
    /// of the system whose type's capability check no longer passes is stopped — this one too, if
    /// its own check fails. The actors are asked to stop at once; they exit after this handler.
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// #[derive(Default)]
    /// struct Admin;
    ///
    /// #[actor]
    /// impl Admin {
    ///     #[handler]
    ///     fn set(&mut self, colour: String, cx: &mut Context<'_>) {
    ///         cx.update_capability("Colour", Some(colour.into()));
    ///     }
    /// }
    ///
    /// let system = ActorSystem::new()?;
    /// let admin = system.create_actor::<Admin>()?;
    /// system.tell(&admin, "green")?;
    /// assert_eq!(system.capabilities()?.get("Colour").and_then(|v| v.as_str()), Some("green"));
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn update_capability(&mut self, name: impl Into<String>, value: Option<Value>) {
        self.host.update_capability(name.into(), value);
    }

    /// Starts (`true`) or stops telling this actor of the other nodes joining and leaving its
    /// convention, Thespian's `notifyOnSystemRegistrationChanges`: at once an
    /// [`ActorSystemConventionUpdate`](crate::ActorSystemConventionUpdate) with `added: true` for
    /// every member known now, then one for every join (`added: true`), change of capabilities
    /// (`added: true`) and leave or loss (`added: false`). Several actors may ask. A system that
    /// is not a node of a convention has no members: nothing arrives.
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// #[derive(Default)]
    /// struct Watcher { members: usize }
    ///
    /// #[actor]
    /// impl Watcher {
    ///     #[handler]
    ///     fn start(&mut self, _m: (), cx: &mut Context<'_>) {
    ///         cx.notify_on_system_registration_changes(true);
    ///     }
    ///
    ///     #[handler]
    ///     fn update(&mut self, update: ActorSystemConventionUpdate) {
    ///         if update.added { self.members += 1 } else { self.members -= 1 }
    ///     }
    /// }
    ///
    /// let system = ActorSystem::new()?;
    /// let watcher = system.create_actor::<Watcher>()?;
    /// system.tell(&watcher, ())?;
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn notify_on_system_registration_changes(&mut self, on: bool) {
        let me = self.st.me.clone();
        self.host.watch_convention(&me, on);
    }

    /// For a troupe worker whose work takes several messages: while `true`, the troupe does not
    /// give this worker more work; set it back to `false` in the handler that finishes the work.
    pub fn troupe_work_in_progress(&mut self, in_progress: bool) {
        if let Some(extras) = &mut self.st.extras {
            extras.work_in_progress = in_progress;
        }
    }

    /// Sends `msg` and waits for the reply to this request (only this request's reply).
    ///
    /// Available in `async fn` handlers on the `Threaded` base; on `Simple`, where one actor
    /// waiting would stop every other actor, it fails with [`Error::Unsupported`].
    pub fn ask<R: Message, M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(
        &mut self,
        to: &T,
        msg: M,
        timeout: Duration,
    ) -> impl Future<Output = Result<R>> + Send + 'static {
        let me = self.st.me.clone();
        let reply = self.host.ask(&me, to.address(), Payload::new(msg.into_message()), timeout);
        async move { downcast_reply(reply.await?) }
    }

    /// Like [`ask`](Self::ask), returning the reply whatever its type.
    pub fn ask_any<M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(
        &mut self,
        to: &T,
        msg: M,
        timeout: Duration,
    ) -> impl Future<Output = Result<Box<dyn Message>>> + Send + 'static {
        let me = self.st.me.clone();
        let reply = self.host.ask(&me, to.address(), Payload::new(msg.into_message()), timeout);
        async move { reply.await.map(Payload::into_box) }
    }
}

/// Turns an untyped reply into the type a typed `ask` expects.
pub(crate) fn downcast_reply<R: Message>(reply: Payload) -> Result<R> {
    reply
        .downcast::<R>()
        .map_err(|got| Error::UnexpectedReply { expected: std::any::type_name::<R>(), got: got.into_box() })
}
