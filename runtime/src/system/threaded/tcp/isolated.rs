//! An isolated actor's process: one actor, joined to the node that started it.

use super::*;

/// An isolated actor's process: joins the node under the identity it was given, creates its one
/// actor with the parent it was given, and ends when the actor exits or the node goes.
pub(super) fn run_isolated() -> Result<()> {
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
    let tag = me.clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_ansi(false)
        .with_writer(move || Tagged { tag: tag.clone(), out: std::io::stderr() })
        .try_init();
    let parent = match parent.rsplit_once('|') {
        Some((node, id)) => ActorAddress::new(NodeId::intern(node), id.parse().unwrap_or(0), None),
        None => return Err(Error::Unsupported("an isolated actor's parent address is malformed")),
    };
    let client = TcpClient::join(
        TcpSettings::from_env(),
        Duration::from_secs(10),
        Some(IsolatedRole { node, actor_type, parent }),
    )?;
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
pub(super) struct IsolatedRole {
    pub(super) node: String,
    pub(super) actor_type: String,
    pub(super) parent: ActorAddress,
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
