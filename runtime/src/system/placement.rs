//! Placement: which actors a system can host. The actor type's capability check runs when an
//! actor is created (with the create's requirements) and again, for every live actor, when the
//! system's capabilities change; an actor the system cannot host is refused, or stopped.
//!
//! The capability map and the checks themselves are in [`crate::capabilities`]; here is what the
//! system does with them, shared by the bases.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{ActorOptions, ActorSystem, ActorSystemBuilder, Deliver, Envelope, Refusal, Route};
use crate::address::NodeId;
use crate::capabilities::{Capabilities, CapabilityCheck, Requirements, Value};
use crate::error::{Error, Result};
use crate::messages::{ActorExitRequest, ChildActorExited, DeadEnvelope, PoisonMessage};
use crate::payload::Payload;

impl ActorSystemBuilder {
    /// The system's capabilities when it starts, replacing any set before (default none). They
    /// decide which actor types it can host; see [`capabilities`](crate::capabilities).
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// let system = ActorSystem::builder().capabilities([("Colour", "red"), ("Region", "eu")]).build()?;
    /// let caps = system.capabilities()?;
    /// assert_eq!(caps.get("Colour").and_then(|v| v.as_str()), Some("red"));
    /// assert_eq!(caps.len(), 2);
    /// # Ok::<(), thespian::Error>(())
    /// ```
    ///
    /// On [`SystemBase::MultiprocTcp`](crate::SystemBase::MultiprocTcp) they are the capabilities of the node this process starts;
    /// a node that is running already keeps its own (change them with
    /// [`ActorSystem::update_capability`]).
    pub fn capabilities(mut self, capabilities: impl Into<Capabilities>) -> Self {
        self.capabilities = capabilities.into();
        self
    }

    /// Sets one capability of the system when it starts.
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// let system = ActorSystem::builder().capability("Server", true).capability("Cores", 8).build()?;
    /// assert!(system.capabilities()?.is_truthy("Server"));
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn capability(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.capabilities.insert(name, value);
        self
    }
}

impl ActorOptions {
    /// Sets the requirements of this create, replacing any set before: what the actor type's
    /// `capability_check` function is given besides the system's capabilities.
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// fn invited(caps: &Capabilities, reqs: &Requirements) -> bool {
    ///     reqs.get("Invited to").and_then(|place| place.as_str()).is_some_and(|place| caps.is_truthy(place))
    /// }
    ///
    /// #[derive(Default)]
    /// struct Guest;
    ///
    /// #[actor(capability_check = invited)]
    /// impl Guest {
    ///     #[handler]
    ///     fn thanks(&mut self, gift: String) -> String { format!("Thank you for {gift}") }
    /// }
    ///
    /// let system = ActorSystem::builder().capability("Ocean", true).build()?;
    /// let invitation = ActorOptions::new().requirements([("Invited to", "Ocean")]);
    /// let guest = system.create_actor_with::<Guest>(invitation)?;
    /// let reply: String = system.ask(&guest, "the seashell", Duration::from_secs(1))?;
    /// assert_eq!(reply, "Thank you for the seashell");
    /// assert!(matches!(system.create_actor::<Guest>(), Err(Error::NoCompatibleSystem { .. })));
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn requirements(mut self, requirements: impl Into<Requirements>) -> Self {
        self.requirements = requirements.into();
        self
    }

    /// Adds one requirement to this create.
    ///
    /// ```
    /// use thespian::ActorOptions;
    /// let options = ActorOptions::new().requirement("WantsToSee", "Snow").requirement("Has", "a fur coat");
    /// assert_eq!(options.requirements.len(), 2);
    /// ```
    pub fn requirement(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.requirements.insert(name, value);
        self
    }
}

impl ActorSystem {
    /// The system's capabilities now.
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// let system = ActorSystem::new()?;
    /// assert!(system.capabilities()?.is_empty());
    /// # Ok::<(), thespian::Error>(())
    /// ```
    ///
    /// On [`SystemBase::MultiprocTcp`](crate::SystemBase::MultiprocTcp), the node's.
    pub fn capabilities(&self) -> Result<Capabilities> {
        self.inner.capabilities()
    }

    /// Sets capability `name` to `value`, or removes it for `None` (Thespian's
    /// `updateCapability(name, None)`). Every actor of this system whose type's capability check
    /// no longer passes is stopped — it is sent an [`ActorExitRequest`](crate::ActorExitRequest)
    /// from itself, so its children stop and its parent receives
    /// [`ChildActorExited`](crate::ChildActorExited); other actors keep running. Setting a value
    /// the capability already has, or removing one that is not set, changes nothing.
    ///
    /// On `Simple` the stopped actors have exited when it returns (like `tell`, it runs the system
    /// until it is quiet); on `Threaded` they exit shortly after.
    ///
    /// ```
    /// use thespian::prelude::*;
    ///
    /// #[derive(Default)]
    /// struct Red;
    ///
    /// #[actor(require_capability = "Red")]
    /// impl Red {
    ///     #[handler]
    ///     fn hi(&mut self, msg: String) -> String { format!("Got: {msg}") }
    /// }
    ///
    /// let system = ActorSystem::new()?;
    /// assert!(matches!(system.create_actor::<Red>(), Err(Error::NoCompatibleSystem { .. })));
    /// system.update_capability("Red", Some(true.into()))?;
    /// let red = system.create_actor::<Red>()?;
    /// assert_eq!(system.ask::<String, _, _>(&red, "hello", Duration::from_secs(1))?, "Got: hello");
    /// system.update_capability("Red", None)?;
    /// assert!(matches!(system.ask::<String, _, _>(&red, "1", Duration::from_secs(1)), Err(Error::DeadTarget(_))));
    /// # Ok::<(), thespian::Error>(())
    /// ```
    pub fn update_capability(&self, name: impl Into<String>, value: Option<Value>) -> Result<()> {
        self.inner.update_capability(name.into(), value)
    }
}

