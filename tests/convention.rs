//! Conventions with real node processes on loopback, each on a port of its own: placement by
//! capability, addresses across three nodes, membership updates, a member or the leader killed,
//! fail-over and healing, and refusals. Every node a test starts is stopped — by its pid if need
//! be — whether the test passes or not.

#[path = "common/processes.rs"]
mod processes;
#[path = "common/tcp_actors.rs"]
mod tcp_actors;

use std::time::{Duration, Instant};

use processes::{NodeGuard, alive, eventually, free_port, kill};
use tcp_actors::{
    Bounce, ClientSide, ConventionWatcher, ExitedCount, Pinned, PlaceServer, Placer, Seen, ServerSide, Watch, WhereAmI,
};
use thespian::prelude::*;

const NODE_PROGRAM: &str = env!("CARGO_BIN_EXE_tcp_node");
const COOKIE: &str = "convention-cookie";
const ASK: Duration = Duration::from_secs(20);
/// Heartbeats in these tests: a silent node is lost after three, 0.6 s.
const HEARTBEAT: Duration = Duration::from_millis(200);
const MISSES: u32 = 3;
/// How long anything in a convention may take to settle here: far longer than it needs.
const SETTLE: Duration = Duration::from_secs(20);

fn address(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// A node of a convention, started by this test process and joined by it; stopped on drop.
struct Node {
    guard: NodeGuard,
    port: u16,
}

impl std::ops::Deref for Node {
    type Target = NodeGuard;
    fn deref(&self) -> &NodeGuard {
        &self.guard
    }
}

impl std::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut NodeGuard {
        &mut self.guard
    }
}

impl Node {
    fn start(port: u16, capabilities: &[(&str, &str)], leaders: &[u16]) -> Node {
        Self::start_with(port, capabilities, leaders, COOKIE)
    }

    fn start_with(port: u16, capabilities: &[(&str, &str)], leaders: &[u16], cookie: &str) -> Node {
        let mut builder = ActorSystem::builder()
            .base(SystemBase::MultiprocTcp)
            .admin_port(port)
            .cookie(cookie)
            .node_program(NODE_PROGRAM)
            .convention_leaders(leaders.iter().map(|p| address(*p)))
            .heartbeat(HEARTBEAT, MISSES);
        for (name, value) in capabilities {
            builder = builder.capability(*name, *value);
        }
        Node { guard: NodeGuard::of(builder.build().expect("the node starts")), port }
    }

    fn convention(&self) -> thespian::ConventionStatus {
        self.system().node_status().expect("the node answers").convention.expect("in a convention")
    }

    fn leader(&self) -> Option<String> {
        self.convention().leader
    }

    fn members(&self) -> Vec<String> {
        self.convention().members
    }

    /// Shuts the node down through the system, as a user would.
    fn stop(&mut self) {
        if let Some(system) = self.system.take() {
            let _ = system.shutdown();
        }
        eventually(Duration::from_secs(10), || !alive(self.pid));
    }
}

/// Waits until `node` knows all of `others` as members.
fn knows(node: &Node, others: &[&Node]) -> bool {
    eventually(SETTLE, || {
        let members = node.members();
        others.iter().all(|o| members.contains(&address(o.port)))
    })
}

