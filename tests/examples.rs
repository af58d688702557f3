//! Every seed example prints exactly what the seed shows, on both in-process bases.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let mut path = std::env::current_exe().expect("test executable path");
    path.pop();
    path.pop();
    path.push("examples");
    path.push(name);
    assert!(path.exists(), "{} was not built; `cargo test` builds the examples", path.display());
    path
}

fn check(name: &str, expected: &str) {
    for args in [&[][..], &["--threaded"][..]] {
        let out = Command::new(example(name)).args(args).output().expect("run example");
        assert!(out.status.success(), "{name} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{name} {args:?}");
    }
}

#[test]
fn hello_prints_the_seed_output() {
    check("hello", "Hello, World!\n");
}

#[test]
fn hello_redux_prints_two_greetings_then_none_for_the_exited_actor() {
    check("hello_redux", "Hello, World!\nHello, World!\nNone\n");
}

#[test]
fn hello_dispatcher_prints_the_seed_output() {
    check("hello_dispatcher", "Hello, World!!!\n");
}
