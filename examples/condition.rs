//! Waiting for shared state to change: `asyncio.Condition`, as `tempo::sync::Condition`
//! beside a `tempo::sync::Mutex`.
//!
//! ```text
//! cargo run --example condition                      # 3 consumers, 5 items, 50 ms apart
//! cargo run --example condition -- --consumers 5 --items 8 --interval-ms 20
//! ```
//!
//! Reference seed 004 (§13.2, "Mechanical Detail") lists it among the primitives a reader
//! must know: "asyncio.Queue, asyncio.Lock, asyncio.Event, asyncio.Semaphore,
//! asyncio.Condition. None are thread-safe". The seeds show no code for it; asyncio's own
//! documentation gives the pattern — consumers wait, with the lock released, until the state
//! they need is there, and whoever changes the state notifies them:
//!
//! ```text
//! async def consumer(cond, shelf):
//!     async with cond:
//!         while not shelf.items and not shelf.closed:
//!             await cond.wait()              # releases the lock while it waits
//!         ...                                # the lock is held again here
//! async def producer(cond, shelf):
//!     async with cond:
//!         shelf.items.append(item)
//!         cond.notify()                      # wake one waiter; notify_all() wakes all
//! ```
//!
//! Here the shared state is a shelf: a queue of items and a `closed` flag, behind a
//! `tempo::sync::Mutex`. Consumer tasks wait on one `tempo::sync::Condition` until the shelf
//! holds an item or is closed. The producer puts the items on the shelf one at a time,
//! `--interval-ms` apart, with `Condition::notify_one` after each — one item, one waiter
//! woken — and then closes the shelf with `Condition::notify_all`, which wakes every
//! consumer still waiting so that each can see the shelf closed and leave.
//!
//! What differs from asyncio:
//!
//! - The condition owns no lock. `Condition::wait` takes the guard of the mutex that
//!   protects the state and hands it back, locked again, when it returns — as
//!   `std::sync::Condvar` does. It queues the task *before* it releases the mutex, so a
//!   notification sent by whoever locks the mutex next cannot be missed.
//! - `notify_one` and `notify_all` need no lock held (asyncio raises if the lock is not
//!   held); here the producer notifies while it holds the guard, as asyncio requires.
//! - It works between threads, so it can be shared by `tempo::spawn`ed tasks through an
//!   `Arc`.
//!
//! What is the same: a condition has no memory. A notification with nobody waiting is lost,
//! and a waiter woken may find the state not what it waited for (another task got there
//! first). So a consumer checks the state *before* it waits and *again* after every wake,
//! in a loop — which is all `Condition::wait_for` does for you.
//!
//! What it prints (the times are the run's own, from the program's start; the order is what
//! the lesson shows — no consumer takes an item before it is put, and every consumer leaves
//! only after the close):
//!
//! ```text
//!     0.0 ms  consumer 1 waits: the shelf is empty
//!     0.1 ms  consumer 2 waits: the shelf is empty
//!     0.1 ms  consumer 3 waits: the shelf is empty
//!    50.3 ms  producer puts item 1 on the shelf, notify_one()
//!    50.3 ms  consumer 1 takes item 1 (put 0.1 ms before)
//!    50.4 ms  consumer 1 waits: the shelf is empty
//!   100.5 ms  producer puts item 2 on the shelf, notify_one()
//!   100.6 ms  consumer 2 takes item 2 (put 0.1 ms before)
//!   100.6 ms  consumer 2 waits: the shelf is empty
//!   ...
//!   302.3 ms  producer closes the shelf, notify_all()
//!   302.4 ms  consumer 3 sees the shelf closed and leaves
//!   302.4 ms  consumer 1 sees the shelf closed and leaves
//!   302.4 ms  consumer 2 sees the shelf closed and leaves
//! 5 items put, 5 taken, each once: by consumers 1 2 3 1 2; 3 of 3 consumers left after the close
//! ```

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempo::sync::{Condition, Mutex};

const USAGE: &str = "usage: condition [--consumers N] [--items N] [--interval-ms MS]   \
                     (N consumers in 1..=100, default 3; items in 0..=1000, default 5; \
                     MS in 1..=10000, default 50)";

/// The shared state the condition is about.
struct Shelf {
    /// Items put and not yet taken, with when each was put.
    items: VecDeque<(u32, Duration)>,
    /// Set once, after the last item: consumers that find the shelf empty leave.
    closed: bool,
}

/// Everything the tasks share: the state behind its mutex, and the condition that says it
/// changed. One `Condition` goes with one `Mutex`.
struct Shared {
    /// The state, behind the mutex every reader and writer of it takes.
    shelf: Mutex<Shelf>,
    /// Notified whenever the shelf changes: an item put, the shelf closed.
    changed: Condition,
    /// The program's start, for the times every line prints.
    start: Instant,
}

