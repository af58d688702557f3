//! Conformance: system capabilities and actor requirements, on every in-process base.
//!
//! Ports Thespian's `test_updateSystemCapabilities.py` (one scenario per original test, named after
//! it, run on one system: the original spreads the colours over three systems of a convention, and
//! where an actor moves to another system there, it is refused here), and `test_manyActorSystems.py`
//! test06–10 (requirements given at the top level or by a sub-actor; a required requirement left
//! out fails), with one system given the capabilities of the member that would host each actor.
//! The truth tables of `test_requireCapability.py` are unit tests of the check itself
//! (`runtime/src/capabilities.rs`); here they run once more through `#[actor(..)]` options.
//!
//! Where the original's `ask` returns `None` for an actor that has gone, an ask here fails with
//! `Error::DeadTarget`; where it returns `None` because a sub-actor could not be created, the
//! message sent to that sub-actor comes back to its sender as a `PoisonMessage`, which the actors
//! below report.
//!
//! The multi-process base does not carry capabilities or requirements to its node yet, so these
//! scenarios are not run there.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::{ASK, eventually};
use thespian::capabilities::Value;
use thespian::prelude::*;

/// How long an ask that must get no reply waits.
const NO_REPLY: Duration = Duration::from_millis(200);

// ------------------------------------------------------------------------------------------------
// Messages

/// Asks an actor to change its system's capability: `None` removes it.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct SetCap {
    name: String,
    value: Option<Value>,
}

fn set_cap(name: &str, value: Option<bool>) -> SetCap {
    SetCap { name: name.to_owned(), value: value.map(Value::from) }
}

/// Goes through a chain of colour actors, each creating the next as its own child (once per
/// colour); the last sends `text` to whoever sent the chain to the first.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Path {
    hops: Vec<String>,
    text: String,
    reply_to: Option<ActorAddress>,
}

fn path(hops: &[&str], text: &str) -> Path {
    Path { hops: hops.iter().map(|h| (*h).to_owned()).collect(), text: text.to_owned(), reply_to: None }
}

/// Asks an actor what happened to its children and to what it sent.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct ReportRequest;

/// What an actor saw: its children that exited, the poisons that came back, and the
/// `ActorExitRequest`s it handled (and whether each came from itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Message)]
struct Report {
    exited: Vec<ActorAddress>,
    poisons: Vec<String>,
}

// ------------------------------------------------------------------------------------------------
// The colour actors of test_updateSystemCapabilities.py: each needs its colour as a capability,
// except Orange, which needs nothing.

#[derive(Default)]
struct Colour {
    subs: HashMap<String, ActorAddress>,
    report: Report,
}

impl Colour {
    fn forward(&mut self, mut msg: Path, cx: &mut Context<'_>) {
        let reply_to = msg.reply_to.get_or_insert_with(|| cx.sender()).clone();
        if msg.hops.is_empty() {
            cx.send(&reply_to, msg.text);
            return;
        }
        let next = msg.hops.remove(0);
        let sub = match self.subs.get(&next) {
            Some(sub) => sub.clone(),
            None => {
                let sub = match next.as_str() {
                    "Red" => cx.create_actor::<Red>().into_address(),
                    "Green" => cx.create_actor::<Green>().into_address(),
                    "Blue" => cx.create_actor::<Blue>().into_address(),
                    "Orange" => cx.create_actor::<Orange>().into_address(),
                    other => panic!("no colour {other}"),
                };
                self.subs.insert(next, sub.clone());
                sub
            }
        };
        cx.send(&sub, msg);
    }

    fn exited(&mut self, msg: ChildActorExited) {
        self.subs.retain(|_, a| *a != msg.child);
        self.report.exited.push(msg.child);
    }
}

macro_rules! colour_actor {
    ($name:ident $(, $($option:tt)+)?) => {
        #[derive(Default)]
        struct $name(Colour);

        #[actor($($($option)+)?)]
        impl $name {
            #[handler]
            fn text(&mut self, msg: String) -> String {
                format!("Got: {msg}")
            }

            #[handler]
            fn set(&mut self, msg: SetCap, cx: &mut Context<'_>) -> String {
                cx.update_capability(msg.name, msg.value);
                "ok".to_owned()
            }

            #[handler]
            fn path(&mut self, msg: Path, cx: &mut Context<'_>) {
                self.0.forward(msg, cx);
            }

            #[handler]
            fn exited(&mut self, msg: ChildActorExited) {
                self.0.exited(msg);
            }

            #[handler]
            fn poisoned(&mut self, msg: PoisonMessage) {
                self.0.report.poisons.push(msg.details);
            }

            #[handler]
            fn report(&mut self, _msg: ReportRequest) -> Report {
                self.0.report.clone()
            }
        }
    };
}

colour_actor!(Red, require_capability = "Red");
colour_actor!(Green, require_capability(name = "Green"));
colour_actor!(Blue, capability_check = blue_check);
colour_actor!(Orange);

/// Blue's check is a function, as the original's `actorSystemCapabilityCheck` is.
fn blue_check(capabilities: &Capabilities, _requirements: &Requirements) -> bool {
    capabilities.is_truthy("Blue")
}

// ------------------------------------------------------------------------------------------------
// Helpers

fn ask_str<T: thespian::Recipient<String> + ?Sized>(system: &ActorSystem, to: &T, msg: &str) -> String {
    system.ask::<String, _, _>(to, msg, ASK).unwrap_or_else(|e| panic!("ask {msg:?}: {e}"))
}

fn ask_path<T: thespian::Recipient<Path> + ?Sized>(system: &ActorSystem, to: &T, msg: Path) -> Result<String, Error> {
    system.ask::<String, _, _>(to, msg, ASK)
}

fn set(system: &ActorSystem, name: &str, value: Option<bool>) {
    system.update_capability(name, value.map(Value::from)).expect("the capability changes");
}

fn report<T: thespian::Recipient<ReportRequest> + ?Sized>(system: &ActorSystem, to: &T) -> Report {
    system.ask(to, ReportRequest, ASK).expect("a report")
}

