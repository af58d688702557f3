//! Every seed example prints exactly what the seed shows, on every base (`--multiproc` runs it
//! in a node process the example starts and shuts down).

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
    for args in [&[][..], &["--threaded"][..], &["--multiproc"][..]] {
        // Each run gets its own admin port; the example shuts its node down at the end.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // The node's log goes to a folder of this run's own, removed afterwards.
        let tmp = std::env::temp_dir().join(format!("thespian-example-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&tmp).expect("a temporary folder");
        let out = Command::new(example(name))
            .args(args)
            .env("THESPIAN_ADMIN_PORT", port.to_string())
            .env("TMPDIR", &tmp)
            .output()
            .expect("run example");
        let _ = std::fs::remove_dir_all(&tmp);
        assert!(out.status.success(), "{name} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{name} {args:?}");
        if args == ["--multiproc"] {
            assert!(node_gone(port), "{name}: the node on port {port} is still there after shutdown");
        }
    }
}

/// Whether the admin port is free again (the node has ended), waiting a little for it.
fn node_gone(port: u16) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    true
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
