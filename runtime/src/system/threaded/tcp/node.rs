//! The node: accepting processes, serving their requests, connecting to the other nodes of its
//! convention, and its own life from start to shutdown.

use super::convention::{Convention, ConventionSettings};
use super::router::{ConventionHooks, Dialer, is_node_identity};
use super::*;
use crate::capabilities::{Capabilities, Requirements};
use crate::wire::MemberInfo;

/// A node's side of one connection — from a client, an isolated actor's process, or another node
/// (which dialled this one, or which this one dialled): envelopes in, requests answered.
async fn serve_connection(node: Arc<NodeShared>, mut stream: Reader, peer: Peer, remote: String, connection: u64) {
    let core = node.system.core.clone();
    let mut inbox = Inbox::default();
    let mut table = NodeTable::new();
    while let Some(incoming) = next_frame(&mut stream, &mut table, &core, &mut inbox, &remote).await {
        let frame = match incoming {
            Incoming::Envelope(env) if env.target.node() == core.node => {
                deliver_incoming(&core, &mut inbox, env);
                continue;
            }
            Incoming::Envelope(env) => {
                // For another process: passed on as it came.
                inbox.flush(&core);
                node.router.forward(&core, env);
                continue;
            }
            Incoming::Frame(frame) => frame,
        };
        match frame {
            Frame::Gone { to, target } => target_gone(&core, &to, &target),
            Frame::Convention(frame) => {
                if let Some(convention) = &node.convention {
                    convention.received(&remote, connection, frame);
                }
            }
            Frame::Request { id, request } => {
                let response = match request {
                    Request::Create { actor_type, global_name, requirements } => {
                        // A constructor may take long: not on the thread every connection shares.
                        let (node, peer) = (node.clone(), peer.clone());
                        tokio::task::spawn_blocking(move || {
                            let response = create(&node, actor_type, global_name, requirements);
                            let _ =
                                peer.frame(&Frame::Response { id, response: response.map_err(|f| encode_failure(&f)) });
                        });
                        continue;
                    }
                    Request::Spawn { node: child, actor_type, parent, global_name, requirements } => {
                        let parent = parent.to_address();
                        spawn_for(&node, &remote, child, &actor_type, parent, global_name, &requirements);
                        continue;
                    }
                    Request::Watch { watcher, on } => {
                        if let Some(convention) = &node.convention {
                            convention.watch(&watcher.to_address(), on);
                        }
                        continue;
                    }
                    Request::Capabilities => {
                        Ok(Reply::Capabilities(Capabilities::clone(&node.system.core.capabilities())))
                    }
                    Request::UpdateCapability { name, value } => {
                        node.update_capability(name, value);
                        Ok(Reply::Done)
                    }
                    Request::Status => Ok(Reply::Status(Box::new(node.status()))),
                    Request::Shutdown => {
                        // The main thread stops the actors, answers and ends the process.
                        let _ = node.stop.lock().unwrap_or_else(|e| e.into_inner()).send((id, peer.clone()));
                        continue;
                    }
                };
                let _ = peer.frame(&Frame::Response { id, response: response.map_err(|f| encode_failure(&f)) });
            }
            other => {
                tracing::warn!(%remote, frame = ?other, "unexpected frame; dropping the connection");
                break;
            }
        }
    }
    inbox.flush(&core);
    node.router.disconnected(&remote, &peer);
    if let Some(convention) = &node.convention {
        convention.connection(connection, false);
    }
    if is_node_identity(&remote) {
        tracing::debug!(%remote, "a connection to another node closed");
        if let Some(convention) = &node.convention {
            convention.closed(&remote);
        }
    } else {
        node.router.isolated_gone(&remote);
        node.clients.fetch_sub(1, Ordering::Relaxed);
        tracing::debug!(client = %remote, "client disconnected");
    }
}

