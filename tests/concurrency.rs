//! Many actors, many messages, several threads: nothing lost, nothing reordered per sender, and
//! an actor never runs two messages at once — on every in-process base.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use thespian::prelude::*;

const BASES: [SystemBase; 2] = [SystemBase::Simple, SystemBase::Threaded];
const LONG: Duration = Duration::from_secs(60);

/// A token that hops between players until its hops run out, then reports to the collector.
#[derive(Debug, Serialize, Deserialize, Message)]
struct Token {
    id: u32,
    hops_left: u32,
    collector: ActorAddress,
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Players(Vec<ActorAddress>);

#[derive(Default)]
struct Player {
    players: Vec<ActorAddress>,
    /// Set while a handler runs: a second concurrent run would find it set.
    busy: Arc<AtomicBool>,
    overlaps: u32,
}

#[actor]
impl Player {
    #[handler]
    fn players(&mut self, Players(all): Players) {
        self.players = all;
    }

    #[handler]
    fn token(&mut self, mut token: Token, cx: &mut Context<'_>) {
        if self.busy.swap(true, Ordering::SeqCst) {
            self.overlaps += 1;
        }
        if token.hops_left == 0 {
            let collector = token.collector.clone();
            cx.send(&collector, token.id);
        } else {
            token.hops_left -= 1;
            let next = (token.id as usize + token.hops_left as usize * 7) % self.players.len();
            let next = self.players[next].clone();
            cx.send(&next, token);
        }
        self.busy.store(false, Ordering::SeqCst);
    }

    #[handler]
    fn overlaps(&mut self, _q: ()) -> Option<u32> {
        Some(self.overlaps)
    }
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct CountQuery;

#[derive(Default)]
struct Collector {
    done: u32,
}

#[actor]
impl Collector {
    #[handler]
    fn finished(&mut self, _id: u32) {
        self.done += 1;
    }

    #[handler]
    fn count(&mut self, _q: CountQuery) -> u32 {
        self.done
    }
}

#[test]
fn tokens_hopping_between_many_actors_all_arrive() {
    for base in BASES {
        let system = ActorSystem::with_base(base).unwrap();
        let players: Vec<ActorAddress> = (0..40).map(|_| system.create_actor::<Player>().unwrap().into()).collect();
        for p in &players {
            system.tell(p, Players(players.clone())).unwrap();
        }
        let collector = system.create_actor::<Collector>().unwrap();
        const TOKENS: u32 = 400;
        for id in 0..TOKENS {
            let token = Token { id, hops_left: 250, collector: collector.clone().into() };
            system.tell(&players[id as usize % players.len()], token).unwrap();
        }
        let deadline = std::time::Instant::now() + LONG;
        loop {
            let done: u32 = system.ask(&collector, CountQuery, LONG).unwrap();
            if done == TOKENS {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{base:?}: only {done} of {TOKENS} tokens arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
        for p in &players {
            let overlaps = system.ask_any(p, (), LONG).unwrap();
            assert_eq!(overlaps.downcast_ref::<u32>(), Some(&0), "{base:?}: an actor ran two messages at once");
        }
        assert_eq!(system.stats().dead_letters, 0);
        system.shutdown().unwrap();
    }
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Seq {
    sender: u32,
    n: u64,
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Report;

#[derive(Debug, Serialize, Deserialize, Message)]
struct Tally {
    received: u64,
    out_of_order: u32,
}

#[derive(Default)]
struct OrderChecker {
    last: HashMap<u32, u64>,
    out_of_order: u32,
    received: u64,
}

#[actor]
impl OrderChecker {
    #[handler]
    fn seq(&mut self, Seq { sender, n }: Seq) {
        let last = self.last.entry(sender).or_insert(0);
        if n != *last + 1 {
            self.out_of_order += 1;
        }
        *last = n;
        self.received += 1;
    }

    #[handler]
    fn report(&mut self, _r: Report) -> Tally {
        Tally { received: self.received, out_of_order: self.out_of_order }
    }
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct SendBurst {
    me: u32,
    count: u64,
    to: ActorAddress,
}

#[derive(Default)]
struct Burster;

#[actor]
impl Burster {
    #[handler]
    fn burst(&mut self, SendBurst { me, count, to }: SendBurst, cx: &mut Context<'_>) {
        for n in 1..=count {
            cx.send(&to, Seq { sender: me, n });
        }
    }
}

#[test]
fn messages_from_each_sender_arrive_in_order() {
    for base in BASES {
        let system = ActorSystem::with_base(base).unwrap();
        let checker = system.create_actor::<OrderChecker>().unwrap();
        const SENDERS: u32 = 6;
        const EACH: u64 = 20_000;
        // Actor senders, running in parallel on Threaded.
        for me in 0..SENDERS {
            let burster = system.create_actor::<Burster>().unwrap();
            system.tell(&burster, SendBurst { me, count: EACH, to: checker.clone().into() }).unwrap();
        }
        // External senders on their own threads.
        let threads: Vec<_> = (SENDERS..SENDERS + 3)
            .map(|me| {
                let (system, checker) = (system.clone(), checker.clone());
                std::thread::spawn(move || {
                    for n in 1..=EACH {
                        system.tell(&checker, Seq { sender: me, n }).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let total = u64::from(SENDERS + 3) * EACH;
        let deadline = std::time::Instant::now() + LONG;
        loop {
            let Tally { received, out_of_order } = system.ask(&checker, Report, LONG).unwrap();
            assert_eq!(out_of_order, 0, "{base:?}");
            if received == total {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{base:?}: {received} of {total}");
            std::thread::sleep(Duration::from_millis(5));
        }
        system.shutdown().unwrap();
    }
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Nap(u64);

#[derive(Default)]
struct Napper {
    log: Vec<String>,
}

#[actor]
impl Napper {
    /// Awaits a real timer: the actor is suspended, and its other mail waits behind it.
    #[handler]
    async fn nap(&mut self, Nap(ms): Nap) {
        self.log.push(format!("nap {ms} start"));
        tokio::time::sleep(Duration::from_millis(ms)).await;
        self.log.push(format!("nap {ms} end"));
    }

    #[handler]
    fn note(&mut self, text: String) {
        self.log.push(text);
    }

    #[handler]
    fn log(&mut self, _q: ()) -> Option<Vec<u8>> {
        Some(self.log.join(";").into_bytes())
    }
}

#[test]
fn an_async_handler_awaiting_a_timer_holds_later_mail_until_it_is_done() {
    for base in BASES {
        let system = ActorSystem::with_base(base).unwrap();
        let napper = system.create_actor::<Napper>().unwrap();
        system.tell(&napper, Nap(30)).unwrap();
        system.tell(&napper, "after first").unwrap();
        system.tell(&napper, Nap(1)).unwrap();
        system.tell(&napper, "after second").unwrap();
        let log = system.ask_any(&napper, (), LONG).unwrap();
        let log = String::from_utf8(log.downcast_ref::<Vec<u8>>().unwrap().clone()).unwrap();
        assert_eq!(log, "nap 30 start;nap 30 end;after first;nap 1 start;nap 1 end;after second", "{base:?}");
        system.shutdown().unwrap();
    }
}
