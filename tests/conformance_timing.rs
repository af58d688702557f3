//! Conformance: the timing tests of the original Thespian suite — `test_wakeup.py`,
//! `test_transient.py`, `test_initmsgs.py` and `test_troupe.py` — one module per original file,
//! one scenario per original test (plus a few that pin down what the originals only imply), each
//! run on every system base.
//!
//! Time is handled without speed claims. On `Simple`, `let_time_pass` moves the system's clock
//! exactly; on `Threaded` it sleeps, and results are awaited with `eventually`. A check that
//! something has *not happened yet* is made only when the test can prove, from its own
//! measurements, that the system's clock cannot have reached the time it would happen (see
//! [`Timeline`]); a check that something *has* happened waits as long as it takes.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::{ASK, eventually, let_time_pass};
use thespian::prelude::*;
use thespian::{TroupeSettings, TroupeStatus, TroupeStatusRequest, UpdateTroupeSettings};

/// How long to wait for a message that must never come.
const NOTHING: Duration = Duration::from_millis(50);

/// The system's clock as the test knows it: real time, plus what `let_time_pass` moved the
/// `Simple` base's clock forward (its clock follows real time too).
///
/// [`since`](Self::since) is an upper bound on how far the system's clock has moved since a
/// [`Mark`]: a mark taken before a message is sent, compared after its answer came back, proves
/// that the answer was given less than that long after the message was sent.
struct Timeline<'a> {
    system: &'a ActorSystem,
    advanced: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    real: Instant,
    advanced: Duration,
}

impl<'a> Timeline<'a> {
    fn new(system: &'a ActorSystem) -> Self {
        Timeline { system, advanced: Duration::ZERO }
    }

    fn mark(&self) -> Mark {
        Mark { real: Instant::now(), advanced: self.advanced }
    }

    /// Lets `d` pass for the system's timers (Simple: the clock moves; Threaded: the test sleeps).
    fn pass(&mut self, d: Duration) {
        let_time_pass(self.system, d);
        if self.system.base() == SystemBase::Simple {
            self.advanced += d;
        }
    }

    /// At most this much time has passed on the system's clock since `mark`.
    fn since(&self, mark: Mark) -> Duration {
        mark.real.elapsed() + (self.advanced - mark.advanced)
    }
}

/// `thespian/test/test_wakeup.py`: `wakeupAfter` (period 65 ms, as in the original).
mod test_wakeup {
    use super::*;

    const PERIOD: Duration = Duration::from_millis(65);
    /// The original's `sleepPartOfWakeupPeriod`.
    const PART: Duration = Duration::from_millis(5);

    /// `'check'` / `('check', payload)`: ask for a wakeup after the period.
    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Check(Option<String>);

    /// `'awoken?'` / `('awoken?', payload)`: how many wakeups with that payload arrived.
    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Awoken(Option<String>);

    /// The original's `RetryActor`: counts wakeups per payload (`None`, `"payload_1"` and `""` are
    /// distinct keys).
    #[derive(Default)]
    struct RetryActor {
        wakeups: HashMap<Option<String>, u32>,
    }

    #[actor]
    impl RetryActor {
        #[handler]
        fn check(&mut self, Check(payload): Check, cx: &mut Context<'_>) {
            match payload {
                None => cx.wakeup_after(PERIOD, ()),
                Some(payload) => cx.wakeup_after(PERIOD, payload),
            }
        }

        #[handler]
        fn woke(&mut self, msg: WakeupMessage) {
            let payload = msg.payload.as_deref().map(|p| p.downcast_ref::<String>().expect("a String payload").clone());
            *self.wakeups.entry(payload).or_default() += 1;
        }

        #[handler]
        fn awoken(&mut self, Awoken(payload): Awoken) -> u32 {
            self.wakeups.get(&payload).copied().unwrap_or(0)
        }
    }

    fn check(system: &ActorSystem, waiter: &Addr<RetryActor>, payload: Option<&str>) {
        system.tell(waiter, Check(payload.map(str::to_owned))).expect("tell works");
    }

    fn awoken(system: &ActorSystem, waiter: &Addr<RetryActor>, payload: Option<&str>) -> u32 {
        system.ask(waiter, Awoken(payload.map(str::to_owned)), ASK).expect("the RetryActor answers")
    }

    /// Right after checks sent after `mark`: their wakeups have not arrived, so the count is still
    /// `before` — asserted when the answer provably came before the period could have run out.
    fn none_yet(tl: &Timeline<'_>, mark: Mark, waiter: &Addr<RetryActor>, payload: Option<&str>, before: u32) {
        let n = awoken(tl.system, waiter, payload);
        if tl.since(mark) < PERIOD {
            assert_eq!(n, before, "a wakeup with payload {payload:?} arrived before its period");
        }
    }

    /// Lets the period pass and waits until `payload` has been counted at least `n` times.
    fn wait_for(tl: &mut Timeline<'_>, waiter: &Addr<RetryActor>, payload: Option<&str>, n: u32) {
        tl.pass(PERIOD);
        let system = tl.system;
        assert!(
            eventually(ASK, || awoken(system, waiter, payload) >= n),
            "expected {n} wakeup(s) with payload {payload:?}, got {}",
            awoken(system, waiter, payload)
        );
    }

    /// Lets the period pass, waits for every expected count, then lets more time pass and checks
    /// that the counts are exact (each wakeup arrives exactly once).
    fn settle(tl: &mut Timeline<'_>, waiter: &Addr<RetryActor>, expected: &[(Option<&str>, u32)]) {
        for &(payload, n) in expected {
            if n > 0 {
                wait_for(tl, waiter, payload, n);
            }
        }
        tl.pass(PERIOD);
        for &(payload, n) in expected {
            assert_eq!(awoken(tl.system, waiter, payload), n, "wakeups with payload {payload:?}");
        }
    }