/// The create failed because the system cannot host the actor.
fn assert_refused<T: std::fmt::Debug>(got: thespian::Result<T>, actor: &str) {
    match got {
        Err(Error::NoCompatibleSystem { actor_type, reason, .. }) => {
            assert!(actor_type.ends_with(actor), "{actor_type} is the {actor} asked for");
            assert!(!reason.is_empty());
        }
        other => panic!("expected Error::NoCompatibleSystem for {actor}, got {other:?}"),
    }
}

/// Waits until `who` has gone: the framework answers a status request for every live actor, and
/// an ask to an actor that has gone fails with `DeadTarget`.
fn gone(system: &ActorSystem, who: &ActorAddress) -> bool {
    eventually(ASK, || matches!(system.status(who, ASK), Err(Error::DeadTarget(_))))
}

/// The actor and all its live descendants. A child its parent still lists may have exited a
/// moment before it is asked (its parent hears of that after): it counts as gone.
fn actor_count(system: &ActorSystem, top: &ActorAddress) -> usize {
    match system.status(top, ASK) {
        Ok(status) => 1 + status.children.iter().map(|child| actor_count(system, child)).sum::<usize>(),
        Err(Error::DeadTarget(_)) => 0,
        Err(e) => panic!("a live actor answers: {e:?}"),
    }
}

/// Every deliberate panic in this file says so, and [`QuietPanics`] keeps those (and only those)
/// out of the test output.
const DELIBERATE: &str = "deliberate";

type Hook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

static QUIET: Mutex<(usize, Option<Arc<Hook>>)> = Mutex::new((0, None));

/// While alive, the panic hook drops panics whose message contains [`DELIBERATE`] and passes
/// every other panic to the hook that was there before; shared by scenarios running in parallel.
struct QuietPanics;

