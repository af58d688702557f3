//! The sending half of a connection, and the envelope's own compact encoding.
//!
//! Senders encode straight into one shared buffer per connection, already framed; a writer task
//! takes the whole buffer and writes it in as few system calls as the socket allows. No queue node,
//! no second copy, no acknowledgement per message.
//!
//! An envelope is the one frame that travels by the million, so it is not a `serde` value: it is
//! a marker byte, the two addresses, the wire name and the body (the message, encoded by the
//! sender's registry with named fields). A process identity is spelt out the first time it travels
//! on a connection and then named by its number on that connection, so an address costs a few
//! bytes and no string lookup at the other end.
//!
//! ```text
//! envelope := 0xC1 node-ref u64(sender id) node-ref u64(target id) u16(len) wire-name body
//! node-ref := 0x00 u32(number)                 -- a process named before on this connection
//!           | 0x01 u16(len) identity           -- a new one: it gets the next number
//! ```
//! (integers little-endian; every frame is preceded by its length, a big-endian `u32`).

use std::collections::HashMap;
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{Notify, oneshot};

use super::*;

/// The first byte of an envelope: a byte MessagePack never uses, so no `serde` frame starts so.
pub(super) const ENVELOPE_MARK: u8 = 0xC1;
const NODE_REF: u8 = 0;
const NODE_NEW: u8 = 1;

/// How many bytes may wait for one connection before messages to it are refused: a peer that
/// stops reading cannot make this process grow without bound.
pub(crate) const DEFAULT_SEND_QUEUE_LIMIT: usize = 128 * 1024 * 1024;

/// Why an envelope was not queued.
#[derive(Debug)]
pub(super) enum Refused {
    /// The connection has closed (or its process has gone).
    Closed,
    /// The peer is not keeping up: this many bytes are waiting.
    Backlog(usize),
    /// A wire name or process identity longer than the envelope can carry.
    TooLong,
}

/// The sending half of a connection (or of a process that has not connected yet).
pub(super) struct Outbox {
    state: Mutex<OutState>,
    ready: Notify,
    limit: usize,
}

#[derive(Default)]
struct OutState {
    /// Framed bytes not yet taken by the writer.
    buf: BytesMut,
    closed: bool,
    /// Process identities already spelt out on this connection, by the address of their
    /// interned name, and in number order.
    numbers: HashMap<usize, u32>,
    named: Vec<NodeId>,
}

impl OutState {
    fn put_node(&mut self, node: NodeId) {
        let key = node.as_str().as_ptr() as usize;
        if let Some(&number) = self.numbers.get(&key) {
            self.buf.put_u8(NODE_REF);
            self.buf.put_u32_le(number);
        } else {
            let name = node.as_str().as_bytes();
            self.numbers.insert(key, self.named.len() as u32);
            self.named.push(node);
            self.buf.put_u8(NODE_NEW);
            self.buf.put_u16_le(name.len() as u16);
            self.buf.put_slice(name);
        }
    }
}