impl Shared {
    /// How long since the start.
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

/// A duration in milliseconds, for printing.
fn ms(at: Duration) -> f64 {
    at.as_secs_f64() * 1e3
}

/// The command line.
struct Args {
    /// How many consumer tasks wait on the shelf.
    consumers: u32,
    /// How many items the producer puts on it.
    items: u32,
    /// How long the producer sleeps before each item, and before it closes the shelf.
    interval: Duration,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("condition: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let (taken_by, left) = tempo::run(async move {
        let shared = Arc::new(Shared {
            shelf: Mutex::new(Shelf {
                items: VecDeque::new(),
                closed: false,
            }),
            changed: Condition::new(),
            start: Instant::now(),
        });

        // asyncio.create_task(consumer(...)) for each consumer. They run first: the
        // producer's first sleep gives each the chance to find the shelf empty and wait.
        let consumers: Vec<_> = (1..=args.consumers)
            .map(|id| tempo::spawn(consumer(shared.clone(), id)))
            .collect();
        producer(&shared, args.items, args.interval).await;

        let mut taken_by = Vec::new();
        let mut left = 0;
        for handle in consumers {
            // A consumer cannot panic or be cancelled here; a JoinError would be a bug.
            let taken = handle.await.expect("a consumer ends normally");
            left += 1;
            taken_by.extend(taken);
        }
        (taken_by, left)
    });

    // By item number: who took item 1, item 2, ...
    let mut taken_by = taken_by;
    taken_by.sort_unstable();
    let order: Vec<String> = taken_by.iter().map(|(_, c)| c.to_string()).collect();
    let each_once = taken_by.iter().map(|(item, _)| *item).eq(1..=args.items);
    println!(
        "{} items put, {} taken, {}: by consumers {}; {left} of {} consumers left after the close",
        args.items,
        taken_by.len(),
        if each_once {
            "each once"
        } else {
            "NOT each once"
        },
        order.join(" "),
        args.consumers,
    );
    ExitCode::SUCCESS
}

/// One consumer: take items until the shelf is closed and empty. Returns what it took, as
/// `(item, consumer)` pairs.
async fn consumer(shared: Arc<Shared>, id: u32) -> Vec<(u32, u32)> {
    let mut taken = Vec::new();
    // `async with cond:` — here the mutex; the condition itself holds no lock.
    let mut shelf = shared.shelf.lock().await;
    loop {
        // Check the state first, with the lock held: an item put before we got here, or
        // while we were busy, was notified to nobody — a condition has no memory — and is
        // found only by looking.
        if let Some((item, put_at)) = shelf.items.pop_front() {
            let now = shared.now();
            println!(
                "{:>7.1} ms  consumer {id} takes item {item} (put {:.1} ms before)",
                ms(now),
                ms(now.saturating_sub(put_at)),
            );
            taken.push((item, id));
            continue;
        }
        if shelf.closed {
            println!(
                "{:>7.1} ms  consumer {id} sees the shelf closed and leaves",
                ms(shared.now())
            );
            return taken;
        }
        println!(
            "{:>7.1} ms  consumer {id} waits: the shelf is empty",
            ms(shared.now())
        );
        // `await cond.wait()`: queue on the condition, release the mutex, sleep until
        // notified, lock the mutex again. Then round the loop to look again: the wake says
        // only that the state *may* have changed.
        shelf = shared.changed.wait(shelf).await;
    }
}

/// The producer: put `items` on the shelf, `interval` apart, waking one consumer for each;
/// then close the shelf and wake them all.
async fn producer(shared: &Shared, items: u32, interval: Duration) {
    for item in 1..=items {
        tempo::time::sleep(interval).await;
        let mut shelf = shared.shelf.lock().await;
        let now = shared.now();
        shelf.items.push_back((item, now));
        println!(
            "{:>7.1} ms  producer puts item {item} on the shelf, notify_one()",
            ms(now)
        );
        // One new item: one waiter is enough. The woken consumer runs only once we drop
        // the guard, at the end of this iteration: it needs the mutex back.
        shared.changed.notify_one();
    }
    tempo::time::sleep(interval).await;
    let mut shelf = shared.shelf.lock().await;
    shelf.closed = true;
    println!(
        "{:>7.1} ms  producer closes the shelf, notify_all()",
        ms(shared.now())
    );
    // Everyone waiting must see the close, or they would wait for ever.
    shared.changed.notify_all();
}

/// Reads `--consumers N`, `--items N` and `--interval-ms MS`, each optional.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        consumers: 3,
        items: 5,
        interval: Duration::from_millis(50),
    };
    while let Some(flag) = argv.next() {
        let range = match flag.as_str() {
            "--consumers" => 1..=100,
            "--items" => 0..=1000,
            "--interval-ms" => 1..=10_000,
            other => return Err(format!("unknown argument {other:?}")),
        };
        let text = argv.next().ok_or(format!("{flag} needs a value"))?;
        let n = match text.parse::<u32>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                return Err(format!(
                    "{flag} {text}: expected a number in {}..={}",
                    range.start(),
                    range.end()
                ));
            }
        };
        match flag.as_str() {
            "--consumers" => args.consumers = n,
            "--items" => args.items = n,
            _ => args.interval = Duration::from_millis(u64::from(n)),
        }
    }
    Ok(args)
}
