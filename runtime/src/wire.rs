//! The wire between processes: length-delimited frames, a handshake, and envelopes.
//!
//! One TCP connection per pair of endpoints, `TCP_NODELAY`, frames of a `u32` length and an
//! `rmp-serde` body, with an explicit maximum size that is checked from the length header before
//! anything is buffered. The connection opens with a handshake: both sides say their protocol
//! version, identity, program and build, and prove they know the shared cookie with an
//! HMAC-SHA256 over both sides' nonces. Then envelopes flow both ways, never acknowledged one by
//! one: a writer task batches whatever is queued into as few writes as it can.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use crate::address::{ActorAddress, NodeId};

/// The protocol version this build speaks. A peer speaking another one is refused.
pub(crate) const PROTOCOL_VERSION: u32 = 2;

/// The default maximum frame: a message larger than this is refused before it is buffered.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024 * 1024;

/// The largest frame a peer may send before it has proved it knows the cookie.
pub(crate) const HANDSHAKE_MAX_FRAME: usize = 4096;

/// How long a peer has to complete the handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// A framed connection.
pub(crate) type Connection = Framed<TcpStream, LengthDelimitedCodec>;

/// Frames a freshly opened stream.
pub(crate) fn frame(stream: TcpStream, max_frame: usize) -> Connection {
    let _ = stream.set_nodelay(true);
    // A peer whose host is gone (no reset ever comes) is noticed by the kernel within seconds,
    // not the quarter of an hour its default takes: the connection then ends like any other.
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(5))
        .with_interval(Duration::from_secs(1))
        .with_retries(3);
    let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);
    Framed::new(stream, LengthDelimitedCodec::builder().max_frame_length(max_frame).new_codec())
}

/// Who is at the other end, as said in its hello.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The node (or client) identity that its addresses carry.
    pub node: String,
    /// The program's path, to tell an older build of the same program from another program.
    pub program: String,
    /// The program's build stamp.
    pub build: String,
    /// The process id.
    pub pid: u32,
}

/// An address as it travels. Its node name is borrowed when sending (node names live for the
/// whole process), so an envelope going out allocates nothing for its addresses.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct WireAddress {
    pub node: std::borrow::Cow<'static, str>,
    pub id: u64,
}

impl WireAddress {
    pub fn of(address: &ActorAddress) -> Self {
        WireAddress { node: std::borrow::Cow::Borrowed(address.node().as_str()), id: address.id() }
    }

    pub fn to_address(&self) -> ActorAddress {
        ActorAddress::new(NodeId::intern(&self.node), self.id, None)
    }
}

/// Everything that travels on a connection, except envelopes: those have an encoding of their
/// own (see the outbox of the `MultiprocTcp` base), as they travel by the million.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Frame {
    /// The first frame each side sends.
    Hello { version: u32, identity: Identity, nonce: [u8; 32] },
    /// The second: the HMAC over both nonces, proving the cookie.
    Proof {
        #[serde(with = "serde_bytes")]
        mac: Vec<u8>,
    },
    /// The handshake failed: why. The connection closes after it.
    Refused { reason: String },
    /// A message from `to` could not be delivered because `target` has gone: an `ask` waiting
    /// at `to` fails at once.
    Gone { to: WireAddress, target: WireAddress },
    /// Between the nodes of a convention: registrations, member lists, leaving.
    Convention(ConventionFrame),
    /// A request of the external API, answered by a `Response` with the same id.
    Request { id: u64, request: Request },
    /// The answer to a `Request`.
    Response { id: u64, response: Result<Reply, String> },
}

/// What a client asks of a node.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    /// Create a top-level actor of a registered type (on another member of the convention if
    /// this node cannot host it).
    Create { actor_type: String, global_name: Option<String>, requirements: crate::capabilities::Requirements },
    /// Start an isolated actor's own isolated child in a process of its own, under the identity
    /// the asking process chose (one under its own). Not answered: the parent hears of the
    /// child's end as of any isolated child's.
    /// Another node places an actor here the same way, under `<this node>/via-<that node>-...`.
    Spawn {
        node: String,
        actor_type: String,
        parent: WireAddress,
        global_name: Option<String>,
        requirements: crate::capabilities::Requirements,
    },
    /// Tell `watcher` of the convention's members joining and leaving (or stop). Not answered.
    Watch { watcher: WireAddress, on: bool },
    /// The node's capabilities.
    Capabilities,
    /// Set (or remove) one of the node's capabilities.
    UpdateCapability { name: String, value: Option<crate::capabilities::Value> },
    /// Stop every actor and the node.
    Shutdown,
    /// The node's counters and facts.
    Status,
}

