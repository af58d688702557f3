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

/// The seeds' distributed echo on one machine: a server node that leads its convention and is left
/// running, a client node that joins it; the requestor runs on the client, the echo server on the
/// server. The server is stopped by its own `--stop`, or by its pid if that fails.
#[test]
fn echo_client_and_server_run_as_the_seed_shows() {
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (server_port, client_port) = (free(), free());
    let tmp = std::env::temp_dir().join(format!("thespian-echo-{}-{server_port}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("a temporary folder");
    let run = |name: &str, port: u16, args: &[&str]| {
        Command::new(example(name))
            .args(args)
            .env("THESPIAN_ADMIN_PORT", port.to_string())
            .env("TMPDIR", &tmp)
            .output()
            .expect("run example")
    };
    let started = run("echo_server", server_port, &[]);
    let stdout = String::from_utf8_lossy(&started.stdout).to_string();
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let pid: u32 = stdout.split("(pid ").nth(1).and_then(|r| r.split(')').next()).and_then(|p| p.parse().ok()).unwrap();
    struct Stop(u32);
    impl Drop for Stop {
        fn drop(&mut self) {
            if let Some(pid) = rustix::process::Pid::from_raw(self.0 as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
    let guard = Stop(pid);
    // The server returned at once; its node keeps running.
    assert!(std::net::TcpStream::connect(("127.0.0.1", server_port)).is_ok());
    let leader = format!("127.0.0.1:{server_port}");
    for _ in 0..2 {
        let out = run("echo_client", client_port, &[&leader, "1000"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let line = String::from_utf8_lossy(&out.stdout).to_string();
        let timedelta = line.strip_prefix("Got all messages, timedelta: ").expect(&line).trim_end();
        // `H:MM:SS.ffffff`, as the original prints a timedelta.
        let (h, rest) = timedelta.split_once(':').expect(timedelta);
        assert!(
            h.parse::<u64>().is_ok() && rest.len() == 12 && rest.as_bytes()[2] == b':' && rest.as_bytes()[5] == b'.'
        );
        // The client's node is gone when it returns; the server's is not.
        assert!(node_gone(client_port));
    }
    let stopped = run("echo_server", server_port, &["--stop"]);
    assert!(stopped.status.success(), "{}", String::from_utf8_lossy(&stopped.stderr));
    assert!(node_gone(server_port));
    drop(guard);
    let _ = std::fs::remove_dir_all(&tmp);
}