/// A process asks for an isolated actor's process: an isolated actor for a child of its own, or
/// another node placing an actor here. Started like any, under the identity the asker chose —
/// which must be one under the asker's own, so no process can take another's name.
fn spawn_for(
    node: &NodeShared,
    requester: &str,
    child: String,
    actor_type: &str,
    parent: ActorAddress,
    global_name: Option<String>,
    requirements: &Requirements,
) {
    let core = &node.system.core;
    let under_requester = child.strip_prefix(requester).is_some_and(|rest| rest.starts_with("/proc-"));
    let placed_here = is_node_identity(requester)
        && child.strip_prefix(core.node.as_str()).is_some_and(|rest| rest.starts_with(&format!("/via-{requester}-")));
    let hostable = match crate::actor::can_host(actor_type, &core.capabilities(), requirements) {
        Some(Ok(())) => true,
        Some(Err(why)) => {
            tracing::warn!(%requester, actor_type, %why, "this node cannot host the actor asked for");
            false
        }
        None => {
            tracing::warn!(%requester, actor_type, "this node's program has no such actor type");
            false
        }
    };
    let started = (under_requester || placed_here)
        && hostable
        && node.router.spawn_isolated(core, child.clone(), &parent, actor_type, global_name).is_some();
    if !started {
        tracing::warn!(%requester, %child, actor_type, "refused to start an actor's process");
        spawn_failed(core, &child, &parent);
    }
}

fn create(
    node: &NodeShared,
    actor_type: String,
    global_name: Option<String>,
    requirements: Requirements,
) -> Result<Reply, Failure> {
    let (system, core) = (&*node.system, &node.system.core);
    if global_name.as_deref() == Some("") {
        return Err(Failure::InvalidGlobalName);
    }
    let named = global_name.as_ref().and_then(|n| core.names.lock().unwrap_or_else(|e| e.into_inner()).get(n).cloned());
    if let Some(existing) = named {
        return Ok(Reply::Created(WireAddress::of(&existing)));
    }
    let Some(new) = NewActor::by_name(&actor_type) else { return Err(Failure::UnknownActorType(actor_type)) };
    let options = ActorOptions { global_name, requirements, ..ActorOptions::default() };
    match SystemImpl::create(system, new, options) {
        Ok(address) => Ok(Reply::Created(WireAddress::of(&address))),
        // Neither here nor on any member of its convention.
        Err(Error::NoCompatibleSystem { actor_type, system, reason }) => {
            Err(Failure::NoCompatibleSystem { actor_type, system: system.as_str().to_owned(), reason })
        }
        Err(Error::ConstructorPanicked { actor, details }) => {
            Err(Failure::ConstructorPanicked { actor: actor.to_owned(), details })
        }
        Err(Error::ShutDown(_)) => Err(Failure::ShuttingDown),
        Err(e) => Err(Failure::Other(e.to_string())),
    }
}

/// What a node's connections share.
struct NodeShared {
    this: std::sync::Weak<NodeShared>,
    system: Arc<ThreadedSystem>,
    router: Arc<Router>,
    convention: Option<Arc<Convention>>,
    identity: Identity,
    cookie: String,
    max_frame: usize,
    runtime: tokio::runtime::Handle,
    clients: AtomicU64,
    next_connection: AtomicU64,
    /// Shutdown requests, for the node's main thread.
    stop: Mutex<std::sync::mpsc::Sender<(u64, Peer)>>,
}

