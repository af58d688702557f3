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

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::{Core, Remote, ThreadedSystem};
use crate::address::{ActorAddress, NodeId};
use crate::context::ReplyFuture;
use crate::error::{Error, Result};
use crate::messages::PoisonMessage;
use crate::payload::Payload;
use crate::system::{ActorOptions, ActorSystemBuilder, Envelope, NewActor, SystemBase, SystemImpl, SystemStats};
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
const COOKIE_VAR: &str = "THESPIAN_COOKIE";
const MAX_FRAME_VAR: &str = "THESPIAN_MAX_FRAME";
const LOG_VAR: &str = "THESPIAN_NODE_LOG";
const ACTOR_TYPE_VAR: &str = "THESPIAN_ACTOR_TYPE";
const ACTOR_NODE_VAR: &str = "THESPIAN_ACTOR_NODE";
const ACTOR_PARENT_VAR: &str = "THESPIAN_ACTOR_PARENT";

/// The cookie used when none is configured: fine on a developer's machine, never on a network.
const DEVELOPMENT_COOKIE: &str = "thespian-development-cookie";

/// How long a starting process waits for the node it started.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(15);

/// Settings of the `MultiprocTcp` base.
#[derive(Debug, Clone)]
pub(crate) struct TcpSettings {
    pub admin_port: u16,
    pub cookie: Option<String>,
    pub node_program: Option<PathBuf>,
    pub node_args: Vec<String>,
    pub max_frame: Option<usize>,
}

impl Default for TcpSettings {
    /// The admin port is `THESPIAN_ADMIN_PORT` if set, else 1900.
    fn default() -> Self {
        let admin_port = std::env::var(PORT_VAR).ok().and_then(|p| p.parse().ok()).unwrap_or(1900);
        TcpSettings { admin_port, cookie: None, node_program: None, node_args: Vec::new(), max_frame: None }
    }
}

impl TcpSettings {
    fn cookie(&self) -> String {
        self.cookie.clone().or_else(|| std::env::var(COOKIE_VAR).ok()).unwrap_or_else(|| DEVELOPMENT_COOKIE.to_owned())
    }

    fn max_frame(&self) -> usize {
        self.max_frame.unwrap_or(DEFAULT_MAX_FRAME)
    }

    fn admin_address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.admin_port))
    }
}

/// Why a node refused a request, as it travels back.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Failure {
    UnknownActorType(String),
    ConstructorPanicked { actor: String, details: String },
    InvalidGlobalName,
    ShuttingDown,
    Other(String),
}

/// Requests waiting for the node's answer, by request id.
type Pending = Arc<Mutex<Option<HashMap<u64, std::sync::mpsc::Sender<std::result::Result<Reply, String>>>>>>;

/// The sending half of a connection: frames queued for its writer task.
#[derive(Clone)]
struct Peer {
    tx: mpsc::UnboundedSender<Frame>,
}

/// Writes queued frames, as many per write as are waiting: no acknowledgement per message. When
/// the connection fails or `stop` fires, the queue is closed (later sends fail, so they become dead
/// letters) and whatever it still holds is handed to `core` as undelivered.
async fn write_frames(
    mut sink: SplitSink<Connection, Bytes>,
    mut rx: mpsc::UnboundedReceiver<Frame>,
    mut stop: oneshot::Receiver<()>,
    core: std::sync::Weak<Core>,
) {
    'writing: loop {
        let first = tokio::select! {
            biased;
            frame = rx.recv() => match frame { Some(frame) => frame, None => break 'writing },
            _ = &mut stop => break 'writing,
        };
        let mut next = Some(first);
        let mut queued = 0;
        while let Some(frame) = next.take() {
            match wire::encode(&frame) {
                Ok(bytes) => {
                    if let Err(e) = sink.feed(bytes).await {
                        tracing::debug!(error = %e, "connection closed while writing");
                        if let Some(core) = core.upgrade() {
                            undelivered(&core, frame);
                        }
                        break 'writing;
                    }
                }
                Err(e) => tracing::error!(error = %e, "a frame could not be encoded"),
            }
            queued += 1;
            if queued < 256 {
                next = rx.try_recv().ok();
            }
        }
        if sink.flush().await.is_err() {
            break 'writing;
        }
    }
    rx.close();
    let core = core.upgrade();
    while let Ok(frame) = rx.try_recv() {
        if let Some(core) = &core {
            undelivered(core, frame);
        }
    }
    let _ = sink.close().await;
}

/// A frame that never left: an envelope becomes a dead letter (its sender is told, if it is an
/// `ask`), never a silent loss.
fn undelivered(core: &Core, frame: Frame) {
    if let Frame::Envelope { sender, target, wire_name, body } = frame {
        let (sender, target) = (sender.to_address(), target.to_address());
        let msg = match crate::message::from_bytes(&body) {
            Ok(msg) => Payload::from_box(msg),
            Err(_) => Payload::new(wire_name),
        };
        core.dead_letter(&target, Envelope { sender, msg });
    }
}

/// Routes messages for other processes over their connection.
struct Router {
    this: std::sync::Weak<Router>,
    /// Where everything goes that has no connection of its own (a client's node).
    upstream: Option<Peer>,
    /// Connections by the identity of the process at the other end (a node's clients).
    /// Read on every message, changed when a process connects or leaves.
    peers: std::sync::RwLock<HashMap<String, Peer>>,
    max_frame: usize,
    /// A node's actors that run in processes of their own.
    isolation: Option<Isolation>,
    /// In an isolated actor's process: that actor, whose exit the node reports (not this process).
    isolated_actor: Option<WireAddress>,
}

