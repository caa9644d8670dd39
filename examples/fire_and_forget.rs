//! Fire and forget: a spawned task panics, nobody awaits it — what is reported, and when;
//! then the fixes, which keep the handle and handle the failure.
//!
//! ```text
//! cargo run --example fire_and_forget                 # stdout and stderr, interleaved
//! RUST_LOG=off cargo run --example fire_and_forget    # tempo's report, unstamped
//! ```
//!
//! Reference seed 001 ("Robust Error Handling", "The Fire and Forget Trap"):
//!
//! ```text
//! If a task created via asyncio.create_task() raises an exception and is never awaited,
//! the exception is suppressed until the garbage collector cleans up the task, often
//! resulting in a cryptic log message that is hard to trace.
//! Never Ignore Tasks: Always await tasks created with asyncio.create_task()
//! ```
//!
//! In asyncio that log message is "Task exception was never retrieved", printed when the
//! task object is collected — some time later, or at exit. Here the same mistake: an order
//! service charges a card, then spawns a task named `send-receipt` and drops its
//! `JoinHandle` (a dropped handle detaches the task; it does not cancel it). The task
//! panics: the mail server refused the receipt. What tempo and Rust report, on stderr:
//!
//! 1. **At the moment of the panic**, Rust's panic hook prints `thread 'main' (TID)
//!    panicked at examples/fire_and_forget.rs:LINE:COL:` and the message. It names the
//!    *thread* (the worker's: `main` for a one-worker runtime) and the line, not the
//!    task. It prints for every panic, read or not — so unlike asyncio, the message
//!    itself is never held back.
//! 2. **When the task's result is thrown away** — at once here, since the handle was
//!    already gone when the task ended — tempo logs, at level `ERROR`, `tempo: task 0.N:
//!    task panicked: MESSAGE, and nobody read its JoinHandle`: asyncio's "never retrieved",
//!    naming the task by its id (the first line of the run says which id `send-receipt`
//!    got; a task dump or the monitor's `ps-finished` names it, as this example shows). Like
//!    asyncio's, it needs no setup: with no logger installed it is printed on
//!    stderr as it is; this program installs `env_logger`, so it comes as a `log` record
//!    with a timestamp (`RUST_LOG=off` turns the logger off, and the plain line is back).
//!
//! What neither can do is tell *main*: its code runs on as if the receipt had been sent.
//! That is the trap. The fixes make the failure a value that main's code handles:
//!
//! - keep the `JoinHandle` and await it: `Err(JoinError)`, with `is_panic()` and the
//!   message — `await task` raising the task's exception in asyncio;
//! - for many tasks, a `tempo::task::JoinSet`: every outcome comes back from
//!   `join_next()`, and dropping the set cancels what is left, so nothing is forgotten
//!   (`asyncio.TaskGroup` — `tempo::task::TaskGroup` — is the choice when one failure
//!   should cancel the siblings; receipts are independent, so a set fits).
//!
//! With the fixes, the panic hook still prints each panic (that is Rust), but tempo's
//! "nobody read" line does not appear: somebody did.
//!
//! What it prints, stdout and stderr interleaved (times, ids and the thread's OS id are the
//! run's own; `RUST_BACKTRACE=0`):
//!
//! ```text
//! -- 1. fire and forget: spawn send-receipt, drop its JoinHandle
//! [0.000 s] main: order 42 placed; spawned "send-receipt" as task 0.0 and dropped its handle
//! [0.011 s] send-receipt: card charged for order 42, sending the receipt
//!
//! thread 'main' (24930) panicked at examples/fire_and_forget.rs:204:9:
//! smtp: connection refused while sending the receipt for order 42
//! note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
//! [0.011 s] ERROR tempo: task 0.0: task panicked: smtp: connection refused while sending the receipt for order 42, and nobody read its JoinHandle
//! [0.011 s] main: order 42 charged; as far as main's code knows, all is well
//! [0.011 s] main: the runtime's record of it: task 0.0 "send-receipt" (examples/fire_and_forget.rs:139:54) panicked: smtp: connection refused while sending the receipt for order 42
//! -- 2. the fix: keep the JoinHandle, await it, handle the error
//! [0.021 s] send-receipt: card charged for order 43, sending the receipt
//!
//! thread 'main' (24930) panicked at examples/fire_and_forget.rs:204:9:
//! smtp: connection refused while sending the receipt for order 43
//! [0.021 s] main: receipt for order 43 failed (task panicked: smtp: connection refused while sending the receipt for order 43); handled: queued for a retry
//! -- 3. the fix for many tasks: a JoinSet, every outcome read
//! [0.032 s] receipt 44: card charged for order 44, sending the receipt
//! [0.032 s] receipt 45: card charged for order 45, sending the receipt
//!
//! thread 'main' (24930) panicked at examples/fire_and_forget.rs:204:9:
//! smtp: connection refused while sending the receipt for order 45
//! [0.032 s] receipt 46: card charged for order 46, sending the receipt
//! [0.032 s] main: receipt for order 44 sent
//! [0.032 s] main: a receipt failed (task panicked: smtp: connection refused while sending the receipt for order 45); handled: queued for a retry
//! [0.032 s] main: receipt for order 46 sent
//! [0.032 s] main: 2 receipts sent, 1 failed and handled, 0 forgotten
//! ```
//!
//! Note the order in part 1: both reports come *before* main's next line. The task sends
//! "charged" and panics in one poll, and main, woken by that message, runs only after it.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tempo::sync::oneshot;
use tempo::task::{Builder, JoinSet};