impl Outbox {
    pub(super) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Outbox { state: Mutex::new(OutState::default()), ready: Notify::new(), limit })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OutState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an envelope whose message is already encoded.
    pub(super) fn envelope(
        &self,
        sender: &ActorAddress,
        target: &ActorAddress,
        wire_name: &str,
        body: &[u8],
    ) -> std::result::Result<(), Refused> {
        let too_long = |name: &str| name.len() > u16::MAX as usize;
        if too_long(wire_name) || too_long(sender.node().as_str()) || too_long(target.node().as_str()) {
            return Err(Refused::TooLong);
        }
        let mut state = self.lock();
        if state.closed {
            return Err(Refused::Closed);
        }
        if state.buf.len() > self.limit {
            return Err(Refused::Backlog(state.buf.len()));
        }
        let was_empty = state.buf.is_empty();
        let start = state.buf.len();
        state.buf.put_u32(0);
        state.buf.put_u8(ENVELOPE_MARK);
        state.put_node(sender.node());
        state.buf.put_u64_le(sender.id());
        state.put_node(target.node());
        state.buf.put_u64_le(target.id());
        state.buf.put_u16_le(wire_name.len() as u16);
        state.buf.put_slice(wire_name.as_bytes());
        state.buf.put_slice(body);
        let len = (state.buf.len() - start - 4) as u32;
        state.buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
        drop(state);
        if was_empty {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Queues any other frame (a request, an answer, a notice). These are few and small, and
    /// always queued while the connection is open: an answer is never refused for a backlog.
    pub(super) fn frame(&self, frame: &Frame) -> std::result::Result<(), Refused> {
        let bytes = match wire::encode(frame) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(error = %e, "a frame could not be encoded");
                return Ok(());
            }
        };
        let mut state = self.lock();
        if state.closed {
            return Err(Refused::Closed);
        }
        let was_empty = state.buf.is_empty();
        state.buf.put_u32(bytes.len() as u32);
        state.buf.put_slice(&bytes);
        drop(state);
        if was_empty {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Closes the outbox: later sends are refused; what was still waiting is handed to `core` as
    /// undelivered (dead letters, never a silent loss).
    pub(super) fn close(&self, core: Option<&Core>) {
        let mut state = self.lock();
        state.closed = true;
        let left = std::mem::take(&mut state.buf).freeze();
        let named = state.named.clone();
        drop(state);
        self.ready.notify_one();
        if let Some(core) = core {
            undelivered_frames(core, left, &named);
        }
    }

    /// Everything queued so far, or `None` once closed and empty.
    async fn take(&self) -> Option<BytesMut> {
        loop {
            {
                let mut state = self.lock();
                if !state.buf.is_empty() {
                    return Some(state.buf.split());
                }
                if state.closed {
                    return None;
                }
            }
            // A sender that queues after the check above leaves a permit: no wakeup is lost.
            self.ready.notified().await;
        }
    }

    /// How many bytes are waiting.
    #[cfg(test)]
    fn backlog(&self) -> usize {
        self.lock().buf.len()
    }
}

/// Writes what is queued in `outbox` to `socket` until the connection fails or `stop` fires; then
/// closes the outbox, so later sends are refused and what never left becomes dead letters.
pub(super) async fn write_outbox(
    outbox: Arc<Outbox>,
    mut socket: OwnedWriteHalf,
    mut stop: oneshot::Receiver<()>,
    core: std::sync::Weak<Core>,
) {
    loop {
        let batch = tokio::select! {
            biased;
            batch = outbox.take() => match batch { Some(batch) => batch, None => break },
            _ = &mut stop => break,
        };
        let mut written = 0;
        while written < batch.len() {
            match socket.write(&batch[written..]).await {
                Ok(0) | Err(_) => {
                    tracing::debug!("connection closed while writing");
                    // What did not reach the socket whole is undelivered: from the first frame
                    // not completely written.
                    let from = first_unwritten_frame(&batch, written);
                    let core = core.upgrade();
                    if let Some(core) = &core {
                        let named = outbox.lock().named.clone();
                        undelivered_frames(core, batch.freeze().slice(from..), &named);
                    }
                    // Then whatever was queued after that batch, in order.
                    outbox.close(core.as_deref());
                    let _ = socket.shutdown().await;
                    return;
                }
                Ok(n) => written += n,
            }
        }
    }
    finish(&outbox, socket, &core).await;
}

async fn finish(outbox: &Outbox, mut socket: OwnedWriteHalf, core: &std::sync::Weak<Core>) {
    outbox.close(core.upgrade().as_deref());
    let _ = socket.shutdown().await;
}

/// The offset of the first frame of `batch` not wholly within its first `written` bytes.
fn first_unwritten_frame(batch: &[u8], written: usize) -> usize {
    let mut at = 0;
    while at + 4 <= batch.len() {
        let len = u32::from_be_bytes([batch[at], batch[at + 1], batch[at + 2], batch[at + 3]]) as usize;
        if at + 4 + len > written {
            return at;
        }
        at += 4 + len;
    }
    batch.len()
}

/// Frames that never left: each envelope among them becomes a dead letter.
fn undelivered_frames(core: &Core, frames: Bytes, named: &[NodeId]) {
    let mut at = 0;
    while at + 4 <= frames.len() {
        let len = u32::from_be_bytes([frames[at], frames[at + 1], frames[at + 2], frames[at + 3]]) as usize;
        let Some(frame) = frames.get(at + 4..at + 4 + len) else { break };
        if frame.first() == Some(&ENVELOPE_MARK) {
            let mut table = NodeTable::known(named);
            if let Ok(env) = table.decode(frames.slice(at + 4..at + 4 + len)) {
                undelivered(core, env);
            }
        } else if let Ok(Frame::Request { request: Request::Spawn { node, parent, .. }, .. }) = wire::decode(frame) {
            // An actor whose process was never asked for: its parent hears it has exited.
            spawn_failed(core, &node, &parent.to_address());
        }
        at += 4 + len;
    }
}

/// An envelope that arrived (or never left): its addresses decoded, its wire name and body still
/// in the frame's bytes.
pub(super) struct EnvelopeIn {
    pub sender: ActorAddress,
    pub target: ActorAddress,
    frame: Bytes,
    name: Range<usize>,
    body: usize,
}

impl EnvelopeIn {
    pub fn wire_name(&self) -> &str {
        // Checked to be UTF-8 when decoded.
        std::str::from_utf8(&self.frame[self.name.clone()]).unwrap_or("?")
    }

    pub fn body(&self) -> &[u8] {
        &self.frame[self.body..]
    }
}

/// The process identities a connection has spelt out so far, by number.
pub(super) struct NodeTable<'a> {
    learned: Vec<NodeId>,
    /// When decoding what this side queued itself: the numbers it gave out.
    known: Option<&'a [NodeId]>,
}

