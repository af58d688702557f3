//! Typed and untyped addresses: `Addr<A>` converts into `ActorAddress`, and an untyped address
//! accepts any message type (unhandled ones are counted, not rejected at compile time).

use thespian::prelude::*;

#[derive(Default)]
struct Echo;

#[actor]
impl Echo {
    #[handler]
    fn echo(&mut self, msg: String) -> String {
        msg
    }
}

fn takes_untyped(address: impl Into<ActorAddress>) -> ActorAddress {
    address.into()
}

fn main() -> thespian::Result<()> {
    let system = ActorSystem::new()?;
    let t = Duration::from_secs(5);
    let echo: Addr<Echo> = system.create_actor::<Echo>()?;

    let by_ref: ActorAddress = (&echo).into();
    let by_value: ActorAddress = echo.clone().into();
    let by_method = echo.clone().into_address();
    let by_fn = takes_untyped(echo.clone());
    assert_eq!(by_ref, by_value);
    assert_eq!(by_value, by_method);
    assert_eq!(by_fn, *echo.address());
    assert!(echo == by_ref && by_ref == echo);

    // Untyped sends compile for any message type.
    assert_eq!(system.ask::<String, _, _>(&by_value, "hi", t)?, "hi");
    system.tell(&by_value, 5u32)?;
    assert_eq!(system.stats().unhandled, 1);

    // And back to a typed address, checked.
    let again: Addr<Echo> = system.typed_address::<Echo>(&by_value)?;
    assert_eq!(again, echo);
    assert_eq!(system.ask::<String, _, _>(&again, "back", t)?, "back");
    system.shutdown()
}