/// What a node knows of the processes it started for isolated actors.
struct Isolation {
    node_id: String,
    settings: TcpSettings,
    program: PathBuf,
    next: AtomicU64,
    core: std::sync::OnceLock<std::sync::Weak<Core>>,
    /// Frames for processes started but not connected yet, in the order sent.
    expected: Mutex<HashMap<String, Vec<Frame>>>,
    children: Mutex<HashMap<String, IsolatedChild>>,
}

struct IsolatedChild {
    parent: ActorAddress,
    address: ActorAddress,
    global_name: Option<String>,
    pid: Option<u32>,
}

impl Router {
    fn new(
        upstream: Option<Peer>,
        max_frame: usize,
        isolation: Option<Isolation>,
        isolated_actor: Option<WireAddress>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| Router {
            this: this.clone(),
            upstream,
            peers: std::sync::RwLock::new(HashMap::new()),
            max_frame,
            isolation,
            isolated_actor,
        })
    }

    /// Queues a frame for the process `node`: on its connection, in the buffer of a process that
    /// is starting, or upstream. The frame back when there is nowhere to put it.
    fn route(&self, node: NodeId, frame: Frame) -> Option<Frame> {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        if let Some(peer) = peers.get(node.as_str()) {
            return peer.tx.send(frame).err().map(|e| e.0);
        }
        if let Some(isolation) = &self.isolation
            && let Some(buffer) = isolation.expected.lock().unwrap_or_else(|e| e.into_inner()).get_mut(node.as_str())
        {
            buffer.push(frame);
            return None;
        }
        drop(peers);
        match &self.upstream {
            Some(peer) => peer.tx.send(frame).err().map(|e| e.0),
            None => Some(frame),
        }
    }

    /// A process connected: what was sent to it while it started goes first, in order.
    fn connected(&self, node: &str, peer: Peer) {
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        if let Some(isolation) = &self.isolation
            && let Some(buffer) = isolation.expected.lock().unwrap_or_else(|e| e.into_inner()).remove(node)
        {
            for frame in buffer {
                let _ = peer.tx.send(frame);
            }
        }
        peers.insert(node.to_owned(), peer);
    }

    /// An isolated actor's process has gone (it exited, crashed or was killed; or never started):
    /// what was waiting for it becomes dead letters, and its parent is told — once.
    fn isolated_gone(&self, node: &str) {
        let Some(isolation) = &self.isolation else { return };
        let Some(child) = isolation.children.lock().unwrap_or_else(|e| e.into_inner()).remove(node) else { return };
        let Some(core) = isolation.core.get().and_then(std::sync::Weak::upgrade) else { return };
        self.peers.write().unwrap_or_else(|e| e.into_inner()).remove(node);
        let buffered = isolation.expected.lock().unwrap_or_else(|e| e.into_inner()).remove(node).unwrap_or_default();
        for frame in buffered {
            undelivered(&core, frame);
        }
        if let Some(name) = &child.global_name {
            core.names.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
        }
        tracing::info!(actor = %child.address, pid = ?child.pid, "isolated actor's process ended");
        let note = Envelope {
            sender: core.system.clone(),
            msg: Payload::new(crate::messages::ChildActorExited { child: child.address.clone() }),
        };
        core.send(&child.parent, note);
    }
}

impl Remote for Router {
    fn send(&self, core: &Core, to: &ActorAddress, env: Envelope) {
        let Envelope { sender, msg } = env;
        let wire_name = msg.wire_name();
        let body = match crate::message::to_bytes(msg.as_message()) {
            // Room for the envelope around the body.
            Ok(body) if body.len() + 4096 <= self.max_frame => body,
            Ok(body) => {
                let details = format!(
                    "a `{wire_name}` of {} bytes is over the maximum frame of {} bytes",
                    body.len(),
                    self.max_frame
                );
                return bounce(core, to, Envelope { sender, msg }, details);
            }
            Err(e) => {
                return bounce(core, to, Envelope { sender, msg }, format!("cannot serialize `{wire_name}`: {e}"));
            }
        };
        if let Some(me) = &self.isolated_actor
            && let Some(exited) = msg.downcast_ref::<crate::messages::ChildActorExited>()
            && exited.child.id() == me.id
            && exited.child.node().as_str() == me.node
        {
            // The node tells the parent when this process ends, however it ends.
            return;
        }
        let frame = Frame::Envelope {
            sender: WireAddress::of(&sender),
            target: WireAddress::of(to),
            wire_name: wire_name.to_owned(),
            body,
        };
        if self.route(to.node(), frame).is_some() {
            core.dead_letter(to, Envelope { sender, msg });
        }
    }

    fn reaches(&self, node: NodeId) -> bool {
        // A client or an isolated process hands everything to its node; a node knows its peers.
        self.upstream.is_some()
            || self.peers.read().unwrap_or_else(|e| e.into_inner()).contains_key(node.as_str())
            || self
                .isolation
                .as_ref()
                .is_some_and(|i| i.expected.lock().unwrap_or_else(|e| e.into_inner()).contains_key(node.as_str()))
    }

    fn target_gone(&self, sender: &ActorAddress, target: &ActorAddress) {
        let frame = Frame::Gone { to: WireAddress::of(sender), target: WireAddress::of(target) };
        let _ = self.route(sender.node(), frame);
    }

    fn hosts_processes(&self) -> bool {
        self.isolation.is_some()
    }

