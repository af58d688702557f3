use thespian::prelude::*;

#[derive(Default)]
struct Greeter {
    greeted: u32,
}

#[actor]
impl Greeter {
    fn greeted(&self) -> u32 {
        self.greeted
    }

    #[handler]
    fn greet(&mut self) {
        self.greeted += 1;
    }
}

fn main() -> thespian::Result<()> {
    let system = ActorSystem::new()?;
    let greeter = system.create_actor::<Greeter>()?;
    system.tell(&greeter, "hi")?;
    assert_eq!(Greeter::default().greeted(), 0);
    Ok(())
}
