//! Actor lifecycle on every in-process base: exit requests, children stopped first, the parent
//! told, shutdown, failures contained, and the handler's `Context`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use thespian::prelude::*;

const BASES: [SystemBase; 2] = [SystemBase::Simple, SystemBase::Threaded];
const LONG: Duration = Duration::from_secs(10);

type Log = Arc<Mutex<Vec<String>>>;

fn each_base(test: impl Fn(ActorSystem)) {
    for base in BASES {
        let system = ActorSystem::with_base(base).unwrap();
        test(system.clone());
        system.shutdown().unwrap();
    }
}

/// Waits until `cond` holds (immediately true on Simple, where everything has run already).
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + LONG;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Spawn(u32);

#[derive(Debug, Serialize, Deserialize, Message)]
struct Children;

/// A tree node that logs its exit and its children's exits.
struct Node {
    name: String,
    log: Log,
}

#[actor(local)]
impl Node {
    #[handler]
    fn spawn(&mut self, Spawn(n): Spawn, cx: &mut Context<'_>) -> Vec<u8> {
        for i in 0..n {
            let child = cx.create_actor_from(Node { name: format!("{}.{i}", self.name), log: self.log.clone() });
            if n > 1 {
                // Give the first child a child of its own.
                cx.send(&child, Spawn(u32::from(i == 0)));
            }
        }
        vec![]
    }

    #[handler]
    fn children(&mut self, _m: Children, cx: &mut Context<'_>) -> u64 {
        cx.children().len() as u64
    }

    #[handler]
    fn exit_request(&mut self, _m: ActorExitRequest, cx: &mut Context<'_>) {
        self.log.lock().unwrap().push(format!("exit-request {} children={}", self.name, cx.children().len()));
    }

    #[handler]
    fn child_exited(&mut self, _m: ChildActorExited) {
        self.log.lock().unwrap().push(format!("child-exited-to {}", self.name));
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(format!("dropped {}", self.name));
    }
}

fn position(log: &[String], entry: &str) -> usize {
    log.iter().position(|e| e == entry).unwrap_or_else(|| panic!("{entry:?} not in {log:#?}"))
}

#[test]
fn exit_request_reaches_the_handler_then_children_exit_before_the_parent() {
    each_base(|system| {
        let log: Log = Default::default();
        let root = system.create_actor_from(Node { name: "root".into(), log: log.clone() }).unwrap();
        let _: Vec<u8> = system.ask(&root, Spawn(2), LONG).unwrap();
        // On Simple, an ask returns as soon as its reply is in; a tell runs the system until quiet.
        system.tell(&root, Children).unwrap();
        // root has children root.0 and root.1; root.0 has root.0.0.
        eventually("the grandchild exists", || system.stats().actors == 4);
        assert_eq!(system.ask::<u64, _, _>(&root, Children, LONG).unwrap(), 2);

        system.tell(&root, ActorExitRequest::default()).unwrap();
        eventually("every actor has exited", || system.stats().actors == 0);
        eventually("root dropped", || log.lock().unwrap().iter().any(|e| e == "dropped root"));
        let log = log.lock().unwrap().clone();
        // The handler runs first, while the children are still there.
        assert_eq!(log[0], "exit-request root children=2", "{log:#?}");
        // Every descendant is gone before its parent.
        assert!(position(&log, "dropped root.0.0") < position(&log, "dropped root.0"), "{log:#?}");
        assert!(position(&log, "dropped root.0") < position(&log, "dropped root"), "{log:#?}");
        assert!(position(&log, "dropped root.1") < position(&log, "dropped root"), "{log:#?}");
        // The parents heard of each child's exit: root twice, root.0 once.
        assert_eq!(log.iter().filter(|e| *e == "child-exited-to root").count(), 2, "{log:#?}");
        assert_eq!(log.iter().filter(|e| *e == "child-exited-to root.0").count(), 1, "{log:#?}");
    });
}

