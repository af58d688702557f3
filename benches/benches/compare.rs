//! Throughput and memory of thespian against a raw tokio channel, actix, ractor and kameo.
//!
//! ```text
//! cargo bench -p benches --bench compare                     # system allocator
//! cargo bench -p benches --bench compare --features mimalloc # mimalloc
//! cargo run --release -p benches                             # both, one after the other
//! ```
//!
//! Workloads, each measured three times (the median is reported):
//!
//! * request/reply: round trips between two actors (A sends to B, B answers A, A sends the next);
//! * one-way: messages from one sending actor to a counting actor, timed until the last is counted;
//! * spawn+stop: actors created, each then stopped, timed until all have stopped;
//! * bytes per idle actor: growth of the resident set while idle actors are created.
//!
//! Every (framework, workload) pair runs in a fresh child process of this binary, so one
//! framework's heap, threads and caches never weigh on another's figures.
//!
//! Options: `--quick` (a tenth of each workload, for a smoke test), `--runs N` (runs per figure,
//! default 3) and `--frameworks a,b,...` (keys: simple, threaded, tokio-ct, tokio-mt, actix,
//! ractor, kameo).

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ALLOCATOR: &str = if cfg!(feature = "mimalloc") { "mimalloc" } else { "system (glibc malloc)" };

/// Round trips of the request/reply workload.
const ROUND_TRIPS: u64 = 200_000;
/// Messages of the one-way workload.
const ONE_WAY: u64 = 1_000_000;
/// Actors of the spawn+stop and idle-memory workloads.
const ACTORS: usize = 100_000;
/// Runs per figure by default (`--runs N` changes it); the median is reported.
const RUNS: usize = 3;
/// How long to let freshly created actors settle before the resident set is read.
const SETTLE: Duration = Duration::from_millis(200);
/// How long to wait for any single workload before declaring it stuck.
const PATIENCE: Duration = Duration::from_secs(300);

/// The frameworks, in table order: key, label, and whether it is a peer the ratios refer to.
const FRAMEWORKS: &[(&str, &str, bool)] = &[
    ("simple", "thespian `Simple`", false),
    ("threaded", "thespian `Threaded`", false),
    ("tokio-ct", "tokio mpsc, current-thread", false),
    ("tokio-mt", "tokio mpsc, multi-thread", false),
    ("actix", "actix (System arbiter)", true),
    ("ractor", "ractor (tokio multi-thread)", true),
    ("kameo", "kameo (tokio multi-thread)", true),
];

/// The measured quantities, in column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    RequestReply,
    OneWay,
    SpawnStop,
    IdleBytes,
}

const WORKLOADS: [Workload; 4] = [Workload::RequestReply, Workload::OneWay, Workload::SpawnStop, Workload::IdleBytes];

impl Workload {
    fn key(self) -> &'static str {
        match self {
            Workload::RequestReply => "rr",
            Workload::OneWay => "ow",
            Workload::SpawnStop => "ss",
            Workload::IdleBytes => "mem",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        WORKLOADS.into_iter().find(|w| w.key() == key)
    }

    fn higher_is_better(self) -> bool {
        self != Workload::IdleBytes
    }
}

/// Workload sizes (a tenth of them with `--quick`) and runs per figure.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    round_trips: u64,
    one_way: u64,
    actors: usize,
    runs: usize,
}

impl Sizes {
    /// From `--quick` and `--runs N`.
    fn from_args(args: &[String]) -> Self {
        let quick = args.iter().any(|a| a == "--quick");
        let div = if quick { 10 } else { 1 };
        let runs = match args.iter().position(|a| a == "--runs") {
            Some(pos) => args.get(pos + 1).and_then(|n| n.parse().ok()).filter(|&n| n > 0).unwrap_or(RUNS),
            None => RUNS,
        };
        Sizes { round_trips: ROUND_TRIPS / div, one_way: ONE_WAY / div, actors: ACTORS / div as usize, runs }
    }

    /// The arguments that give these sizes to a worker.
    fn to_args(self) -> Vec<String> {
        let mut args = vec!["--runs".to_owned(), self.runs.to_string()];
        if self.actors != ACTORS {
            args.push("--quick".to_owned());
        }
        args
    }
}

/// One framework's implementation of the workloads: each returns the time of one run, or the
/// bytes per idle actor.
trait Bench {
    fn request_reply(&self, rounds: u64) -> Duration;
    fn one_way(&self, messages: u64) -> Duration;
    fn spawn_stop(&self, actors: usize) -> Duration;
    fn idle_bytes(&self, actors: usize) -> f64;
}

