//! Property tests of three guarantees, on every in-process base:
//!
//! 1. Messages from one sender to one receiver arrive in the order sent, none lost or duplicated,
//!    whatever the schedule of senders, receivers and bursts.
//! 2. `Simple` is deterministic: the same scenario (actors creating children, forwarding,
//!    replying) gives the same trace every time; `Threaded` runs the same events, in some order.
//! 3. Concurrent external asks from many threads each get their own reply, also when the reply
//!    comes from another actor than the one asked.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use thespian::prelude::*;

const BASES: [SystemBase; 2] = [SystemBase::Simple, SystemBase::Threaded];
const LONG: Duration = Duration::from_secs(10);

/// Few cases (unless `PROPTEST_CASES` asks for more), no regression files written next to the
/// tests, bounded shrinking.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, failure_persistence: None, max_shrink_time: 60_000, ..ProptestConfig::default() }
}

/// Polls `check` until it returns `Some`, failing after [`LONG`]. Never asserts on elapsed time
/// except to give up.
fn poll<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + LONG;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Per sender→receiver FIFO.
// ---------------------------------------------------------------------------------------------

/// One numbered message; numbers count up from 0 per (sender, receiver) pair.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Numbered(u64);

/// Tells a sender actor to send, in this order, `count` numbered messages to each receiver.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Bursts(Vec<(ActorAddress, u64)>);

/// Asks a sender how many messages it has sent; answered after every earlier `Bursts`.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Flush;

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Flushed(u64);

/// Asks a receiver for what it got.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct GetRecord;

/// Per sender id, the numbers received from it, in arrival order.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Record(BTreeMap<u64, Vec<u64>>);

/// Told from outside: the receiver replies with the sender's address (the external endpoint).
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct WhoSent;

#[derive(Default)]
struct SeqSender {
    /// Next number per receiver id.
    next: HashMap<u64, u64>,
    sent: u64,
}

#[actor]
impl SeqSender {
    #[handler]
    fn bursts(&mut self, Bursts(bursts): Bursts, cx: &mut Context<'_>) {
        for (to, count) in bursts {
            let next = self.next.entry(to.id()).or_insert(0);
            for _ in 0..count {
                cx.send(&to, Numbered(*next));
                *next += 1;
                self.sent += 1;
            }
        }
    }

    #[handler]
    fn flush(&mut self, _m: Flush) -> Flushed {
        Flushed(self.sent)
    }
}

#[derive(Default)]
struct SeqReceiver {
    got: BTreeMap<u64, Vec<u64>>,
}

#[actor]
impl SeqReceiver {
    #[handler]
    fn numbered(&mut self, Numbered(n): Numbered, cx: &mut Context<'_>) {
        self.got.entry(cx.sender().id()).or_default().push(n);
    }

    #[handler]
    fn record(&mut self, _m: GetRecord) -> Record {
        Record(self.got.clone())
    }

    #[handler]
    fn who_sent(&mut self, _m: WhoSent, cx: &mut Context<'_>) -> ActorAddress {
        cx.sender()
    }
}

/// One step of the driver: a sender actor does some bursts, or the driver itself tells a
/// receiver some numbered messages (indices are reduced modulo the actor counts).
#[derive(Debug, Clone)]
enum Step {
    Actor { sender: usize, bursts: Vec<(usize, u64)> },
    External { receiver: usize, count: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..5usize, prop::collection::vec((0..4usize, 1..48u64), 1..4))
            .prop_map(|(sender, bursts)| Step::Actor { sender, bursts }),
        1 => (0..4usize, 1..32u64).prop_map(|(receiver, count)| Step::External { receiver, count }),
    ]
}

fn fifo_schedule() -> impl Strategy<Value = (usize, usize, Vec<Step>)> {
    (2..=5usize, 1..=4usize, prop::collection::vec(step(), 1..40))
}

