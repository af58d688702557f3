//! Routing between processes: which connection an address of another process goes over, the
//! frames held for an isolated actor's process while it starts, and what happens when it ends.

use super::*;

/// Routes messages for other processes over their connection.
pub(super) struct Router {
    pub(super) this: std::sync::Weak<Router>,
    /// Where everything goes that has no connection of its own (a client's node).
    pub(super) upstream: Option<Peer>,
    /// Connections by the identity of the process at the other end (a node's clients).
    /// Read on every message, changed when a process connects or leaves.
    pub(super) peers: std::sync::RwLock<HashMap<String, Peer>>,
    pub(super) max_frame: usize,
    /// A node's actors that run in processes of their own.
    pub(super) isolation: Option<Isolation>,
    /// In an isolated actor's process: that actor, whose exit the node reports (not this process).
    pub(super) isolated_actor: Option<WireAddress>,
}

/// What a node knows of the processes it started for isolated actors.
pub(super) struct Isolation {
    pub(super) node_id: String,
    pub(super) settings: TcpSettings,
    pub(super) program: PathBuf,
    pub(super) next: AtomicU64,
    pub(super) core: std::sync::OnceLock<std::sync::Weak<Core>>,
    /// Frames for processes started but not connected yet, in the order sent.
    pub(super) expected: Mutex<HashMap<String, Vec<Frame>>>,
    pub(super) children: Mutex<HashMap<String, IsolatedChild>>,
}

pub(super) struct IsolatedChild {
    pub(super) parent: ActorAddress,
    pub(super) address: ActorAddress,
    pub(super) global_name: Option<String>,
    pub(super) pid: Option<u32>,
}

impl Router {
    pub(super) fn new(
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
    pub(super) fn route(&self, node: NodeId, frame: Frame) -> Option<Frame> {
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
    pub(super) fn connected(&self, node: &str, peer: Peer) {
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
    pub(super) fn isolated_gone(&self, node: &str) {
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