#[test]
fn actors_are_placed_by_capability_both_ways() {
    let (s, c) = (free_port(), free_port());
    let server = Node::start(s, &[("Server", "yes")], &[s]);
    let client = Node::start(c, &[("Client", "yes")], &[s]);
    assert!(knows(&client, &[&server]) && knows(&server, &[&client]), "the two nodes never met");
    assert_eq!(server.convention().role, "leader");
    assert_eq!(client.convention().role, "member");
    assert_eq!(client.leader(), Some(address(s)));

    // From the client node's side, an actor only a server can host goes to the server...
    let echo = client.system().create_actor::<ServerSide>().unwrap();
    assert_eq!(client.system().ask::<String, _, _>(&echo, WhereAmI, ASK).unwrap(), address(s));
    assert_eq!(client.system().ask::<String, _, _>(&echo, "ping".to_owned(), ASK).unwrap(), "ping");
    // ...and its address works from the server's side too.
    assert_eq!(server.system().ask::<String, _, _>(&echo, "pong".to_owned(), ASK).unwrap(), "pong");
    // The other way round: from the server's side, a client-only actor goes to the client node.
    let requestor = server.system().create_actor::<ClientSide>().unwrap();
    assert_eq!(server.system().ask::<String, _, _>(&requestor, WhereAmI, ASK).unwrap(), address(c));
    // Created from an actor: the same placement.
    let placer = client.system().create_actor::<Placer>().unwrap();
    let placed: ActorAddress = client.system().ask(&placer, PlaceServer, ASK).unwrap();
    assert_eq!(client.system().ask::<String, _, _>(&placed, WhereAmI, ASK).unwrap(), address(s));
}

#[test]
fn no_member_that_can_host_an_actor_is_a_clear_error_from_outside_and_a_dead_child_inside() {
    let (a, b) = (free_port(), free_port());
    let leader = Node::start(a, &[("Client", "yes")], &[a]);
    let member = Node::start(b, &[("Client", "yes")], &[a]);
    assert!(knows(&member, &[&leader]));
    match member.system().create_actor::<ServerSide>() {
        Err(Error::NoCompatibleSystem { actor_type, reason, .. }) => {
            assert_eq!(actor_type, "test::ServerSide");
            assert!(reason.contains("Server"), "{reason}");
        }
        other => panic!("expected NoCompatibleSystem, got {other:?}"),
    }
    let placer = member.system().create_actor::<Placer>().unwrap();
    let _dead: ActorAddress = member.system().ask(&placer, PlaceServer, ASK).unwrap();
    assert!(eventually(SETTLE, || member.system().ask::<u32, _, _>(&placer, ExitedCount, ASK).unwrap() == 1));
}

#[test]
fn addresses_pass_across_three_nodes_and_replies_find_their_way_back() {
    let (x, y, z) = (free_port(), free_port(), free_port());
    let nx = Node::start(x, &[("Name", "x")], &[x]);
    let ny = Node::start(y, &[("Name", "y")], &[x]);
    let nz = Node::start(z, &[("Name", "z")], &[x]);
    assert!(knows(&nx, &[&ny, &nz]) && knows(&ny, &[&nx, &nz]) && knows(&nz, &[&nx, &ny]));
    let on = |host: &str| {
        nx.system().create_actor_with::<Pinned>(ActorOptions::new().requirement("host", host)).expect("placed")
    };
    let (at_y, at_z) = (on("y"), on("z"));
    assert_eq!(nx.system().ask::<String, _, _>(&at_y, WhereAmI, ASK).unwrap(), address(y));
    assert_eq!(nx.system().ask::<String, _, _>(&at_z, WhereAmI, ASK).unwrap(), address(z));
    // Asked here (x's side), the actor on y hands z's address a note for us; z answers us directly.
    let reply: String =
        nx.system().ask(&at_y, Bounce { to: at_z.address().clone(), text: "hello".into() }, ASK).unwrap();
    assert_eq!(reply, format!("hello via {} to {}", address(y), address(z)));
}

