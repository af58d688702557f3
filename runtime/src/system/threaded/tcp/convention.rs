//! Conventions: nodes of several hosts joined under a leader.
//!
//! Every node of a convention is given the same list of leader addresses, in order. The first of
//! them that is alive leads: the others register with it, say they are alive every heartbeat, and
//! get back the whole member list with every member's capabilities, so that any node can place an
//! actor on any other and reach it directly, node to node. A leader candidate that finds no
//! leader before it in the list leads itself; a node that is no candidate and finds none runs
//! alone, and keeps trying with a growing pause. A member that stops answering for `misses`
//! heartbeats — or whose connection closes and cannot be opened again — is lost: its actors'
//! parents get `ChildActorExited`, and actors that asked get an `ActorSystemConventionUpdate`.
//! Members whose leader is lost go on to the next in the list, and back to the first as soon as it
//! answers again.

use std::collections::BTreeMap;

use super::router::{ConventionHooks, home_node};
use super::*;
use crate::capabilities::{Capabilities, Requirements};
use crate::messages::ActorSystemConventionUpdate;
use crate::wire::{ConventionFrame, ConventionStatus, MemberInfo};

const LEADERS_VAR: &str = "THESPIAN_CONVENTION_LEADERS";
const HEARTBEAT_VAR: &str = "THESPIAN_HEARTBEAT_MS";
const MISSES_VAR: &str = "THESPIAN_HEARTBEAT_MISSES";
const CAPABILITIES_VAR: &str = "THESPIAN_CAPABILITIES";

/// The longest pause between tries to reach a leader that does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// How a node takes part in a convention.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConventionSettings {
    /// The leaders' addresses, in order: `host:port`, where `host` may be a DNS name (every address
    /// it resolves to is a candidate, in the order given).
    pub leaders: Vec<String>,
    pub heartbeat: Duration,
    pub misses: u32,
}

impl Default for ConventionSettings {
    fn default() -> Self {
        ConventionSettings { leaders: Vec::new(), heartbeat: Duration::from_secs(1), misses: 3 }
    }
}

