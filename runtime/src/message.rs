//! The [`Message`] trait, the global registry of message types, and the built-in messages.
//!
//! A message is any `Send + Debug + 'static` value that `serde` can serialize. Inside one process
//! a message travels as a `Box<dyn Message>` and is never serialized; when it leaves the process it
//! is serialized through the [`typetag`] registry under its *wire name*, so the receiving side can
//! rebuild the concrete type.
//!
//! ```
//! use thespian::prelude::*;
//!
//! #[derive(Debug, Serialize, Deserialize, Message)]
//! struct Ping { seq: u32 }
//!
//! let boxed: Box<dyn Message> = Box::new(Ping { seq: 7 });
//! assert!(boxed.wire_name().ends_with("::Ping"));
//! let bytes = thespian::message::to_bytes(&*boxed).unwrap();
//! let back = thespian::message::from_bytes(&bytes).unwrap();
//! assert_eq!(back.downcast_ref::<Ping>().unwrap().seq, 7);
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::OnceLock;

/// A value that can be sent to an actor.
///
/// Implement it with `#[derive(Message)]`; the derive gives the type a module-qualified wire name
/// (`my_crate::module::Type`) or the one pinned with `#[message(name = "...")]`, and registers it so
/// that a process receiving it over the wire can decode it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a thespian message type",
    label = "not a message",
    note = "add `#[derive(Debug, Serialize, Deserialize, Message)]` to the type's definition"
)]
#[typetag::serde]
pub trait Message: Any + Send + Debug {
    /// The rust type name of the concrete message, for diagnostics.
    fn type_name(&self) -> &'static str;
}

impl dyn Message {
    /// The name this message is registered under and travels by between processes.
    pub fn wire_name(&self) -> &'static str {
        self.typetag_name()
    }

    /// Whether the concrete message type is `T`.
    pub fn is<T: Message>(&self) -> bool {
        (self as &dyn Any).type_id() == TypeId::of::<T>()
    }

    /// A reference to the concrete message, if it is a `T`.
    pub fn downcast_ref<T: Message>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref::<T>()
    }

    /// A mutable reference to the concrete message, if it is a `T`.
    pub fn downcast_mut<T: Message>(&mut self) -> Option<&mut T> {
        (self as &mut dyn Any).downcast_mut::<T>()
    }

    /// The concrete message, or the box back when it is not a `T`.
    pub fn downcast<T: Message>(self: Box<Self>) -> Result<Box<T>, Box<dyn Message>> {
        if self.is::<T>() {
            let any: Box<dyn Any> = self;
            Ok(any.downcast::<T>().unwrap_or_else(|_| unreachable!("type id was checked")))
        } else {
            Err(self)
        }
    }
}

/// One registered message type: its wire name and rust type name.
///
/// `#[derive(Message)]` submits one of these for every message type, so the whole registry can be
/// listed ([`registered_messages`]) and checked for duplicate wire names when a system starts.
#[derive(Debug)]
pub struct MessageRegistration {
    /// The name the type travels by.
    pub wire_name: &'static str,
    /// The rust type name, for error messages.
    pub type_name: fn() -> &'static str,
}

inventory::collect!(MessageRegistration);

/// Every message type linked into this binary, in no particular order.
///
/// ```
/// let names: Vec<_> = thespian::message::registered_messages().map(|r| r.wire_name).collect();
/// assert!(names.contains(&"String"));
/// assert!(names.contains(&"thespian::ActorExitRequest"));
/// ```
pub fn registered_messages() -> impl Iterator<Item = &'static MessageRegistration> {
    inventory::iter::<MessageRegistration>.into_iter()
}

/// A wire name claimed by two different types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "wire name `{wire_name}` is registered by both `{first}` and `{second}`; pin a distinct name with #[message(name = \"...\")] or #[actor(name = \"...\")]"
)]
pub struct DuplicateWireName {
    /// The contested name.
    pub wire_name: &'static str,
    /// One type that claims it.
    pub first: &'static str,
    /// The other type that claims it.
    pub second: &'static str,
}

/// Checks that no two registered message types, and no two registered actor types, share a wire name.
/// The result is computed once per process.
pub(crate) fn check_registry() -> Result<(), DuplicateWireName> {
    static CHECKED: OnceLock<Result<(), DuplicateWireName>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            find_duplicate(registered_messages().map(|r| (r.wire_name, (r.type_name)())))?;
            find_duplicate(crate::actor::registered_actors().map(|r| (r.wire_name, (r.type_name)())))
        })
        .clone()
}