impl QuietPanics {
    fn install() -> Self {
        let mut quiet = QUIET.lock().unwrap_or_else(|e| e.into_inner());
        if quiet.0 == 0 {
            let previous: Arc<Hook> = Arc::new(std::panic::take_hook());
            let passed_on = previous.clone();
            std::panic::set_hook(Box::new(move |info| {
                let payload = info.payload();
                let text = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
                if !text.is_some_and(|t| t.contains(DELIBERATE)) {
                    passed_on(info);
                }
            }));
            quiet.1 = Some(previous);
        }
        quiet.0 += 1;
        QuietPanics
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        let mut quiet = QUIET.lock().unwrap_or_else(|e| e.into_inner());
        quiet.0 -= 1;
        if quiet.0 == 0
            && !std::thread::panicking()
            && let Some(previous) = quiet.1.take()
        {
            drop(std::panic::take_hook());
            std::panic::set_hook(Box::new(move |info| previous(info)));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// test_requireCapability.py, through the macro: one, two and three requirements, in either order.

#[derive(Default)]
struct Req1;

#[actor(require_capability = "asdf")]
impl Req1 {
    #[handler]
    fn any(&mut self, _m: String) {}
}

#[derive(Default)]
struct Req2;

#[actor(require_capability = "asdf", require_capability = "qwer")]
impl Req2 {
    #[handler]
    fn any(&mut self, _m: String) {}
}

#[derive(Default)]
struct Req2Rev;

#[actor(require_capability = "qwer", require_capability = "asdf")]
impl Req2Rev {
    #[handler]
    fn any(&mut self, _m: String) {}
}

#[derive(Default)]
struct Req3;

#[actor(require_capability(name = "frog", value = "ribbet"))]
impl Req3 {
    #[handler]
    fn any(&mut self, _m: String) {}
}

#[derive(Default)]
struct Numbers;

#[actor(
    require_capability(name = "cores", value = 8),
    require_capability(name = "ratio", value = -0.5),
    require_capability(name = "fast", value = true)
)]
impl Numbers {
    #[handler]
    fn any(&mut self, _m: String) {}
}

fn caps<const N: usize>(entries: [(&str, Value); N]) -> Capabilities {
    entries.into_iter().collect()
}

fn hosts<A: thespian::ActorType>(capabilities: Capabilities) -> bool {
    A::CAPABILITY_CHECK.accepts(&capabilities, &Requirements::new())
}

#[test]
fn require_capability_one() {
    let t = Value::Bool(true);
    let f = Value::Bool(false);
    assert!(!hosts::<Req1>(caps([])));
    assert!(!hosts::<Req1>(caps([("asdf", f.clone())])));
    assert!(hosts::<Req1>(caps([("asdf", t.clone())])));
    assert!(hosts::<Req1>(caps([("asdf", t.clone()), ("qwer", f.clone())])));
    assert!(hosts::<Req1>(caps([("asdf", t.clone()), ("qwer", t.clone())])));
    assert!(!hosts::<Req1>(caps([("qwer", f.clone()), ("asdf", f.clone())])));
    assert!(!hosts::<Req1>(caps([("qwer", t), ("asdf", f)])));
}

#[test]
fn require_capability_two_in_either_order() {
    let t = Value::Bool(true);
    let f = Value::Bool(false);
    for hosts in [hosts::<Req2> as fn(Capabilities) -> bool, hosts::<Req2Rev>] {
        assert!(!hosts(caps([])));
        assert!(!hosts(caps([("asdf", f.clone())])));
        assert!(!hosts(caps([("asdf", t.clone())])));
        assert!(!hosts(caps([("asdf", t.clone()), ("qwer", f.clone())])));
        assert!(hosts(caps([("asdf", t.clone()), ("qwer", t.clone())])));
        assert!(!hosts(caps([("qwer", f.clone()), ("asdf", t.clone())])));
        assert!(hosts(caps([("qwer", t.clone()), ("asdf", t.clone())])));
        assert!(!hosts(caps([("qwer", f.clone()), ("asdf", f.clone())])));
        assert!(!hosts(caps([("qwer", t.clone()), ("asdf", f.clone())])));
    }
}

#[test]
fn require_capability_value() {
    assert!(hosts::<Req3>(caps([("frog", "ribbet".into())])));
    for other in [Value::from("moo"), true.into(), false.into(), 1.into(), 0.into(), Value::Null] {
        assert!(!hosts::<Req3>(caps([("frog", other.clone())])), "frog = {other}");
    }
    assert!(!hosts::<Req3>(caps([("Frog", "ribbet".into())])));
}

#[test]
fn require_capability_numbers_and_bools() {
    let all = || caps([("cores", 8.into()), ("ratio", (-0.5).into()), ("fast", true.into())]);
    assert!(hosts::<Numbers>(all()));
    assert!(hosts::<Numbers>(caps([("cores", 8.0.into()), ("ratio", (-0.5).into()), ("fast", true.into())])));
    for (name, wrong) in [("cores", Value::from(7)), ("ratio", 0.5.into()), ("fast", 1.into()), ("cores", "8".into())] {
        let mut c = all();
        c.insert(name, wrong.clone());
        assert!(!hosts::<Numbers>(c), "{name} = {wrong}");
    }
}

#[test]
fn registration_records_the_check() {
    let red = thespian::actor::registered_actors().find(|r| r.wire_name.ends_with("::Red")).expect("Red is registered");
    assert!(!red.capability_check.is_none());
    assert_eq!(
        thespian::actor::can_host(red.wire_name, &caps([("Red", true.into())]), &Requirements::new()),
        Some(Ok(()))
    );
    let why =
        thespian::actor::can_host(red.wire_name, &Capabilities::new(), &Requirements::new()).unwrap().unwrap_err();
    assert!(why.contains("capability `Red` is not set"), "{why}");
    let orange = thespian::actor::registered_actors().find(|r| r.wire_name.ends_with("::Orange")).unwrap();
    assert!(orange.capability_check.is_none());
}

// ------------------------------------------------------------------------------------------------
// Capabilities given when the system starts.

#[test]
fn builder_capabilities_host_actors() {
    for base in common::BASES {
        let system = common::Running(
            ActorSystem::builder().base(base).capabilities([("Red", true)]).capability("Green", true).build().unwrap(),
        );
        let system = &system.0;
        let caps = system.capabilities().unwrap();
        assert!(caps.is_truthy("Red") && caps.is_truthy("Green") && caps.len() == 2);
        let red = system.create_actor::<Red>().unwrap();
        let green = system.create_actor::<Green>().unwrap();
        assert_eq!(ask_str(system, &red, "hello"), "Got: hello");
        assert_eq!(ask_str(system, &green, "howdy"), "Got: howdy");
        assert_refused(system.create_actor::<Blue>(), "Blue");
    }
}

conformance! {
    /// test00_systemUpdatable and test01_actorUpdatable: capabilities can be set and removed from
    /// outside and from an actor; the system reports them.
    fn test00_system_and_actor_updatable(system) {
        system.update_capability("Colors", Some(thespian::capabilities::json!(["Red", "Blue", "Green"]))).unwrap();
        system.update_capability("Here", Some(true.into())).unwrap();
        system.update_capability("Here", None).unwrap();
        let orange = system.create_actor::<Orange>().unwrap();
        assert_eq!(system.ask::<String, _, _>(&orange, set_cap("Blue", Some(true)), ASK).unwrap(), "ok");
        let caps = system.capabilities().unwrap();
        assert_eq!(caps.get("Colors").and_then(Value::as_array).map(Vec::len), Some(3));
        assert!(!caps.contains("Here"));
        assert!(caps.is_truthy("Blue"));
    }

    /// test01_defaultSystemsDoNotSupportColorActors: without the capabilities, no colour actor
    /// can be created; the error names the actor type and what is missing.
    fn test01_default_system_does_not_support_colour_actors(system) {
        assert_refused(system.create_actor::<Red>(), "Red");
        assert_refused(system.create_actor::<Blue>(), "Blue");
        assert_refused(system.create_actor::<Green>(), "Green");
        let Err(Error::NoCompatibleSystem { reason, .. }) = system.create_actor::<Green>() else { unreachable!() };
        assert_eq!(reason, "capability `Green` is not set (it must be set to a true value)");
        let Err(refused) = system.create_actor::<Blue>() else { unreachable!() };
        let text = refused.to_string();
        assert!(text.contains("::Blue`") && text.contains("blue_check"), "{text}");
        // An actor type that asks for nothing is created as always.
        let orange = system.create_actor::<Orange>().unwrap();
        assert_eq!(ask_str(system, &orange, "aloha"), "Got: aloha");
    }

    /// test02_addColorCapabilitiesAllowsColorActors and test02_1 (…AndSubActors): adding the
    /// capabilities allows the actors, top-level and as sub-actors along a chain.
    fn test02_adding_capabilities_allows_colour_actors_and_sub_actors(system) {
        set(system, "Red", Some(true));
        set(system, "Green", Some(true));
        set(system, "Blue", Some(true));
        let red = system.create_actor::<Red>().unwrap();
        let green = system.create_actor::<Green>().unwrap();
        let blue = system.create_actor::<Blue>().unwrap();
        let orange = system.create_actor::<Orange>().unwrap();
        assert_eq!(ask_str(system, &red, "hello"), "Got: hello");
        assert_eq!(ask_str(system, &green, "howdy"), "Got: howdy");
        assert_eq!(ask_str(system, &blue, "greetings"), "Got: greetings");
        assert_eq!(ask_str(system, &orange, "aloha"), "Got: aloha");
        let chain = ["Blue", "Green", "Red", "Green", "Blue", "Red"];
        assert_eq!(ask_path(system, &red, path(&chain, "path1")).unwrap(), "path1");
        assert_eq!(ask_path(system, &green, path(&chain, "path2")).unwrap(), "path2");
        let chain = ["Blue", "Green", "Red", "Green", "Orange", "Blue", "Red"];
        assert_eq!(ask_path(system, &blue, path(&chain, "path3")).unwrap(), "path3");
        for actor in [red.address(), green.address(), blue.address()] {
            system.tell(actor, ActorExitRequest::default()).unwrap();
            assert!(gone(system, actor));
        }
    }

    /// test04_1_actorAddCapabilitiesEnablesOtherActors: an actor adds capabilities, and actors
    /// needing them can then be created.
    fn test04_1_actor_adding_capabilities_enables_other_actors(system) {
        set(system, "Red", Some(true));
        let red = system.create_actor::<Red>().unwrap();
        assert_refused(system.create_actor::<Blue>(), "Blue");
        assert_refused(system.create_actor::<Green>(), "Green");
        let orange = system.create_actor::<Orange>().unwrap();
        assert_eq!(ask_str(system, &red, "Hello"), "Got: Hello");
        assert_eq!(system.ask::<String, _, _>(&red, set_cap("Green", Some(true)), ASK).unwrap(), "ok");
        assert_eq!(system.ask::<String, _, _>(&red, set_cap("Blue", Some(true)), ASK).unwrap(), "ok");
        let green = system.create_actor::<Green>().unwrap();
        let blue = system.create_actor::<Blue>().unwrap();
        assert_eq!(ask_str(system, &red, "hello"), "Got: hello");
        assert_eq!(ask_str(system, &green, "howdy"), "Got: howdy");
        assert_eq!(ask_str(system, &blue, "greetings"), "Got: greetings");
        assert_eq!(ask_str(system, &orange, "Aloha"), "Got: Aloha");
    }

    /// test05_removingColorCapabilitiesKillsExistingColorActors: removing the capabilities stops
    /// the actors that need them; the others keep running.
    fn test05_removing_capabilities_stops_existing_colour_actors(system) {
        set(system, "Red", Some(true));
        set(system, "Green", Some(true));
        set(system, "Blue", Some(true));
        let red = system.create_actor::<Red>().unwrap();
        let green = system.create_actor::<Green>().unwrap();
        let blue = system.create_actor::<Blue>().unwrap();
        let orange = system.create_actor::<Orange>().unwrap();
        assert_eq!(ask_str(system, &red, "hello"), "Got: hello");
        assert_eq!(ask_str(system, &blue, "greetings"), "Got: greetings");
        set(system, "Red", None);
        set(system, "Green", None);
        set(system, "Blue", None);
        for actor in [red.address(), green.address(), blue.address()] {
            assert!(gone(system, actor), "{actor} stopped");
            let asked = system.ask::<String, _, _>(actor, "1", ASK);
            assert!(matches!(asked, Err(Error::DeadTarget(_))), "{asked:?}");
        }
        assert_eq!(ask_str(system, &orange, "aloha"), "Got: aloha");
        assert_eq!(system.stats().actors, 1);
    }

    /// test05_1_removingColorCapabilitiesViaActorKillsExistingColorActors: an actor removes a
    /// capability (even its own) and the actors needing it stop, the caller included.
    fn test05_1_removing_capabilities_via_actor_stops_colour_actors(system) {
        set(system, "Red", Some(true));
        set(system, "Green", Some(true));
        set(system, "Blue", Some(true));
        let red = system.create_actor::<Red>().unwrap();
        let green = system.create_actor::<Green>().unwrap();
        let blue = system.create_actor::<Blue>().unwrap();
        let orange = system.create_actor::<Orange>().unwrap();
        assert_eq!(system.ask::<String, _, _>(&red, set_cap("Red", Some(false)), ASK).unwrap(), "ok");
        assert_eq!(system.ask::<String, _, _>(&blue, set_cap("Blue", Some(false)), ASK).unwrap(), "ok");
        assert!(gone(system, red.address()));
        assert!(gone(system, blue.address()));
        assert_eq!(ask_str(system, &green, "Howdy"), "Got: Howdy");
        assert_eq!(ask_str(system, &orange, "aloha"), "Got: aloha");
    }

    /// test06_removingColorCapabilitiesPreventsNewColorActors: once removed, a capability's actors
    /// cannot be created (top-level or as sub-actors); added back, they can.
    fn test06_removing_capabilities_prevents_new_colour_actors(system) {
        set(system, "Red", Some(true));
        set(system, "Green", Some(true));
        set(system, "Blue", Some(true));
        let red = system.create_actor::<Red>().unwrap();
        let green = system.create_actor::<Green>().unwrap();
        let blue = system.create_actor::<Blue>().unwrap();
        set(system, "Blue", None);
        assert!(gone(system, blue.address()));
        assert_eq!(ask_str(system, &red, "hellono"), "Got: hellono");
        assert_eq!(ask_str(system, &green, "hino"), "Got: hino");
        set(system, "Red", None);
        assert!(gone(system, red.address()));
        assert_eq!(ask_str(system, &green, "hi"), "Got: hi");
        assert_refused(system.create_actor::<Red>(), "Red");
        let green = system.create_actor::<Green>().unwrap();
        assert_refused(system.create_actor::<Blue>(), "Blue");
        set(system, "Blue", Some(true));
        let blue = system.create_actor::<Blue>().unwrap();
        assert_eq!(ask_str(system, &green, "howdy howdy"), "Got: howdy howdy");
        assert_eq!(ask_str(system, &blue, "greetings all"), "Got: greetings all");
        // Blue cannot create a Red: no reply, and the path comes back to Blue as a poison.
        let asked = system.ask::<String, _, _>(&blue, path(&["Red"], "hey, red"), NO_REPLY);
        assert!(matches!(asked, Err(Error::Timeout(_))), "{asked:?}");
        assert!(eventually(ASK, || report(system, &blue).poisons.len() == 1));
        assert_eq!(ask_path(system, &green, path(&["Blue"], "hey, blue")).unwrap(), "hey, blue");
        assert_eq!(ask_path(system, &blue, path(&["Green"], "hey, green")).unwrap(), "hey, green");
        set(system, "Green", None);
        assert_eq!(system.ask::<String, _, _>(&blue, set_cap("Blue", None), ASK).unwrap(), "ok");
        assert_refused(system.create_actor::<Red>(), "Red");
        assert_refused(system.create_actor::<Blue>(), "Blue");
        assert_refused(system.create_actor::<Green>(), "Green");
        assert!(gone(system, blue.address()) && gone(system, green.address()));
    }

    /// test07_removingNonExistentCapabilitiesHasNoEffect.
    fn test07_removing_capabilities_that_are_not_set_has_no_effect(system) {
        set(system, "Red", Some(true));
        set(system, "Green", Some(true));
        set(system, "Blue", Some(true));
        let red = system.create_actor::<Red>().unwrap();
        let green = system.create_actor::<Green>().unwrap();
        let blue = system.create_actor::<Blue>().unwrap();
        let chain = ["Red", "Green", "Red", "Blue", "Green"];
        assert_eq!(ask_path(system, &blue, path(&chain, "long path")).unwrap(), "long path");
        assert_eq!(ask_path(system, &blue, path(&["Red"], "bluered")).unwrap(), "bluered");
        set(system, "Frog", None);
        assert_eq!(system.ask::<String, _, _>(&blue, set_cap("Bark", None), ASK).unwrap(), "ok");
        set(system, "Cow", None);
        assert_eq!(ask_str(system, &red, "hello"), "Got: hello");
        assert_eq!(ask_str(system, &green, "howdy"), "Got: howdy");
        assert_eq!(ask_str(system, &blue, "greetings"), "Got: greetings");
        assert_eq!(ask_path(system, &blue, path(&["Red"], "hey, red")).unwrap(), "hey, red");
        assert_eq!(ask_path(system, &green, path(&["Blue"], "howdy howdy")).unwrap(), "howdy howdy");
        assert_eq!(ask_path(system, &blue, path(&chain, "long path")).unwrap(), "long path");
        assert!(report(system, &blue).exited.is_empty(), "no sub-actor stopped");
    }

    /// test08_settingCapabilityToSameValueHasNoEffect.
    fn test08_setting_a_capability_to_the_same_value_has_no_effect(system) {
        set(system, "Red", Some(true));
        set(system, "Green", Some(true));
        set(system, "Blue", Some(true));
        let red = system.create_actor::<Red>().unwrap();
        let green = system.create_actor::<Green>().unwrap();
        let blue = system.create_actor::<Blue>().unwrap();
        assert_eq!(ask_path(system, &blue, path(&["Red"], "hey, red")).unwrap(), "hey, red");
        assert_eq!(ask_path(system, &green, path(&["Green"], "howdy howdy")).unwrap(), "howdy howdy");
        let before = actor_count(system, red.address()) + actor_count(system, green.address()) + actor_count(system, blue.address());
        set(system, "Red", Some(true));
        set(system, "Green", Some(true));
        assert_eq!(system.ask::<String, _, _>(&blue, set_cap("Blue", Some(true)), ASK).unwrap(), "ok");
        assert_eq!(ask_str(system, &red, "hello"), "Got: hello");
        assert_eq!(ask_str(system, &green, "howdy"), "Got: howdy");
        assert_eq!(ask_str(system, &blue, "greetings"), "Got: greetings");
        assert_eq!(ask_path(system, &blue, path(&["Red"], "hey, red")).unwrap(), "hey, red");
        let after = actor_count(system, red.address()) + actor_count(system, green.address()) + actor_count(system, blue.address());
        assert_eq!(before, after);
    }

    /// test09_removingCapabilityTwiceHasNoEffectTheSecondTime: removing Blue stops Red's Blue
    /// sub-actor; a new one cannot be created; removing again changes nothing more.
    fn test09_removing_a_capability_twice_has_no_effect_the_second_time(system) {
        set(system, "Red", Some(true));
        set(system, "Green", Some(true));
        set(system, "Blue", Some(true));
        let red = system.create_actor::<Red>().unwrap();
        assert_eq!(ask_path(system, &red, path(&["Blue"], "hey, blue")).unwrap(), "hey, blue");
        set(system, "Green", None);
        set(system, "Blue", None);
        // Red's Blue sub-actor stopped: Red was told.
        assert!(eventually(ASK, || report(system, &red).exited.len() == 1));
        for round in 0..2 {
            if round == 1 {
                set(system, "Green", None);
                set(system, "Blue", None);
            }
            // Each sub-actor Red now tries to create is refused: Red is told of each, and the path
            // comes back to it.
            let asked = system.ask::<String, _, _>(&red, path(&["Blue"], "hello"), NO_REPLY);
            assert!(matches!(asked, Err(Error::Timeout(_))), "{asked:?}");
            let asked = system.ask::<String, _, _>(&red, path(&["Green"], "greetings"), NO_REPLY);
            assert!(matches!(asked, Err(Error::Timeout(_))), "{asked:?}");
            assert_eq!(ask_path(system, &red, path(&["Red"], "go time")).unwrap(), "go time");
        }
        assert!(eventually(ASK, || report(system, &red).poisons.len() == 4));
        let seen = report(system, &red);
        assert_eq!(seen.exited.len(), 5, "the second removal stopped nothing more: {seen:?}");
        assert!(seen.poisons.iter().all(|p| p.starts_with("Child Aborted")), "{seen:?}");
    }

    /// test11_allSubActorsNotifiedOfCapabilityChanges: removing a capability needed deep in a tree
    /// stops that sub-actor and its children, and only them.
    fn test11_all_sub_actors_see_capability_changes(system) {
        for colour in ["Red", "Green", "Blue", "Orange"] {
            set(system, colour, Some(true));
        }
        let red = system.create_actor::<Red>().unwrap();
        let chain = ["Green", "Red", "Orange", "Blue", "Green"];
        assert_eq!(ask_path(system, &red, path(&chain, "long path")).unwrap(), "long path");
        assert_eq!(actor_count(system, red.address()), 6);
        set(system, "Blue", None);
        assert!(eventually(ASK, || actor_count(system, red.address()) == 4));
        assert_eq!(system.stats().actors, 4);
    }

    /// test12_updateCapabilitiesAffectsActorDrivenCreateRequests and test13_…: a sub-actor's
    /// creates follow the capabilities as they are now, whoever changed them.
    fn test12_capability_updates_affect_actor_driven_creates(system) {
        set(system, "Red", Some(true));
        set(system, "Blue", Some(true));
        let red = system.create_actor::<Red>().unwrap();
        let blue = system.create_actor::<Blue>().unwrap();
        assert_refused(system.create_actor::<Green>(), "Green");
        let chain = ["Red", "Green", "Red", "Orange", "Blue", "Green"];
        let asked = system.ask::<String, _, _>(&blue, path(&chain, "long path"), NO_REPLY);
        assert!(matches!(asked, Err(Error::Timeout(_))), "{asked:?}");
        assert_eq!(system.ask::<String, _, _>(&red, set_cap("Green", Some(true)), ASK).unwrap(), "ok");
        // The first Red sub-actor of Blue still has the dead Green address from before.
        let chain = ["Orange", "Green", "Red", "Orange", "Blue", "Green"];
        assert_eq!(ask_path(system, &blue, path(&chain, "long path")).unwrap(), "long path");
        assert_eq!(system.ask::<String, _, _>(&red, set_cap("Green", None), ASK).unwrap(), "ok");
        let chain = ["Red", "Blue", "Green", "Red", "Green"];
        let asked = system.ask::<String, _, _>(&blue, path(&chain, "long path"), NO_REPLY);
        assert!(matches!(asked, Err(Error::Timeout(_))), "{asked:?}");
    }
}

// ------------------------------------------------------------------------------------------------
// Parents and the actors stopped under them.

/// Creates a child of the type it is told and reports what happened to its children and sends.
#[derive(Default)]
struct Parent {
    report: Report,
    exits_seen: Vec<String>,
}

/// Tells a `Parent` to create a child and send it messages.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Spawn {
    colour: String,
    requirements: Requirements,
    messages: Vec<String>,
}

