//! The check-then-set race: one thread, no data race, and still a wrong answer — then the
//! same code fixed with `tempo::sync::Mutex`.
//!
//! ```text
//! cargo run --example race_lock                  # five tellers, one account
//! cargo run --example race_lock -- --tellers 20  # more tellers, a worse overdraft
//! ```
//!
//! Reference seed 003 ("Locks") shows the shape of the bug — check, `await`, then set:
//!
//! ```text
//! async def overwrite_a(key, value):
//!     if await collection_c.get(key) is None:      # check ...
//!         await collection_c.set(key, value)       # ... await ... set
//! asyncio.gather(overwrite_a('foo', 'bar'), overwrite_b('foo', 'bar'))
//! ```
//!
//! "it is possible that both functions will check if the key exists one after the other,
//! find out there's no key, and then both will insert". Seed 001 ("Synchronization
//! Primitives") names the fix: `async with database_lock:` around the critical section.
//!
//! Here the shared state is a bank account holding 100, and each of five tellers withdraws
//! 60 if the balance covers it. Only one withdrawal can be approved; the balance must never
//! go below zero. Each teller checks the balance, then awaits — `yield_now()`, asyncio's
//! `await asyncio.sleep(0)`, standing for the database round trip of seed 003 — then takes
//! the money. Three runs of the same tellers:
//!
//! 1. **No lock, an await between check and set.** All five check before any of them
//!    sets: every one sees 100, every one approves, and the balance ends at -200.
//! 2. **No lock, no await between check and set.** Correct, by luck of the code's shape: a
//!    task is only ever paused at an `.await`, so a check and a set with no `.await`
//!    between them run as one step that no other task can split.
//! 3. **`tempo::sync::Mutex`, held from check to set across the await** — `async with
//!    lock:`. The second teller waits at `lock().await` until the first has set, then sees
//!    40 and refuses.
//!
//! Why does one thread race at all? Because "single-threaded" only means no two tasks run
//! *at the same instant*; they still take turns, and every `.await` is a place where the
//! turn may pass to another task. Any check whose answer is used after an `.await` may be
//! stale by then. The account here is an `Rc<Cell<i64>>` and the tellers are
//! `spawn_local` tasks: `Rc` cannot even cross threads, so the compiler proves there is no
//! second thread, and the race happens anyway. (Rust rejects *data* races at compile time;
//! this is a *logic* race, which no type system sees.) Unlike `std::sync::Mutex`,
//! `tempo::sync::Mutex`'s guard may be held across an `.await`: a waiting task sleeps in the
//! lock's queue instead of blocking the thread.
//!
//! What it prints (the figures are the run's own):
//!
//! ```text
//! -- 1. no lock, an await between check and set
//!   teller 1 checks: balance 100 covers 60, approved
//!   teller 2 checks: balance 100 covers 60, approved
//!   ...
//!   teller 1 withdraws 60: balance now 40
//!   teller 2 withdraws 60: balance now -20
//!   ...
//! -- 2. no lock, no await between check and set
//!   ...
//! -- 3. tempo::sync::Mutex held from check to set
//!   ...
//! no lock, await between: 5 of 5 withdrawals approved, final balance -200 (BROKEN: below zero)
//! no lock, no await:      1 of 5 withdrawals approved, final balance 40 (ok)
//! Mutex:                  1 of 5 withdrawals approved, final balance 40 (ok)
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;

use tempo::sync::Mutex;
use tempo::task::yield_now;

/// What the account holds at the start of each run.
const OPENING_BALANCE: i64 = 100;
/// What each teller tries to withdraw: more than half the balance, so only one may succeed.
const AMOUNT: i64 = 60;

const USAGE: &str = "usage: race_lock [--tellers N]   (N in 2..=1000, default 5)";