    fn create_isolated(
        &self,
        core: &Core,
        parent: &ActorAddress,
        actor_type: &'static str,
        global_name: Option<String>,
    ) -> Option<ActorAddress> {
        let isolation = self.isolation.as_ref()?;
        let n = isolation.next.fetch_add(1, Ordering::Relaxed);
        let node = format!("{}/proc-{n}", isolation.node_id);
        let address = ActorAddress::new(NodeId::intern(&node), crate::system::FIRST_ACTOR_ID, None);
        isolation.expected.lock().unwrap_or_else(|e| e.into_inner()).insert(node.clone(), Vec::new());
        if let Some(name) = &global_name {
            core.names.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone(), address.clone());
        }
        let child = IsolatedChild { parent: parent.without_route(), address: address.clone(), global_name, pid: None };
        isolation.children.lock().unwrap_or_else(|e| e.into_inner()).insert(node.clone(), child);
        let mut command = std::process::Command::new(&isolation.program);
        // The node's own arguments: they brought the program to the point where it takes up its
        // role (a test program's filter, say).
        command
            .args(std::env::args_os().skip(1))
            .env(ROLE_VAR, "actor")
            .env(ROLE_PARENT_VAR, std::process::id().to_string())
            .env(PORT_VAR, isolation.settings.admin_port.to_string())
            .env(COOKIE_VAR, isolation.settings.cookie())
            .env(MAX_FRAME_VAR, isolation.settings.max_frame().to_string())
            .env(ACTOR_TYPE_VAR, actor_type)
            .env(ACTOR_NODE_VAR, &node)
            .env(ACTOR_PARENT_VAR, format!("{}|{}", parent.node(), parent.id()))
            .stdin(std::process::Stdio::null());
        match command.spawn() {
            Ok(mut process) => {
                let pid = process.id();
                if let Some(child) = isolation.children.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&node) {
                    child.pid = Some(pid);
                }
                tracing::debug!(actor = %address, actor_type, pid, "started an isolated actor's process");
                let router = self.this.clone();
                std::thread::spawn(move || {
                    let _ = process.wait();
                    if let Some(router) = router.upgrade() {
                        router.isolated_gone(&node);
                    }
                });
            }
            Err(e) => {
                tracing::error!(actor_type, error = %e, "cannot start an isolated actor's process");
                self.isolated_gone(&node);
            }
        }
        Some(address)
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
fn deliver_incoming(
    core: &Core,
    inbox: &mut Inbox,
    sender: WireAddress,
    target: WireAddress,
    wire_name: String,
    body: &[u8],
) {
    let (sender, target) = (sender.to_address(), target.to_address());
    match crate::message::from_bytes(body) {
        Ok(msg) => inbox.push(core, target, Envelope { sender, msg: Payload::from_box(msg) }),
        Err(e) => {
            let details = format!("{} cannot read a `{wire_name}`: {e}", core.node);
            tracing::warn!(%sender, %target, %details, "undecodable message");
            if wire_name == "thespian::PoisonMessage" {
                return;
            }
            let poison = PoisonMessage { message: None, message_type: wire_name, details };
            core.send(&sender, Envelope { sender: target, msg: Payload::new(poison) });
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

/// The next frame: at once if one is already there; otherwise what has arrived is handed over
/// first, then the reader waits.
async fn next_frame(
    stream: &mut SplitStream<Connection>,
    core: &Core,
    inbox: &mut Inbox,
) -> Option<std::result::Result<bytes::BytesMut, std::io::Error>> {
    use futures_util::FutureExt;
    match stream.next().now_or_never() {
        Some(item) => item,
        None => {
            inbox.flush(core);
            stream.next().await
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

/// A node's side of one client connection: envelopes in, requests answered.
async fn serve_client(
    core: Arc<Core>,
    system: Arc<ThreadedSystem>,
    node: Arc<NodeShared>,
    mut stream: SplitStream<Connection>,
    peer: Peer,
    client: String,
) {
    let mut inbox = Inbox::default();
    loop {
        let frame = match next_frame(&mut stream, &core, &mut inbox).await {
            Some(Ok(bytes)) => wire::decode(&bytes),
            Some(Err(e)) => {
                tracing::warn!(%client, error = %e, "dropping a connection after a bad frame");
                break;
            }
            None => break,
        };
        if !matches!(frame, Ok(Frame::Envelope { .. })) {
            inbox.flush(&core);
        }
        match frame {
            Ok(Frame::Envelope { sender, target, wire_name, body }) => {
                if target.node == core.node.as_str() {
                    deliver_incoming(&core, &mut inbox, sender, target, wire_name, &body);
                } else {
                    inbox.flush(&core);
                    // For another process: passed on as it came, so the node need not know the
                    // type; if there is nowhere to pass it, it is a dead letter like any other.
                    let node_id = NodeId::intern(&target.node);
                    let frame = Frame::Envelope { sender, target, wire_name, body };
                    if let Some(frame) = node.router.route(node_id, frame) {
                        undelivered(&core, frame);
                    }
                }
            }
            Ok(Frame::Gone { to, target }) => target_gone(&core, &to, &target),
            Ok(Frame::Request { id, request }) => {
                let response = match request {
                    Request::Create { actor_type, global_name } => {
                        // A constructor may take long: not on the thread every connection shares.
                        let (system, core, peer) = (system.clone(), core.clone(), peer.clone());
                        tokio::task::spawn_blocking(move || {
                            let response = create(&system, &core, actor_type, global_name);
                            let _ = peer
                                .tx
                                .send(Frame::Response { id, response: response.map_err(|f| encode_failure(&f)) });
                        });
                        continue;
                    }
                    Request::Status => Ok(Reply::Status(node.status(&system))),
                    Request::Shutdown => {
                        // The main thread stops the actors, answers and ends the process.
                        let _ = node.stop.lock().unwrap_or_else(|e| e.into_inner()).send((id, peer.clone()));
                        continue;
                    }
                };
                let _ = peer.tx.send(Frame::Response { id, response: response.map_err(|f| encode_failure(&f)) });
            }
            Ok(other) => {
                tracing::warn!(%client, frame = ?other, "unexpected frame; dropping the connection");
                break;
            }
            Err(e) => {
                tracing::warn!(%client, error = %e, "dropping a connection after a malformed frame");
                break;
            }
        }
    }
    inbox.flush(&core);
    node.router.peers.write().unwrap_or_else(|e| e.into_inner()).remove(&client);
    node.router.isolated_gone(&client);
    node.clients.fetch_sub(1, Ordering::Relaxed);
    tracing::debug!(%client, "client disconnected");
}

fn encode_failure(failure: &Failure) -> String {
    rmp_serde::to_vec_named(failure).map(|b| b.iter().map(|x| format!("{x:02x}")).collect()).unwrap_or_default()
}

fn decode_failure(text: &str) -> Failure {
    let bytes: Option<Vec<u8>> =
        (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    bytes.and_then(|b| rmp_serde::from_slice(&b).ok()).unwrap_or_else(|| Failure::Other(text.to_owned()))
}

fn create(
    system: &ThreadedSystem,
    core: &Core,
    actor_type: String,
    global_name: Option<String>,
) -> Result<Reply, Failure> {
    if global_name.as_deref() == Some("") {
        return Err(Failure::InvalidGlobalName);
    }
    let named = global_name.as_ref().and_then(|n| core.names.lock().unwrap_or_else(|e| e.into_inner()).get(n).cloned());
    if let Some(existing) = named {
        return Ok(Reply::Created(WireAddress::of(&existing)));
    }
    let Some(new) = NewActor::by_name(&actor_type) else { return Err(Failure::UnknownActorType(actor_type)) };
    let options = ActorOptions { global_name, ..ActorOptions::default() };
    match SystemImpl::create(system, new, options) {
        Ok(address) => Ok(Reply::Created(WireAddress::of(&address))),
        Err(Error::ConstructorPanicked { actor, details }) => {
            Err(Failure::ConstructorPanicked { actor: actor.to_owned(), details })
        }
        Err(Error::ShutDown(_)) => Err(Failure::ShuttingDown),
        Err(e) => Err(Failure::Other(e.to_string())),
    }
}

/// What a node's connections share.
struct NodeShared {
    router: Arc<Router>,
    identity: Identity,
    clients: AtomicU64,
    /// Shutdown requests, for the node's main thread.
    stop: Mutex<std::sync::mpsc::Sender<(u64, Peer)>>,
}

impl NodeShared {
    fn status(&self, system: &ThreadedSystem) -> NodeStatus {
        let stats = SystemImpl::stats(system);
        NodeStatus {
            node: self.identity.node.clone(),
            program: self.identity.program.clone(),
            build: self.identity.build.clone(),
            pid: std::process::id(),
            actors: stats.actors,
            dead_letters: stats.dead_letters,
            unhandled: stats.unhandled,
            clients: self.clients.load(Ordering::Relaxed) as usize,
            log: std::env::var(LOG_VAR).ok(),
        }
    }
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
    // `info`), to its standard error, which the starting process pointed at the log file.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(std::io::stderr).try_init();
    let code = match run_node() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("thespian node: {e}");
            1
        }
    };
    std::process::exit(code);
}

/// An isolated actor's process: joins the node under the identity it was given, creates its one
/// actor with the parent it was given, and ends when the actor exits or the node goes.
fn run_isolated() -> Result<()> {
    // Dies with the node that started it, whatever way the node ends.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let var = |name: &str| {
        std::env::var(name)
            .map_err(|_| Error::Unsupported("an isolated actor's process was started without its settings"))
    };
    let node = var(ACTOR_NODE_VAR)?;
    let actor_type = var(ACTOR_TYPE_VAR)?;
    let parent = var(ACTOR_PARENT_VAR)?;
    let me = format!("{node}/{}", crate::system::FIRST_ACTOR_ID);
    // Its records go to the node's log (this process's standard error), tagged with the actor.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let tag = me.clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(move || Tagged { tag: tag.clone(), out: std::io::stderr() })
        .try_init();
    let parent = match parent.rsplit_once('|') {
        Some((node, id)) => ActorAddress::new(NodeId::intern(node), id.parse().unwrap_or(0), None),
        None => return Err(Error::Unsupported("an isolated actor's parent address is malformed")),
    };
    let settings = TcpSettings {
        admin_port: std::env::var(PORT_VAR).ok().and_then(|p| p.parse().ok()).unwrap_or(1900),
        cookie: std::env::var(COOKIE_VAR).ok(),
        node_program: None,
        node_args: Vec::new(),
        max_frame: std::env::var(MAX_FRAME_VAR).ok().and_then(|m| m.parse().ok()),
    };
    let client = TcpClient::join(settings, Duration::from_secs(10), Some(IsolatedRole { node, actor_type, parent }))?;
    let core = client.local.core.clone();
    loop {
        if !client.connected.load(Ordering::Acquire) {
            tracing::warn!("the node has gone; ending");
            return Ok(());
        }
        let registry = core.registry.lock().unwrap_or_else(|e| e.into_inner());
        if registry.is_empty() {
            break;
        }
        drop(core.retired.wait_timeout(registry, Duration::from_millis(20)));
    }
    // Everything the actor sent goes out before the process ends: a round trip to the node comes
    // back only after all of it.
    let _ = SystemImpl::node_status(&client);
    Ok(())
}

/// What an isolated actor's process is: its assigned identity, its actor's type and parent.
struct IsolatedRole {
    node: String,
    actor_type: String,
    parent: ActorAddress,
}

/// A writer that puts a tag in front of each record.
struct Tagged {
    tag: String,
    out: std::io::Stderr,
}

impl std::io::Write for Tagged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut line = Vec::with_capacity(self.tag.len() + 3 + buf.len());
        line.extend_from_slice(b"[");
        line.extend_from_slice(self.tag.as_bytes());
        line.extend_from_slice(b"] ");
        line.extend_from_slice(buf);
        self.out.write_all(&line)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn run_node() -> Result<()> {
    let port: u16 = std::env::var(PORT_VAR).ok().and_then(|p| p.parse().ok()).unwrap_or(1900);
    let settings = TcpSettings {
        admin_port: port,
        cookie: std::env::var(COOKIE_VAR).ok(),
        node_program: None,
        node_args: Vec::new(),
        max_frame: std::env::var(MAX_FRAME_VAR).ok().and_then(|m| m.parse().ok()),
    };
    crate::message::check_registry()?;
    let listener = std::net::TcpListener::bind(settings.admin_address())?;
    listener.set_nonblocking(true)?;
    let node_id = settings.admin_address().to_string();
    let (program, build) = wire::program_identity();
    let identity = Identity { node: node_id.clone(), program, build, pid: std::process::id() };
    let system = Arc::new(ThreadedSystem::new(NodeId::intern(&node_id), None, Duration::from_secs(10))?);
    tracing::info!(node = %node_id, pid = std::process::id(), program = %identity.program, build = %identity.build, "node started");
    let isolation = Isolation {
        node_id: node_id.clone(),
        settings: settings.clone(),
        program: std::env::current_exe()?,
        next: AtomicU64::new(1),
        core: std::sync::OnceLock::new(),
        expected: Mutex::new(HashMap::new()),
        children: Mutex::new(HashMap::new()),
    };
    let _ = isolation.core.set(Arc::downgrade(&system.core));
    let router = Router::new(None, settings.max_frame(), Some(isolation), None);
    let _ = system.core.remote.set(router.clone());
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    let shared = Arc::new(NodeShared { router, identity, clients: AtomicU64::new(0), stop: Mutex::new(stop_tx) });
    let net = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("thespian-net")
        .build()?;
    let cookie = settings.cookie();
    let max_frame = settings.max_frame();
    {
        let (system, shared) = (system.clone(), shared.clone());
        net.spawn(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen");
                    return;
                }
            };
            loop {
                let (stream, from) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, say: wait rather than spin.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (system, shared, cookie) = (system.clone(), shared.clone(), cookie.clone());
                tokio::spawn(async move {
                    // Small frames until the peer has proved it knows the cookie: a stranger cannot
                    // make the node reserve large buffers.
                    let mut conn = wire::frame(stream, wire::HANDSHAKE_MAX_FRAME);
                    let handshake = wire::handshake_accept(&mut conn, &shared.identity, &cookie);
                    let client = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                        Ok(Ok(identity)) => identity,
                        Ok(Err(e)) => {
                            tracing::warn!(%from, error = %e, "refused a connection");
                            return;
                        }
                        Err(_) => {
                            tracing::warn!(%from, "refused a connection: no handshake in time");
                            return;
                        }
                    };
                    conn.codec_mut().set_max_frame_length(max_frame);
                    let (sink, stream) = conn.split();
                    let (tx, rx) = mpsc::unbounded_channel();
                    let (stop_writer, stop) = oneshot::channel();
                    let writer = tokio::spawn(write_frames(sink, rx, stop, Arc::downgrade(&system.core)));
                    let peer = Peer { tx };
                    shared.router.connected(&client.node, peer.clone());
                    shared.clients.fetch_add(1, Ordering::Relaxed);
                    let core = system.core.clone();
                    serve_client(core, system, shared, stream, peer, client.node).await;
                    // What was queued for that client, and anything sent to it later, becomes a
                    // dead letter: nothing is queued for nobody.
                    let _ = stop_writer.send(());
                    let _ = writer.await;
                });
            }
        });
    }
    // Serve until a client asks for shutdown; then stop every actor, answer, and end.
    let (id, peer) = stop_rx.recv().map_err(|_| Error::ShutDown(NodeId::intern(&node_id)))?;
    tracing::info!(node = %node_id, "shutting down");
    // Isolated actors created from outside belong to the node: they are asked to exit too.
    let isolation = shared.router.isolation.as_ref().expect("a node hosts processes");
    let top_level: Vec<ActorAddress> = isolation
        .children
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter(|c| c.parent.id() == crate::system::SYSTEM_ID)
        .map(|c| c.address.clone())
        .collect();
    for address in top_level {
        let exit =
            Envelope { sender: system.core.system.clone(), msg: Payload::new(crate::ActorExitRequest::default()) };
        system.core.send(&address, exit);
    }
    let result = SystemImpl::shutdown(&*system);
    // Whatever isolated process is still there after the actors' exits ends now.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !isolation.children.lock().unwrap_or_else(|e| e.into_inner()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for child in isolation.children.lock().unwrap_or_else(|e| e.into_inner()).values() {
        if let Some(pid) = child.pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }

    let response = match result {
        Ok(()) => Ok(Reply::ShutDown),
        Err(e) => Err(encode_failure(&Failure::Other(e.to_string()))),
    };
    let _ = peer.tx.send(Frame::Response { id, response });
    // Let the answer go out before the process ends.
    drop(peer);
    std::thread::sleep(Duration::from_millis(50));
    net.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// A process joined to a node.