#[actor]
impl Parent {
    #[handler]
    fn spawn(&mut self, msg: Spawn, cx: &mut Context<'_>) -> ActorAddress {
        let options = ActorOptions::new().requirements(msg.requirements);
        let child = match msg.colour.as_str() {
            "Red" => cx.create_actor_with::<Red>(options).into_address(),
            "Watcher" => cx.create_actor_with::<RedWatcher>(options).into_address(),
            "Guest" => cx.create_actor_with::<Guest>(options).into_address(),
            _ => cx.create_actor_with::<Orange>(options).into_address(),
        };
        for text in msg.messages {
            cx.send(&child, text);
        }
        child
    }

    #[handler]
    fn exited(&mut self, msg: ChildActorExited) {
        self.report.exited.push(msg.child);
    }

    #[handler]
    fn poisoned(&mut self, msg: PoisonMessage) {
        let carried = msg.message.as_ref().and_then(|m| m.downcast_ref::<String>()).cloned();
        self.report.poisons.push(format!("{}: {}", carried.unwrap_or_default(), msg.details));
    }

    #[handler]
    fn seen(&mut self, msg: String) {
        self.exits_seen.push(msg);
    }

    #[handler]
    fn report(&mut self, _msg: ReportRequest) -> Report {
        self.report.clone()
    }

