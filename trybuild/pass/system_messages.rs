//! Handlers for system messages, and typed sends of system messages to actors without a handler.

use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Spawn;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Report;

#[derive(Default)]
struct Child;

#[actor]
impl Child {
    #[handler]
    fn ping(&mut self, msg: u32) -> u32 {
        msg
    }
}

#[derive(Default)]
struct Parent {
    exited: Vec<ActorAddress>,
    children: Vec<ActorAddress>,
}

#[actor]
impl Parent {
    #[handler]
    fn spawn(&mut self, _msg: Spawn, cx: &mut Context<'_>) {
        let child: Addr<Child> = cx.create_actor::<Child>();
        self.children.push(child.clone().into());
        // A typed send of a system message the child has no handler for.
        cx.send(&child, ActorExitRequest::default());
    }

    #[handler]
    fn child_exited(&mut self, msg: ChildActorExited) {
        self.exited.push(msg.child);
    }

    #[handler]
    fn report(&mut self, _msg: Report) -> bool {
        !self.exited.is_empty() && self.exited == self.children
    }

    #[handler]
    fn exit_requested(&mut self, msg: &ActorExitRequest) {
        assert!(msg.recursive);
    }
}

fn main() -> thespian::Result<()> {
    let system = ActorSystem::new()?;
    let t = Duration::from_secs(5);

    let parent = system.create_actor::<Parent>()?;
    system.tell(&parent, Spawn)?;
    assert!(system.ask::<bool, _, _>(&parent, Report, t)?);

    // Typed tells of system messages to an actor with no handler for them.
    let child = system.create_actor::<Child>()?;
    assert_eq!(system.ask::<u32, _, _>(&child, 4u32, t)?, 4);
    system.tell(&child, ActorExitRequest::default())?;
    assert!(matches!(system.ask::<u32, _, _>(&child, 4u32, t), Err(Error::DeadTarget(_))));

    system.tell(&parent, ActorExitRequest { recursive: true })?;
    assert_eq!(system.stats().actors, 0);
    system.shutdown()
}
