//! The `MultiprocTcp` base: a node process that hosts the actors, and the processes that join it.
//!
//! A node is the program itself started again with a marker in its environment; `thespian::init()`
//! at the top of `main` turns that process into the node (detached into its own session, so it
//! outlives the process that started it). The node runs a `Threaded` system whose identity is its
//! admin address, and listens there. Any process joins it with
//! `ActorSystem::builder().base(SystemBase::MultiprocTcp)`: it probes the admin port, starts the
//! node if nobody answers, and then holds one connection to it. That process runs a small local
//! system of its own for its reply slots and external endpoint; every address of another process
//! is reached over the connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::{Core, Remote, ThreadedSystem};
use crate::address::{ActorAddress, NodeId};
use crate::context::ReplyFuture;
use crate::error::{Error, Result};
use crate::messages::PoisonMessage;
use crate::payload::Payload;
use crate::system::{ActorOptions, Envelope, NewActor, SystemBase, SystemImpl, SystemStats};
mod client;
mod convention;
mod gather;
mod isolated;
mod node;
mod outbox;
mod router;

pub(crate) use client::TcpClient;
pub(crate) use convention::ConventionSettings;
use isolated::{IsolatedRole, run_isolated};
use node::run_node;
use outbox::{ENVELOPE_MARK, EnvelopeIn, NodeTable, Outbox, Refused};
use router::{Isolation, Router};

use crate::wire::{
    self, Connection, DEFAULT_MAX_FRAME, Frame, HANDSHAKE_TIMEOUT, Identity, NodeStatus, Reply, Request, WireAddress,
    WireError,
};

/// The environment variables a node is started with.
const ROLE_VAR: &str = "THESPIAN_ROLE";
/// The pid of the process that started this one for its role: a program that merely inherited
/// the environment (started by an actor, say) has another parent and does not take up the role.
const ROLE_PARENT_VAR: &str = "THESPIAN_ROLE_PARENT";
const PORT_VAR: &str = "THESPIAN_ADMIN_PORT";
const HOST_VAR: &str = "THESPIAN_ADMIN_HOST";
const COOKIE_VAR: &str = "THESPIAN_COOKIE";
const MAX_FRAME_VAR: &str = "THESPIAN_MAX_FRAME";
const SEND_QUEUE_VAR: &str = "THESPIAN_SEND_QUEUE_LIMIT";
const ISOLATED_START_VAR: &str = "THESPIAN_ISOLATED_START_MS";
const LOG_VAR: &str = "THESPIAN_NODE_LOG";
const ACTOR_TYPE_VAR: &str = "THESPIAN_ACTOR_TYPE";
const ACTOR_NODE_VAR: &str = "THESPIAN_ACTOR_NODE";
const ACTOR_PARENT_VAR: &str = "THESPIAN_ACTOR_PARENT";

/// The cookie used when none is configured: fine on a developer's machine, never on a network.
const DEVELOPMENT_COOKIE: &str = "thespian-development-cookie";

/// How long a node waits, by default, for an isolated actor's process to connect.
const ISOLATED_START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a starting process waits for the node it started.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(15);

/// Settings of the `MultiprocTcp` base.
#[derive(Debug, Clone)]
pub(crate) struct TcpSettings {
    pub admin_port: u16,
    pub admin_host: std::net::IpAddr,
    pub cookie: Option<String>,
    pub node_program: Option<PathBuf>,
    pub node_args: Vec<String>,
    pub max_frame: Option<usize>,
    pub send_queue_limit: Option<usize>,
    pub isolated_start_timeout: Option<Duration>,
    /// The capabilities of a node this process starts.
    pub capabilities: crate::capabilities::Capabilities,
    pub convention: ConventionSettings,
}

impl Default for TcpSettings {
    /// The admin port is `THESPIAN_ADMIN_PORT` if set, else 1900; the host `THESPIAN_ADMIN_HOST`
    /// if set, else `127.0.0.1`.
    fn default() -> Self {
        let admin_port = std::env::var(PORT_VAR).ok().and_then(|p| p.parse().ok()).unwrap_or(1900);
        let admin_host = std::env::var(HOST_VAR)
            .ok()
            .and_then(|h| h.parse().ok())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        TcpSettings {
            admin_port,
            admin_host,
            cookie: None,
            node_program: None,
            node_args: Vec::new(),
            max_frame: None,
            send_queue_limit: None,
            isolated_start_timeout: None,
            capabilities: Default::default(),
            convention: ConventionSettings::default(),
        }
    }
}