    #[handler]
    fn exits(&mut self, _msg: u32) -> Vec<u8> {
        self.exits_seen.join(";").into_bytes()
    }
}

/// A Red actor that tells its parent about the `ActorExitRequest` it handles.
#[derive(Default)]
struct RedWatcher;

#[actor(require_capability = "Red")]
impl RedWatcher {
    #[handler]
    fn exit(&mut self, _msg: ActorExitRequest, cx: &mut Context<'_>) {
        let from_itself = cx.sender() == *cx.my_address();
        let parent = cx.parent().clone();
        cx.send(&parent, format!("exit request from itself: {from_itself}"));
    }

    #[handler]
    fn text(&mut self, msg: String) -> String {
        format!("Got: {msg}")
    }
}

fn spawn(system: &ActorSystem, parent: &Addr<Parent>, colour: &str, messages: &[&str]) -> ActorAddress {
    let msg = Spawn {
        colour: colour.to_owned(),
        requirements: Requirements::new(),
        messages: messages.iter().map(|m| (*m).to_owned()).collect(),
    };
    system.ask(parent, msg, ASK).expect("the parent answers with the child's address")
}

conformance! {
    /// A child stopped by a capability change handles an `ActorExitRequest` from itself, as in the
    /// original; its parent receives `ChildActorExited` and keeps running, and so do other children.
    fn stopped_children_exit_and_their_parents_are_told(system) {
        set(system, "Red", Some(true));
        let parent = system.create_actor::<Parent>().unwrap();
        let watcher = spawn(system, &parent, "Watcher", &[]);
        let orange = spawn(system, &parent, "Orange", &[]);
        assert_eq!(ask_str(system, &watcher, "hi"), "Got: hi");
        set(system, "Red", None);
        assert!(gone(system, &watcher));
        assert!(eventually(ASK, || report(system, &parent).exited == vec![watcher.clone()]));
        let exits = system.ask::<Vec<u8>, _, _>(&parent, 0u32, ASK).unwrap();
        assert_eq!(String::from_utf8(exits).unwrap(), "exit request from itself: true");
        assert_eq!(ask_str(system, &orange, "still here"), "Got: still here");
        assert_eq!(system.status(&parent, ASK).unwrap().children, vec![orange]);
    }

    /// From inside an actor a create returns at once: when the system cannot host the child, its
    /// address is dead, the creator receives `ChildActorExited` for it, and what the creator sent
    /// to it comes back as `PoisonMessage`s that say why. Nothing panics, nothing is lost.
    fn a_child_the_system_cannot_host_is_dead_from_the_start(system) {
        let parent = system.create_actor::<Parent>().unwrap();
        let child = spawn(system, &parent, "Red", &["one", "two"]);
        assert!(eventually(ASK, || {
            let seen = report(system, &parent);
            seen.exited.len() == 1 && seen.poisons.len() == 2
        }));
        let seen = report(system, &parent);
        assert_eq!(seen.exited, vec![child.clone()]);
        assert!(seen.poisons[0].starts_with("one: Child Aborted: actor `"), "{seen:?}");
        assert!(seen.poisons[1].starts_with("two: Child Aborted"), "{seen:?}");
        assert!(seen.poisons[0].contains("capability `Red` is not set"), "{seen:?}");
        // An ask from outside to that address gets the poison too — in this process. A copy of the
        // address that travelled to another process leads to a dead letter, as any address of an
        // actor that is not there.
        match system.ask::<String, _, _>(&child, "three", ASK) {
            Err(Error::Poison { details, message_type, .. }) => {
                assert!(details.starts_with("Child Aborted"), "{details}");
                assert_eq!(message_type, "String");
            }
            Err(Error::DeadTarget(_)) if system.base() == SystemBase::MultiprocTcp => {}
            other => panic!("expected a poison, got {other:?}"),
        }
        assert!(system.status(&parent, ASK).unwrap().children.is_empty());
        assert_eq!(system.stats().actors, 1);
        // With the capability, the same create works.
        set(system, "Red", Some(true));
        let child = spawn(system, &parent, "Red", &[]);
        assert_eq!(ask_str(system, &child, "four"), "Got: four");
    }

    /// A taken global name gives the actor that has it, whatever type is asked for and whether the
    /// system could host that type (the original ignores everything but the name).
    fn a_taken_global_name_ignores_the_check(system) {
        let named = system.create_actor_with::<Orange>(ActorOptions::new().global_name("kept")).unwrap();
        let again = system.create_actor_with::<Red>(ActorOptions::new().global_name("kept")).unwrap();
        assert_eq!(again.address(), named.address());
        assert_refused(system.create_actor_with::<Red>(ActorOptions::new().global_name("free")), "Red");
        let by_name = system.create_actor_by_name(<Red as thespian::ActorType>::WIRE_NAME, ActorOptions::new().global_name("kept"));
        assert_eq!(by_name.unwrap(), *named.address());
    }
}

