//! The loop, drawn: a trace from `Builder::trace` (or `TEMPO_TRACE=FILE`) as the asyncio
//! texts draw their timelines — one row per task, one per worker's reactor.
//!
//! ```text
//! cargo run --example sleep_gather -- --secs 0.2 --trace t.json   # record a run
//! cargo run --example trace_view -- t.json                        # draw it
//! cargo run --example trace_view -- t.json --width 100            # wider
//! cargo run --example trace_view -- docs/traces/sleep_gather.json # the committed one
//! ```
//!
//! Reference seed 002 ("Synchronous vs Asynchronous Execution") draws the idea by hand:
//!
//! ```text
//! Task A: [== initiated ==]     [== continues ==]
//! Task B:       [== starts ==]     [== finishes ==]
//! ```
//!
//! This draws the same picture from a real run. Each task's row marks its *polls* — the
//! only times its code ran — and the gaps between are where it waited; the `epoll_wait` row
//! marks where the loop was blocked in the reactor, waiting for I/O and timers. For
//! `sleep_gather` it shows both halves of the seed's lesson: the `block_on` future holding
//! the thread through the two blocking sleeps in one long poll, then the two sleeping tasks
//! polled twice each, with the loop asleep in `epoll_wait` between — both sleeps in one
//! wait. What it prints for `docs/traces/sleep_gather.json` (docs/DESIGN.md shows the same,
//! and `tests/trace.rs` checks that copy against the file):
//!
//! ```text
//! sleep_gather: 1 loop, 2 tasks, 6 polls, 2 turns in 605.85 ms; one column = 15 ms
//!                  0 ms      150 ms    300 ms    450 ms    600 ms
//!                  |---------|---------|---------|---------|-
//! block_on future  [=========================]             |   2 polls, 404.9 ms
//! async sleep 1                              |             |   2 polls, 91.3 us
//! async sleep 2                              |             |   2 polls, 9.2 us
//! epoll_wait                                 [=============]   2 turns, 200.79 ms in all, 2 timers fired, 0 I/O events
//! [===] a poll (or a turn of the reactor) across the columns it spans; | one within a column
//! ```
//!
//! The same file opens in <https://ui.perfetto.dev> (or `chrome://tracing`), which adds
//! what text cannot: zoom, each poll's task id and spawn location, and an arrow from each
//! wake to the poll it caused. A poll shorter than a column is a `|`; the row's totals are
//! on its right. Rows are in the order the tasks first ran. The output depends only on the
//! file and `--width` (the number of columns for the timeline, default 60, 10 to 1000), so
//! a trace drawn in the docs can be checked against its file (`tests/trace.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match render_args(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("trace_view: {msg}\nusage: trace_view FILE [--width N]");
            ExitCode::from(2)
        }
    }
}

/// What the command line asks for.
pub struct Options {
    /// The trace file.
    pub file: PathBuf,
    /// Columns for the timeline.
    pub width: usize,
}

/// Reads `FILE [--width N]`.
pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut file = None;
    let mut width = 60;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--width" => {
                let text = args.next().ok_or("--width needs a value")?;
                width = match text.parse::<usize>() {
                    Ok(n) if (10..=1000).contains(&n) => n,
                    _ => return Err(format!("--width {text}: expected columns in 10..=1000")),
                };
            }
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag:?}")),
            path if file.is_none() => file = Some(PathBuf::from(path)),
            extra => return Err(format!("one trace file at a time (and {extra:?}?)")),
        }
    }
    let file = file.ok_or("which trace file?")?;
    Ok(Options { file, width })
}

/// Reads the file the arguments name and draws it: what `main` prints.
pub fn render_args(args: &[String]) -> Result<String, String> {
    let options = parse_args(args)?;
    let text = std::fs::read_to_string(&options.file)
        .map_err(|e| format!("{}: {e}", options.file.display()))?;
    render(&text, options.width).map_err(|e| format!("{}: {e}", options.file.display()))
}

/// One row of the drawing.
struct Row {
    /// What the row is called.
    label: String,
    /// The spans, in nanoseconds since the trace began.
    spans: Vec<(u64, u64)>,
    /// For a reactor row: timers fired and I/O events, summed.
    turns: Option<(u64, u64)>,
}

/// A task, while rows are gathered: its track's thread id and its task id.
type TaskKey = (u64, String);

/// A task's name and its polls, while rows are gathered.
type TaskPolls = (String, Vec<(u64, u64)>);