impl NodeTable<'static> {
    pub(super) fn new() -> Self {
        NodeTable { learned: Vec::new(), known: None }
    }
}

impl<'a> NodeTable<'a> {
    fn known(named: &'a [NodeId]) -> Self {
        NodeTable { learned: Vec::new(), known: Some(named) }
    }

    /// Decodes an envelope frame. A malformed one is an error, never a panic.
    pub(super) fn decode(&mut self, frame: Bytes) -> std::result::Result<EnvelopeIn, WireError> {
        let mut at = 1;
        let sender = ActorAddress::new(self.node(&frame, &mut at)?, u64_at(&frame, &mut at)?, None);
        let target = ActorAddress::new(self.node(&frame, &mut at)?, u64_at(&frame, &mut at)?, None);
        let len = u16_at(&frame, &mut at)? as usize;
        let name = at..at + len;
        match frame.get(name.clone()) {
            Some(bytes) if std::str::from_utf8(bytes).is_ok() => {}
            _ => return Err(malformed("a bad wire name")),
        }
        Ok(EnvelopeIn { sender, target, body: name.end, name, frame })
    }

    fn node(&mut self, frame: &[u8], at: &mut usize) -> std::result::Result<NodeId, WireError> {
        let kind = *frame.get(*at).ok_or_else(|| malformed("a truncated address"))?;
        *at += 1;
        match kind {
            NODE_REF => {
                let number = u32_at(frame, at)? as usize;
                let table = self.known.unwrap_or(&self.learned);
                table.get(number).copied().ok_or_else(|| malformed("an address naming an unknown process"))
            }
            NODE_NEW => {
                let len = u16_at(frame, at)? as usize;
                let name = frame.get(*at..*at + len).ok_or_else(|| malformed("a truncated address"))?;
                *at += len;
                let name = std::str::from_utf8(name).map_err(|_| malformed("a process identity is not UTF-8"))?;
                let node = NodeId::intern(name);
                if self.known.is_none() {
                    self.learned.push(node);
                }
                Ok(node)
            }
            _ => Err(malformed("an unknown address form")),
        }
    }
}

fn malformed(what: &str) -> WireError {
    WireError::Malformed(format!("an envelope with {what}"))
}

fn u16_at(frame: &[u8], at: &mut usize) -> std::result::Result<u16, WireError> {
    let bytes = frame.get(*at..*at + 2).ok_or_else(|| malformed("a truncated header"))?;
    *at += 2;
    Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
}

fn u32_at(frame: &[u8], at: &mut usize) -> std::result::Result<u32, WireError> {
    let bytes = frame.get(*at..*at + 4).ok_or_else(|| malformed("a truncated header"))?;
    *at += 4;
    Ok(u32::from_le_bytes(bytes.try_into().unwrap_or_default()))
}