pub(crate) struct TcpClient {
    node: NodeId,
    address: String,
    local: ThreadedSystem,
    net: Mutex<Option<tokio::runtime::Runtime>>,
    upstream: Peer,
    pending: Pending,
    next_request: AtomicU64,
    shutdown_timeout: Duration,
    /// Cleared when the connection to the node is lost.
    connected: Arc<std::sync::atomic::AtomicBool>,
    /// Set once this process has asked the node to shut down.
    closed: std::sync::atomic::AtomicBool,
}

impl TcpClient {
    pub fn connect(builder: &ActorSystemBuilder, shutdown_timeout: Duration) -> Result<Self> {
        Self::join(builder.tcp.clone(), shutdown_timeout, None)
    }

    /// Joins the node: as a client, or (given its assigned identity) as an isolated actor's
    /// process, which never starts a node.
    fn join(settings: TcpSettings, shutdown_timeout: Duration, role: Option<IsolatedRole>) -> Result<Self> {
        let isolated = role.as_ref().map(|r| r.node.clone());
        let address = settings.admin_address();
        let net = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("thespian-net")
            .build()?;
        let (program, build) = wire::program_identity();
        static CLIENTS: AtomicU64 = AtomicU64::new(1);
        let node_name = match &isolated {
            Some(assigned) => assigned.clone(),
            None => format!("{address}#client-{}-{}", std::process::id(), CLIENTS.fetch_add(1, Ordering::Relaxed)),
        };
        let me = Identity { node: node_name, program: program.clone(), build: build.clone(), pid: std::process::id() };
        let isolated_actor =
            isolated.as_ref().map(|node| WireAddress { node: node.clone().into(), id: crate::system::FIRST_ACTOR_ID });
        let local = ThreadedSystem::new(NodeId::intern(&me.node), Some(1), shutdown_timeout)?;
        // An isolated actor exists before its process connects: the node sends what was waiting
        // for it as soon as the handshake is done, and a constructor that fails means the process
        // never connects, so the node turns what waited into dead letters.
        if let Some(role) = role {
            let Some(new) = NewActor::by_name(&role.actor_type) else {
                return Err(Error::UnknownActorType { name: role.actor_type, system: local.core.node });
            };
            let (address, _, failed) = local.core.create(&role.parent, new, ActorOptions::default());
            if let Some(details) = failed {
                return Err(Error::ConstructorPanicked { actor: Box::leak(role.actor_type.into_boxed_str()), details });
            }
            tracing::info!(actor = %address, pid = std::process::id(), "isolated actor started");
        }
        let (conn, node) = match isolated {
            None => net.block_on(connect_or_start(&settings, &me))?,
            Some(_) => net.block_on(async {
                let stream = tokio::net::TcpStream::connect(address)
                    .await
                    .map_err(|e| Error::NodeUnavailable { address: address.to_string(), details: e.to_string() })?;
                handshake(stream, &settings, &me, &settings.cookie()).await
            })?,
        };
        if node.program == program && node.build != build {
            return Err(Error::StaleNode {
                address: address.to_string(),
                program,
                node_build: node.build,
                this_build: build,
                node_pid: node.pid,
            });
        }
        let (sink, stream) = conn.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop_writer, stop) = oneshot::channel();
        let writer = net.spawn(write_frames(sink, rx, stop, Arc::downgrade(&local.core)));
        let upstream = Peer { tx };
        let router = Router::new(Some(upstream.clone()), settings.max_frame(), None, isolated_actor);
        let _ = local.core.remote.set(router);
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let connected = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let reader =
            read_from_node(local.core.clone(), stream, pending.clone(), address.to_string(), writer, stop_writer);
        let still = connected.clone();
        net.spawn(async move {
            reader.await;
            still.store(false, Ordering::Release);
        });
        Ok(TcpClient {
            node: NodeId::intern(&node.node),
            address: address.to_string(),
            local,
            net: Mutex::new(Some(net)),
            upstream,
            pending,
            next_request: AtomicU64::new(1),
            shutdown_timeout,
            connected,
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Sends a request to the node and waits for its answer. The wait needs no runtime (so it
    /// works from a blocking task too); a lost connection ends it at once.
    fn request(&self, request: Request, timeout: Duration) -> Result<Reply> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::ShutDown(self.node));
        }
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = std::sync::mpsc::channel();
        {
            // Registered under the same lock the reader clears when the connection goes, so
            // no request can slip in after that and wait for nothing.
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let Some(pending) = pending.as_mut() else { return Err(Error::ConnectionLost(self.address.clone())) };
            pending.insert(id, tx);
        }
        let forget = || {
            if let Some(pending) = self.pending.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                pending.remove(&id);
            }
        };
        if self.upstream.tx.send(Frame::Request { id, request }).is_err() {
            forget();
            return Err(Error::ConnectionLost(self.address.clone()));
        }
        match rx.recv_timeout(timeout) {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(failure)) => Err(self.failure(decode_failure(&failure))),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::ConnectionLost(self.address.clone())),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                forget();
                Err(Error::Timeout(timeout))
            }
        }
    }

    fn failure(&self, failure: Failure) -> Error {
        match failure {
            Failure::UnknownActorType(name) => Error::UnknownActorType { name, system: self.node },
            Failure::ConstructorPanicked { actor, details } => {
                Error::ConstructorPanicked { actor: Box::leak(actor.into_boxed_str()), details }
            }
            Failure::InvalidGlobalName => Error::InvalidGlobalName,
            Failure::ShuttingDown => Error::ShutDown(self.node),
            Failure::Other(text) => Error::NodeUnavailable { address: self.address.clone(), details: text },
        }
    }
}

