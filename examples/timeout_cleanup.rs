//! A slow operation cut off by a timeout, and its cleanup running as it is cancelled. In
//! Rust, cancelling a future is dropping it: the cleanup is a destructor, and there is no
//! `CancelledError` to catch.
//!
//! ```text
//! cargo run --example timeout_cleanup                 # 2 s timeout on a 10 s query: ~4.5 s in all
//! cargo run --example timeout_cleanup -- --scale 0.1  # the same lessons, ten times faster
//! ```
//!
//! Seed 001 ("Managing Task Cancellation and Timeouts", 001_b3c93ce22e06ba03.txt):
//!
//! ```text
//! async def slow_database_query():
//!     print("Query started...")
//!     await asyncio.sleep(10)  # Simulating 10 seconds of work
//!     return "Data retrieved"
//! async def main():
//!     try:
//!         result = await asyncio.wait_for(slow_database_query(), timeout=2.0)
//!     except asyncio.TimeoutError:
//!         print("⚠️ Timeout! The query took too long.")
//!     except asyncio.CancelledError:
//!         print("❌ Task was cancelled.")
//! ```
//!
//! and "the `finally` block is guaranteed to run even if a CancelledError is raised, allowing
//! you to close sockets or release locks safely". Seed 002 ("Timeouts") does the same with a
//! 5 s operation and `timeout=3.0`; seed 000 ("Timeouts and cancellation") and seed 004
//! (§13.2, "Timeouts: `async with asyncio.timeout(5)`") write the block form, `async with
//! asyncio.timeout(30): data = await collect_inventory(forest)`.
//!
//! `tempo::time::timeout(d, fut)` is both `wait_for(fut, d)` and `async with timeout(d)` (wrap
//! an `async` block for the latter). It returns `Err(Elapsed)` — asyncio's `TimeoutError`,
//! the `except` arm — and *drops* the query, which is how Rust cancels a future: the query's
//! code simply never runs again after the `.await` it was parked at. Nothing is raised inside
//! it, so there is nothing to catch there and no `except CancelledError` arm to write (or to
//! swallow by mistake, asyncio's classic bug); `"Data retrieved"` is never reached. What does
//! run is every destructor of what the query held at that `.await` — the `finally` of the
//! seed, and its `async with`. The lessons:
//!
//! 1. **The cleanup is a `Drop`.** The query holds a pooled connection; its `Drop` returns it
//!    to the pool and prints, at the moment of the timeout, before `timeout` returns. Total
//!    time: the timeout's, not the query's.
//! 2. **Cleanup that must await cannot be a `Drop`** (destructors are not `async`): sending a
//!    `ROLLBACK` needs the network. So the owner does it: the connection belongs to the
//!    caller, the timed-out future only borrowed it, and after the timeout the caller sees the
//!    transaction left open and awaits the rollback. (The other way — a `Drop` that
//!    `tempo::spawn`s the async cleanup — fires and forgets: nobody awaits it, and a runtime
//!    shutting down cancels it.)
//!
//! One trap for asyncio readers: a *spawned* task under a timeout is not cancelled by it.
//! `timeout(d, handle)` drops the `JoinHandle`, and dropping a handle detaches the task, which
//! runs on. Abort it (`handle.abort()`), or time out `handle.abort_on_drop()`.
//!
//! What it prints (every time measured in the run; default scale):
//!
//! ```text
//! -- 1. wait_for(slow_database_query(), timeout=2.00 s); the query needs 10.00 s
//! [0.00 s] Query started... (holding pooled connection 1)
//! [2.00 s] cleanup: connection 1 back in the pool (the query was dropped at its await)
//! [2.00 s] Timeout! The query took too long.
//! timed out after 2.00 s; cleanups run: 1; queries that finished: 0
//! -- 2. cleanup that must await: a transaction under asyncio.timeout(2.00 s)
//! [2.00 s] BEGIN; inserting (needs 10.00 s)...
//! [4.00 s] Timeout! The insert was dropped; transaction still open: true
//! [4.00 s] ROLLBACK sent...
//! [4.50 s] ROLLBACK done after 0.50 s; transaction still open: false
//! summary: query timed out after 2.00 s (needed 10.00 s), cleanup ran before the error; insert timed out after 2.00 s, rolled back by its owner in 0.50 s
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tempo::time::{sleep, timeout};