/// Runs a schedule and checks every receiver got, from every sender, exactly 0..n in order.
fn fifo_property(base: SystemBase, senders: usize, receivers: usize, schedule: &[Step]) {
    let system = ActorSystem::with_base(base).unwrap();
    let sender_addrs: Vec<Addr<SeqSender>> = (0..senders).map(|_| system.create_actor().unwrap()).collect();
    let receiver_addrs: Vec<Addr<SeqReceiver>> = (0..receivers).map(|_| system.create_actor().unwrap()).collect();

    // The id of the external endpoint, as receivers see it.
    system.tell(&receiver_addrs[0], WhoSent).unwrap();
    let external = system.listen(LONG).unwrap();
    let external = external.downcast_ref::<ActorAddress>().expect("WhoSent is answered by an address").id();

    // expected[receiver][sender id] = how many numbered messages.
    let mut expected: Vec<BTreeMap<u64, u64>> = vec![BTreeMap::new(); receivers];
    for step in schedule {
        match step {
            Step::Actor { sender, bursts } => {
                let sender = &sender_addrs[sender % senders];
                let bursts: Vec<(ActorAddress, u64)> = bursts
                    .iter()
                    .map(|&(r, count)| {
                        let r = r % receivers;
                        *expected[r].entry(sender.address().id()).or_insert(0) += count;
                        (receiver_addrs[r].address().clone(), count)
                    })
                    .collect();
                system.tell(sender, Bursts(bursts)).unwrap();
            }
            Step::External { receiver, count } => {
                let r = receiver % receivers;
                let next = expected[r].entry(external).or_insert(0);
                for _ in 0..*count {
                    system.tell(&receiver_addrs[r], Numbered(*next)).unwrap();
                    *next += 1;
                }
            }
        }
    }

    // Every sender has handled all its bursts (so has sent everything) ...
    let total_sent: u64 = sender_addrs.iter().map(|s| system.ask::<Flushed, _, _>(s, Flush, LONG).unwrap().0).sum();
    let total_expected: u64 =
        expected.iter().flat_map(|e| e.iter()).filter(|(id, _)| **id != external).map(|(_, n)| n).sum();
    assert_eq!(total_sent, total_expected, "{base:?}: senders sent what they were told to");

    // ... and every receiver has handled all it will get: each sequence, checked as it grows,
    // must be a prefix of 0..n; once complete, it must be exactly 0..n.
    for (r, receiver) in receiver_addrs.iter().enumerate() {
        let want: u64 = expected[r].values().sum();
        let Record(got) = poll(&format!("{base:?}: receiver {r} to get {want} messages"), || {
            let record: Record = system.ask(receiver, GetRecord, LONG).unwrap();
            for (sender, seq) in &record.0 {
                let prefix: Vec<u64> = (0..seq.len() as u64).collect();
                assert_eq!(seq, &prefix, "{base:?}: receiver {r}, from sender id {sender}: out of order or duplicated");
            }
            let have: u64 = record.0.values().map(|s| s.len() as u64).sum();
            (have >= want).then_some(record)
        });
        let got: BTreeMap<u64, u64> = got.iter().map(|(id, seq)| (*id, seq.len() as u64)).collect();
        assert_eq!(got, expected[r], "{base:?}: receiver {r}: count per sender id (external is {external})");
    }
    system.shutdown().unwrap();
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn fifo_per_sender_and_receiver_simple((senders, receivers, schedule) in fifo_schedule()) {
        fifo_property(SystemBase::Simple, senders, receivers, &schedule);
    }

    #[test]
    fn fifo_per_sender_and_receiver_threaded((senders, receivers, schedule) in fifo_schedule()) {
        fifo_property(SystemBase::Threaded, senders, receivers, &schedule);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Simple is deterministic; Threaded runs the same events.
// ---------------------------------------------------------------------------------------------

/// The shape of a tree of actors: each node's children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Tree(Vec<Tree>);

impl Tree {
    fn size(&self) -> usize {
        1 + self.0.iter().map(Tree::size).sum::<usize>()
    }
}

/// Where a relayed message goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Hop {
    /// To child `i % children` (to the parent if there is none, or root `i` for a lone root).
    Down(u32),
    /// To the parent (a root goes to the first root).
    Up,
    /// To root `i % roots`.
    Peer(u32),
}

/// Builds the subtree below the receiving node; every node knows all roots.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Grow {
    tree: Tree,
    roots: Vec<ActorAddress>,
}

