//! Unit tests of the capability map and of the checks actor types declare.

use super::*;

fn caps<const N: usize>(entries: [(&str, Value); N]) -> Capabilities {
    entries.into_iter().collect()
}

#[test]
fn truthiness_follows_python() {
    for falsy in [json!(null), json!(false), json!(0), json!(-0.0), json!(0u64), json!(""), json!([]), json!({})] {
        assert!(!is_truthy(&falsy), "{falsy} is false");
    }
    for truthy in [json!(true), json!(1), json!(-1), json!(1e-9), json!(" "), json!([false]), json!({"": 0})] {
        assert!(is_truthy(&truthy), "{truthy} is true");
    }
    let c = caps([("on", json!(1)), ("off", json!(0))]);
    assert!(c.is_truthy("on"));
    assert!(!c.is_truthy("off"));
    assert!(!c.is_truthy("absent"), "a capability that is not set is false");
}

#[test]
fn update_reports_changes() {
    let mut c = Capabilities::new();
    assert!(c.update("a".into(), Some(json!(true))));
    assert!(!c.update("a".into(), Some(json!(true))), "the same value again changes nothing");
    assert!(c.update("a".into(), Some(json!(false))));
    assert!(c.update("a".into(), None));
    assert!(!c.update("a".into(), None), "removing twice changes nothing the second time");
}

#[test]
fn capabilities_serialize_as_a_map() {
    let c = caps([("Colour", json!("red")), ("Cores", json!(8))]);
    assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"Colour":"red","Cores":8}"#);
    let back: Capabilities = rmp_serde::from_slice(&rmp_serde::to_vec_named(&c).unwrap()).unwrap();
    assert_eq!(back, c);
}

// Thespian's test_requireCapability.py, test_oneReq.
#[test]
fn one_requirement() {
    const REQ1: CapabilityCheck = CapabilityCheck::new(&[RequiredCapability::truthy("asdf")]);
    let check = |c: Capabilities| REQ1.accepts(&c, &Requirements::new());
    assert!(!check(caps([])));
    assert!(!check(caps([("asdf", json!(false))])));
    assert!(check(caps([("asdf", json!(true))])));
    assert!(check(caps([("asdf", json!(true)), ("qwer", json!(false))])));
    assert!(check(caps([("asdf", json!(true)), ("qwer", json!(true))])));
    assert!(!check(caps([("qwer", json!(false)), ("asdf", json!(false))])));
    assert!(!check(caps([("qwer", json!(true)), ("asdf", json!(false))])));
}

// test_twoReq and test_twoReqReverse: the order the entries are written in does not matter.
#[test]
fn two_requirements_in_either_order() {
    const REQ2: CapabilityCheck =
        CapabilityCheck::new(&[RequiredCapability::truthy("asdf"), RequiredCapability::truthy("qwer")]);
    const REQ2REV: CapabilityCheck =
        CapabilityCheck::new(&[RequiredCapability::truthy("qwer"), RequiredCapability::truthy("asdf")]);
    for check in [REQ2, REQ2REV] {
        let check = |c: Capabilities| check.accepts(&c, &Requirements::new());
        assert!(!check(caps([])));
        assert!(!check(caps([("asdf", json!(false))])));
        assert!(!check(caps([("asdf", json!(true))])));
        assert!(!check(caps([("asdf", json!(true)), ("qwer", json!(false))])));
        assert!(check(caps([("asdf", json!(true)), ("qwer", json!(true))])));
        assert!(!check(caps([("qwer", json!(false)), ("asdf", json!(true))])));
        assert!(!check(caps([("qwer", json!(false)), ("asdf", json!(false))])));
        assert!(!check(caps([("qwer", json!(true)), ("asdf", json!(false))])));
    }
}

// test_threeReq: a required value must be equal, not merely true.
#[test]
fn required_value() {
    const FROG: CapabilityCheck =
        CapabilityCheck::new(&[RequiredCapability::equal("frog", RequiredValue::Str("ribbet"))]);
    let check = |c: Capabilities| FROG.accepts(&c, &Requirements::new());
    assert!(check(caps([("frog", json!("ribbet"))])));
    assert!(!check(caps([("frog", json!("moo"))])));
    assert!(!check(caps([("frog", json!(true))])));
    assert!(!check(caps([("frog", json!(false))])));
    assert!(!check(caps([("frog", json!(1))])));
    assert!(!check(caps([("frog", json!(0))])));
    assert!(!check(caps([("frog", json!(null))])));
    assert!(!check(caps([("Frog", json!("ribbet"))])), "names are case-sensitive");
}

