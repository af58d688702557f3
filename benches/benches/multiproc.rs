//! `MultiprocTcp` between processes over loopback, beside the Python original on the same
//! workloads in the same run (`../shared/bench/thespian/bench.py`, Thespian's `multiprocTCPBase`).
//!
//! ```text
//! cargo bench -p benches --bench multiproc                  # thespian only
//! THESPIAN_PYTHON=/path/to/venv/bin/python cargo bench -p benches --bench multiproc
//! ```
//!
//! With `THESPIAN_PYTHON` set to a Python that has `thespian` installed (4.0.1 from PyPI), the same
//! workloads are run under the original and the table shows both and their ratio.
//! This program is also the node and the isolated actors' program: `thespian::init()` comes first.

use std::time::{Duration, Instant};

use thespian::prelude::*;

const ASK: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "bench::Tick")]
struct Tick(u64);

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "bench::Count")]
struct Count;

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "bench::Go")]
struct Go {
    sink: ActorAddress,
    n: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "bench::Start")]
struct Start {
    pong: ActorAddress,
    n: u64,
}

/// Counts ticks; answers `Count` with the count. In the node.
#[derive(Default)]
struct Sink {
    seen: u64,
}

#[actor(name = "bench::Sink")]
impl Sink {
    #[handler]
    fn tick(&mut self, _t: Tick) {
        self.seen += 1;
    }

    #[handler]
    fn count(&mut self, _c: Count) -> u64 {
        self.seen
    }
}

/// The same, in a process of its own.
#[derive(Default)]
struct FarSink {
    seen: u64,
}

#[actor(name = "bench::FarSink", process)]
impl FarSink {
    #[handler]
    fn tick(&mut self, _t: Tick) {
        self.seen += 1;
    }

    #[handler]
    fn count(&mut self, _c: Count) -> u64 {
        self.seen
    }

    #[handler]
    fn hi(&mut self, _m: String) -> String {
        "Hello, World!".into()
    }
}

/// Sends `n` ticks to a sink in one handler, then asks nothing: the caller polls the sink.
#[derive(Default)]
struct Source;

#[actor(name = "bench::Source")]
impl Source {
    #[handler]
    fn go(&mut self, go: Go, cx: &mut Context<'_>) -> bool {
        for i in 0..go.n {
            cx.send(&go.sink, Tick(i));
        }
        true
    }
}

/// Echoes numbers; in a process of its own.
#[derive(Default)]
struct Pong;

#[actor(name = "bench::Pong", process)]
impl Pong {
    #[handler]
    fn ball(&mut self, n: u64) -> u64 {
        n
    }
}

/// Plays `n` round trips with a `Pong` and replies with the time they took (in microseconds).
#[derive(Default)]
struct Ping {
    pong: Option<ActorAddress>,
    requester: Option<ActorAddress>,
    n: u64,
    started: Option<Instant>,
}

#[actor(name = "bench::Ping")]
impl Ping {
    #[handler]
    fn start(&mut self, start: Start, cx: &mut Context<'_>) {
        self.pong = Some(start.pong.clone());
        self.requester = Some(cx.sender());
        self.n = start.n;
        self.started = Some(Instant::now());
        cx.send(&start.pong, 0u64);
    }

    #[handler]
    fn ball(&mut self, n: u64, cx: &mut Context<'_>) {
        if n + 1 >= self.n {
            let micros = self.started.map_or(0, |t| t.elapsed().as_micros() as u64);
            if let Some(requester) = self.requester.take() {
                cx.send(&requester, micros.to_string());
            }
        } else if let Some(pong) = &self.pong {
            cx.send(pong, n + 1);
        }
    }
}

