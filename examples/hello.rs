//! The seeds' Hello World: one actor, one request, one reply, then the actor is told to exit.
//!
//! ```text
//! $ cargo run --example hello
//! Hello, World!
//! ```
//!
//! Runs on the deterministic `Simple` base; pass `--threaded` to run the same actor on `Threaded`, or
//! `--multiproc` to run it in a node process on the admin port (`THESPIAN_ADMIN_PORT`, default 1900).

use thespian::prelude::*;

#[derive(Default)]
struct Hello;

#[actor]
impl Hello {
    #[handler]
    fn hi(&mut self, _msg: String) -> String {
        "Hello, World!".to_string()
    }
}

fn main() -> thespian::Result<()> {
    // Lets this program also serve as the node of `--multiproc`.
    thespian::init();
    let base = match std::env::args().nth(1).as_deref() {
        Some("--threaded") => SystemBase::Threaded,
        Some("--multiproc") => SystemBase::MultiprocTcp,
        _ => SystemBase::Simple,
    };
    let system = ActorSystem::with_base(base)?;
    let hello = system.create_actor::<Hello>()?;
    let reply: String = system.ask(&hello, "hi", Duration::from_secs(1))?;
    println!("{reply}");
    system.tell(&hello, ActorExitRequest::default())?;
    system.shutdown()
}