impl NodeShared {
    fn status(&self) -> NodeStatus {
        let stats = SystemImpl::stats(&*self.system);
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
            capabilities: Capabilities::clone(&self.system.core.capabilities()),
            convention: self.convention.as_ref().map(|c| c.status()),
        }
    }

    /// The convention hears of it through the system's own hook.
    fn update_capability(&self, name: String, value: Option<crate::capabilities::Value>) {
        let _ = SystemImpl::update_capability(&*self.system, name, value);
    }

    /// A connection whose handshake is done, served until it ends.
    async fn serve(self: Arc<Self>, conn: Connection, peer: Peer, remote: String) {
        let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
        if let Some(convention) = &self.convention {
            convention.connection(connection, true);
        }
        let core = Arc::downgrade(&self.system.core);
        let (stream, writer, stop_writer) = open(conn, self.max_frame, peer.clone(), core, &self.runtime);
        serve_connection(self, stream, peer, remote, connection).await;
        // What was queued for that process, and anything sent to it later, becomes a dead
        // letter: nothing is queued for nobody.
        let _ = stop_writer.send(());
        let _ = writer.await;
    }

    /// A connection from another process: its handshake, then served.
    async fn accept(self: Arc<Self>, stream: tokio::net::TcpStream, from: SocketAddr) {
        // Small frames until the peer has proved it knows the cookie: a stranger cannot make the
        // node reserve large buffers.
        let mut conn = wire::frame(stream, wire::HANDSHAKE_MAX_FRAME);
        let handshake = wire::handshake_accept(&mut conn, &self.identity, &self.cookie);
        let remote = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
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
        conn.codec_mut().set_max_frame_length(self.max_frame);
        let peer = if is_node_identity(&remote.node) {
            // Another node: this connection is a way there unless there is one already.
            let outbox = Outbox::new(self.router.send_queue_limit);
            self.router.adopt(&remote.node, &outbox);
            outbox
        } else {
            let Some(peer) = self.router.outbox_for(&remote.node) else {
                let reason = format!("a process named {} is connected already", remote.node);
                tracing::warn!(%from, %reason, "refused a connection");
                let _ = wire::write(&mut conn, &Frame::Refused { reason }).await;
                return;
            };
            self.clients.fetch_add(1, Ordering::Relaxed);
            peer
        };
        self.serve(conn, peer, remote.node).await;
    }

    /// Connects to another node; on failure, what waited for it becomes dead letters.
    async fn connect(self: Arc<Self>, node: String, outbox: Peer) {
        let timeout = self.convention_silence();
        let result: std::result::Result<Connection, String> = async {
            let address: SocketAddr = node.parse().map_err(|_| format!("`{node}` is not an address"))?;
            let stream = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address))
                .await
                .map_err(|_| "connecting timed out".to_owned())?
                .map_err(|e| e.to_string())?;
            let mut conn = wire::frame(stream, self.max_frame);
            let handshake = wire::handshake_connect(&mut conn, &self.identity, &self.cookie);
            let peer = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
                .await
                .map_err(|_| "no handshake in time".to_owned())?
                .map_err(|e| e.to_string())?;
            if peer.node != node {
                return Err(format!("the node there is {}", peer.node));
            }
            Ok(conn)
        }
        .await;
        match result {
            Ok(conn) => self.serve(conn, outbox, node).await,
            Err(why) => {
                tracing::debug!(%node, %why, "cannot connect to a node");
                self.router.disconnected(&node, &outbox);
                outbox.close(Some(&self.system.core));
                if let Some(convention) = &self.convention {
                    convention.unreachable(&node, &why);
                }
            }
        }
    }

    fn convention_silence(&self) -> Duration {
        self.convention.as_ref().map_or(Duration::from_secs(3), |c| c.silence()).max(Duration::from_millis(500))
    }
}

impl Dialer for NodeShared {
    fn dial(&self, node: &str, outbox: Peer) {
        if let Some(this) = self.this.upgrade() {
            self.runtime.spawn(this.connect(node.to_owned(), outbox));
        }
    }
}

