//! [`Dump`]: every live task and the recently finished ones — `py-spy dump` and aiomonitor's
//! `ps`, for tempo tasks.

use std::fmt;
use std::time::{Duration, Instant};

pub use tempo_executor::diag::{FinishedTask, TaskInfo, TaskState};
pub use tempo_executor::{CancelCause, Outcome};

/// A snapshot of a runtime's tasks, from [`Handle::dump`](crate::Handle::dump).
///
/// Its `Display` is a table, one task a line:
///
/// ```text
/// ID     WKR STATE      POLLS     BUSY      AGE  TASK                                   WAITING ON
/// 3.7      0 idle          12   1.2ms    4.01s  "conn 127.0.0.1:51234" (src/main.rs:40)  read on socket #3
/// ```
#[derive(Clone, Debug)]
pub struct Dump {
    /// False if the runtime keeps no diagnostics: then the lists are empty.
    pub enabled: bool,
    /// When the snapshot was taken.
    pub taken_at: Instant,
    /// Every live task, by worker and slot.
    pub tasks: Vec<TaskDump>,
    /// The most recently finished tasks, oldest first, with how each ended.
    pub finished: Vec<FinishedTask>,
}

/// One live task in a [`Dump`].
#[derive(Clone, Debug)]
pub struct TaskDump {
    /// What the worker records about it.
    pub info: TaskInfo,
    /// What it is waiting on, where the reactor knows: a socket direction, a timer.
    pub waiting_on: Vec<String>,
}

impl Dump {
    pub(crate) fn disabled() -> Dump {
        Dump {
            enabled: false,
            taken_at: Instant::now(),
            tasks: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// The live task with this name, if any.
    pub fn task_named(&self, name: &str) -> Option<&TaskDump> {
        self.tasks
            .iter()
            .find(|t| t.info.name.as_deref() == Some(name))
    }

    /// The finished task with this name (the most recent), if the ring still holds it.
    pub fn finished_named(&self, name: &str) -> Option<&FinishedTask> {
        self.finished
            .iter()
            .rev()
            .find(|t| t.info.name.as_deref() == Some(name))
    }

    /// The table of finished tasks, as the monitor's `ps-finished` prints it.
    pub fn finished_table(&self) -> String {
        let mut out = format!(
            "{:<8} {:>3} {:>7} {:>9} {:>9}  {:<40} HOW IT ENDED\n",
            "ID", "WKR", "POLLS", "BUSY", "AGO", "TASK"
        );
        for t in self.finished.iter().rev() {
            out.push_str(&format!(
                "{:<8} {:>3} {:>7} {:>9} {:>9}  {:<40} {}\n",
                t.info.id.to_string(),
                t.info.worker,
                t.info.polls,
                short(t.info.busy),
                short(self.taken_at.saturating_duration_since(t.finished_at)),
                t.info.label(),
                t.outcome,
            ));
        }
        out
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.enabled {
            return f.write_str(
                "tempo: no task dump: diagnostics are off (Builder::diagnostics(true), \
                 Builder::slow_poll_threshold, or TEMPO_DEBUG=1 turn them on)\n",
            );
        }
        writeln!(
            f,
            "{:<8} {:>3} {:<9} {:>7} {:>9} {:>9}  {:<40} WAITING ON",
            "ID", "WKR", "STATE", "POLLS", "BUSY", "AGE", "TASK"
        )?;
        for t in &self.tasks {
            let state = match t.info.state {
                TaskState::Idle => "idle",
                TaskState::Scheduled => "scheduled",
                TaskState::Running => "running",
            };
            let waiting = if t.waiting_on.is_empty() {
                "-".to_string()
            } else {
                t.waiting_on.join(", ")
            };
            writeln!(
                f,
                "{:<8} {:>3} {:<9} {:>7} {:>9} {:>9}  {:<40} {}",
                t.info.id.to_string(),
                t.info.worker,
                state,
                t.info.polls,
                short(t.info.busy),
                short(self.taken_at.saturating_duration_since(t.info.spawned_at)),
                t.info.label(),
                waiting,
            )?;
        }
        writeln!(
            f,
            "{} live tasks, {} recently finished",
            self.tasks.len(),
            self.finished.len()
        )
    }
}

/// A duration in at most a few characters: `950ns`, `12.3µs`, `4.5ms`, `2.01s`.
fn short(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.1}ms", ns as f64 / 1e6)
    } else {
        format!("{:.2}s", ns as f64 / 1e9)
    }
}
