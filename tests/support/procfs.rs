//! What Linux's `/proc` says about a process: the CPU time it has used and the memory it
//! holds. A server's cost is measured as its own clock ticks, never guessed from the wall
//! clock.

use std::thread;
use std::time::{Duration, Instant};

/// The CPU time `pid` has used so far, user and system, in clock ticks: fields 14 and 15
/// (`utime`, `stime`) of `/proc/PID/stat`, summed over all its threads.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/stat: {e}"));
    // The command name (field 2) is in parentheses and may hold spaces; the fields after
    // the last `)` start at field 3, the state.
    let after_name = &stat[stat.rfind(')').expect("a (comm) field") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| -> u64 {
        fields[n - 3]
            .parse()
            .unwrap_or_else(|e| panic!("field {n} of /proc/{pid}/stat: {e}"))
    };
    field(14) + field(15)
}

/// Clock ticks per second, the unit of [`cpu_ticks`].
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf(3) only reads a configuration value; it has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|&hz| hz > 0).unwrap_or(100)
}

/// What share of one core `pid` used over `window`, from its own ticks: 0.05 is 5 %.
/// Returns the share and the ticks it rests on (one tick is 1/`ticks_per_second` s, so a
/// share over one second is known to about a percent).
pub fn cpu_share(pid: u32, window: Duration) -> (f64, u64) {
    let before = cpu_ticks(pid);
    let started = Instant::now();
    // A measurement window, not an ordering of events: nothing waits on what happens here.
    thread::sleep(window);
    let ticks = cpu_ticks(pid) - before;
    let elapsed = started.elapsed().as_secs_f64();
    (ticks as f64 / ticks_per_second() as f64 / elapsed, ticks)
}

/// The resident memory of `pid` in KiB: `VmRSS` in `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status:\n{status}"))
}

/// How many descriptors `pid` has open: the entries of `/proc/PID/fd`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/fd: {e}"))
        .count()
}
