//! A fallback handler receives every message no other handler takes, and makes a typed address
//! accept every message type.

use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Unknown {
    tag: u8,
}

#[derive(Default)]
struct CatchAll {
    other: u32,
}

#[actor]
impl CatchAll {
    #[handler]
    fn known(&mut self, _msg: String) -> u32 {
        self.other
    }

    #[handler(fallback)]
    fn other(&mut self, msg: Box<dyn Message>, cx: &mut Context<'_>) {
        self.other += 1;
        cx.reply(msg.wire_name().to_string());
    }
}

#[derive(Default)]
struct AsyncCatchAll;

#[actor]
impl AsyncCatchAll {
    #[handler(fallback)]
    async fn anything(&mut self, sender: ActorAddress, msg: Box<dyn Message>) -> String {
        let _ = sender;
        msg.type_name().to_string()
    }
}

fn main() -> thespian::Result<()> {
    let system = ActorSystem::new()?;
    let t = Duration::from_secs(5);

    let a: Addr<CatchAll> = system.create_actor()?;
    let name: String = system.ask(&a, Unknown { tag: 1 }, t)?;
    assert!(name.ends_with("::Unknown"), "{name}");
    let name: String = system.ask(&a, 5u64, t)?;
    assert_eq!(name, "u64");
    assert_eq!(system.ask::<u32, _, _>(&a, "count", t)?, 2);

    let b: Addr<AsyncCatchAll> = system.create_actor()?;
    let name: String = system.ask(&b, false, t)?;
    assert_eq!(name, "bool");
    system.shutdown()
}
