//! "Allocates nothing on an uncontended operation", measured.
//!
//! This test binary installs a global allocator that counts the allocations made by the
//! *current thread* (so the runtime's other threads, and other tests running in parallel,
//! do not disturb the count), and asserts that uncontended lock/unlock, acquire/release,
//! set/wait-on-set and their relatives allocate nothing: their fast paths never touch a
//! `WaitList`. The one allocation each lock makes is its value's home, in `new`.

mod sync_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use sync_support::{Probe, now};
use tempo::sync::{Barrier, Condition, Event, Mutex, RwLock, Semaphore};

/// Counts allocations per thread, then defers to the system allocator.
struct CountingAllocator;

thread_local! {
    /// Allocations (including reallocations) made by this thread so far. `const`-initialised
    /// and without a destructor, so reading it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Count one allocation on this thread. `try_with`: during thread teardown the slot may be
/// gone, and an allocation then is not one of ours to count.
fn count_one() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are ours; counting touches only a thread-local `Cell`.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, which is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, which is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// How many allocations `f` makes on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_counter_counts() {
    // Without this, a broken counter would pass every test below.
    assert_eq!(allocations_in(|| drop(Box::new(1u64))), 1);
    assert_eq!(allocations_in(|| drop(Vec::<u8>::with_capacity(8))), 1);
}

#[test]
fn uncontended_mutex_operations_allocate_nothing() {
    let mutex = Arc::new(Mutex::new(0u64));
    let n = allocations_in(|| {
        for _ in 0..100 {
            *now(mutex.lock()) += 1;
            *mutex.try_lock().unwrap() += 1;
            *now(mutex.clone().lock_owned()) += 1;
            *mutex.clone().try_lock_owned().unwrap() += 1;
            assert!(!mutex.is_locked());
        }
    });
    assert_eq!(n, 0);
    assert_eq!(*mutex.try_lock().unwrap(), 400);
}

#[test]
fn uncontended_rwlock_operations_allocate_nothing() {
    let lock = RwLock::new(0u64);
    let n = allocations_in(|| {
        for _ in 0..100 {
            let (a, b) = (now(lock.read()), lock.try_read().unwrap());
            assert_eq!(*a, *b);
            drop((a, b));
            *now(lock.write()) += 1;
            *lock.try_write().unwrap() += 1;
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn uncontended_semaphore_operations_allocate_nothing() {
    let sem = Arc::new(Semaphore::new(4));
    let n = allocations_in(|| {
        for _ in 0..100 {
            let a = now(sem.acquire()).unwrap();
            let b = now(sem.acquire_many(2)).unwrap();
            let c = sem.try_acquire().unwrap();
            assert!(sem.try_acquire().is_err());
            drop((a, b, c));
            drop(now(sem.clone().acquire_many_owned(4)).unwrap());
            drop(sem.clone().try_acquire_owned().unwrap());
            sem.add_permits(1);
            sem.try_acquire().unwrap().forget();
        }
        assert_eq!(sem.available_permits(), 4);
        sem.close();
        assert!(now(sem.acquire()).is_err());
    });
    assert_eq!(n, 0);
}

#[test]
fn signalling_with_nobody_waiting_allocates_nothing() {
    let event = Event::new();
    let condition = Condition::new();
    let barrier = Barrier::new(1);
    let n = allocations_in(|| {
        for _ in 0..100 {
            event.set();
            now(event.wait());
            assert!(event.is_set());
            event.clear();
            condition.notify_one();
            condition.notify(3);
            condition.notify_all();
            assert!(now(barrier.wait()).is_leader());
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn a_wait_list_keeps_its_capacity_for_the_next_contention() {
    let mutex = Mutex::new(0u64);
    let contend = || {
        let held = mutex.try_lock().unwrap();
        let mut waiters = [Probe::new(mutex.lock()), Probe::new(mutex.lock())];
        allocations_in(|| {
            for waiter in &mut waiters {
                waiter.pending();
            }
            drop(held);
            for waiter in &mut waiters {
                drop(waiter.ready());
            }
        })
    };
    // The first contention grows the list's slab (and clones the probes' wakers, which
    // are `Arc`s: no allocation); the second finds the room already there.
    assert!(contend() > 0);
    assert_eq!(contend(), 0);
}

#[test]
fn inside_a_task_uncontended_awaits_allocate_nothing() {
    // The same fast paths, awaited by a task on a real runtime (which runs on this
    // thread): each await completes in the poll that starts it, so the runtime does not
    // get a turn in between, and the count is the primitives' alone.
    let n = tempo::run(async {
        let task = tempo::spawn(async {
            let (mutex, lock) = (Mutex::new(0u64), RwLock::new(0u64));
            let (sem, event) = (Semaphore::new(1), Event::new());
            event.set();
            let before = ALLOCATIONS.with(Cell::get);
            // 20 × 5 awaits stay within one poll's cooperative budget (128), so the task
            // is never made to yield.
            for _ in 0..20 {
                *mutex.lock().await += 1;
                drop(lock.read().await);
                *lock.write().await += 1;
                drop(sem.acquire().await.unwrap());
                event.wait().await;
            }
            ALLOCATIONS.with(Cell::get) - before
        });
        task.await.expect("task")
    });
    assert_eq!(n, 0);
}
