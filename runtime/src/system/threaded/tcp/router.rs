//! Routing between processes: which connection an address of another process goes over, the
//! messages held for an isolated actor's process while it starts, and what happens when it ends.

use std::collections::HashSet;

use super::*;

/// Routes messages for other processes over their connection.
pub(super) struct Router {
    pub(super) this: std::sync::Weak<Router>,
    /// Where everything goes that has no connection of its own (a client's node).
    pub(super) upstream: Option<Peer>,
    /// Outboxes by the identity of the process at the other end: a node's clients, and the
    /// isolated actors' processes it has started (connected or not yet). Read on every message,
    /// changed when a process starts, connects or leaves.
    pub(super) peers: std::sync::RwLock<HashMap<String, Peer>>,
    pub(super) max_frame: usize,
    pub(super) send_queue_limit: usize,
    /// A node's actors that run in processes of their own.
    pub(super) isolation: Option<Isolation>,
    /// In an isolated actor's process: that actor, whose exit the node reports (not this process).
    pub(super) isolated_actor: Option<WireAddress>,
    /// In an isolated actor's process: the numbers for the processes its own isolated children
    /// get (the node starts them).
    next_child: AtomicU64,
    /// In a node: connects to other nodes when there is something to send them.
    pub(super) dialer: std::sync::OnceLock<Arc<dyn Dialer>>,
    /// In a node of a convention: its members, placement and watchers.
    pub(super) convention: std::sync::OnceLock<Arc<dyn ConventionHooks>>,
}

/// Opens connections to other nodes.
pub(super) trait Dialer: Send + Sync {
    /// Starts connecting to `node`; what is sent meanwhile waits in `outbox`.
    fn dial(&self, node: &str, outbox: Peer);
}

/// What routing and creation ask of a node's convention.
pub(super) trait ConventionHooks: Send + Sync {
    /// Whether `node`, a node's identity, is one to connect to (a member, or a leader).
    fn knows(&self, node: &str) -> bool;
    /// Places an actor this node cannot host on a member that can; its address at once.
    fn place(
        &self,
        parent: &ActorAddress,
        actor_type: &str,
        requirements: &crate::capabilities::Requirements,
        global_name: Option<String>,
    ) -> Option<ActorAddress>;
    /// Starts (or stops) telling `watcher` of members joining and leaving.
    fn watch(&self, watcher: &ActorAddress, on: bool);
    /// An actor placed elsewhere has exited; `false` when its parent was told already (its member
    /// was lost), so the notice is not passed on twice.
    fn child_exited(&self, child: &ActorAddress) -> bool;
    /// This node's capabilities changed.
    fn capabilities_changed(&self, capabilities: &crate::capabilities::Capabilities);
}

/// The node a process identity belongs to: a node's own identity is `host:port`; its clients'
/// are `host:port#...` and its isolated actors' processes' `host:port/...`.
pub(super) fn home_node(identity: &str) -> &str {
    identity.split(['/', '#']).next().unwrap_or(identity)
}

/// Whether an identity is a node's own (not one of its clients' or isolated processes').
pub(super) fn is_node_identity(identity: &str) -> bool {
    !identity.contains(['/', '#'])
}

/// What a node knows of the processes it started for isolated actors.
pub(super) struct Isolation {
    pub(super) node_id: String,
    pub(super) settings: TcpSettings,
    pub(super) program: PathBuf,
    pub(super) next: AtomicU64,
    pub(super) core: std::sync::OnceLock<std::sync::Weak<Core>>,
    /// The node's network runtime, for start deadlines.
    pub(super) runtime: tokio::runtime::Handle,
    /// Processes started but not connected yet (their outboxes are in `peers`, holding what is
    /// sent to them meanwhile, in order).
    pub(super) expected: Mutex<HashSet<String>>,
    pub(super) children: Mutex<HashMap<String, IsolatedChild>>,
}

pub(super) struct IsolatedChild {
    pub(super) parent: ActorAddress,
    pub(super) address: ActorAddress,
    pub(super) global_name: Option<String>,
    pub(super) pid: Option<u32>,
    /// A handle on the process itself: a signal sent through it can never reach another process
    /// that happens to get the same pid after this one has ended.
    pub(super) pidfd: Option<Arc<rustix::fd::OwnedFd>>,
}

impl IsolatedChild {
    /// Ends the process at once.
    pub(super) fn kill(&self) {
        if let Some(pidfd) = &self.pidfd {
            let _ = rustix::process::pidfd_send_signal(pidfd, rustix::process::Signal::KILL);
        }
    }
}