    conformance! {
        /// No wakeup before the period, exactly one after it.
        fn test_one_wakeup(system) {
            let waiter = system.create_actor::<RetryActor>().unwrap();
            let mut tl = Timeline::new(system);
            assert_eq!(awoken(system, &waiter, None), 0);
            assert_eq!(awoken(system, &waiter, None), 0);

            let mark = tl.mark();
            check(system, &waiter, None);
            none_yet(&tl, mark, &waiter, None, 0);

            settle(&mut tl, &waiter, &[(None, 1)]);
        }

        /// Wakeups are counted per payload: one with `payload_1`, later one with `payload_2`.
        fn test_two_wakeups_different_payloads(system) {
            let waiter = system.create_actor::<RetryActor>().unwrap();
            let mut tl = Timeline::new(system);
            assert_eq!(awoken(system, &waiter, None), 0);
            assert_eq!(awoken(system, &waiter, Some("payload_1")), 0);
            assert_eq!(awoken(system, &waiter, Some("payload_2")), 0);

            let mark = tl.mark();
            check(system, &waiter, Some("payload_1"));
            none_yet(&tl, mark, &waiter, Some("payload_1"), 0);

            settle(&mut tl, &waiter, &[(None, 0), (Some("payload_1"), 1), (Some("payload_2"), 0)]);

            check(system, &waiter, Some("payload_2"));
            settle(&mut tl, &waiter, &[(None, 0), (Some("payload_1"), 1), (Some("payload_2"), 1)]);
        }

        /// No payload, `payload_1` and the empty string `""` are three distinct payloads.
        fn test_three_wakeups_different_payloads(system) {
            let waiter = system.create_actor::<RetryActor>().unwrap();
            let mut tl = Timeline::new(system);
            assert_eq!(awoken(system, &waiter, None), 0);
            assert_eq!(awoken(system, &waiter, Some("payload_1")), 0);
            assert_eq!(awoken(system, &waiter, Some("")), 0);

            let mark = tl.mark();
            check(system, &waiter, Some("payload_1"));
            none_yet(&tl, mark, &waiter, Some("payload_1"), 0);

            settle(&mut tl, &waiter, &[(None, 0), (Some("payload_1"), 1), (Some(""), 0)]);

            check(system, &waiter, Some(""));
            tl.pass(PART);
            check(system, &waiter, None);

            settle(&mut tl, &waiter, &[(None, 1), (Some("payload_1"), 1), (Some(""), 1)]);
        }

        /// Sequential checks accumulate: 1, then 2, then 3.
        fn test_three_wakeups_in_sequence(system) {
            let waiter = system.create_actor::<RetryActor>().unwrap();
            let mut tl = Timeline::new(system);
            assert_eq!(awoken(system, &waiter, None), 0);

            let mark = tl.mark();
            check(system, &waiter, None);
            none_yet(&tl, mark, &waiter, None, 0);
            wait_for(&mut tl, &waiter, None, 1);
            assert_eq!(awoken(system, &waiter, None), 1);

            let mark = tl.mark();
            check(system, &waiter, None);
            none_yet(&tl, mark, &waiter, None, 1);
            wait_for(&mut tl, &waiter, None, 2);

            let mark = tl.mark();
            check(system, &waiter, None);
            none_yet(&tl, mark, &waiter, None, 2);

            settle(&mut tl, &waiter, &[(None, 3)]);
        }

        /// Two checks in quick succession give two wakeups; three more, staggered by 5 ms, give 5.
        fn test_multiple_wakeups_pending(system) {
            let waiter = system.create_actor::<RetryActor>().unwrap();
            let mut tl = Timeline::new(system);
            assert_eq!(awoken(system, &waiter, None), 0);

            let mark = tl.mark();
            check(system, &waiter, None);
            check(system, &waiter, None);
            none_yet(&tl, mark, &waiter, None, 0);
            settle(&mut tl, &waiter, &[(None, 2)]);

            check(system, &waiter, None);
            tl.pass(PART);
            check(system, &waiter, None);
            tl.pass(PART);
            check(system, &waiter, None);

            settle(&mut tl, &waiter, &[(None, 5)]);
        }

        /// An `ActorExitRequest` with a wakeup pending: no error, the wakeup is never delivered
        /// (not to the handler, not as a dead letter).
        fn test_exit_with_wakeups_pending(system) [skip_multiproc = "the actor is built from a value that shares state with the test, which stays in the test's process"] {
            let events = Events::default();
            let waiter = system.create_actor_from(Sleeper { events: events.clone() }).unwrap();
            let mut tl = Timeline::new(system);
            assert_eq!(system.ask::<u32, _, _>(&waiter, Awoken(None), ASK).unwrap(), 0);
            let stats = system.stats();

            let mark = tl.mark();
            system.tell(&waiter, Check(None)).unwrap();
            tl.pass(PART);
            system.tell(&waiter, ActorExitRequest::default()).expect("an exit with a wakeup pending is no error");
            assert!(eventually(ASK, || system.stats().actors < stats.actors), "the actor exits");
            let exited_before_due = tl.since(mark) < PERIOD;

            // Well past the wakeup's time.
            tl.pass(PERIOD * 2);
            let seen = events.lock().unwrap().clone();
            let exit = seen.iter().position(|e| *e == "exit").expect("the handler saw the exit request");
            assert_eq!(&seen[exit..], ["exit"], "nothing reaches an actor after its exit: {seen:?}");
            if exited_before_due {
                assert_eq!(seen, ["exit"], "a pending wakeup is discarded with its actor");
            }
            assert_eq!(system.stats().dead_letters, stats.dead_letters, "a discarded wakeup is not a dead letter");
        }

        /// Never early: on Threaded, each wakeup arrives no earlier (by `Instant`) than the time it
        /// was asked for plus its delay; on Simple, after the clock moved the period less 1 ms
        /// nothing has arrived, and after 1 ms more it has. `WakeupMessage.delay` is never
        /// shorter than the delay asked for.
        fn test_wakeup_never_early(system) {
            let real_clock = system.base() != SystemBase::Simple;
            let punctual = system.create_actor::<Punctual>().unwrap();
            let delays = [1u64, 2, 5, 10, 20, 65];
            for (id, ms) in (0u32..).zip(delays) {
                system.tell(&punctual, Nap { id, ms, real_clock }).unwrap();
            }
            let mut tl = Timeline::new(system);
            tl.pass(PERIOD);
            let report = || system.ask::<Naps, _, _>(&punctual, NapReport, ASK).unwrap();
            assert!(eventually(ASK, || report().arrived >= delays.len() as u32), "{:?}", report());
            tl.pass(PERIOD);
            let got = report();
            assert_eq!(got.arrived, delays.len() as u32, "each wakeup arrives once: {got:?}");
            assert_eq!(got.unknown, 0, "every wakeup matches a request, once: {got:?}");
            assert!(got.early.is_empty(), "wakeups arrived before their delay: {got:?}");
            assert!(got.short_delay.is_empty(), "WakeupMessage.delay shorter than asked: {got:?}");

            if system.base() == SystemBase::Simple {
                // The clock also follows real time: an attempt proves "not before the period"
                // only if less than 1 ms of real time went by; retry until one does.
                let mut proven = 0;
                for _ in 0..100 {
                    let sleeper = system.create_actor::<Punctual>().unwrap();
                    let mark = tl.mark();
                    system.tell(&sleeper, Nap { id: 0, ms: PERIOD.as_millis() as u64, real_clock: false }).unwrap();
                    tl.pass(PERIOD - Duration::from_millis(1));
                    let early = system.ask::<Naps, _, _>(&sleeper, NapReport, ASK).unwrap();
                    if tl.since(mark) < PERIOD {
                        assert_eq!(early.arrived, 0, "arrived with 1 ms of its period left");
                        proven += 1;
                    }
                    tl.pass(Duration::from_millis(1));
                    let on_time = system.ask::<Naps, _, _>(&sleeper, NapReport, ASK).unwrap();
                    assert_eq!(on_time.arrived, 1, "due once the full period has passed");
                    assert!(on_time.short_delay.is_empty(), "{on_time:?}");
                    system.tell(&sleeper, ActorExitRequest::default()).unwrap();
                    if proven >= 3 {
                        break;
                    }
                }
                assert!(proven > 0, "no attempt ran in under 1 ms of real time");
            }
        }

        /// A zero delay: the wakeup arrives after the message that asked for it, once.
        fn test_zero_delay_wakeup(system) {
            let kicker = system.create_actor::<Kicker>().unwrap();
            system.tell(&kicker, Kick).unwrap();
            let log = || system.ask::<Log, _, _>(&kicker, GetLog, ASK).unwrap().0;
            assert!(eventually(ASK, || log().len() >= 3), "{:?}", log());
            let mut got = log();
            assert_eq!(got[0], "kick done", "the handler that set the wakeup finishes first: {got:?}");
            got[1..].sort();
            assert_eq!(got, ["kick done", "marker", "wakeup Some(\"zero\")"]);
            let_time_pass(system, PERIOD);
            assert_eq!(log().len(), 3, "the zero-delay wakeup arrives once");
            assert_eq!(system.status(&kicker, ASK).unwrap().pending_wakeups, 0);
        }

        /// `pending_wakeups` in the actor's status goes up with each request and back down as they
        /// arrive.
        fn test_pending_wakeups_in_status(system) {
            let waiter = system.create_actor::<RetryActor>().unwrap();
            let mut tl = Timeline::new(system);
            assert_eq!(system.status(&waiter, ASK).unwrap().pending_wakeups, 0);

            let mark = tl.mark();
            check(system, &waiter, None);
            check(system, &waiter, Some("payload_1"));
            let pending = system.status(&waiter, ASK).unwrap().pending_wakeups;
            if tl.since(mark) < PERIOD {
                assert_eq!(pending, 2, "two wakeups pending");
            } else {
                assert!(pending <= 2, "{pending}");
            }

            tl.pass(PERIOD);
            assert!(eventually(ASK, || system.status(&waiter, ASK).unwrap().pending_wakeups == 0));
            assert_eq!(awoken(system, &waiter, None), 1);
            assert_eq!(awoken(system, &waiter, Some("payload_1")), 1);
        }
    }

