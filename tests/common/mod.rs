//! What every conformance test file shares: a scenario is written once and run on every base.
//!
//! ```ignore
//! conformance! {
//!     /// What the scenario checks.
//!     fn test_bad_news(system) {
//!         let a = system.create_actor::<A>().unwrap();
//!         ...
//!     }
//! }
//! ```
//! expands to a module `test_bad_news` with one `#[test]` per base (`simple`, `threaded`), each
//! running the body with a fresh system of that base, which is shut down afterwards.
#![allow(dead_code, unused_macros)]

use std::time::Duration;

use thespian::{ActorSystem, SystemBase};

#[path = "processes.rs"]
pub mod processes;
pub use processes::eventually;

/// The bases every scenario runs on.
pub const BASES: [SystemBase; 2] = [SystemBase::Simple, SystemBase::Threaded];

/// Starts a system of `base` for a scenario.
pub fn system(base: SystemBase) -> ActorSystem {
    ActorSystem::builder().base(base).shutdown_timeout(Duration::from_secs(20)).build().expect("the system starts")
}

/// Shuts a scenario's system down even when the scenario fails.
pub struct Running(pub ActorSystem);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.shutdown();
    }
}

/// Lets `d` pass for the system's timers: the `Simple` base's clock is moved forward (exact and
/// instant); other bases follow real time, so the thread sleeps.
pub fn let_time_pass(system: &ActorSystem, d: Duration) {
    match system.base() {
        SystemBase::Simple => system.advance_clock(d).expect("Simple advances its clock"),
        _ => std::thread::sleep(d),
    }
}

/// A generous timeout for asks that must succeed: it only matters when something is broken.
pub const ASK: Duration = Duration::from_secs(10);

/// Writes a scenario once and runs it on every base. A scenario that cannot apply to the
/// multi-process base says why: `fn name(system) [skip_multiproc = "reason"] { .. }` (the test is
/// then listed as ignored, with the reason).
macro_rules! conformance {
    ($( $(#[$meta:meta])* fn $name:ident($system:ident) $([skip_multiproc = $reason:literal])? $body:block )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn scenario($system: &::thespian::ActorSystem) $body

                fn run(base: ::thespian::SystemBase) {
                    let running = $crate::common::Running($crate::common::system(base));
                    scenario(&running.0);
                }

                #[test]
                fn simple() {
                    run(::thespian::SystemBase::Simple);
                }

                #[test]
                fn threaded() {
                    run(::thespian::SystemBase::Threaded);
                }

                conformance_multiproc!($($reason)?);
            }
        )*
    };
}

/// The multi-process run of a scenario, or why there is none.
macro_rules! conformance_multiproc {
    () => {
        #[test]
        fn multiproc_tcp() {
            $crate::common::run_multiproc(scenario);
        }
    };
    ($reason:literal) => {
        #[test]
        #[ignore = $reason]
        fn multiproc_tcp() {}
    };
}

/// Runs a scenario against a node of the `MultiprocTcp` base started from this very test program
/// on a port of its own, and stops that node (by its pid if need be) whatever happens.
pub fn run_multiproc(scenario: fn(&ActorSystem)) {
    let start = || {
        // A port of its own: free when asked for, though another test may take it before the
        // node binds it — which is the one reason to try a second port.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let program = std::env::current_exe().expect("this test program");
        ActorSystem::builder()
            .base(SystemBase::MultiprocTcp)
            .admin_port(port)
            .cookie("conformance")
            .node_program(program)
            .node_args(["common::thespian_node_role", "--exact", "--nocapture", "--test-threads=1"])
            .shutdown_timeout(Duration::from_secs(20))
            .build()
    };
    let system = match start() {
        Ok(system) => system,
        Err(first) => {
            eprintln!("starting a node failed ({first}); trying another port");
            start().unwrap_or_else(|e| panic!("the node starts: {e} (first try: {first})"))
        }
    };
    let node = processes::NodeGuard::of(system);
    scenario(node.system());
}

/// The node role of this test program: `run_multiproc` starts the program again with only this
/// test selected, and `init` runs the node (or an isolated actor's process) there. In an ordinary
/// test run it returns at once.
#[test]
fn thespian_node_role() {
    thespian::init();
}