/// A child greets its parent, which replies with a `Pong`.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Ping(String);

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Pong(String);

/// Forwarded along `path`; the last node sends `Done` to whoever sent it to the first node.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Relay {
    id: u32,
    path: Vec<Hop>,
    origin: Option<ActorAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Message)]
struct Done {
    id: u32,
    at: String,
}

/// Goes down the whole subtree; each node acks to its sender once its whole subtree has.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Broadcast(u32);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Message)]
struct Ack {
    id: u32,
    from: String,
}

/// One event: who handled what (no node ids), and the id of the sender within its system.
type Event = (String, u64);
type Trace = Arc<Mutex<Vec<Event>>>;

struct TreeNode {
    name: String,
    is_root: bool,
    trace: Trace,
    children: Vec<ActorAddress>,
    roots: Vec<ActorAddress>,
    /// Per broadcast: acks still missing, and whom to ack when they are in.
    pending: HashMap<u32, (usize, ActorAddress)>,
}

impl TreeNode {
    fn new(name: String, is_root: bool, trace: Trace) -> Self {
        TreeNode { name, is_root, trace, children: vec![], roots: vec![], pending: HashMap::new() }
    }

    fn log(&self, what: String, cx: &Context<'_>) {
        self.trace.lock().unwrap().push((format!("{} <- {what}", self.name), cx.sender().id()));
    }

    fn next_hop(&self, hop: Hop, cx: &Context<'_>) -> ActorAddress {
        let pick = |list: &[ActorAddress], i: u32| list[i as usize % list.len()].clone();
        match hop {
            Hop::Down(i) if !self.children.is_empty() => pick(&self.children, i),
            Hop::Down(_) | Hop::Up if !self.is_root => cx.parent().clone(),
            Hop::Down(i) | Hop::Peer(i) => pick(&self.roots, i),
            Hop::Up => self.roots[0].clone(),
        }
    }
}

#[actor(local)]
impl TreeNode {
    #[handler]
    fn grow(&mut self, Grow { tree, roots }: Grow, cx: &mut Context<'_>) {
        self.log(format!("grow {}", tree.size()), cx);
        self.roots = roots;
        for (i, subtree) in tree.0.into_iter().enumerate() {
            let child = TreeNode::new(format!("{}.{i}", self.name), false, self.trace.clone());
            let child = cx.create_actor_from(child);
            cx.send(&child, Grow { tree: subtree, roots: self.roots.clone() });
            self.children.push(child.into());
        }
        if !self.is_root {
            let parent = cx.parent().clone();
            cx.send(&parent, Ping(self.name.clone()));
        }
    }

    #[handler]
    fn ping(&mut self, Ping(from): Ping, cx: &mut Context<'_>) -> Pong {
        self.log(format!("ping from {from}"), cx);
        Pong(self.name.clone())
    }

    #[handler]
    fn pong(&mut self, Pong(from): Pong, cx: &mut Context<'_>) {
        self.log(format!("pong from {from}"), cx);
    }

    #[handler]
    fn relay(&mut self, mut relay: Relay, cx: &mut Context<'_>) {
        self.log(format!("relay {} {:?}", relay.id, relay.path), cx);
        let origin = relay.origin.take().unwrap_or_else(|| cx.sender());
        if relay.path.is_empty() {
            cx.send(&origin, Done { id: relay.id, at: self.name.clone() });
        } else {
            let next = self.next_hop(relay.path.remove(0), cx);
            cx.send(&next, Relay { origin: Some(origin), ..relay });
        }
    }

