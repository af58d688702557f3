//! Framework messages always get through, and the rules hold for every handler shape: exits, exit
//! notices, dead letters and wakeups are never refused by a full bounded mailbox (or exits and
//! shutdown would hang, and bounces could loop); an async handler that borrows its message obeys
//! the restart limit like a synchronous one; a stopping troupe does not poison work it finished.
#[macro_use]
mod common;

use std::time::Duration;

use common::{ASK, eventually};
use thespian::prelude::*;

#[derive(Default)]
struct SyncFlaky;

#[actor(on_panic = restart(max = 1, within = "1h"))]
impl SyncFlaky {
    #[handler]
    fn boom(&mut self, _m: &String) {
        panic!("deliberate: sync");
    }

    #[handler]
    fn ping(&mut self, _m: u32) -> u32 {
        7
    }
}

#[derive(Default)]
struct AsyncFlaky;

#[actor(on_panic = restart(max = 1, within = "1h"))]
impl AsyncFlaky {
    #[handler]
    async fn boom(&mut self, _m: &String) {
        panic!("deliberate: async");
    }

    #[handler]
    fn ping(&mut self, _m: u32) -> u32 {
        7
    }
}

#[derive(Default)]
struct Child;

#[actor]
impl Child {
    #[handler]
    fn any(&mut self, _m: String) {}
}

#[derive(Default)]
struct Parent;

#[actor]
impl Parent {
    #[handler]
    fn spawn(&mut self, _m: String, cx: &mut Context<'_>) -> ActorAddress {
        cx.create_actor::<Child>().into_address()
    }

    #[handler]
    fn filler(&mut self, _m: u32) {}
}

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Kick {
    child: ActorAddress,
    parent: ActorAddress,
}

#[derive(Default)]
struct Trigger;

#[actor]
impl Trigger {
    #[handler]
    fn kick(&mut self, k: Kick, cx: &mut Context<'_>) {
        cx.send(&k.child, ActorExitRequest::default());
        // Fills the parent's mailbox (capacity 1) just before the child's exit notice arrives.
        cx.send(&k.parent, 1u32);
    }
}

#[derive(Default)]
struct DeadLetterSink {
    seen: u32,
}

#[actor]
impl DeadLetterSink {
    #[handler]
    fn register(&mut self, _m: String, cx: &mut Context<'_>) -> u32 {
        cx.handle_dead_letters(true);
        1
    }

    #[handler]
    fn dead(&mut self, _m: DeadEnvelope) {
        self.seen += 1;
    }

    #[handler]
    fn seen(&mut self, _m: u64) -> u32 {
        self.seen
    }
}

#[derive(Default)]
struct SelfWaker {
    woke: u32,
}

#[actor]
impl SelfWaker {
    #[handler]
    fn go(&mut self, _m: String, cx: &mut Context<'_>) {
        let me = cx.my_address().clone();
        cx.send(&me, 1u32); // fills capacity 1
        cx.wakeup_after(Duration::ZERO, ());
    }

    #[handler]
    fn filler(&mut self, _m: u32) {}

    #[handler]
    fn woke(&mut self, _m: WakeupMessage) {
        self.woke += 1;
    }

    #[handler]
    fn count(&mut self, _m: u64) -> u32 {
        self.woke
    }
}

#[derive(Default)]
struct Hive;

#[actor(troupe(max_count = 2, idle_count = 1))]
impl Hive {
    #[handler]
    fn work(&mut self, n: u32) -> u32 {
        n + 1
    }
}

#[derive(Default)]
struct Client {
    replies: u32,
    poisons: u32,
}

#[actor]
impl Client {
    #[handler]
    fn start(&mut self, hive: ActorAddress, cx: &mut Context<'_>) {
        cx.send(&hive, 5u32);
        cx.send(&hive, ActorExitRequest::default());
    }

    #[handler]
    fn reply(&mut self, _n: u32) {
        self.replies += 1;
    }

    #[handler]
    fn poison(&mut self, _p: PoisonMessage) {
        self.poisons += 1;
    }

    #[handler]
    fn count(&mut self, _m: String) -> Pair {
        Pair(self.replies, self.poisons)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Message)]
struct Pair(u32, u32);

