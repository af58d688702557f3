//! [`ActorSystem`]: the external API, and the system bases behind it.
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
//!     fn hi(&mut self, _msg: String) -> String { "Hello, World!".into() }
//! }
//!
//! for base in [SystemBase::Simple, SystemBase::Threaded] {
//!     let system = ActorSystem::builder().base(base).build()?;
//!     let hello = system.create_actor::<Hello>()?;
//!     let reply: String = system.ask(&hello, "hi", Duration::from_secs(1))?;
//!     assert_eq!(reply, "Hello, World!");
//!     system.shutdown()?;
//! }
//! # Ok::<(), thespian::Error>(())
//! ```

mod placement;
mod simple;
mod threaded;

use std::fmt;
use std::future::Future;
use std::panic::catch_unwind;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::actor::{Actor, ActorType, TroupeConfig, panic_error};
use crate::address::{ActorAddress, Addr, NodeId, Recipient};
use crate::capabilities::{Capabilities, CapabilityCheck, Requirements, Value};
use crate::context::{ReplyFuture, downcast_reply};
use crate::error::{Error, Result};
use crate::message::{IntoMessage, Message};
use crate::payload::Payload;
pub(crate) use placement::{CreateFailure, Placement, aborted_poison, log_stop, stop_request};

/// Hashes actor ids: they are distinct integers already, so one multiplication spreads them.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        // The low bits (the bucket) stay the id's own, so actors created and retired in order
        // touch neighbouring buckets; the high bits (hashbrown's tag) are mixed.
        self.0 = n ^ (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) & 0xFFFF_0000_0000_0000);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by actor id.
pub(crate) type IdMap<V> = std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A message in flight: who sent it and what it is.
pub(crate) struct Envelope {
    pub sender: ActorAddress,
    pub msg: Payload,
}

/// Why a destination did not take a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// It has gone: the message is a dead letter.
    Gone,
    /// Its mailbox is at its bound and refuses more.
    Full(MailboxBound),
    /// The actor was never created (its system could not host it): the message goes back to its
    /// sender as a `PoisonMessage` saying why.
    Aborted(Arc<str>),
}

/// Somewhere a message can be put: an actor's mailbox or a reply slot.
pub(crate) trait Deliver: Send + Sync {
    /// Hands the envelope over, or gives it back with the reason it was refused.
    fn deliver(&self, env: Envelope) -> std::result::Result<(), (Envelope, Refusal)>;
    /// Hands over several envelopes in order, passing back each one it cannot take.
    fn deliver_all(&self, envs: &mut Vec<Envelope>, rejected: &mut dyn FnMut(Envelope, Refusal)) {
        for env in envs.drain(..) {
            if let Err((env, why)) = self.deliver(env) {
                rejected(env, why);
            }
        }
    }
    /// For a bounded mailbox: waits (up to `timeout`) until it has room. `false` if it has none.
    fn wait_for_room(&self, _timeout: Duration) -> bool {
        true
    }
    /// Messages waiting (for an actor's mailbox).
    fn backlog(&self) -> usize {
        0
    }
    /// A message sent from this endpoint found its target gone (used by `ask` to fail at once).
    fn target_gone(&self, _target: &ActorAddress) {}
    /// The connection this endpoint's reply was to come over is gone (an `ask` fails at once).
    fn connection_lost(&self, _peer: &str) {}
    /// A message sent from this endpoint found its target's mailbox full: an `ask` fails with
    /// `MailboxFull` (`Ok`); other endpoints give the message back.
    fn target_full(
        &self,
        _target: &ActorAddress,
        _capacity: usize,
        message: Box<dyn Message>,
    ) -> std::result::Result<(), Box<dyn Message>> {
        Err(message)
    }
    /// The system is stopping and this endpoint will never run again: drop what it holds.
    fn abandon(&self) {}
    /// The actor type behind this route, if it is an actor.
    fn actor_type(&self) -> Option<&'static str> {
        None
    }
}

/// The in-process handle an [`ActorAddress`] carries to its destination.
pub(crate) type Route = Arc<dyn Deliver>;