    #[handler]
    fn broadcast(&mut self, Broadcast(id): Broadcast, cx: &mut Context<'_>) -> Option<Ack> {
        self.log(format!("broadcast {id}"), cx);
        if self.children.is_empty() {
            return Some(Ack { id, from: self.name.clone() });
        }
        self.pending.insert(id, (self.children.len(), cx.sender()));
        for child in self.children.clone() {
            cx.send(&child, Broadcast(id));
        }
        None
    }

    #[handler]
    fn ack(&mut self, Ack { id, from }: Ack, cx: &mut Context<'_>) {
        self.log(format!("ack {id} from {from}"), cx);
        let (missing, _) = self.pending.get_mut(&id).expect("an ack for a broadcast in progress");
        *missing -= 1;
        if *missing == 0 {
            let (_, to) = self.pending.remove(&id).unwrap();
            cx.send(&to, Ack { id, from: self.name.clone() });
        }
    }

    #[handler]
    fn exit_request(&mut self, _m: ActorExitRequest, cx: &mut Context<'_>) {
        self.log(format!("exit request, {} children", cx.children().len()), cx);
    }

    #[handler]
    fn child_exited(&mut self, _m: ChildActorExited, cx: &mut Context<'_>) {
        self.log("child exited".to_owned(), cx);
    }
}

/// What the driver does after growing the trees.
#[derive(Debug, Clone)]
enum Action {
    Relay { root: usize, path: Vec<Hop>, ask: bool },
    Broadcast { root: usize, ask: bool },
}

#[derive(Debug, Clone)]
struct Scenario {
    trees: Vec<Tree>,
    actions: Vec<Action>,
}

/// What a run produced: the trace up to shutdown, and the trace of the shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    before_shutdown: Vec<Event>,
    shutdown: Vec<Event>,
}

/// Runs a scenario. On `Threaded`, `settle` is the length the trace reaches once every message
/// has been handled (known from a `Simple` run); the driver waits for it before shutting down.
fn run_scenario(base: SystemBase, scenario: &Scenario, settle: Option<usize>) -> Run {
    let system = ActorSystem::with_base(base).unwrap();
    let trace: Trace = Default::default();
    let driver = |what: String| trace.lock().unwrap().push((format!("driver <- {what}"), 0));
    let roots: Vec<Addr<TreeNode>> = (0..scenario.trees.len())
        .map(|i| system.create_actor_from(TreeNode::new(format!("r{i}"), true, trace.clone())).unwrap())
        .collect();
    let root_addrs: Vec<ActorAddress> = roots.iter().map(ActorAddress::from).collect();
    for (root, tree) in roots.iter().zip(&scenario.trees) {
        system.tell(root, Grow { tree: tree.clone(), roots: root_addrs.clone() }).unwrap();
    }
    // Completions of told actions arrive at the external endpoint; asked ones answer the ask.
    let mut told = 0;
    for (id, action) in scenario.actions.iter().enumerate() {
        let id = id as u32;
        match action {
            Action::Relay { root, path, ask } => {
                let relay = Relay { id, path: path.clone(), origin: None };
                let root = &roots[root % roots.len()];
                if *ask {
                    let done: Done = system.ask(root, relay, LONG).unwrap();
                    driver(format!("asked {done:?}"));
                } else {
                    system.tell(root, relay).unwrap();
                    told += 1;
                }
            }
            Action::Broadcast { root, ask } => {
                let root = &roots[root % roots.len()];
                if *ask {
                    let ack: Ack = system.ask(root, Broadcast(id), LONG).unwrap();
                    driver(format!("asked {ack:?}"));
                } else {
                    system.tell(root, Broadcast(id)).unwrap();
                    told += 1;
                }
            }
        }
    }
    for _ in 0..told {
        let heard = system.listen(LONG).unwrap();
        if let Some(done) = heard.downcast_ref::<Done>() {
            driver(format!("heard {done:?}"));
        } else if let Some(ack) = heard.downcast_ref::<Ack>() {
            driver(format!("heard {ack:?}"));
        } else {
            panic!("{base:?}: heard an unexpected {heard:?}");
        }
    }
    if let Some(settle) = settle {
        poll(&format!("{base:?}: the trace to reach {settle} events"), || {
            (trace.lock().unwrap().len() >= settle).then_some(())
        });
    }
    let before_shutdown = trace.lock().unwrap().clone();
    system.shutdown().unwrap();
    let shutdown = trace.lock().unwrap()[before_shutdown.len()..].to_vec();
    Run { before_shutdown, shutdown }
}

