//! The seeds' ActorTypeDispatcher example: each actor has one handler per message type (the
//! original's `receiveMsg_<Type>` methods), and the greeting ends in `!!!`.
//!
//! ```text
//! $ cargo run --example hello_dispatcher
//! Hello, World!!!
//! ```
//!
//! Runs on the deterministic `Simple` base; pass `--threaded` to run the same actors on `Threaded`,
//! or `--multiproc` to run them in a node process on the admin port (`THESPIAN_ADMIN_PORT`, default 1900).

use std::fmt;

use thespian::prelude::*;

/// Just a type to hold a greeting and some addresses.
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
    /// Handles every `String` message (the original's `receiveMsg_str`).
    #[handler]
    fn receive_str(&mut self, message: String, sender: ActorAddress, cx: &mut Context<'_>) {
        if message == "hi" {
            // Create two actors of type World and Punctuate.
            let world = cx.create_actor::<World>();
            let punct = cx.create_actor::<Punctuate>();
            // Create a greeting and set the Punctuate and the original sender's addresses.
            let greeting = Greeting { message: "Hello".into(), send_to: vec![punct.into(), sender] };
            // Send the greeting to the World actor.
            cx.send(&world, greeting);
        }
    }
}

#[derive(Default)]
struct World;

#[actor]
impl World {
    /// Handles every `Greeting` (the original's `receiveMsg_Greeting`).
    #[handler]
    fn receive_greeting(&mut self, mut message: Greeting, cx: &mut Context<'_>) {
        message.message.push_str(", World");
        let next_to = message.send_to.remove(0);
        cx.send(&next_to, message);
    }
}

#[derive(Default)]
struct Punctuate;

#[actor]
impl Punctuate {
    #[handler]
    fn receive_greeting(&mut self, mut message: Greeting, cx: &mut Context<'_>) {
        message.message.push_str("!!!");
        let next_to = message.send_to.remove(0);
        cx.send(&next_to, message);
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
    // Send a message to the first actor, then an exit request.
    let reply: Greeting = system.ask(&hello, "hi", Duration::from_millis(200))?;
    println!("{reply}");
    system.tell(&hello, ActorExitRequest::default())?;
    system.shutdown()
}