fn main() -> ExitCode {
    let tellers = match parse_args(std::env::args().skip(1)) {
        Ok(n) => n,
        Err(msg) => {
            eprintln!("race_lock: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    // One worker, and every teller a `spawn_local` task on this thread: with the `Rc`
    // account, `tempo::spawn` (which may move a task to another thread) would not compile.
    let results = tempo::run(async move {
        println!("-- 1. no lock, an await between check and set");
        let racy = run_unlocked(tellers, true).await;
        println!("-- 2. no lock, no await between check and set");
        let no_await = run_unlocked(tellers, false).await;
        println!("-- 3. tempo::sync::Mutex held from check to set");
        let locked = run_locked(tellers).await;
        [
            ("no lock, await between:", racy),
            ("no lock, no await:     ", no_await),
            ("Mutex:                 ", locked),
        ]
    });

    for (label, outcome) in results {
        let verdict = if outcome.balance < 0 {
            "BROKEN: below zero"
        } else {
            "ok"
        };
        println!(
            "{label} {} of {tellers} withdrawals approved, final balance {} ({verdict})",
            outcome.approved, outcome.balance
        );
    }
    ExitCode::SUCCESS
}

/// How a run ended.
#[derive(Clone, Copy, Debug)]
struct Outcome {
    /// Withdrawals that went through.
    approved: usize,
    /// The balance after every teller finished.
    balance: i64,
}

/// Every teller at once on an unlocked account: `asyncio.gather(*(withdraw(...) ...))`.
/// With `pause`, each teller awaits between its check and its set.
async fn run_unlocked(tellers: usize, pause: bool) -> Outcome {
    let account = Rc::new(Cell::new(OPENING_BALANCE));
    // Spawned in order 1, 2, 3 ...; the run queue is first in, first out.
    let handles: Vec<_> = (1..=tellers)
        .map(|teller| tempo::spawn_local(withdraw_unlocked(account.clone(), teller, pause)))
        .collect();
    let mut approved = 0;
    for handle in handles {
        // A teller's task cannot panic or be cancelled here; a JoinError would be a bug.
        if handle.await.expect("a teller's task ends normally") {
            approved += 1;
        }
    }
    Outcome {
        approved,
        balance: account.get(),
    }
}

/// One teller, no lock: check the balance, (maybe) await, then withdraw.
async fn withdraw_unlocked(account: Rc<Cell<i64>>, teller: usize, pause: bool) -> bool {
    // The check.
    let seen = account.get();
    if seen < AMOUNT {
        println!("  teller {teller} checks: balance {seen} does not cover {AMOUNT}, refused");
        return false;
    }
    println!("  teller {teller} checks: balance {seen} covers {AMOUNT}, approved");
    if pause {
        // The database round trip: the task goes to the back of the run queue, and every
        // other teller runs its check before this one comes back. The `seen` above is
        // stale from here on, and nothing tells us.
        yield_now().await;
    }
    // The set, acting on a check that may no longer hold.
    account.set(account.get() - AMOUNT);
    println!(
        "  teller {teller} withdraws {AMOUNT}: balance now {}",
        account.get()
    );
    true
}

/// Every teller at once on a locked account.
async fn run_locked(tellers: usize) -> Outcome {
    let account = Rc::new(Mutex::new(OPENING_BALANCE));
    let handles: Vec<_> = (1..=tellers)
        .map(|teller| tempo::spawn_local(withdraw_locked(account.clone(), teller)))
        .collect();
    let mut approved = 0;
    for handle in handles {
        if handle.await.expect("a teller's task ends normally") {
            approved += 1;
        }
    }
    let balance = *account.lock().await;
    Outcome { approved, balance }
}

/// One teller with the lock held from the check to the set: `async with lock:`.
async fn withdraw_locked(account: Rc<Mutex<i64>>, teller: usize) -> bool {
    // Every other teller that arrives while we hold the guard waits here, in order.
    let mut balance = account.lock().await;
    if *balance < AMOUNT {
        println!(
            "  teller {teller} checks: balance {} does not cover {AMOUNT}, refused",
            *balance
        );
        return false;
    }
    println!(
        "  teller {teller} checks: balance {} covers {AMOUNT}, approved",
        *balance
    );
    // The same await as in run 1; the guard stays held across it, so no other teller can
    // check until we have set.
    yield_now().await;
    *balance -= AMOUNT;
    println!(
        "  teller {teller} withdraws {AMOUNT}: balance now {}",
        *balance
    );
    true
    // The guard drops here: the lock passes to the next teller in the queue.
}

/// Reads the optional `--tellers N`.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<usize, String> {
    let mut tellers = 5;
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--tellers" => {
                let text = argv.next().ok_or("--tellers needs a value")?;
                tellers = match text.parse::<usize>() {
                    Ok(n) if (2..=1000).contains(&n) => n,
                    _ => return Err(format!("--tellers {text}: expected a number in 2..=1000")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(tellers)
}
