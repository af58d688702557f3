//! Actor addresses: the untyped, serializable [`ActorAddress`] and the typed [`Addr<A>`].
//!
//! ```
//! use thespian::prelude::*;
//!
//! #[derive(Default)]
//! struct Echo;
//!
//! #[actor]
//! impl Echo {
//!     #[handler]
//!     fn echo(&mut self, msg: String) -> String { msg }
//! }
//!
//! let system = ActorSystem::new()?;
//! let echo: Addr<Echo> = system.create_actor::<Echo>()?;
//! let untyped: ActorAddress = echo.clone().into();
//! assert_eq!(untyped, *echo.address());
//! let again: Addr<Echo> = system.typed_address::<Echo>(&untyped)?;
//! assert_eq!(again, echo);
//! # Ok::<(), thespian::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::actor::Actor;
use crate::message::Message;
use crate::system::Route;

/// The identity of the system (or, later, the node) that owns an actor.
///
/// Node identities are interned: each distinct identity is stored once for the life of the process
/// and compared by pointer, so an address is cheap to copy around.
#[derive(Clone, Copy)]
pub struct NodeId(&'static String);

impl NodeId {
    /// Interns `name`, returning the one `NodeId` for it in this process.
    pub fn intern(name: &str) -> NodeId {
        // Addresses arriving over the wire name a handful of nodes again and again: the last few
        // are remembered per thread, so decoding one takes no lock.
        thread_local! {
            static RECENT: std::cell::RefCell<[Option<&'static String>; 4]> = const { std::cell::RefCell::new([None; 4]) };
        }
        if let Some(hit) = RECENT.with(|recent| recent.borrow().iter().flatten().find(|n| n.as_str() == name).copied())
        {
            return NodeId(hit);
        }
        let id = Self::intern_shared(name);
        RECENT.with(|recent| {
            let mut recent = recent.borrow_mut();
            recent.rotate_right(1);
            recent[0] = Some(id.0);
        });
        id
    }

    fn intern_shared(name: &str) -> NodeId {
        // A thin pointer to a leaked `String` keeps every address one word smaller than a `&str`.
        static NAMES: OnceLock<Mutex<HashMap<String, &'static String>>> = OnceLock::new();
        let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = names.get(name) {
            return NodeId(existing);
        }
        let leaked: &'static String = Box::leak(Box::new(name.to_owned()));
        names.insert(name.to_owned(), leaked);
        NodeId(leaked)
    }

    /// The identity as text.
    pub fn as_str(&self) -> &'static str {
        self.0.as_str()
    }
}

impl PartialEq for NodeId {
    fn eq(&self, other: &Self) -> bool {
        // Interning makes pointer equality exact.
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for NodeId {}
impl Hash for NodeId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}
impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}
impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}
impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}
impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(NodeId::intern(&name))
    }
}

/// The address of an actor (or of an external endpoint such as an `ask`).
///
/// Small, cloneable, comparable, hashable and serializable: it can be stored, compared and sent
/// inside messages. It prints as `ActorAddr-(<node>)/<id>`. Ids are never reused within a system,
/// so an address never silently starts to mean another actor. Inside a process the address carries
/// a handle to the actor's mailbox, so a send needs no lookup; the handle is not serialized and
/// does not take part in equality.
#[derive(Clone, Serialize, Deserialize)]
pub struct ActorAddress {
    node: NodeId,
    id: u64,
    #[serde(skip)]
    pub(crate) route: Option<Route>,
}

impl ActorAddress {
    pub(crate) fn new(node: NodeId, id: u64, route: Option<Route>) -> Self {
        ActorAddress { node, id, route }
    }

    /// The same address without its in-process handle: a plain copy, no reference count touched.
    /// The receiving side finds the route again when it needs one.
    #[inline]
    pub(crate) fn without_route(&self) -> Self {
        ActorAddress { node: self.node, id: self.id, route: None }
    }

    /// The system or node that owns the actor.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The actor's number within its node; never reused.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl PartialEq for ActorAddress {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.node == other.node
    }
}
impl Eq for ActorAddress {}
impl Hash for ActorAddress {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.node.hash(state);
    }
}
impl fmt::Display for ActorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActorAddr-({})/{}", self.node, self.id)
    }
}
impl fmt::Debug for ActorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
impl AsRef<ActorAddress> for ActorAddress {
    fn as_ref(&self) -> &ActorAddress {
        self
    }
}