fn find_duplicate(entries: impl Iterator<Item = (&'static str, &'static str)>) -> Result<(), DuplicateWireName> {
    let mut seen: HashMap<&'static str, &'static str> = HashMap::new();
    for (wire_name, type_name) in entries {
        if let Some(first) = seen.insert(wire_name, type_name) {
            // The same type can be registered twice only through a bug; report it all the same.
            let (first, second) = if first <= type_name { (first, type_name) } else { (type_name, first) };
            return Err(DuplicateWireName { wire_name, first, second });
        }
    }
    Ok(())
}

/// A message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The message could not be serialized.
    #[error("cannot encode message: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    /// The bytes do not hold a registered message (unknown wire name or malformed body).
    #[error("cannot decode message: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
}

/// Serializes a message with its wire name, as it crosses a process boundary
/// (MessagePack with named fields).
pub fn to_bytes(msg: &dyn Message) -> Result<Vec<u8>, CodecError> {
    Ok(rmp_serde::to_vec_named(msg)?)
}

/// Rebuilds a message from [`to_bytes`] output through the registry.
/// An unknown wire name is an error naming it, never a panic.
pub fn from_bytes(bytes: &[u8]) -> Result<Box<dyn Message>, CodecError> {
    Ok(rmp_serde::from_slice::<Box<dyn Message>>(bytes)?)
}

/// Conversion into a message at a `tell`/`ask`/`send` call site, so `"hi"` can be sent as a `String`.
pub trait IntoMessage {
    /// The message type sent.
    type Msg: Message;
    /// Converts the argument.
    fn into_message(self) -> Self::Msg;
}

impl<M: Message> IntoMessage for M {
    type Msg = M;
    #[inline]
    fn into_message(self) -> M {
        self
    }
}

impl IntoMessage for &str {
    type Msg = String;
    #[inline]
    fn into_message(self) -> String {
        self.to_owned()
    }
}

/// Implements [`Message`] for built-in types under the given wire names.
macro_rules! builtin_messages {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        #[typetag::serde(name = $name)]
        impl Message for $ty {
            fn type_name(&self) -> &'static str {
                std::any::type_name::<$ty>()
            }
        }
        inventory::submit! {
            MessageRegistration { wire_name: $name, type_name: std::any::type_name::<$ty> }
        }
    )*};
}

builtin_messages! {
    String => "String",
    bool => "bool",
    () => "()",
    Vec<u8> => "Vec<u8>",
    i8 => "i8", i16 => "i16", i32 => "i32", i64 => "i64", i128 => "i128", isize => "isize",
    u8 => "u8", u16 => "u16", u32 => "u32", u64 => "u64", u128 => "u128", usize => "usize",
    f32 => "f32", f64 => "f64",
    crate::address::ActorAddress => "thespian::ActorAddress",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_detection_names_both_types() {
        let err = find_duplicate([("a", "x::A"), ("b", "x::B"), ("a", "y::A")].into_iter()).unwrap_err();
        assert_eq!(err, DuplicateWireName { wire_name: "a", first: "x::A", second: "y::A" });
        assert!(err.to_string().contains("x::A") && err.to_string().contains("y::A"));
    }

    #[test]
    fn unknown_wire_name_is_an_error() {
        let bytes = rmp_serde::to_vec_named(&HashMap::from([("no::such::Type", 1)])).unwrap();
        let err = from_bytes(&bytes).unwrap_err();
        assert!(err.to_string().contains("no::such::Type"), "{err}");
    }

    #[test]
    fn malformed_bytes_are_an_error() {
        assert!(from_bytes(&[0xc1, 0xff, 0x00]).is_err());
        assert!(from_bytes(&[]).is_err());
    }

    #[test]
    fn downcast_by_value_and_reference() {
        let mut m: Box<dyn Message> = Box::new(5u32);
        assert!(m.is::<u32>() && !m.is::<i32>());
        *m.downcast_mut::<u32>().unwrap() += 1;
        let m = m.downcast::<i32>().unwrap_err();
        assert_eq!(*m.downcast::<u32>().unwrap(), 6);
    }
}
