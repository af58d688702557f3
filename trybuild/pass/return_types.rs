//! Every kind of handler return: `()`, a message, `Option<message>`, `Result<message, E: Display>`
//! and `Result<(), E>`, in sync and async handlers.

use std::fmt;

use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Reply {
    n: u32,
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Get;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Maybe(bool);

#[derive(Debug, Serialize, Deserialize, Message)]
struct Checked(i64);

#[derive(Debug, Serialize, Deserialize, Message)]
struct Store(u32);

#[derive(Debug)]
struct Negative(i64);

impl fmt::Display for Negative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is negative", self.0)
    }
}

#[derive(Default)]
struct Returns {
    stored: u32,
}

#[actor]
impl Returns {
    #[handler]
    fn unit(&mut self, msg: u32) {
        self.stored = msg;
    }

    #[handler]
    fn message(&mut self, _msg: Get) -> Reply {
        Reply { n: self.stored }
    }

    #[handler]
    fn option(&mut self, msg: Maybe) -> Option<Reply> {
        msg.0.then(|| Reply { n: self.stored })
    }

    #[handler]
    async fn result(&mut self, msg: Checked) -> Result<Reply, Negative> {
        if msg.0 < 0 { Err(Negative(msg.0)) } else { Ok(Reply { n: msg.0 as u32 }) }
    }

    #[handler]
    fn result_unit(&mut self, msg: Store) -> Result<(), String> {
        if msg.0 == 0 {
            return Err("zero".to_string());
        }
        self.stored = msg.0;
        Ok(())
    }

    #[handler]
    async fn nested(&mut self, msg: String) -> Result<Option<String>, std::io::Error> {
        Ok((!msg.is_empty()).then_some(msg))
    }
}

fn main() -> thespian::Result<()> {
    let system = ActorSystem::new()?;
    let a = system.create_actor::<Returns>()?;
    let t = Duration::from_secs(5);
    let short = Duration::from_millis(50);

    system.tell(&a, 3u32)?;
    assert_eq!(system.ask::<Reply, _, _>(&a, Get, t)?.n, 3);
    assert_eq!(system.ask::<Reply, _, _>(&a, Maybe(true), t)?.n, 3);
    assert!(matches!(system.ask::<Reply, _, _>(&a, Maybe(false), short), Err(Error::Timeout(_))));
    assert_eq!(system.ask::<Reply, _, _>(&a, Checked(9), t)?.n, 9);
    match system.ask::<Reply, _, _>(&a, Checked(-1), t) {
        Err(Error::Poison { details, .. }) => assert!(details.contains("-1 is negative"), "{details}"),
        other => panic!("expected a poison reply, got {other:?}"),
    }
    assert!(matches!(system.ask::<(), _, _>(&a, Store(0), t), Err(Error::Poison { .. })));
    system.tell(&a, Store(8))?;
    assert_eq!(system.ask::<Reply, _, _>(&a, Get, t)?.n, 8);
    assert_eq!(system.ask::<String, _, _>(&a, "x", t)?, "x");
    assert!(matches!(system.ask::<String, _, _>(&a, "", short), Err(Error::Timeout(_))));
    system.shutdown()
}
