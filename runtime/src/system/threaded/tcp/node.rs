//! The node: accepting processes, serving their requests, and its own life from start to shutdown.

use super::*;

/// A node's side of one client connection: envelopes in, requests answered.
async fn serve_client(
    core: Arc<Core>,
    system: Arc<ThreadedSystem>,
    node: Arc<NodeShared>,
    mut stream: Reader,
    peer: Peer,
    client: String,
) {
    let mut inbox = Inbox::default();
    let mut table = NodeTable::new();
    while let Some(incoming) = next_frame(&mut stream, &mut table, &core, &mut inbox, &client).await {
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
            Frame::Request { id, request } => {
                let response = match request {
                    Request::Create { actor_type, global_name } => {
                        // A constructor may take long: not on the thread every connection shares.
                        let (system, core, peer) = (system.clone(), core.clone(), peer.clone());
                        tokio::task::spawn_blocking(move || {
                            let response = create(&system, &core, actor_type, global_name);
                            let _ =
                                peer.frame(&Frame::Response { id, response: response.map_err(|f| encode_failure(&f)) });
                        });
                        continue;
                    }
                    Request::Spawn { node: child, actor_type, parent, global_name } => {
                        spawn_for(&core, &node.router, &client, child, &actor_type, parent.to_address(), global_name);
                        continue;
                    }
                    Request::Status => Ok(Reply::Status(node.status(&system))),
                    Request::Shutdown => {
                        // The main thread stops the actors, answers and ends the process.
                        let _ = node.stop.lock().unwrap_or_else(|e| e.into_inner()).send((id, peer.clone()));
                        continue;
                    }
                };
                let _ = peer.frame(&Frame::Response { id, response: response.map_err(|f| encode_failure(&f)) });
            }
            other => {
                tracing::warn!(%client, frame = ?other, "unexpected frame; dropping the connection");
                break;
            }
        }
    }
    inbox.flush(&core);
    node.router.disconnected(&client, &peer);
    node.router.isolated_gone(&client);
    node.clients.fetch_sub(1, Ordering::Relaxed);
    tracing::debug!(%client, "client disconnected");
}

/// An isolated actor asks for an isolated child: started like any, under the identity it chose —
/// which must be one under its own, so no process can take another's name.
fn spawn_for(
    core: &Core,
    router: &Router,
    requester: &str,
    child: String,
    actor_type: &str,
    parent: ActorAddress,
    global_name: Option<String>,
) {
    let under_requester = child.strip_prefix(requester).is_some_and(|rest| rest.starts_with("/proc-"));
    let started =
        under_requester && router.spawn_isolated(core, child.clone(), &parent, actor_type, global_name).is_some();
    if !started {
        tracing::warn!(%requester, %child, actor_type, "refused to start an isolated actor's process");
        let address = ActorAddress::new(NodeId::intern(&child), crate::system::FIRST_ACTOR_ID, None);
        let note = Envelope {
            sender: core.system.clone(),
            msg: Payload::new(crate::messages::ChildActorExited { child: address }),
        };
        core.send(&parent, note);
    }
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

pub(super) fn run_node() -> Result<()> {
    let settings = TcpSettings::from_env();
    crate::message::check_registry()?;
    let listener = std::net::TcpListener::bind(settings.admin_address())?;
    listener.set_nonblocking(true)?;
    let node_id = settings.admin_address().to_string();
    let (program, build) = wire::program_identity();
    let identity = Identity { node: node_id.clone(), program, build, pid: std::process::id() };
    let system = Arc::new(ThreadedSystem::new(NodeId::intern(&node_id), None, Duration::from_secs(10))?);
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
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    let shared = Arc::new(NodeShared { router, identity, clients: AtomicU64::new(0), stop: Mutex::new(stop_tx) });
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
                    let Some(peer) = shared.router.outbox_for(&client.node) else {
                        let reason = format!("a process named {} is connected already", client.node);
                        tracing::warn!(%from, %reason, "refused a connection");
                        let _ = wire::write(&mut conn, &Frame::Refused { reason }).await;
                        return;
                    };
                    let core = Arc::downgrade(&system.core);
                    let (stream, writer, stop_writer) =
                        open(conn, max_frame, peer.clone(), core, &tokio::runtime::Handle::current());
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
