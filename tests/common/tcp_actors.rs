//! Actor and message types shared by the multi-process tests and their helper node program
//! (`src/bin/tcp_node.rs`). Wire names are pinned: the two programs have different module paths.
#![allow(dead_code)]

use thespian::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Message, PartialEq, Eq)]
#[message(name = "test::Ping")]
pub struct Ping {
    pub n: u64,
}

/// Tells an actor to send `text` to `to`.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Relay")]
pub struct Relay {
    pub to: ActorAddress,
    pub text: String,
}

/// Asks an actor to sleep in its handler, then reply.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Nap")]
pub struct Nap {
    pub millis: u64,
}

/// A large payload.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Blob")]
pub struct Blob {
    #[serde(with = "serde_bytes_compat")]
    pub bytes: Vec<u8>,
}

/// Serializes bytes as one binary value, not an array of numbers.
mod serde_bytes_compat {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Visit)
    }
}

/// Echoes, counts, relays and naps.
#[derive(Default)]
pub struct Echo {
    count: u64,
}

#[actor(name = "test::Echo")]
impl Echo {
    #[handler]
    fn echo(&mut self, text: String) -> String {
        self.count += 1;
        text
    }

    #[handler]
    fn ping(&mut self, ping: Ping) -> Ping {
        self.count += 1;
        Ping { n: ping.n + 1 }
    }

    #[handler]
    fn count(&mut self, _m: u64) -> u64 {
        self.count
    }

    #[handler]
    fn relay(&mut self, relay: Relay, cx: &mut Context<'_>) {
        cx.send(&relay.to, relay.text);
    }

    #[handler]
    fn nap(&mut self, nap: Nap) -> String {
        std::thread::sleep(std::time::Duration::from_millis(nap.millis));
        "rested".to_owned()
    }

    #[handler]
    fn blob(&mut self, blob: Blob) -> u64 {
        blob.bytes.len() as u64
    }
}

/// Creates an `Echo` child and tells whoever asks its address.
#[derive(Default)]
pub struct Parent {
    child: Option<ActorAddress>,
}

#[actor(name = "test::Parent")]
impl Parent {
    #[handler]
    fn child(&mut self, _m: bool, cx: &mut Context<'_>) -> ActorAddress {
        self.child.get_or_insert_with(|| cx.create_actor::<Echo>().into_address()).clone()
    }
}

/// Asks an isolated actor for its process id.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::WhichProcess")]
pub struct WhichProcess;

/// Makes an isolated actor's process abort, as a crash would.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Abort")]
pub struct Abort;

/// An actor that runs in a process of its own on the multi-process base.
#[derive(Default)]
pub struct Isolated {
    seen: Vec<String>,
    exited: u32,
}

#[actor(name = "test::Isolated", process)]
impl Isolated {
    #[handler]
    fn which(&mut self, _m: WhichProcess) -> u32 {
        std::process::id()
    }

    #[handler]
    fn echo(&mut self, text: String) -> String {
        self.seen.push(text.clone());
        self.seen.join(",")
    }

    #[handler]
    fn abort(&mut self, _m: Abort) {
        std::process::abort();
    }

    /// An isolated child of its own: in a process of its own too.
    #[handler]
    fn start(&mut self, _m: StartChild, cx: &mut Context<'_>) -> ActorAddress {
        let child = cx.create_actor::<Isolated>().into_address();
        // Not a `String`: the child would answer it, and this actor answer the answer.
        cx.send(&child, Remember("first".to_owned()));
        child
    }

    #[handler]
    fn remember(&mut self, remember: Remember) {
        self.seen.push(remember.0);
    }

    #[handler]
    fn exited(&mut self, _m: ChildActorExited) {
        self.exited += 1;
    }

    #[handler]
    fn count(&mut self, _m: ExitedCount) -> u32 {
        self.exited
    }
}

/// Something for an `Isolated` to remember, without an answer.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Remember")]
pub struct Remember(pub String);

/// Starts an isolated child and counts its exits.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::StartChild")]
pub struct StartChild;

/// How many children have exited.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::ExitedCount")]
pub struct ExitedCount;

#[derive(Default)]
pub struct Supervisor {
    exited: u32,
}

/// Starts an isolated child whose process never connects.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::StartStuck")]
pub struct StartStuck;

#[actor(name = "test::Supervisor")]
impl Supervisor {
    #[handler]
    fn start_stuck(&mut self, _m: StartStuck, cx: &mut Context<'_>) -> ActorAddress {
        cx.create_actor::<Stuck>().into_address()
    }

    #[handler]
    fn start(&mut self, _m: StartChild, cx: &mut Context<'_>) -> ActorAddress {
        let child = cx.create_actor::<Isolated>().into_address();
        // Sent before the child's process has connected: delivered once it has, in order.
        cx.send(&child, "first".to_owned());
        cx.send(&child, "second".to_owned());
        child
    }

    #[handler]
    fn exited(&mut self, _m: ChildActorExited) {
        self.exited += 1;
    }

    #[handler]
    fn count(&mut self, _m: ExitedCount) -> u32 {
        self.exited
    }
}

/// An isolated actor whose constructor fails: its process ends before it can serve anything.
pub struct Fragile;

impl Default for Fragile {
    fn default() -> Self {
        panic!("deliberate: this actor cannot be built");
    }
}

#[actor(name = "test::Fragile", process)]
impl Fragile {
    #[handler]
    fn any(&mut self, text: String) -> String {
        text
    }
}

/// An isolated actor whose constructor never returns: its process never connects.
pub struct Stuck;

impl Default for Stuck {
    fn default() -> Self {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        Stuck
    }
}