/// What an actor's [`Context`](crate::Context) asks of the base it runs on.
pub(crate) trait Host: Send {
    /// The system this host belongs to.
    fn node(&self) -> NodeId;
    /// Whether addresses of `node` can be sent to from here.
    fn reaches(&self, node: NodeId) -> bool {
        node == self.node()
    }
    /// Delivers `env` to `to`; a dead or unknown target makes it a dead letter, a full mailbox
    /// sends the message back to its sender as a `PoisonMessage`.
    fn send(&mut self, to: &ActorAddress, env: Envelope);
    /// The time now, as the base's clock has it (the `Simple` base's clock can be advanced).
    fn now(&self) -> std::time::Instant;
    /// Delivers `msg` to the actor `me`, from itself, after `delay`; dropped if it has exited.
    fn schedule(&mut self, me: &ActorAddress, delay: Duration, msg: Payload);
    /// Makes `me` the system's dead-letter handler (`start`), or stops it being one.
    fn handle_dead_letters(&mut self, me: &ActorAddress, start: bool);
    /// Messages waiting in `me`'s mailbox.
    fn mailbox_len(&mut self, me: &ActorAddress) -> usize;
    /// Creates an actor; returns its address and whether it is a child of `parent` (a globally
    /// named actor belongs to the system).
    fn create(&mut self, parent: &ActorAddress, new: NewActor, options: ActorOptions) -> (ActorAddress, bool);
    /// Sends `msg` from a fresh reply endpoint and returns the future of the reply.
    fn ask(&mut self, from: &ActorAddress, to: &ActorAddress, msg: Payload, timeout: Duration) -> ReplyFuture;
    /// Records a message that cannot be delivered to `target`.
    fn dead_letter(&mut self, target: &ActorAddress, env: Envelope);
    /// Records a message the actor had no handler for.
    fn unhandled(&mut self, actor: &ActorAddress, msg: &dyn Message);
    /// Starts (or stops) telling `watcher` of the convention's members joining and leaving. Only a
    /// node of a convention has members to tell of.
    fn watch_convention(&mut self, watcher: &ActorAddress, on: bool) {
        let _ = (watcher, on);
    }
    /// The system's capabilities now.
    fn capabilities(&self) -> Arc<Capabilities>;
    /// Sets (or, for `None`, removes) a capability of the system, and stops the actors it can no
    /// longer host.
    fn update_capability(&mut self, name: String, value: Option<Value>);
}

/// How to build an actor: by its `Default` constructor or from an instance.
pub(crate) struct NewActor {
    type_name: &'static str,
    make: Make,
    /// Runs in a process of its own where the base has processes.
    pub isolated: bool,
    /// What the actor type asks of the system that hosts it.
    pub check: CapabilityCheck,
}

enum Make {
    Default(fn() -> Box<dyn Actor>),
    Instance(Box<dyn Actor>),
}

fn construct<A: ActorType>() -> Box<dyn Actor> {
    Box::new(A::default())
}

impl NewActor {
    pub fn of<A: ActorType>() -> Self {
        let mut new = Self::registered(A::WIRE_NAME, construct::<A>, A::TROUPE);
        new.isolated = A::PROCESS;
        new.check = A::CAPABILITY_CHECK;
        new
    }

    /// A troupe's manager stands at the troupe's address; its workers are built with `create`.
    fn registered(type_name: &'static str, create: fn() -> Box<dyn Actor>, troupe: Option<TroupeConfig>) -> Self {
        match troupe {
            Some(config) => NewActor {
                type_name,
                make: Make::Instance(Box::new(crate::troupe::TroupeManager::new(type_name, create, config))),
                isolated: false,
                check: CapabilityCheck::NONE,
            },
            None => NewActor { type_name, make: Make::Default(create), isolated: false, check: CapabilityCheck::NONE },
        }
    }

    /// A troupe worker: the actor itself, built with its constructor. The troupe's manager was
    /// checked against the system's capabilities; its workers go where it is.
    pub fn worker(type_name: &'static str, create: fn() -> Box<dyn Actor>) -> Self {
        NewActor { type_name, make: Make::Default(create), isolated: false, check: CapabilityCheck::NONE }
    }

    pub fn from_instance<A: Actor>(instance: A) -> Self {
        let check = instance.capability_check();
        NewActor {
            type_name: std::any::type_name::<A>(),
            make: Make::Instance(Box::new(instance)),
            isolated: false,
            check,
        }
    }

    /// An actor type registered under `wire_name`, as another process would ask for it.
    pub fn by_name(wire_name: &str) -> Option<Self> {
        let registration = crate::actor::actor_registration(wire_name)?;
        let mut new = Self::registered(registration.wire_name, registration.create, registration.troupe);
        new.isolated = registration.process;
        new.check = registration.capability_check;
        Some(new)
    }

    /// Whether a system with `capabilities` can host this actor created with `requirements`.
    pub fn admits(&self, capabilities: &Capabilities, requirements: &Requirements) -> std::result::Result<(), String> {
        if self.check.is_none() {
            return Ok(());
        }
        self.check.evaluate(capabilities, requirements)
    }