fn u64_at(frame: &[u8], at: &mut usize) -> std::result::Result<u64, WireError> {
    let bytes = frame.get(*at..*at + 8).ok_or_else(|| malformed("a truncated header"))?;
    *at += 8;
    Ok(u64::from_le_bytes(bytes.try_into().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(buf: &[u8]) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < buf.len() {
            let len = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
            out.push(Bytes::copy_from_slice(&buf[at + 4..at + 4 + len]));
            at += 4 + len;
        }
        out
    }

    #[test]
    fn envelopes_round_trip_and_name_each_process_once_per_connection() {
        let outbox = Outbox::new(DEFAULT_SEND_QUEUE_LIMIT);
        let a = ActorAddress::new(NodeId::intern("127.0.0.1:1900"), 7, None);
        let b = ActorAddress::new(NodeId::intern("127.0.0.1:1900/proc-1"), 1, None);
        outbox.envelope(&a, &b, "x::Ping", b"body-1").unwrap();
        let first = outbox.backlog();
        outbox.envelope(&b, &a, "x::Pong", b"body-2").unwrap();
        // The second names both processes by number: shorter than the first.
        assert!(outbox.backlog() - first < first);
        let buf = outbox.lock().buf.clone();
        let mut table = NodeTable::new();
        let got: Vec<EnvelopeIn> = frames(&buf).into_iter().map(|f| table.decode(f).unwrap()).collect();
        assert_eq!((got[0].sender.clone(), got[0].target.clone()), (a.clone(), b.clone()));
        assert_eq!((got[0].wire_name(), got[0].body()), ("x::Ping", &b"body-1"[..]));
        assert_eq!((got[1].sender.clone(), got[1].target.clone()), (b, a));
        assert_eq!((got[1].wire_name(), got[1].body()), ("x::Pong", &b"body-2"[..]));
    }

    #[test]
    fn malformed_envelopes_are_errors_not_panics() {
        let mut table = NodeTable::new();
        for bad in [
            &[ENVELOPE_MARK][..],
            &[ENVELOPE_MARK, 0, 9, 0, 0, 0],
            &[ENVELOPE_MARK, 1, 200, 0, b'a'],
            &[ENVELOPE_MARK, 7],
        ] {
            assert!(table.decode(Bytes::copy_from_slice(bad)).is_err());
        }
        // Every truncation of a good envelope is refused cleanly.
        let outbox = Outbox::new(DEFAULT_SEND_QUEUE_LIMIT);
        let a = ActorAddress::new(NodeId::intern("n:1"), 1, None);
        outbox.envelope(&a, &a, "x::Ping", b"").unwrap();
        let frame = frames(&outbox.lock().buf.clone()).remove(0);
        for cut in 1..frame.len() {
            assert!(NodeTable::new().decode(frame.slice(..cut)).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_backlog_over_the_limit_refuses_envelopes_but_not_answers() {
        let outbox = Outbox::new(64);
        let a = ActorAddress::new(NodeId::intern("n:2"), 1, None);
        let mut refused = None;
        for _ in 0..10 {
            if let Err(e) = outbox.envelope(&a, &a, "x::Ping", &[0; 16]) {
                refused = Some(e);
                break;
            }
        }
        assert!(matches!(refused, Some(Refused::Backlog(n)) if n > 64));
        assert!(outbox.frame(&Frame::Gone { to: WireAddress::of(&a), target: WireAddress::of(&a) }).is_ok());
        outbox.close(None);
        assert!(matches!(outbox.envelope(&a, &a, "x::Ping", b""), Err(Refused::Closed)));
    }

    #[test]
    fn the_first_frame_not_wholly_written_is_found() {
        let outbox = Outbox::new(DEFAULT_SEND_QUEUE_LIMIT);
        let a = ActorAddress::new(NodeId::intern("n:3"), 1, None);
        outbox.envelope(&a, &a, "x::Ping", b"12345").unwrap();
        let one = outbox.backlog();
        outbox.envelope(&a, &a, "x::Ping", b"12345").unwrap();
        let buf = outbox.lock().buf.clone();
        assert_eq!(first_unwritten_frame(&buf, 0), 0);
        assert_eq!(first_unwritten_frame(&buf, one - 1), 0);
        assert_eq!(first_unwritten_frame(&buf, one), one);
        assert_eq!(first_unwritten_frame(&buf, buf.len()), buf.len());
    }
}