    type Events = Arc<Mutex<Vec<&'static str>>>;

    /// A `RetryActor` that also records, outside itself, what reached its handlers.
    struct Sleeper {
        events: Events,
    }

    #[actor(local)]
    impl Sleeper {
        #[handler]
        fn check(&mut self, _msg: Check, cx: &mut Context<'_>) {
            cx.wakeup_after(PERIOD, ());
        }

        #[handler]
        fn woke(&mut self, _msg: WakeupMessage) {
            self.events.lock().unwrap().push("wakeup");
        }

        #[handler]
        fn awoken(&mut self, _msg: Awoken) -> u32 {
            self.events.lock().unwrap().iter().filter(|e| **e == "wakeup").count() as u32
        }

        #[handler]
        fn exit(&mut self, _msg: ActorExitRequest) {
            self.events.lock().unwrap().push("exit");
        }
    }

    /// Asks for a wakeup after `ms`, tagged `id`. With `real_clock`, the arrival is checked
    /// against `Instant`s (meaningless on Simple, whose clock the test moves).
    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Nap {
        id: u32,
        ms: u64,
        real_clock: bool,
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct NapReport;

    #[derive(Debug, Clone, Default, Serialize, Deserialize, Message)]
    struct Naps {
        arrived: u32,
        /// Ids whose wakeup arrived before the time it was asked for plus its delay.
        early: Vec<u32>,
        /// Ids whose `WakeupMessage.delay` was shorter than the delay asked for.
        short_delay: Vec<u32>,
        /// Wakeups that match no request (or a request already woken).
        unknown: u32,
    }

    #[derive(Default)]
    struct Punctual {
        asked: HashMap<u32, (Instant, Duration, bool)>,
        report: Naps,
    }

    #[actor]
    impl Punctual {
        #[handler]
        fn nap(&mut self, nap: Nap, cx: &mut Context<'_>) {
            let delay = Duration::from_millis(nap.ms);
            // Taken before the request, so the wakeup is due no earlier than this plus the delay.
            self.asked.insert(nap.id, (Instant::now(), delay, nap.real_clock));
            cx.wakeup_after(delay, nap.id);
        }

        #[handler]
        fn woke(&mut self, msg: WakeupMessage) {
            let now = Instant::now();
            self.report.arrived += 1;
            let id = msg.payload.as_deref().and_then(|p| p.downcast_ref::<u32>()).copied();
            let Some((id, (asked, delay, real_clock))) = id.and_then(|id| Some((id, self.asked.remove(&id)?))) else {
                self.report.unknown += 1;
                return;
            };
            if real_clock && now < asked + delay {
                self.report.early.push(id);
            }
            if msg.delay < delay {
                self.report.short_delay.push(id);
            }
        }

        #[handler]
        fn report(&mut self, _msg: NapReport) -> Naps {
            self.report.clone()
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Kick;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Marker;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct GetLog;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Log(Vec<String>);

    /// Asks for a zero-delay wakeup and sends itself a marker in the same handler.
    #[derive(Default)]
    struct Kicker {
        log: Vec<String>,
    }

    #[actor]
    impl Kicker {
        #[handler]
        fn kick(&mut self, _msg: Kick, cx: &mut Context<'_>) {
            cx.wakeup_after(Duration::ZERO, "zero");
            let me = cx.my_address().clone();
            cx.send(&me, Marker);
            self.log.push("kick done".to_owned());
        }

        #[handler]
        fn woke(&mut self, msg: WakeupMessage) {
            let payload = msg.payload.as_deref().and_then(|p| p.downcast_ref::<String>()).cloned();
            self.log.push(format!("wakeup {payload:?}"));
        }

        #[handler]
        fn marker(&mut self, _msg: Marker) {
            self.log.push("marker".to_owned());
        }

        #[handler]
        fn get(&mut self, _msg: GetLog) -> Log {
            Log(self.log.clone())
        }
    }
}

/// `thespian/test/test_transient.py`: `@transient` and `@transient_idle`.
mod test_transient {
    use super::*;

    /// The exit delay of `T1` and `T2` (the original's 0.5 s, shortened).
    const EXIT: Duration = Duration::from_millis(150);

    /// Exits `EXIT` after its first message, busy or not.
    #[derive(Default)]
    struct T1;

    #[actor(transient(exit_after = "150ms"))]
    impl T1 {
        #[handler]
        fn got(&mut self, msg: String) -> String {
            format!("GOT: {msg}")
        }
    }

    /// Exits `EXIT` after its last message.
    #[derive(Default)]
    struct T2;

    #[actor(transient_idle(exit_after = "150ms"))]
    impl T2 {
        #[handler]
        fn got(&mut self, msg: String) -> String {
            format!("GOT: {msg}")
        }
    }

    #[derive(Default)]
    struct NotTransient;

    #[actor]
    impl NotTransient {
        #[handler]
        fn got(&mut self, msg: String) -> String {
            format!("GOT: {msg}")
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Spawn;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Kids {
        t1: ActorAddress,
        t2: ActorAddress,
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct WhoExited;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Exited(Vec<ActorAddress>);

    /// Creates a `T1` and a `T2` and records its children's exits.
    #[derive(Default)]
    struct Parent {
        exited: Vec<ActorAddress>,
    }

    #[actor]
    impl Parent {
        #[handler]
        fn spawn(&mut self, _msg: Spawn, cx: &mut Context<'_>) -> Kids {
            Kids { t1: cx.create_actor::<T1>().into_address(), t2: cx.create_actor::<T2>().into_address() }
        }

        #[handler]
        fn child_exited(&mut self, msg: ChildActorExited) {
            self.exited.push(msg.child);
        }

        #[handler]
        fn who_exited(&mut self, _msg: WhoExited) -> Exited {
            Exited(self.exited.clone())
        }
    }

    fn family(system: &ActorSystem) -> (Addr<Parent>, ActorAddress, ActorAddress) {
        let parent = system.create_actor::<Parent>().unwrap();
        let Kids { t1, t2 } = system.ask(&parent, Spawn, ASK).unwrap();
        (parent, t1, t2)
    }

    fn hi(system: &ActorSystem, to: &ActorAddress, text: &str) -> Result<String, Error> {
        system.ask::<String, _, _>(to, text, ASK)
    }

    /// Says `text` to a transient actor whose exit is due no earlier than `EXIT` after `mark`:
    /// it must answer if the answer provably came before then. Whether it answered.
    fn hi_while_alive(tl: &Timeline<'_>, mark: Mark, to: &ActorAddress, text: &str) -> bool {
        let reply = hi(tl.system, to, text);
        let in_time = tl.since(mark) < EXIT;
        match reply {
            Ok(reply) => {
                assert_eq!(reply, format!("GOT: {text}"));
                true
            }
            Err(e) => {
                assert!(!in_time, "{to} exited before its time: {e}");
                assert!(matches!(e, Error::DeadTarget(_) | Error::Timeout(_)), "{e}");
                false
            }
        }
    }

    fn exited(system: &ActorSystem, parent: &Addr<Parent>) -> Vec<ActorAddress> {
        system.ask::<Exited, _, _>(parent, WhoExited, ASK).unwrap().0
    }

    /// Waits until the parent has heard that `child` exited, then checks that asks to it fail.
    fn wait_gone(system: &ActorSystem, parent: &Addr<Parent>, child: &ActorAddress) {
        assert!(eventually(ASK, || exited(system, parent).contains(child)), "{child} exits and its parent is told");
        match hi(system, child, "still there?") {
            Err(Error::DeadTarget(_) | Error::Timeout(_)) => {}
            other => panic!("an ask to an exited actor fails, got {other:?}"),
        }
    }

    conformance! {
        /// The original flow: transient actors are not transient before their first message; a
        /// `transient` one exits `EXIT` after its first message, a `transient_idle` one lives on
        /// while it is poked and exits `EXIT` after its last message; a plain actor stays. Their
        /// parent receives `ChildActorExited` for each.
        fn test_transient(system) {
            let (parent, t1, t2) = family(system);
            let nt = system.create_actor::<NotTransient>().unwrap().into_address();
            let mut tl = Timeline::new(system);

            // Not transient until they receive a message.
            tl.pass(EXIT * 2);
            let m1 = tl.mark();
            assert_eq!(hi(system, &t1, "hi.1").unwrap(), "GOT: hi.1");
            let mut m2 = tl.mark();
            assert_eq!(hi(system, &t2, "hi.2").unwrap(), "GOT: hi.2");
            assert_eq!(hi(system, &nt, "hi.3").unwrap(), "GOT: hi.3");

            // All still there.
            hi_while_alive(&tl, m1, &t1, "hi.4");
            let mark = tl.mark();
            let mut t2_alive = hi_while_alive(&tl, m2, &t2, "hi.5");
            if t2_alive {
                m2 = mark;
            }
            assert_eq!(hi(system, &nt, "hi.6").unwrap(), "GOT: hi.6");

            // Poke the transient-idle one now and then; the transient one's time runs out.
            for text in ["hi.7", "hi.8", "hi.9", "hi.10", "hi.11"] {
                tl.pass(EXIT / 3);
                if t2_alive {
                    let mark = tl.mark();
                    t2_alive = hi_while_alive(&tl, m2, &t2, text);
                    if t2_alive {
                        m2 = mark;
                    }
                }
            }
            assert!(tl.since(m1) >= EXIT);
            assert_eq!(hi(system, &nt, "hi.12").unwrap(), "GOT: hi.12");
            wait_gone(system, &parent, &t1);

            // Let the transient-idle one be idle long enough.
            tl.pass(EXIT);
            assert_eq!(hi(system, &nt, "hi.14").unwrap(), "GOT: hi.14");
            wait_gone(system, &parent, &t2);

            let gone = exited(system, &parent);
            assert_eq!(gone.len(), 2, "{gone:?}");
            assert!(gone.contains(&t1) && gone.contains(&t2));
            assert_eq!(hi(system, &nt, "hi.16").unwrap(), "GOT: hi.16");
        }

        /// The exit times, as exactly as the base allows: the `transient` actor is kept busy and
        /// still exits `EXIT` after its first message, never before; the `transient_idle` one
        /// exits `EXIT` after its last message, never before (status requests do not count as
        /// messages that keep it alive).
        fn test_transient_exit_times(system) {
            let (parent, t1, t2) = family(system);
            let mut tl = Timeline::new(system);
            let ms = Duration::from_millis(1);
            let step = EXIT / 5;

            let m1 = tl.mark();
            assert_eq!(hi(system, &t1, "first").unwrap(), "GOT: first");
            let mut m2 = tl.mark();
            assert_eq!(hi(system, &t2, "first").unwrap(), "GOT: first");
            for i in 0..4 {
                tl.pass(step);
                hi_while_alive(&tl, m1, &t1, &format!("busy {i}"));
                let mark = tl.mark();
                if hi_while_alive(&tl, m2, &t2, &format!("poke {i}")) {
                    m2 = mark;
                }
            }
            // 1 ms before its time, the busy transient actor still answers...
            tl.pass(EXIT - step * 4 - ms);
            hi_while_alive(&tl, m1, &t1, "last");
            // ...and at its time it goes, busy or not.
            tl.pass(ms);
            wait_gone(system, &parent, &t1);
            assert!(tl.since(m1) >= EXIT, "exited before its time");

            // The idle one: status requests do not keep it alive, and it goes when its time is up.
            let status = system.status(&t2, ASK);
            if tl.since(m2) < EXIT {
                assert!(status.is_ok(), "{status:?}");
            }
            // 1 ms before its time it is still there...
            let since_last = tl.since(m2);
            if since_last + ms < EXIT {
                tl.pass(EXIT - since_last - ms);
                let status = system.status(&t2, ASK);
                if tl.since(m2) < EXIT {
                    assert!(status.is_ok(), "exited before its time: {status:?}");
                }
            }
            // ...and at its time it goes.
            tl.pass(ms);
            wait_gone(system, &parent, &t2);
            assert!(tl.since(m2) >= EXIT, "exited before its time");
            assert_eq!(exited(system, &parent).len(), 2);
        }
    }
}

/// `thespian/test/test_initmsgs.py`: `@initializing_messages`.
///
/// The original asks through a proxy and reads the answers the proxy forwards to its "proxy
/// sender" (the external address of the first `tell`). Thespian's `ask` and `tell` share one
/// external address; here an `ask` has its own reply endpoint and everything sent to the `tell`
/// address is read with `listen`, so each `ask` of the original is a `tell` plus a `listen`.
mod test_initmsgs {
    use super::*;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Msg1;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Msg2;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Msg3;

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Msg4;

    /// Initialized with an address (and its sender): forwards what its initializer sends to that
    /// address, and everything else back to the initializer.
    #[derive(Default)]
    struct ProxyActor {
        proxy: Option<ActorAddress>,
        proxy_sender: Option<ActorAddress>,
    }

    #[actor(initializing_messages(ActorAddress))]
    impl ProxyActor {
        #[handler]
        fn proxy(&mut self, proxy: ActorAddress, cx: &mut Context<'_>) {
            self.proxy = Some(proxy);
            self.proxy_sender = Some(cx.sender());
        }

        #[handler(fallback)]
        fn forward(&mut self, msg: Box<dyn Message>, cx: &mut Context<'_>) {
            if msg.is::<ActorExitRequest>()
                || msg.is::<ChildActorExited>()
                || msg.is::<PoisonMessage>()
                || msg.is::<WakeupMessage>()
                || msg.is::<DeadEnvelope>()
            {
                return;
            }
            let (Some(proxy), Some(proxy_sender)) = (self.proxy.clone(), self.proxy_sender.clone()) else { return };
            if cx.sender() == proxy_sender {
                cx.send_boxed(&proxy, msg);
            } else {
                cx.send_boxed(&proxy_sender, msg);
            }
        }
    }

    /// Initialized with `Msg1` (and its sender), `Msg2` and a `String`.
    #[derive(Default)]
    struct Actor1 {
        i_msg1_sender: Option<ActorAddress>,
        i_msg2: Option<Msg2>,
        i_msg3: Option<String>,
        initialized: bool,
    }

    impl Actor1 {
        /// The original's `initdone` callback.
        fn init_done_when_ready(&mut self, cx: &mut Context<'_>) {
            if let (false, Some(to), Some(_), Some(_)) =
                (self.initialized, &self.i_msg1_sender, &self.i_msg2, &self.i_msg3)
            {
                self.initialized = true;
                let to = to.clone();
                cx.send(&to, "init is done");
            }
        }

        fn tell_initializer(&self, cx: &mut Context<'_>, msg: impl thespian::IntoMessage) {
            let to = self.i_msg1_sender.clone().expect("initialized");
            cx.send(&to, msg);
        }
    }

    #[actor(initializing_messages(Msg1, Msg2, String))]
    impl Actor1 {
        #[handler]
        fn msg1(&mut self, _msg: Msg1, cx: &mut Context<'_>) {
            self.i_msg1_sender = Some(cx.sender());
            self.init_done_when_ready(cx);
        }

        #[handler]
        fn msg2(&mut self, msg: Msg2, cx: &mut Context<'_>) {
            self.i_msg2 = Some(msg);
            self.init_done_when_ready(cx);
        }

        #[handler]
        fn text(&mut self, msg: String, cx: &mut Context<'_>) {
            if self.initialized {
                self.tell_initializer(cx, format!("s:{msg}"));
            } else {
                self.i_msg3 = Some(msg);
                self.init_done_when_ready(cx);
            }
        }

        #[handler]
        fn msg3(&mut self, _msg: Msg3) -> Option<Msg2> {
            self.i_msg2.clone()
        }

        #[handler]
        fn msg4(&mut self, msg: Msg4, cx: &mut Context<'_>) -> Option<String> {
            self.tell_initializer(cx, msg);
            self.i_msg3.clone()
        }
    }

    /// `Actor2`: initialized like `Actor1`, and transient.
    #[derive(Default)]
    struct Actor2 {
        i_msg1_sender: Option<ActorAddress>,
        i_msg2: Option<Msg2>,
        i_msg3: Option<String>,
        initialized: bool,
    }

    /// `Actor2`'s exit delay (the original's 1 s, shortened).
    const ACTOR2_EXIT: Duration = Duration::from_millis(400);

    impl Actor2 {
        fn init_done_when_ready(&mut self, cx: &mut Context<'_>) {
            if let (false, Some(to), Some(_), Some(text)) =
                (self.initialized, &self.i_msg1_sender, &self.i_msg2, &self.i_msg3)
            {
                self.initialized = true;
                let (to, text) = (to.clone(), text.clone());
                cx.send(&to, text);
            }
        }
    }

    #[actor(initializing_messages(Msg1, Msg2, String), transient(exit_after = "400ms"))]
    impl Actor2 {
        #[handler]
        fn msg1(&mut self, _msg: Msg1, cx: &mut Context<'_>) {
            self.i_msg1_sender = Some(cx.sender());
            self.init_done_when_ready(cx);
        }

        #[handler]
        fn msg2(&mut self, msg: Msg2, cx: &mut Context<'_>) {
            self.i_msg2 = Some(msg);
            self.init_done_when_ready(cx);
        }

        #[handler]
        fn text(&mut self, msg: String, cx: &mut Context<'_>) {
            if !self.initialized {
                self.i_msg3 = Some(msg);
                self.init_done_when_ready(cx);
            }
        }

        #[handler]
        fn msg3(&mut self, _msg: Msg3) -> Option<Msg2> {
            self.i_msg2.clone()
        }
    }

    fn heard(system: &ActorSystem) -> Box<dyn Message> {
        system.listen(ASK).expect("a message for the external address")
    }

    fn heard_string(system: &ActorSystem) -> String {
        *heard(system).downcast::<String>().expect("a String")
    }

    fn nothing_more(system: &ActorSystem) {
        match system.listen(NOTHING) {
            Err(Error::Timeout(_)) => {}
            other => panic!("expected nothing, got {other:?}"),
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Config(u32);

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Peers(u32);

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Work(u32);

    type Journal = Arc<Mutex<Vec<String>>>;

    /// Needs a `Config` and a `Peers` before it works; writes what it handles to a journal the
    /// test reads directly (a query message would be held back too).
    struct Service {
        journal: Journal,
        config: Option<u32>,
        peers: Option<u32>,
    }

    impl Service {
        fn note(&self, what: String) {
            self.journal.lock().unwrap().push(what);
        }
    }

    #[actor(local, initializing_messages(Config, Peers))]
    impl Service {
        #[handler]
        fn config(&mut self, Config(v): Config, cx: &mut Context<'_>) {
            if self.config.is_none() {
                // A system message while still initializing: it must not be held back.
                cx.wakeup_after(Duration::ZERO, ());
            }
            self.config = Some(v);
            self.note(format!("config {v}"));
        }

        #[handler]
        fn peers(&mut self, Peers(n): Peers) {
            self.peers = Some(n);
            self.note(format!("peers {n}"));
        }

        #[handler]
        fn work(&mut self, Work(n): Work) {
            self.note(format!("work {n} config={:?} peers={:?}", self.config, self.peers));
        }

        #[handler]
        fn woke(&mut self, _msg: WakeupMessage) {
            self.note(format!("wakeup config={:?} peers={:?}", self.config, self.peers));
        }

        #[handler]
        fn exit(&mut self, _msg: ActorExitRequest) {
            self.note("exit".to_owned());
        }
    }

    fn service(system: &ActorSystem) -> (Addr<Service>, Journal) {
        let journal = Journal::default();
        let service =
            system.create_actor_from(Service { journal: journal.clone(), config: None, peers: None }).unwrap();
        (service, journal)
    }

    fn read(journal: &Journal) -> Vec<String> {
        journal.lock().unwrap().clone()
    }

    conformance! {
        /// A proxy initialized with an `Actor1` address; `Actor1` needs `Msg1`, `Msg2` and a
        /// `String` before it says "init is done" and handles anything else.
        fn test_simpleinit(system) {
            let t1 = system.create_actor::<ProxyActor>().unwrap();
            let a1 = system.create_actor::<Actor1>().unwrap();
            system.tell(&t1, a1.into_address()).unwrap();

            system.tell(&t1, Msg1).unwrap();
            system.tell(&t1, "ready?").unwrap();
            nothing_more(system);

            system.tell(&t1, Msg2).unwrap();
            assert_eq!(heard_string(system), "init is done");

            system.tell(&t1, "running?").unwrap();
            assert_eq!(heard_string(system), "s:running?");

            system.tell(&t1, Msg4).unwrap();
            let (r, r2) = (heard(system), heard(system));
            let (msg4, text) = if r.is::<Msg4>() { (r, r2) } else { (r2, r) };
            assert!(msg4.is::<Msg4>(), "{msg4:?}");
            assert_eq!(text.downcast_ref::<String>().map(String::as_str), Some("ready?"));
            nothing_more(system);
        }

        /// `Actor2` is initialized like `Actor1` and transient: it works once initialized, and is
        /// gone once its time is up.
        fn test_init_transient(system) {
            let t1 = system.create_actor::<ProxyActor>().unwrap();
            let a2 = system.create_actor::<Actor2>().unwrap();
            system.tell(&t1, a2.clone().into_address()).unwrap();
            let mut tl = Timeline::new(system);

            let mark = tl.mark();
            system.tell(&t1, Msg1).unwrap();
            system.tell(&t1, "ready?").unwrap();
            nothing_more(system);

            // While its time is not up, it must answer.
            let while_alive = |tl: &Timeline<'_>, got: Result<Box<dyn Message>, Error>, expect: &dyn Fn(&dyn Message) -> bool| {
                let in_time = tl.since(mark) < ACTOR2_EXIT;
                match got {
                    Ok(msg) => assert!(expect(&*msg), "unexpected {msg:?}"),
                    Err(e) => assert!(!in_time, "Actor2 stopped answering before its time: {e}"),
                }
            };
            let is_msg2 = |m: &dyn Message| m.is::<Msg2>();

            system.tell(&t1, Msg2).unwrap();
            while_alive(&tl, system.listen(ASK), &|m| m.downcast_ref::<String>().is_some_and(|s| s == "ready?"));

            system.tell(&t1, Msg3).unwrap();
            while_alive(&tl, system.listen(ASK), &is_msg2);

            system.tell(&t1, Msg3).unwrap();
            system.tell(&t1, Msg3).unwrap();
            while_alive(&tl, system.listen(ASK), &is_msg2);
            while_alive(&tl, system.listen(ASK), &is_msg2);
            nothing_more(system);

            system.tell(&t1, Msg3).unwrap();
            while_alive(&tl, system.listen(ASK), &is_msg2);

            tl.pass(ACTOR2_EXIT);
            assert!(eventually(ASK, || system.status(&a2, ASK).is_err()), "Actor2 exits when its time is up");
            assert!(tl.since(mark) >= ACTOR2_EXIT);
            system.tell(&t1, Msg3).unwrap();
            nothing_more(system);
        }

        /// Messages that arrive before one of each initializing type are held back, then
        /// handled in arrival order; an initializing type that arrives twice: the last one wins;
        /// a status request is answered meanwhile (and counts the held messages as waiting).
        fn test_held_until_initialized(system) [skip_multiproc = "the actor is built from a value that shares state with the test, which stays in the test's process"] {
            let (service, journal) = service(system);
            system.tell(&service, Work(1)).unwrap();
            system.tell(&service, Work(2)).unwrap();
            system.tell(&service, Config(1)).unwrap();
            system.tell(&service, Work(3)).unwrap();
            assert!(eventually(ASK, || read(&journal).len() >= 2), "{:?}", read(&journal));
            assert_eq!(read(&journal), ["config 1", "wakeup config=Some(1) peers=None"]);
            let status = system.status(&service, ASK).expect("a status request is not held back");
            assert_eq!(status.mailbox_len, 3, "the held messages wait: {status:?}");

            system.tell(&service, Config(2)).unwrap();
            system.tell(&service, Peers(7)).unwrap();
            system.tell(&service, Work(4)).unwrap();
            assert!(eventually(ASK, || read(&journal).len() >= 8), "{:?}", read(&journal));
            assert_eq!(
                read(&journal),
                [
                    "config 1",
                    "wakeup config=Some(1) peers=None",
                    "config 2",
                    "peers 7",
                    "work 1 config=Some(2) peers=Some(7)",
                    "work 2 config=Some(2) peers=Some(7)",
                    "work 3 config=Some(2) peers=Some(7)",
                    "work 4 config=Some(2) peers=Some(7)",
                ]
            );
        }

        /// System messages are never held back: a wakeup and an `ActorExitRequest` reach the
        /// handler of an actor still waiting for its initializing messages; what it held back
        /// then becomes dead letters, never handled.
        fn test_system_messages_not_held(system) [skip_multiproc = "the actor is built from a value that shares state with the test, which stays in the test's process"] {
            let (service, journal) = service(system);
            system.tell(&service, Work(1)).unwrap();
            system.tell(&service, Config(1)).unwrap();
            system.tell(&service, Work(2)).unwrap();
            assert!(eventually(ASK, || read(&journal).len() >= 2), "{:?}", read(&journal));
            let status = system.status(&service, ASK).unwrap();
            assert_eq!((status.mailbox_len, status.pending_wakeups), (2, 0), "{status:?}");

            let stats = system.stats();
            system.tell(&service, ActorExitRequest::default()).unwrap();
            assert!(eventually(ASK, || system.stats().actors < stats.actors), "the actor exits");
            assert!(
                eventually(ASK, || system.stats().dead_letters >= stats.dead_letters + 2),
                "held messages become dead letters: {:?} then {:?}",
                stats,
                system.stats()
            );
            assert_eq!(system.stats().dead_letters, stats.dead_letters + 2);
            assert_eq!(read(&journal), ["config 1", "wakeup config=Some(1) peers=None", "exit"]);
        }
    }
}

/// `thespian/test/test_troupe.py`: `@troupe`. Work is "sleep N ms, reply `<name> buzz`" with N of
/// 1–20 ms; the checks are on completeness and counts, never on speed.
mod test_troupe {
    use super::*;

    /// One work item: sleep `ms`, then reply `"<name> buzz"`. `gauge` selects the counters that
    /// record how many work items run at once.
    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct Work {
        ms: u64,
        name: String,
        gauge: usize,
    }

    /// Ignored by the workers (the original's `"buzz off"`).
    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct BuzzOff;

    /// Work items running now and the most at once, per test (tests run in parallel).
    struct Gauge {
        now: AtomicUsize,
        max: AtomicUsize,
    }

    static GAUGES: [Gauge; 64] = [const { Gauge { now: AtomicUsize::new(0), max: AtomicUsize::new(0) } }; 64];
    static NEXT_GAUGE: AtomicUsize = AtomicUsize::new(0);

    fn new_gauge() -> usize {
        let i = NEXT_GAUGE.fetch_add(1, Ordering::Relaxed);
        assert!(i < GAUGES.len(), "more gauges needed");
        i
    }

    fn most_at_once(gauge: usize) -> usize {
        GAUGES[gauge].max.load(Ordering::SeqCst)
    }

    fn buzz(work: Work) -> String {
        let gauge = &GAUGES[work.gauge];
        let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.max.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(work.ms));
        gauge.now.fetch_sub(1, Ordering::SeqCst);
        format!("{} buzz", work.name)
    }

    #[derive(Default)]
    struct Bee;

    #[actor]
    impl Bee {
        #[handler]
        fn work(&mut self, work: Work) -> String {
            buzz(work)
        }

        #[handler]
        fn buzz_off(&mut self, _msg: BuzzOff) {}
    }

    /// How long extra `Hive` workers stay idle before they are dismissed (the original's 2 s).
    const DISMISS: Duration = Duration::from_millis(50);

    #[derive(Default)]
    struct Hive;

    #[actor(troupe(max_count = 10, idle_count = 2, dismiss_after = "50ms"))]
    impl Hive {
        #[handler]
        fn work(&mut self, work: Work) -> String {
            buzz(work)
        }

        #[handler]
        fn buzz_off(&mut self, _msg: BuzzOff) {}
    }

    /// A troupe whose workers use a troupe: each passes its work to its own `Hive` and stays
    /// busy (`troupe_work_in_progress`) until the answer is back.
    #[derive(Default)]
    struct Colony {
        hive: Option<Addr<Hive>>,
        asker: Vec<ActorAddress>,
    }

    #[actor(troupe(max_count = 10, idle_count = 2, dismiss_after = "50ms"))]
    impl Colony {
        #[handler]
        fn work(&mut self, work: Work, cx: &mut Context<'_>) {
            let hive = match &self.hive {
                Some(hive) => hive.clone(),
                None => self.hive.insert(cx.create_actor::<Hive>()).clone(),
            };
            self.asker.push(cx.sender());
            cx.send(&hive, work);
            cx.troupe_work_in_progress(true);
        }

        #[handler]
        fn buzzed(&mut self, reply: String, cx: &mut Context<'_>) {
            if let Some(asker) = self.asker.pop() {
                cx.send(&asker, reply);
            }
            cx.troupe_work_in_progress(!self.asker.is_empty());
        }
    }

    /// The original's test data, with work times in ms instead of seconds/10 ms: 4 slow items
    /// and 48 fast ones, more than there are workers.
    fn testdata() -> Vec<(u64, &'static str)> {
        let mut data = vec![(20, "Fizz"), (15, "Honey"), (5, "Flower"), (10, "Pollen")];
        for _ in 0..6 {
            data.extend([
                (2, "Orchid"),
                (1, "Rose"),
                (2, "Carnation"),
                (1, "Lily"),
                (2, "Daffodil"),
                (1, "Begonia"),
                (1, "Violet"),
                (1, "Aster"),
            ]);
        }
        data
    }

    /// The original's `useActorForTest`: two passes of all the test data, told from outside;
    /// every item's reply comes back to the external address, exactly once.
    fn use_actor_for_test(system: &ActorSystem, bee: &ActorAddress, gauge: usize, exit_when_done: bool) {
        let data = testdata();
        assert_eq!(data.len(), 52);
        for _pass in 0..2 {
            for &(ms, name) in &data {
                system.tell(bee, Work { ms, name: name.to_owned(), gauge }).unwrap();
            }
            let mut remaining: Vec<&str> = data.iter().map(|&(_, name)| name).collect();
            for _ in 0..data.len() {
                let reply = system.listen(ASK).unwrap_or_else(|e| panic!("missing replies for {remaining:?}: {e}"));
                let reply = *reply.downcast::<String>().expect("a String reply");
                let name = reply.strip_suffix(" buzz").expect("`<name> buzz`");
                let i = remaining.iter().position(|r| *r == name).unwrap_or_else(|| panic!("unexpected {reply:?}"));
                remaining.swap_remove(i);
            }
            assert!(remaining.is_empty());
        }
        match system.listen(NOTHING) {
            Err(Error::Timeout(_)) => {}
            other => panic!("one reply per work item, but also {other:?}"),
        }
        if exit_when_done {
            system.tell(bee, ActorExitRequest::default()).unwrap();
        }
    }

    fn troupe_status(system: &ActorSystem, troupe: &Addr<Hive>) -> TroupeStatus {
        system.ask(troupe, TroupeStatusRequest, ASK).unwrap()
    }

    fn update(system: &ActorSystem, troupe: &Addr<Hive>, max: Option<usize>, idle: Option<usize>) -> TroupeSettings {
        let change = UpdateTroupeSettings { max_count: max, idle_count: idle, ..UpdateTroupeSettings::default() };
        system.ask(troupe, change, ASK).unwrap()
    }

    /// A round of the test data at a given size: never more workers, nor more work at once, than
    /// `max_count`; with one worker, strictly one item at a time.
    fn round(system: &ActorSystem, hive: &Addr<Hive>, max_count: usize) {
        let gauge = new_gauge();
        use_actor_for_test(system, hive.address(), gauge, false);
        let most = most_at_once(gauge);
        assert!((1..=max_count).contains(&most), "{most} work items at once with max_count {max_count}");
        let status = troupe_status(system, hive);
        assert!(status.workers.len() <= max_count, "{status:?}");
        assert_eq!(status.pending, 0, "{status:?}");
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct DieOnce {
        flag: usize,
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Message)]
    struct AlwaysDie(u32);

    static DIED: [AtomicBool; 8] = [const { AtomicBool::new(false) }; 8];
    static NEXT_FLAG: AtomicUsize = AtomicUsize::new(0);

    /// Workers that exit in the middle of some work.
    #[derive(Default)]
    struct Mortal;

    #[actor(troupe(max_count = 3, idle_count = 1))]
    impl Mortal {
        /// The first worker to get it exits; the next one answers.
        #[handler]
        fn die_once(&mut self, msg: DieOnce, cx: &mut Context<'_>) -> Option<String> {
            if DIED[msg.flag].swap(true, Ordering::SeqCst) {
                Some("survived".to_owned())
            } else {
                cx.exit();
                None
            }
        }

        #[handler]
        fn always_die(&mut self, _msg: AlwaysDie, cx: &mut Context<'_>) {
            cx.exit();
        }

        #[handler]
        fn echo(&mut self, n: u32) -> u32 {
            n
        }
    }

    /// Workers for the falsy messages Thespian's troupe drops.
    #[derive(Default)]
    struct FalsyHive;

    #[actor(troupe(max_count = 2, idle_count = 1))]
    impl FalsyHive {
        #[handler]
        fn number(&mut self, n: u32) -> String {
            format!("u32 {n}")
        }

        #[handler]
        fn text(&mut self, s: String) -> String {
            format!("str {s:?}")
        }

        #[handler]
        fn unit(&mut self, _msg: ()) -> String {
            "unit".to_owned()
        }

        #[handler]
        fn bytes(&mut self, b: Vec<u8>) -> String {
            format!("bytes {}", b.len())
        }
    }

    conformance! {
        /// A single non-troupe `Bee` gets every reply through, one item at a time.
        fn test_single_bee(system) [skip_multiproc = "the workers' concurrency is counted in a gauge of the test's own process"] {
            let bee = system.create_actor::<Bee>().unwrap();
            let gauge = new_gauge();
            use_actor_for_test(system, bee.address(), gauge, true);
            assert_eq!(most_at_once(gauge), 1, "one actor handles one message at a time");
        }

        /// A troupe (max 10): every reply comes back to the asker; at most 10 workers.
        fn test_hive(system) [skip_multiproc = "the workers' concurrency is counted in a gauge of the test's own process"] {
            let hive = system.create_actor::<Hive>().unwrap();
            let status = troupe_status(system, &hive);
            assert_eq!(status.settings, TroupeSettings { max_count: 10, idle_count: 2, dismiss_after: DISMISS });
            round(system, &hive, 10);

            // A reply goes straight to whoever asked, an `ask` included.
            let reply: String = system.ask(&hive, Work { ms: 1, name: "Tulip".to_owned(), gauge: new_gauge() }, ASK).unwrap();
            assert_eq!(reply, "Tulip buzz");
            system.tell(&hive, ActorExitRequest::default()).unwrap();
        }

        /// `UpdateTroupeSettings` resizes the troupe and replies with the settings in force; with
        /// one worker the work is done strictly one item at a time, with N at most N at once;
        /// extra workers are dismissed after `dismiss_after` down to `idle_count`.
        fn test_small_hive_adj_msg(system) [skip_multiproc = "the workers' concurrency is counted in a gauge of the test's own process"] {
            let hive = system.create_actor::<Hive>().unwrap();
            assert_eq!(troupe_status(system, &hive).settings.max_count, 10);

            let settings = update(system, &hive, Some(1), None);
            assert_eq!(settings, TroupeSettings { max_count: 1, idle_count: 2, dismiss_after: DISMISS });
            assert_eq!(troupe_status(system, &hive).settings.max_count, 1);
            round(system, &hive, 1);

            let settings = update(system, &hive, Some(2), Some(5));
            assert_eq!((settings.max_count, settings.idle_count), (2, 5));
            assert_eq!(troupe_status(system, &hive).settings.max_count, 2);
            round(system, &hive, 2);

            let settings = update(system, &hive, Some(4), None);
            assert_eq!((settings.max_count, settings.idle_count), (4, 5));
            round(system, &hive, 4);

            let settings = update(system, &hive, Some(52), None);
            assert_eq!((settings.max_count, settings.idle_count), (52, 5));
            assert_eq!(troupe_status(system, &hive).settings.max_count, 52);
            round(system, &hive, 52);

            let settings = update(system, &hive, Some(1), Some(1));
            assert_eq!(settings, TroupeSettings { max_count: 1, idle_count: 1, dismiss_after: DISMISS });
            let status = troupe_status(system, &hive);
            assert_eq!((status.settings.max_count, status.settings.idle_count), (1, 1));

            // Busy workers, then idle ones: the extras are dismissed, down to the idle count.
            for _ in 0..60 {
                system.tell(&hive, BuzzOff).unwrap();
            }
            assert!(
                eventually(ASK, || {
                    let_time_pass(system, DISMISS);
                    troupe_status(system, &hive).workers.len() == 1
                }),
                "dismissed down to idle_count: {:?}",
                troupe_status(system, &hive)
            );
            let_time_pass(system, DISMISS * 2);
            assert_eq!(troupe_status(system, &hive).workers.len(), 1, "idle_count workers are kept");

            // Back to one worker: one item at a time again.
            round(system, &hive, 1);
            system.tell(&hive, ActorExitRequest::default()).unwrap();
        }

        /// A troupe whose workers use a troupe (Colony -> Hive, with `troupe_work_in_progress`).
        fn test_colony(system) [skip_multiproc = "the workers' concurrency is counted in a gauge of the test's own process"] {
            let colony = system.create_actor::<Colony>().unwrap();
            let gauge = new_gauge();
            use_actor_for_test(system, colony.address(), gauge, true);
            assert!(most_at_once(gauge) >= 1);
        }

        /// A worker that exits during its work: the work goes to another worker, once.
        fn test_troupe_worker_exits(system) [skip_multiproc = "which worker dies is decided by a flag in the test's own process"] {
            let mortal = system.create_actor::<Mortal>().unwrap();
            let flag = NEXT_FLAG.fetch_add(1, Ordering::Relaxed);

            system.tell(&mortal, DieOnce { flag }).unwrap();
            let reply = system.listen(ASK).expect("the work is handed to another worker");
            assert_eq!(reply.downcast_ref::<String>().map(String::as_str), Some("survived"), "{reply:?}");
            assert!(DIED[flag].load(Ordering::SeqCst), "the first worker got it and exited");
            match system.listen(NOTHING) {
                Err(Error::Timeout(_)) => {}
                other => panic!("handed over once, answered once; also got {other:?}"),
            }
            assert_eq!(system.ask::<u32, _, _>(&mortal, 5u32, ASK).unwrap(), 5);
        }

        /// Work that kills every worker it reaches comes back to its sender as a
        /// `PoisonMessage` (with the work) after the second worker; the troupe keeps working.
        fn test_troupe_poison_after_worker_exits(system) {
            let mortal = system.create_actor::<Mortal>().unwrap();
            match system.ask::<String, _, _>(&mortal, AlwaysDie(7), ASK) {
                Err(Error::Poison { message, .. }) => {
                    let message = message.expect("the work comes back in the poison");
                    assert_eq!(message.downcast_ref::<AlwaysDie>().map(|m| m.0), Some(7), "{message:?}");
                }
                other => panic!("expected a PoisonMessage, got {other:?}"),
            }

            assert_eq!(system.ask::<u32, _, _>(&mortal, 5u32, ASK).unwrap(), 5);
            let status: TroupeStatus = system.ask(&mortal, TroupeStatusRequest, ASK).unwrap();
            assert!(status.workers.len() <= 3, "{status:?}");
        }

        /// Falsy messages (0, "", (), an empty list) are ordinary work: Thespian's troupe drops
        /// them; here each is handled by a worker.
        fn test_troupe_falsy_messages(system) {
            let hive = system.create_actor::<FalsyHive>().unwrap();
            assert_eq!(system.ask::<String, _, _>(&hive, 0u32, ASK).unwrap(), "u32 0");
            assert_eq!(system.ask::<String, _, _>(&hive, "", ASK).unwrap(), "str \"\"");
            assert_eq!(system.ask::<String, _, _>(&hive, (), ASK).unwrap(), "unit");
            assert_eq!(system.ask::<String, _, _>(&hive, Vec::<u8>::new(), ASK).unwrap(), "bytes 0");
        }
    }
}