// ------------------------------------------------------------------------------------------------
// test_manyActorSystems.py test06–10: requirements, on one system with the capabilities of the
// member that would host each actor.

/// Tells an actor to send `request_msg` (with a suffix) to `requester`.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Tell {
    requester: ActorAddress,
    request_msg: String,
}

/// Lives where there are trees; creates JarJars and Guests with requirements.
#[derive(Default)]
struct Ewok;

#[actor(require_capability = "Trees")]
impl Ewok {
    #[handler]
    fn text(&mut self, msg: String, cx: &mut Context<'_>) {
        let requester = cx.sender();
        match msg.as_str() {
            "Greet JarJar" => {
                let jarjar = cx.create_actor_with::<JarJar>(ActorOptions::new().requirement("WantsToSee", "Trees"));
                cx.send(&jarjar, Tell { requester, request_msg: "Trees".into() });
            }
            "Freeze JarJar" => {
                let options = ActorOptions::new().requirements([("WantsToSee", "Snow"), ("Has", "A fur coat?")]);
                let jarjar = cx.create_actor_with::<JarJar>(options);
                cx.send(&jarjar, Tell { requester, request_msg: "Snow".into() });
            }
            "Greet Guest" => {
                let guest = cx.create_actor_with::<Guest>(ActorOptions::new().requirement("Invited to", "Trees"));
                cx.send(&guest, Tell { requester, request_msg: "Trees".into() });
            }
            "Snub Guest" => {
                let guest = cx.create_actor::<Guest>();
                cx.send(&guest, Tell { requester, request_msg: "nothing".into() });
            }
            other => cx.reply(format!("We cook {other} for dinner")),
        }
    }