    /// What a base keeps to check the actor again when its capabilities change (nothing for a
    /// type without a check).
    pub fn placement(&self, requirements: &Requirements) -> Option<Arc<Placement>> {
        (!self.check.is_none()).then(|| Arc::new(Placement::new(self.type_name, self.check, requirements.clone())))
    }

    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Whether the actor is an instance built here (it cannot be created in another process).
    pub fn is_instance(&self) -> bool {
        matches!(self.make, Make::Instance(_))
    }

    /// Runs the constructor, turning a panic into an error text.
    pub fn build(self) -> std::result::Result<Box<dyn Actor>, String> {
        match self.make {
            Make::Instance(actor) => Ok(actor),
            Make::Default(make) => catch_unwind(make).map_err(|p| panic_error(p).into_text()),
        }
    }
}

/// Options for creating an actor.
///
/// ```
/// use thespian::ActorOptions;
/// let options = ActorOptions::new().global_name("registry");
/// assert_eq!(options.global_name.as_deref(), Some("registry"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ActorOptions {
    /// A system-wide name: creating an actor with a name already in use returns the existing
    /// actor instead. The name is freed when the actor exits.
    pub global_name: Option<String>,
    /// A bound on the actor's mailbox, and what a send to a full one does.
    pub mailbox: Option<MailboxBound>,
    /// What this create asks of the system that hosts the actor, for the actor type's
    /// `capability_check` function to read (Thespian's `targetActorRequirements`). Empty by default.
    pub requirements: Requirements,
    /// Set by a troupe manager for its workers.
    pub(crate) troupe_manager: Option<ActorAddress>,
}

impl ActorOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the global name.
    pub fn global_name(mut self, name: impl Into<String>) -> Self {
        self.global_name = Some(name.into());
        self
    }

    /// Bounds the mailbox at `capacity` messages; `overflow` says what a send to a full one does.
    ///
    /// ```
    /// use thespian::{ActorOptions, Overflow};
    /// let options = ActorOptions::new().mailbox(100, Overflow::Reject);
    /// assert_eq!(options.mailbox.unwrap().capacity, 100);
    /// ```
    pub fn mailbox(mut self, capacity: usize, overflow: Overflow) -> Self {
        self.mailbox = Some(MailboxBound { capacity: capacity.max(1), overflow });
        self
    }
}

/// A bounded mailbox: see [`ActorOptions::mailbox`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxBound {
    /// The most messages waiting at once.
    pub capacity: usize,
    /// What a send to a full mailbox does.
    pub overflow: Overflow,
}

/// What a send to a full mailbox does. A message is never dropped silently.
///
/// An actor that sends to a full mailbox never waits (a waiting actor can stall the very actor it
/// waits for): under either policy its message comes back to it as a
/// [`PoisonMessage`](crate::PoisonMessage) carrying the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// `tell` from outside fails with [`Error::MailboxFull`], which gives the message back.
    Reject,
    /// `tell` from outside waits until the mailbox has room.
    Block,
}

/// Which runtime an [`ActorSystem`] runs its actors on. Actors do not change between bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SystemBase {
    /// Deterministic: every actor runs in the calling thread, one message at a time, in the order
    /// the messages were sent, while `tell`, `ask` or `listen` runs. For tests and debugging.
    #[default]
    Simple,
    /// Parallel, in-process: actors run on a pool of worker threads owned by the system (one per
    /// core unless configured), each actor one message at a time. The system also owns a tokio
    /// runtime, so `async fn` handlers may await tokio timers and I/O.
    Threaded,
    /// Across processes over TCP: actors run in a node process (Thespian's Admin) that listens on
    /// the admin port (default 1900) and outlives the process that started it; any process of the
    /// host joins it. The node is the program itself, started again with a marker: its `main`
    /// must call [`thespian::init()`](crate::init) first.
    MultiprocTcp,
}

