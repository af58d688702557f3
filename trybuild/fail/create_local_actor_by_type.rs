use thespian::prelude::*;

struct Counter {
    count: u32,
}

#[actor(local)]
impl Counter {
    #[handler]
    fn add(&mut self, by: u32) -> u32 {
        self.count += by;
        self.count
    }
}

fn main() -> thespian::Result<()> {
    let system = ActorSystem::new()?;
    let counter = system.create_actor::<Counter>()?;
    system.tell(&counter, 1u32)
}