/// How long "charging the card" takes before the receipt is sent.
const CHARGE_TIME: Duration = Duration::from_millis(10);

fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        eprintln!("fire_and_forget: unknown argument {arg:?}\nusage: fire_and_forget");
        return ExitCode::from(2);
    }
    let t0 = Instant::now();
    // With a logger, tempo's report of an unread panic is a `log` record (without one it is
    // a plain stderr line). Each record is stamped with the same clock as stdout.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format(move |buf, record| {
            writeln!(
                buf,
                "[{:.3} s] {} {}",
                t0.elapsed().as_secs_f64(),
                record.level(),
                record.args()
            )
        })
        .init();

    // Diagnostics on, so that the runtime keeps a record of finished tasks by name — what
    // a task dump and the monitor console's `ps-finished` show. Not needed for the report.
    let runtime = match tempo::Builder::new().diagnostics(true).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fire_and_forget: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        println!("-- 1. fire and forget: spawn send-receipt, drop its JoinHandle");
        fire_and_forget(t0).await;
        println!("-- 2. the fix: keep the JoinHandle, await it, handle the error");
        keep_the_handle(t0).await;
        println!("-- 3. the fix for many tasks: a JoinSet, every outcome read");
        join_set(t0).await;
    });
    ExitCode::SUCCESS
}

/// `asyncio.create_task(send_receipt(42))` with the task thrown away.
async fn fire_and_forget(t0: Instant) {
    let (charged_tx, charged_rx) = oneshot::channel();
    let handle = Builder::new().name("send-receipt").spawn(send_receipt(
        t0,
        "send-receipt",
        42,
        Some(charged_tx),
        true,
    ));
    // The id is known at once: the task was spawned from this worker's own thread.
    let id = handle.id().map_or("?".to_string(), |id| id.to_string());
    println!(
        "{} main: order 42 placed; spawned \"send-receipt\" as task {id} and dropped its handle",
        stamp(t0)
    );
    // The mistake. (`let _ = ...` would do the same: detach, not cancel.)
    drop(handle);

    // Main goes on with its own work. It waits for the card to be charged — the task says
    // so just before it panics, in the same poll — so by the time main runs again the task
    // has panicked and both reports are on stderr.
    if let Ok(order) = charged_rx.await {
        println!(
            "{} main: order {order} charged; as far as main's code knows, all is well",
            stamp(t0)
        );
    }
    // Where the name is kept: the runtime's diagnostics remember finished tasks by name
    // (`Handle::dump()`, the monitor console's `ps-finished`).
    let dump = tempo::Handle::current().dump();
    match dump.finished_named("send-receipt") {
        Some(task) => println!(
            "{} main: the runtime's record of it: task {} {} {}",
            stamp(t0),
            task.info.id,
            task.info.label(),
            task.outcome
        ),
        None => println!(
            "{} main: the runtime has no record of send-receipt",
            stamp(t0)
        ),
    }
}

/// The task: charge the card, say so, then send the receipt — which fails with a panic
/// when `fail`.
async fn send_receipt(
    t0: Instant,
    name: impl std::fmt::Display,
    order: u32,
    charged: Option<oneshot::Sender<u32>>,
    fail: bool,
) -> u32 {
    // Charging the card: a stand-in for a payment API call.
    tempo::time::sleep(CHARGE_TIME).await;
    println!(
        "{} {name}: card charged for order {order}, sending the receipt",
        stamp(t0)
    );
    if let Some(charged) = charged {
        // Main may have stopped listening; then there is nobody to tell.
        let _ = charged.send(order);
    }
    if fail {
        // The mail server said no. A real program would return an error here; a panic is
        // what "an exception nobody catches" is in Rust, and what tempo must report.
        panic!("smtp: connection refused while sending the receipt for order {order}");
    }
    order
}

/// The fix for one task: keep the handle and await it.
async fn keep_the_handle(t0: Instant) {
    let handle =
        Builder::new()
            .name("send-receipt")
            .spawn(send_receipt(t0, "send-receipt", 43, None, true));
    match handle.await {
        Ok(order) => println!("{} main: receipt for order {order} sent", stamp(t0)),
        Err(e) => println!(
            "{} main: receipt for order 43 failed ({}); handled: queued for a retry",
            stamp(t0),
            e
        ),
    }
}

/// The fix for many tasks: a JoinSet, drained to the end.
async fn join_set(t0: Instant) {
    let mut receipts = JoinSet::new();
    for (order, fail) in [(44, false), (45, true), (46, false)] {
        let name = format!("receipt {order}");
        receipts.insert(
            Builder::new()
                .name(&name)
                .spawn(send_receipt(t0, name, order, None, fail)),
        );
    }
    let (mut sent, mut failed) = (0, 0);
    // Each task's outcome, in the order they finish. A panic comes back as a value here,
    // with its message, instead of vanishing.
    while let Some(outcome) = receipts.join_next().await {
        match outcome {
            Ok(order) => {
                sent += 1;
                println!("{} main: receipt for order {order} sent", stamp(t0));
            }
            Err(e) => {
                failed += 1;
                println!(
                    "{} main: a receipt failed ({}); handled: queued for a retry",
                    stamp(t0),
                    e
                );
            }
        }
    }
    println!(
        "{} main: {sent} receipts sent, {failed} failed and handled, {} forgotten",
        stamp(t0),
        receipts.len()
    );
}

/// `[0.012 s]`: time since the start, on the clock the log records use too.
fn stamp(t0: Instant) -> String {
    format!("[{:.3} s]", t0.elapsed().as_secs_f64())
}