/// The object-safe interface each base implements; the facade adds the generic, typed layer.
trait SystemImpl: Send + Sync {
    fn node(&self) -> NodeId;
    fn base(&self) -> SystemBase;
    fn create(&self, new: NewActor, options: ActorOptions) -> Result<ActorAddress>;
    fn tell(&self, to: &ActorAddress, msg: Payload, from_async: bool) -> Result<()>;
    fn ask(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> Result<Payload>;
    fn ask_async(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> ReplyFuture;
    fn listen(&self, timeout: Duration) -> Result<Payload>;
    fn listen_async(&self, timeout: Duration) -> ReplyFuture;
    fn actor_type(&self, address: &ActorAddress) -> Option<&'static str>;
    /// The live actor registered under a global name.
    fn named(&self, name: &str) -> Option<ActorAddress>;
    /// Creates an actor of the type registered under `wire_name`.
    fn create_by_name(&self, wire_name: &str, options: ActorOptions) -> Result<ActorAddress> {
        let Some(new) = NewActor::by_name(wire_name) else {
            // A name already taken gives its actor whatever type was asked for — even one this
            // program does not know, as in the original.
            if let Some(existing) = options.global_name.as_deref().and_then(|n| self.named(n)) {
                return Ok(existing);
            }
            return Err(Error::UnknownActorType { name: wire_name.to_owned(), system: self.node() });
        };
        self.create(new, options)
    }
    fn stats(&self) -> SystemStats;
    fn shutdown(&self) -> Result<()>;
    /// The system's capabilities.
    fn capabilities(&self) -> Result<Capabilities> {
        Err(Error::Unsupported("this base keeps no capabilities"))
    }
    /// Sets (or, for `None`, removes) a capability, and stops the actors the system can no longer
    /// host.
    fn update_capability(&self, name: String, value: Option<Value>) -> Result<()> {
        let _ = (name, value);
        Err(Error::Unsupported("this base keeps no capabilities"))
    }
    /// The node this process is joined to.
    fn node_status(&self) -> Result<crate::wire::NodeStatus> {
        Err(Error::Unsupported("only a MultiprocTcp system has a node"))
    }
    /// Whether addresses of another node can be used from here.
    fn reaches(&self, node: NodeId) -> bool {
        let _ = node;
        false
    }
    fn advance_clock(&self, by: Duration) -> Result<()> {
        let _ = by;
        Err(Error::Unsupported("only the Simple base has a clock that can be advanced; other bases follow real time"))
    }
}

/// Counters of a running system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SystemStats {
    /// Live actors.
    pub actors: usize,
    /// Messages that could not be delivered because their target had gone.
    pub dead_letters: u64,
    /// Messages an actor had no handler for.
    pub unhandled: u64,
}

/// A system of actors, and the way in from ordinary code.
///
/// Cheap to clone; every clone talks to the same system, from any thread. Each `ask` waits for the
/// reply to its own request only, so concurrent asks never receive each other's replies.
///
/// ```
/// use thespian::prelude::*;
///
/// #[derive(Default)]
/// struct Doubler;
///
/// #[actor]
/// impl Doubler {
///     #[handler]
///     fn double(&mut self, n: i64) -> i64 { n * 2 }
/// }
///
/// let system = ActorSystem::new()?; // the deterministic base
/// let doubler = system.create_actor::<Doubler>()?;
/// let threads: Vec<_> = (0..4i64)
///     .map(|i| {
///         let (system, doubler) = (system.clone(), doubler.clone());
///         std::thread::spawn(move || system.ask::<i64, _, _>(&doubler, i, Duration::from_secs(5)))
///     })
///     .collect();
/// for (i, t) in threads.into_iter().enumerate() {
///     assert_eq!(t.join().unwrap()?, 2 * i as i64);
/// }
/// # Ok::<(), thespian::Error>(())
/// ```
#[derive(Clone)]
pub struct ActorSystem {
    inner: Arc<dyn SystemImpl>,
}

impl fmt::Debug for ActorSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorSystem").field("node", &self.inner.node()).field("base", &self.inner.base()).finish()
    }
}

/// Configures and starts an [`ActorSystem`].
#[derive(Debug, Clone, Default)]
pub struct ActorSystemBuilder {
    base: SystemBase,
    worker_threads: Option<usize>,
    shutdown_timeout: Option<Duration>,
    capabilities: Capabilities,
    pub(crate) tcp: threaded::tcp::TcpSettings,
}

impl ActorSystemBuilder {
    /// Chooses the base (default [`SystemBase::Simple`]).
    pub fn base(mut self, base: SystemBase) -> Self {
        self.base = base;
        self
    }

