//! Sending a small message and delivering it to a synchronous handler allocates nothing: the
//! message travels inline in its envelope, and dispatch is a chain of type-id comparisons.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use thespian::prelude::*;

/// Counts the allocations made by the current thread.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[derive(Debug, Serialize, Deserialize, Message)]
struct Tick(u64);

#[derive(Debug, Serialize, Deserialize, Message)]
struct Burst(u32);

#[derive(Default)]
struct Sink {
    ticks: u64,
}

#[actor]
impl Sink {
    #[handler]
    fn tick(&mut self, Tick(n): Tick) {
        self.ticks += n;
    }

    #[handler]
    fn count(&mut self, _q: u8) -> u64 {
        self.ticks
    }
}

#[derive(Default)]
struct Source {
    sink: Option<Addr<Sink>>,
}

#[actor]
impl Source {
    #[handler]
    fn burst(&mut self, Burst(n): Burst, cx: &mut Context<'_>) {
        let sink = self.sink.get_or_insert_with(|| cx.create_actor::<Sink>()).clone();
        for _ in 0..n {
            cx.send(&sink, Tick(1));
        }
    }

    #[handler]
    fn sink(&mut self, _q: u8) -> Option<ActorAddress> {
        self.sink.clone().map(Into::into)
    }
}

#[test]
fn sync_dispatch_does_not_allocate_per_message() {
    // Simple runs every handler in this thread, so this thread's count covers the whole path.
    let system = ActorSystem::new().unwrap();
    let source = system.create_actor::<Source>().unwrap();
    system.tell(&source, Burst(1)).unwrap(); // warm up: creates the sink, sizes the queue once
    const N: u32 = 20_000;
    let before = allocations();
    system.tell(&source, Burst(N)).unwrap();
    let used = allocations() - before;
    // The global queue grows by doubling: a handful of reallocations, not one per message.
    assert!(used < 64, "{used} allocations for {N} small messages");
    let sink: ActorAddress = system.ask(&source, 0u8, Duration::from_secs(5)).unwrap();
    let ticks: u64 = system.ask(&Addr::<Sink>::unchecked(sink), 0u8, Duration::from_secs(5)).unwrap();
    assert_eq!(ticks, u64::from(N) + 1, "every tick was handled");
}