impl TcpSettings {
    /// The settings a node or an isolated actor's process was started with.
    fn from_env() -> Self {
        TcpSettings {
            cookie: std::env::var(COOKIE_VAR).ok(),
            max_frame: std::env::var(MAX_FRAME_VAR).ok().and_then(|m| m.parse().ok()),
            send_queue_limit: std::env::var(SEND_QUEUE_VAR).ok().and_then(|m| m.parse().ok()),
            isolated_start_timeout: std::env::var(ISOLATED_START_VAR)
                .ok()
                .and_then(|m| m.parse().ok())
                .map(Duration::from_millis),
            capabilities: convention::capabilities_from_env(),
            convention: ConventionSettings::from_env(),
            ..TcpSettings::default()
        }
    }

    fn cookie(&self) -> String {
        self.cookie.clone().or_else(|| std::env::var(COOKIE_VAR).ok()).unwrap_or_else(|| DEVELOPMENT_COOKIE.to_owned())
    }

    fn max_frame(&self) -> usize {
        self.max_frame.unwrap_or(DEFAULT_MAX_FRAME)
    }

    /// Leaders named the original's way, by the capability `Convention Address.IPv4`, when none
    /// are given otherwise.
    pub(crate) fn take_leaders_from_capabilities(&mut self) {
        if self.convention.leaders.is_empty()
            && let Some(value) = self.capabilities.get(convention::CONVENTION_ADDRESS_CAPABILITY)
        {
            self.convention.leaders = convention::leaders_from_capability(value, self.admin_port);
        }
    }

    fn send_queue_limit(&self) -> usize {
        self.send_queue_limit.unwrap_or(outbox::DEFAULT_SEND_QUEUE_LIMIT)
    }

    fn isolated_start_timeout(&self) -> Duration {
        self.isolated_start_timeout.unwrap_or(ISOLATED_START_TIMEOUT)
    }

    /// The settings a node passes on to the processes it starts.
    fn pass_on(&self, command: &mut std::process::Command) {
        command
            .env(PORT_VAR, self.admin_port.to_string())
            .env(HOST_VAR, self.admin_host.to_string())
            .env(COOKIE_VAR, self.cookie())
            .env(MAX_FRAME_VAR, self.max_frame().to_string())
            .env(SEND_QUEUE_VAR, self.send_queue_limit().to_string())
            .env(ISOLATED_START_VAR, self.isolated_start_timeout().as_millis().to_string());
        self.convention.pass_on(command);
        convention::pass_on_capabilities(&self.capabilities, command);
    }

    fn admin_address(&self) -> SocketAddr {
        SocketAddr::new(self.admin_host, self.admin_port)
    }
}

/// Why a node refused a request, as it travels back.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Failure {
    UnknownActorType(String),
    NoCompatibleSystem { actor_type: String, system: String, reason: String },
    ConstructorPanicked { actor: String, details: String },
    InvalidGlobalName,
    ShuttingDown,
    Other(String),
}

/// Requests waiting for the node's answer, by request id.
type Pending = Arc<Mutex<Option<HashMap<u64, std::sync::mpsc::Sender<std::result::Result<Reply, String>>>>>>;

/// The sending half of a connection (or of an isolated actor's process that is starting).
type Peer = Arc<Outbox>;

/// The reading half of a connection, after the handshake.
type Reader = tokio_util::codec::Framed<tokio::net::tcp::OwnedReadHalf, tokio_util::codec::LengthDelimitedCodec>;