    /// Number of worker threads of the `Threaded` base (default: one per core).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n.max(1));
        self
    }

    /// How long `shutdown` waits for actors to finish exiting (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// The node's admin port for [`SystemBase::MultiprocTcp`] (default: the `THESPIAN_ADMIN_PORT`
    /// environment variable, or 1900).
    pub fn admin_port(mut self, port: u16) -> Self {
        self.tcp.admin_port = port;
        self
    }

    /// The address of the node's host, for `MultiprocTcp` (default `THESPIAN_ADMIN_HOST`, else
    /// `127.0.0.1`). A process joins the node at this address and port; a node it starts listens
    /// there and is named by it, so processes of other hosts can reach it there.
    ///
    /// ```
    /// use thespian::prelude::*;
    /// let builder = ActorSystem::builder().base(SystemBase::MultiprocTcp).admin_host([10, 0, 0, 7]).admin_port(1900);
    /// # let _ = builder;
    /// ```
    pub fn admin_host(mut self, host: impl Into<std::net::IpAddr>) -> Self {
        self.tcp.admin_host = host.into();
        self
    }

    /// The shared secret every process of a [`SystemBase::MultiprocTcp`] system proves it knows
    /// (default: the `THESPIAN_COOKIE` environment variable, or a fixed development cookie).
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.tcp.cookie = Some(cookie.into());
        self
    }

    /// The program to start as the node when none answers on the admin port (default: this
    /// program). It must call [`thespian::init()`](crate::init) first thing in `main`.
    pub fn node_program(mut self, program: impl Into<std::path::PathBuf>) -> Self {
        self.tcp.node_program = Some(program.into());
        self
    }

    /// Arguments for the node program when this process starts it (default none): for a program
    /// that reaches `thespian::init()` only with them, such as a test program run with a filter.
    pub fn node_args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.tcp.node_args = args.into_iter().map(Into::into).collect();
        self
    }

    /// The largest frame (one message) accepted over the wire (default 64 MiB).
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.tcp.max_frame = Some(bytes);
        self
    }

    /// How many bytes may wait to be written to one connection before messages to it are
    /// refused (they come back to their sender as `PoisonMessage`); default 128 MiB. A process at
    /// the other end that stops reading cannot make the sender grow without bound.
    pub fn send_queue_limit(mut self, bytes: usize) -> Self {
        self.tcp.send_queue_limit = Some(bytes);
        self
    }

    /// How long a node waits for an isolated actor's process to start and connect (default 30 s);
    /// one that does not is killed, and its parent gets `ChildActorExited`.
    pub fn isolated_start_timeout(mut self, timeout: Duration) -> Self {
        self.tcp.isolated_start_timeout = Some(timeout);
        self
    }

    /// The leaders of the convention a `MultiprocTcp` node started by this process joins, in
    /// order: `host:port` each, where `host` may be a DNS name standing for several nodes (a
    /// Kubernetes headless service, say). The first that is alive leads; the others take over in
    /// turn when it is lost, and hand back when it returns. A node whose own address is in the
    /// list leads when no leader before it is alive. Empty (the default): no convention.
    ///
    /// ```
    /// use thespian::prelude::*;
    /// let server = ActorSystem::builder()
    ///     .base(SystemBase::MultiprocTcp)
    ///     .admin_port(1900)
    ///     .capability("Server", true)
    ///     .convention_leaders(["127.0.0.1:1900"]);
    /// # let _ = server;
    /// ```
    pub fn convention_leaders<S: Into<String>>(mut self, leaders: impl IntoIterator<Item = S>) -> Self {
        self.tcp.convention.leaders = leaders.into_iter().map(Into::into).collect();
        self
    }

    /// How often the nodes of a convention say they are alive, and how many heartbeats a node may
    /// miss before it is lost (default every second, 3: a lost node is noticed within about 4 s;
    /// a node that is killed is noticed at once, as its connections close).
    pub fn heartbeat(mut self, interval: Duration, misses: u32) -> Self {
        self.tcp.convention.heartbeat = interval;
        self.tcp.convention.misses = misses.max(1);
        self
    }

    /// Starts the system. Fails if two message or actor types share a wire name.
    pub fn build(self) -> Result<ActorSystem> {
        crate::message::check_registry()?;
        let node = next_local_node();
        let shutdown_timeout = self.shutdown_timeout.unwrap_or(Duration::from_secs(10));
        let capabilities = Arc::new(self.capabilities.clone());
        let inner: Arc<dyn SystemImpl> = match self.base {
            SystemBase::Simple => Arc::new(simple::SimpleSystem::new(node, capabilities)?),
            SystemBase::Threaded => Arc::new(
                threaded::ThreadedSystem::new(node, self.worker_threads, shutdown_timeout)?
                    .with_capabilities(capabilities),
            ),
            SystemBase::MultiprocTcp => {
                let mut settings = self.tcp.clone();
                settings.capabilities = self.capabilities.clone();
                settings.take_leaders_from_capabilities();
                Arc::new(threaded::tcp::TcpClient::connect(settings, shutdown_timeout)?)
            }
        };
        Ok(ActorSystem { inner })
    }
}

