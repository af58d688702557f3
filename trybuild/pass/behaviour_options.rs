use thespian::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Message)]
struct Config {
    limit: u32,
}

#[derive(Default)]
struct Supervised;

#[actor(on_panic = restart(max = 5, within = "1m"))]
impl Supervised {
    #[handler]
    fn hi(&mut self, _msg: String) {}
}

#[derive(Default)]
struct Pool;

#[actor(troupe(max_count = 8, idle_count = 1, dismiss_after = "500ms"))]
impl Pool {
    #[handler]
    fn work(&mut self, n: u64) -> u64 {
        n * 2
    }
}

#[derive(Default)]
struct Session {
    limit: u32,
}

#[actor(transient_idle(exit_after = "30s"), initializing_messages(Config))]
impl Session {
    #[handler]
    fn config(&mut self, config: Config) {
        self.limit = config.limit;
    }

    #[handler]
    fn check(&mut self, n: u32) -> bool {
        n < self.limit
    }
}

fn main() {
    let system = ActorSystem::new().unwrap();
    let pool = system.create_actor::<Pool>().unwrap();
    let n: u64 = system.ask(&pool, 21u64, Duration::from_secs(5)).unwrap();
    assert_eq!(n, 42);
    let _: thespian::TroupeSettings =
        system.ask(&pool, thespian::UpdateTroupeSettings::default(), Duration::from_secs(5)).unwrap();
    let _ = system.create_actor::<Supervised>().unwrap();
    let session = system.create_actor::<Session>().unwrap();
    system.tell(&session, Config { limit: 3 }).unwrap();
    assert!(system.ask::<bool, _, _>(&session, 2u32, Duration::from_secs(5)).unwrap());
}
