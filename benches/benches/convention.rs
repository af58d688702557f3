//! A convention of two nodes over loopback running the seeds' distributed echo, beside the same
//! workload under the Python original in the same run; and how long a convention takes to tell a
//! parent that the member hosting its child is gone.
//!
//! ```text
//! cargo bench -p benches --bench convention
//! THESPIAN_PYTHON=/path/to/venv/bin/python cargo bench -p benches --bench convention
//! THESPIAN_PYTHON=... THESPIAN_PYTHON_LONG=1 cargo bench -p benches --bench convention   # 10k under Python too
//! THESPIAN_PYTHON=... THESPIAN_PYTHON_LONG=2 cargo bench -p benches --bench convention   # and 100k (very long)
//! ```
//!
//! This program is also the nodes' program: `thespian::init()` comes first.

#[path = "../../examples/echo/actors.rs"]
mod echo;

use std::time::{Duration, Instant};

use echo::{EchoDone, EchoRequestor, EchoServer};
use thespian::prelude::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(19_931)
}

fn node(port: u16, capability: &str, leader: u16, heartbeat: Duration) -> thespian::Result<ActorSystem> {
    ActorSystem::builder()
        .base(SystemBase::MultiprocTcp)
        .admin_port(port)
        .capability(capability, true)
        .convention_leaders([format!("127.0.0.1:{leader}")])
        .heartbeat(heartbeat, 3)
        .build()
}

fn wait_for_members(system: &ActorSystem, n: usize) -> thespian::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while system.node_status()?.convention.is_none_or(|c| c.members.len() < n) {
        if Instant::now() > deadline {
            return Err(Error::Timeout(Duration::from_secs(30)));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// The echo workload: (requestor's own time, whole time including placing the echo server).
fn echo(client: &ActorSystem, pings: u64) -> thespian::Result<(f64, f64)> {
    let t = Instant::now();
    let requestor = client.create_actor::<EchoRequestor>()?;
    client.tell(&requestor, pings)?;
    let done: EchoDone = client.ask(&requestor, "ping payload".to_owned(), Duration::from_secs(600))?;
    let whole = t.elapsed().as_secs_f64();
    client.tell(&requestor, ActorExitRequest::default())?;
    Ok((seconds(&done.timedelta), whole))
}

fn seconds(timedelta: &str) -> f64 {
    let parts: Vec<f64> = timedelta.split(':').filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [h, m, s] => h * 3600.0 + m * 60.0 + s,
        _ => f64::NAN,
    }
}

/// Places an `EchoServer` and reports when it is told that child has exited.
#[derive(Default)]
struct Parent {
    exited: Option<Instant>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "bench::PlaceEcho")]
struct PlaceEcho;

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "bench::Told")]
struct Told;

#[actor(name = "bench::Parent")]
impl Parent {
    #[handler]
    fn place(&mut self, _m: PlaceEcho, cx: &mut Context<'_>) -> ActorAddress {
        cx.create_actor::<EchoServer>().into_address()
    }

    #[handler]
    fn exited(&mut self, _m: ChildActorExited) {
        self.exited.get_or_insert_with(Instant::now);
    }

    #[handler]
    fn told(&mut self, _m: Told) -> bool {
        self.exited.is_some()
    }
}

/// From a member's death (`SIGKILL`: its connections close; `SIGSTOP`: it falls silent) to the
/// parent elsewhere of an actor it hosted being told.
fn detection(heartbeat: Duration, stop: bool) -> thespian::Result<Duration> {
    let (l, m) = (free_port(), free_port());
    let leader = node(l, "Client", l, heartbeat)?;
    let member = node(m, "Server", l, heartbeat)?;
    wait_for_members(&leader, 1)?;
    let member_pid = member.node_status()?.pid;
    let parent = leader.create_actor::<Parent>()?;
    let _child: ActorAddress = leader.ask(&parent, PlaceEcho, Duration::from_secs(10))?;
    let signal = if stop { rustix::process::Signal::STOP } else { rustix::process::Signal::KILL };
    let pid = rustix::process::Pid::from_raw(member_pid as i32).expect("a pid");
    let t = Instant::now();
    let _ = rustix::process::kill_process(pid, signal);
    while !leader.ask::<bool, _, _>(&parent, Told, Duration::from_secs(10))? {
        std::thread::sleep(Duration::from_millis(1));
    }
    let took = t.elapsed();
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    leader.shutdown()?;
    Ok(took)
}