/// A node's answers.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    Created(WireAddress),
    ShutDown,
    Status(Box<NodeStatus>),
    Capabilities(crate::capabilities::Capabilities),
    Done,
}

/// What a node says of itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct NodeStatus {
    /// The node's identity (`host:port`).
    pub node: String,
    /// The program the node runs, and its build stamp.
    pub program: String,
    /// The build stamp of that program.
    pub build: String,
    /// The node's process id.
    pub pid: u32,
    /// Live actors.
    pub actors: usize,
    /// Dead letters so far.
    pub dead_letters: u64,
    /// Messages actors had no handler for.
    pub unhandled: u64,
    /// Clients connected now.
    pub clients: usize,
    /// The node's log file, if it writes one (nodes started by a joining process do).
    pub log: Option<String>,
    /// The node's capabilities.
    pub capabilities: crate::capabilities::Capabilities,
    /// Its convention, if it is in one.
    pub convention: Option<ConventionStatus>,
}

/// A member as the others know it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct MemberInfo {
    /// Its identity, the admin address `host:port`.
    pub node: String,
    /// Drawn when the node starts: a node started again at the same address is another member.
    pub incarnation: u64,
    pub capabilities: crate::capabilities::Capabilities,
    pub program: String,
    pub build: String,
}

/// What nodes of a convention say to each other.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ConventionFrame {
    /// A member to its leader, when it joins and every heartbeat.
    Register { member: MemberInfo },
    /// The leader to its members: every member (the leader too), after each registration.
    Members { leader: String, members: Vec<MemberInfo> },
    /// A node that does not lead, to one that tried to register with it.
    NotLeader,
    /// The leader refuses a registration.
    Refused { reason: String },
    /// A node leaves (it is shutting down).
    Leave { node: String },
    /// A member has registered with a leader before this one in the list: this one forgets it as
    /// a registration, not as a member.
    Moved { node: String },
    /// The leader to its members: a member is lost or has left.
    Gone { node: String, incarnation: u64 },
    /// Sent to see whether a connection to a node can still be made; the receiver ignores it.
    Probe,
    /// A member's warning or error, for the leader's log.
    Log { error: bool, line: String },
}

/// What a node's convention looks like from where it stands, as `node_status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConventionStatus {
    /// `"leader"`, `"member"`, or `"alone"` (no leader answers).
    pub role: String,
    /// The leader this node is registered with (itself, when it leads).
    pub leader: Option<String>,
    /// The other members it knows, by address.
    pub members: Vec<String>,
    /// Why the last try to reach a leader failed, if it did.
    pub last_error: Option<String>,
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("the connection closed")]
    Closed,
    #[error("{0}")]
    Refused(String),
}

/// Encodes a frame.
pub(crate) fn encode(frame: &Frame) -> Result<Bytes, WireError> {
    rmp_serde::to_vec_named(frame).map(Bytes::from).map_err(|e| WireError::Malformed(e.to_string()))
}

/// Decodes a frame.
pub(crate) fn decode(bytes: &[u8]) -> Result<Frame, WireError> {
    rmp_serde::from_slice(bytes).map_err(|e| WireError::Malformed(e.to_string()))
}

/// Reads the next frame.
pub(crate) async fn read(conn: &mut Connection) -> Result<Frame, WireError> {
    match conn.next().await {
        Some(Ok(bytes)) => decode(&bytes),
        Some(Err(e)) => Err(e.into()),
        None => Err(WireError::Closed),
    }
}

/// Writes one frame.
pub(crate) async fn write(conn: &mut Connection, frame: &Frame) -> Result<(), WireError> {
    conn.send(encode(frame)?).await.map_err(Into::into)
}

fn nonce() -> [u8; 32] {
    let mut nonce = [0u8; 32];
    // A failure of the OS random source leaves a zero nonce: the proof still binds the cookie.
    let _ = getrandom::fill(&mut nonce);
    nonce
}

/// The proof one side gives: HMAC-SHA256 keyed with the cookie over its role and both nonces.
fn proof(cookie: &str, role: &[u8], first: &[u8; 32], second: &[u8; 32]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(cookie.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"thespian-handshake-v1");
    mac.update(role);
    mac.update(first);
    mac.update(second);
    mac.finalize().into_bytes().to_vec()
}