/// A client's side of its connection: envelopes to its local endpoints, answers to its requests.
async fn read_from_node(
    core: Arc<Core>,
    mut stream: SplitStream<Connection>,
    pending: Pending,
    address: String,
    writer: tokio::task::JoinHandle<()>,
    stop_writer: oneshot::Sender<()>,
) {
    let mut inbox = Inbox::default();
    loop {
        let frame = match next_frame(&mut stream, &core, &mut inbox).await {
            Some(Ok(bytes)) => wire::decode(&bytes),
            Some(Err(e)) => {
                tracing::warn!(node = %address, error = %e, "bad frame from the node; dropping the connection");
                break;
            }
            None => break,
        };
        if !matches!(frame, Ok(Frame::Envelope { .. })) {
            inbox.flush(&core);
        }
        match frame {
            Ok(Frame::Envelope { sender, target, wire_name, body }) => {
                deliver_incoming(&core, &mut inbox, sender, target, wire_name, &body)
            }
            Ok(Frame::Gone { to, target }) => target_gone(&core, &to, &target),
            Ok(Frame::Response { id, response }) => {
                let waiting = pending.lock().unwrap_or_else(|e| e.into_inner()).as_mut().and_then(|p| p.remove(&id));
                if let Some(tx) = waiting {
                    let _ = tx.send(response);
                }
            }
            Ok(other) => tracing::warn!(node = %address, frame = ?other, "unexpected frame from the node"),
            Err(e) => {
                tracing::warn!(node = %address, error = %e, "malformed frame from the node; dropping the connection");
                break;
            }
        }
    }
    inbox.flush(&core);
    // Whoever waits for an answer learns the connection is gone: requests and asks fail now, and
    // later sends become dead letters (the writer is stopped, so nothing is queued for nobody).
    let _ = stop_writer.send(());
    let _ = writer.await;
    // Whoever waits for an answer learns now; later requests fail at once.
    *pending.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let slots: Vec<_> = core.remote_slots.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
    for slot in slots {
        slot.connection_lost(&address);
    }
    tracing::warn!(node = %address, "the connection to the node was lost");
}

