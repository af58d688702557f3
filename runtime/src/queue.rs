//! A FIFO queue made of chunks: what mailboxes and the `Simple` base's delivery queue use.
//!
//! A single growable ring buffer doubles (copying everything) as a burst arrives and ends up as
//! one huge allocation that the allocator hands straight back to the operating system when it is
//! freed — so the next burst faults in fresh pages again. Chunks of bounded size are never copied
//! once filled, come from the allocator's ordinary pools, and a couple of drained ones are kept for
//! reuse. Chunks start small, so a queue that only ever holds a message or two stays small.

use std::collections::VecDeque;

/// The largest chunk, in elements.
const MAX_CHUNK: usize = 512;
/// The first chunk, in elements.
const MIN_CHUNK: usize = 4;
/// Drained chunks kept for reuse.
const SPARE_CHUNKS: usize = 2;

pub(crate) struct ChunkedQueue<T> {
    chunks: VecDeque<VecDeque<T>>,
    spare: Vec<VecDeque<T>>,
    len: usize,
}

impl<T> Default for ChunkedQueue<T> {
    fn default() -> Self {
        ChunkedQueue { chunks: VecDeque::new(), spare: Vec::new(), len: 0 }
    }
}

impl<T> ChunkedQueue<T> {
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn push_back(&mut self, value: T) {
        match self.chunks.back_mut() {
            Some(chunk) if chunk.len() < chunk.capacity() => chunk.push_back(value),
            _ => self.push_to_new_chunk(value),
        }
        self.len += 1;
    }

    #[cold]
    fn push_to_new_chunk(&mut self, value: T) {
        // Grow with the queue, like a doubling buffer, but never beyond one bounded chunk.
        let wanted = self.len.clamp(MIN_CHUNK, MAX_CHUNK);
        let mut chunk = match self.spare.iter().position(|c| c.capacity() >= wanted) {
            Some(i) => self.spare.swap_remove(i),
            None => VecDeque::with_capacity(wanted),
        };
        chunk.push_back(value);
        self.chunks.push_back(chunk);
    }

    #[inline]
    pub fn pop_front(&mut self) -> Option<T> {
        let front = self.chunks.front_mut()?;
        let value = front.pop_front();
        // The last chunk stays when it empties: a queue that fills and empties one message at a
        // time (a request and its reply) keeps using it without touching the allocator.
        if front.is_empty() && self.chunks.len() > 1 {
            self.retire_front();
        }
        if value.is_some() {
            self.len -= 1;
        }
        value
    }

    #[cold]
    fn retire_front(&mut self) {
        if let Some(chunk) = self.chunks.pop_front()
            && self.spare.len() < SPARE_CHUNKS
        {
            self.spare.push(chunk);
        }
    }

    /// Gives back the memory an empty queue keeps after a burst; a queue that only ever holds a
    /// message or two keeps its small chunk.
    #[inline]
    pub fn trim(&mut self) {
        let oversized = self.chunks.front().is_some_and(|c| c.capacity() > 2 * MIN_CHUNK);
        if self.len == 0 && (oversized || !self.spare.is_empty()) {
            self.release();
        }
    }

    #[cold]
    fn release(&mut self) {
        self.spare = Vec::new();
        if self.chunks.front().is_some_and(|c| c.capacity() > 2 * MIN_CHUNK) {
            self.chunks = VecDeque::new();
        }
    }

    /// Puts `items` in front of what the queue holds, in their order.
    pub fn prepend(&mut self, items: impl IntoIterator<Item = T>) {
        let mut front = ChunkedQueue::default();
        for item in items {
            front.push_back(item);
        }
        if front.is_empty() {
            return;
        }
        for item in self.drain() {
            front.push_back(item);
        }
        *self = front;
    }

    /// The elements, front to back.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flatten()
    }

    /// Takes every element out, in order.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_fifo_order_across_chunks() {
        let mut q = ChunkedQueue::default();
        for i in 0..5000 {
            q.push_back(i);
        }
        assert_eq!(q.len, 5000);
        for i in 0..2500 {
            assert_eq!(q.pop_front(), Some(i));
        }
        for i in 5000..6000 {
            q.push_back(i);
        }
        let rest: Vec<_> = q.drain().collect();
        assert_eq!(rest, (2500..6000).collect::<Vec<_>>());
        assert!(q.is_empty() && q.pop_front().is_none());
    }

    #[test]
    fn chunks_stay_bounded_and_small_queues_stay_small() {
        let mut q = ChunkedQueue::default();
        q.push_back(1u64);
        assert!(q.chunks[0].capacity() < 16);
        for i in 0..100_000u64 {
            q.push_back(i);
        }
        assert!(q.chunks.iter().all(|c| c.capacity() < 2 * MAX_CHUNK));
        q.drain().for_each(drop);
        assert!(q.spare.len() <= SPARE_CHUNKS);
        assert_eq!(q.chunks.len(), 1, "the last chunk is kept for the next message");
        q.trim();
        assert!(q.chunks.is_empty() && q.spare.is_empty(), "an idle queue gives its memory back");
        q.push_back(1);
        q.pop_front();
        q.trim();
        assert_eq!(q.chunks.len(), 1, "a small chunk stays");
    }
}