/// The seed's figures: the timeout, and how long the slow query would take.
const TIMEOUT_SECS: f64 = 2.0;
const QUERY_SECS: f64 = 10.0;
/// A rollback's round trip to the database (ours; the seeds do not have one).
const ROLLBACK_SECS: f64 = 0.5;

fn main() -> ExitCode {
    let scale = match parse_args(std::env::args().skip(1)) {
        Ok(scale) => scale,
        Err(msg) => {
            eprintln!(
                "timeout_cleanup: {msg}\nusage: timeout_cleanup [--scale F]   (F in (0, 100], default 1.0)"
            );
            return ExitCode::from(2);
        }
    };
    let secs = |s: f64| Duration::from_secs_f64(s * scale);
    let clock = Clock(Instant::now());
    // `asyncio.run(main())`.
    tempo::run(lessons(
        clock,
        secs(TIMEOUT_SECS),
        secs(QUERY_SECS),
        secs(ROLLBACK_SECS),
    ));
    ExitCode::SUCCESS
}

async fn lessons(clock: Clock, limit: Duration, query_time: Duration, rollback_time: Duration) {
    let (limit_s, query_s) = (limit.as_secs_f64(), query_time.as_secs_f64());

    println!(
        "-- 1. wait_for(slow_database_query(), timeout={limit_s:.2} s); the query needs {query_s:.2} s"
    );
    let pool = Pool {
        clock,
        returned: Cell::new(0),
        finished: Cell::new(0),
    };
    let start = Instant::now();
    // `await asyncio.wait_for(slow_database_query(), timeout=2.0)`. When `.await` returns,
    // the `Timeout` — and the query inside it — has already been dropped: the cleanup line
    // is printed before we get to look at the result.
    let result = timeout(limit, slow_database_query(&pool, query_time)).await;
    let took = start.elapsed();
    // Counted before anything else runs: the cleanup happened inside that `.await`.
    let cleaned_before_result = pool.returned.get();
    match result {
        Ok(data) => println!("[{:.2} s] Result: {data}", clock.now()),
        // `except asyncio.TimeoutError:`. There is no second arm for `CancelledError`: the
        // cancelled query was simply dropped, and nothing was raised anywhere.
        Err(_elapsed) => println!("[{:.2} s] Timeout! The query took too long.", clock.now()),
    }
    println!(
        "timed out after {:.2} s; cleanups run: {}; queries that finished: {}",
        took.as_secs_f64(),
        pool.returned.get(),
        pool.finished.get()
    );

    println!("-- 2. cleanup that must await: a transaction under asyncio.timeout({limit_s:.2} s)");
    // The caller owns the connection; the timed-out future only borrows it.
    let mut conn = Connection {
        clock,
        in_transaction: false,
    };
    let start = Instant::now();
    // `async with asyncio.timeout(2): await conn.insert(...)`.
    let result = timeout(limit, async { conn.insert(query_time).await }).await;
    let insert_took = start.elapsed();
    if result.is_err() {
        println!(
            "[{:.2} s] Timeout! The insert was dropped; transaction still open: {}",
            clock.now(),
            conn.in_transaction
        );
    }
    // The cleanup that awaits: here, in the owner, after the cancelled future is gone.
    let rollback_took = if conn.in_transaction {
        let start = Instant::now();
        conn.rollback(rollback_time).await;
        Some(start.elapsed())
    } else {
        None
    };

    print!(
        "summary: query timed out after {:.2} s (needed {query_s:.2} s), ",
        took.as_secs_f64()
    );
    if cleaned_before_result == 1 {
        print!("cleanup ran before the error; ");
    } else {
        print!("cleanups run before the error: {cleaned_before_result}; ");
    }
    match rollback_took {
        Some(t) => println!(
            "insert timed out after {:.2} s, rolled back by its owner in {:.2} s",
            insert_took.as_secs_f64(),
            t.as_secs_f64()
        ),
        None => println!(
            "insert ended after {:.2} s with nothing to roll back",
            insert_took.as_secs_f64()
        ),
    }
}