/// A process-unique identity for an in-process system.
fn next_local_node() -> NodeId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NodeId::intern(&format!("local:{}:{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)))
}

impl ActorSystem {
    /// Starts a system on the deterministic [`SystemBase::Simple`] base.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// Starts a system on the given base with default settings.
    pub fn with_base(base: SystemBase) -> Result<Self> {
        Self::builder().base(base).build()
    }

    /// Configures a system.
    pub fn builder() -> ActorSystemBuilder {
        ActorSystemBuilder::default()
    }

    /// This system's identity, as shown in its addresses.
    pub fn node(&self) -> NodeId {
        self.inner.node()
    }

    /// The base this system runs on.
    pub fn base(&self) -> SystemBase {
        self.inner.base()
    }

    /// Creates a top-level actor of type `A` with `A::default()`.
    /// A constructor panic is an error and no actor is created; so is an actor type this system
    /// cannot host ([`Error::NoCompatibleSystem`]; see [`capabilities`](crate::capabilities)).
    pub fn create_actor<A: ActorType>(&self) -> Result<Addr<A>> {
        self.create_actor_with::<A>(ActorOptions::default())
    }

    /// Creates a top-level actor with options. With a global name that is taken, returns the
    /// existing actor (neither its type nor its capability check is checked, as in the original).
    ///
    /// An actor type whose capability check this system does not pass (with the options'
    /// requirements) is not created: [`Error::NoCompatibleSystem`] says why.
    pub fn create_actor_with<A: ActorType>(&self, options: ActorOptions) -> Result<Addr<A>> {
        check_options(&options)?;
        self.inner.create(NewActor::of::<A>(), options).map(Addr::unchecked)
    }

    /// Creates a top-level actor from an instance (local only).
    pub fn create_actor_from<A: Actor>(&self, instance: A) -> Result<Addr<A>> {
        self.inner.create(NewActor::from_instance(instance), ActorOptions::default()).map(Addr::unchecked)
    }

    /// Creates a top-level actor of the type registered under `wire_name` (how another process
    /// asks for an actor it has no type for).
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// #[derive(Default)]
    /// struct Greeter;
    ///
    /// #[actor(name = "docs.Greeter")]
    /// impl Greeter {
    ///     #[handler]
    ///     fn greet(&mut self, name: String) -> String { format!("hello, {name}") }
    /// }
    ///
    /// let system = ActorSystem::new()?;
    /// let greeter = system.create_actor_by_name("docs.Greeter", ActorOptions::new())?;
    /// let reply: String = system.ask(&greeter, "ann", Duration::from_secs(1))?;
    /// assert_eq!(reply, "hello, ann");
    /// assert!(matches!(system.create_actor_by_name("no.Such", ActorOptions::new()), Err(Error::UnknownActorType { .. })));
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn create_actor_by_name(&self, wire_name: &str, options: ActorOptions) -> Result<ActorAddress> {
        check_options(&options)?;
        self.inner.create_by_name(wire_name, options)
    }

    /// Checks that `address` is a live local actor of type `A` and returns its typed address.
    pub fn typed_address<A: ActorType>(&self, address: &ActorAddress) -> Result<Addr<A>> {
        self.check_node(address)?;
        match self.inner.actor_type(address) {
            Some(t) if t == A::WIRE_NAME => Ok(Addr::unchecked(address.clone())),
            found => Err(Error::WrongActorType {
                address: address.clone(),
                expected: A::WIRE_NAME,
                found: found.map_or_else(|| "no live actor".to_owned(), |t| format!("an actor of type `{t}`")),
            }),
        }
    }

    fn check_node(&self, address: &ActorAddress) -> Result<()> {
        if address.node() == self.node() || self.inner.reaches(address.node()) {
            Ok(())
        } else {
            Err(Error::ForeignAddress { address: address.clone(), system: self.node() })
        }
    }

    /// Sends a message; returns once it is queued (on `Simple`: once the system is quiet again).
    /// A message to an exited actor becomes a dead letter.
    pub fn tell<M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(&self, to: &T, msg: M) -> Result<()> {
        self.check_node(to.address())?;
        self.inner.tell(to.address(), Payload::new(msg.into_message()), false)
    }

    /// Async form of [`tell`](Self::tell).
    pub async fn tell_async<M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(&self, to: &T, msg: M) -> Result<()> {
        self.check_node(to.address())?;
        self.inner.tell(to.address(), Payload::new(msg.into_message()), true)
    }

    /// Sends a message and waits for the reply to it, of type `R`.
    ///
    /// Errors: [`Error::Timeout`] (a zero timeout fails at once without sending),
    /// [`Error::DeadTarget`] as soon as the target is known to be gone, [`Error::Poison`] when the
    /// handler failed, [`Error::UnexpectedReply`] when the reply has another type.
    pub fn ask<R: Message, M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(
        &self,
        to: &T,
        msg: M,
        timeout: Duration,
    ) -> Result<R> {
        downcast_reply(self.ask_payload(to.address(), Payload::new(msg.into_message()), timeout)?)
    }

    fn ask_payload(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> Result<Payload> {
        self.check_node(to)?;
        if timeout.is_zero() {
            return Err(Error::Timeout(timeout));
        }
        self.inner.ask(to, msg, timeout)
    }

    /// Like [`ask`](Self::ask), returning the reply whatever its type.
    pub fn ask_any<M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(
        &self,
        to: &T,
        msg: M,
        timeout: Duration,
    ) -> Result<Box<dyn Message>> {
        self.ask_payload(to.address(), Payload::new(msg.into_message()), timeout).map(Payload::into_box)
    }

    /// Async form of [`ask`](Self::ask).
    pub fn ask_async<R: Message, M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(
        &self,
        to: &T,
        msg: M,
        timeout: Duration,
    ) -> impl Future<Output = Result<R>> + Send + 'static {
        let reply = self.ask_payload_async(to.address(), Payload::new(msg.into_message()), timeout);
        async move { downcast_reply(reply.await?) }
    }

    /// Async form of [`ask_any`](Self::ask_any).
    pub fn ask_any_async<M: IntoMessage, T: Recipient<M::Msg> + ?Sized>(
        &self,
        to: &T,
        msg: M,
        timeout: Duration,
    ) -> impl Future<Output = Result<Box<dyn Message>>> + Send + 'static {
        let reply = self.ask_payload_async(to.address(), Payload::new(msg.into_message()), timeout);
        async move { reply.await.map(Payload::into_box) }
    }

    fn ask_payload_async(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> ReplyFuture {
        if let Err(e) = self.check_node(to) {
            return Box::pin(std::future::ready(Err(e)));
        }
        if timeout.is_zero() {
            return Box::pin(std::future::ready(Err(Error::Timeout(timeout))));
        }
        self.inner.ask_async(to, msg, timeout)
    }

    /// Waits for the next message sent to this system's external endpoint (the sender of every
    /// `tell` made through this system).
    pub fn listen(&self, timeout: Duration) -> Result<Box<dyn Message>> {
        self.inner.listen(timeout).map(Payload::into_box)
    }

    /// Async form of [`listen`](Self::listen).
    pub fn listen_async(&self, timeout: Duration) -> impl Future<Output = Result<Box<dyn Message>>> + Send + 'static {
        let reply = self.inner.listen_async(timeout);
        async move { reply.await.map(Payload::into_box) }
    }

    /// Asks an actor for its [`ActorStatus`](crate::messages::ActorStatus): children, mailbox
    /// length, messages handled, pending wakeups, global name. The framework answers for the actor.
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// #[derive(Default)]
    /// struct Idle;
    ///
    /// #[actor]
    /// impl Idle {
    ///     #[handler]
    ///     fn any(&mut self, _m: String) {}
    /// }
    ///
    /// let system = ActorSystem::new()?;
    /// let idle = system.create_actor::<Idle>()?;
    /// system.tell(&idle, "one")?;
    /// let status = system.status(&idle, Duration::from_secs(1))?;
    /// assert_eq!(status.processed, 1);
    /// assert!(status.children.is_empty());
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn status<T: Recipient<crate::messages::ActorStatusRequest> + ?Sized>(
        &self,
        actor: &T,
        timeout: Duration,
    ) -> Result<crate::messages::ActorStatus> {
        self.ask(actor.address(), crate::messages::ActorStatusRequest, timeout)
    }

    /// The node of a [`SystemBase::MultiprocTcp`] system: its identity, program, build, process id
    /// and counters. Other bases have no node: [`Error::Unsupported`].
    pub fn node_status(&self) -> Result<crate::wire::NodeStatus> {
        self.inner.node_status()
    }

    /// Moves the `Simple` base's clock forward by `by` and delivers the wakeups that became due, so
    /// that a test of timed behaviour is exact and instant. The clock also follows real time.
    /// Other bases follow real time only: [`Error::Unsupported`].
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// #[derive(Default)]
    /// struct Sleeper { woken: u32 }
    ///
    /// #[actor]
    /// impl Sleeper {
    ///     #[handler]
    ///     fn nap(&mut self, _m: String, cx: &mut Context<'_>) { cx.wakeup_after(Duration::from_secs(3600), ()); }
    ///     #[handler]
    ///     fn woke(&mut self, _m: WakeupMessage) { self.woken += 1; }
    ///     #[handler]
    ///     fn count(&mut self, _m: u32) -> u32 { self.woken }
    /// }
    ///
    /// let system = ActorSystem::new()?;
    /// let sleeper = system.create_actor::<Sleeper>()?;
    /// system.tell(&sleeper, "nap")?;
    /// assert_eq!(system.ask::<u32, _, _>(&sleeper, 0u32, Duration::from_secs(1))?, 0);
    /// system.advance_clock(Duration::from_secs(3600))?;
    /// assert_eq!(system.ask::<u32, _, _>(&sleeper, 0u32, Duration::from_secs(1))?, 1);
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn advance_clock(&self, by: Duration) -> Result<()> {
        self.inner.advance_clock(by)
    }

    /// Counters: live actors, dead letters, unhandled messages.
    pub fn stats(&self) -> SystemStats {
        self.inner.stats()
    }

    /// Stops every actor, children before parents (each gets `ActorExitRequest`), and returns
    /// when they are gone. Calling it again does nothing.
    pub fn shutdown(&self) -> Result<()> {
        self.inner.shutdown()
    }

    /// Async form of [`shutdown`](Self::shutdown).
    pub async fn shutdown_async(&self) -> Result<()> {
        let inner = self.inner.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(_) => tokio::task::spawn_blocking(move || inner.shutdown())
                .await
                .unwrap_or_else(|e| Err(Error::Io(std::io::Error::other(e)))),
            Err(_) => inner.shutdown(),
        }
    }
}

