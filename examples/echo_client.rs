//! The seeds' distributed echo, client side: a node with the capability `Client` that joins the
//! server's convention, creates an `EchoRequestor` (placed here, by its `Client` requirement),
//! which creates the `EchoServer` (placed on the server, by its `Server` requirement) and pings
//! it `count` times.
//!
//! ```text
//! $ cargo run --example echo_client -- 127.0.0.1 1000
//! Got all messages, timedelta: 0:00:00.041250
//! ```
//!
//! The leader's address is `host` or `host:port` (port 1900 by default). This node listens on
//! `THESPIAN_ADMIN_PORT` (default 1901), on the address this host uses to reach the leader.

#[path = "echo/actors.rs"]
mod echo;

use std::net::{SocketAddr, ToSocketAddrs};

use echo::{EchoDone, EchoRequestor};
use thespian::prelude::*;

fn main() -> thespian::Result<()> {
    thespian::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || Error::Unsupported("usage: echo_client <leader address> <count>");
    let [leader, count] = args.as_slice() else { return Err(usage()) };
    let count: u64 = count.parse().map_err(|_| usage())?;
    let leader = if leader.contains(':') { leader.clone() } else { format!("{leader}:1900") };
    let leader_address: SocketAddr = leader.to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or_else(|| {
        Error::NodeUnavailable { address: leader.clone(), details: "the leader's address does not resolve".into() }
    })?;
    // This node listens where the leader can reach it: the address this host would use to reach
    // the leader (a UDP socket "connected" there sends nothing).
    let host = std::net::UdpSocket::bind(("0.0.0.0", 0))
        .and_then(|s| s.connect(leader_address).and_then(|()| s.local_addr()))
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let port: u16 = std::env::var("THESPIAN_ADMIN_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(1901);
    let system = ActorSystem::builder()
        .base(SystemBase::MultiprocTcp)
        .admin_host(host)
        .admin_port(port)
        .capability("Client", true)
        .convention_leaders([leader_address.to_string()])
        .build()?;
    let result = run(&system, count);
    system.shutdown()?;
    let done = result?;
    println!("Got all messages, timedelta: {}", done.timedelta);
    Ok(())
}

fn run(system: &ActorSystem, count: u64) -> thespian::Result<EchoDone> {
    // The convention has to know the server before the echo server can be placed there.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while system.node_status()?.convention.is_none_or(|c| c.members.is_empty()) {
        if std::time::Instant::now() > deadline {
            return Err(Error::Timeout(Duration::from_secs(30)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let echo_app = system.create_actor::<EchoRequestor>()?;
    system.tell(&echo_app, count)?;
    let done: EchoDone = system.ask(&echo_app, "ping payload".to_owned(), Duration::from_secs(600))?;
    Ok(done)
}