/// Seed 001's `slow_database_query()`, holding a pooled connection while it waits.
async fn slow_database_query(pool: &Pool, query_time: Duration) -> &'static str {
    // `async with pool.acquire() as conn:` — its `__aexit__` is `PooledConnection`'s `Drop`.
    let conn = PooledConnection { id: 1, pool };
    println!(
        "[{:.2} s] Query started... (holding pooled connection {})",
        pool.clock.now(),
        conn.id
    );
    // On timeout, this is where the query stops for good: the future is dropped while
    // parked here, `conn` is dropped with it, and the lines below never run.
    sleep(query_time).await;
    pool.finished.set(pool.finished.get() + 1);
    println!("[{:.2} s] Data retrieved", pool.clock.now());
    "Data retrieved"
}

/// A stand-in connection pool: counts connections given back and queries that finished.
/// `Cell`s, not atomics: everything here runs on the one task `tempo::run` polls.
struct Pool {
    /// Whose clock to stamp lines with.
    clock: Clock,
    /// How many connections came back — one per cleanup that ran.
    returned: Cell<usize>,
    /// How many queries ran to the end (none should).
    finished: Cell<usize>,
}

/// A connection borrowed from the pool, returned when dropped — however the holder ends.
struct PooledConnection<'a> {
    /// Which connection, for the message.
    id: u32,
    /// Where it goes back to.
    pool: &'a Pool,
}

impl Drop for PooledConnection<'_> {
    /// The `finally` of the seed. Runs when the query returns, and when it is cancelled:
    /// `Drop` cannot await, so it does only what needs no waiting.
    fn drop(&mut self) {
        self.pool.returned.set(self.pool.returned.get() + 1);
        println!(
            "[{:.2} s] cleanup: connection {} back in the pool (the query was dropped at its await)",
            self.pool.clock.now(),
            self.id
        );
    }
}

/// A connection the caller owns, with a transaction that may be left open.
struct Connection {
    /// Whose clock to stamp lines with.
    clock: Clock,
    /// True between `BEGIN` and its `COMMIT` or `ROLLBACK`.
    in_transaction: bool,
}

impl Connection {
    /// `BEGIN; INSERT …; COMMIT` — with the insert taking `took`. Cancelled in the middle,
    /// it leaves the transaction open: undoing it needs a round trip, which a destructor
    /// cannot wait for.
    async fn insert(&mut self, took: Duration) {
        self.in_transaction = true;
        println!(
            "[{:.2} s] BEGIN; inserting (needs {:.2} s)...",
            self.clock.now(),
            took.as_secs_f64()
        );
        sleep(took).await;
        self.in_transaction = false;
        println!("[{:.2} s] COMMIT", self.clock.now());
    }

    /// `ROLLBACK`, which has to go to the server and wait for its answer.
    async fn rollback(&mut self, round_trip: Duration) {
        let start = Instant::now();
        println!("[{:.2} s] ROLLBACK sent...", self.clock.now());
        sleep(round_trip).await;
        self.in_transaction = false;
        println!(
            "[{:.2} s] ROLLBACK done after {:.2} s; transaction still open: {}",
            self.clock.now(),
            start.elapsed().as_secs_f64(),
            self.in_transaction
        );
    }
}

/// When the program started: every line is stamped with the seconds since.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    /// Seconds since the start.
    fn now(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Reads the optional `--scale F` (default 1.0): every duration is multiplied by `F`.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<f64, String> {
    let mut scale = 1.0;
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--scale" => {
                let text = argv.next().ok_or("--scale needs a value")?;
                scale = match text.parse::<f64>() {
                    // `Duration::from_secs_f64` panics on negative or absurd values.
                    Ok(f) if f > 0.0 && f <= 100.0 => f,
                    _ => return Err(format!("--scale {text}: expected a number in (0, 100]")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(scale)
}