    /// A `Tell` that came back: its child was never created. The requester hears why.
    #[handler]
    fn poisoned(&mut self, msg: PoisonMessage, cx: &mut Context<'_>) {
        if let Some(tell) = msg.message.as_ref().and_then(|m| m.downcast_ref::<Tell>()) {
            cx.send(&tell.requester, format!("No {}: {}", tell.request_msg, msg.details));
        }
    }
}

fn jarjar_check(capabilities: &Capabilities, requirements: &Requirements) -> bool {
    let wants = requirements.get("WantsToSee").and_then(Value::as_str).unwrap_or("None");
    capabilities.is_truthy("Ocean") || capabilities.is_truthy(wants)
}

/// Lives by the ocean, or wherever its requirements say it wants to be.
#[derive(Default)]
struct JarJar;

#[actor(capability_check = jarjar_check)]
impl JarJar {
    #[handler]
    fn text(&mut self, msg: String) -> String {
        format!("{msg}?  How rude!")
    }

    #[handler]
    fn tell(&mut self, msg: Tell, cx: &mut Context<'_>) {
        cx.send(&msg.requester, format!("{}?  Huh?", msg.request_msg));
    }
}

/// Must be created with an "Invited to" requirement: its check panics without one, as the
/// original's raises a `KeyError` (`deliberate`).
fn guest_check(capabilities: &Capabilities, requirements: &Requirements) -> bool {
    let place = requirements.get("Invited to").and_then(Value::as_str).expect("a deliberate panic: a guest is invited");
    capabilities.is_truthy(place)
}

#[derive(Default)]
struct Guest;

#[actor(capability_check = guest_check)]
impl Guest {
    #[handler]
    fn text(&mut self, msg: String) -> String {
        format!("Thank you for {msg}")
    }

    #[handler]
    fn tell(&mut self, msg: Tell, cx: &mut Context<'_>) {
        cx.send(&msg.requester, format!("Thanks for the {}", msg.request_msg));
    }
}