/// If this process was started as a node, runs it and exits.
pub(crate) fn run_node_if_asked() {
    threaded::tcp::run_node_if_asked();
}

/// Refuses options no base can honour.
pub(crate) fn check_options(options: &ActorOptions) -> Result<()> {
    if options.global_name.as_deref() == Some("") { Err(Error::InvalidGlobalName) } else { Ok(()) }
}

/// The reserved ids of every base: the system itself (parent of top-level actors), its external
/// endpoint (sender of `tell`, source of `listen`); actors and asks count up from the third.
pub(crate) const SYSTEM_ID: u64 = 0;
pub(crate) const EXTERNAL_ID: u64 = 1;
pub(crate) const FIRST_ACTOR_ID: u64 = 2;

/// Logs and counts a message an actor had no handler for.
pub(crate) fn record_unhandled(counter: &AtomicU64, actor: &ActorAddress, msg: &dyn Message) {
    counter.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(%actor, message = msg.wire_name(), "no handler for message");
}

/// Logs and counts a dead letter, and fails an `ask` waiting behind it.
pub(crate) fn record_dead_letter(counter: &AtomicU64, target: &ActorAddress, env: &Envelope) {
    counter.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(target_actor = %target, sender = %env.sender, message = env.msg.as_message().wire_name(), "dead letter");
    if let Some(route) = &env.sender.route {
        route.target_gone(target);
    }
}

