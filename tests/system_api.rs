//! The external API on every in-process base: create, tell, ask, listen, shutdown; correlation,
//! timeouts, dead targets and foreign addresses.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use thespian::prelude::*;

const BASES: [SystemBase; 2] = [SystemBase::Simple, SystemBase::Threaded];
const LONG: Duration = Duration::from_secs(10);

#[derive(Debug, Serialize, Deserialize, Message)]
struct Add(i64);

#[derive(Debug, Serialize, Deserialize, Message)]
struct Total;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Silent;

#[derive(Debug, Serialize, Deserialize, Message)]
struct TellBack(String);

#[derive(Default)]
struct Calc {
    total: i64,
}

#[actor]
impl Calc {
    #[handler]
    fn add(&mut self, Add(n): Add) {
        self.total += n;
    }

    #[handler]
    fn total(&mut self, _msg: Total) -> i64 {
        self.total
    }

    #[handler]
    fn echo(&mut self, msg: String) -> String {
        msg
    }

    #[handler]
    fn square(&mut self, n: i64) -> i64 {
        n * n
    }

    #[handler]
    fn silent(&mut self, _msg: Silent) {}

    #[handler]
    fn tell_back(&mut self, TellBack(text): TellBack, cx: &mut Context<'_>) {
        cx.reply(text);
    }

    #[handler]
    fn fail(&mut self, code: u8) -> Result<u8, String> {
        if code == 0 { Err("zero is not allowed".into()) } else { Ok(code) }
    }

    #[handler]
    fn boom(&mut self, _msg: bool) {
        panic!("boom on purpose");
    }
}

fn each_base(test: impl Fn(ActorSystem)) {
    for base in BASES {
        let system = ActorSystem::with_base(base).unwrap();
        test(system.clone());
        system.shutdown().unwrap();
    }
}

#[test]
fn tell_then_ask_sees_the_effect_of_the_tell() {
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        for n in 1..=10 {
            system.tell(&calc, Add(n)).unwrap();
        }
        let total: i64 = system.ask(&calc, Total, LONG).unwrap();
        assert_eq!(total, 55, "{:?}", system.base());
    });
}

#[test]
fn typed_and_untyped_ask() {
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        let echoed: String = system.ask(&calc, "hi", LONG).unwrap();
        assert_eq!(echoed, "hi");
        let untyped: ActorAddress = calc.clone().into();
        let reply = system.ask_any(&untyped, 7i64, LONG).unwrap();
        assert_eq!(reply.downcast_ref::<i64>(), Some(&49));
        let wrong = system.ask::<String, _, _>(&calc, 3i64, LONG).unwrap_err();
        assert!(matches!(wrong, Error::UnexpectedReply { .. }), "{wrong:?}");
    });
}

#[test]
fn a_timeout_is_an_error_and_never_a_stale_reply_later() {
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        let err = system.ask::<i64, _, _>(&calc, Silent, Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
        // The next ask gets its own reply, not anything left over.
        let n: i64 = system.ask(&calc, 4i64, LONG).unwrap();
        assert_eq!(n, 16);
    });
}

#[test]
fn a_zero_timeout_fails_at_once() {
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        let started = Instant::now();
        let err = system.ask::<i64, _, _>(&calc, 2i64, Duration::ZERO).unwrap_err();
        assert!(matches!(err, Error::Timeout(d) if d.is_zero()), "{err:?}");
        assert!(started.elapsed() < LONG);
        assert_eq!(system.ask::<i64, _, _>(&calc, 3i64, LONG).unwrap(), 9, "nothing was left queued");
    });
}

#[test]
fn ask_to_an_exited_actor_fails_with_dead_target_without_waiting() {
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        system.tell(&calc, ActorExitRequest::default()).unwrap();
        // Threaded: the exit is processed asynchronously; once it has been, asks fail at once.
        let deadline = Instant::now() + LONG;
        loop {
            let started = Instant::now();
            match system.ask::<i64, _, _>(&calc, 2i64, Duration::from_secs(30)) {
                Err(Error::DeadTarget(addr)) => {
                    assert_eq!(addr, calc);
                    assert!(started.elapsed() < Duration::from_secs(30), "no wait for the timeout");
                    break;
                }
                Ok(_) if Instant::now() < deadline => continue,
                other => panic!("{:?}: expected DeadTarget, got {other:?}", system.base()),
            }
        }
        assert!(system.stats().dead_letters >= 1);
    });
}

#[test]
fn an_address_of_another_shut_down_system_is_a_clear_error() {
    for base in BASES {
        let old = ActorSystem::with_base(base).unwrap();
        let stale = old.create_actor::<Calc>().unwrap();
        old.shutdown().unwrap();
        let err = old.tell(&stale, Add(1)).unwrap_err();
        assert!(matches!(err, Error::ShutDown(_)), "{err:?}");

        let system = ActorSystem::with_base(base).unwrap();
        let err = system.ask::<i64, _, _>(&stale, 1i64, LONG).unwrap_err();
        assert!(matches!(err, Error::ForeignAddress { .. }), "{err:?}");
        assert!(err.to_string().contains("another ActorSystem"), "{err}");
        assert!(matches!(system.tell(&stale, Add(1)), Err(Error::ForeignAddress { .. })));
        system.shutdown().unwrap();
    }
}