/// A connection whose handshake is done, put to work: its reading half is returned, and a writer
/// task sends what is queued in `outbox` until `stop` fires or the connection fails.
fn open(
    conn: Connection,
    max_frame: usize,
    outbox: Peer,
    core: std::sync::Weak<Core>,
    runtime: &tokio::runtime::Handle,
) -> (Reader, tokio::task::JoinHandle<()>, oneshot::Sender<()>) {
    let parts = conn.into_parts();
    let (read, write) = parts.io.into_split();
    let codec = tokio_util::codec::LengthDelimitedCodec::builder().max_frame_length(max_frame).new_codec();
    // Whatever the peer sent right after its handshake is already here, and is read first.
    let mut reading = tokio_util::codec::FramedParts::new::<bytes::Bytes>(read, codec);
    reading.read_buf = parts.read_buf;
    let reader = tokio_util::codec::Framed::from_parts(reading);
    let (stop_writer, stop) = oneshot::channel();
    let writer = runtime.spawn(outbox::write_outbox(outbox, write, stop, core));
    (reader, writer, stop_writer)
}

/// An envelope that never left: a dead letter (its sender is told, if it is an `ask`), never a
/// silent loss.
fn undelivered(core: &Core, env: EnvelopeIn) {
    let msg = match crate::message::from_bytes(env.body()) {
        Ok(msg) => Payload::from_box(msg),
        Err(_) => Payload::new(env.wire_name().to_owned()),
    };
    core.dead_letter(&env.target, Envelope { sender: env.sender, msg });
}

/// The request to start an actor's process named `node` never left: its parent is told it has
/// exited (once: a convention that placed it forgets it).
fn spawn_failed(core: &Core, node: &str, parent: &ActorAddress) {
    let child = ActorAddress::new(NodeId::intern(node), crate::system::FIRST_ACTOR_ID, None);
    if core.remote.get().is_none_or(|remote| remote.exited_elsewhere(&child)) {
        core.tell_exited(parent, child);
    }
}

/// A message that cannot travel goes back to its sender as a `PoisonMessage`, never silently.
fn bounce(core: &Core, to: &ActorAddress, env: Envelope, details: String) {
    tracing::warn!(target_actor = %to, %details, "message cannot be sent");
    if env.msg.is::<PoisonMessage>() {
        return core.dead_letter(to, env);
    }
    let message_type = env.msg.wire_name().to_owned();
    let poison = PoisonMessage { message: Some(env.msg.into_box()), message_type, details };
    core.send(&env.sender, Envelope { sender: to.without_route(), msg: Payload::new(poison) });
}

/// An envelope that arrived: decoded by this program's registry and delivered, or returned to its
/// sender as a `PoisonMessage` naming the type this program cannot read.
fn deliver_incoming(core: &Core, inbox: &mut Inbox, env: EnvelopeIn) {
    match crate::message::from_bytes(env.body()) {
        Ok(msg) => {
            if let Some(exited) = msg.downcast_ref::<crate::messages::ChildActorExited>()
                && let Some(remote) = core.remote.get()
                && !remote.exited_elsewhere(&exited.child)
            {
                // Its parent was told when the member hosting it was lost: not twice.
                return;
            }
            inbox.push(core, env.target, Envelope { sender: env.sender, msg: Payload::from_box(msg) })
        }
        Err(e) => {
            let wire_name = env.wire_name().to_owned();
            let details = format!("{} cannot read a `{wire_name}`: {e}", core.node);
            tracing::warn!(sender = %env.sender, target = %env.target, %details, "undecodable message");
            if wire_name == "thespian::PoisonMessage" {
                return;
            }
            let poison = PoisonMessage { message: None, message_type: wire_name, details };
            core.send(&env.sender, Envelope { sender: env.target, msg: Payload::new(poison) });
        }
    }
}

/// Envelopes that arrived together for one actor, handed over in one go: the actor's mailbox is
/// locked (and the actor woken) once per burst, not once per message. Order is kept: a burst is
/// handed over before anything for another target, and before the reader waits for more.
#[derive(Default)]
struct Inbox {
    target: Option<ActorAddress>,
    envs: Vec<Envelope>,
}

impl Inbox {
    fn push(&mut self, core: &Core, target: ActorAddress, env: Envelope) {
        if self.target.as_ref() != Some(&target) {
            self.flush(core);
            self.target = Some(target);
        }
        self.envs.push(env);
        if self.envs.len() >= 256 {
            self.flush(core);
        }
    }