impl ConventionSettings {
    pub(super) fn from_env() -> Self {
        let default = ConventionSettings::default();
        ConventionSettings {
            leaders: std::env::var(LEADERS_VAR)
                .map(|l| l.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
            heartbeat: std::env::var(HEARTBEAT_VAR)
                .ok()
                .and_then(|m| m.parse().ok())
                .map_or(default.heartbeat, Duration::from_millis),
            misses: std::env::var(MISSES_VAR).ok().and_then(|m| m.parse().ok()).unwrap_or(default.misses).max(1),
        }
    }

    pub(super) fn pass_on(&self, command: &mut std::process::Command) {
        command
            .env(LEADERS_VAR, self.leaders.join(","))
            .env(HEARTBEAT_VAR, self.heartbeat.as_millis().to_string())
            .env(MISSES_VAR, self.misses.to_string());
    }

    /// How long silence lasts before a peer is lost.
    pub(super) fn silence(&self) -> Duration {
        self.heartbeat * self.misses
    }
}

/// The original's way of naming the leaders: the capability `Convention Address.IPv4`, as
/// `"host:port"`, `"host"` (the admin port), `["host", port]`, or a list of these (in order).
pub(crate) const CONVENTION_ADDRESS_CAPABILITY: &str = "Convention Address.IPv4";

/// The leaders named by a `Convention Address.IPv4` value.
pub(crate) fn leaders_from_capability(value: &crate::capabilities::Value, admin_port: u16) -> Vec<String> {
    use crate::capabilities::Value;
    let one = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if s.contains(':') => Some(s.clone()),
            Value::String(host) => Some(format!("{host}:{admin_port}")),
            Value::Array(pair) if pair.len() == 2 => match (&pair[0], &pair[1]) {
                (Value::String(host), Value::Number(port)) => Some(format!("{host}:{}", port.as_u64()?)),
                _ => None,
            },
            _ => None,
        }
    };
    match value {
        Value::Array(list) if one(value).is_none() => list.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

/// The capabilities a node starts with, as passed from the process that starts it.
pub(super) fn capabilities_from_env() -> Capabilities {
    std::env::var(CAPABILITIES_VAR).ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default()
}

pub(super) fn pass_on_capabilities(capabilities: &Capabilities, command: &mut std::process::Command) {
    if let Ok(text) = serde_json::to_string(capabilities) {
        command.env(CAPABILITIES_VAR, text);
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Role {
    Alone,
    Leader,
    Member { leader: String },
}

/// A member registered with this node, which leads.
struct Registered {
    info: MemberInfo,
    heard: Instant,
    /// The connection its registrations arrive on.
    connection: u64,
}

#[derive(Default)]
struct Backoff {
    next_try: Option<Instant>,
    pause: Duration,
}

struct State {
    role: Role,
    /// When the leader last answered (as a member).
    leader_heard: Instant,
    /// The other members, as last told (or, leading, as registered).
    view: BTreeMap<String, MemberInfo>,
    /// When a leader's list last named each of them.
    listed: HashMap<String, Instant>,
    /// Leading: the members registered here.
    registry: HashMap<String, Registered>,
    /// Connections that are open now, by id.
    open: std::collections::HashSet<u64>,
    watchers: Vec<ActorAddress>,
    /// Actors this node placed on other members, by member: (the actor, its parent).
    placed: HashMap<String, Vec<(ActorAddress, ActorAddress)>>,
    /// Placed actors whose parents were told they exited when their member was lost: their own
    /// exit notice, should it come after all, is not passed on.
    reported: std::collections::HashSet<ActorAddress>,
    /// The leader addresses each name last resolved to.
    resolved: HashMap<String, Vec<String>>,
    next_placement: u64,
    backoff: HashMap<String, Backoff>,
    last_error: Option<String>,
    /// The leader addresses, resolved.
    leaders: Vec<String>,
    leaving: bool,
}

/// A node's part in its convention.
pub(super) struct Convention {
    settings: ConventionSettings,
    me: Mutex<MemberInfo>,
    state: Mutex<State>,
    router: std::sync::Weak<Router>,
    core: std::sync::Weak<Core>,
}

impl Convention {
    pub(super) fn new(
        settings: ConventionSettings,
        me: MemberInfo,
        router: &Arc<Router>,
        core: &Arc<Core>,
    ) -> Arc<Self> {
        let state = State {
            role: Role::Alone,
            leader_heard: Instant::now(),
            view: BTreeMap::new(),
            listed: HashMap::new(),
            registry: HashMap::new(),
            open: Default::default(),
            watchers: Vec::new(),
            placed: HashMap::new(),
            reported: Default::default(),
            resolved: HashMap::new(),
            next_placement: 1,
            backoff: HashMap::new(),
            last_error: None,
            leaders: Vec::new(),
            leaving: false,
        };
        Arc::new(Convention {
            settings,
            me: Mutex::new(me),
            state: Mutex::new(state),
            router: Arc::downgrade(router),
            core: Arc::downgrade(core),
        })
    }

    /// What this node is when it has no leader: a leader itself if it is one of the candidates.
    fn unled_role(&self, state: &State) -> Role {
        let me = self.me().node;
        if state.leaders.contains(&me) { Role::Leader } else { Role::Alone }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn me(&self) -> MemberInfo {
        self.me.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How long silence lasts before a peer is lost.
    pub(super) fn silence(&self) -> Duration {
        self.settings.silence()
    }

    /// Runs the convention's heartbeat until the node ends.
    pub(super) async fn run(self: Arc<Self>) {
        loop {
            let previous = self.state().resolved.clone();
            let resolved = resolve(&self.settings.leaders, &previous, self.settings.heartbeat).await;
            let leaders = in_order(&self.settings.leaders, &resolved);
            self.state().resolved = resolved;
            self.tick(leaders);
            tokio::time::sleep(self.settings.heartbeat).await;
            if self.state().leaving {
                return;
            }
        }
    }

    fn send(&self, node: &str, frame: ConventionFrame) {
        if let Some(router) = self.router.upgrade() {
            router.route_frame(NodeId::intern(node), &Frame::Convention(frame));
        }
    }

    /// One heartbeat: register (or say it is alive), look for a better leader, and lose those not
    /// heard for too long.
    fn tick(&self, leaders: Vec<String>) {
        let me = self.me();
        let now = Instant::now();
        let silence = self.settings.silence();
        let mut lost = Vec::new();
        let mut dropped = Vec::new();
        let mut tries = Vec::new();
        let probes: Vec<String>;
        {
            let mut state = self.state();
            if state.leaving {
                return;
            }
            state.leaders = leaders.clone();
            let my_rank = leaders.iter().position(|l| *l == me.node);
            // Those that lead before this node would.
            let better: Vec<String> = leaders[..my_rank.unwrap_or(leaders.len())].to_vec();
            match state.role.clone() {
                Role::Member { leader } => {
                    if now.duration_since(state.leader_heard) > silence {
                        tracing::warn!(%leader, ?silence, "the convention leader is silent; it is lost");
                        state.last_error = Some(format!("the leader {leader} stopped answering"));
                        lost.push(leader.clone());
                        state.role = self.unled_role(&state);
                    } else {
                        tries.push(leader.clone());
                        // Back to a leader before this one in the list, as soon as it answers.
                        let rank = better.iter().position(|l| *l == leader).unwrap_or(better.len());
                        tries.extend(better[..rank].iter().cloned());
                    }
                }
                Role::Alone | Role::Leader => {
                    if my_rank.is_some() && state.role == Role::Alone {
                        tracing::info!(node = %me.node, "leading the convention");
                        state.role = Role::Leader;
                    }
                    tries.extend(better.iter().cloned());
                }
            }
            if state.role == Role::Leader {
                let expired: Vec<String> = state
                    .registry
                    .values()
                    .filter(|r| now.duration_since(r.heard) > silence)
                    .map(|r| r.info.node.clone())
                    .collect();
                for node in expired {
                    tracing::warn!(%node, ?silence, "a convention member is silent; it is lost");
                    dropped.push(node);
                }
            }
            // Members no leader has named for a while (their leader was lost before it could say
            // they were gone, say): a connection to each is tried, and one that fails loses it.
            probes = state
                .view
                .keys()
                .filter(|node| state.listed.get(*node).is_none_or(|at| now.duration_since(*at) > silence * 2))
                .cloned()
                .collect();
            // A node that does not answer is tried again after a growing pause.
            tries.retain(|node| {
                let backoff = state.backoff.entry(node.clone()).or_default();
                backoff.next_try.is_none_or(|at| now >= at)
            });
            tries.dedup();
        }
        for node in lost {
            self.lose(&node);
        }
        for node in dropped {
            self.drop_member(&node);
        }
        for node in tries {
            self.send(&node, ConventionFrame::Register { member: me.clone() });
        }
        for node in probes {
            self.send(&node, ConventionFrame::Probe);
        }
        if self.state().role == Role::Leader {
            self.broadcast();
        }
    }

    /// Leading: a registered member is lost or has left: forgotten here, and every other member
    /// is told.
    fn drop_member(&self, node: &str) {
        let (removed, others) = {
            let mut state = self.state();
            let removed = state.registry.remove(node);
            (removed, state.registry.keys().cloned().collect::<Vec<_>>())
        };
        self.lose(node);
        if let Some(removed) = removed {
            for other in others {
                self.send(
                    &other,
                    ConventionFrame::Gone { node: node.to_owned(), incarnation: removed.info.incarnation },
                );
            }
        }
    }

    /// A frame from `from` on connection `connection`.
    pub(super) fn received(&self, from: &str, connection: u64, frame: ConventionFrame) {
        match frame {
            ConventionFrame::Register { member } => self.register(from, connection, member),
            ConventionFrame::Members { leader, members } => self.members(from, leader, members),
            ConventionFrame::NotLeader => {
                // It no longer leads (another does): the next heartbeat tries the leaders in order.
                let mut state = self.state();
                if state.role == (Role::Member { leader: from.to_owned() }) {
                    state.role = self.unled_role(&state);
                } else {
                    backoff(&mut state, from);
                }
            }
            ConventionFrame::Refused { reason } => {
                tracing::error!(leader = %from, %reason, "the convention leader refused this node");
                let mut state = self.state();
                state.last_error = Some(format!("{from} refused this node: {reason}"));
                backoff(&mut state, from);
            }
            ConventionFrame::Leave { node } if node != from => {
                tracing::warn!(%node, %from, "ignored a node's word that another node leaves");
            }
            ConventionFrame::Leave { node } => {
                tracing::info!(%node, "a convention member leaves");
                let mut state = self.state();
                let was_leader = state.role == (Role::Member { leader: node.clone() });
                let registered = state.registry.contains_key(&node);
                if was_leader {
                    state.role = self.unled_role(&state);
                    // It left on purpose: tried again only after a pause.
                    backoff(&mut state, &node);
                }
                drop(state);
                if registered {
                    self.drop_member(&node);
                } else {
                    self.lose(&node);
                }
            }
            ConventionFrame::Moved { node } => {
                // Still a member, of another leader: only its registration here ends.
                if node == from {
                    self.state().registry.remove(&node);
                }
            }
            ConventionFrame::Gone { node, incarnation } => {
                let from_leader = self.state().role == (Role::Member { leader: from.to_owned() });
                let known = self.state().view.get(&node).is_some_and(|m| m.incarnation == incarnation);
                if from_leader && known {
                    tracing::info!(%node, leader = %from, "the leader says a member is gone");
                    self.lose(&node);
                }
            }
            ConventionFrame::Probe => {}
            ConventionFrame::Log { error, line } => {
                if self.state().registry.contains_key(from) {
                    super::gather::write(from, error, &line);
                }
            }
        }
    }

    fn register(&self, from: &str, connection: u64, member: MemberInfo) {
        if member.node != from {
            return self.send(
                from,
                ConventionFrame::Refused {
                    reason: format!("it registered as {} over a connection from {from}", member.node),
                },
            );
        }
        let mut state = self.state();
        if state.role != Role::Leader || state.leaving {
            drop(state);
            return self.send(from, ConventionFrame::NotLeader);
        }
        let now = Instant::now();
        let mut replaced = None;
        if let Some(known) = state.registry.get(&member.node)
            && known.info.incarnation != member.incarnation
        {
            if known.connection != connection && state.open.contains(&known.connection) {
                // Both are alive: the later one is refused.
                let reason = format!(
                    "a member registered as {} is alive already (another process, incarnation {:x})",
                    member.node, known.info.incarnation
                );
                tracing::warn!(member = %member.node, %reason, "refused a convention member");
                drop(state);
                return self.send(from, ConventionFrame::Refused { reason });
            }
            // The same address started again: the old member is gone.
            replaced = Some(member.node.clone());
        }
        let changed = state.registry.get(&member.node).is_none_or(|r| r.info != member);
        if changed {
            tracing::info!(member = %member.node, "a convention member registered");
        }
        state.registry.insert(member.node.clone(), Registered { info: member.clone(), heard: now, connection });
        state.backoff.remove(&member.node);
        drop(state);
        if let Some(old) = replaced {
            self.lose(&old);
        }
        if changed {
            self.broadcast();
        } else {
            let list = self.member_list();
            self.send(&member.node, ConventionFrame::Members { leader: self.me().node, members: list });
        }
    }

    /// Leading: every member, this node first.
    fn member_list(&self) -> Vec<MemberInfo> {
        let state = self.state();
        let mut list = vec![self.me()];
        list.extend(state.registry.values().map(|r| r.info.clone()));
        list
    }

    /// Leading: tells every member the member list, and brings this node's own view up to date.
    fn broadcast(&self) {
        let list = self.member_list();
        let me = self.me().node;
        for member in list.iter().filter(|m| m.node != me) {
            self.send(&member.node, ConventionFrame::Members { leader: me.clone(), members: list.clone() });
        }
        self.update_view(list);
    }

    fn members(&self, from: &str, leader: String, members: Vec<MemberInfo>) {
        if leader != from {
            return;
        }
        let me = self.me().node;
        let mut state = self.state();
        if state.leaving {
            return;
        }
        let leaders = state.leaders.clone();
        let rank = |node: &str| leaders.iter().position(|l| l == node).unwrap_or(usize::MAX);
        let accept = match &state.role {
            Role::Member { leader: current } => *current == leader || rank(&leader) < rank(current),
            Role::Leader => rank(&leader) < rank(&me),
            Role::Alone => true,
        };
        if !accept {
            return;
        }
        let previous = std::mem::replace(&mut state.role, Role::Member { leader: leader.clone() });
        state.leader_heard = Instant::now();
        state.last_error = None;
        state.backoff.remove(&leader);
        let was_leading = previous == Role::Leader;
        let registry: Vec<String> =
            if was_leading { state.registry.drain().map(|(k, _)| k).collect() } else { Vec::new() };
        drop(state);
        if previous != (Role::Member { leader: leader.clone() }) {
            tracing::info!(%leader, "joined the convention");
            if let Role::Member { leader: old } = &previous {
                self.send(old, ConventionFrame::Moved { node: me.clone() });
            }
            // Those registered here go on to the leader.
            for node in registry {
                self.send(&node, ConventionFrame::NotLeader);
            }
        }
        self.update_view(members);
    }

    /// Takes in a leader's list of `members` (this node left out): the new ones and the changed
    /// ones are told to the watchers. A member missing from the list is not lost by that alone
    /// (it may have moved to another leader): losses come as `Gone`, or are found by trying it.
    fn update_view(&self, members: Vec<MemberInfo>) {
        let me = self.me().node;
        let now = Instant::now();
        let (added, replaced, watchers) = {
            let mut state = self.state();
            let mut added = Vec::new();
            let mut replaced = Vec::new();
            for member in members.into_iter().filter(|m| m.node != me) {
                state.listed.insert(member.node.clone(), now);
                match state.view.get(&member.node) {
                    Some(old) if *old == member => continue,
                    // The same address started again: the old member is gone.
                    Some(old) if old.incarnation != member.incarnation => replaced.push(old.clone()),
                    _ => {}
                }
                added.push(member.clone());
                state.view.insert(member.node.clone(), member);
            }
            (added, replaced, state.watchers.clone())
        };
        for member in &replaced {
            self.tell_watchers(&watchers, member, false);
            self.forget(&member.node);
        }
        for member in &added {
            self.tell_watchers(&watchers, member, true);
        }
    }

    /// A member is lost (silent, its connection gone for good, or it left).
    fn lose(&self, node: &str) {
        let (member, watchers) = {
            let mut state = self.state();
            state.listed.remove(node);
            (state.view.remove(node), state.watchers.clone())
        };
        match member {
            Some(member) => self.member_gone(&member, &watchers),
            None => self.forget(node),
        }
    }

    fn member_gone(&self, member: &MemberInfo, watchers: &[ActorAddress]) {
        self.tell_watchers(watchers, member, false);
        self.forget(&member.node);
    }

    /// What this node knew of `node`: its connections, and the actors it placed there.
    fn forget(&self, node: &str) {
        let placed = {
            let mut state = self.state();
            let placed = state.placed.remove(node).unwrap_or_default();
            state.reported.extend(placed.iter().map(|(child, _)| child.clone()));
            placed
        };
        let (Some(core), Some(router)) = (self.core.upgrade(), self.router.upgrade()) else { return };
        router.forget_node(&core, node);
        if !placed.is_empty() {
            let mut names = core.names.lock().unwrap_or_else(|e| e.into_inner());
            names.retain(|_, named| !placed.iter().any(|(child, _)| child == named));
        }
        for (child, parent) in placed {
            tracing::info!(actor = %child, member = %node, "an actor's member is lost");
            core.tell_exited(&parent, child);
        }
        // The actors this node hosts for the lost one have no parent any more: they stop.
        for orphan in router.hosted_for(node) {
            tracing::info!(actor = %orphan, member = %node, "stopping an actor placed here by a lost member");
            core.tell_to_exit(&orphan);
        }
    }

    fn tell_watchers(&self, watchers: &[ActorAddress], member: &MemberInfo, added: bool) {
        let Some(core) = self.core.upgrade() else { return };
        let update = ActorSystemConventionUpdate {
            remote_admin: ActorAddress::new(NodeId::intern(&member.node), crate::system::SYSTEM_ID, None),
            capabilities: member.capabilities.clone(),
            added,
        };
        for watcher in watchers {
            core.send(watcher, Envelope { sender: core.system.clone(), msg: Payload::new(update.clone()) });
        }
    }

    /// A connection opened (`true`) or closed.
    pub(super) fn connection(&self, id: u64, open: bool) {
        let mut state = self.state();
        if open {
            state.open.insert(id);
        } else {
            state.open.remove(&id);
        }
    }

    /// A connection to `node` closed: if it was a member or the leader, it is tried again at once,
    /// and lost if it does not answer.
    pub(super) fn closed(&self, node: &str) {
        let (leading_it, led_by_it, leaving) = {
            let state = self.state();
            (state.registry.contains_key(node), state.role == (Role::Member { leader: node.to_owned() }), state.leaving)
        };
        if leaving {
            return;
        }
        if leading_it {
            let members = self.member_list();
            self.send(node, ConventionFrame::Members { leader: self.me().node, members });
        } else if led_by_it {
            self.send(node, ConventionFrame::Register { member: self.me() });
        }
    }

    /// Connecting to `node` failed.
    pub(super) fn unreachable(&self, node: &str, why: &str) {
        let mut state = self.state();
        backoff(&mut state, node);
        let was_leader = state.role == (Role::Member { leader: node.to_owned() });
        let was_member = state.registry.contains_key(node);
        if state.leaders.iter().any(|l| l == node) && !matches!(state.role, Role::Member { .. }) {
            state.last_error = Some(format!("cannot reach the leader {node}: {why}"));
            tracing::warn!(leader = %node, %why, "the convention leader does not answer; trying again later");
        }
        if was_leader {
            state.last_error = Some(format!("cannot reach the leader {node}: {why}"));
            state.role = self.unled_role(&state);
        }
        let in_view = state.view.contains_key(node);
        drop(state);
        if was_member {
            tracing::warn!(%node, %why, "a convention member is unreachable; it is lost");
            self.drop_member(node);
        } else if was_leader || in_view {
            tracing::warn!(%node, %why, "a convention member is unreachable; it is lost");
            self.lose(node);
        }
    }

    /// Leaves the convention: the leader (or, leading, every member) is told.
    pub(super) fn leave(&self) {
        let me = self.me().node;
        let (role, members) = {
            let mut state = self.state();
            state.leaving = true;
            (state.role.clone(), state.registry.keys().cloned().collect::<Vec<_>>())
        };
        match role {
            Role::Member { leader } => self.send(&leader, ConventionFrame::Leave { node: me }),
            Role::Leader => {
                for member in members {
                    self.send(&member, ConventionFrame::Leave { node: me.clone() });
                }
            }
            Role::Alone => {}
        }
    }

    /// A warning or error of this node, for its leader's log (while it is a member).
    pub(super) fn forward_log(&self, error: bool, line: String) {
        let leader = match &self.state().role {
            Role::Member { leader } => leader.clone(),
            _ => return,
        };
        // Only over a connection there is: a warning about the leader being unreachable must not
        // make this node try to reach it again.
        let Some(router) = self.router.upgrade() else { return };
        let dropped = super::gather::take_dropped();
        if dropped > 0 {
            let line = format!("WARN thespian: {dropped} warnings of this member were dropped (too many to send)");
            router.frame_if_connected(&leader, &Frame::Convention(ConventionFrame::Log { error: false, line }));
        }
        router.frame_if_connected(&leader, &Frame::Convention(ConventionFrame::Log { error, line }));
    }

    /// The actors this node placed elsewhere on behalf of `system` (created from outside).
    pub(super) fn placed_top_level(&self, system: &ActorAddress) -> Vec<ActorAddress> {
        let state = self.state();
        state.placed.values().flatten().filter(|(_, parent)| parent == system).map(|(child, _)| child.clone()).collect()
    }

    pub(super) fn status(&self) -> ConventionStatus {
        let state = self.state();
        let (role, leader) = match &state.role {
            Role::Alone => ("alone", None),
            Role::Leader => ("leader", Some(self.me().node)),
            Role::Member { leader } => ("member", Some(leader.clone())),
        };
        ConventionStatus {
            role: role.to_owned(),
            leader,
            members: state.view.keys().cloned().collect(),
            last_error: state.last_error.clone(),
        }
    }

    /// The node's capabilities changed: the convention hears of it at once.
    fn changed(&self, capabilities: &Capabilities) {
        self.me.lock().unwrap_or_else(|e| e.into_inner()).capabilities = capabilities.clone();
        let role = self.state().role.clone();
        match role {
            Role::Member { leader } => self.send(&leader, ConventionFrame::Register { member: self.me() }),
            Role::Leader => self.broadcast(),
            Role::Alone => {}
        }
    }
}

fn backoff(state: &mut State, node: &str) {
    let entry = state.backoff.entry(node.to_owned()).or_default();
    entry.pause = if entry.pause.is_zero() { FIRST_BACKOFF } else { (entry.pause * 3 / 2).min(MAX_BACKOFF) };
    entry.next_try = Some(Instant::now() + entry.pause);
}

/// The leader addresses, each name resolved (a DNS name may stand for several nodes). The addresses
/// of one name are sorted, so every node ranks them alike whatever order the resolver gives; a name
/// that does not resolve in time keeps the addresses it had.
async fn resolve(
    leaders: &[String],
    previous: &HashMap<String, Vec<String>>,
    timeout: Duration,
) -> HashMap<String, Vec<String>> {
    let mut resolved = HashMap::new();
    for leader in leaders {
        if leader.parse::<SocketAddr>().is_ok() {
            resolved.insert(leader.clone(), vec![leader.clone()]);
            continue;
        }
        let found = match tokio::time::timeout(timeout, tokio::net::lookup_host(leader.as_str())).await {
            Ok(Ok(addresses)) => {
                let mut addresses: Vec<SocketAddr> = addresses.collect();
                addresses.sort();
                addresses.dedup();
                Some(addresses.into_iter().map(|a| a.to_string()).collect())
            }
            Ok(Err(e)) => {
                tracing::debug!(%leader, error = %e, "a leader's name does not resolve now");
                None
            }
            Err(_) => {
                tracing::debug!(%leader, "a leader's name did not resolve in time");
                None
            }
        };
        if let Some(addresses) = found.or_else(|| previous.get(leader).cloned()) {
            resolved.insert(leader.clone(), addresses);
        }
    }
    resolved
}

/// The candidates in order: the leaders as given, each name replaced by its addresses.
fn in_order(leaders: &[String], resolved: &HashMap<String, Vec<String>>) -> Vec<String> {
    let mut ordered: Vec<String> = Vec::new();
    for address in leaders.iter().filter_map(|l| resolved.get(l)).flatten() {
        if !ordered.contains(address) {
            ordered.push(address.clone());
        }
    }
    ordered
}

impl ConventionHooks for Convention {
    fn knows(&self, node: &str) -> bool {
        if node == self.me().node {
            return false;
        }
        let state = self.state();
        state.view.contains_key(node) || state.registry.contains_key(node) || state.leaders.iter().any(|l| l == node)
    }

    fn place(
        &self,
        parent: &ActorAddress,
        actor_type: &str,
        requirements: &Requirements,
        global_name: Option<String>,
    ) -> Option<ActorAddress> {
        let me = self.me();
        let mut state = self.state();
        let chosen = state
            .view
            .values()
            .filter(|m| crate::actor::can_host(actor_type, &m.capabilities, requirements).is_some_and(|r| r.is_ok()))
            .min_by_key(|m| (state.placed.get(&m.node).map_or(0, Vec::len), m.node.clone()))?
            .node
            .clone();
        let n = state.next_placement;
        state.next_placement += 1;
        let node = format!("{chosen}/via-{}-{:x}-{n}", me.node, me.incarnation);
        let address = ActorAddress::new(NodeId::intern(&node), crate::system::FIRST_ACTOR_ID, None);
        state.placed.entry(chosen.clone()).or_default().push((address.clone(), parent.without_route()));
        drop(state);
        tracing::debug!(actor_type, member = %chosen, actor = %address, "placing an actor on another member");
        let name = global_name.clone();
        let request = Request::Spawn {
            node,
            actor_type: actor_type.to_owned(),
            parent: WireAddress::of(parent),
            global_name,
            requirements: requirements.clone(),
        };
        let sent = self
            .router
            .upgrade()
            .is_some_and(|router| router.route_frame(NodeId::intern(&chosen), &Frame::Request { id: 0, request }));
        if !sent {
            if let Some(placed) = self.state().placed.get_mut(&chosen) {
                placed.retain(|(child, _)| *child != address);
            }
            return None;
        }
        // A global name is this node's: the next create with it finds the placed actor.
        if let (Some(name), Some(core)) = (&name, self.core.upgrade()) {
            core.names.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone(), address.clone());
        }
        Some(address)
    }

    fn watch(&self, watcher: &ActorAddress, on: bool) {
        let (view, watchers) = {
            let mut state = self.state();
            state.watchers.retain(|w| w != watcher);
            if on {
                state.watchers.push(watcher.without_route());
            }
            (state.view.values().cloned().collect::<Vec<_>>(), [watcher.clone()])
        };
        if on {
            for member in &view {
                self.tell_watchers(&watchers, member, true);
            }
        }
    }

    fn capabilities_changed(&self, capabilities: &Capabilities) {
        self.changed(capabilities);
    }

    fn child_exited(&self, child: &ActorAddress) -> bool {
        let home = home_node(child.node().as_str()).to_owned();
        let mut state = self.state();
        let mut placed_here = false;
        if let Some(placed) = state.placed.get_mut(&home) {
            placed.retain(|(c, _)| {
                placed_here |= c == child;
                c != child
            });
        }
        let told_already = state.reported.remove(child);
        drop(state);
        if placed_here && let Some(core) = self.core.upgrade() {
            core.names.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, named| named != child);
        }
        !told_already
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(node: &str, incarnation: u64) -> MemberInfo {
        MemberInfo {
            node: node.to_owned(),
            incarnation,
            capabilities: Capabilities::new(),
            program: "p".into(),
            build: "b".into(),
        }
    }

    #[test]
    fn a_second_live_member_of_the_same_address_is_refused_and_a_restarted_one_replaces_the_first() {
        let me = "127.0.0.1:9";
        let system = ThreadedSystem::new(NodeId::intern(me), Some(1), Duration::from_secs(1)).unwrap();
        let router = Router::new(None, &TcpSettings::default(), None, None);
        let settings = ConventionSettings { leaders: vec![me.to_owned()], ..ConventionSettings::default() };
        let convention = Convention::new(settings, member(me, 1), &router, &system.core);
        convention.tick(vec![me.to_owned()]);
        assert_eq!(convention.status().role, "leader");
        let other = "127.0.0.1:10";
        let incarnation = || convention.state().registry.get(other).map(|r| r.info.incarnation);

        convention.connection(1, true);
        convention.received(other, 1, ConventionFrame::Register { member: member(other, 1) });
        assert_eq!(incarnation(), Some(1));
        // Another process claims the address while the first is connected: refused.
        convention.connection(2, true);
        convention.received(other, 2, ConventionFrame::Register { member: member(other, 2) });
        assert_eq!(incarnation(), Some(1));
        // The first has gone (its connection closed): the one started again takes its place.
        convention.connection(1, false);
        convention.received(other, 2, ConventionFrame::Register { member: member(other, 2) });
        assert_eq!(incarnation(), Some(2));
        // A registration naming another address than the connection's is refused.
        convention.received(other, 2, ConventionFrame::Register { member: member("127.0.0.1:11", 1) });
        assert!(!convention.state().registry.contains_key("127.0.0.1:11"));
        SystemImpl::shutdown(&system).unwrap();
    }

    #[test]
    fn the_originals_convention_address_capability_names_the_leaders() {
        use crate::capabilities::json;
        assert_eq!(leaders_from_capability(&json!("10.0.0.1:1901"), 1900), ["10.0.0.1:1901"]);
        assert_eq!(leaders_from_capability(&json!("10.0.0.1"), 1900), ["10.0.0.1:1900"]);
        assert_eq!(leaders_from_capability(&json!(["10.0.0.1", 1902]), 1900), ["10.0.0.1:1902"]);
        assert_eq!(
            leaders_from_capability(&json!(["10.0.0.1", ["10.0.0.2", 7], "h:3"]), 1900),
            ["10.0.0.1:1900", "10.0.0.2:7", "h:3"]
        );
        assert!(leaders_from_capability(&json!(42), 1900).is_empty());
    }

    #[test]
    fn a_silent_member_is_lost_after_the_configured_heartbeats() {
        let me = "127.0.0.1:19";
        let system = ThreadedSystem::new(NodeId::intern(me), Some(1), Duration::from_secs(1)).unwrap();
        let router = Router::new(None, &TcpSettings::default(), None, None);
        let settings =
            ConventionSettings { leaders: vec![me.to_owned()], heartbeat: Duration::from_millis(10), misses: 2 };
        let convention = Convention::new(settings, member(me, 1), &router, &system.core);
        convention.tick(vec![me.to_owned()]);
        convention.connection(1, true);
        convention.received("127.0.0.1:20", 1, ConventionFrame::Register { member: member("127.0.0.1:20", 1) });
        assert_eq!(convention.status().members, ["127.0.0.1:20"]);
        convention.tick(vec![me.to_owned()]);
        assert_eq!(convention.status().members, ["127.0.0.1:20"], "heard just now");
        std::thread::sleep(Duration::from_millis(30));
        convention.tick(vec![me.to_owned()]);
        assert!(convention.status().members.is_empty(), "silent for more than two heartbeats");
        SystemImpl::shutdown(&system).unwrap();
    }
}
