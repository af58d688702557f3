//! Sync and async handlers; the context and sender parameters in any order; by-value and by-ref
//! messages; non-handler items in the impl block.

use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Greeting {
    message: String,
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Whoami;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Count;

#[derive(Default)]
struct Shapes {
    seen: u32,
}

#[actor]
impl Shapes {
    const PREFIX: &'static str = "echo: ";

    fn bump(&mut self) {
        self.seen += 1;
    }

    #[handler]
    fn plain(&mut self, msg: String) -> String {
        self.bump();
        format!("{}{msg}", Self::PREFIX)
    }

    #[handler]
    fn message_then_context(&mut self, msg: u8, cx: &mut Context<'_>) {
        self.bump();
        cx.reply(u16::from(msg) * 2);
    }

    #[handler]
    fn context_then_message(&mut self, cx: &mut Context<'_>, msg: u16) {
        self.bump();
        cx.reply(u32::from(msg) * 2);
    }

    #[handler]
    fn sender_first(&mut self, sender: ActorAddress, cx: &mut Context<'_>, _msg: Whoami) -> bool {
        self.bump();
        sender == cx.sender()
    }

    #[handler]
    fn by_ref(&mut self, msg: &Greeting, cx: &mut Context<'_>, sender: ActorAddress) -> String {
        self.bump();
        assert_eq!(sender, cx.sender());
        msg.message.to_uppercase()
    }

    #[handler]
    async fn async_plain(&mut self, msg: i32) -> i32 {
        self.bump();
        -msg
    }

    #[handler]
    async fn async_by_ref(&mut self, msg: &Vec<u8>, sender: ActorAddress) -> usize {
        self.bump();
        let _ = sender;
        msg.len()
    }

    #[handler]
    async fn async_context(&mut self, sender: ActorAddress, _msg: Count, cx: &mut Context<'_>) -> u32 {
        assert_eq!(sender, cx.sender());
        self.seen
    }

    #[handler]
    fn unused_pattern(&mut self, _: bool) {}

    #[handler]
    fn fully_qualified(&mut self, msg: ::std::primitive::u64, cx: &mut thespian::Context) -> u64 {
        let _ = cx.my_address();
        msg + 1
    }
}

fn main() -> thespian::Result<()> {
    let system = ActorSystem::new()?;
    let a = system.create_actor::<Shapes>()?;
    let t = Duration::from_secs(5);

    assert_eq!(system.ask::<String, _, _>(&a, "hi", t)?, "echo: hi");
    assert_eq!(system.ask::<u16, _, _>(&a, 21u8, t)?, 42);
    assert_eq!(system.ask::<u32, _, _>(&a, 21u16, t)?, 42);
    assert!(system.ask::<bool, _, _>(&a, Whoami, t)?);
    let upper: String = system.ask(&a, Greeting { message: "hello".into() }, t)?;
    assert_eq!(upper, "HELLO");
    assert_eq!(system.ask::<i32, _, _>(&a, 5i32, t)?, -5);
    assert_eq!(system.ask::<usize, _, _>(&a, vec![1u8, 2, 3], t)?, 3);
    system.tell(&a, true)?;
    assert_eq!(system.ask::<u64, _, _>(&a, 1u64, t)?, 2);
    assert_eq!(system.ask::<u32, _, _>(&a, Count, t)?, 7);
    system.shutdown()
}
