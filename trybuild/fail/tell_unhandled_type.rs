use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Ping;

#[derive(Default)]
struct Echo;

#[actor]
impl Echo {
    #[handler]
    fn echo(&mut self, msg: String) -> String {
        msg
    }
}

#[derive(Default)]
struct Forwarder;

#[actor]
impl Forwarder {
    #[handler]
    fn forward(&mut self, msg: u64, cx: &mut Context<'_>) {
        let echo: Addr<Echo> = cx.create_actor::<Echo>();
        cx.send(&echo, msg);
    }
}

fn main() -> thespian::Result<()> {
    let system = ActorSystem::new()?;
    let echo: Addr<Echo> = system.create_actor::<Echo>()?;
    system.tell(&echo, Ping)?;
    let _: String = system.ask(&echo, 7u32, Duration::from_secs(1))?;
    let forwarder: Addr<Forwarder> = system.create_actor::<Forwarder>()?;
    system.tell(&forwarder, "hi")?;
    Ok(())
}
