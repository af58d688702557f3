//! A process joined to a node: its connection, its requests, and the `SystemImpl` it offers.

use super::*;

/// A process joined to a node.
pub(crate) struct TcpClient {
    node: NodeId,
    address: String,
    pub(super) local: ThreadedSystem,
    net: Mutex<Option<tokio::runtime::Runtime>>,
    upstream: Peer,
    pending: Pending,
    next_request: AtomicU64,
    shutdown_timeout: Duration,
    /// Cleared when the connection to the node is lost.
    pub(super) connected: Arc<std::sync::atomic::AtomicBool>,
    /// Set once this process has asked the node to shut down.
    closed: std::sync::atomic::AtomicBool,
}

impl TcpClient {
    pub fn connect(settings: TcpSettings, shutdown_timeout: Duration) -> Result<Self> {
        Self::join(settings, shutdown_timeout, None)
    }

    /// Joins the node: as a client, or (given its assigned identity) as an isolated actor's
    /// process, which never starts a node.
    pub(super) fn join(settings: TcpSettings, shutdown_timeout: Duration, role: Option<IsolatedRole>) -> Result<Self> {
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
        let upstream = Outbox::new(settings.send_queue_limit());
        let (stream, writer, stop_writer) =
            open(conn, settings.max_frame(), upstream.clone(), Arc::downgrade(&local.core), net.handle());
        let router = Router::new(Some(upstream.clone()), &settings, None, isolated_actor);
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
        if self.upstream.frame(&Frame::Request { id, request }).is_err() {
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
            Failure::NoCompatibleSystem { actor_type, system, reason } => {
                Error::NoCompatibleSystem { actor_type, system: NodeId::intern(&system), reason }
            }
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
    mut stream: Reader,
    pending: Pending,
    address: String,
    writer: tokio::task::JoinHandle<()>,
    stop_writer: oneshot::Sender<()>,
) {
    let mut inbox = Inbox::default();
    let mut table = NodeTable::new();
    while let Some(incoming) = next_frame(&mut stream, &mut table, &core, &mut inbox, &address).await {
        let frame = match incoming {
            Incoming::Envelope(env) => {
                deliver_incoming(&core, &mut inbox, env);
                continue;
            }
            Incoming::Frame(frame) => frame,
        };
        match frame {
            Frame::Refused { reason } => {
                tracing::error!(node = %address, %reason, "the node refused this process");
                break;
            }
            Frame::Gone { to, target } => target_gone(&core, &to, &target),
            Frame::Response { id, response } => {
                let waiting = pending.lock().unwrap_or_else(|e| e.into_inner()).as_mut().and_then(|p| p.remove(&id));
                if let Some(tx) = waiting {
                    let _ = tx.send(response);
                }
            }
            other => tracing::warn!(node = %address, frame = ?other, "unexpected frame from the node"),
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
    let name = if settings.admin_host == std::net::Ipv4Addr::LOCALHOST {
        format!("thespian-node-{}.log", settings.admin_port)
    } else {
        format!("thespian-node-{}-{}.log", settings.admin_host, settings.admin_port)
    };
    let log = std::env::temp_dir().join(name);
    let log_file = std::fs::File::create(&log)?;
    let mut command = std::process::Command::new(&program);
    command
        .args(&settings.node_args)
        .env(ROLE_VAR, "node")
        .env(ROLE_PARENT_VAR, std::process::id().to_string())
        .env(LOG_VAR, &log)
        .stdin(std::process::Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    settings.pass_on(&mut command);
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
        self.create_by_name(new.type_name(), options)
    }

    fn create_by_name(&self, wire_name: &str, options: ActorOptions) -> Result<ActorAddress> {
        // The node decides: a taken global name wins over any type, even one unknown here.
        let request = Request::Create {
            actor_type: wire_name.to_owned(),
            global_name: options.global_name,
            requirements: options.requirements,
        };
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
        let (from, _forget_when_done) = core.reply_slot(super::super::SlotTx::Blocking(tx), true);
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

    fn capabilities(&self) -> Result<crate::capabilities::Capabilities> {
        match self.request(Request::Capabilities, Duration::from_secs(10))? {
            Reply::Capabilities(capabilities) => Ok(capabilities),
            other => Err(Error::NodeUnavailable { address: self.address.clone(), details: format!("{other:?}") }),
        }
    }

    fn update_capability(&self, name: String, value: Option<crate::capabilities::Value>) -> Result<()> {
        self.request(Request::UpdateCapability { name, value }, Duration::from_secs(10)).map(|_| ())
    }

    fn node_status(&self) -> Result<NodeStatus> {
        match self.request(Request::Status, Duration::from_secs(10))? {
            Reply::Status(status) => Ok(*status),
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