/// Encodes a message with this program's registry into a buffer kept per thread, so a message on
/// its way to another process costs no allocation of its own.
fn with_encoded<R>(msg: &dyn crate::Message, f: impl FnOnce(&[u8]) -> R) -> std::result::Result<R, String> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| {
        let mut fresh = Vec::new();
        let mut borrowed = scratch.try_borrow_mut();
        let buf = match &mut borrowed {
            Ok(buf) => &mut **buf,
            // Only if a message's own `Serialize` sends a message: then a buffer of its own.
            Err(_) => &mut fresh,
        };
        buf.clear();
        let result = rmp_serde::encode::write_named(buf, msg).map(|()| f(buf)).map_err(|e| e.to_string());
        // A huge message leaves no huge buffer behind.
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        result
    })
}

impl Router {
    pub(super) fn new(
        upstream: Option<Peer>,
        settings: &TcpSettings,
        isolation: Option<Isolation>,
        isolated_actor: Option<WireAddress>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| Router {
            this: this.clone(),
            upstream,
            peers: std::sync::RwLock::new(HashMap::new()),
            max_frame: settings.max_frame(),
            send_queue_limit: settings.send_queue_limit(),
            isolation,
            isolated_actor,
            next_child: AtomicU64::new(1),
            dialer: std::sync::OnceLock::new(),
            convention: std::sync::OnceLock::new(),
        })
    }

    /// Runs `f` on the outbox for the process `node`: its own, or upstream. `None` when there is
    /// none.
    pub(super) fn with_outbox<R>(&self, node: NodeId, f: impl FnOnce(&Outbox) -> R) -> Option<R> {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        if let Some(peer) = peers.get(node.as_str()) {
            return Some(f(peer));
        }
        // A process of another node: through that node.
        let home = home_node(node.as_str());
        if home.len() != node.as_str().len()
            && let Some(peer) = peers.get(home)
        {
            return Some(f(peer));
        }
        drop(peers);
        if let Some(outbox) = self.dial(home) {
            return Some(f(&outbox));
        }
        self.upstream.as_deref().map(f)
    }

    /// The outbox for another node of the convention, connecting to it if there is none yet.
    pub(super) fn dial(&self, node: &str) -> Option<Peer> {
        let dialer = self.dialer.get()?;
        // Never this node itself: what no process of it has is a dead letter, not a loop.
        if self.isolation.as_ref().is_some_and(|i| i.node_id == node)
            || !self.convention.get().is_some_and(|c| c.knows(node))
        {
            return None;
        }
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = peers.get(node) {
            return Some(existing.clone());
        }
        let outbox = Outbox::new(self.send_queue_limit);
        peers.insert(node.to_owned(), outbox.clone());
        drop(peers);
        dialer.dial(node, outbox.clone());
        Some(outbox)
    }

    /// The actors this node hosts, in processes of their own, that `node` placed here.
    pub(super) fn hosted_for(&self, node: &str) -> Vec<ActorAddress> {
        let Some(isolation) = &self.isolation else { return Vec::new() };
        let prefix = format!("{}/via-{node}-", isolation.node_id);
        let children = isolation.children.lock().unwrap_or_else(|e| e.into_inner());
        children.iter().filter(|(name, _)| name.starts_with(&prefix)).map(|(_, c)| c.address.clone()).collect()
    }

    /// A connection from another node: its outbox is the way there unless one exists already
    /// (the two nodes dialled each other; each writes on the connection it has, and reads both).
    pub(super) fn adopt(&self, node: &str, outbox: &Peer) {
        self.peers.write().unwrap_or_else(|e| e.into_inner()).entry(node.to_owned()).or_insert_with(|| outbox.clone());
    }

    /// Forgets every connection to `node` and its processes: what waits in them becomes dead
    /// letters.
    pub(super) fn forget_node(&self, core: &Core, node: &str) {
        let gone: Vec<Peer> = {
            let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
            let names: Vec<String> = peers.keys().filter(|k| home_node(k) == node).cloned().collect();
            names.iter().filter_map(|n| peers.remove(n)).collect()
        };
        for outbox in gone {
            outbox.close(Some(core));
        }
    }

    /// Queues a frame for `node` only if a connection to it is open (or opening): never dials.
    pub(super) fn frame_if_connected(&self, node: &str, frame: &Frame) -> bool {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        peers.get(node).is_some_and(|out| out.frame(frame).is_ok())
    }

    /// Queues a frame for the process `node`; `false` when there is nowhere to put it.
    pub(super) fn route_frame(&self, node: NodeId, frame: &Frame) -> bool {
        self.with_outbox(node, |out| out.frame(frame).is_ok()).unwrap_or(false)
    }

    /// Passes on an envelope that arrived for another process, as it came: the node need not know
    /// its type. One that cannot be passed on goes back to its sender as a `PoisonMessage`, or
    /// becomes a dead letter when that process has gone.
    pub(super) fn forward(&self, core: &Core, env: EnvelopeIn) {
        if env.body().len() + 4096 > self.max_frame {
            let details = format!(
                "a `{}` of {} bytes is over this node's maximum frame of {} bytes",
                env.wire_name(),
                env.body().len(),
                self.max_frame
            );
            return return_to_sender(core, &env, None, details);
        }
        let result = self
            .with_outbox(env.target.node(), |out| out.envelope(&env.sender, &env.target, env.wire_name(), env.body()));
        match result {
            Some(Ok(())) => {}
            Some(Err(Refused::Backlog(waiting))) => {
                let details = self.backlog(env.target.node(), waiting);
                let message = crate::message::from_bytes(env.body()).ok();
                return_to_sender(core, &env, message, details);
            }
            _ => undelivered(core, env),
        }
    }

    /// Why a message to `node` is refused while `waiting` bytes wait for its connection.
    fn backlog(&self, node: NodeId, waiting: usize) -> String {
        format!(
            "the connection to {node} is not keeping up: {waiting} bytes are waiting (limit {})",
            self.send_queue_limit
        )
    }

    /// The outbox for a process that has just connected as `node`: the one that held what was
    /// sent to it while it started, or a new one. `None` when a process of that identity is
    /// already connected.
    pub(super) fn outbox_for(&self, node: &str) -> Option<Peer> {
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        let was_expected =
            self.isolation.as_ref().is_some_and(|i| i.expected.lock().unwrap_or_else(|e| e.into_inner()).remove(node));
        match peers.get(node) {
            Some(waiting) if was_expected => Some(waiting.clone()),
            Some(_) => None,
            None => {
                let outbox = Outbox::new(self.send_queue_limit);
                peers.insert(node.to_owned(), outbox.clone());
                Some(outbox)
            }
        }
    }

    /// A process's connection has ended: later messages to it become dead letters.
    pub(super) fn disconnected(&self, node: &str, outbox: &Peer) {
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        if peers.get(node).is_some_and(|current| Arc::ptr_eq(current, outbox)) {
            peers.remove(node);
        }
    }

    /// An isolated actor's process has gone (it exited, crashed or was killed; or never started):
    /// what was waiting for it becomes dead letters, and its parent is told — once.
    pub(super) fn isolated_gone(&self, node: &str) {
        let Some(isolation) = &self.isolation else { return };
        let Some(child) = isolation.children.lock().unwrap_or_else(|e| e.into_inner()).remove(node) else { return };
        let Some(core) = isolation.core.get().and_then(std::sync::Weak::upgrade) else { return };
        isolation.expected.lock().unwrap_or_else(|e| e.into_inner()).remove(node);
        let outbox = self.peers.write().unwrap_or_else(|e| e.into_inner()).remove(node);
        if let Some(outbox) = outbox {
            outbox.close(Some(&core));
        }
        if let Some(name) = &child.global_name {
            core.names.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
        }
        tracing::info!(actor = %child.address, pid = ?child.pid, "isolated actor's process ended");
        core.tell_exited(&child.parent, child.address);
    }

    /// Starts a process for an isolated actor named `node` (an identity under this node's), whose
    /// parent is `parent`. Until it connects, what is sent to it waits in its outbox; if it does
    /// not connect in time, it is killed.
    pub(super) fn spawn_isolated(
        &self,
        core: &Core,
        node: String,
        parent: &ActorAddress,
        actor_type: &str,
        global_name: Option<String>,
    ) -> Option<ActorAddress> {
        let isolation = self.isolation.as_ref()?;
        let address = ActorAddress::new(NodeId::intern(&node), crate::system::FIRST_ACTOR_ID, None);
        {
            let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
            if peers.contains_key(&node) {
                tracing::warn!(%node, "an isolated actor's process of that identity exists already");
                return None;
            }
            peers.insert(node.clone(), Outbox::new(self.send_queue_limit));
            isolation.expected.lock().unwrap_or_else(|e| e.into_inner()).insert(node.clone());
        }
        if let Some(name) = &global_name {
            core.names.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone(), address.clone());
        }
        let child = IsolatedChild {
            parent: parent.without_route(),
            address: address.clone(),
            global_name,
            pid: None,
            pidfd: None,
        };
        isolation.children.lock().unwrap_or_else(|e| e.into_inner()).insert(node.clone(), child);
        let mut command = std::process::Command::new(&isolation.program);
        // The node's own arguments: they brought the program to the point where it takes up its
        // role (a test program's filter, say).
        command
            .args(std::env::args_os().skip(1))
            .env(ROLE_VAR, "actor")
            .env(ROLE_PARENT_VAR, std::process::id().to_string())
            .env(ACTOR_TYPE_VAR, actor_type)
            .env(ACTOR_NODE_VAR, &node)
            .env(ACTOR_PARENT_VAR, format!("{}|{}", parent.node(), parent.id()))
            .stdin(std::process::Stdio::null());
        isolation.settings.pass_on(&mut command);
        match command.spawn() {
            Ok(mut process) => {
                let pid = process.id();
                // Opened before anyone waits for the process, so it is this one for certain.
                let pidfd = rustix::process::Pid::from_raw(pid as i32)
                    .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok())
                    .map(Arc::new);
                if let Some(child) = isolation.children.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&node) {
                    child.pid = Some(pid);
                    child.pidfd = pidfd;
                }
                tracing::debug!(actor = %address, actor_type, pid, "started an isolated actor's process");
                let router = self.this.clone();
                let watched = node.clone();
                std::thread::spawn(move || {
                    let _ = process.wait();
                    if let Some(router) = router.upgrade() {
                        router.isolated_gone(&watched);
                    }
                });
                // One that never connects (a constructor that never returns, say) is ended.
                let router = self.this.clone();
                let deadline = isolation.settings.isolated_start_timeout();
                isolation.runtime.spawn(async move {
                    tokio::time::sleep(deadline).await;
                    let Some(router) = router.upgrade() else { return };
                    let Some(isolation) = &router.isolation else { return };
                    if isolation.expected.lock().unwrap_or_else(|e| e.into_inner()).contains(&node)
                        && let Some(child) = isolation.children.lock().unwrap_or_else(|e| e.into_inner()).get(&node)
                    {
                        tracing::warn!(%node, pid, ?deadline, "an isolated actor's process did not start in time; killing it");
                        child.kill();
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

/// An envelope that cannot be passed on goes back to its sender as a `PoisonMessage` saying why.
fn return_to_sender(core: &Core, env: &EnvelopeIn, message: Option<Box<dyn crate::Message>>, details: String) {
    tracing::warn!(target_actor = %env.target, %details, "message cannot be passed on");
    let poison = PoisonMessage { message, message_type: env.wire_name().to_owned(), details };
    core.send(&env.sender, Envelope { sender: env.target.clone(), msg: Payload::new(poison) });
}

impl Remote for Router {
    fn send(&self, core: &Core, to: &ActorAddress, env: Envelope) {
        let Envelope { sender, msg } = env;
        let wire_name = msg.wire_name();
        if let Some(me) = &self.isolated_actor
            && let Some(exited) = msg.downcast_ref::<crate::messages::ChildActorExited>()
            && exited.child.id() == me.id
            && exited.child.node().as_str() == me.node
        {
            // The node tells the parent when this process ends, however it ends.
            return;
        }
        let queued = with_encoded(msg.as_message(), |body| {
            // Room for the envelope around the body.
            if body.len() + 4096 > self.max_frame {
                return Err(format!(
                    "a `{wire_name}` of {} bytes is over the maximum frame of {} bytes",
                    body.len(),
                    self.max_frame
                ));
            }
            match self.with_outbox(to.node(), |out| out.envelope(&sender, to, wire_name, body)) {
                Some(Ok(())) => Ok(true),
                Some(Err(Refused::Backlog(waiting))) => Err(self.backlog(to.node(), waiting)),
                Some(Err(Refused::TooLong)) => Err(format!("`{wire_name}` or an address is too long to travel")),
                Some(Err(Refused::Closed)) | None => Ok(false),
            }
        });
        match queued {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => core.dead_letter(to, Envelope { sender, msg }),
            Ok(Err(details)) => bounce(core, to, Envelope { sender, msg }, details),
            Err(e) => bounce(core, to, Envelope { sender, msg }, format!("cannot serialize `{wire_name}`: {e}")),
        }
    }

    fn reaches(&self, node: NodeId) -> bool {
        // A client or an isolated process hands everything to its node; a node knows its peers
        // and the other nodes of its convention.
        if self.upstream.is_some() {
            return true;
        }
        let home = home_node(node.as_str());
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        peers.contains_key(node.as_str())
            || peers.contains_key(home)
            || self.convention.get().is_some_and(|c| c.knows(home))
    }

    fn target_gone(&self, sender: &ActorAddress, target: &ActorAddress) {
        let frame = Frame::Gone { to: WireAddress::of(sender), target: WireAddress::of(target) };
        let _ = self.route_frame(sender.node(), &frame);
    }

    fn place(
        &self,
        parent: &ActorAddress,
        actor_type: &'static str,
        requirements: &crate::capabilities::Requirements,
        global_name: Option<String>,
    ) -> Option<ActorAddress> {
        self.convention.get()?.place(parent, actor_type, requirements, global_name)
    }

    fn exited_elsewhere(&self, child: &ActorAddress) -> bool {
        self.convention.get().is_none_or(|convention| convention.child_exited(child))
    }

    fn watch_convention(&self, watcher: &ActorAddress, on: bool) {
        if let Some(convention) = self.convention.get() {
            convention.watch(watcher, on);
        } else if let Some(upstream) = &self.upstream
            && self.isolated_actor.is_some()
        {
            // An isolated actor's process: the node keeps the watchers.
            let request = Request::Watch { watcher: WireAddress::of(watcher), on };
            let _ = upstream.frame(&Frame::Request { id: 0, request });
        }
    }

    fn capability_updated(
        &self,
        name: &str,
        value: Option<&crate::capabilities::Value>,
        all: &crate::capabilities::Capabilities,
    ) {
        if let Some(convention) = self.convention.get() {
            convention.capabilities_changed(all);
        } else if let Some(upstream) = &self.upstream
            && self.isolated_actor.is_some()
        {
            // An isolated actor's process: the capabilities are its node's.
            let request = Request::UpdateCapability { name: name.to_owned(), value: value.cloned() };
            let _ = upstream.frame(&Frame::Request { id: 0, request });
        }
    }

    fn hosts_processes(&self) -> bool {
        self.isolation.is_some() || self.isolated_actor.is_some()
    }

    fn create_isolated(
        &self,
        core: &Core,
        parent: &ActorAddress,
        actor_type: &'static str,
        global_name: Option<String>,
    ) -> Option<ActorAddress> {
        if let Some(isolation) = &self.isolation {
            let n = isolation.next.fetch_add(1, Ordering::Relaxed);
            let node = format!("{}/proc-{n}", isolation.node_id);
            return self.spawn_isolated(core, node, parent, actor_type, global_name);
        }
        // An isolated actor's own isolated child: in a process of its own too, which the node
        // starts. Its identity is chosen here, so its address is known at once; the request goes
        // to the node ahead of anything sent to the child, on the same connection.
        let me = self.isolated_actor.as_ref()?;
        let upstream = self.upstream.as_ref()?;
        let n = self.next_child.fetch_add(1, Ordering::Relaxed);
        let node = format!("{}/proc-{n}", me.node);
        let request = Request::Spawn {
            node: node.clone(),
            actor_type: actor_type.to_owned(),
            parent: WireAddress::of(parent),
            global_name,
            requirements: Default::default(),
        };
        if upstream.frame(&Frame::Request { id: 0, request }).is_err() {
            return None;
        }
        Some(ActorAddress::new(NodeId::intern(&node), crate::system::FIRST_ACTOR_ID, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_process_claiming_a_connected_identity_is_refused_until_the_first_leaves() {
        let router = Router::new(None, &TcpSettings::default(), None, None);
        let first = router.outbox_for("127.0.0.1:1/proc-1").expect("the first is let in");
        assert!(router.outbox_for("127.0.0.1:1/proc-1").is_none(), "the second is refused");
        assert!(router.reaches(NodeId::intern("127.0.0.1:1/proc-1")));
        router.disconnected("127.0.0.1:1/proc-1", &first);
        assert!(!router.reaches(NodeId::intern("127.0.0.1:1/proc-1")));
        assert!(router.outbox_for("127.0.0.1:1/proc-1").is_some(), "let in once the first has gone");
    }
}
