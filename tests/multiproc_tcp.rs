//! The `MultiprocTcp` base with real processes on loopback: a node started from the helper
//! program `tcp_node`, joined by this test process and by a second process, and every kind of bad
//! input on the admin port. Each test uses its own port and stops what it started, by pid, even
//! when it fails.

#[path = "common/processes.rs"]
mod processes;
#[path = "common/tcp_actors.rs"]
mod tcp_actors;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use processes::{NodeGuard, alive, children_of, free_port, kill, signal, wait_gone};
use tcp_actors::{Blob, Echo, Nap, Parent, Ping, Relay};
use thespian::prelude::*;

/// The helper program the runtime starts as the node.
const NODE_PROGRAM: &str = env!("CARGO_BIN_EXE_tcp_node");
const COOKIE: &str = "test-cookie";
const ASK: Duration = Duration::from_secs(20);

/// Starts a node of the helper program on `port`, guarded.
fn start(port: u16) -> NodeGuard {
    NodeGuard::of(builder(port).build().expect("the node starts"))
}

fn builder(port: u16) -> thespian::ActorSystemBuilder {
    ActorSystem::builder().base(SystemBase::MultiprocTcp).admin_port(port).cookie(COOKIE).node_program(NODE_PROGRAM)
}

#[test]
fn a_node_outlives_its_starter_and_serves_later_processes() {
    let port = free_port();
    let guard = start(port);
    assert_ne!(guard.pid, std::process::id(), "the node is a process of its own");
    let status = guard.system().node_status().unwrap();
    assert_eq!(status.node, format!("127.0.0.1:{port}"));

    // The starter creates an actor, uses it, and leaves without stopping the node.
    let echo = guard.system().create_actor_with::<Echo>(ActorOptions::new().global_name("echo")).unwrap();
    let reply: String = guard.system().ask(&echo, "hi".to_owned(), ASK).unwrap();
    assert_eq!(reply, "hi");
    let first_address = echo.address().clone();
    let mut guard = guard;
    let pid = guard.pid;
    drop(guard.system.take());
    assert!(alive(pid), "the node outlives the process handle that started it");

    // A later client joins the same node (nothing new is started) and finds the same actor.
    guard.system = Some(builder(port).build().unwrap());
    assert_eq!(guard.system().node_status().unwrap().pid, pid);
    let again = guard.system().create_actor_with::<Echo>(ActorOptions::new().global_name("echo")).unwrap();
    assert_eq!(again.address(), &first_address);
    assert_eq!(guard.system().ask::<u64, _, _>(&again, 0u64, ASK).unwrap(), 1, "the actor kept its state");

    // A second process talks to it too.
    let output = std::process::Command::new(NODE_PROGRAM)
        .args(["client", &port.to_string(), COOKIE, "echo"])
        .output()
        .expect("the second process runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("reply: from another process"));
    assert_eq!(guard.system().ask::<u64, _, _>(&again, 0u64, ASK).unwrap(), 2);

    // Shutdown from any process stops the node and every actor in it.
    guard.system().shutdown().unwrap();
    assert!(wait_gone(pid, Duration::from_secs(10)), "the node process ends after shutdown");
}

#[test]
fn replies_and_addresses_cross_processes_in_order() {
    let port = free_port();
    let guard = start(port);
    let system = guard.system();
    let parent = system.create_actor::<Parent>().unwrap();
    // An address created in the node travels to this process inside a reply, and works here.
    let child: ActorAddress = system.ask(&parent, true, ASK).unwrap();
    let child = Addr::<Echo>::unchecked(child);
    assert_eq!(system.ask::<Ping, _, _>(&child, Ping { n: 41 }, ASK).unwrap(), Ping { n: 42 });
    // An address of this process travels to the node inside a message: the actor there sends to
    // it, and the text arrives here (`listen`), in the order sent.
    // An address sent from this process inside a message is used by the actor in the node.
    let other = system.create_actor::<Echo>().unwrap();
    system.tell(&child, Relay { to: other.address().clone(), text: "relayed".into() }).unwrap();
    let deadline = Instant::now() + ASK;
    while system.ask::<u64, _, _>(&other, 0u64, ASK).unwrap() == 0 {
        assert!(Instant::now() < deadline, "the relayed message never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The child echoes each text back to its sender: this process's external endpoint.
    for i in 0..200 {
        system.tell(&child, format!("{i}")).unwrap();
    }
    for i in 0..200 {
        let got = system.listen(ASK).unwrap();
        assert_eq!(got.downcast_ref::<String>().map(String::as_str), Some(format!("{i}").as_str()));
    }
}

#[test]
fn a_wrong_cookie_is_refused_and_the_node_keeps_serving() {
    let port = free_port();
    let guard = start(port);
    let wrong = ActorSystem::builder().base(SystemBase::MultiprocTcp).admin_port(port).cookie("not-the-cookie").build();
    assert!(matches!(wrong, Err(Error::Refused { ref reason, .. }) if reason.contains("cookie")), "{wrong:?}");
    let echo = guard.system().create_actor::<Echo>().unwrap();
    assert_eq!(guard.system().ask::<String, _, _>(&echo, "still here".to_owned(), ASK).unwrap(), "still here");
    // The refusal is in the node's log, whose path the node's status gives.
    let log = guard.system().node_status().unwrap().log.expect("a node started by a client writes a log");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("node started"), "{text}");
    assert!(text.contains("refused a connection") && text.contains("wrong cookie"), "{text}");
}

#[test]
fn garbage_truncated_and_oversized_frames_drop_only_that_connection() {
    let port = free_port();
    let guard = start(port);
    let send_raw = |bytes: &[u8]| {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(bytes).unwrap();
        // The node closes the connection (or answers with a refusal, then closes).
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    };
    // Random bytes: a length header with garbage after it.
    send_raw(&[0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    // A truncated frame: the header promises more than ever comes.
    send_raw(&[0, 0, 0, 100, 1, 2, 3]);
    // A frame over the maximum size: refused from its header, before anything is buffered.
    send_raw(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    let echo = guard.system().create_actor::<Echo>().unwrap();
    assert_eq!(guard.system().ask::<String, _, _>(&echo, "fine".to_owned(), ASK).unwrap(), "fine");
}

/// A message type only this test program has: the node cannot read it.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "test::OnlyInTheTest")]
struct OnlyInTheTest {
    n: u32,
}

#[test]
fn a_message_type_the_node_lacks_comes_back_as_poison_naming_it() {
    let port = free_port();
    let guard = start(port);
    let echo = guard.system().create_actor::<Echo>().unwrap();
    let unchecked = echo.address().clone();
    let err = guard.system().ask_any(&unchecked, OnlyInTheTest { n: 1 }, ASK).unwrap_err();
    match err {
        Error::Poison { message_type, details, .. } => {
            assert_eq!(message_type, "test::OnlyInTheTest");
            assert!(details.contains(&format!("127.0.0.1:{port}")), "{details}");
        }
        other => panic!("expected a poison, got {other:?}"),
    }
    assert_eq!(guard.system().ask::<String, _, _>(&echo, "ok".to_owned(), ASK).unwrap(), "ok");
}

#[derive(Default)]
struct OnlyHere;

#[actor(name = "test::OnlyHere")]
impl OnlyHere {
    #[handler]
    fn any(&mut self, _m: String) {}
}

#[test]
fn creating_an_actor_type_the_node_lacks_names_the_type_and_the_node() {
    let port = free_port();
    let guard = start(port);
    let err = guard.system().create_actor::<OnlyHere>().unwrap_err();
    assert!(
        matches!(&err, Error::UnknownActorType { name, system } if name == "test::OnlyHere" && system.as_str() == format!("127.0.0.1:{port}")),
        "{err:?}"
    );
    assert!(err.to_string().contains("test::OnlyHere"));
}

#[test]
fn a_message_over_the_maximum_frame_comes_back_and_a_large_one_under_it_travels() {
    let port = free_port();
    let guard = start(port);
    let echo = guard.system().create_actor::<Echo>().unwrap();
    // 50 MB travels, as in the original's test_bigmessages (the default maximum frame is 64 MiB).
    let size = 50_000_000;
    let n: u64 = guard.system().ask(&echo, Blob { bytes: vec![7; size] }, ASK).unwrap();
    assert_eq!(n, size as u64);
    // A client with a small maximum frame cannot send a large message: it comes back, never lost.
    let small = builder(port).max_frame(64 * 1024).build().unwrap();
    let err = small.ask::<u64, _, _>(&echo, Blob { bytes: vec![7; 1024 * 1024] }, ASK).unwrap_err();
    assert!(
        matches!(&err, Error::Poison { details, message: Some(_), .. } if details.contains("maximum frame")),
        "{err:?}"
    );
}

#[test]
fn the_admin_port_taken_by_something_else_is_a_clear_error() {
    let squatter = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // Accepts, writes something that is not a handshake, and hangs up.
        if let Ok((mut stream, _)) = squatter.accept() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let err = builder(port).build().unwrap_err();
    assert!(matches!(err, Error::NotANode { .. }), "{err:?}");
    assert!(err.to_string().contains("admin port"));
    server.join().unwrap();
}

#[test]
fn a_killed_node_fails_a_waiting_ask_within_its_timeout() {
    let port = free_port();
    let guard = start(port);
    let echo = guard.system().create_actor::<Echo>().unwrap();
    let pid = guard.pid;
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        kill(pid);
    });
    let result = guard.system().ask::<String, _, _>(&echo, Nap { millis: 5_000 }, Duration::from_secs(30));
    killer.join().unwrap();
    // Not a timeout: the lost connection fails the ask as soon as it is noticed.
    assert!(matches!(result, Err(Error::ConnectionLost(_))), "{result:?}");
    assert!(wait_gone(pid, Duration::from_secs(5)));
}

#[test]
fn a_rebuilt_program_is_not_served_by_a_node_running_its_old_build() {
    // The node runs from a copy of the helper program...
    let dir = std::env::temp_dir().join(format!("thespian-stale-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("tcp_node");
    std::fs::copy(NODE_PROGRAM, &copy).unwrap();
    let port = free_port();
    let guard = NodeGuard::of(builder(port).node_program(&copy).build().unwrap());
    let pid = guard.pid;
    // ...which is then "rebuilt": same path, new build stamp.
    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    std::fs::File::open(&copy).unwrap().set_modified(later).unwrap();
    let output =
        std::process::Command::new(&copy).args(["client", &port.to_string(), COOKIE, "echo"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("another build of this program"), "{stderr}");
    assert!(stderr.contains(&pid.to_string()), "the error says which process to stop: {stderr}");
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_isolated_actor_runs_in_its_own_process_and_its_killing_is_reported_to_its_parent() {
    use tcp_actors::{ExitedCount, StartChild, Supervisor, WhichProcess};
    let port = free_port();
    let guard = start(port);
    let system = guard.system();
    let supervisor = system.create_actor::<Supervisor>().unwrap();
    let child: ActorAddress = system.ask(&supervisor, StartChild, ASK).unwrap();
    let child = Addr::<tcp_actors::Isolated>::unchecked(child);
    let child_pid: u32 = system.ask(&child, WhichProcess, ASK).unwrap();
    assert_ne!(child_pid, guard.pid, "the actor runs in a process of its own");
    assert_ne!(child_pid, std::process::id());
    // What its parent sent before the process had connected arrived first, in order.
    assert_eq!(system.ask::<String, _, _>(&child, "third".to_owned(), ASK).unwrap(), "first,second,third");
    let dead_letters_before = system.stats().dead_letters;

    kill(child_pid);
    assert!(wait_gone(child_pid, Duration::from_secs(5)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while system.ask::<u32, _, _>(&supervisor, ExitedCount, ASK).unwrap() != 1 {
        assert!(Instant::now() < deadline, "the parent was never told its isolated child died");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Messages to the dead process are dead letters, not lost.
    system.tell(&child, "too late".to_owned()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while system.stats().dead_letters == dead_letters_before {
        assert!(Instant::now() < deadline, "a message to a dead process was not counted as a dead letter");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn an_isolated_actor_that_aborts_is_reported_and_top_level_ones_end_with_the_node() {
    use tcp_actors::{Abort, ExitedCount, StartChild, Supervisor, WhichProcess};
    let port = free_port();
    let guard = start(port);
    let system = guard.system();
    let supervisor = system.create_actor::<Supervisor>().unwrap();
    let child = Addr::<tcp_actors::Isolated>::unchecked(system.ask(&supervisor, StartChild, ASK).unwrap());
    let child_pid: u32 = system.ask(&child, WhichProcess, ASK).unwrap();
    system.tell(&child, Abort).unwrap();
    assert!(wait_gone(child_pid, Duration::from_secs(5)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while system.ask::<u32, _, _>(&supervisor, ExitedCount, ASK).unwrap() != 1 {
        assert!(Instant::now() < deadline, "the parent was never told its isolated child aborted");
        std::thread::sleep(Duration::from_millis(5));
    }
    // An isolated actor created from outside belongs to the node and ends with it.
    let top = system.create_actor::<tcp_actors::Isolated>().unwrap();
    let top_pid: u32 = system.ask(&top, WhichProcess, ASK).unwrap();
    assert_ne!(top_pid, guard.pid);
    system.shutdown().unwrap();
    assert!(wait_gone(top_pid, Duration::from_secs(10)), "no isolated process outlives its node");
    assert!(wait_gone(guard.pid, Duration::from_secs(10)));
}

/// The first frame of the wire, as another program (or a future version) would write it.
#[derive(Serialize)]
enum PeerFrame {
    Hello { version: u32, identity: PeerIdentity, nonce: [u8; 32] },
}

#[derive(Serialize)]
struct PeerIdentity {
    node: String,
    program: String,
    build: String,
    pid: u32,
}

#[derive(Deserialize, Debug)]
enum NodeFrame {
    Refused { reason: String },
}

#[test]
fn a_peer_speaking_another_protocol_version_is_refused_with_the_reason() {
    let port = free_port();
    let guard = start(port);
    let hello = PeerFrame::Hello {
        version: 99,
        identity: PeerIdentity { node: "future".into(), program: "future".into(), build: "1".into(), pid: 1 },
        nonce: [0; 32],
    };
    let body = rmp_serde::to_vec_named(&hello).unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).unwrap();
    let mut reply = vec![0u8; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut reply).unwrap();
    let NodeFrame::Refused { reason } = rmp_serde::from_slice(&reply).unwrap();
    assert!(reason.contains("protocol version 99"), "{reason}");
    // The node goes on serving everyone else.
    let echo = guard.system().create_actor::<Echo>().unwrap();
    assert_eq!(guard.system().ask::<String, _, _>(&echo, "still".to_owned(), ASK).unwrap(), "still");
}

#[test]
fn sending_to_an_address_no_process_of_the_node_knows_fails_the_handler() {
    let port = free_port();
    let guard = start(port);
    // An address of a system in this test process, which the node cannot reach.
    let elsewhere = ActorSystem::with_base(SystemBase::Threaded).unwrap();
    let stranger = elsewhere.create_actor::<Echo>().unwrap();
    let echo = guard.system().create_actor::<Echo>().unwrap();
    let err = guard
        .system()
        .ask::<String, _, _>(&echo, Relay { to: stranger.address().clone(), text: "hi".into() }, ASK)
        .unwrap_err();
    assert!(matches!(&err, Error::Poison { details, .. } if details.contains("InvalidActorAddress")), "{err:?}");
    assert_eq!(guard.system().ask::<String, _, _>(&echo, "fine".to_owned(), ASK).unwrap(), "fine");
    elsewhere.shutdown().unwrap();
}

#[test]
fn the_starting_process_sees_the_node_log_while_it_waits() {
    let port = free_port();
    // A second program starts the node (nobody is on the port yet) and leaves it running.
    let output = std::process::Command::new(NODE_PROGRAM)
        .args(["client", &port.to_string(), COOKIE, "echo"])
        .output()
        .expect("the client runs");
    let guard = start(port);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("node started") && stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert_ne!(guard.pid, 0);
}

#[test]
fn an_isolated_actor_that_never_starts_fails_asks_at_once_and_counts_dead_letters() {
    let port = free_port();
    let guard = start(port);
    let fragile = guard.system().create_actor::<tcp_actors::Fragile>().unwrap();
    // Not a timeout: what was waiting for the process becomes dead letters, and the ask is told.
    let result = guard.system().ask::<String, _, _>(&fragile, "anyone?".to_owned(), Duration::from_secs(60));
    assert!(matches!(result, Err(Error::DeadTarget(_))), "{result:?}");
    assert!(guard.system().stats().dead_letters >= 1);
}

#[test]
fn shutdown_async_from_async_code_stops_the_node() {
    let port = free_port();
    let guard = start(port);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let system = guard.system().clone();
    runtime.block_on(async move { system.shutdown_async().await }).unwrap();
    assert!(wait_gone(guard.pid, Duration::from_secs(10)), "the node ends");
}

#[test]
fn a_program_that_merely_inherits_the_node_environment_does_not_become_a_node() {
    // As if an actor in a node had started the program: the role marker is set, but it names
    // another parent, so the program runs as itself.
    let port = free_port();
    let output = std::process::Command::new(NODE_PROGRAM)
        .env("THESPIAN_ROLE", "node")
        .env("THESPIAN_ROLE_PARENT", "1")
        .env("THESPIAN_ADMIN_PORT", port.to_string())
        .output()
        .expect("the program runs");
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: tcp_node"), "{output:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "no node listens");
}

#[test]
fn a_process_that_stops_reading_makes_its_senders_messages_come_back_not_memory_grow() {
    use tcp_actors::{Flood, Flooder, Returned, WhichProcess};
    let port = free_port();
    let guard = NodeGuard::of(builder(port).send_queue_limit(256 * 1024).build().expect("the node starts"));
    let system = guard.system();
    let slow = system.create_actor::<tcp_actors::Isolated>().unwrap();
    let slow_pid: u32 = system.ask(&slow, WhichProcess, ASK).unwrap();
    // It stops reading: what the node sends it piles up, first in the kernel, then in the node.
    signal(slow_pid, rustix::process::Signal::STOP);
    let flooder = system.create_actor::<Flooder>().unwrap();
    system.tell(&flooder, Flood { to: slow.address().clone(), n: 20_000, size: 1024 }).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (returned, reason) = loop {
        let answer: String = system.ask(&flooder, Returned, ASK).unwrap();
        let (count, reason) = answer.split_once('|').unwrap();
        if count != "0" {
            break (count.parse::<u64>().unwrap(), reason.to_owned());
        }
        assert!(Instant::now() < deadline, "nothing came back although the peer stopped reading");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(returned > 0);
    assert!(reason.contains("not keeping up"), "{reason}");
    kill(slow_pid);
}

#[test]
fn an_isolated_actor_whose_process_never_connects_is_killed_and_reported() {
    use tcp_actors::{ExitedCount, StartStuck, Supervisor};
    let port = free_port();
    let guard = NodeGuard::of(
        builder(port).isolated_start_timeout(Duration::from_millis(300)).build().expect("the node starts"),
    );
    let system = guard.system();
    let supervisor = system.create_actor::<Supervisor>().unwrap();
    let _stuck: ActorAddress = system.ask(&supervisor, StartStuck, ASK).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while system.ask::<u32, _, _>(&supervisor, ExitedCount, ASK).unwrap() != 1 {
        assert!(Instant::now() < deadline, "the parent was never told its child did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !children_of(guard.pid).is_empty() {
        assert!(Instant::now() < deadline, "the process that never connected is still there");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_isolated_actors_isolated_child_runs_in_a_process_of_its_own() {
    use tcp_actors::{ExitedCount, StartChild, WhichProcess};
    let port = free_port();
    let guard = start(port);
    let system = guard.system();
    let parent = system.create_actor::<tcp_actors::Isolated>().unwrap();
    let parent_pid: u32 = system.ask(&parent, WhichProcess, ASK).unwrap();
    let child = Addr::<tcp_actors::Isolated>::unchecked(system.ask(&parent, StartChild, ASK).unwrap());
    let child_pid: u32 = system.ask(&child, WhichProcess, ASK).unwrap();
    assert!(![parent_pid, guard.pid, std::process::id()].contains(&child_pid), "a process of its own");
    // What its parent sent before it connected came first.
    assert_eq!(system.ask::<String, _, _>(&child, "second".to_owned(), ASK).unwrap(), "first,second");
    kill(child_pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    while system.ask::<u32, _, _>(&parent, ExitedCount, ASK).unwrap() != 1 {
        assert!(Instant::now() < deadline, "the isolated parent was never told its child died");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_node_listens_on_and_is_named_by_the_host_address_it_is_given() {
    use tcp_actors::WhichProcess;
    let port = free_port();
    let host = std::net::Ipv4Addr::new(127, 0, 0, 2);
    let guard = NodeGuard::of(builder(port).admin_host(host).build().expect("the node starts"));
    let system = guard.system();
    assert_eq!(system.node_status().unwrap().node, format!("127.0.0.2:{port}"));
    // Nobody listens on the default address for that port: the node is where it was told to be.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    // Its isolated actors' processes find it there too.
    let far = system.create_actor::<tcp_actors::Isolated>().unwrap();
    let far_pid: u32 = system.ask(&far, WhichProcess, ASK).unwrap();
    assert_ne!(far_pid, guard.pid);
    // A second process joining at that address is served by the same node.
    let other = builder(port).admin_host(host).build().unwrap();
    assert_eq!(other.node_status().unwrap().pid, guard.pid);
}