/// Marks that actor type `A` has a handler for messages of type `M`.
///
/// `#[actor]` implements it for every handler's message type and for the system messages, which
/// every actor accepts. It is what makes [`Addr<A>`] sends checked at compile time.
#[diagnostic::on_unimplemented(
    message = "actor `{Self}` has no handler for messages of type `{M}`",
    label = "`{Self}` does not handle `{M}`",
    note = "add a `#[handler]` method taking `{M}` to the `#[actor] impl {Self}` block, or send through an untyped `ActorAddress`"
)]
pub trait Handles<M> {}

/// Something a message of type `M` can be sent to: any [`ActorAddress`], or an [`Addr<A>`] whose
/// actor handles `M`.
#[diagnostic::on_unimplemented(
    message = "cannot send a `{M}` to `{Self}`",
    label = "the target does not accept `{M}`",
    note = "a typed `Addr<A>` accepts only the message types that `A` has a `#[handler]` for"
)]
pub trait Recipient<M: Message> {
    /// The untyped address behind the target.
    fn address(&self) -> &ActorAddress;
}

impl<M: Message> Recipient<M> for ActorAddress {
    #[inline]
    fn address(&self) -> &ActorAddress {
        self
    }
}

impl<A: Handles<M>, M: Message> Recipient<M> for Addr<A> {
    #[inline]
    fn address(&self) -> &ActorAddress {
        &self.address
    }
}

/// The typed address of an actor of type `A`.
///
/// Sends through an `Addr<A>` are checked at compile time: sending a message type that `A` has no
/// handler for does not compile. Convert to [`ActorAddress`] with `.into()` (always allowed) and back
/// with [`ActorSystem::typed_address`](crate::ActorSystem::typed_address) (checked) or
/// [`Addr::unchecked`] (explicit).
pub struct Addr<A> {
    address: ActorAddress,
    _actor: PhantomData<fn() -> A>,
}

impl<A: Actor> Addr<A> {
    /// Wraps an untyped address without checking the actor's type: the caller vouches for it.
    /// A message the actor does not handle is then dropped and counted, as with any unhandled message.
    pub fn unchecked(address: ActorAddress) -> Self {
        Addr { address, _actor: PhantomData }
    }
}

impl<A> Addr<A> {
    /// The untyped address.
    pub fn address(&self) -> &ActorAddress {
        &self.address
    }

    /// Converts into the untyped address.
    pub fn into_address(self) -> ActorAddress {
        self.address
    }
}

impl<A> Clone for Addr<A> {
    fn clone(&self) -> Self {
        Addr { address: self.address.clone(), _actor: PhantomData }
    }
}
impl<A> PartialEq for Addr<A> {
    fn eq(&self, other: &Self) -> bool {
        self.address == other.address
    }
}
impl<A> Eq for Addr<A> {}
impl<A> Hash for Addr<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.address.hash(state)
    }
}
impl<A> PartialEq<ActorAddress> for Addr<A> {
    fn eq(&self, other: &ActorAddress) -> bool {
        self.address == *other
    }
}
impl<A> PartialEq<Addr<A>> for ActorAddress {
    fn eq(&self, other: &Addr<A>) -> bool {
        *self == other.address
    }
}
impl<A> fmt::Display for Addr<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.address, f)
    }
}
impl<A> fmt::Debug for Addr<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Addr<{}>({})", std::any::type_name::<A>(), self.address)
    }
}
impl<A> From<Addr<A>> for ActorAddress {
    fn from(addr: Addr<A>) -> Self {
        addr.address
    }
}
impl<A> From<&Addr<A>> for ActorAddress {
    fn from(addr: &Addr<A>) -> Self {
        addr.address.clone()
    }
}
impl<A> AsRef<ActorAddress> for Addr<A> {
    fn as_ref(&self) -> &ActorAddress {
        &self.address
    }
}
impl<A> Serialize for Addr<A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.address.serialize(s)
    }
}
impl<'de, A> Deserialize<'de> for Addr<A> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Addr { address: ActorAddress::deserialize(d)?, _actor: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_and_display_survive_serialization() {
        let a = ActorAddress::new(NodeId::intern("local:test"), 42, None);
        let bytes = rmp_serde::to_vec_named(&a).unwrap();
        let b: ActorAddress = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(a, b);
        assert_eq!(b.to_string(), "ActorAddr-(local:test)/42");
        assert!(std::ptr::eq(a.node().as_str(), b.node().as_str()), "node ids are interned");
    }

    #[test]
    fn addresses_differ_by_node_and_id() {
        let n1 = NodeId::intern("n1");
        let n2 = NodeId::intern("n2");
        assert_ne!(ActorAddress::new(n1, 1, None), ActorAddress::new(n2, 1, None));
        assert_ne!(ActorAddress::new(n1, 1, None), ActorAddress::new(n1, 2, None));
    }
}
