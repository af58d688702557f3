//! [`Payload`]: a message in flight, stored inline when it is small.
//!
//! Boxing every message costs an allocation at the sender and a free at the receiver — on another
//! thread, which is the most expensive case for most allocators. A `Payload` keeps messages of up
//! to [`INLINE_CAPACITY`] bytes inside itself, so sending a small message allocates nothing; larger
//! ones are boxed as usual. Handlers never see the difference: they receive their message by value.
//!
//! ```
//! use thespian::Payload;
//!
//! let p = Payload::new(42u64);
//! assert!(p.is_inline());
//! assert_eq!(p.downcast_ref::<u64>(), Some(&42));
//! let n: u64 = p.downcast::<u64>().unwrap();
//! assert_eq!(n, 42);
//!
//! let big = Payload::new(String::from("a string is three words, and fits too"));
//! assert_eq!(big.as_message().wire_name(), "String");
//! ```

// The inline representation stores a value of a type erased at run time in an aligned byte buffer
// and reaches it through a table of functions instantiated for that type. Every `unsafe` block
// below relies on one invariant: `Inline { buf, table }` always holds an initialised value of the
// type `table` was built for.
#![allow(unsafe_code)]

use std::any::TypeId;
use std::fmt;
use std::mem::{ManuallyDrop, MaybeUninit, align_of, size_of};

use crate::message::Message;

/// Messages up to this many bytes (three words: a `String`, a `Vec`, a few numbers) and alignment
/// up to 8 travel without an allocation. With the type's table pointer, a payload is four words.
pub const INLINE_CAPACITY: usize = 24;

#[repr(C, align(8))]
struct InlineBuf(MaybeUninit<[u8; INLINE_CAPACITY]>);

/// What the runtime needs to handle an inline value of one concrete type.
struct InlineTable {
    type_id: TypeId,
    as_message: unsafe fn(&InlineBuf) -> &dyn Message,
    drop_in_place: unsafe fn(&mut InlineBuf),
    into_box: unsafe fn(&InlineBuf) -> Box<dyn Message>,
}

struct Table<M>(std::marker::PhantomData<M>);

impl<M: Message> Table<M> {
    const TABLE: &'static InlineTable = &InlineTable {
        type_id: TypeId::of::<M>(),
        as_message: Self::as_message,
        drop_in_place: Self::drop_in_place,
        into_box: Self::into_box,
    };

    /// Whether `M` fits the inline buffer; evaluated at compile time for each type.
    const FITS: bool = size_of::<M>() <= INLINE_CAPACITY && align_of::<M>() <= align_of::<InlineBuf>();

    /// # Safety
    /// `buf` holds an initialised `M`.
    unsafe fn as_message(buf: &InlineBuf) -> &dyn Message {
        // SAFETY: per the function's contract; the buffer is aligned for `M` (checked by `FITS`).
        unsafe { &*buf.0.as_ptr().cast::<M>() }
    }

    /// # Safety
    /// `buf` holds an initialised `M`, which must not be used afterwards.
    unsafe fn drop_in_place(buf: &mut InlineBuf) {
        // SAFETY: per the function's contract.
        unsafe { std::ptr::drop_in_place(buf.0.as_mut_ptr().cast::<M>()) }
    }

    /// # Safety
    /// `buf` holds an initialised `M`, which is moved out: the buffer must not be used afterwards.
    unsafe fn into_box(buf: &InlineBuf) -> Box<dyn Message> {
        // SAFETY: per the function's contract.
        Box::new(unsafe { buf.0.as_ptr().cast::<M>().read() })
    }
}

enum Repr {
    Inline { buf: InlineBuf, table: &'static InlineTable },
    Heap(Box<dyn Message>),
}

/// A message on its way to a handler: inline when small, boxed otherwise.
pub struct Payload {
    repr: Repr,
    /// Messages are `Send` but not necessarily `Sync`, so a payload must never be shared
    /// between threads (`downcast_ref` hands out `&M`), whatever its representation.
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

// SAFETY: an inline payload holds a value of a `Message` type, and `Message: Send`.
unsafe impl Send for Payload {}

impl Payload {
    /// Wraps a message, inline if it fits.
    #[inline]
    pub fn new<M: Message>(msg: M) -> Self {
        if Table::<M>::FITS {
            let mut buf = InlineBuf(MaybeUninit::uninit());
            // SAFETY: `FITS` guarantees size and alignment; the buffer is exclusively ours.
            unsafe { buf.0.as_mut_ptr().cast::<M>().write(msg) };
            Payload { repr: Repr::Inline { buf, table: Table::<M>::TABLE }, _not_sync: std::marker::PhantomData }
        } else {
            Payload { repr: Repr::Heap(Box::new(msg)), _not_sync: std::marker::PhantomData }
        }
    }

    /// Wraps an already boxed message (kept in its box).
    pub fn from_box(msg: Box<dyn Message>) -> Self {
        Payload { repr: Repr::Heap(msg), _not_sync: std::marker::PhantomData }
    }

    /// Whether the message is stored inline (no allocation).
    pub fn is_inline(&self) -> bool {
        matches!(self.repr, Repr::Inline { .. })
    }

