//! Races and edge cases of the bases: a global name created from many threads at once, asks
//! pending at shutdown, actors whose parents are gone at shutdown, extreme timeouts, calls back
//! into a Simple system from its own handler, a panicking destructor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use thespian::prelude::*;

const LONG: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Echo;

#[actor]
impl Echo {
    #[handler]
    fn echo(&mut self, n: u64) -> u64 {
        n
    }

    #[handler]
    fn ignore(&mut self, _s: String) {}
}

#[test]
fn a_global_name_created_from_many_threads_at_once_is_one_working_actor() {
    let system = ActorSystem::builder().base(SystemBase::Threaded).shutdown_timeout(LONG).build().unwrap();
    for round in 0..300u64 {
        let barrier = Arc::new(Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (system, barrier) = (system.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let echo =
                        system.create_actor_with::<Echo>(ActorOptions::new().global_name(format!("n{round}"))).unwrap();
                    let n: u64 = system.ask(&echo, round, LONG).unwrap();
                    (echo, n)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(results.iter().all(|(a, n)| *a == results[0].0 && *n == round), "round {round}");
    }
    system.shutdown().unwrap();
}

#[test]
fn an_ask_waiting_when_the_system_shuts_down_ends_with_shut_down() {
    let system = ActorSystem::with_base(SystemBase::Threaded).unwrap();
    let echo = system.create_actor::<Echo>().unwrap();
    let waiting = {
        let (system, echo) = (system.clone(), echo.clone());
        std::thread::spawn(move || system.ask::<u64, _, _>(&echo, "no reply to this", LONG))
    };
    // Usually the ask has reached the actor (which replies nothing) by now; either way it must
    // end with an error, not a panic in the caller's thread.
    let _: u64 = system.ask(&echo, 1u64, LONG).unwrap();
    system.shutdown().unwrap();
    let result = waiting.join().expect("the waiting thread must not panic");
    assert!(matches!(result, Err(Error::ShutDown(_)) | Err(Error::Timeout(_))), "{result:?}");
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Spawn(u32);

#[derive(Default)]
struct Parent {
    restarts: u32,
}

#[actor]
impl Parent {
    #[handler]
    fn spawn(&mut self, Spawn(n): Spawn, cx: &mut Context<'_>) {
        for _ in 0..n {
            cx.create_actor::<Echo>();
        }
    }

    /// A supervisor that restarts its child, even while it is itself exiting.
    #[handler]
    fn child_exited(&mut self, _m: ChildActorExited, cx: &mut Context<'_>) {
        if self.restarts < 3 {
            self.restarts += 1;
            cx.create_actor::<Echo>();
        }
    }

    /// Exits without taking its children along.
    #[handler]
    fn leave_children(&mut self, _m: bool, cx: &mut Context<'_>) {
        let me = cx.my_address().clone();
        cx.send(&me, ActorExitRequest { recursive: false });
    }
}

#[test]
fn shutdown_reaches_orphans_and_children_made_while_exiting() {
    for base in [SystemBase::Simple, SystemBase::Threaded] {
        let system = ActorSystem::builder().base(base).shutdown_timeout(Duration::from_secs(20)).build().unwrap();
        let orphaning = system.create_actor::<Parent>().unwrap();
        system.tell(&orphaning, Spawn(3)).unwrap();
        system.tell(&orphaning, true).unwrap();
        let supervisor = system.create_actor::<Parent>().unwrap();
        system.tell(&supervisor, Spawn(2)).unwrap();
        // Every actor gets its exit request and finishes it: shutdown reports no timeout.
        system.shutdown().unwrap_or_else(|e| panic!("{base:?}: {e}"));
        assert_eq!(system.stats().actors, 0, "{base:?}");
    }
}

#[test]
fn the_longest_timeouts_do_not_overflow() {
    for base in [SystemBase::Simple, SystemBase::Threaded] {
        let system = ActorSystem::builder().base(base).shutdown_timeout(Duration::MAX).build().unwrap();
        let echo = system.create_actor::<Echo>().unwrap();
        let n: u64 = system.ask(&echo, 7u64, Duration::MAX).unwrap();
        assert_eq!(n, 7);
        system.tell(&echo, "and a reply to the endpoint, none").unwrap();
        system.shutdown().unwrap();
    }
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct CallBack;

struct Reentrant {
    system: ActorSystem,
}

#[actor(local)]
impl Reentrant {
    #[handler]
    fn call_back(&mut self, _m: CallBack) -> String {
        let created = self.system.create_actor::<Echo>().map(|_| ()).map_err(|e| e.to_string());
        let shutdown = self.system.shutdown().map_err(|e| e.to_string());
        format!("{created:?} {shutdown:?} actors={}", self.system.stats().actors)
    }
}

#[test]
fn a_simple_handler_calling_its_own_system_gets_an_error_not_a_deadlock() {
    let system = ActorSystem::new().unwrap();
    let actor = system.create_actor_from(Reentrant { system: system.clone() }).unwrap();
    let reply: String = system.ask(&actor, CallBack, LONG).unwrap();
    assert!(reply.contains("Err") && reply.contains("Context") && reply.ends_with("actors=1"), "{reply}");
    system.shutdown().unwrap();
}

#[derive(Default)]
struct Rally;

#[actor]
impl Rally {
    /// Sends its own address back to the sender: two rallies do so forever.
    #[handler]
    fn serve(&mut self, peer: ActorAddress, cx: &mut Context<'_>) {
        let me = cx.my_address().clone();
        cx.send(&peer, me);
    }
}

#[test]
fn a_simple_ask_times_out_even_while_other_actors_never_stop() {
    let system = ActorSystem::new().unwrap();
    let (a, b) = (system.create_actor::<Rally>().unwrap(), system.create_actor::<Rally>().unwrap());
    // The system never becomes quiet; the deadline still holds between messages.
    let err = system.ask_any(&a, ActorAddress::from(b), Duration::from_millis(200)).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    system.shutdown().unwrap();
}

static DROPS: AtomicUsize = AtomicUsize::new(0);

#[derive(Default)]
struct BadDrop;

impl Drop for BadDrop {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
        panic!("destructor panicked");
    }
}

#[actor]
impl BadDrop {
    #[handler]
    fn any(&mut self, _n: u64) {}
}

#[test]
fn a_panicking_destructor_does_not_take_a_worker_down() {
    let system = ActorSystem::builder().base(SystemBase::Threaded).worker_threads(1).build().unwrap();
    for _ in 0..3 {
        let bad = system.create_actor::<BadDrop>().unwrap();
        system.tell(&bad, ActorExitRequest::default()).unwrap();
    }
    let echo = system.create_actor::<Echo>().unwrap();
    while DROPS.load(Ordering::SeqCst) < 3 {
        let n: u64 = system.ask(&echo, 1u64, LONG).unwrap();
        assert_eq!(n, 1);
    }
    let n: u64 = system.ask(&echo, 2u64, LONG).unwrap();
    assert_eq!(n, 2);
    system.shutdown().unwrap();
}

static BUILT: AtomicUsize = AtomicUsize::new(0);

struct Counted;

impl Default for Counted {
    fn default() -> Self {
        BUILT.fetch_add(1, Ordering::SeqCst);
        Counted
    }
}

#[actor]
impl Counted {
    #[handler]
    fn any(&mut self, _n: u64) {}
}

#[test]
fn creating_a_taken_global_name_does_not_run_the_constructor() {
    for base in [SystemBase::Simple, SystemBase::Threaded] {
        let system = ActorSystem::with_base(base).unwrap();
        let before = BUILT.load(Ordering::SeqCst);
        for _ in 0..5 {
            system.create_actor_with::<Counted>(ActorOptions::new().global_name("only")).unwrap();
        }
        assert_eq!(BUILT.load(Ordering::SeqCst) - before, 1, "{base:?}");
        system.shutdown().unwrap();
    }
}
