//! Runs the framework comparison twice: under the system allocator, then under mimalloc.
//!
//! ```text
//! cargo run --release -p benches [-- --quick] [-- --frameworks simple,threaded,actix]
//! ```
//!
//! The measurements live in the `compare` bench target (`benches/compare.rs`), which alone links
//! the peer frameworks (they are dev-dependencies); this runner builds and runs it with
//! `cargo bench`, passing its own arguments on.

use std::ffi::OsString;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut ok = true;
    for features in [None, Some("mimalloc")] {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(["bench", "-p", "benches", "--bench", "compare"]);
        if let Some(features) = features {
            cmd.args(["--features", features]);
        }
        cmd.arg("--").args(&args);
        match cmd.status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("{cmd:?} failed: {status}");
                ok = false;
            }
            Err(e) => {
                eprintln!("cannot run {cmd:?}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