fn bench_for(key: &str) -> Option<Box<dyn Bench>> {
    Some(match key {
        "simple" => Box::new(th::Thespian(thespian::SystemBase::Simple)),
        "threaded" => Box::new(th::Thespian(thespian::SystemBase::Threaded)),
        "tokio-ct" => Box::new(raw::Raw { multi_thread: false }),
        "tokio-mt" => Box::new(raw::Raw { multi_thread: true }),
        "actix" => Box::new(ax::Actix),
        "ractor" => Box::new(rc::Ractor),
        "kameo" => Box::new(km::Kameo),
        _ => return None,
    })
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench` to every bench target; it means nothing here.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let sizes = Sizes::from_args(&args);
    if let Some(pos) = args.iter().position(|a| a == "--worker") {
        return match (args.get(pos + 1), args.get(pos + 2).and_then(|w| Workload::from_key(w))) {
            (Some(key), Some(workload)) => worker(key, workload, sizes),
            _ => {
                eprintln!("usage: compare --worker FRAMEWORK rr|ow|ss|mem [--quick] [--runs N]");
                ExitCode::FAILURE
            }
        };
    }
    let selected: Vec<&(&str, &str, bool)> = match args.iter().position(|a| a == "--frameworks") {
        Some(pos) => {
            let list = args.get(pos + 1).map(String::as_str).unwrap_or("");
            FRAMEWORKS.iter().filter(|(key, _, _)| list.split(',').any(|k| k == *key)).collect()
        }
        None => FRAMEWORKS.iter().collect(),
    };
    orchestrate(&selected, sizes)
}

/// Runs one workload of one framework `sizes.runs` times in this (child) process and prints the median
/// figure on stdout.
fn worker(key: &str, workload: Workload, sizes: Sizes) -> ExitCode {
    let Some(bench) = bench_for(key) else {
        eprintln!("unknown framework `{key}`");
        return ExitCode::FAILURE;
    };
    let figure = match workload {
        Workload::IdleBytes => bench.idle_bytes(sizes.actors),
        _ => {
            let (count, run): (f64, &dyn Fn() -> Duration) = match workload {
                Workload::RequestReply => (sizes.round_trips as f64, &|| bench.request_reply(sizes.round_trips)),
                Workload::OneWay => (sizes.one_way as f64, &|| bench.one_way(sizes.one_way)),
                _ => (sizes.actors as f64, &|| bench.spawn_stop(sizes.actors)),
            };
            let mut rates: Vec<f64> = (0..sizes.runs).map(|_| count / run().as_secs_f64()).collect();
            rates.sort_by(f64::total_cmp);
            rates[sizes.runs / 2]
        }
    };
    println!("{figure}");
    ExitCode::SUCCESS
}

/// Measures every selected framework in child processes and prints the table.
fn orchestrate(selected: &[&(&str, &str, bool)], sizes: Sizes) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("cannot find this executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let load_before = load_average();
    let started = Instant::now();
    let mut rows: Vec<(&str, bool, [Option<f64>; 4])> = Vec::new();
    for (key, label, is_peer) in selected {
        let mut figures = [None; 4];
        for (i, workload) in WORKLOADS.into_iter().enumerate() {
            eprint!("[{ALLOCATOR}] {label}: {} ... ", workload.key());
            let mut cmd = Command::new(&exe);
            cmd.args(["--worker", key, workload.key()]).args(sizes.to_args());
            let t = Instant::now();
            figures[i] = match cmd.output() {
                Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().parse::<f64>().ok(),
                Ok(out) => {
                    eprint!("failed ({}): {} ", out.status, String::from_utf8_lossy(&out.stderr).trim());
                    None
                }
                Err(e) => {
                    eprint!("cannot start: {e} ");
                    None
                }
            };
            eprintln!(
                "{} ({:.1} s)",
                figures[i].map_or("-".to_owned(), |f| format_figure(workload, f)),
                t.elapsed().as_secs_f64()
            );
        }
        rows.push((label, *is_peer, figures));
    }

    let best: Vec<Option<f64>> = WORKLOADS
        .into_iter()
        .enumerate()
        .map(|(i, workload)| {
            let peers = rows.iter().filter(|r| r.1).filter_map(|r| r.2[i]);
            if workload.higher_is_better() { peers.reduce(f64::max) } else { peers.reduce(f64::min) }
        })
        .collect();

    println!();
    println!(
        "Allocator: {ALLOCATOR}. {} CPUs. Median of {} runs. {} round trips, {} one-way messages, {} actors.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        sizes.runs,
        sizes.round_trips,
        sizes.one_way,
        sizes.actors
    );
    println!();
    println!(
        "| Framework | request/reply (round trips/s) | one-way (msgs/s) | spawn+stop (actors/s) | bytes per idle actor |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (label, _, figures) in &rows {
        let cells: Vec<String> = WORKLOADS
            .into_iter()
            .enumerate()
            .map(|(i, workload)| match (figures[i], best[i]) {
                (Some(f), Some(b)) => format!("{} ({:.2}×)", format_figure(workload, f), f / b),
                (Some(f), None) => format_figure(workload, f),
                (None, _) => "failed".to_owned(),
            })
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    println!();
    println!(
        "Ratios are to the best of actix, ractor and kameo in the column (throughput: higher is better; bytes: lower is better)."
    );
    println!(
        "Measured in {:.0} s; 1-minute load average {load_before} before, {} after.",
        started.elapsed().as_secs_f64(),
        load_average()
    );
    if rows.iter().any(|r| r.2.iter().any(Option::is_none)) { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn format_figure(workload: Workload, figure: f64) -> String {
    match workload {
        Workload::IdleBytes => format!("{figure:.0} B"),
        _ if figure >= 1e6 => format!("{:.2} M", figure / 1e6),
        _ => format!("{:.0} k", figure / 1e3),
    }
}

/// The 1-minute load average, to tell a quiet machine from a busy one.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The resident set of this process, in bytes (from `/proc/self/statm`, 4 KiB pages).
fn rss_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm is readable (Linux only)");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("statm has a resident field");
    (pages * 4096) as f64
}

/// Growth of the resident set per actor between two readings.
fn per_actor(before: f64, after: f64, actors: usize) -> f64 {
    (after - before) / actors as f64
}

/// thespian on the `Simple` and `Threaded` bases.
mod th {
    use std::time::{Duration, Instant};

    use thespian::prelude::*;

    use super::{Bench, PATIENCE, SETTLE, per_actor, rss_bytes};

    #[derive(Debug, Serialize, Deserialize, Message)]
    pub struct Ping(u64);

    #[derive(Debug, Serialize, Deserialize, Message)]
    pub struct Pong(u64);

    #[derive(Debug, Serialize, Deserialize, Message)]
    pub struct Tick(u64);

    /// Starts a ping-pong of `rounds` round trips with `ponger`; the reply comes at the end.
    #[derive(Debug, Serialize, Deserialize, Message)]
    pub struct StartPing {
        ponger: ActorAddress,
        rounds: u64,
    }

    /// Sends `count` ticks to `target`, all from one handler call.
    #[derive(Debug, Serialize, Deserialize, Message)]
    pub struct Blast {
        target: ActorAddress,
        count: u64,
    }

    /// Asks the sink to reply once it has counted this many ticks.
    #[derive(Debug, Serialize, Deserialize, Message)]
    pub struct Expect(u64);

    #[derive(Default)]
    pub struct Pinger {
        ponger: Option<ActorAddress>,
        left: u64,
        waiter: Option<ActorAddress>,
    }

    #[actor]
    impl Pinger {
        #[handler]
        fn start(&mut self, msg: StartPing, sender: ActorAddress, cx: &mut Context<'_>) {
            self.waiter = Some(sender);
            self.left = msg.rounds;
            cx.send(&msg.ponger, Ping(msg.rounds));
            self.ponger = Some(msg.ponger);
        }

        #[handler]
        fn pong(&mut self, msg: Pong, cx: &mut Context<'_>) {
            self.left -= 1;
            if self.left == 0 {
                if let Some(waiter) = self.waiter.take() {
                    cx.send(&waiter, msg.0);
                }
            } else if let Some(ponger) = &self.ponger {
                cx.send(ponger, Ping(self.left));
            }
        }
    }

    #[derive(Default)]
    pub struct Ponger;

    #[actor]
    impl Ponger {
        /// The reply goes to the sender: the pinger.
        #[handler]
        fn ping(&mut self, msg: Ping) -> Pong {
            Pong(msg.0)
        }
    }

    #[derive(Default)]
    pub struct Source;

    #[actor]
    impl Source {
        #[handler]
        fn blast(&mut self, msg: Blast, cx: &mut Context<'_>) {
            for i in 0..msg.count {
                cx.send(&msg.target, Tick(i));
            }
        }
    }

    #[derive(Default)]
    pub struct Sink {
        seen: u64,
        expected: u64,
        waiter: Option<ActorAddress>,
    }

    #[actor]
    impl Sink {
        #[handler]
        fn tick(&mut self, _msg: Tick, cx: &mut Context<'_>) {
            self.seen += 1;
            if self.seen == self.expected
                && let Some(waiter) = self.waiter.take()
            {
                cx.send(&waiter, self.seen);
            }
        }

        #[handler]
        fn expect(&mut self, msg: Expect, sender: ActorAddress, cx: &mut Context<'_>) {
            self.expected = msg.0;
            if self.seen >= msg.0 {
                cx.send(&sender, self.seen);
            } else {
                self.waiter = Some(sender);
            }
        }
    }

    /// An actor that does nothing until it is told to exit.
    #[derive(Default)]
    pub struct Idle;

    #[actor]
    impl Idle {
        #[handler]
        fn noop(&mut self, _msg: ()) {}
    }

    pub struct Thespian(pub SystemBase);

    impl Thespian {
        fn system(&self) -> ActorSystem {
            ActorSystem::builder().base(self.0).build().expect("system starts")
        }

        fn wait_until_empty(system: &ActorSystem) {
            let deadline = Instant::now() + PATIENCE;
            while system.stats().actors != 0 {
                assert!(Instant::now() < deadline, "actors did not stop");
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }

    impl Bench for Thespian {
        fn request_reply(&self, rounds: u64) -> Duration {
            let system = self.system();
            let pinger = system.create_actor::<Pinger>().expect("create");
            let ponger = system.create_actor::<Ponger>().expect("create");
            let start = Instant::now();
            let last: u64 = system
                .ask(&pinger, StartPing { ponger: ponger.into_address(), rounds }, PATIENCE)
                .expect("ping-pong finishes");
            let elapsed = start.elapsed();
            assert_eq!(last, 1);
            system.shutdown().expect("shutdown");
            elapsed
        }

        fn one_way(&self, messages: u64) -> Duration {
            let system = self.system();
            let source = system.create_actor::<Source>().expect("create");
            let sink = system.create_actor::<Sink>().expect("create");
            let start = Instant::now();
            // On `Simple` the tell itself delivers every tick before it returns.
            system.tell(&source, Blast { target: sink.address().clone(), count: messages }).expect("tell");
            let seen: u64 = system.ask(&sink, Expect(messages), PATIENCE).expect("all ticks counted");
            let elapsed = start.elapsed();
            assert_eq!(seen, messages);
            system.shutdown().expect("shutdown");
            elapsed
        }

        fn spawn_stop(&self, actors: usize) -> Duration {
            let system = self.system();
            let start = Instant::now();
            let addrs: Vec<Addr<Idle>> = (0..actors).map(|_| system.create_actor::<Idle>().expect("create")).collect();
            for addr in &addrs {
                system.tell(addr, ActorExitRequest::default()).expect("tell");
            }
            Self::wait_until_empty(&system);
            let elapsed = start.elapsed();
            drop(addrs);
            system.shutdown().expect("shutdown");
            elapsed
        }

        fn idle_bytes(&self, actors: usize) -> f64 {
            let system = self.system();
            // One actor through its whole life first, so one-time set-up is not counted.
            let warm = system.create_actor::<Idle>().expect("create");
            system.tell(&warm, ActorExitRequest::default()).expect("tell");
            Self::wait_until_empty(&system);
            let mut addrs: Vec<Addr<Idle>> = Vec::with_capacity(actors);
            std::thread::sleep(SETTLE);
            let before = rss_bytes();
            for _ in 0..actors {
                addrs.push(system.create_actor::<Idle>().expect("create"));
            }
            std::thread::sleep(SETTLE);
            let after = rss_bytes();
            assert_eq!(system.stats().actors, actors);
            system.shutdown().expect("shutdown");
            drop(addrs);
            per_actor(before, after, actors)
        }
    }
}

/// The baseline: tasks exchanging boxed `dyn Any` messages over unbounded tokio channels.
mod raw {
    use std::any::Any;
    use std::time::{Duration, Instant};

    use tokio::runtime::Runtime;
    use tokio::sync::{mpsc, oneshot};

    use super::{Bench, SETTLE, per_actor, rss_bytes};

    type AnyMsg = Box<dyn Any + Send>;

    struct Stop;

    pub struct Raw {
        pub multi_thread: bool,
    }

    impl Raw {
        fn runtime(&self) -> Runtime {
            let mut builder = if self.multi_thread {
                tokio::runtime::Builder::new_multi_thread()
            } else {
                tokio::runtime::Builder::new_current_thread()
            };
            builder.enable_all().build().expect("runtime starts")
        }
    }

    impl Bench for Raw {
        fn request_reply(&self, rounds: u64) -> Duration {
            self.runtime().block_on(async move {
                let (to_ponger, mut ponger_rx) = mpsc::unbounded_channel::<AnyMsg>();
                let (to_pinger, mut pinger_rx) = mpsc::unbounded_channel::<AnyMsg>();
                tokio::spawn(async move {
                    while let Some(msg) = ponger_rx.recv().await {
                        let n = *msg.downcast::<u64>().expect("a u64");
                        if to_pinger.send(Box::new(n)).is_err() {
                            break;
                        }
                    }
                });
                let (done_tx, done_rx) = oneshot::channel();
                let start = Instant::now();
                tokio::spawn(async move {
                    let _ = to_ponger.send(Box::new(rounds));
                    let mut left = rounds;
                    while let Some(msg) = pinger_rx.recv().await {
                        let _ = msg.downcast::<u64>().expect("a u64");
                        left -= 1;
                        if left == 0 {
                            break;
                        }
                        let _ = to_ponger.send(Box::new(left));
                    }
                    let _ = done_tx.send(());
                });
                done_rx.await.expect("ping-pong finishes");
                start.elapsed()
            })
        }

        fn one_way(&self, messages: u64) -> Duration {
            self.runtime().block_on(async move {
                let (to_sink, mut sink_rx) = mpsc::unbounded_channel::<AnyMsg>();
                let (done_tx, done_rx) = oneshot::channel();
                tokio::spawn(async move {
                    let mut seen = 0u64;
                    while let Some(msg) = sink_rx.recv().await {
                        if msg.is::<u64>() {
                            seen += 1;
                            if seen == messages {
                                break;
                            }
                        }
                    }
                    let _ = done_tx.send(seen);
                });
                let start = Instant::now();
                tokio::spawn(async move {
                    for i in 0..messages {
                        let _ = to_sink.send(Box::new(i));
                    }
                });
                assert_eq!(done_rx.await.expect("all counted"), messages);
                start.elapsed()
            })
        }

        fn spawn_stop(&self, actors: usize) -> Duration {
            self.runtime().block_on(async move {
                let start = Instant::now();
                let mut mailboxes = Vec::with_capacity(actors);
                let mut handles = Vec::with_capacity(actors);
                for _ in 0..actors {
                    let (tx, rx) = mpsc::unbounded_channel::<AnyMsg>();
                    mailboxes.push(tx);
                    handles.push(tokio::spawn(idle_task(rx)));
                }
                for tx in &mailboxes {
                    let _ = tx.send(Box::new(Stop));
                }
                for handle in handles {
                    handle.await.expect("task ends");
                }
                start.elapsed()
            })
        }

        fn idle_bytes(&self, actors: usize) -> f64 {
            self.runtime().block_on(async move {
                let (tx, rx) = mpsc::unbounded_channel::<AnyMsg>();
                let warm = tokio::spawn(idle_task(rx));
                let _ = tx.send(Box::new(Stop));
                warm.await.expect("task ends");
                let mut mailboxes = Vec::with_capacity(actors);
                let mut handles = Vec::with_capacity(actors);
                tokio::time::sleep(SETTLE).await;
                let before = rss_bytes();
                for _ in 0..actors {
                    let (tx, rx) = mpsc::unbounded_channel::<AnyMsg>();
                    mailboxes.push(tx);
                    handles.push(tokio::spawn(idle_task(rx)));
                }
                tokio::time::sleep(SETTLE).await;
                let after = rss_bytes();
                drop(mailboxes);
                for handle in handles {
                    handle.await.expect("task ends");
                }
                per_actor(before, after, actors)
            })
        }
    }

    async fn idle_task(mut rx: mpsc::UnboundedReceiver<AnyMsg>) {
        while let Some(msg) = rx.recv().await {
            if msg.is::<Stop>() {
                break;
            }
        }
    }
}

/// actix: every actor on the one arbiter of a `System` (a single thread).
mod ax {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use actix::prelude::*;
    use tokio::sync::{Notify, oneshot};

    use super::{Bench, SETTLE, per_actor, rss_bytes};

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Ping(u64);

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Pong(u64);

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Connect(Addr<Pinger>);

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Go;

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Tick(#[allow(dead_code)] u64);

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Blast(Addr<Sink>, u64);

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Stop;

    struct Pinger {
        ponger: Addr<Ponger>,
        left: u64,
        done: Option<oneshot::Sender<u64>>,
    }

    impl Actor for Pinger {
        type Context = Context<Self>;
    }

    impl Handler<Go> for Pinger {
        type Result = ();
        fn handle(&mut self, _msg: Go, _ctx: &mut Context<Self>) {
            self.ponger.do_send(Ping(self.left));
        }
    }

    impl Handler<Pong> for Pinger {
        type Result = ();
        fn handle(&mut self, msg: Pong, _ctx: &mut Context<Self>) {
            self.left -= 1;
            if self.left == 0 {
                if let Some(done) = self.done.take() {
                    let _ = done.send(msg.0);
                }
            } else {
                self.ponger.do_send(Ping(self.left));
            }
        }
    }

    struct Ponger {
        pinger: Option<Addr<Pinger>>,
    }

    impl Actor for Ponger {
        type Context = Context<Self>;
    }

    impl Handler<Connect> for Ponger {
        type Result = ();
        fn handle(&mut self, msg: Connect, _ctx: &mut Context<Self>) {
            self.pinger = Some(msg.0);
        }
    }

    impl Handler<Ping> for Ponger {
        type Result = ();
        fn handle(&mut self, msg: Ping, _ctx: &mut Context<Self>) {
            if let Some(pinger) = &self.pinger {
                pinger.do_send(Pong(msg.0));
            }
        }
    }

    struct Source;

    impl Actor for Source {
        type Context = Context<Self>;
    }

    impl Handler<Blast> for Source {
        type Result = ();
        fn handle(&mut self, msg: Blast, _ctx: &mut Context<Self>) {
            for i in 0..msg.1 {
                msg.0.do_send(Tick(i));
            }
        }
    }

    struct Sink {
        left: u64,
        done: Option<oneshot::Sender<()>>,
    }

    impl Actor for Sink {
        type Context = Context<Self>;
    }

    impl Handler<Tick> for Sink {
        type Result = ();
        fn handle(&mut self, _msg: Tick, _ctx: &mut Context<Self>) {
            self.left -= 1;
            if self.left == 0
                && let Some(done) = self.done.take()
            {
                let _ = done.send(());
            }
        }
    }

    /// Counts down stopped actors; the last one wakes the waiter.
    struct Countdown {
        left: AtomicUsize,
        zero: Notify,
    }

    struct Idle {
        countdown: Arc<Countdown>,
    }

    impl Actor for Idle {
        type Context = Context<Self>;

        fn stopped(&mut self, _ctx: &mut Context<Self>) {
            if self.countdown.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                self.countdown.zero.notify_one();
            }
        }
    }

    impl Handler<Stop> for Idle {
        type Result = ();
        fn handle(&mut self, _msg: Stop, ctx: &mut Context<Self>) {
            ctx.stop();
        }
    }

    pub struct Actix;

    impl Bench for Actix {
        fn request_reply(&self, rounds: u64) -> Duration {
            System::new().block_on(async move {
                let (done_tx, done_rx) = oneshot::channel();
                let ponger = Ponger { pinger: None }.start();
                let pinger = Pinger { ponger: ponger.clone(), left: rounds, done: Some(done_tx) }.start();
                ponger.do_send(Connect(pinger.clone()));
                let start = Instant::now();
                pinger.do_send(Go);
                assert_eq!(done_rx.await.expect("ping-pong finishes"), 1);
                start.elapsed()
            })
        }

        fn one_way(&self, messages: u64) -> Duration {
            System::new().block_on(async move {
                let (done_tx, done_rx) = oneshot::channel();
                let sink = Sink { left: messages, done: Some(done_tx) }.start();
                let source = Source.start();
                let start = Instant::now();
                source.do_send(Blast(sink, messages));
                done_rx.await.expect("all counted");
                start.elapsed()
            })
        }

        fn spawn_stop(&self, actors: usize) -> Duration {
            System::new().block_on(async move {
                let countdown = Arc::new(Countdown { left: AtomicUsize::new(actors), zero: Notify::new() });
                let start = Instant::now();
                let addrs: Vec<Addr<Idle>> =
                    (0..actors).map(|_| Idle { countdown: countdown.clone() }.start()).collect();
                for addr in &addrs {
                    addr.do_send(Stop);
                }
                countdown.zero.notified().await;
                start.elapsed()
            })
        }

        fn idle_bytes(&self, actors: usize) -> f64 {
            System::new().block_on(async move {
                let warm_countdown = Arc::new(Countdown { left: AtomicUsize::new(1), zero: Notify::new() });
                Idle { countdown: warm_countdown.clone() }.start().do_send(Stop);
                warm_countdown.zero.notified().await;
                let countdown = Arc::new(Countdown { left: AtomicUsize::new(actors), zero: Notify::new() });
                let mut addrs = Vec::with_capacity(actors);
                tokio::time::sleep(SETTLE).await;
                let before = rss_bytes();
                for _ in 0..actors {
                    addrs.push(Idle { countdown: countdown.clone() }.start());
                }
                tokio::time::sleep(SETTLE).await;
                let after = rss_bytes();
                for addr in &addrs {
                    addr.do_send(Stop);
                }
                countdown.zero.notified().await;
                per_actor(before, after, actors)
            })
        }
    }
}

/// ractor on a tokio multi-thread runtime.
mod rc {
    use std::time::{Duration, Instant};

    use ractor::{Actor, ActorProcessingErr, ActorRef};
    use tokio::runtime::Runtime;
    use tokio::sync::oneshot;

    use super::{Bench, SETTLE, per_actor, rss_bytes};

    pub enum PingerMsg {
        Go(ActorRef<PongerMsg>, u64, oneshot::Sender<u64>),
        Pong(u64),
    }

    pub enum PongerMsg {
        Connect(ActorRef<PingerMsg>),
        Ping(u64),
    }

    pub struct PingerState {
        ponger: Option<ActorRef<PongerMsg>>,
        left: u64,
        done: Option<oneshot::Sender<u64>>,
    }

    struct Pinger;

    impl Actor for Pinger {
        type Msg = PingerMsg;
        type State = PingerState;
        type Arguments = ();

        async fn pre_start(&self, _me: ActorRef<PingerMsg>, _args: ()) -> Result<PingerState, ActorProcessingErr> {
            Ok(PingerState { ponger: None, left: 0, done: None })
        }

        async fn handle(
            &self,
            _me: ActorRef<PingerMsg>,
            msg: PingerMsg,
            state: &mut PingerState,
        ) -> Result<(), ActorProcessingErr> {
            match msg {
                PingerMsg::Go(ponger, rounds, done) => {
                    ponger.send_message(PongerMsg::Ping(rounds))?;
                    *state = PingerState { ponger: Some(ponger), left: rounds, done: Some(done) };
                }
                PingerMsg::Pong(n) => {
                    state.left -= 1;
                    if state.left == 0 {
                        if let Some(done) = state.done.take() {
                            let _ = done.send(n);
                        }
                    } else if let Some(ponger) = &state.ponger {
                        ponger.send_message(PongerMsg::Ping(state.left))?;
                    }
                }
            }
            Ok(())
        }
    }

    struct Ponger;

    impl Actor for Ponger {
        type Msg = PongerMsg;
        type State = Option<ActorRef<PingerMsg>>;
        type Arguments = ();

        async fn pre_start(&self, _me: ActorRef<PongerMsg>, _args: ()) -> Result<Self::State, ActorProcessingErr> {
            Ok(None)
        }

        async fn handle(
            &self,
            _me: ActorRef<PongerMsg>,
            msg: PongerMsg,
            state: &mut Self::State,
        ) -> Result<(), ActorProcessingErr> {
            match msg {
                PongerMsg::Connect(pinger) => *state = Some(pinger),
                PongerMsg::Ping(n) => {
                    if let Some(pinger) = state {
                        pinger.send_message(PingerMsg::Pong(n))?;
                    }
                }
            }
            Ok(())
        }
    }

    pub struct Blast(ActorRef<SinkMsg>, u64);

    pub enum SinkMsg {
        Tick(#[allow(dead_code)] u64),
    }

    struct Source;

    impl Actor for Source {
        type Msg = Blast;
        type State = ();
        type Arguments = ();

        async fn pre_start(&self, _me: ActorRef<Blast>, _args: ()) -> Result<(), ActorProcessingErr> {
            Ok(())
        }

        async fn handle(&self, _me: ActorRef<Blast>, msg: Blast, _state: &mut ()) -> Result<(), ActorProcessingErr> {
            for i in 0..msg.1 {
                msg.0.send_message(SinkMsg::Tick(i))?;
            }
            Ok(())
        }
    }

    struct Sink;

    impl Actor for Sink {
        type Msg = SinkMsg;
        type State = (u64, Option<oneshot::Sender<()>>);
        type Arguments = (u64, oneshot::Sender<()>);

        async fn pre_start(
            &self,
            _me: ActorRef<SinkMsg>,
            (left, done): Self::Arguments,
        ) -> Result<Self::State, ActorProcessingErr> {
            Ok((left, Some(done)))
        }

        async fn handle(
            &self,
            _me: ActorRef<SinkMsg>,
            _msg: SinkMsg,
            state: &mut Self::State,
        ) -> Result<(), ActorProcessingErr> {
            state.0 -= 1;
            if state.0 == 0
                && let Some(done) = state.1.take()
            {
                let _ = done.send(());
            }
            Ok(())
        }
    }

    struct Idle;

    impl Actor for Idle {
        type Msg = ();
        type State = ();
        type Arguments = ();

        async fn pre_start(&self, _me: ActorRef<()>, _args: ()) -> Result<(), ActorProcessingErr> {
            Ok(())
        }
    }

    pub struct Ractor;

    fn runtime() -> Runtime {
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime starts")
    }

    impl Bench for Ractor {
        fn request_reply(&self, rounds: u64) -> Duration {
            runtime().block_on(async move {
                let (ponger, ponger_task) = Actor::spawn(None, Ponger, ()).await.expect("spawn");
                let (pinger, pinger_task) = Actor::spawn(None, Pinger, ()).await.expect("spawn");
                ponger.send_message(PongerMsg::Connect(pinger.clone())).map_err(|_| "send").expect("send");
                let (done_tx, done_rx) = oneshot::channel();
                let start = Instant::now();
                pinger.send_message(PingerMsg::Go(ponger.clone(), rounds, done_tx)).map_err(|_| "send").expect("send");
                assert_eq!(done_rx.await.expect("ping-pong finishes"), 1);
                let elapsed = start.elapsed();
                pinger.stop(None);
                ponger.stop(None);
                let _ = pinger_task.await;
                let _ = ponger_task.await;
                elapsed
            })
        }

        fn one_way(&self, messages: u64) -> Duration {
            runtime().block_on(async move {
                let (done_tx, done_rx) = oneshot::channel();
                let (sink, sink_task) = Actor::spawn(None, Sink, (messages, done_tx)).await.expect("spawn");
                let (source, source_task) = Actor::spawn(None, Source, ()).await.expect("spawn");
                let start = Instant::now();
                source.send_message(Blast(sink.clone(), messages)).map_err(|_| "send").expect("send");
                done_rx.await.expect("all counted");
                let elapsed = start.elapsed();
                source.stop(None);
                sink.stop(None);
                let _ = source_task.await;
                let _ = sink_task.await;
                elapsed
            })
        }

        fn spawn_stop(&self, actors: usize) -> Duration {
            runtime().block_on(async move {
                let start = Instant::now();
                let mut spawned = Vec::with_capacity(actors);
                for _ in 0..actors {
                    spawned.push(Actor::spawn(None, Idle, ()).await.expect("spawn"));
                }
                for (actor, _) in &spawned {
                    actor.stop(None);
                }
                for (_, task) in spawned {
                    task.await.expect("actor ends");
                }
                start.elapsed()
            })
        }

        fn idle_bytes(&self, actors: usize) -> f64 {
            runtime().block_on(async move {
                let (warm, warm_task) = Actor::spawn(None, Idle, ()).await.expect("spawn");
                warm.stop(None);
                warm_task.await.expect("actor ends");
                let mut spawned = Vec::with_capacity(actors);
                tokio::time::sleep(SETTLE).await;
                let before = rss_bytes();
                for _ in 0..actors {
                    spawned.push(Actor::spawn(None, Idle, ()).await.expect("spawn"));
                }
                tokio::time::sleep(SETTLE).await;
                let after = rss_bytes();
                for (actor, _) in &spawned {
                    actor.stop(None);
                }
                for (_, task) in spawned {
                    task.await.expect("actor ends");
                }
                per_actor(before, after, actors)
            })
        }
    }
}

/// kameo on a tokio multi-thread runtime, with unbounded mailboxes (as thespian's).
mod km {
    use std::time::{Duration, Instant};

    use kameo::Actor;
    use kameo::actor::{ActorRef, Spawn};
    use kameo::mailbox;
    use kameo::message::{Context, Message};
    use tokio::runtime::Runtime;
    use tokio::sync::oneshot;

    use super::{Bench, SETTLE, per_actor, rss_bytes};

    struct Ping(u64);
    struct Pong(u64);
    struct Connect(ActorRef<Pinger>);
    struct Go;
    struct Tick(#[allow(dead_code)] u64);
    struct Blast(ActorRef<Sink>, u64);

    #[derive(Actor)]
    struct Pinger {
        ponger: ActorRef<Ponger>,
        left: u64,
        done: Option<oneshot::Sender<u64>>,
    }

    impl Message<Go> for Pinger {
        type Reply = ();
        async fn handle(&mut self, _msg: Go, _ctx: &mut Context<Self, ()>) {
            let _ = self.ponger.tell(Ping(self.left)).try_send();
        }
    }

    impl Message<Pong> for Pinger {
        type Reply = ();
        async fn handle(&mut self, msg: Pong, _ctx: &mut Context<Self, ()>) {
            self.left -= 1;
            if self.left == 0 {
                if let Some(done) = self.done.take() {
                    let _ = done.send(msg.0);
                }
            } else {
                let _ = self.ponger.tell(Ping(self.left)).try_send();
            }
        }
    }

    #[derive(Actor)]
    struct Ponger {
        pinger: Option<ActorRef<Pinger>>,
    }

    impl Message<Connect> for Ponger {
        type Reply = ();
        async fn handle(&mut self, msg: Connect, _ctx: &mut Context<Self, ()>) {
            self.pinger = Some(msg.0);
        }
    }

    impl Message<Ping> for Ponger {
        type Reply = ();
        async fn handle(&mut self, msg: Ping, _ctx: &mut Context<Self, ()>) {
            if let Some(pinger) = &self.pinger {
                let _ = pinger.tell(Pong(msg.0)).try_send();
            }
        }
    }

    #[derive(Actor)]
    struct Source;

    impl Message<Blast> for Source {
        type Reply = ();
        async fn handle(&mut self, msg: Blast, _ctx: &mut Context<Self, ()>) {
            for i in 0..msg.1 {
                let _ = msg.0.tell(Tick(i)).try_send();
            }
        }
    }

    #[derive(Actor)]
    struct Sink {
        left: u64,
        done: Option<oneshot::Sender<()>>,
    }

    impl Message<Tick> for Sink {
        type Reply = ();
        async fn handle(&mut self, _msg: Tick, _ctx: &mut Context<Self, ()>) {
            self.left -= 1;
            if self.left == 0
                && let Some(done) = self.done.take()
            {
                let _ = done.send(());
            }
        }
    }

    #[derive(Actor)]
    struct Idle;

    pub struct Kameo;

    fn runtime() -> Runtime {
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime starts")
    }

    impl Bench for Kameo {
        fn request_reply(&self, rounds: u64) -> Duration {
            runtime().block_on(async move {
                let (done_tx, done_rx) = oneshot::channel();
                let ponger = Ponger::spawn_with_mailbox(Ponger { pinger: None }, mailbox::unbounded());
                let pinger = Pinger::spawn_with_mailbox(
                    Pinger { ponger: ponger.clone(), left: rounds, done: Some(done_tx) },
                    mailbox::unbounded(),
                );
                ponger.tell(Connect(pinger.clone())).await.map_err(|_| "send").expect("send");
                let start = Instant::now();
                pinger.tell(Go).await.map_err(|_| "send").expect("send");
                assert_eq!(done_rx.await.expect("ping-pong finishes"), 1);
                start.elapsed()
            })
        }

        fn one_way(&self, messages: u64) -> Duration {
            runtime().block_on(async move {
                let (done_tx, done_rx) = oneshot::channel();
                let sink = Sink::spawn_with_mailbox(Sink { left: messages, done: Some(done_tx) }, mailbox::unbounded());
                let source = Source::spawn_with_mailbox(Source, mailbox::unbounded());
                let start = Instant::now();
                source.tell(Blast(sink.clone(), messages)).await.map_err(|_| "send").expect("send");
                done_rx.await.expect("all counted");
                start.elapsed()
            })
        }

        fn spawn_stop(&self, actors: usize) -> Duration {
            runtime().block_on(async move {
                let start = Instant::now();
                let refs: Vec<ActorRef<Idle>> =
                    (0..actors).map(|_| Idle::spawn_with_mailbox(Idle, mailbox::unbounded())).collect();
                for actor in &refs {
                    actor.stop_gracefully().await.expect("stop");
                }
                for actor in &refs {
                    actor.wait_for_shutdown().await;
                }
                start.elapsed()
            })
        }

        fn idle_bytes(&self, actors: usize) -> f64 {
            runtime().block_on(async move {
                let warm = Idle::spawn_with_mailbox(Idle, mailbox::unbounded());
                warm.stop_gracefully().await.expect("stop");
                warm.wait_for_shutdown().await;
                let mut refs = Vec::with_capacity(actors);
                tokio::time::sleep(SETTLE).await;
                let before = rss_bytes();
                for _ in 0..actors {
                    refs.push(Idle::spawn_with_mailbox(Idle, mailbox::unbounded()));
                }
                tokio::time::sleep(SETTLE).await;
                let after = rss_bytes();
                for actor in &refs {
                    actor.stop_gracefully().await.expect("stop");
                }
                for actor in &refs {
                    actor.wait_for_shutdown().await;
                }
                per_actor(before, after, actors)
            })
        }
    }
}
