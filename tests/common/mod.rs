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

use std::time::{Duration, Instant};

use thespian::{ActorSystem, SystemBase};

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

/// Polls `check` until it holds or `timeout` passes; returns whether it held. For waiting on
/// other threads' work without asserting how fast it is.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A generous timeout for asks that must succeed: it only matters when something is broken.
pub const ASK: Duration = Duration::from_secs(10);

/// Writes a scenario once and runs it on every base.
macro_rules! conformance {
    ($( $(#[$meta:meta])* fn $name:ident($system:ident) $body:block )*) => {
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
            }
        )*
    };
}