/// The events without sender ids (which depend on the order actors were created), sorted.
fn event_multiset(events: &[Event]) -> Vec<String> {
    let mut events: Vec<String> = events.iter().map(|(what, _)| what.clone()).collect();
    events.sort();
    events
}

/// `Simple` twice gives the same trace; `Threaded` gives the same events as `Simple`.
fn determinism_property(base: SystemBase, scenario: &Scenario) {
    let reference = run_scenario(SystemBase::Simple, scenario, None);
    assert!(!reference.before_shutdown.is_empty());
    match base {
        SystemBase::Simple => {
            let again = run_scenario(SystemBase::Simple, scenario, None);
            assert_eq!(again, reference, "Simple: two runs of {scenario:?}");
        }
        _ => {
            let run = run_scenario(base, scenario, Some(reference.before_shutdown.len()));
            assert_eq!(
                event_multiset(&run.before_shutdown),
                event_multiset(&reference.before_shutdown),
                "{base:?}: events of {scenario:?}"
            );
            assert_eq!(
                event_multiset(&run.shutdown),
                event_multiset(&reference.shutdown),
                "{base:?}: shutdown events of {scenario:?}"
            );
        }
    }
}

fn fixed_scenario() -> Scenario {
    let leaf = || Tree(vec![]);
    let trees = vec![
        Tree(vec![Tree(vec![leaf(), leaf()]), Tree(vec![leaf()]), leaf()]),
        Tree(vec![Tree(vec![Tree(vec![leaf()])])]),
        leaf(),
    ];
    use Hop::{Down, Peer, Up};
    let actions = vec![
        Action::Broadcast { root: 0, ask: false },
        Action::Relay { root: 0, path: vec![Down(0), Down(1), Up, Up, Peer(1), Down(0), Down(0)], ask: false },
        Action::Relay { root: 1, path: vec![Down(0), Peer(2), Down(5), Peer(0), Down(1)], ask: true },
        Action::Broadcast { root: 1, ask: true },
        Action::Relay { root: 2, path: vec![], ask: false },
        Action::Relay { root: 2, path: vec![Up, Peer(0), Down(2), Up, Down(0), Down(0)], ask: false },
        Action::Broadcast { root: 0, ask: true },
        Action::Broadcast { root: 2, ask: false },
        Action::Relay { root: 0, path: vec![Down(0), Down(0), Down(3)], ask: true },
    ];
    Scenario { trees, actions }
}

#[test]
fn simple_gives_the_same_trace_fifty_times() {
    let scenario = fixed_scenario();
    let first = run_scenario(SystemBase::Simple, &scenario, None);
    // The scenario really does something: every node grew, pinged and was stopped.
    let nodes: usize = scenario.trees.iter().map(Tree::size).sum();
    assert_eq!(first.before_shutdown.iter().filter(|(e, _)| e.contains("<- grow")).count(), nodes);
    assert_eq!(first.shutdown.iter().filter(|(e, _)| e.contains("<- exit request")).count(), nodes, "{first:#?}");
    for run in 1..50 {
        let again = run_scenario(SystemBase::Simple, &scenario, None);
        assert_eq!(again, first, "run {run} differs from the first");
    }
}

#[test]
fn threaded_runs_the_same_events_as_simple() {
    for _ in 0..5 {
        determinism_property(SystemBase::Threaded, &fixed_scenario());
    }
}