/// `now + timeout`, or about a century from now for a timeout too long to add (`Duration::MAX`).
pub(crate) fn deadline_after<I>(now: I, timeout: Duration) -> I
where
    I: Copy + std::ops::Add<Duration, Output = I> + CheckedAdd,
{
    now.checked_add_duration(timeout).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// `checked_add` for the two kinds of instant the bases use.
pub(crate) trait CheckedAdd: Sized {
    fn checked_add_duration(self, d: Duration) -> Option<Self>;
}

impl CheckedAdd for std::time::Instant {
    fn checked_add_duration(self, d: Duration) -> Option<Self> {
        self.checked_add(d)
    }
}

impl CheckedAdd for tokio::time::Instant {
    fn checked_add_duration(self, d: Duration) -> Option<Self> {
        self.checked_add(d)
    }
}

/// Guards the blocking API against being called on an async worker thread.
pub(crate) fn ensure_blocking_allowed(what: &'static str) -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() { Err(Error::BlockingInAsync(what)) } else { Ok(()) }
}

/// A poison reply turned into the error `ask` returns.
pub(crate) fn reply_result(msg: Payload) -> Result<Payload> {
    match msg.downcast::<crate::messages::PoisonMessage>() {
        Ok(poison) => {
            Err(Error::Poison { message_type: poison.message_type, details: poison.details, message: poison.message })
        }
        Err(msg) => Ok(msg),
    }
}