/// Draws the trace-event JSON `json` with `width` columns of timeline.
pub fn render(json: &str, width: usize) -> Result<String, String> {
    if json.trim().is_empty() {
        return Err(
            "the file is empty: the program that wrote it never shut its runtime \
                    down (it was killed, or exited from inside it), so the trace was not \
                    written"
                .to_string(),
        );
    }
    let trace: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let events = trace["traceEvents"]
        .as_array()
        .ok_or("no \"traceEvents\" array: not a Chrome trace")?;

    let mut program = String::from("trace");
    let mut tracks: BTreeMap<u64, String> = BTreeMap::new();
    // Task rows by (track, task id); loop rows by track.
    let mut tasks: BTreeMap<TaskKey, TaskPolls> = BTreeMap::new();
    let mut loops: BTreeMap<u64, Row> = BTreeMap::new();
    for event in events {
        let tid = event["tid"].as_u64().unwrap_or(0);
        match (event["ph"].as_str(), event["cat"].as_str()) {
            (Some("M"), _) => {
                let value = event["args"]["name"].as_str().unwrap_or_default();
                match event["name"].as_str() {
                    Some("process_name") => {
                        program = value.strip_prefix("tempo: ").unwrap_or(value).to_string();
                    }
                    Some("thread_name") => {
                        tracks.insert(tid, value.to_string());
                    }
                    _ => {}
                }
            }
            (Some("X"), Some("poll")) => {
                let span = span(event)?;
                let name = event["name"].as_str().unwrap_or("?").to_string();
                let id = event["args"]["task"].as_str().unwrap_or(&name).to_string();
                let row = tasks.entry((tid, id)).or_insert_with(|| (name, Vec::new()));
                row.1.push(span);
            }
            (Some("X"), Some("turn")) => {
                let span = span(event)?;
                let name = event["name"].as_str().unwrap_or("reactor");
                let row = loops.entry(tid).or_insert_with(|| Row {
                    label: name.to_string(),
                    spans: Vec::new(),
                    turns: Some((0, 0)),
                });
                row.spans.push(span);
                if let Some((timers, io)) = &mut row.turns {
                    *timers += event["args"]["timers fired"].as_u64().unwrap_or(0);
                    *io += event["args"]["io events"].as_u64().unwrap_or(0);
                }
            }
            _ => {}
        }
    }

    // Rows: per track, its tasks in the order they first ran, then its reactor.
    let several = tasks
        .keys()
        .map(|(tid, _)| *tid)
        .chain(loops.keys().copied())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    let mut names: BTreeMap<(u64, &str), usize> = BTreeMap::new();
    for ((tid, _), (name, _)) in &tasks {
        *names.entry((*tid, name.as_str())).or_default() += 1;
    }
    let mut ordered: Vec<(&TaskKey, &TaskPolls)> = tasks.iter().collect();
    ordered.sort_by_key(|((tid, id), (_, spans))| {
        (
            *tid,
            spans.iter().map(|s| s.0).min().unwrap_or(0),
            id.clone(),
        )
    });
    let track_suffix = |tid: u64| {
        if several {
            let track = tracks
                .get(&tid)
                .cloned()
                .unwrap_or_else(|| format!("track {tid}"));
            format!(" ({track})")
        } else {
            String::new()
        }
    };
    let mut rows: Vec<Row> = Vec::new();
    let track_ids: std::collections::BTreeSet<u64> = tasks
        .keys()
        .map(|(tid, _)| *tid)
        .chain(loops.keys().copied())
        .collect();
    for tid in track_ids {
        for ((_, id), (name, spans)) in ordered.iter().filter(|((t, _), _)| *t == tid) {
            let mut label = name.clone();
            if names[&(tid, name.as_str())] > 1 {
                let _ = write!(label, " [{id}]");
            }
            label.push_str(&track_suffix(tid));
            rows.push(Row {
                label,
                spans: spans.clone(),
                turns: None,
            });
        }
        if let Some(mut row) = loops.remove(&tid) {
            row.label.push_str(&track_suffix(tid));
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return Err("no polls and no reactor turns in the trace".to_string());
    }

    // The scale: a round number of nanoseconds per column, so that the ticks are round.
    let start = rows
        .iter()
        .flat_map(|r| &r.spans)
        .map(|s| s.0)
        .min()
        .unwrap_or(0);
    let end = rows
        .iter()
        .flat_map(|r| &r.spans)
        .map(|s| s.1)
        .max()
        .unwrap_or(0);
    let total = (end - start).max(1);
    let per_column = round_up(total.div_ceil(width as u64).max(1_000));
    let columns = (total.div_ceil(per_column) as usize).clamp(1, width) + 1;
    let label_width = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(0)
        + 2;

    let mut out = String::new();
    let polls: usize = rows
        .iter()
        .filter(|r| r.turns.is_none())
        .map(|r| r.spans.len())
        .sum();
    let turns: usize = rows
        .iter()
        .filter(|r| r.turns.is_some())
        .map(|r| r.spans.len())
        .sum();
    let task_rows = rows
        .iter()
        .filter(|r| r.turns.is_none() && !r.label.starts_with("block_on future"))
        .count();
    // A loop is a track that turned its reactor; the "other threads" tracks of remote
    // wakes are not loops.
    let loop_count = rows.iter().filter(|r| r.turns.is_some()).count();
    let _ = writeln!(
        out,
        "{program}: {} loop{}, {task_rows} task{}, {polls} polls, {turns} turns in {}; one \
         column = {}",
        loop_count,
        if loop_count == 1 { "" } else { "s" },
        if task_rows == 1 { "" } else { "s" },
        duration(total),
        duration(per_column),
    );
    // The time scale: a label and a tick every ten columns.
    let mut labels = String::new();
    let mut ticks = String::new();
    for column in 0..columns {
        let on_tick = column % 10 == 0;
        ticks.push(if on_tick { '|' } else { '-' });
        if on_tick && labels.chars().count() <= column {
            let pad = column - labels.chars().count();
            labels.push_str(&" ".repeat(pad));
            labels.push_str(&duration(column as u64 * per_column));
            labels.push(' ');
        }
    }
    let _ = writeln!(out, "{:label_width$}{}", "", labels.trim_end());
    let _ = writeln!(out, "{:label_width$}{ticks}", "");
    for row in &rows {
        let mut cells = vec![' '; columns];
        for &(from, to) in &row.spans {
            let first = ((from - start) / per_column) as usize;
            let last = ((to.max(from) - start) / per_column) as usize;
            draw(&mut cells, first.min(columns - 1), last.min(columns - 1));
        }
        let line: String = cells.into_iter().collect();
        let busy: u64 = row.spans.iter().map(|(a, b)| b - a).sum();
        let n = row.spans.len();
        let totals = match row.turns {
            None => format!("{n} poll{}, {}", plural(n), duration(busy)),
            Some((timers, io)) => format!(
                "{n} turn{}, {} in all, {timers} timer{} fired, {io} I/O event{}",
                plural(n),
                duration(busy),
                plural(timers as usize),
                plural(io as usize)
            ),
        };
        let _ = writeln!(out, "{:label_width$}{line}  {totals}", row.label);
    }
    let dropped = trace["otherData"]["dropped_events"]
        .as_str()
        .and_then(|d| d.parse::<u64>().ok())
        .unwrap_or(0);
    out.push_str(
        "[===] a poll (or a turn of the reactor) across the columns it spans; | one within a \
         column\n",
    );
    if dropped > 0 {
        let _ = writeln!(
            out,
            "note: {dropped} events were dropped at the trace's cap: the timeline stops early"
        );
    }
    Ok(out)
}

/// Marks a span from column `first` to `last` in `cells`: `[===]`, or `|` if it fits in one.
fn draw(cells: &mut [char], first: usize, last: usize) {
    let mut put = |at: usize, mark: char| {
        cells[at] = match (cells[at], mark) {
            (' ' | '|', new) => new,
            (old, '|') => old,
            (old, new) if old == new => old,
            _ => '=',
        };
    };
    if first == last {
        put(first, '|');
        return;
    }
    put(first, '[');
    for at in first + 1..last {
        put(at, '=');
    }
    put(last, ']');
}

/// An `X` event's span in nanoseconds.
fn span(event: &Value) -> Result<(u64, u64), String> {
    let nanos = |key: &str| {
        event[key]
            .as_f64()
            .filter(|v| *v >= 0.0)
            .map(|us| (us * 1000.0).round() as u64)
            .ok_or_else(|| format!("an X event without a valid {key:?}: {event}"))
    };
    let ts = nanos("ts")?;
    let end = ts
        .checked_add(nanos("dur")?)
        .ok_or_else(|| format!("an X event that ends past any time this can draw: {event}"))?;
    Ok((ts, end))
}

/// The smallest round number of nanoseconds at least `n` — 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8
/// times a power of ten — so that a tick every ten columns falls on a round time.
fn round_up(n: u64) -> u64 {
    let mut power = 10;
    loop {
        for step in [10, 15, 20, 25, 30, 40, 50, 60, 80] {
            if step * power / 10 >= n {
                return step * power / 10;
            }
        }
        power *= 10;
    }
}

/// A duration in nanoseconds, in the unit that reads best: `20 us`, `10 ms`, `1.5 s`.
fn duration(nanos: u64) -> String {
    let trimmed = |value: f64, decimals: usize, unit: &str| {
        let text = format!("{value:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        };
        format!("{text} {unit}")
    };
    if nanos == 0 {
        "0 ms".to_string()
    } else if nanos < 1_000_000 {
        trimmed(nanos as f64 / 1e3, 1, "us")
    } else if nanos < 1_000_000_000 {
        trimmed(nanos as f64 / 1e6, 2, "ms")
    } else {
        trimmed(nanos as f64 / 1e9, 3, "s")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