#[test]
fn membership_updates_follow_the_original_counts() {
    let leader_port = free_port();
    let leader = Node::start(leader_port, &[("Leader", "yes")], &[leader_port]);
    let watcher = leader.system().create_actor::<ConventionWatcher>().unwrap();
    assert!(leader.system().ask::<bool, _, _>(&watcher, Watch, ASK).unwrap());
    let mut members: Vec<Node> =
        (0..4).map(|_| Node::start(free_port(), &[("Worker", "yes")], &[leader_port])).collect();
    let seen = || leader.system().ask::<String, _, _>(&watcher, Seen, ASK).unwrap();
    assert!(eventually(SETTLE, || seen().split(' ').filter(|s| s.starts_with('+')).count() == 4), "{}", seen());
    // A second watcher, registering later, hears of every member at once.
    let late = leader.system().create_actor::<ConventionWatcher>().unwrap();
    assert!(leader.system().ask::<bool, _, _>(&late, Watch, ASK).unwrap());
    let late_seen = || leader.system().ask::<String, _, _>(&late, Seen, ASK).unwrap();
    assert!(eventually(SETTLE, || late_seen().split(' ').count() == 4), "{}", late_seen());
    // One member leaves: exactly one more update, and it says so.
    let gone = members.remove(1);
    let gone_address = address(gone.port);
    let mut gone = gone;
    gone.stop();
    assert!(eventually(SETTLE, || seen().split(' ').count() == 5), "{}", seen());
    let updates = seen();
    let updates: Vec<&str> = updates.split(' ').collect();
    assert_eq!(updates.iter().filter(|u| u.starts_with('+')).count(), 4);
    assert_eq!(updates[4], format!("-{gone_address}"));
    // Nothing more arrives for it.
    std::thread::sleep(HEARTBEAT * 5);
    assert_eq!(seen().split(' ').count(), 5);
    // Its place in every member's list is gone too.
    assert!(eventually(SETTLE, || members.iter().all(|m| !m.members().contains(&gone_address))));
}

#[test]
fn a_killed_member_is_detected_and_the_parents_of_its_actors_are_told() {
    let (l, m) = (free_port(), free_port());
    let leader = Node::start(l, &[("Hub", "yes")], &[l]);
    let member = Node::start(m, &[("Server", "yes")], &[l]);
    assert!(knows(&leader, &[&member]));
    let watcher = leader.system().create_actor::<ConventionWatcher>().unwrap();
    assert!(leader.system().ask::<bool, _, _>(&watcher, Watch, ASK).unwrap());
    let placer = leader.system().create_actor::<Placer>().unwrap();
    let placed: ActorAddress = leader.system().ask(&placer, PlaceServer, ASK).unwrap();
    assert_eq!(leader.system().ask::<String, _, _>(&placed, WhereAmI, ASK).unwrap(), address(m));

    let killed = Instant::now();
    kill(member.pid);
    let told = eventually(SETTLE, || leader.system().ask::<u32, _, _>(&placer, ExitedCount, ASK).unwrap() == 1);
    let parent_told = killed.elapsed();
    assert!(told, "the parent of an actor on the killed member was never told");
    // Once: nothing more arrives for that child.
    std::thread::sleep(HEARTBEAT * 2);
    assert_eq!(leader.system().ask::<u32, _, _>(&placer, ExitedCount, ASK).unwrap(), 1);
    let seen = || leader.system().ask::<String, _, _>(&watcher, Seen, ASK).unwrap();
    assert!(eventually(SETTLE, || seen().contains(&format!("-{}", address(m)))), "{}", seen());
    assert!(!leader.members().contains(&address(m)));
    // Within the configured detection time (three heartbeats), with room for a loaded machine.
    let configured = HEARTBEAT * MISSES;
    eprintln!("member killed -> ChildActorExited after {parent_told:?} (configured detection: {configured:?})");
    assert!(parent_told < configured + Duration::from_secs(5), "{parent_told:?}");
}