    fn flush(&mut self, core: &Core) {
        let Some(target) = self.target.take() else { return };
        if target.node() != core.node {
            for env in self.envs.drain(..) {
                core.send(&target, env);
            }
            return;
        }
        match core.resolve(&target) {
            Some(route) => route.deliver_all(&mut self.envs, &mut |env, why| core.refused(&target, env, why)),
            None => {
                for env in self.envs.drain(..) {
                    core.dead_letter(&target, env);
                }
            }
        }
    }
}

/// What the node's processes log: `RUST_LOG`, or `info`.
fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// What arrives on a connection.
enum Incoming {
    Envelope(EnvelopeIn),
    Frame(Frame),
}

/// The next frame, decoded: at once if one is already there; otherwise what has arrived is handed
/// over first, then the reader waits. Envelopes stay in `inbox`; anything else hands it over
/// first, so order is kept. `None` when the connection ends, or brings a bad frame (logged; the
/// connection is then dropped).
async fn next_frame(
    stream: &mut Reader,
    table: &mut NodeTable<'static>,
    core: &Core,
    inbox: &mut Inbox,
    peer: &str,
) -> Option<Incoming> {
    use futures_util::FutureExt;
    let item = match stream.next().now_or_never() {
        Some(item) => item,
        None => {
            inbox.flush(core);
            stream.next().await
        }
    };
    let bytes = match item? {
        Ok(bytes) => bytes.freeze(),
        Err(e) => {
            tracing::warn!(%peer, error = %e, "dropping a connection after a bad frame");
            return None;
        }
    };
    let decoded = if bytes.first() == Some(&ENVELOPE_MARK) {
        table.decode(bytes).map(Incoming::Envelope)
    } else {
        wire::decode(&bytes).map(Incoming::Frame)
    };
    match decoded {
        Ok(incoming) => {
            if matches!(incoming, Incoming::Frame(_)) {
                inbox.flush(core);
            }
            Some(incoming)
        }
        Err(e) => {
            tracing::warn!(%peer, error = %e, "dropping a connection after a bad frame");
            None
        }
    }
}

/// A message sent from `to` found `target` gone: tell the endpoint here (an `ask` fails at once),
/// or pass the news on towards the process `to` belongs to.
fn target_gone(core: &Core, to: &WireAddress, target: &WireAddress) {
    let (to, target) = (to.to_address(), target.to_address());
    if to.node() == core.node {
        if let Some(route) = core.resolve(&to) {
            route.target_gone(&target);
        }
    } else if let Some(remote) = core.remote.get() {
        remote.target_gone(&to, &target);
    }
}

fn encode_failure(failure: &Failure) -> String {
    rmp_serde::to_vec_named(failure).map(|b| b.iter().map(|x| format!("{x:02x}")).collect()).unwrap_or_default()
}

fn decode_failure(text: &str) -> Failure {
    let bytes: Option<Vec<u8>> =
        (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    bytes.and_then(|b| rmp_serde::from_slice(&b).ok()).unwrap_or_else(|| Failure::Other(text.to_owned()))
}

/// If this process was started as a node, runs the node and exits; otherwise returns at once.
pub(crate) fn run_node_if_asked() {
    let parent = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    let meant_for_me = std::env::var(ROLE_PARENT_VAR).ok().and_then(|p| p.parse::<i32>().ok()) == Some(parent);
    if !meant_for_me {
        return;
    }
    match std::env::var(ROLE_VAR).as_deref() {
        Ok("node") => {}
        Ok("actor") => {
            let code = match run_isolated() {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("thespian isolated actor: {e}");
                    1
                }
            };
            std::process::exit(code);
        }
        _ => return,
    }
    // Its own session: the node outlives the process (and terminal) that started it.
    let _ = rustix::process::setsid();
    // Its log: everything the runtime and the actors record, filtered by `RUST_LOG` (default
    // `info`), to its standard error, which the starting process pointed at the log file —
    // and, while it is a member of a convention, its warnings and errors to its leader's log too.
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let _ = tracing_subscriber::registry()
            .with(log_filter())
            .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(std::io::stderr))
            .with(gather::Gather)
            .try_init();
    }
    let code = match run_node() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("thespian node: {e}");
            1
        }
    };
    std::process::exit(code);
}