fn verify(cookie: &str, role: &[u8], first: &[u8; 32], second: &[u8; 32], given: &[u8]) -> bool {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(cookie.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"thespian-handshake-v1");
    mac.update(role);
    mac.update(first);
    mac.update(second);
    mac.verify_slice(given).is_ok()
}

/// The connecting side's handshake: returns the peer's identity.
pub(crate) async fn handshake_connect(
    conn: &mut Connection,
    me: &Identity,
    cookie: &str,
) -> Result<Identity, WireError> {
    let mine = nonce();
    write(conn, &Frame::Hello { version: PROTOCOL_VERSION, identity: me.clone(), nonce: mine }).await?;
    let (peer, theirs) = match read(conn).await? {
        Frame::Hello { version, identity, nonce } if version == PROTOCOL_VERSION => (identity, nonce),
        Frame::Hello { version, .. } => {
            return Err(WireError::Refused(format!(
                "the node speaks protocol version {version}, this program {PROTOCOL_VERSION}"
            )));
        }
        Frame::Refused { reason } => return Err(WireError::Refused(reason)),
        other => return Err(WireError::Malformed(format!("expected a hello, got {other:?}"))),
    };
    write(conn, &Frame::Proof { mac: proof(cookie, b"client", &mine, &theirs) }).await?;
    match read(conn).await? {
        Frame::Proof { mac } if verify(cookie, b"server", &theirs, &mine, &mac) => Ok(peer),
        Frame::Proof { .. } => {
            Err(WireError::Refused("the node's cookie proof is wrong: it uses another cookie".into()))
        }
        Frame::Refused { reason } => Err(WireError::Refused(reason)),
        other => Err(WireError::Malformed(format!("expected a proof, got {other:?}"))),
    }
}

/// The accepting side's handshake: returns the peer's identity, or refuses it (telling it why).
pub(crate) async fn handshake_accept(
    conn: &mut Connection,
    me: &Identity,
    cookie: &str,
) -> Result<Identity, WireError> {
    let (peer, theirs) = match read(conn).await? {
        Frame::Hello { version, identity, nonce } if version == PROTOCOL_VERSION => (identity, nonce),
        Frame::Hello { version, .. } => {
            let reason = format!("protocol version {version} is not spoken here (this node speaks {PROTOCOL_VERSION})");
            let _ = write(conn, &Frame::Refused { reason: reason.clone() }).await;
            return Err(WireError::Refused(reason));
        }
        other => return Err(WireError::Malformed(format!("expected a hello, got {other:?}"))),
    };
    let mine = nonce();
    write(conn, &Frame::Hello { version: PROTOCOL_VERSION, identity: me.clone(), nonce: mine }).await?;
    match read(conn).await? {
        Frame::Proof { mac } if verify(cookie, b"client", &theirs, &mine, &mac) => {}
        Frame::Proof { .. } => {
            let reason = "wrong cookie".to_owned();
            let _ = write(conn, &Frame::Refused { reason: reason.clone() }).await;
            return Err(WireError::Refused(reason));
        }
        other => return Err(WireError::Malformed(format!("expected a proof, got {other:?}"))),
    }
    write(conn, &Frame::Proof { mac: proof(cookie, b"server", &mine, &theirs) }).await?;
    Ok(peer)
}

/// This program's identity: its path and a build stamp (size and modification time of the
/// executable), so that a rebuilt program is told from the one a running node was started from.
pub(crate) fn program_identity() -> (String, String) {
    let exe = std::env::current_exe().ok();
    let program = exe.as_ref().map_or_else(|| "unknown".to_owned(), |p| p.display().to_string());
    let build = exe
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}-{}", m.len(), modified)
        })
        .unwrap_or_else(|| "unknown".to_owned());
    (program, build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_bind_the_cookie_the_role_and_both_nonces() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mac = proof("secret", b"client", &a, &b);
        assert!(verify("secret", b"client", &a, &b, &mac));
        assert!(!verify("other", b"client", &a, &b, &mac));
        assert!(!verify("secret", b"server", &a, &b, &mac));
        assert!(!verify("secret", b"client", &b, &a, &mac));
    }

    #[test]
    fn frames_round_trip_and_garbage_is_an_error() {
        let frame = Frame::Request {
            id: 7,
            request: Request::Create { actor_type: "a::B".into(), global_name: None, requirements: Default::default() },
        };
        let bytes = encode(&frame).unwrap();
        assert!(matches!(decode(&bytes).unwrap(), Frame::Request { id: 7, .. }));
        assert!(decode(b"\xff\x00garbage").is_err());
        assert!(decode(&bytes[..bytes.len() / 2]).is_err());
    }
}