#[test]
fn members_fail_over_to_the_next_leader_and_come_back_when_the_first_returns() {
    let (first, second, m) = (free_port(), free_port(), free_port());
    let leaders = [first, second];
    let mut l1 = Node::start(first, &[("Rank", "1")], &leaders);
    let l2 = Node::start(second, &[("Rank", "2")], &leaders);
    let member = Node::start(m, &[("Rank", "member")], &leaders);
    assert!(eventually(SETTLE, || member.leader() == Some(address(first)) && l2.leader() == Some(address(first))));
    assert!(knows(&member, &[&l1, &l2]));

    // The first leader dies: the member and the second leader go on under the second.
    kill(l1.pid);
    assert!(eventually(SETTLE, || !alive(l1.pid)));
    l1.system = None;
    assert!(
        eventually(SETTLE, || member.leader() == Some(address(second)) && l2.convention().role == "leader"),
        "member: {:?}, second: {:?}",
        member.convention(),
        l2.convention()
    );
    assert!(eventually(SETTLE, || !member.members().contains(&address(first))));

    // The first comes back: everyone returns to it.
    let l1_again = Node::start(first, &[("Rank", "1")], &leaders);
    assert!(
        eventually(SETTLE, || member.leader() == Some(address(first)) && l2.leader() == Some(address(first))),
        "member: {:?}, second: {:?}",
        member.convention(),
        l2.convention()
    );
    assert!(knows(&l1_again, &[&l2, &member]));
}

#[test]
fn a_member_with_the_wrong_cookie_is_refused_and_never_listed() {
    let (l, m) = (free_port(), free_port());
    let leader = Node::start(l, &[], &[l]);
    let stranger = Node::start_with(m, &[], &[l], "another-cookie");
    assert!(eventually(SETTLE, || stranger.convention().last_error.is_some()), "{:?}", stranger.convention());
    let error = stranger.convention().last_error.unwrap_or_default();
    assert!(error.contains("cookie"), "{error}");
    assert_eq!(stranger.convention().role, "alone");
    assert!(leader.members().is_empty());
}

#[test]
fn a_leader_that_does_not_answer_leaves_the_node_running_alone_and_saying_so() {
    let (nobody, m) = (free_port(), free_port());
    let node = Node::start(m, &[("Server", "yes")], &[nobody]);
    assert!(eventually(SETTLE, || node.convention().last_error.is_some()));
    let status = node.convention();
    assert_eq!(status.role, "alone");
    assert!(status.last_error.unwrap_or_default().contains(&address(nobody)));
    // It serves all the same.
    let local = node.system().create_actor::<ServerSide>().unwrap();
    assert_eq!(node.system().ask::<String, _, _>(&local, WhereAmI, ASK).unwrap(), address(m));
}

