//! `#[message(name = "...")]` and `#[actor(name = "...")]` pin wire names; without them the name
//! is the module path and the type name.

use thespian::message::{from_bytes, registered_messages, to_bytes};
use thespian::prelude::*;

#[derive(Debug, Serialize, Deserialize, Message)]
#[message(name = "app::v1::Ping")]
struct Ping(u32);

#[derive(Debug, Serialize, Deserialize, Message)]
struct Pong(u32);

mod nested {
    use thespian::prelude::*;

    #[derive(Debug, Default, Serialize, Deserialize, Message)]
    pub struct Inner;

    #[derive(Default)]
    pub struct Deep;

    #[actor]
    impl Deep {
        #[handler]
        fn inner(&mut self, _msg: Inner) -> bool {
            true
        }
    }
}

#[derive(Default)]
struct Named;

#[actor(name = "app::v1::Named")]
impl Named {
    #[handler]
    fn ping(&mut self, msg: Ping) -> Pong {
        Pong(msg.0 + 1)
    }
}

#[derive(Default)]
struct Unnamed;

#[actor]
impl self::Unnamed {
    #[handler]
    fn ping(&mut self, msg: Ping) -> Pong {
        Pong(msg.0)
    }
}

fn main() -> thespian::Result<()> {
    let boxed: Box<dyn Message> = Box::new(Ping(1));
    assert_eq!(boxed.wire_name(), "app::v1::Ping");
    let back = from_bytes(&to_bytes(&*boxed).unwrap()).unwrap();
    assert_eq!(back.downcast_ref::<Ping>().unwrap().0, 1);

    let pong: Box<dyn Message> = Box::new(Pong(2));
    assert_eq!(pong.wire_name(), concat!(module_path!(), "::Pong"));
    let inner: Box<dyn Message> = Box::new(nested::Inner);
    assert_eq!(inner.wire_name(), concat!(module_path!(), "::nested::Inner"));

    let names: Vec<&str> = registered_messages().map(|r| r.wire_name).collect();
    assert!(names.contains(&"app::v1::Ping"), "{names:?}");

    assert_eq!(<Named as thespian::ActorType>::WIRE_NAME, "app::v1::Named");
    assert_eq!(<Unnamed as thespian::ActorType>::WIRE_NAME, concat!(module_path!(), "::Unnamed"));
    assert_eq!(<nested::Deep as thespian::ActorType>::WIRE_NAME, concat!(module_path!(), "::nested::Deep"));
    let registration = thespian::actor::actor_registration("app::v1::Named").expect("registered");
    assert!((registration.type_name)().ends_with("::Named"));

    let system = ActorSystem::new()?;
    let t = Duration::from_secs(5);
    let named = system.create_actor::<Named>()?;
    assert_eq!(system.ask::<Pong, _, _>(&named, Ping(1), t)?.0, 2);
    let unnamed = system.create_actor::<Unnamed>()?;
    assert_eq!(system.ask::<Pong, _, _>(&unnamed, Ping(1), t)?.0, 1);
    let deep = system.create_actor::<nested::Deep>()?;
    assert!(system.ask::<bool, _, _>(&deep, nested::Inner, t)?);
    system.shutdown()
}