fn wait_for_count(system: &ActorSystem, sink: &ActorAddress, n: u64) {
    loop {
        let seen: u64 = system.ask(sink, Count, ASK).expect("count");
        if seen >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

struct Figures {
    ask_node_us: f64,
    ask_us: f64,
    pingpong_rt_s: f64,
    fanout_msgs_s: f64,
    client_oneway_msgs_s: f64,
    start_ms: f64,
}

fn thespian(port: u16) -> thespian::Result<Figures> {
    let system = ActorSystem::builder().base(SystemBase::MultiprocTcp).admin_port(port).build()?;
    let result = (|| {
        // (a) external ask round trip to an actor in the node (two processes).
        let near = system.create_actor::<Sink>()?;
        let _: u64 = system.ask(&near, Count, ASK)?;
        let n = 10_000;
        let t = Instant::now();
        for _ in 0..n {
            let _: u64 = system.ask(&near, Count, ASK)?;
        }
        let ask_node_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;

        // (a') external ask round trip to an actor in its own process (three processes).
        let far = system.create_actor::<FarSink>()?;
        let _: String = system.ask(&far, "hi", ASK)?;
        let n = 10_000;
        let t = Instant::now();
        for _ in 0..n {
            let _: String = system.ask(&far, "hi", ASK)?;
        }
        let ask_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;

        // (b) ping-pong between an actor in the node and one in its own process.
        let ping = system.create_actor::<Ping>()?;
        let pong = system.create_actor::<Pong>()?;
        let _: String = system.ask(&ping, Start { pong: pong.address().clone(), n: 10 }, ASK)?;
        let n = 20_000u64;
        let micros: String = system.ask(&ping, Start { pong: pong.address().clone(), n }, ASK)?;
        let pingpong_rt_s = n as f64 / (micros.parse::<f64>().unwrap_or(1.0) / 1e6);

        // (c) fan-out: one handler in the node tells a sink in another process.
        let source = system.create_actor::<Source>()?;
        let sink = system.create_actor::<FarSink>()?;
        let n = 1_000_000u64;
        let t = Instant::now();
        let _: bool = system.ask(&source, Go { sink: sink.address().clone(), n }, ASK)?;
        wait_for_count(&system, sink.address(), n);
        let fanout_msgs_s = n as f64 / t.elapsed().as_secs_f64();

        // (c') one-way tells from this process to an actor in the node.
        let near = system.create_actor::<Sink>()?;
        let n = 1_000_000u64;
        let t = Instant::now();
        for i in 0..n {
            system.tell(&near, Tick(i))?;
        }
        wait_for_count(&system, near.address(), n);
        let client_oneway_msgs_s = n as f64 / t.elapsed().as_secs_f64();

        // (d) isolated actor start: created, started, and answering.
        let n = 50;
        let t = Instant::now();
        for _ in 0..n {
            let a = system.create_actor::<FarSink>()?;
            let _: String = system.ask(&a, "hi", ASK)?;
            system.tell(&a, ActorExitRequest::default())?;
        }
        let start_ms = t.elapsed().as_secs_f64() * 1e3 / n as f64;
        Ok(Figures { ask_node_us, ask_us, pingpong_rt_s, fanout_msgs_s, client_oneway_msgs_s, start_ms })
    })();
    system.shutdown()?;
    result
}

/// The Python original's figures on the same workloads, parsed from bench.py's output.
fn python(interpreter: &str, port: u16) -> Option<(f64, f64, f64, f64)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/bench/thespian/bench.py");
    let output = std::process::Command::new(interpreter)
        .args([script, "multiprocTCPBase", "hello", "pingpong", "fanout", "create"])
        .env("BENCH_ADMIN_PORT", port.to_string())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let number_after = |line: &str, key: &str| -> Option<f64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.trim_start_matches('=').split(|c: char| !(c.is_ascii_digit() || c == '.')).next()?.parse().ok()
    };
    let mut figures = (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    for line in text.lines() {
        if line.contains("hello ask") {
            figures.0 = number_after(line, "per-ask").unwrap_or(f64::NAN);
        } else if line.contains("pingpong") {
            figures.1 = number_after(line, "rt/s").unwrap_or(f64::NAN);
        } else if line.contains("fanout") {
            figures.2 = number_after(line, "msgs/s").unwrap_or(f64::NAN);
        } else if line.contains("create (ActorSystem") {
            figures.3 = number_after(line, "per-actor").unwrap_or(f64::NAN);
        }
    }
    eprintln!("{text}");
    Some(figures)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(19_911)
}

fn main() {
    thespian::init();
    let figures = match thespian(free_port()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("multiproc bench failed: {e}");
            std::process::exit(1);
        }
    };
    let py = std::env::var("THESPIAN_PYTHON").ok().and_then(|p| python(&p, free_port()));
    let fmt_ratio = |ours: f64, theirs: f64, higher_is_better: bool| {
        if theirs.is_nan() {
            "—".to_owned()
        } else if higher_is_better {
            format!("{:.0}×", ours / theirs)
        } else {
            format!("{:.0}×", theirs / ours)
        }
    };
    let (pa, pp, pf, pc) = py.unwrap_or((f64::NAN, f64::NAN, f64::NAN, f64::NAN));
    println!("\nMultiprocTcp over loopback, 2 CPUs; Python: Thespian 4.0.1 multiprocTCPBase, same run.\n");
    println!("| Workload | thespian (Rust) | Thespian (Python) | ratio |");
    println!("|---|---:|---:|---:|");
    println!("| ask round trip, outside → actor in the node (2 processes) | {:.1} µs | — | — |", figures.ask_node_us);
    println!(
        "| ask round trip, outside → actor in its own process (3 processes) | {:.1} µs | {:.1} µs | {} |",
        figures.ask_us,
        pa,
        fmt_ratio(figures.ask_us, pa, false)
    );
    println!(
        "| ping-pong between two processes (round trips/s) | {:.0} | {:.0} | {} |",
        figures.pingpong_rt_s,
        pp,
        fmt_ratio(figures.pingpong_rt_s, pp, true)
    );
    println!(
        "| fan-out: one handler tells an actor in another process (msgs/s) | {:.0} | {:.0} | {} |",
        figures.fanout_msgs_s,
        pf,
        fmt_ratio(figures.fanout_msgs_s, pf, true)
    );
    println!("| tells from outside to an actor in the node (msgs/s) | {:.0} | — | — |", figures.client_oneway_msgs_s);
    println!(
        "| isolated actor start (created, answering) | {:.2} ms | {:.2} ms | {} |",
        figures.start_ms,
        pc,
        fmt_ratio(figures.start_ms, pc, false)
    );
}
