//! `#[actor(local)]`: an actor without `Default`, created from a value and not registered by name.

use thespian::prelude::*;

struct Counter {
    count: u32,
    step: u32,
}

#[actor(local)]
impl Counter {
    #[handler]
    fn add(&mut self, _msg: (), cx: &mut Context<'_>) -> u32 {
        let _ = cx.my_address();
        self.count += self.step;
        self.count
    }
}

#[derive(Default)]
struct Spawner;

#[actor]
impl Spawner {
    #[handler]
    fn spawn(&mut self, step: u32, cx: &mut Context<'_>) -> ActorAddress {
        cx.create_actor_from(Counter { count: 0, step }).into()
    }
}

fn main() -> thespian::Result<()> {
    assert!(thespian::actor::registered_actors().all(|r| !(r.type_name)().ends_with("::Counter")));

    let system = ActorSystem::new()?;
    let t = Duration::from_secs(5);
    let counter: Addr<Counter> = system.create_actor_from(Counter { count: 10, step: 5 })?;
    assert_eq!(system.ask::<u32, _, _>(&counter, (), t)?, 15);
    assert_eq!(system.ask::<u32, _, _>(&counter, (), t)?, 20);

    let spawner = system.create_actor::<Spawner>()?;
    let child: ActorAddress = system.ask(&spawner, 3u32, t)?;
    let child = Addr::<Counter>::unchecked(child);
    assert_eq!(system.ask::<u32, _, _>(&child, (), t)?, 3);
    system.tell(&counter, ActorExitRequest::default())?;
    system.shutdown()
}