#[test]
fn shutdown_stops_every_actor_children_first() {
    for base in BASES {
        let system = ActorSystem::with_base(base).unwrap();
        let log: Log = Default::default();
        for name in ["a", "b"] {
            let top = system.create_actor_from(Node { name: name.into(), log: log.clone() }).unwrap();
            let _: Vec<u8> = system.ask(&top, Spawn(2), LONG).unwrap();
            system.tell(&top, Children).unwrap();
        }
        eventually("all eight actors exist", || system.stats().actors == 8);
        system.shutdown().unwrap();
        let log = log.lock().unwrap().clone();
        for name in ["a", "b"] {
            assert!(log.contains(&format!("exit-request {name} children=2")), "{base:?}: {log:#?}");
            assert!(position(&log, &format!("dropped {name}.0.0")) < position(&log, &format!("dropped {name}.0")));
            assert!(position(&log, &format!("dropped {name}.0")) < position(&log, &format!("dropped {name}")));
        }
        assert_eq!(log.iter().filter(|e| e.starts_with("dropped")).count(), 8, "{base:?}: {log:#?}");
        assert!(matches!(system.create_actor::<Probe>(), Err(Error::ShutDown(_))));
        system.shutdown().unwrap(); // a second shutdown is fine
    }
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct WhoAmI;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Identity {
    me: ActorAddress,
    parent: ActorAddress,
    sender: ActorAddress,
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct MakeChildAndAsk;

#[derive(Debug, Serialize, Deserialize, Message)]
struct LeaveNow;

#[derive(Default)]
struct Probe {
    seen_unknown: Vec<String>,
}

#[actor]
impl Probe {
    #[handler]
    fn who(&mut self, _m: WhoAmI, sender: ActorAddress, cx: &mut Context<'_>) -> Identity {
        Identity { me: cx.my_address().clone(), parent: cx.parent().clone(), sender }
    }

    #[handler]
    async fn make_child_and_ask(&mut self, _m: MakeChildAndAsk, cx: &mut Context<'_>) -> Result<Identity, Error> {
        let child = cx.create_actor::<Probe>();
        cx.ask(&child, WhoAmI, LONG).await
    }

    #[handler]
    fn leave(&mut self, _m: LeaveNow, cx: &mut Context<'_>) -> String {
        cx.exit();
        "leaving".into()
    }

    #[handler(fallback)]
    fn unknown(&mut self, msg: Box<dyn Message>) -> Option<String> {
        self.seen_unknown.push(msg.wire_name().to_owned());
        msg.downcast_ref::<u16>().map(|_| self.seen_unknown.join(","))
    }
}

#[test]
fn context_gives_my_address_parent_and_sender() {
    each_base(|system| {
        let probe = system.create_actor::<Probe>().unwrap();
        let id: Identity = system.ask(&probe, WhoAmI, LONG).unwrap();
        assert_eq!(id.me, probe);
        assert_ne!(id.parent, id.me, "a top-level actor's parent is the system");
        assert_ne!(id.sender, id.me);
    });
}

#[test]
fn an_async_handler_can_ask_on_threaded_and_gets_a_clear_error_on_simple() {
    each_base(|system| {
        let probe = system.create_actor::<Probe>().unwrap();
        let result = system.ask::<Identity, _, _>(&probe, MakeChildAndAsk, LONG);
        match system.base() {
            SystemBase::Threaded => {
                let id = result.unwrap();
                assert_eq!(id.parent, probe, "the child's parent is the asking actor");
                assert_eq!(id.sender.node(), probe.address().node());
            }
            _ => {
                let err = result.unwrap_err();
                assert!(matches!(&err, Error::Poison { details, .. } if details.contains("Simple")), "{err:?}");
            }
        }
    });
}

#[test]
fn exit_from_a_handler_replies_then_stops() {
    each_base(|system| {
        let probe = system.create_actor::<Probe>().unwrap();
        let reply: String = system.ask(&probe, LeaveNow, LONG).unwrap();
        assert_eq!(reply, "leaving");
        eventually("the actor has exited", || system.stats().actors == 0);
        assert!(matches!(system.ask::<Identity, _, _>(&probe, WhoAmI, LONG), Err(Error::DeadTarget(_))));
    });
}

#[test]
fn the_fallback_handler_gets_unrecognised_messages() {
    each_base(|system| {
        let probe = system.create_actor::<Probe>().unwrap();
        system.tell(&probe, 1.5f32).unwrap();
        system.tell(&probe, "text").unwrap();
        let seen: String = system.ask(&probe, 7u16, LONG).unwrap();
        assert_eq!(seen, "f32,String,u16");
        assert_eq!(system.stats().unhandled, 0);
    });
}

/// A child whose constructor panics.
#[derive(Debug)]
struct NonStarter;

impl Default for NonStarter {
    fn default() -> Self {
        panic!("refusing to start")
    }
}

#[actor]
impl NonStarter {
    #[handler]
    fn any(&mut self, _m: String) -> String {
        unreachable!("never started")
    }
}

#[derive(Default)]
struct Parent {
    child: Option<ActorAddress>,
    exited: Vec<ActorAddress>,
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct HaveASon;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Report;

#[actor]
impl Parent {
    #[handler]
    fn have_a_son(&mut self, _m: HaveASon, cx: &mut Context<'_>) -> ActorAddress {
        let child: ActorAddress = cx.create_actor::<NonStarter>().into();
        cx.send(&child, "are you there?");
        self.child = Some(child.clone());
        child
    }

    #[handler]
    fn child_exited(&mut self, msg: ChildActorExited) {
        self.exited.push(msg.child);
    }

    #[handler]
    fn report(&mut self, _m: Report) -> Vec<u8> {
        vec![u8::from(self.child.is_some() && self.exited == [self.child.clone().unwrap()])]
    }
}

#[test]
fn a_child_whose_constructor_panics_is_reported_to_its_parent() {
    each_base(|system| {
        let parent = system.create_actor::<Parent>().unwrap();
        let child: ActorAddress = system.ask(&parent, HaveASon, LONG).unwrap();
        eventually("the parent heard of the exit", || {
            system.ask::<Vec<u8>, _, _>(&parent, Report, LONG).unwrap() == [1]
        });
        // Messages to the child that never started are dead letters; asks fail at once.
        assert!(system.stats().dead_letters >= 1);
        assert!(matches!(system.ask::<String, _, _>(&child, "hello?", LONG), Err(Error::DeadTarget(_))));
    });
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Slow;

#[derive(Default)]
struct Sleeper;

#[actor]
impl Sleeper {
    #[handler]
    fn slow(&mut self, _m: Slow) {
        std::thread::sleep(Duration::from_millis(50));
    }

    #[handler]
    fn answer(&mut self, n: u32) -> u32 {
        n
    }
}

#[test]
fn mail_queued_behind_an_exit_becomes_dead_letters() {
    each_base(|system| {
        let sleeper = system.create_actor::<Sleeper>().unwrap();
        system.tell(&sleeper, Slow).unwrap();
        system.tell(&sleeper, ActorExitRequest::default()).unwrap();
        for n in 0..3u32 {
            system.tell(&sleeper, n).unwrap();
        }
        eventually("the actor has exited", || system.stats().actors == 0);
        eventually("three dead letters", || system.stats().dead_letters == 3);
        assert_eq!(system.stats().unhandled, 0);
    });
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Crash;

#[derive(Default)]
struct Fragile {
    handled: u32,
}

#[actor]
impl Fragile {
    #[handler]
    fn crash(&mut self, _m: Crash) {
        self.handled += 1;
        panic!("fragile actor crashed");
    }

    #[handler]
    async fn crash_async(&mut self, _m: u64) {
        self.handled += 1;
        tokio_free_yield().await;
        panic!("async crash");
    }

    #[handler]
    fn count(&mut self, _m: u32) -> u32 {
        self.handled
    }
}

/// Yields once without needing any particular runtime.
async fn tokio_free_yield() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[test]
fn panics_never_escape_and_other_actors_keep_running() {
    each_base(|system| {
        let fragile = system.create_actor::<Fragile>().unwrap();
        let bystander = system.create_actor::<Sleeper>().unwrap();
        for _ in 0..3 {
            system.tell(&fragile, Crash).unwrap();
            system.tell(&fragile, 9u64).unwrap();
        }
        assert_eq!(system.ask::<u32, _, _>(&fragile, 0u32, LONG).unwrap(), 6, "state survives panics");
        assert_eq!(system.ask::<u32, _, _>(&bystander, 5u32, LONG).unwrap(), 5);
        let err = system.ask::<(), _, _>(&fragile, 1u64, LONG).unwrap_err();
        assert!(matches!(&err, Error::Poison { details, .. } if details.contains("async crash")), "{err:?}");
    });
}

#[test]
fn the_simple_base_gives_the_same_trace_every_run() {
    let trace = || {
        let system = ActorSystem::new().unwrap();
        let log: Log = Default::default();
        for name in ["x", "y"] {
            let top = system.create_actor_from(Node { name: name.into(), log: log.clone() }).unwrap();
            system.tell(&top, Spawn(3)).unwrap();
        }
        system.shutdown().unwrap();
        log.lock().unwrap().clone()
    };
    let first = trace();
    assert!(first.len() > 10, "{first:#?}");
    for _ in 0..20 {
        assert_eq!(trace(), first);
    }
}
