//! The seeds' Hello World Redux: three actors pass a greeting along, each adding to it, and the
//! last one sends it back to whoever asked.
//!
//! ```text
//! $ cargo run --example hello_redux
//! Hello, World!
//! Hello, World!
//! None
//! ```
//!
//! The third line is the ask made after `Hello` was told to exit. Here every `ask` waits for the
//! reply to *its own* request, so it can never be handed a reply left over from an earlier message:
//! the seed's remark that "the first such ask() returns the queued response" describes the
//! original's uncorrelated `ask`, which returns whatever message reaches the caller next. Our ask
//! to the exited actor fails at once with `Error::DeadTarget` (no wait for the 0.2 s timeout),
//! and the example prints it the way the original prints its empty reply: `None`.
//!
//! Runs on the deterministic `Simple` base; pass `--threaded` to run the same actors on `Threaded`,
//! or `--multiproc` to run them in a node process on the admin port (`THESPIAN_ADMIN_PORT`, default 1900).

use std::fmt;

use thespian::prelude::*;

/// The greeting, and who gets it next.
#[derive(Debug, Serialize, Deserialize, Message)]
struct Greeting {
    message: String,
    send_to: Vec<ActorAddress>,
}

impl fmt::Display for Greeting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Default)]
struct Hello;

#[actor]
impl Hello {
    #[handler]
    fn hi(&mut self, msg: String, cx: &mut Context<'_>) {
        if msg == "hi" {
            let world = cx.create_actor::<World>();
            let punct = cx.create_actor::<Punctuate>();
            let greeting = Greeting { message: "Hello".into(), send_to: vec![punct.into(), cx.sender()] };
            cx.send(&world, greeting);
        }
    }
}

#[derive(Default)]
struct World;

#[actor]
impl World {
    #[handler]
    fn greeting(&mut self, mut msg: Greeting, cx: &mut Context<'_>) {
        msg.message.push_str(", World");
        let next = msg.send_to.remove(0);
        cx.send(&next, msg);
    }
}

#[derive(Default)]
struct Punctuate;

#[actor]
impl Punctuate {
    #[handler]
    fn greeting(&mut self, mut msg: Greeting, cx: &mut Context<'_>) {
        msg.message.push('!');
        let next = msg.send_to.remove(0);
        cx.send(&next, msg);
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
    let timeout = Duration::from_millis(200);
    let show = |reply: thespian::Result<Greeting>| match reply {
        Ok(greeting) => println!("{greeting}"),
        Err(_) => println!("None"),
    };
    show(system.ask(&hello, "hi", timeout));
    show(system.ask(&hello, "hi", timeout));
    system.tell(&hello, ActorExitRequest::default())?;
    show(system.ask(&hello, "hi", timeout));
    system.shutdown()
}