fn tree() -> impl Strategy<Value = Tree> {
    Just(Tree(vec![])).prop_recursive(3, 12, 3, |inner| prop::collection::vec(inner, 0..=3).prop_map(Tree))
}

fn hop() -> impl Strategy<Value = Hop> {
    prop_oneof![(0..4u32).prop_map(Hop::Down), Just(Hop::Up), (0..4u32).prop_map(Hop::Peer)]
}

fn action() -> impl Strategy<Value = Action> {
    let path = prop::collection::vec(hop(), 0..8);
    prop_oneof![
        (0..3usize, path, any::<bool>()).prop_map(|(root, path, ask)| Action::Relay { root, path, ask }),
        (0..3usize, any::<bool>()).prop_map(|(root, ask)| Action::Broadcast { root, ask }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (prop::collection::vec(tree(), 1..=3), prop::collection::vec(action(), 1..12))
        .prop_map(|(trees, actions)| Scenario { trees, actions })
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn a_random_scenario_runs_the_same_twice_on_simple(scenario in scenario()) {
        determinism_property(SystemBase::Simple, &scenario);
    }

    #[test]
    fn a_random_scenario_runs_the_same_events_on_threaded(scenario in scenario()) {
        determinism_property(SystemBase::Threaded, &scenario);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Concurrent external asks never get each other's replies.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
struct Request {
    thread: u64,
    i: u64,
}

impl Request {
    fn key(self) -> u64 {
        self.thread << 32 | self.i
    }
}

/// A request passed on to a child, with the address of whoever asked.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Forwarded {
    origin: ActorAddress,
    request: Request,
}

#[derive(Default)]
struct Immediate;

#[actor]
impl Immediate {
    #[handler]
    fn request(&mut self, request: Request) -> u64 {
        request.key() * 2
    }
}

#[derive(Default)]
struct Forwarder {
    child: Option<Addr<ChildReplier>>,
}

#[actor]
impl Forwarder {
    #[handler]
    fn request(&mut self, request: Request, cx: &mut Context<'_>) {
        let child = match &self.child {
            Some(child) => child.clone(),
            None => self.child.insert(cx.create_actor::<ChildReplier>()).clone(),
        };
        let origin = cx.sender();
        cx.send(&child, Forwarded { origin, request });
    }
}

#[derive(Default)]
struct ChildReplier;

#[actor]
impl ChildReplier {
    #[handler]
    fn forwarded(&mut self, Forwarded { origin, request }: Forwarded, cx: &mut Context<'_>) {
        cx.send(&origin, request.key() * 2 + 1);
    }
}

fn concurrent_asks_property(base: SystemBase) {
    const THREADS: u64 = 8;
    const ASKS: u64 = 300;
    let system = ActorSystem::with_base(base).unwrap();
    let immediate: ActorAddress = system.create_actor::<Immediate>().unwrap().into();
    let forwarder: ActorAddress = system.create_actor::<Forwarder>().unwrap().into();
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (system, immediate, forwarder) = (system.clone(), immediate.clone(), forwarder.clone());
            std::thread::spawn(move || {
                let mut wrong = vec![];
                for i in 0..ASKS {
                    let request = Request { thread, i };
                    let (target, want) = if (thread + i) % 2 == 0 {
                        (&immediate, request.key() * 2)
                    } else {
                        (&forwarder, request.key() * 2 + 1)
                    };
                    let got: u64 = system.ask(target, request, LONG).unwrap();
                    if got != want {
                        wrong.push((request, got));
                    }
                }
                wrong
            })
        })
        .collect();
    let wrong: Vec<(Request, u64)> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(wrong.is_empty(), "{base:?}: {} replies went to the wrong ask: {wrong:?}", wrong.len());
    assert_eq!(system.stats().dead_letters, 0, "{base:?}");
    system.shutdown().unwrap();
}

#[test]
fn concurrent_asks_from_eight_threads_get_their_own_replies() {
    for base in BASES {
        concurrent_asks_property(base);
    }
}
