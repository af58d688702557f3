//! [`Context`]: what a handler may do besides changing its own state.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::actor::{Actor, ActorType};
use crate::address::{ActorAddress, Addr, NodeId, Recipient};
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
    pub(crate) me: &'a ActorAddress,
    pub(crate) parent: &'a ActorAddress,
    pub(crate) children: &'a mut Vec<ActorAddress>,
    pub(crate) sender: ActorAddress,
    pub(crate) exit_requested: bool,
    /// This actor is already exiting (waiting for its children).
    pub(crate) exiting: bool,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("me", self.me)
            .field("sender", &self.sender)
            .field("parent", self.parent)
            .field("children", &self.children)
            .finish()
    }
}

impl<'a> Context<'a> {
    /// This actor's own address.
    pub fn my_address(&self) -> &ActorAddress {
        self.me
    }

    /// The sender of the message being handled.
    pub fn sender(&self) -> ActorAddress {
        self.sender.clone()
    }

    /// The actor that created this one (the system itself for actors created from outside).
    pub fn parent(&self) -> &ActorAddress {
        self.parent
    }

    /// The live children of this actor.
    pub fn children(&self) -> &[ActorAddress] {
        self.children
    }

    /// The identity of the system or node this actor runs on.
    pub fn node(&self) -> NodeId {
        self.me.node()
    }

    /// Sends `msg` to `to`, with this actor as the sender.
    ///
    /// The send never blocks and never fails here: a message to an actor that has gone becomes a
    /// dead letter. Messages from one sender to one receiver arrive in the order sent.
    #[inline]
    pub fn send<M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(&mut self, to: &T, msg: M) {
        let env = Envelope { sender: self.me.without_route(), msg: Payload::new(msg.into_message()) };
        self.host.send(to.address(), env);
    }

    /// Sends an already boxed message to `to`.
    pub fn send_boxed(&mut self, to: &ActorAddress, msg: Box<dyn Message>) {
        let env = Envelope { sender: self.me.without_route(), msg: Payload::from_box(msg) };
        self.host.send(to, env);
    }

    /// Sends `msg` to the sender of the message being handled.
    #[inline]
    pub fn reply<M: IntoMessage>(&mut self, msg: M) {
        let env = Envelope { sender: self.me.without_route(), msg: Payload::new(msg.into_message()) };
        self.host.send(&self.sender, env);
    }

    /// Creates a child actor of type `A` with `A::default()` and returns its address at once.
    ///
    /// If the constructor panics, the address is still returned: messages to it become dead
    /// letters and this actor receives [`ChildActorExited`](crate::ChildActorExited).
    pub fn create_actor<A: ActorType>(&mut self) -> Addr<A> {
        self.create_actor_with::<A>(ActorOptions::default())
    }

    /// Creates a child actor of type `A` with options (such as a global name).
    ///
    /// With a global name that is already taken, the existing actor's address is returned and no
    /// new actor is created; a globally named actor belongs to the system, not to this actor.
    pub fn create_actor_with<A: ActorType>(&mut self, options: ActorOptions) -> Addr<A> {
        let (address, is_child) = self.host.create(self.me, NewActor::of::<A>(), options);
        self.adopt(address, is_child)
    }

    /// Creates a child actor from an existing instance (local only: it cannot be created by name
    /// in another process).
    pub fn create_actor_from<A: Actor>(&mut self, instance: A) -> Addr<A> {
        let (address, is_child) = self.host.create(self.me, NewActor::from_instance(instance), ActorOptions::default());
        self.adopt(address, is_child)
    }

    fn adopt<A: Actor>(&mut self, address: ActorAddress, is_child: bool) -> Addr<A> {
        if is_child {
            self.children.push(address.clone());
            if self.exiting {
                // A parent that is exiting waits for all its children: this one must go too.
                let exit =
                    Envelope { sender: self.me.without_route(), msg: Payload::new(crate::ActorExitRequest::default()) };
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
        let reply = self.host.ask(self.me, to.address(), Payload::new(msg.into_message()), timeout);
        async move { downcast_reply(reply.await?) }
    }

    /// Like [`ask`](Self::ask), returning the reply whatever its type.
    pub fn ask_any<M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(
        &mut self,
        to: &T,
        msg: M,
        timeout: Duration,
    ) -> impl Future<Output = Result<Box<dyn Message>>> + Send + 'static {
        let reply = self.host.ask(self.me, to.address(), Payload::new(msg.into_message()), timeout);
        async move { reply.await.map(Payload::into_box) }
    }
}

/// Turns an untyped reply into the type a typed `ask` expects.
pub(crate) fn downcast_reply<R: Message>(reply: Payload) -> Result<R> {
    reply
        .downcast::<R>()
        .map_err(|got| Error::UnexpectedReply { expected: std::any::type_name::<R>(), got: got.into_box() })
}