    /// The message as a trait object.
    #[inline]
    pub fn as_message(&self) -> &dyn Message {
        match &self.repr {
            // SAFETY: the representation invariant (see the module comment).
            Repr::Inline { buf, table } => unsafe { (table.as_message)(buf) },
            Repr::Heap(msg) => &**msg,
        }
    }

    /// The message's wire name.
    pub fn wire_name(&self) -> &'static str {
        self.as_message().wire_name()
    }

    /// The concrete message type's id.
    #[inline]
    pub(crate) fn message_type_id(&self) -> TypeId {
        match &self.repr {
            Repr::Inline { table, .. } => table.type_id,
            Repr::Heap(msg) => (&**msg as &dyn std::any::Any).type_id(),
        }
    }

    /// Whether the message is an `M`.
    #[inline]
    pub fn is<M: Message>(&self) -> bool {
        match &self.repr {
            Repr::Inline { table, .. } => table.type_id == TypeId::of::<M>(),
            Repr::Heap(msg) => msg.is::<M>(),
        }
    }

    /// A reference to the message if it is an `M`.
    #[inline]
    pub fn downcast_ref<M: Message>(&self) -> Option<&M> {
        if self.is::<M>() { self.as_message().downcast_ref::<M>() } else { None }
    }

    /// The message by value if it is an `M`; otherwise the payload back.
    #[inline]
    pub fn downcast<M: Message>(self) -> Result<M, Payload> {
        if !self.is::<M>() {
            return Err(self);
        }
        let this = ManuallyDrop::new(self);
        match &this.repr {
            // SAFETY: the buffer holds an `M` (checked above); `this` is never dropped, so the
            // value is moved out exactly once.
            Repr::Inline { buf, .. } => Ok(unsafe { buf.0.as_ptr().cast::<M>().read() }),
            Repr::Heap(msg) => {
                // SAFETY: the box is moved out exactly once, since `this` is never dropped.
                let boxed: Box<dyn Message> = unsafe { std::ptr::read(msg) };
                Ok(*boxed.downcast::<M>().unwrap_or_else(|_| unreachable!("type was checked")))
            }
        }
    }

    /// The message in a box (allocates if it was inline).
    pub fn into_box(self) -> Box<dyn Message> {
        let this = ManuallyDrop::new(self);
        match &this.repr {
            // SAFETY: the representation invariant; `this` is never dropped, so the value is
            // moved out exactly once.
            Repr::Inline { buf, table } => unsafe { (table.into_box)(buf) },
            // SAFETY: as above, for the box.
            Repr::Heap(msg) => unsafe { std::ptr::read(msg) },
        }
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        if let Repr::Inline { buf, table } = &mut self.repr {
            // SAFETY: the representation invariant; the value is dropped exactly once, here.
            unsafe { (table.drop_in_place)(buf) }
        }
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_message(), f)
    }
}

impl<M: Message> From<M> for Payload {
    fn from(msg: M) -> Self {
        Payload::new(msg)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn small_messages_are_inline_and_large_ones_boxed() {
        assert!(Payload::new(1u8).is_inline());
        assert!(Payload::new(String::from("x")).is_inline());
        assert!(Payload::new(()).is_inline());
        assert!(Payload::new(vec![0u8; 1]).is_inline());
        assert_eq!(Payload::new(1u128).is_inline(), align_of::<u128>() <= 8);
        assert_eq!(size_of::<Payload>(), 32, "four words");
        let big = Payload::new(crate::messages::WakeupMessage { delay: Default::default(), payload: None });
        assert_eq!(big.as_message().wire_name(), "thespian::WakeupMessage");
    }

    #[test]
    fn downcast_moves_the_value_out_once() {
        let p = Payload::new(String::from("hello"));
        let p = p.downcast::<u32>().unwrap_err();
        assert_eq!(p.downcast_ref::<String>().map(String::as_str), Some("hello"));
        assert_eq!(p.downcast::<String>().unwrap(), "hello");
        let boxed = Payload::from_box(Box::new(7i64));
        assert!(boxed.is::<i64>() && !boxed.is_inline());
        assert_eq!(boxed.downcast::<i64>().unwrap(), 7);
    }

    /// A message whose drops are counted.
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Counted {
        #[serde(skip)]
        drops: Option<Arc<AtomicUsize>>,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            if let Some(drops) = &self.drops {
                drops.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    #[typetag::serde(name = "payload::tests::Counted")]
    impl Message for Counted {
        fn type_name(&self) -> &'static str {
            "Counted"
        }
    }

    #[test]
    fn every_value_is_dropped_exactly_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        drop(Payload::new(Counted { drops: Some(drops.clone()) }));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let taken = Payload::new(Counted { drops: Some(drops.clone()) }).downcast::<Counted>().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        drop(taken);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        let boxed = Payload::new(Counted { drops: Some(drops.clone()) }).into_box();
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        drop(boxed);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        let back = Payload::new(Counted { drops: Some(drops.clone()) }).downcast::<u8>().unwrap_err();
        drop(back);
        assert_eq!(drops.load(Ordering::SeqCst), 4);
    }
}
