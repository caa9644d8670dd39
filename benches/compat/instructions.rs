//! `--instructions`: user-space instructions per call, on every thread, from two
//! callgrind runs of this same binary in `--child` mode, N₁ and N₂ calls each.

use std::process::{Command, Stdio};

use crate::runtimes::{WAYS, Way, Work};

/// The two callgrind runs' call counts.
const CALLGRIND_CALLS: (usize, usize) = (1_000, 5_000);

/// Instructions per call of one row: two callgrind runs, the difference divided by the
/// difference in calls. `None` if valgrind is missing or a run failed.
pub(crate) fn callgrind_per_call(way: Way, work: Work) -> Option<f64> {
    let index = WAYS.iter().position(|&(w, _)| w == way)?;
    let exe = std::env::current_exe().ok()?;
    let work_arg = work.arg();
    let mut totals = vec![];
    for calls in [CALLGRIND_CALLS.0, CALLGRIND_CALLS.1] {
        let out = std::env::temp_dir().join(format!("compat-{index}-{work_arg}-{calls}.callgrind"));
        let status = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&exe)
            .args(["--child", &index.to_string(), work_arg, &calls.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            eprintln!("compat: callgrind run of {way:?}/{work_arg} failed: {status}");
            return None;
        }
        let text = std::fs::read_to_string(&out).ok()?;
        let _ = std::fs::remove_file(&out);
        let total = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("summary:")
                    .or_else(|| l.strip_prefix("totals:"))
            })
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())?;
        totals.push(total);
    }
    Some((totals[1] as f64 - totals[0] as f64) / (CALLGRIND_CALLS.1 - CALLGRIND_CALLS.0) as f64)
}