/// The Python original's seconds for each count, from `benches/python/echo_convention.py`.
fn python(interpreter: &str, counts: &[u64]) -> Vec<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/echo_convention.py");
    let mut args = vec![script.to_owned(), free_port().to_string(), free_port().to_string()];
    args.extend(counts.iter().map(u64::to_string));
    let Ok(output) = std::process::Command::new(interpreter).args(&args).output() else { return vec![] };
    let text = String::from_utf8_lossy(&output.stdout);
    eprintln!("{text}");
    counts
        .iter()
        .map(|n| {
            text.lines()
                .find(|l| l.starts_with(&format!("echo pings={n} ")))
                .and_then(|l| l.rsplit("seconds=").next())
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(f64::NAN)
        })
        .collect()
}

fn main() -> thespian::Result<()> {
    thespian::init();
    let (s, c) = (free_port(), free_port());
    let server = node(s, "Server", s, Duration::from_secs(1))?;
    let client = node(c, "Client", s, Duration::from_secs(1))?;
    wait_for_members(&client, 1)?;
    let counts = [1_000u64, 10_000, 100_000];
    let _warm = echo(&client, 1_000)?;
    let mut ours = Vec::new();
    for &n in &counts {
        ours.push(echo(&client, n)?);
    }
    client.shutdown()?;
    server.shutdown()?;
    let killed = detection(Duration::from_secs(1), false)?;
    let silent = detection(Duration::from_secs(1), true)?;

    // Thespian takes ~45 s for 10 000 pings here and did not finish 100 000 in 17 minutes: the
    // longer workloads run under it only on request (`THESPIAN_PYTHON_LONG=1`: 10 000; `=2`: all).
    let long = std::env::var("THESPIAN_PYTHON_LONG").ok().and_then(|l| l.parse::<usize>().ok()).unwrap_or(0);
    let python_counts = &counts[..(1 + long).min(counts.len())];
    let theirs = std::env::var("THESPIAN_PYTHON").ok().map(|p| python(&p, python_counts)).unwrap_or_default();

    println!("\nThe seeds' echo between two nodes of a convention over loopback, 2 CPUs; Python: Thespian 4.0.1");
    println!("multiprocTCPBase, same workload, same run (seconds from the first ping to the last pong).\n");
    println!("| Pings | thespian (Rust) | pings/s | incl. placing the echo server | Thespian (Python) | ratio |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for (i, &n) in counts.iter().enumerate() {
        let (own, whole) = ours[i];
        let py = theirs.get(i).copied().unwrap_or(f64::NAN);
        let (py_text, ratio) = if py.is_nan() {
            ("—".to_owned(), "—".to_owned())
        } else {
            (format!("{py:.3} s"), format!("{:.0}×", py / own))
        };
        println!("| {n} | {own:.4} s | {:.0} | {whole:.4} s | {py_text} | {ratio} |", n as f64 / own);
    }
    println!("\nMember lost → parent elsewhere told (`ChildActorExited`), heartbeat 1 s × 3:\n");
    println!("| How the member died | time to `ChildActorExited` |");
    println!("|---|---:|");
    println!("| `SIGKILL` (its connections close) | {:.1} ms |", killed.as_secs_f64() * 1e3);
    println!("| `SIGSTOP` (silent: only the heartbeats stop) | {:.2} s |", silent.as_secs_f64());
    Ok(())
}
