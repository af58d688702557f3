//! Placement on the `Threaded` base: the capability check when an actor is created, the system's
//! capabilities, and stopping the actors it can no longer host when they change.
//!
//! A create checks the actor against the capabilities it reads, then registers it; a change swaps
//! the capabilities, counts itself, then checks every registered actor that has a check. A create
//! that overlapped a change (it saw an older count) checks its actor again once registered, so no
//! actor escapes a change whichever comes first.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Core, Entry};
use crate::address::ActorAddress;
use crate::capabilities::{Capabilities, Value};
use crate::messages::PoisonMessage;
use crate::payload::Payload;
use crate::system::{
    ActorOptions, CreateFailure, Envelope, NewActor, Placement, Route, aborted_poison, log_stop, stop_request,
};

impl Core {
    /// Creates an actor the system can host: `create`, after the actor type's capability check.
    /// A taken global name gives the actor that has it, whatever the type and its check.
    pub(super) fn try_create(
        self: &Arc<Self>,
        parent: &ActorAddress,
        new: NewActor,
        options: ActorOptions,
    ) -> std::result::Result<(ActorAddress, bool), CreateFailure> {
        if let Some(name) = &options.global_name
            && let Some(existing) = self.names.lock().unwrap_or_else(|e| e.into_inner()).get(name)
        {
            return Ok((existing.clone(), false));
        }
        // An actor that runs in a process of its own is not in this system's registry: it is
        // checked here, when it is created, and not again.
        let isolated = new.isolated && self.remote.get().is_some_and(|r| r.hosts_processes());
        let checked = !new.check.is_none();
        let seen = self.capabilities_version.load(Ordering::Acquire);
        if checked && let Err(why) = new.admits(&self.capabilities(), &options.requirements) {
            // Not here: on another node of the convention that can host it, if there is one.
            if let Some(remote) = self.remote.get()
                && let Some(address) =
                    remote.place(parent, new.type_name(), &options.requirements, options.global_name.clone())
            {
                return Ok((address, options.global_name.is_none()));
            }
            return Err(CreateFailure::Refused(why));
        }
        let (address, is_child, failed) = self.create(parent, new, options);
        if let Some(details) = failed {
            return Err(CreateFailure::ConstructorPanicked(details));
        }
        // The capabilities changed while the actor was being created, after it was checked and
        // perhaps after the change's own sweep: check it again now that it is registered.
        if checked && !isolated && self.capabilities_version.load(Ordering::Acquire) != seen {
            self.stop_unhostable(Some(address.id()));
        }
        Ok((address, is_child))
    }

    pub(super) fn capabilities(&self) -> Arc<Capabilities> {
        self.capabilities.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets (or, for `None`, removes) a capability, and stops the actors the system can no longer
    /// host.
    pub(super) fn update_capability(&self, name: String, value: Option<Value>) {
        let name_for_remote = name.clone();
        {
            let mut capabilities = self.capabilities.write().unwrap_or_else(|e| e.into_inner());
            if !Arc::make_mut(&mut capabilities).update(name, value) {
                return;
            }
            self.capabilities_version.fetch_add(1, Ordering::AcqRel);
        }
        if let Some(remote) = self.remote.get() {
            let all = self.capabilities();
            remote.capability_updated(&name_for_remote, all.get(&name_for_remote), &all);
        }
        self.stop_unhostable(None);
    }

    /// Asks every live actor (or only `only`) whose capability check no longer passes with the
    /// current capabilities to stop: it is sent an `ActorExitRequest` from itself.
    fn stop_unhostable(&self, only: Option<u64>) {
        let mut checked: Vec<(u64, Route, Arc<Placement>)> = {
            let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
            let entries: Box<dyn Iterator<Item = (&u64, &Entry)>> = match only {
                Some(id) => Box::new(registry.get_key_value(&id).into_iter()),
                None => Box::new(registry.iter()),
            };
            entries.filter_map(|(id, e)| Some((*id, e.route.clone(), e.placement.clone()?))).collect()
        };
        if checked.is_empty() {
            return;
        }
        checked.sort_unstable_by_key(|(id, ..)| *id);
        // Read after the registry: an actor registered later checks itself (see `try_create`).
        let capabilities = self.capabilities();
        for (id, route, placement) in checked {
            if let Some(why) = placement.must_stop(&capabilities) {
                let me = ActorAddress::new(self.node, id, None);
                log_stop(&me, placement.actor_type, &why);
                let _ = route.deliver(Envelope { sender: me, msg: stop_request() });
            }
        }
    }

    /// A send to the address of an actor that was never created: the message goes back to its
    /// sender as a `PoisonMessage` saying why (a poison itself is a dead letter: no loops).
    #[cold]
    pub(super) fn aborted(&self, to: &ActorAddress, env: Envelope, reason: &str) {
        let Envelope { sender, msg } = env;
        if msg.is::<PoisonMessage>() {
            return self.dead_letter(to, Envelope { sender, msg });
        }
        let poison = aborted_poison(msg, reason);
        self.send(&sender, Envelope { sender: to.without_route(), msg: Payload::new(poison) });
    }
}