/// Two network namespaces joined by a veth pair: two hosts, `10.213.<n>.1` and `10.213.<n>.2`,
/// that reach each other and nothing else. Removed when dropped, with the nodes started in them.
struct Hosts {
    names: [String; 2],
    ips: [String; 2],
    nodes: Vec<u32>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl Hosts {
    fn create() -> Result<Hosts, String> {
        let tag = std::process::id() % 100_000;
        let subnet = tag % 250;
        let hosts = Hosts {
            names: [format!("thsp{tag}a"), format!("thsp{tag}b")],
            ips: [format!("10.213.{subnet}.1"), format!("10.213.{subnet}.2")],
            nodes: Vec::new(),
        };
        let (a, b) = (&hosts.names[0], &hosts.names[1]);
        let (va, vb) = (format!("tv{tag}a"), format!("tv{tag}b"));
        ip(&["netns", "add", a])?;
        ip(&["netns", "add", b])?;
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb])?;
        ip(&["link", "set", &va, "netns", a])?;
        ip(&["link", "set", &vb, "netns", b])?;
        for (ns, dev, address) in [(a, &va, &hosts.ips[0]), (b, &vb, &hosts.ips[1])] {
            ip(&["-n", ns, "addr", "add", &format!("{address}/24"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }

    /// Runs the helper program on host `i` and returns what it printed.
    fn run(&self, i: usize, args: &[&str]) -> String {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.names[i], NODE_PROGRAM])
            .args(args)
            .output()
            .expect("ip netns exec");
        assert!(out.status.success(), "{args:?} on {}: {}", self.names[i], String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Starts a node on host `i`.
    fn serve(&mut self, i: usize, port: u16, capabilities: &str, leader: &str) {
        let port = port.to_string();
        let heartbeat = HEARTBEAT.as_millis().to_string();
        let out = self.run(i, &["serve", &self.ips[i].clone(), &port, COOKIE, capabilities, leader, &heartbeat]);
        let pid = out.strip_prefix("pid ").and_then(|p| p.parse().ok()).expect("the node's pid");
        self.nodes.push(pid);
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for pid in &self.nodes {
            kill(*pid);
            eventually(Duration::from_secs(5), || !alive(*pid));
        }
        for name in &self.names {
            let _ = ip(&["netns", "del", name]);
        }
        if !std::thread::panicking() {
            for address in &self.ips {
                let _ = std::fs::remove_file(std::env::temp_dir().join(format!("thespian-node-{address}-1900.log")));
            }
        }
    }
}

#[test]
fn nodes_on_two_hosts_of_their_own_place_actors_and_notice_a_cut_link() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: creating network namespaces needs root");
        return;
    }
    let mut hosts = match Hosts::create() {
        Ok(hosts) => hosts,
        Err(why) => {
            eprintln!("skipped: network namespaces are not available here ({why})");
            return;
        }
    };
    let port = 1900;
    let leader = format!("{}:{port}", hosts.ips[0]);
    hosts.serve(0, port, r#"{"Server": true}"#, &leader);
    hosts.serve(1, port, r#"{"Client": true}"#, &leader);
    let (a, b) = (hosts.ips[0].clone(), hosts.ips[1].clone());
    let p = port.to_string();
    assert!(
        eventually(SETTLE, || hosts.run(1, &["members", &b, &p, COOKIE]) == format!("members {leader}")),
        "the member never registered"
    );
    // Created on the client host, the server-only actor runs on the server host, and back.
    assert_eq!(hosts.run(1, &["where", &b, &p, COOKIE, "test::ServerSide"]), format!("at {leader}"));
    assert_eq!(hosts.run(0, &["where", &a, &p, COOKIE, "test::ClientSide"]), format!("at {b}:{port}"));
    // The link goes down without a word: no connection closes, only the heartbeats stop.
    let cut = Instant::now();
    ip(&["-n", &hosts.names[0], "link", "set", "lo", "up"]).unwrap();
    let veth = format!("tv{}a", std::process::id() % 100_000);
    ip(&["-n", &hosts.names[0], "link", "set", &veth, "down"]).unwrap();
    assert!(eventually(SETTLE, || hosts.run(1, &["members", &b, &p, COOKIE]) == "members"), "never noticed");
    let noticed = cut.elapsed();
    eprintln!("link cut -> member lost after {noticed:?} (configured: {:?})", HEARTBEAT * MISSES);
    assert!(noticed < HEARTBEAT * MISSES + Duration::from_secs(5), "{noticed:?}");
}

#[test]
fn a_leader_given_by_a_dns_name_is_found_through_its_addresses() {
    let (l, m) = (free_port(), free_port());
    let leader = Node::start(l, &[("Server", "yes")], &[l]);
    // `localhost` stands for the leader here, as a headless service's name would for its pods.
    let system = ActorSystem::builder()
        .base(SystemBase::MultiprocTcp)
        .admin_port(m)
        .cookie(COOKIE)
        .node_program(NODE_PROGRAM)
        .capability("Client", "yes")
        .convention_leaders([format!("localhost:{l}")])
        .heartbeat(HEARTBEAT, MISSES)
        .build()
        .expect("the node starts");
    let member = Node { guard: NodeGuard::of(system), port: m };
    assert!(eventually(SETTLE, || member.leader() == Some(address(l))), "{:?}", member.convention());
    assert!(knows(&leader, &[&member]));
    let echo = member.system().create_actor::<ServerSide>().unwrap();
    assert_eq!(member.system().ask::<String, _, _>(&echo, WhereAmI, ASK).unwrap(), address(l));
}

#[test]
fn a_reply_to_a_client_that_has_left_a_leading_node_is_a_dead_letter_not_a_loop() {
    let port = free_port();
    let node = Node::start(port, &[], &[port]);
    let echo = node.system().create_actor::<tcp_actors::Echo>().unwrap();
    let before = node.system().node_status().unwrap().dead_letters;
    {
        let leaving = ActorSystem::builder()
            .base(SystemBase::MultiprocTcp)
            .admin_port(port)
            .cookie(COOKIE)
            .node_program(NODE_PROGRAM)
            .build()
            .unwrap();
        let late = leaving.ask::<String, _, _>(&echo, tcp_actors::Nap { millis: 300 }, Duration::from_millis(20));
        assert!(matches!(late, Err(Error::Timeout(_))), "{late:?}");
    }
    // The answer comes after the asker's process has gone: the node counts it as a dead letter
    // (it used to route it to itself, round and round) and goes on serving.
    assert!(eventually(SETTLE, || node.system().node_status().unwrap().dead_letters > before));
    assert_eq!(node.system().ask::<String, _, _>(&echo, "still here".to_owned(), ASK).unwrap(), "still here");
}

#[test]
fn a_members_warnings_reach_the_leaders_log_tagged_with_the_member() {
    let (l, m) = (free_port(), free_port());
    let leader = Node::start(l, &[], &[l]);
    let member = Node::start(m, &[], &[l]);
    assert!(knows(&leader, &[&member]));
    let warner = member.system().create_actor::<tcp_actors::Warner>().unwrap();
    let text = format!("the cellar is flooding ({m})");
    assert!(member.system().ask::<bool, _, _>(&warner, text.clone(), ASK).unwrap());
    let log = leader.log.clone().expect("the leader writes a log");
    let gathered = || {
        std::fs::read_to_string(&log).unwrap_or_default().lines().any(|line| {
            line.contains("WARN") && line.contains(&text) && line.contains(&format!("member={}", address(m)))
        })
    };
    assert!(eventually(SETTLE, gathered), "{}", std::fs::read_to_string(&log).unwrap_or_default());
    // The leader's own log keeps it once; the member's has it too.
    let member_log = std::fs::read_to_string(member.log.as_ref().unwrap()).unwrap_or_default();
    assert!(member_log.contains(&text));
}

#[test]
fn a_capability_changed_at_run_time_is_known_to_every_member_and_used_for_placement() {
    let (l, m) = (free_port(), free_port());
    let leader = Node::start(l, &[("Client", "yes")], &[l]);
    let member = Node::start(m, &[], &[l]);
    assert!(knows(&leader, &[&member]));
    let watcher = leader.system().create_actor::<ConventionWatcher>().unwrap();
    assert!(leader.system().ask::<bool, _, _>(&watcher, Watch, ASK).unwrap());
    assert!(matches!(leader.system().create_actor::<ServerSide>(), Err(Error::NoCompatibleSystem { .. })));
    // The member becomes a server: the leader hears of it (an update) and places there.
    member.system().update_capability("Server", Some(true.into())).unwrap();
    assert!(member.system().capabilities().unwrap().is_truthy("Server"));
    let seen = || leader.system().ask::<String, _, _>(&watcher, Seen, ASK).unwrap();
    assert!(eventually(SETTLE, || seen().matches(&format!("+{}", address(m))).count() == 2), "{}", seen());
    let placed = eventually(SETTLE, || leader.system().create_actor::<ServerSide>().is_ok());
    assert!(placed, "never placed on the member that became a server");
    let echo = leader.system().create_actor::<ServerSide>().unwrap();
    assert_eq!(leader.system().ask::<String, _, _>(&echo, WhereAmI, ASK).unwrap(), address(m));
}