/// Connects to the node on the admin port, starting one if nobody answers.
async fn connect_or_start(settings: &TcpSettings, me: &Identity) -> Result<(Connection, Identity)> {
    let address = settings.admin_address();
    let cookie = settings.cookie();
    match tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(stream)) => return handshake(stream, settings, me, &cookie).await,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        Ok(Err(e)) => return Err(Error::NodeUnavailable { address: address.to_string(), details: e.to_string() }),
        Err(_) => {
            return Err(Error::NodeUnavailable {
                address: address.to_string(),
                details: "connecting timed out".to_owned(),
            });
        }
    }
    let (log, mut child) = start_node(settings)?;
    let joined = wait_for_started_node(settings, me, &cookie, &log).await;
    match joined {
        Ok(joined) => {
            // Reaped when it ends, so that a node stopped while this process runs leaves no zombie.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            Ok(joined)
        }
        Err(e) => {
            // Never a node left behind that nobody can reach or stop.
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

async fn wait_for_started_node(
    settings: &TcpSettings,
    me: &Identity,
    cookie: &str,
    log: &std::path::Path,
) -> Result<(Connection, Identity)> {
    let address = settings.admin_address();
    let deadline = Instant::now() + NODE_START_TIMEOUT;
    // While it starts, what the node logs is shown here too: a node that cannot start says why
    // where its starter can see it.
    let mut shown = 0;
    let mut show_log = || {
        if let Ok(text) = std::fs::read(log)
            && text.len() > shown
        {
            use std::io::Write;
            let _ = std::io::stderr().write_all(&text[shown..]);
            shown = text.len();
        }
    };
    loop {
        match tokio::net::TcpStream::connect(address).await {
            Ok(stream) => {
                show_log();
                return handshake(stream, settings, me, cookie).await;
            }
            Err(e) if Instant::now() >= deadline => {
                show_log();
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                return Err(Error::NodeUnavailable {
                    address: address.to_string(),
                    details: format!("the node started but never listened ({e}); its log {}: {tail}", log.display()),
                });
            }
            Err(_) => {
                show_log();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn handshake(
    stream: tokio::net::TcpStream,
    settings: &TcpSettings,
    me: &Identity,
    cookie: &str,
) -> Result<(Connection, Identity)> {
    let address = settings.admin_address().to_string();
    let mut conn = wire::frame(stream, settings.max_frame());
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, wire::handshake_connect(&mut conn, me, cookie)).await {
        Ok(Ok(node)) => Ok((conn, node)),
        Ok(Err(WireError::Refused(reason))) => Err(Error::Refused { address, reason }),
        Ok(Err(e)) => Err(Error::NotANode { address, details: e.to_string() }),
        Err(_) => Err(Error::NotANode { address, details: "it did not answer the handshake".to_owned() }),
    }
}

/// Starts the node program detached, its output in a log file; returns the log's path and the
/// process.
fn start_node(settings: &TcpSettings) -> Result<(PathBuf, std::process::Child)> {
    let program = match &settings.node_program {
        Some(program) => program.clone(),
        None => std::env::current_exe()?,
    };
    let log = std::env::temp_dir().join(format!("thespian-node-{}.log", settings.admin_port));
    let log_file = std::fs::File::create(&log)?;
    let mut command = std::process::Command::new(&program);
    command
        .args(&settings.node_args)
        .env(ROLE_VAR, "node")
        .env(ROLE_PARENT_VAR, std::process::id().to_string())
        .env(PORT_VAR, settings.admin_port.to_string())
        .env(COOKIE_VAR, settings.cookie())
        .env(MAX_FRAME_VAR, settings.max_frame().to_string())
        .env(LOG_VAR, &log)
        .stdin(std::process::Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    let child = command.spawn()?;
    tracing::info!(program = %program.display(), pid = child.id(), log = %log.display(), "started a node");
    Ok((log, child))
}

impl SystemImpl for TcpClient {
    fn node(&self) -> NodeId {
        self.node
    }

    fn base(&self) -> SystemBase {
        SystemBase::MultiprocTcp
    }

    fn create(&self, new: NewActor, options: ActorOptions) -> Result<ActorAddress> {
        // A registered type (a troupe's manager is built here as an instance, but is registered
        // by name too) is created by name in the node; only actors built from values stay local.
        if new.is_instance() && NewActor::by_name(new.type_name()).is_none() {
            return Err(Error::Unsupported(
                "an actor built from a value cannot be sent to the node; create it by type (or by name)",
            ));
        }
        let request = Request::Create { actor_type: new.type_name().to_owned(), global_name: options.global_name };
        match self.request(request, Duration::from_secs(30))? {
            Reply::Created(address) => Ok(address.to_address()),
            other => Err(Error::NodeUnavailable { address: self.address.clone(), details: format!("{other:?}") }),
        }
    }

    fn create_by_name(&self, wire_name: &str, options: ActorOptions) -> Result<ActorAddress> {
        // The node decides: a taken global name wins over any type, even one unknown here.
        let request = Request::Create { actor_type: wire_name.to_owned(), global_name: options.global_name };
        match self.request(request, Duration::from_secs(30))? {
            Reply::Created(address) => Ok(address.to_address()),
            other => Err(Error::NodeUnavailable { address: self.address.clone(), details: format!("{other:?}") }),
        }
    }

    fn tell(&self, to: &ActorAddress, msg: Payload, from_async: bool) -> Result<()> {
        SystemImpl::tell(&self.local, to, msg, from_async)
    }

    fn ask(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> Result<Payload> {
        crate::system::ensure_blocking_allowed("ask")?;
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::ShutDown(self.node));
        }
        // The caller waits on a channel the reply slot fills directly: no runtime task between
        // the network thread and this one.
        let core = &self.local.core;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let slot = Arc::new(super::ReplySlot::new(super::SlotTx::Blocking(tx)));
        let id = core.next_id.fetch_add(1, Ordering::Relaxed);
        core.remote_slots.lock().unwrap_or_else(|e| e.into_inner()).insert(id, slot.clone());
        let _forget_when_done = super::RemoteSlot { slots: core.remote_slots.clone(), id };
        let from = ActorAddress::new(core.node, id, Some(slot));
        core.send(to, Envelope { sender: from, msg });
        match rx.recv_timeout(timeout) {
            Ok(reply) => reply,
            Err(_) => Err(Error::Timeout(timeout)),
        }
    }

    fn ask_async(&self, to: &ActorAddress, msg: Payload, timeout: Duration) -> ReplyFuture {
        SystemImpl::ask_async(&self.local, to, msg, timeout)
    }

    fn listen(&self, timeout: Duration) -> Result<Payload> {
        SystemImpl::listen(&self.local, timeout)
    }

    fn listen_async(&self, timeout: Duration) -> ReplyFuture {
        SystemImpl::listen_async(&self.local, timeout)
    }

    fn actor_type(&self, _address: &ActorAddress) -> Option<&'static str> {
        None
    }

    fn named(&self, _name: &str) -> Option<ActorAddress> {
        None
    }

    fn stats(&self) -> SystemStats {
        // The node's counters, plus the dead letters of this process's own endpoints (a second
        // reply to an ask, say).
        let local = SystemImpl::stats(&self.local);
        match SystemImpl::node_status(self) {
            Ok(status) => SystemStats {
                actors: status.actors,
                dead_letters: status.dead_letters + local.dead_letters,
                unhandled: status.unhandled,
            },
            Err(_) => local,
        }
    }

    fn reaches(&self, _node: NodeId) -> bool {
        true
    }

    fn node_status(&self) -> Result<NodeStatus> {
        match self.request(Request::Status, Duration::from_secs(10))? {
            Reply::Status(status) => Ok(status),
            other => Err(Error::NodeUnavailable { address: self.address.clone(), details: format!("{other:?}") }),
        }
    }

    fn shutdown(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            // Asked before: nothing left to stop.
            return Ok(());
        }
        // The node gives its actors up to 10 s and its isolated processes 5 s more.
        let wait = self.shutdown_timeout.max(Duration::from_secs(10)).saturating_add(Duration::from_secs(10));
        let result = match self.request(Request::Shutdown, wait) {
            Ok(_) => Ok(()),
            // Asked twice, or the node already gone: nothing left to stop.
            Err(Error::ConnectionLost(_)) | Err(Error::ShutDown(_)) => Ok(()),
            Err(e) => Err(e),
        };
        self.closed.store(true, Ordering::Release);
        let _ = SystemImpl::shutdown(&self.local);
        if let Some(net) = self.net.lock().unwrap_or_else(|e| e.into_inner()).take() {
            net.shutdown_background();
        }
        result
    }
}

impl Drop for TcpClient {
    fn drop(&mut self) {
        // Leaving does not stop the node: it outlives its clients.
        let _ = SystemImpl::shutdown(&self.local);
        if let Some(net) = self.net.lock().unwrap_or_else(|e| e.into_inner()).take() {
            net.shutdown_background();
        }
    }
}
