//! Time: sleeping, intervals and timeouts — asyncio's `sleep`, `wait_for` and
//! `asyncio.timeout`. The timers live in the worker's reactor; see `tempo-reactor`.

pub use std::time::{Duration, Instant};
pub use tempo_reactor::time::{
    Elapsed, Interval, MissedTickBehavior, Sleep, Timeout, interval, interval_at, sleep,
    sleep_until, timeout, timeout_at,
};