#[test]
fn numbers_compare_by_value_and_types_do_not_mix() {
    let eq =
        |want: RequiredValue, have: Value| RequiredCapability::equal("n", want).check(&caps([("n", have)])).is_ok();
    assert!(eq(RequiredValue::Int(1), json!(1)));
    assert!(eq(RequiredValue::Int(1), json!(1.0)));
    assert!(eq(RequiredValue::Int(-3), json!(-3)));
    assert!(!eq(RequiredValue::Int(-1), json!(u64::MAX)));
    assert!(eq(RequiredValue::Float(2.5), json!(2.5)));
    assert!(eq(RequiredValue::Float(2.0), json!(2)));
    assert!(eq(RequiredValue::Bool(true), json!(true)));
    assert!(!eq(RequiredValue::Bool(true), json!(1)), "a bool is not a number here");
    assert!(!eq(RequiredValue::Str("1"), json!(1)));
}

#[test]
fn reasons_name_what_is_missing() {
    let server = RequiredCapability::truthy("Server");
    assert_eq!(server.check(&caps([])).unwrap_err(), "capability `Server` is not set (it must be set to a true value)");
    assert_eq!(server.check(&caps([("Server", json!(0))])).unwrap_err(), "capability `Server` is 0, not a true value");
    let colour = RequiredCapability::equal("Colour", RequiredValue::Str("red"));
    assert_eq!(
        colour.check(&caps([("Colour", json!("blue"))])).unwrap_err(),
        r#"capability `Colour` is "blue", not "red""#
    );
    assert_eq!(
        colour.check(&caps([("Colour", json!(5))])).unwrap_err(),
        r#"capability `Colour` is 5, where a string ("red") is required"#
    );
}

// TestUnitRequireRequirements: a check function reads the requirements.
#[test]
fn requirements_reach_the_function() {
    fn woof(_: &Capabilities, reqs: &Requirements) -> bool {
        reqs.get("foo").and_then(Value::as_str) == Some("woof")
    }
    const REQ: CapabilityCheck = CapabilityCheck::NONE.with_function(woof, "woof");
    let check = |r: Requirements| REQ.accepts(&Capabilities::new(), &r);
    assert!(!check(caps([])));
    assert!(!check(caps([("foo", json!(null))])));
    assert!(!check(caps([("foo", json!(true))])));
    assert!(!check(caps([("foo", json!("boo"))])));
    assert!(!check(caps([("dog", json!("woof"))])));
    assert!(check(caps([("foo", json!("woof"))])));
    assert!(check(caps([("foo", json!("woof")), ("bar", json!("foo"))])));
}

#[test]
fn entries_and_function_are_anded() {
    fn allow(_: &Capabilities, _: &Requirements) -> bool {
        true
    }
    fn deny(_: &Capabilities, _: &Requirements) -> bool {
        false
    }
    const REQUIRED: &[RequiredCapability] = &[RequiredCapability::truthy("a")];
    let with_a = caps([("a", json!(true))]);
    let none = Requirements::new();
    assert!(CapabilityCheck::new(REQUIRED).with_function(allow, "allow").accepts(&with_a, &none));
    assert!(!CapabilityCheck::new(REQUIRED).with_function(allow, "allow").accepts(&caps([]), &none));
    let refused = CapabilityCheck::new(REQUIRED).with_function(deny, "deny").evaluate(&with_a, &none);
    assert!(refused.unwrap_err().starts_with("its capability check `deny` refused"));
}

#[test]
fn a_panicking_check_fails_closed() {
    fn explode(_: &Capabilities, _: &Requirements) -> bool {
        panic!("no such requirement")
    }
    let check = CapabilityCheck::NONE.with_function(explode, "explode");
    let why = check.evaluate(&Capabilities::new(), &Requirements::new()).unwrap_err();
    assert!(why.contains("`explode` panicked: panic: no such requirement"), "{why}");
    assert!(!check.accepts(&Capabilities::new(), &Requirements::new()));
}