#[actor(name = "test::Stuck", process)]
impl Stuck {
    #[handler]
    fn any(&mut self, text: String) -> String {
        text
    }
}

/// Tells a `Flooder` to send `n` blobs of `size` bytes to `to`.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Flood")]
pub struct Flood {
    pub to: ActorAddress,
    pub n: u64,
    pub size: usize,
}

/// Asks a `Flooder` how many of its messages came back, and why the first did.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Returned")]
pub struct Returned;

/// Sends floods and counts what comes back as poison.
#[derive(Default)]
pub struct Flooder {
    returned: u64,
    first_reason: String,
}

#[actor(name = "test::Flooder")]
impl Flooder {
    #[handler]
    fn flood(&mut self, flood: Flood, cx: &mut Context<'_>) {
        for _ in 0..flood.n {
            cx.send(&flood.to, Blob { bytes: vec![7; flood.size] });
        }
    }

    #[handler]
    fn poison(&mut self, poison: PoisonMessage) {
        if self.returned == 0 {
            self.first_reason = poison.details.clone();
        }
        self.returned += 1;
    }

    #[handler]
    fn returned(&mut self, _m: Returned) -> String {
        format!("{}|{}", self.returned, self.first_reason)
    }
}

/// Asks an actor which node hosts it.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::WhereAmI")]
pub struct WhereAmI;

/// The node an address belongs to: `host:port`, whatever process of that node it names.
pub fn node_of(address: &ActorAddress) -> String {
    address.node().as_str().split(['/', '#']).next().unwrap_or_default().to_owned()
}

/// Can run only on a node with the capability `Server`.
#[derive(Default)]
pub struct ServerSide;

#[actor(name = "test::ServerSide", require_capability = "Server")]
impl ServerSide {
    #[handler]
    fn where_am_i(&mut self, _m: WhereAmI, cx: &mut Context<'_>) -> String {
        node_of(cx.my_address())
    }

    #[handler]
    fn echo(&mut self, text: String) -> String {
        text
    }
}

/// Can run only on a node with the capability `Client`.
#[derive(Default)]
pub struct ClientSide;

#[actor(name = "test::ClientSide", require_capability = "Client")]
impl ClientSide {
    #[handler]
    fn where_am_i(&mut self, _m: WhereAmI, cx: &mut Context<'_>) -> String {
        node_of(cx.my_address())
    }
}

/// Whether a node's `Name` capability is the `host` its creator asked for.
fn named_host(capabilities: &Capabilities, requirements: &Requirements) -> bool {
    requirements.get("host").is_some() && capabilities.get("Name") == requirements.get("host")
}

/// Tells `to` a `Note` for `reply_to`.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Bounce")]
pub struct Bounce {
    pub to: ActorAddress,
    pub text: String,
}

/// Answer `reply_to` with where this is and the text.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Note")]
pub struct Note {
    pub reply_to: ActorAddress,
    pub text: String,
}

/// Runs on the node whose `Name` is the `host` requirement of its create.
#[derive(Default)]
pub struct Pinned;

#[actor(name = "test::Pinned", capability_check = named_host)]
impl Pinned {
    #[handler]
    fn where_am_i(&mut self, _m: WhereAmI, cx: &mut Context<'_>) -> String {
        node_of(cx.my_address())
    }

    #[handler]
    fn bounce(&mut self, bounce: Bounce, cx: &mut Context<'_>) {
        let text = format!("{} via {}", bounce.text, node_of(cx.my_address()));
        cx.send(&bounce.to, Note { reply_to: cx.sender(), text });
    }

    #[handler]
    fn note(&mut self, note: Note, cx: &mut Context<'_>) {
        cx.send(&note.reply_to, format!("{} to {}", note.text, node_of(cx.my_address())));
    }
}

/// Starts watching the convention.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Watch")]
pub struct Watch;

/// Asks a `ConventionWatcher` what it has seen: `+node` or `-node` per update, in order.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::Seen")]
pub struct Seen;

/// Records every convention update, as the original's `ConventionWatcher` does.
#[derive(Default)]
pub struct ConventionWatcher {
    seen: Vec<String>,
}

#[actor(name = "test::ConventionWatcher")]
impl ConventionWatcher {
    #[handler]
    fn watch(&mut self, _m: Watch, cx: &mut Context<'_>) -> bool {
        cx.notify_on_system_registration_changes(true);
        true
    }

    #[handler]
    fn update(&mut self, update: ActorSystemConventionUpdate) {
        let sign = if update.added { '+' } else { '-' };
        self.seen.push(format!("{sign}{}", update.remote_admin.node().as_str()));
    }

    #[handler]
    fn seen(&mut self, _m: Seen) -> String {
        self.seen.join(" ")
    }
}

/// Places a `ServerSide` child and counts its exits.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::PlaceServer")]
pub struct PlaceServer;

#[derive(Default)]
pub struct Placer {
    exited: u32,
}

#[actor(name = "test::Placer")]
impl Placer {
    #[handler]
    fn place(&mut self, _m: PlaceServer, cx: &mut Context<'_>) -> ActorAddress {
        cx.create_actor::<ServerSide>().into_address()
    }

    #[handler]
    fn exited(&mut self, _m: ChildActorExited) {
        self.exited += 1;
    }

    #[handler]
    fn count(&mut self, _m: ExitedCount) -> u32 {
        self.exited
    }
}

/// Logs what it is told as a warning.
#[derive(Default)]
pub struct Warner;

#[actor(name = "test::Warner")]
impl Warner {
    #[handler]
    fn warn(&mut self, text: String) -> bool {
        tracing::warn!(note = "from an actor", "{text}");
        true
    }
}
