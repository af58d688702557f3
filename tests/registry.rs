//! Every built-in message and a user struct round-trip through the registry with MessagePack
//! (named fields), as they will between processes.

use std::collections::BTreeMap;

use thespian::message::{from_bytes, registered_messages, to_bytes};
use thespian::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
enum Shape {
    Circle { radius: f64 },
    Square(u32),
    Dot,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
struct Inner {
    label: String,
    weights: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
struct Order {
    id: u64,
    note: Option<String>,
    missing: Option<i32>,
    items: Vec<Inner>,
    shape: Shape,
    reply_to: ActorAddress,
    copies: Vec<ActorAddress>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Message)]
#[message(name = "pinned.Name")]
struct Pinned(u8);

fn round_trip<M: Message + PartialEq + Clone>(msg: M) {
    let boxed: Box<dyn Message> = Box::new(msg.clone());
    let bytes = to_bytes(&*boxed).unwrap_or_else(|e| panic!("encode {msg:?}: {e}"));
    let back = from_bytes(&bytes).unwrap_or_else(|e| panic!("decode {msg:?}: {e}"));
    assert_eq!(back.wire_name(), boxed.wire_name());
    assert_eq!(back.downcast_ref::<M>(), Some(&msg), "round trip of {msg:?}");
}

#[test]
fn every_builtin_round_trips() {
    round_trip(String::from("hi"));
    round_trip(String::new());
    round_trip(true);
    round_trip(());
    round_trip(vec![0u8, 1, 255]);
    round_trip(-5i8);
    round_trip(-500i16);
    round_trip(i32::MIN);
    round_trip(i64::MAX);
    round_trip(i128::MIN);
    round_trip(-3isize);
    round_trip(u8::MAX);
    round_trip(u16::MAX);
    round_trip(u32::MAX);
    round_trip(u64::MAX);
    round_trip(u128::MAX);
    round_trip(7usize);
    round_trip(1.5f32);
    round_trip(-2.25f64);
}

#[test]
fn system_messages_round_trip() {
    let addr = actor_address();
    for msg in [
        Box::new(ActorExitRequest { recursive: false }) as Box<dyn Message>,
        Box::new(ChildActorExited { child: addr.clone() }),
        Box::new(PoisonMessage { message: Some(Box::new(3u8)), message_type: "u8".into(), details: "boom".into() }),
        Box::new(DeadEnvelope { dead_address: addr, message: Box::new(String::from("late")) }),
        Box::new(WakeupMessage { delay: Duration::from_millis(65), payload: None }),
    ] {
        let back = from_bytes(&to_bytes(&*msg).unwrap()).unwrap();
        assert_eq!(back.wire_name(), msg.wire_name());
        assert_eq!(format!("{back:?}"), format!("{msg:?}"));
    }
}

/// An address from a real system, so the round trip covers a live one.
fn actor_address() -> ActorAddress {
    #[derive(Default)]
    struct Nobody;
    #[actor]
    impl Nobody {
        #[handler]
        fn any(&mut self, _m: ()) {}
    }
    let system = ActorSystem::new().unwrap();
    system.create_actor::<Nobody>().unwrap().into()
}

#[test]
fn user_struct_with_nested_fields_round_trips() {
    let addr = actor_address();
    round_trip(Order {
        id: 42,
        note: Some("fragile".into()),
        missing: None,
        items: vec![
            Inner { label: "a".into(), weights: BTreeMap::from([("x".into(), -1)]) },
            Inner { label: "b".into(), weights: BTreeMap::new() },
        ],
        shape: Shape::Circle { radius: 2.5 },
        reply_to: addr.clone(),
        copies: vec![addr.clone(), addr],
    });
    round_trip(Shape::Square(3));
    round_trip(Shape::Dot);
    round_trip(Pinned(9));
}

#[test]
fn wire_names_are_module_qualified_or_pinned() {
    let order: Box<dyn Message> = Box::new(Shape::Dot);
    assert_eq!(order.wire_name(), "registry::Shape");
    let pinned: Box<dyn Message> = Box::new(Pinned(1));
    assert_eq!(pinned.wire_name(), "pinned.Name");
    let names: Vec<_> = registered_messages().map(|r| r.wire_name).collect();
    for expected in [
        "registry::Order",
        "registry::Inner",
        "pinned.Name",
        "String",
        "u64",
        "()",
        "Vec<u8>",
        "thespian::PoisonMessage",
    ] {
        assert!(names.contains(&expected), "{expected} missing from the registry: {names:?}");
    }
}

#[test]
fn the_encoding_uses_named_fields() {
    let bytes = to_bytes(&Inner { label: "l".into(), weights: BTreeMap::new() }).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("label") && text.contains("weights"), "field names travel with the data");
}

#[test]
fn an_unknown_wire_name_is_an_error_naming_it() {
    let bytes = rmp_serde::to_vec_named(&BTreeMap::from([("nobody::Knows", 1u8)])).unwrap();
    let err = from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains("nobody::Knows"), "{err}");
}