pub(super) fn run_node() -> Result<()> {
    let settings = TcpSettings::from_env();
    crate::message::check_registry()?;
    let listener = std::net::TcpListener::bind(settings.admin_address())?;
    listener.set_nonblocking(true)?;
    let node_id = settings.admin_address().to_string();
    let (program, build) = wire::program_identity();
    let identity = Identity { node: node_id.clone(), program, build, pid: std::process::id() };
    let capabilities = super::convention::capabilities_from_env();
    let system = Arc::new(
        ThreadedSystem::new(NodeId::intern(&node_id), None, Duration::from_secs(10))?
            .with_capabilities(Arc::new(capabilities.clone())),
    );
    tracing::info!(node = %node_id, pid = std::process::id(), program = %identity.program, build = %identity.build, "node started");
    let net = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("thespian-net")
        .build()?;
    let isolation = Isolation {
        node_id: node_id.clone(),
        settings: settings.clone(),
        program: std::env::current_exe()?,
        next: AtomicU64::new(1),
        core: std::sync::OnceLock::new(),
        runtime: net.handle().clone(),
        expected: Mutex::new(std::collections::HashSet::new()),
        children: Mutex::new(HashMap::new()),
    };
    let _ = isolation.core.set(Arc::downgrade(&system.core));
    let router = Router::new(None, &settings, Some(isolation), None);
    let _ = system.core.remote.set(router.clone());
    let convention_settings = ConventionSettings::from_env();
    let convention = (!convention_settings.leaders.is_empty()).then(|| {
        let me = MemberInfo {
            node: node_id.clone(),
            incarnation: incarnation(),
            capabilities,
            program: identity.program.clone(),
            build: identity.build.clone(),
        };
        Convention::new(convention_settings, me, &router, &system.core)
    });
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    let shared = Arc::new_cyclic(|this| NodeShared {
        this: this.clone(),
        system: system.clone(),
        router: router.clone(),
        convention: convention.clone(),
        identity,
        cookie: settings.cookie(),
        max_frame: settings.max_frame(),
        runtime: net.handle().clone(),
        clients: AtomicU64::new(0),
        next_connection: AtomicU64::new(1),
        stop: Mutex::new(stop_tx),
    });
    let _ = router.dialer.set(shared.clone());
    if let Some(convention) = &convention {
        let _ = router.convention.set(convention.clone());
        net.spawn(convention.clone().run());
        if let Some(mut lines) = super::gather::start() {
            let convention = convention.clone();
            net.spawn(async move {
                while let Some((error, line)) = lines.recv().await {
                    convention.forward_log(error, line);
                }
            });
        }
    }
    let accepting = {
        let shared = shared.clone();
        net.spawn(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen");
                    return;
                }
            };
            loop {
                match listener.accept().await {
                    Ok((stream, from)) => {
                        tokio::spawn(shared.clone().accept(stream, from));
                    }
                    Err(e) => {
                        // Out of descriptors, say: wait rather than spin.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        })
    };
    // Serve until a client asks for shutdown; then stop every actor, answer, and end.
    let (id, peer) = stop_rx.recv().map_err(|_| Error::ShutDown(NodeId::intern(&node_id)))?;
    tracing::info!(node = %node_id, "shutting down");
    // No new process joins a node that is ending: the admin port is free again at once, and a
    // process that comes now starts a new node.
    accepting.abort();
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
    // So are the actors it placed on other members.
    let placed = convention.as_ref().map(|c| c.placed_top_level(&system.core.system)).unwrap_or_default();
    for address in top_level.iter().chain(&placed) {
        system.core.tell_to_exit(address);
    }
    let result = SystemImpl::shutdown(&*system);
    // Only now that its actors are gone (children elsewhere included, whose exits come back
    // through the convention) does the node leave it.
    if let Some(convention) = &convention {
        convention.leave();
    }
    // Whatever isolated process is still there after the actors' exits ends now.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !isolation.children.lock().unwrap_or_else(|e| e.into_inner()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for child in isolation.children.lock().unwrap_or_else(|e| e.into_inner()).values() {
        child.kill();
    }

    let response = match result {
        Ok(()) => Ok(Reply::ShutDown),
        Err(e) => Err(encode_failure(&Failure::Other(e.to_string()))),
    };
    let _ = peer.frame(&Frame::Response { id, response });
    // Let the answer go out before the process ends.
    drop(peer);
    std::thread::sleep(Duration::from_millis(50));
    net.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// A number drawn when the node starts, telling it from an earlier node at the same address.
fn incarnation() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        return nanos as u64 ^ u64::from(std::process::id());
    }
    u64::from_le_bytes(bytes)
}