#[test]
fn failed_handlers_return_poison_and_the_actor_survives() {
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        system.tell(&calc, Add(5)).unwrap();
        let err = system.ask::<u8, _, _>(&calc, 0u8, LONG).unwrap_err();
        match err {
            Error::Poison { message_type, details, .. } => {
                assert_eq!(message_type, "u8");
                assert!(details.contains("zero is not allowed"), "{details}");
            }
            other => panic!("{other:?}"),
        }
        let err = system.ask::<(), _, _>(&calc, true, LONG).unwrap_err();
        assert!(matches!(&err, Error::Poison { details, .. } if details.contains("boom on purpose")), "{err:?}");
        // The state survived both failures.
        assert_eq!(system.ask::<i64, _, _>(&calc, Total, LONG).unwrap(), 5);
        assert_eq!(system.ask::<u8, _, _>(&calc, 3u8, LONG).unwrap(), 3);
    });
}

#[test]
fn listen_receives_what_actors_send_to_the_external_endpoint() {
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        system.tell(&calc, TellBack("one".into())).unwrap();
        system.tell(&calc, TellBack("two".into())).unwrap();
        let first = system.listen(LONG).unwrap();
        let second = system.listen(LONG).unwrap();
        assert_eq!(first.downcast_ref::<String>().map(String::as_str), Some("one"));
        assert_eq!(second.downcast_ref::<String>().map(String::as_str), Some("two"));
        let err = system.listen(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    });
}

#[test]
fn concurrent_asks_from_many_threads_get_their_own_replies() {
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        let wrong = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8i64)
            .map(|t| {
                let (system, calc, wrong) = (system.clone(), calc.clone(), wrong.clone());
                std::thread::spawn(move || {
                    for i in 0..200i64 {
                        let n = t * 1000 + i;
                        let reply: i64 = system.ask(&calc, n, LONG).unwrap();
                        if reply != n * n {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(wrong.load(Ordering::Relaxed), 0, "{:?}", system.base());
    });
}

#[test]
fn async_forms_work_from_a_tokio_runtime() {
    each_base(|system| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let calc = system.create_actor::<Calc>().unwrap();
            system.tell_async(&calc, Add(2)).await.unwrap();
            let total: i64 = system.ask_async(&calc, Total, LONG).await.unwrap();
            assert_eq!(total, 2);
            // The blocking form refuses to stall an async worker.
            let err = system.ask::<i64, _, _>(&calc, Total, LONG).unwrap_err();
            assert!(matches!(err, Error::BlockingInAsync("ask")), "{err:?}");
        });
    });
}

#[test]
fn the_system_is_clone_send_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<ActorSystem>();
    assert_traits::<ActorAddress>();
    assert_traits::<Addr<Calc>>();
}

#[test]
fn ids_are_never_reused() {
    each_base(|system| {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let calc = system.create_actor::<Calc>().unwrap();
            assert!(seen.insert(calc.address().clone()), "reused {calc}");
            system.tell(&calc, ActorExitRequest::default()).unwrap();
        }
    });
}

#[test]
fn typed_address_checks_the_actor_type() {
    #[derive(Default)]
    struct Other;
    #[actor]
    impl Other {
        #[handler]
        fn any(&mut self, _m: Silent) {}
    }
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        let untyped: ActorAddress = calc.clone().into();
        assert_eq!(system.typed_address::<Calc>(&untyped).unwrap(), calc);
        let err = system.typed_address::<Other>(&untyped).unwrap_err();
        assert!(matches!(err, Error::WrongActorType { .. }), "{err:?}");
        assert!(err.to_string().contains("Calc"), "{err}");
        // A deserialized copy (no in-process route) still reaches the actor.
        let copy: ActorAddress = rmp_serde::from_slice(&rmp_serde::to_vec_named(&untyped).unwrap()).unwrap();
        assert_eq!(system.ask::<i64, _, _>(&copy, 5i64, LONG).unwrap(), 25);
        assert_eq!(copy.to_string(), untyped.to_string());
        assert!(copy.to_string().starts_with("ActorAddr-("));
    });
}

#[test]
fn a_panicking_constructor_is_an_error_from_outside() {
    #[derive(Debug)]
    struct Broken;
    impl Default for Broken {
        fn default() -> Self {
            panic!("cannot build")
        }
    }
    #[actor]
    impl Broken {
        #[handler]
        fn any(&mut self, _m: Silent) {}
    }
    each_base(|system| {
        let err = system.create_actor::<Broken>().unwrap_err();
        assert!(
            matches!(&err, Error::ConstructorPanicked { details, .. } if details.contains("cannot build")),
            "{err:?}"
        );
        assert_eq!(system.stats().actors, 0);
    });
}

#[test]
fn global_names_give_the_same_actor_and_free_on_exit() {
    each_base(|system| {
        let one = system.create_actor_with::<Calc>(ActorOptions::new().global_name("calc")).unwrap();
        let uno = system.create_actor_with::<Calc>(ActorOptions::new().global_name("calc")).unwrap();
        let other = system.create_actor_with::<Calc>(ActorOptions::new().global_name("other")).unwrap();
        assert_eq!(one, uno);
        assert_ne!(one, other);
        system.tell(&one, ActorExitRequest::default()).unwrap();
        // Wait until the exit has been processed (immediate on Simple).
        let deadline = Instant::now() + LONG;
        while system.ask::<i64, _, _>(&one, 1i64, LONG).is_ok() && Instant::now() < deadline {}
        let again = system.create_actor_with::<Calc>(ActorOptions::new().global_name("calc")).unwrap();
        assert_ne!(again, one, "the name was freed");
    });
}

#[test]
fn unhandled_messages_are_counted_not_lost_silently() {
    each_base(|system| {
        let calc = system.create_actor::<Calc>().unwrap();
        let untyped: ActorAddress = calc.clone().into();
        system.tell(&untyped, 1.5f64).unwrap();
        // An ask after the tell is processed after it.
        let _: i64 = system.ask(&calc, Total, LONG).unwrap();
        assert_eq!(system.stats().unhandled, 1);
    });
}
