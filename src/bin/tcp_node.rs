//! A node program for the multi-process tests: started as a node by the runtime (through
//! `thespian::init`), or run as a second client process by a test:
//! `tcp_node client <admin port> <cookie> <global name>` asks the named `Echo` actor and prints
//! the reply.

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
        _ => {
            eprintln!("usage: tcp_node client <admin port> <cookie> <global name>");
            ExitCode::FAILURE
        }
    }
}

fn client(port: &str, cookie: &str, name: &str) -> Result<String, Error> {
    let port: u16 = port.parse().map_err(|_| Error::Unsupported("the admin port is a number"))?;
    let system = ActorSystem::builder().base(SystemBase::MultiprocTcp).admin_port(port).cookie(cookie).build()?;
    let echo = system.create_actor_with::<tcp_actors::Echo>(ActorOptions::new().global_name(name))?;
    system.ask(&echo, "from another process".to_owned(), Duration::from_secs(10))
}