/// Why an actor was not created.
pub(crate) enum CreateFailure {
    /// The system cannot host it: the reason.
    Refused(String),
    /// Its constructor panicked: the panic's text.
    ConstructorPanicked(String),
}

impl CreateFailure {
    /// The error `create_actor` returns from outside.
    pub fn into_error(self, actor_type: &'static str, system: NodeId) -> Error {
        match self {
            CreateFailure::Refused(reason) => {
                Error::NoCompatibleSystem { actor_type: actor_type.to_owned(), system, reason }
            }
            CreateFailure::ConstructorPanicked(details) => Error::ConstructorPanicked { actor: actor_type, details },
        }
    }

    /// Logs the failure of a create made by an actor (which gets a dead address and a
    /// `ChildActorExited`), and gives where that address leads.
    pub fn dead_route(&self, actor_type: &'static str) -> Option<Route> {
        match self {
            CreateFailure::Refused(reason) => {
                tracing::warn!(actor = actor_type, %reason, "the system cannot host this actor; it is not created");
                Some(NeverCreated::route(actor_type, reason))
            }
            CreateFailure::ConstructorPanicked(details) => {
                tracing::warn!(actor = actor_type, %details, "actor constructor panicked");
                None
            }
        }
    }
}

/// A live actor whose type has a capability check, and what it was created with: the system
/// checks it again when its capabilities change.
pub(crate) struct Placement {
    pub actor_type: &'static str,
    pub check: CapabilityCheck,
    pub requirements: Requirements,
    /// The actor has been asked to stop because the check failed.
    stopping: AtomicBool,
}

impl Placement {
    pub fn new(actor_type: &'static str, check: CapabilityCheck, requirements: Requirements) -> Self {
        Placement { actor_type, check, requirements, stopping: AtomicBool::new(false) }
    }

    /// Whether the actor must stop under `capabilities` (true once per actor): its check fails.
    pub fn must_stop(&self, capabilities: &Capabilities) -> Option<String> {
        if self.stopping.load(Ordering::Acquire) {
            return None;
        }
        let why = self.check.evaluate(capabilities, &self.requirements).err()?;
        (!self.stopping.swap(true, Ordering::AcqRel)).then_some(why)
    }
}

/// The request that stops an actor its system can no longer host: it sends it to itself, as in
/// the original, so its handler sees an ordinary `ActorExitRequest`.
pub(crate) fn stop_request() -> Payload {
    Payload::new(ActorExitRequest::default())
}

/// Logs why an actor is stopped after a capability change.
pub(crate) fn log_stop(actor: &crate::ActorAddress, actor_type: &str, why: &str) {
    tracing::info!(%actor, actor_type, "the system can no longer host this actor ({why}); stopping it");
}

/// Where the address of an actor that was never created leads: every message sent there comes back
/// to its sender as a `PoisonMessage` saying why (Thespian's "Child Aborted"). Lifecycle messages
/// (an exit, exit notices, poisons, dead envelopes) are dead letters instead, so nothing loops.
pub(crate) struct NeverCreated {
    reason: Arc<str>,
}

impl NeverCreated {
    pub fn route(actor_type: &str, reason: &str) -> crate::system::Route {
        Arc::new(NeverCreated { reason: format!("actor `{actor_type}` was not created: {reason}").into() })
    }
}

impl Deliver for NeverCreated {
    fn deliver(&self, env: Envelope) -> Result<(), (Envelope, Refusal)> {
        let lifecycle = env.msg.is::<ActorExitRequest>()
            || env.msg.is::<ChildActorExited>()
            || env.msg.is::<PoisonMessage>()
            || env.msg.is::<DeadEnvelope>();
        if lifecycle { Err((env, Refusal::Gone)) } else { Err((env, Refusal::Aborted(self.reason.clone()))) }
    }
}

/// The poison that takes a message sent to an actor that was never created back to its sender.
pub(crate) fn aborted_poison(msg: Payload, reason: &str) -> PoisonMessage {
    let message = msg.into_box();
    PoisonMessage {
        message_type: message.wire_name().to_owned(),
        details: format!("Child Aborted: {reason}"),
        message: Some(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{RequiredCapability, json};

    fn caps<const N: usize>(entries: [(&str, Value); N]) -> Capabilities {
        entries.into_iter().collect()
    }

    #[test]
    fn a_placement_asks_to_stop_once() {
        const RED: CapabilityCheck = CapabilityCheck::new(&[RequiredCapability::truthy("Red")]);
        let placement = Placement::new("t", RED, Requirements::new());
        assert_eq!(placement.must_stop(&caps([("Red", json!(true))])), None);
        assert!(placement.must_stop(&caps([])).is_some());
        assert_eq!(placement.must_stop(&caps([])), None, "already stopping");
    }
}
