//! A node program for the multi-process tests: started as a node by the runtime (through
//! `thespian::init`), or run as a second client process by a test:
//!
//! - `tcp_node client <admin port> <cookie> <global name>` asks the named `Echo` actor and prints
//!   the reply;
//! - `tcp_node serve <host> <port> <cookie> <capabilities JSON> <leaders> <heartbeat ms>` starts a
//!   node of a convention (leaders comma-separated), prints `pid <node pid>` and leaves it running;
//! - `tcp_node where <host> <port> <cookie> <actor type>` creates that actor through the node and
//!   prints `at <node>`, where it runs;
//! - `tcp_node members <host> <port> <cookie>` prints `members <address>,...` as the node knows them;
//! - `tcp_node stop <host> <port> <cookie>` shuts the node down.

#[path = "../../tests/common/tcp_actors.rs"]
mod tcp_actors;

use std::process::ExitCode;
use std::time::Duration;

use thespian::prelude::*;

fn main() -> ExitCode {
    thespian::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, port, cookie, name] if mode == "client" => match client(port, cookie, name) {
            Ok(reply) => {
                println!("reply: {reply}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        [mode, rest @ ..] if ["serve", "where", "members", "stop"].contains(&mode.as_str()) => {
            match convention(mode, rest) {
                Ok(line) => {
                    println!("{line}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: tcp_node client <admin port> <cookie> <global name>");
            ExitCode::FAILURE
        }
    }
}

fn convention(mode: &str, args: &[String]) -> Result<String, Error> {
    let bad = || Error::Unsupported("bad arguments; see the program's documentation");
    let [host, port, cookie, rest @ ..] = args else { return Err(bad()) };
    let host: std::net::IpAddr = host.parse().map_err(|_| bad())?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let mut builder =
        ActorSystem::builder().base(SystemBase::MultiprocTcp).admin_host(host).admin_port(port).cookie(cookie.as_str());
    if mode == "serve" {
        let [capabilities, leaders, heartbeat] = rest else { return Err(bad()) };
        let capabilities: thespian::Capabilities = serde_json::from_str(capabilities).map_err(|_| bad())?;
        let heartbeat: u64 = heartbeat.parse().map_err(|_| bad())?;
        builder = builder
            .capabilities(capabilities)
            .convention_leaders(leaders.split(',').filter(|l| !l.is_empty()))
            .heartbeat(Duration::from_millis(heartbeat), 3);
    }
    let system = builder.build()?;
    match (mode, rest) {
        ("serve", _) => Ok(format!("pid {}", system.node_status()?.pid)),
        ("where", [actor_type]) => {
            let actor = system.create_actor_by_name(actor_type, ActorOptions::new())?;
            let node: String = system.ask(&actor, tcp_actors::WhereAmI, Duration::from_secs(10))?;
            Ok(format!("at {node}"))
        }
        ("members", []) => {
            let members = system.node_status()?.convention.map(|c| c.members).unwrap_or_default();
            Ok(format!("members {}", members.join(",")))
        }
        ("stop", []) => system.shutdown().map(|()| "stopped".to_owned()),
        _ => Err(bad()),
    }
}

fn client(port: &str, cookie: &str, name: &str) -> Result<String, Error> {
    let port: u16 = port.parse().map_err(|_| Error::Unsupported("the admin port is a number"))?;
    let system = ActorSystem::builder().base(SystemBase::MultiprocTcp).admin_port(port).cookie(cookie).build()?;
    let echo = system.create_actor_with::<tcp_actors::Echo>(ActorOptions::new().global_name(name))?;
    system.ask(&echo, "from another process".to_owned(), Duration::from_secs(10))
}
