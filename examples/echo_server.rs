//! The seeds' distributed echo, server side: a node with the capability `Server` that is itself
//! the leader of its convention. It returns at once and leaves the node running.
//!
//! ```text
//! $ cargo run --example echo_server                 # on 127.0.0.1:1900
//! $ cargo run --example echo_server -- 10.0.8.145   # on a host's own address, for other hosts
//! $ cargo run --example echo_server -- --stop       # stops it (give the address if not loopback)
//! ```
//!
//! The port is `THESPIAN_ADMIN_PORT` (default 1900); the cookie `THESPIAN_COOKIE`.

#[path = "echo/actors.rs"]
#[allow(dead_code)]
mod echo;

use std::net::IpAddr;

use thespian::prelude::*;

fn main() -> thespian::Result<()> {
    thespian::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stop = args.iter().any(|a| a == "--stop");
    let host: IpAddr = match args.iter().find(|a| !a.starts_with("--")) {
        Some(host) => host.parse().map_err(|_| Error::Unsupported("the server's address is an IP address"))?,
        None => IpAddr::from([127, 0, 0, 1]),
    };
    let port: u16 = std::env::var("THESPIAN_ADMIN_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(1900);
    let me = std::net::SocketAddr::new(host, port).to_string();
    let system = ActorSystem::builder()
        .base(SystemBase::MultiprocTcp)
        .admin_host(host)
        .admin_port(port)
        // Its own address as the convention's leader: it leads.
        .capability("Server", true)
        .convention_leaders([me.clone()])
        .build()?;
    if stop {
        system.shutdown()?;
        println!("echo server at {me} stopped");
    } else {
        let status = system.node_status()?;
        println!("echo server at {me} (pid {}); stop it with `echo_server --stop`", status.pid);
    }
    Ok(())
}
