//! CPU accounting: how much CPU time a server process spent, in user space and in the kernel.
//!
//! We read `/proc/PID/stat` (fields 14 and 15, `utime` and `stime`, in clock ticks of
//! `sysconf(_SC_CLK_TCK)`, 100 per second on Linux). Why that file and not the
//! nanosecond-precise `/proc/PID/schedstat`:
//!
//! - **It splits user from system time.** The split is the point: a runtime's own cost
//!   lives in user space, while the kernel's TCP work is the same whatever loop calls it.
//!   `schedstat` gives one total.
//! - **It covers the whole process.** `/proc/PID/stat` sums every thread of the process,
//!   including threads that have already exited; `schedstat` is per thread, and an exited
//!   thread's time is gone from it — which would lose the thread-per-connection server's
//!   work.
//!
//! What it costs in precision, and what we do about it: the kernel charges each scheduler
//! tick (`CONFIG_HZ`, 250 on these VMs: every 4 ms) to user or system time by where the tick
//! found the process, then scales both so they add up to the exact run time. The total is
//! exact; the split is a sample, and a server that spends 5 % of its time in user space
//! collects only ~12 user-time ticks per busy second. So a single short measurement's user
//! time is noisy; the report pools the ticks of all rounds of a cell (total user time ÷
//! total requests) rather than taking a median of per-round values, and a quick run's user
//! figures deserve a grain of salt that the full run's (four times the ticks) need less of.

use std::io;
use std::time::Duration;

/// CPU time a process has used since it started, all its threads together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time running the program's own code: the runtime, the echo loop, the allocator.
    pub user: Duration,
    /// Time in the kernel on the program's behalf: syscalls, and the TCP/IP work they do.
    pub system: Duration,
}

impl CpuTimes {
    /// Read the times of process `pid` from `/proc/PID/stat`.
    pub fn of_process(pid: u32) -> io::Result<CpuTimes> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        parse_stat(&stat).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("/proc/{pid}/stat: unexpected format: {stat:?}"),
            )
        })
    }

    /// The time used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }

    /// User and system time together.
    pub fn total(self) -> Duration {
        self.user + self.system
    }
}

/// `utime` and `stime` out of the text of `/proc/PID/stat`, converted from clock ticks.
fn parse_stat(stat: &str) -> Option<CpuTimes> {
    // Field 2, the command name, is in parentheses and may itself hold spaces or
    // parentheses; the fields after its *last* `)` are 3 (state) onwards, so field n is at
    // index n - 3.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(CpuTimes {
        user: ticks(utime),
        system: ticks(stime),
    })
}

/// `n` clock ticks as a duration.
fn ticks(n: u64) -> Duration {
    let tick = u64::try_from(clock_tick().as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(n.saturating_mul(tick))
}

/// The length of one clock tick, the unit of `/proc/PID/stat`'s times.
pub fn clock_tick() -> Duration {
    // SAFETY: sysconf only reads a configuration value; it takes no pointers.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // Linux has said 100 for as long as the interface has existed; -1 would mean the name
    // is unknown, which it is not, but 100 is the right guess if it ever were.
    let per_second = u32::try_from(per_second)
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(100);
    Duration::from_secs(1) / per_second
}

/// CPU time used by the calling thread so far (user and system together, to the
/// nanosecond): the load client's own cost, to show when the client, not the server, is
/// what limits a cell.
pub fn this_thread() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        // Cannot fail for this clock on Linux; report nothing rather than nonsense.
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// CPU time the whole machine has spent busy so far, all CPUs together, from the first line
/// of `/proc/stat`: what lets the report say whether some *other* program was competing for
/// the cores while a cell was measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MachineTimes {
    /// Running anything: user, nice, system, irq and softirq time.
    pub busy: Duration,
    /// Time the hypervisor ran something else while our vCPUs wanted to run.
    pub steal: Duration,
}

impl MachineTimes {
    /// Read `/proc/stat`.
    pub fn now() -> io::Result<MachineTimes> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        // cpu  user nice system idle iowait irq softirq steal guest guest_nice
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .filter(|l| l.starts_with("cpu "))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .filter_map(|f| f.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let [user, nice, system, _idle, _iowait, irq, softirq, steal, ..] = fields[..] else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "/proc/stat: unexpected first line",
            ));
        };
        Ok(MachineTimes {
            busy: ticks(user + nice + system + irq + softirq),
            steal: ticks(steal),
        })
    }

    /// The time spent between `earlier` and `self`.
    pub fn since(self, earlier: MachineTimes) -> MachineTimes {
        MachineTimes {
            busy: self.busy.saturating_sub(earlier.busy),
            steal: self.steal.saturating_sub(earlier.steal),
        }
    }
}
