//! Processes and ports for the tests that start real ones: a free port, whether a process is
//! alive, signals by pid, and waiting without asserting a speed. Shared by `tests/common/mod.rs`,
//! `tests/multiproc_tcp.rs` and `tests/convention.rs`.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// A port free on loopback when asked for.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("its address").port()
}

/// Whether a process is running (not gone, not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

/// Polls `check` until it holds or `timeout` passes; returns whether it held. For waiting on
/// other threads' and processes' work without asserting how fast it is.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until process `pid` has ended; whether it did within `timeout`.
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    eventually(timeout, || !alive(pid))
}

/// Sends `signal` to process `pid` (and only to it).
pub fn signal(pid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Ends process `pid` at once.
pub fn kill(pid: u32) {
    signal(pid, rustix::process::Signal::KILL);
}

/// The running processes whose parent is `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        let mut fields = stat.rsplit(')').next().unwrap_or("").split_whitespace();
        let state = fields.next();
        if fields.next().and_then(|p| p.parse::<u32>().ok()) == Some(pid) && state != Some("Z") {
            children.push(child);
        }
    }
    children
}

/// A node a test started, and the process of the test joined to it: on drop — whether the test
/// passed or not — the node is shut down through the system, killed by its pid if that does not
/// end it, and its log removed (kept, and named, when the test failed: it may say why).
pub struct NodeGuard {
    pub system: Option<thespian::ActorSystem>,
    pub pid: u32,
    pub log: Option<String>,
}

impl NodeGuard {
    /// Guards the node `system` is joined to.
    pub fn of(system: thespian::ActorSystem) -> Self {
        let status = system.node_status().expect("the node answers");
        NodeGuard { system: Some(system), pid: status.pid, log: status.log }
    }

    pub fn system(&self) -> &thespian::ActorSystem {
        self.system.as_ref().expect("joined")
    }
}

impl Drop for NodeGuard {
    fn drop(&mut self) {
        if alive(self.pid)
            && let Some(system) = &self.system
        {
            let _ = system.shutdown();
        }
        if !wait_gone(self.pid, Duration::from_secs(5)) {
            kill(self.pid);
            wait_gone(self.pid, Duration::from_secs(5));
        }
        match &self.log {
            Some(log) if std::thread::panicking() => eprintln!("the node's log: {log}"),
            Some(log) => {
                let _ = std::fs::remove_file(log);
            }
            None => {}
        }
    }
}