conformance! {
    /// Past the restart limit an actor stops, whether the handler that panicked is sync or async.
    fn the_restart_limit_holds_for_async_handlers_that_borrow(system) {
        let sync = system.create_actor::<SyncFlaky>().unwrap();
        let asynchronous = system.create_actor::<AsyncFlaky>().unwrap();
        // Two panics (the attempt and its retry) with one restart allowed: the actor stops.
        assert!(matches!(system.ask::<u32, _, _>(&sync, "x".to_string(), ASK), Err(Error::Poison { .. })));
        assert!(matches!(system.ask::<u32, _, _>(&asynchronous, "x".to_string(), ASK), Err(Error::Poison { .. })));
        assert!(eventually(ASK, || system.stats().actors == 0), "both actors stop");
        assert!(system.ask::<u32, _, _>(&asynchronous, 0u32, ASK).is_err());
    }

    /// An exit notice gets into a parent's full bounded mailbox, so the parent can still exit.
    fn an_exit_notice_reaches_a_full_bounded_parent(system) {
        let parent = system.create_actor_with::<Parent>(ActorOptions::new().mailbox(1, Overflow::Reject)).unwrap();
        let child: ActorAddress = system.ask(&parent, "spawn".to_string(), ASK).unwrap();
        let trigger = system.create_actor::<Trigger>().unwrap();
        system.tell(&trigger, Kick { child, parent: parent.address().clone() }).unwrap();
        assert!(eventually(ASK, || system.status(&parent, ASK).unwrap().children.is_empty()));
        system.tell(&parent, ActorExitRequest::default()).unwrap();
        assert!(eventually(ASK, || system.stats().actors == 1), "only the trigger is left");
    }

    /// A dead-letter handler with a full bounded mailbox still gets every dead letter, and no
    /// bounce loops.
    fn dead_letters_reach_a_bounded_handler(system) {
        let sink =
            system.create_actor_with::<DeadLetterSink>(ActorOptions::new().mailbox(1, Overflow::Reject)).unwrap();
        let _: u32 = system.ask(&sink, "register".to_string(), ASK).unwrap();
        let gone = system.create_actor::<Child>().unwrap();
        system.tell(&gone, ActorExitRequest::default()).unwrap();
        assert!(eventually(ASK, || system.stats().actors == 1));
        for i in 0..20 {
            system.tell(&gone, format!("dead {i}")).unwrap();
        }
        // An ask may find the bounded mailbox full meanwhile (`MailboxFull`): ask again.
        assert!(eventually(ASK, || system.ask::<u32, _, _>(&sink, 0u64, ASK).is_ok_and(|n| n == 20)));
        assert_eq!(system.stats().dead_letters, 20);
    }

    /// A zero-delay wakeup is not refused by the actor's own full mailbox.
    fn a_zero_delay_wakeup_gets_into_a_full_mailbox(system) {
        let waker = system.create_actor_with::<SelfWaker>(ActorOptions::new().mailbox(1, Overflow::Reject)).unwrap();
        system.tell(&waker, "go".to_string()).unwrap();
        assert!(eventually(ASK, || system.ask::<u32, _, _>(&waker, 0u64, ASK).is_ok_and(|n| n == 1)));
        assert_eq!(system.status(&waker, ASK).unwrap().pending_wakeups, 0);
        assert_eq!(system.stats().dead_letters, 0);
    }

    /// A troupe told to exit right after some work replies to it and does not also poison it.
    fn a_stopping_troupe_does_not_poison_finished_work(system) {
        let hive = system.create_actor::<Hive>().unwrap();
        let client = system.create_actor::<Client>().unwrap();
        system.tell(&client, hive.address().clone()).unwrap();
        assert!(eventually(ASK, || system.ask::<Pair, _, _>(&client, "count".to_string(), ASK).unwrap().0 == 1));
        assert!(eventually(ASK, || system.stats().actors == 1), "the troupe and its workers are gone");
        let Pair(replies, poisons) = system.ask(&client, "count".to_string(), ASK).unwrap();
        assert_eq!((replies, poisons), (1, 0));
    }
}

#[derive(Default)]
struct Napper;

#[actor]
impl Napper {
    #[handler]
    fn nap(&mut self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Shutdown's exit request gets into a full bounded mailbox (Threaded: the only base where a
/// mailbox can be full while the caller waits).
#[test]
fn shutdown_reaches_an_actor_with_a_full_mailbox() {
    let system =
        ActorSystem::builder().base(SystemBase::Threaded).shutdown_timeout(Duration::from_secs(20)).build().unwrap();
    let napper = system.create_actor_with::<Napper>(ActorOptions::new().mailbox(1, Overflow::Reject)).unwrap();
    system.tell(&napper, 200u64).unwrap();
    // Queued behind the nap, or refused: either way the mailbox is full or busy when shutdown asks.
    let _ = system.tell(&napper, 1u64);
    let _ = system.tell(&napper, 1u64);
    assert!(system.shutdown().is_ok());
    assert_eq!(system.stats().actors, 0);
}

#[derive(Default)]
struct Sleeper {
    woke: u32,
}

#[actor]
impl Sleeper {
    #[handler]
    fn nap(&mut self, _m: bool, cx: &mut Context<'_>) {
        cx.wakeup_after(Duration::from_millis(5), ());
    }

    #[handler]
    fn woke(&mut self, _m: WakeupMessage) {
        self.woke += 1;
    }

    #[handler]
    fn count(&mut self, _m: u32) -> u32 {
        self.woke
    }
}

/// On `Simple`, a wakeup that came due in real time is delivered by the next outside calls, even
/// asks whose reply comes at once.
#[test]
fn simple_delivers_timers_due_in_real_time_during_asks() {
    let system = ActorSystem::new().unwrap();
    let sleeper = system.create_actor::<Sleeper>().unwrap();
    system.tell(&sleeper, true).unwrap();
    std::thread::sleep(Duration::from_millis(10));
    assert!(eventually(ASK, || system.ask::<u32, _, _>(&sleeper, 0u32, ASK).unwrap() == 1));
}