conformance! {
    /// test06_primaryActorRequirements: requirements given at the top level place the actor; when
    /// the capability the requirement names goes, the actor stops (its requirements are kept and
    /// checked again); requirements no capability meets are refused.
    fn test06_primary_actor_requirements(system) {
        set(system, "Ocean", Some(true));
        let jarjar = system.create_actor::<JarJar>().unwrap();
        assert_eq!(ask_str(system, &jarjar, "hi"), "hi?  How rude!");
        set(system, "Ocean", None);
        assert!(gone(system, jarjar.address()));
        set(system, "Trees", Some(true));
        let options = ActorOptions::new().requirements([("WantsToSee", "Trees"), ("TravellingWith", "ObiWan")]);
        let jarjar = system.create_actor_with::<JarJar>(options).unwrap();
        assert_eq!(ask_str(system, &jarjar, "hiya"), "hiya?  How rude!");
        set(system, "Trees", None);
        assert!(gone(system, jarjar.address()));
        assert_refused(system.create_actor_with::<JarJar>(ActorOptions::new().requirement("WantsToSee", "Trees")), "JarJar");
        set(system, "Snow", Some(true));
        let jarjar = system.create_actor_with::<JarJar>(ActorOptions::new().requirement("WantsToSee", "Snow")).unwrap();
        assert_eq!(ask_str(system, &jarjar, "hi you"), "hi you?  How rude!");
    }

    /// test07_subActorRequirements: an actor passes requirements to the actors it creates; one the
    /// system cannot host is refused, and the creator learns it from the poison.
    fn test07_sub_actor_requirements(system) {
        set(system, "Trees", Some(true));
        assert_refused(system.create_actor::<JarJar>(), "JarJar");
        let ewok = system.create_actor::<Ewok>().unwrap();
        assert_eq!(ask_str(system, &ewok, "beans"), "We cook beans for dinner");
        assert_eq!(ask_str(system, &ewok, "Greet JarJar"), "Trees?  Huh?");
        let reply = ask_str(system, &ewok, "Freeze JarJar");
        assert!(reply.starts_with("No Snow: Child Aborted: actor `"), "{reply}");
        assert!(reply.contains("jarjar_check"), "{reply}");
        set(system, "Snow", Some(true));
        assert_eq!(ask_str(system, &ewok, "Freeze JarJar"), "Snow?  Huh?");
    }

    /// test08_requiredRequirementsNotPassedFails: a check that panics without the requirement it
    /// reads fails closed — the actor is refused, the runtime does not panic.
    fn test08_a_required_requirement_left_out_fails(system) {
        let _quiet = QuietPanics::install();
        set(system, "Ocean", Some(true));
        match system.create_actor::<Guest>() {
            Err(Error::NoCompatibleSystem { reason, .. }) => {
                assert!(reason.contains("`guest_check` panicked"), "{reason}");
            }
            other => panic!("expected Error::NoCompatibleSystem, got {other:?}"),
        }
        // From inside an actor, too: the requester hears why; the Ewok goes on.
        set(system, "Trees", Some(true));
        let ewok = system.create_actor::<Ewok>().unwrap();
        let reply = ask_str(system, &ewok, "Snub Guest");
        assert!(reply.starts_with("No nothing: Child Aborted") && reply.contains("panicked"), "{reply}");
        assert_eq!(ask_str(system, &ewok, "beans"), "We cook beans for dinner");
    }

    /// test09_requiredRequirementsPassedToTopLevelSucceeds, by type and by name.
    fn test09_required_requirements_passed_at_the_top_level(system) {
        set(system, "Ocean", Some(true));
        let invited = || ActorOptions::new().requirement("Invited to", "Ocean");
        let guest = system.create_actor_with::<Guest>(invited()).unwrap();
        assert_eq!(ask_str(system, &guest, "the seashell"), "Thank you for the seashell");
        let by_name = system.create_actor_by_name(<Guest as thespian::ActorType>::WIRE_NAME, invited()).unwrap();
        assert_eq!(ask_str(system, &by_name, "the sand"), "Thank you for the sand");
        let elsewhere = ActorOptions::new().requirement("Invited to", "Trees");
        assert_refused(system.create_actor_with::<Guest>(elsewhere), "Guest");
    }

    /// test10_requiredRequirementsPassedViaSubLevelSucceeds.
    fn test10_required_requirements_passed_by_a_sub_actor(system) {
        set(system, "Trees", Some(true));
        let ewok = system.create_actor::<Ewok>().unwrap();
        assert_eq!(ask_str(system, &ewok, "beans"), "We cook beans for dinner");
        assert_eq!(ask_str(system, &ewok, "Greet Guest"), "Thanks for the Trees");
    }

    /// A capability of another type than the one required fails closed, with the reason.
    fn a_capability_of_an_unexpected_type_fails_closed(system) {
        system.update_capability("cores", Some("eight".into())).unwrap();
        system.update_capability("ratio", Some((-0.5).into())).unwrap();
        system.update_capability("fast", Some(true.into())).unwrap();
        match system.create_actor::<Numbers>() {
            Err(Error::NoCompatibleSystem { reason, .. }) => {
                assert_eq!(reason, "capability `cores` is \"eight\", where a number (8) is required");
            }
            other => panic!("expected Error::NoCompatibleSystem, got {other:?}"),
        }
        system.update_capability("cores", Some(8.into())).unwrap();
        let numbers = system.create_actor::<Numbers>().unwrap();
        // Changed to a value of another type, the capability no longer hosts the actor.
        system.update_capability("fast", Some("yes".into())).unwrap();
        assert!(gone(system, numbers.address()));
    }

    /// Requirements reach a troupe's check, and a troupe whose capability goes stops with its
    /// workers.
    fn a_troupe_follows_its_check(system) {
        assert_refused(system.create_actor::<Choir>(), "Choir");
        set(system, "Stage", Some(true));
        let choir = system.create_actor::<Choir>().unwrap();
        assert_eq!(ask_str(system, &choir, "la"), "la la");
        set(system, "Stage", None);
        assert!(gone(system, choir.address()));
        assert_eq!(system.stats().actors, 0);
    }
}

/// A troupe that needs a stage.
#[derive(Default)]
struct Choir;

#[actor(troupe(max_count = 2), require_capability = "Stage")]
impl Choir {
    #[handler]
    fn sing(&mut self, msg: String) -> String {
        format!("{msg} {msg}")
    }
}
