use thespian::prelude::*;

mod checks {
    use thespian::prelude::*;

    pub fn roomy(capabilities: &Capabilities, requirements: &Requirements) -> bool {
        let have = capabilities.get("Disk GB").and_then(|v| v.as_u64()).unwrap_or(0);
        let need = requirements.get("Disk GB").and_then(|v| v.as_u64()).unwrap_or(0);
        have >= need
    }
}

#[derive(Default)]
struct Store;

#[actor(
    name = "app::Store",
    require_capability = "Server",
    require_capability(name = "Region", value = "eu"),
    require_capability(name = "Replicas", value = 3),
    require_capability(name = "Load", value = -0.25),
    require_capability(name = "Writable", value = true),
    capability_check = checks::roomy
)]
impl Store {
    #[handler]
    fn put(&mut self, key: String) -> String {
        key
    }
}

#[derive(Default)]
struct Pool;

#[actor(troupe(max_count = 2), require_capability = "Server")]
impl Pool {
    #[handler]
    fn work(&mut self, n: u64) -> u64 {
        n * 2
    }
}

struct Local;

#[actor(local, require_capability = "Server")]
impl Local {
    #[handler]
    fn hi(&mut self, msg: String) -> String {
        msg
    }
}

fn main() {
    let system = ActorSystem::builder()
        .capabilities([("Server", true), ("Writable", true)])
        .capability("Region", "eu")
        .capability("Replicas", 3)
        .capability("Load", -0.25)
        .capability("Disk GB", 100)
        .build()
        .unwrap();
    let store = system.create_actor_with::<Store>(ActorOptions::new().requirement("Disk GB", 10)).unwrap();
    let key: String = system.ask(&store, "k", Duration::from_secs(5)).unwrap();
    assert_eq!(key, "k");
    assert!(matches!(
        system.create_actor_with::<Store>(ActorOptions::new().requirement("Disk GB", 1000)),
        Err(Error::NoCompatibleSystem { .. })
    ));
    let pool = system.create_actor::<Pool>().unwrap();
    assert_eq!(system.ask::<u64, _, _>(&pool, 21u64, Duration::from_secs(5)).unwrap(), 42);
    let local = system.create_actor_from(Local).unwrap();
    assert_eq!(system.ask::<String, _, _>(&local, "x", Duration::from_secs(5)).unwrap(), "x");
    system.update_capability("Server", None).unwrap();
    assert!(matches!(system.create_actor_from(Local), Err(Error::NoCompatibleSystem { .. })));
    system.shutdown().unwrap();
}
