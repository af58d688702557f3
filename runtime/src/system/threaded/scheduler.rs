//! The worker pool of the `Threaded` base: runs actors, not tasks.
//!
//! An actor is scheduled only when it has mail (or its async handler was woken) and runs a batch of
//! messages at a time. A worker runs the actor it just made runnable next (a one-entry "next" slot),
//! so a request and its reply stay on one core while the other workers sleep; work goes where
//! another worker can steal it (crossbeam's deques) only when there is more than one thing to do,
//! and only then is a sleeping worker woken. A general-purpose task scheduler cannot know that a
//! woken actor will finish in a few hundred nanoseconds, and wakes a second core for it.
//!
//! Workers enter the system's tokio runtime, so `async fn` handlers can use tokio's timers and I/O.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

/// Something the pool can run: an actor with work to do.
pub(crate) trait Runnable: Send + Sync + 'static {
    /// Runs a slice of work on the current worker thread.
    fn run(self: Arc<Self>);
}

pub(crate) type Task = Arc<dyn Runnable>;

/// How many times in a row a worker may take its "next" slot before it looks at its queue: keeps
/// two actors that talk to each other from starving the rest of the queue.
const NEXT_SLOT_STREAK: u32 = 32;

/// A sleeping worker wakes up at least this often, as a safety net.
const MAX_SLEEP: Duration = Duration::from_millis(100);

pub(crate) struct Scheduler {
    id: usize,
    injector: Injector<Task>,
    stealers: Vec<Stealer<Task>>,
    sleepers: AtomicUsize,
    sleep_lock: Mutex<()>,
    wake: Condvar,
    stopping: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// The current thread's place in a pool.
struct Local {
    scheduler: usize,
    queue: Worker<Task>,
    next: Option<Task>,
    streak: u32,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

impl Scheduler {
    /// Starts `threads` workers that enter `runtime` (for timers and I/O in async handlers).
    pub fn start(threads: usize, runtime: tokio::runtime::Handle) -> std::io::Result<Arc<Self>> {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        let queues: Vec<Worker<Task>> = (0..threads).map(|_| Worker::new_fifo()).collect();
        let scheduler = Arc::new(Scheduler {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            injector: Injector::new(),
            stealers: queues.iter().map(Worker::stealer).collect(),
            sleepers: AtomicUsize::new(0),
            sleep_lock: Mutex::new(()),
            wake: Condvar::new(),
            stopping: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
        });
        let mut handles = Vec::with_capacity(threads);
        for (index, queue) in queues.into_iter().enumerate() {
            let (worker, runtime) = (scheduler.clone(), runtime.clone());
            let handle = std::thread::Builder::new()
                .name(format!("thespian-worker-{index}"))
                .spawn(move || worker.work(queue, runtime));
            match handle {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    scheduler.stop_threads(handles);
                    return Err(e);
                }
            }
        }
        *scheduler.threads.lock().unwrap_or_else(|e| e.into_inner()) = handles;
        Ok(scheduler)
    }

    /// Makes `task` runnable: next on this worker if called from one, otherwise on the shared queue.
    pub fn schedule(&self, task: Task) {
        let displaced = LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            match local.as_mut() {
                Some(local) if local.scheduler == self.id => match local.next.replace(task) {
                    Some(previous) => {
                        local.queue.push(previous);
                        Ok(true)
                    }
                    None => Ok(false),
                },
                _ => Err(task),
            }
        });
        match displaced {
            Ok(false) => {}
            // There is now queued work another worker could steal.
            Ok(true) => self.wake_one(),
            Err(task) => {
                self.injector.push(task);
                self.wake_one();
            }
        }
    }

    /// Makes this worker's "next" task stealable and wakes a sleeping worker: called when that
    /// task's mail piles up while the current one keeps running, so it runs in parallel instead.
    pub fn spill_next(&self) {
        let spilled = LOCAL.with(|local| match local.borrow_mut().as_mut() {
            Some(local) if local.scheduler == self.id => match local.next.take() {
                Some(task) => {
                    local.queue.push(task);
                    true
                }
                None => false,
            },
            _ => false,
        });
        if spilled {
            self.wake_one();
        }
    }

    /// Puts `task` at the back of the queues (after it used up its turn).
    pub fn reschedule(&self, task: Task) {
        let task = LOCAL.with(|local| match local.borrow_mut().as_mut() {
            Some(local) if local.scheduler == self.id => {
                local.queue.push(task);
                None
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            self.injector.push(task);
        }
        self.wake_one();
    }

    fn wake_one(&self) {
        // Pairs with the fence in `work`: either this sees the sleeper, or the sleeper sees the task.
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = self.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.wake.notify_one();
        }
    }

    /// Whether the current thread is one of this pool's workers.
    pub fn is_worker_thread(&self) -> bool {
        LOCAL.with(|local| local.borrow().as_ref().is_some_and(|l| l.scheduler == self.id))
    }

    /// Stops the workers (after their current task) and waits for them, unless called from one.
    pub fn stop(&self) {
        let handles = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        self.stop_threads(handles);
    }

    fn stop_threads(&self, handles: Vec<JoinHandle<()>>) {
        self.stopping.store(true, Ordering::SeqCst);
        {
            let _guard = self.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.wake.notify_all();
        }
        let on_worker = self.is_worker_thread();
        for handle in handles {
            if !on_worker {
                let _ = handle.join();
            }
        }
        // Tasks still queued hold actors that will never run again; let them go.
        while !self.injector.steal().is_empty() {}
    }

    /// A worker thread's life.
    fn work(self: Arc<Self>, queue: Worker<Task>, runtime: tokio::runtime::Handle) {
        let _runtime = runtime.enter();
        LOCAL.with(|local| *local.borrow_mut() = Some(Local { scheduler: self.id, queue, next: None, streak: 0 }));
        let index = self.stealers.len();
        let mut rotation = 0usize;
        while !self.stopping.load(Ordering::Relaxed) {
            if let Some(task) = self.find_task(&mut rotation, index) {
                // A panic that escapes an actor's run (its handlers' panics are caught well before)
                // must not take the worker down with it.
                if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.run())) {
                    tracing::error!(error = %crate::actor::panic_error(panic), "an actor's run panicked");
                }
                continue;
            }
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            let guard = self.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            if !self.has_work() && !self.stopping.load(Ordering::SeqCst) {
                let _ = self.wake.wait_timeout(guard, MAX_SLEEP);
            } else {
                drop(guard);
            }
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
        LOCAL.with(|local| local.borrow_mut().take());
    }

    fn find_task(&self, rotation: &mut usize, workers: usize) -> Option<Task> {
        let local_task = LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            let local = local.as_mut()?;
            if let Some(task) = local.next.take() {
                if local.streak < NEXT_SLOT_STREAK {
                    local.streak += 1;
                    return Some(task);
                }
                local.queue.push(task);
            }
            local.streak = 0;
            local.queue.pop()
        });
        if local_task.is_some() {
            return local_task;
        }
        // Shared queue first, then the other workers, starting at a different one each time.
        loop {
            let stolen = LOCAL.with(|local| {
                let local = local.borrow();
                let local = local.as_ref().expect("worker thread has its queue");
                self.injector.steal_batch_and_pop(&local.queue)
            });
            match stolen {
                Steal::Success(task) => return Some(task),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        *rotation = rotation.wrapping_add(1);
        for k in 0..workers {
            let stealer = &self.stealers[(*rotation + k) % workers];
            loop {
                match stealer.steal() {
                    Steal::Success(task) => return Some(task),
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
        None
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }
}
