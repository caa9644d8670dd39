//! The report: a table on stdout, `results.json` and `echo.svg` under `target/versus/`.
//!
//! Each server's figure for a cell is the **median over rounds** of that round's figure
//! (requests/s, p50, p99, CPU use), except CPU time per request, which is **pooled**: all
//! rounds' CPU time ÷ all rounds' requests. The kernel samples the user/system split once
//! per scheduler tick (see `cpu.rs`), and one short window holds only a handful of
//! user-time ticks; pooling uses every tick of every round.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::{Value, json};

use crate::client::Outcome;
use crate::http::HttpResults;
use crate::memory::MemoryResults;
use crate::servers::{BUF_SIZE, Kind};
use crate::{Cell, EchoResults, Opts};

/// One server's figures for one cell.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    /// Requests per second (median over rounds).
    pub rps: f64,
    /// Median round-trip time, µs (median over rounds).
    pub p50_us: f64,
    /// 99th-percentile round-trip time, µs (median over rounds).
    pub p99_us: f64,
    /// Server user CPU per request, ns (pooled over rounds).
    pub user_ns: f64,
    /// Server user CPU time over all rounds, seconds: how much sampled time `user_ns`
    /// rests on (see [`ROUGH_USER`]).
    pub user_total: f64,
    /// Server system CPU per request, ns (pooled over rounds).
    pub sys_ns: f64,
    /// Server CPU use over the window, % of one core (median over rounds).
    pub cpu_pct: f64,
    /// Load client CPU use over the window, % of one core (median over rounds).
    pub client_pct: f64,
    /// CPU use of everything else on the machine over the window, % of one core (median
    /// over rounds): other programs competing for the cores.
    pub other_pct: f64,
    /// Rounds that measured something.
    pub rounds: usize,
}

/// The figures of a [`Summary`], by name: what the ratios and the chart iterate over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    /// Requests per second.
    Rps,
    /// Median round trip.
    P50,
    /// 99th-percentile round trip.
    P99,
    /// Server user CPU per request: the runtime's own cost, sampled (see `cpu.rs`).
    User,
    /// Server system CPU per request: the kernel's share, the same whoever calls it.
    Sys,
}

impl Metric {
    /// Every metric, in the table's column order.
    const ALL: [Metric; 5] = [
        Metric::Rps,
        Metric::P50,
        Metric::P99,
        Metric::User,
        Metric::Sys,
    ];

    /// This metric's figure in `s`.
    fn of(self, s: &Summary) -> f64 {
        match self {
            Metric::Rps => s.rps,
            Metric::P50 => s.p50_us,
            Metric::P99 => s.p99_us,
            Metric::User => s.user_ns,
            Metric::Sys => s.sys_ns,
        }
    }

    /// Its key in `results.json`.
    fn key(self) -> &'static str {
        match self {
            Metric::Rps => "rps",
            Metric::P50 => "p50_us",
            Metric::P99 => "p99_us",
            Metric::User => "user_ns_per_req",
            Metric::Sys => "sys_ns_per_req",
        }
    }
}

/// The median of `values`, NaN for none.
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// A latency quantile in µs, NaN if the histogram had no samples.
fn us(d: Option<Duration>) -> f64 {
    d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
}

/// Summarize one server's rounds at one cell; `None` if every round failed.
pub fn summarize(runs: &[Result<Outcome, String>]) -> Option<Summary> {
    let ok: Vec<&Outcome> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
    let requests: u64 = ok.iter().map(|o| o.requests).sum();
    if ok.is_empty() || requests == 0 {
        return None;
    }
    let per_request = |f: fn(&Outcome) -> Duration| {
        ok.iter().map(|o| f(o).as_secs_f64()).sum::<f64>() * 1e9 / requests as f64
    };
    let pct = |f: fn(&Outcome) -> Duration| {
        median(
            ok.iter()
                .map(|o| 100.0 * f(o).as_secs_f64() / o.elapsed.as_secs_f64())
                .collect(),
        )
    };
    Some(Summary {
        rps: median(ok.iter().map(|o| o.rate()).collect()),
        p50_us: median(ok.iter().map(|o| us(o.latency.quantile(0.50))).collect()),
        p99_us: median(ok.iter().map(|o| us(o.latency.quantile(0.99))).collect()),
        user_ns: per_request(|o| o.server_cpu.user),
        user_total: ok.iter().map(|o| o.server_cpu.user.as_secs_f64()).sum(),
        sys_ns: per_request(|o| o.server_cpu.system),
        cpu_pct: pct(|o| o.server_cpu.total()),
        client_pct: pct(|o| o.client_cpu),
        other_pct: pct(|o| o.other_cpu()),
        rounds: ok.len(),
    })
}

/// Below this much user time in all (seconds), a user-CPU figure rests on few of the
/// kernel's tick samples — at 250 Hz, 100 ms is some 25 — and is marked `~` in the table:
/// read it as ±20 % or worse.
const ROUGH_USER: f64 = 0.1;

/// Every summary of the echo part, by cell and server.
struct Summaries<'a> {
    /// Every round of every server at every cell, as measured.
    echo: &'a EchoResults,
}

impl Summaries<'_> {
    /// `kind`'s figures at `cell`; `None` if every round failed.
    fn get(&self, cell: Cell, kind: Kind) -> Option<Summary> {
        summarize(self.echo.runs(kind, cell.conns, cell.size))
    }

    /// Whether `kind`'s user CPU figure at `cell` rests on too few samples.
    fn rough(&self, cell: Cell, kind: Kind) -> bool {
        self.get(cell, kind)
            .is_none_or(|summary| summary.user_total < ROUGH_USER)
    }

    /// `kind`'s `metric` ÷ `base`'s, at `cell`.
    fn ratio(&self, cell: Cell, kind: Kind, base: Kind, metric: Metric) -> Option<f64> {
        let a = metric.of(&self.get(cell, kind)?);
        let b = metric.of(&self.get(cell, base)?);
        (b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
    }
}

/// Print the table, write `results.json` and `echo.svg`.
pub fn report(
    opts: &Opts,
    echo: &EchoResults,
    http: Option<&HttpResults>,
    memory: Option<&MemoryResults>,
) -> io::Result<()> {
    let summaries = Summaries { echo };
    let targets = targets(&summaries);
    // Read the clock once, so the table, the JSON and the chart all carry the same date.
    let when = utc_now();
    let mut out = String::new();
    let _ = writeln!(out, "{}", machine_line(opts, &when));
    out.push_str(&echo_tables(opts, &summaries));
    out.push_str(&targets_table(&targets));
    let not_run = || vec![vec!["not run (--parts)".to_string()]];
    let parts = [
        ("HTTP", http.map_or_else(not_run, HttpResults::table_rows)),
        (
            "memory",
            memory.map_or_else(not_run, MemoryResults::table_rows),
        ),
    ];
    for (title, rows) in parts {
        let _ = writeln!(out, "\n{title}");
        out.push_str(&format_table(&rows, 1));
    }
    out.push_str(&competition(&summaries, http));
    std::fs::create_dir_all(&opts.out_dir)?;
    let json_path = opts.out_dir.join("results.json");
    let svg_path = opts.out_dir.join("echo.svg");
    let json = results_json(opts, &when, &summaries, &targets, http, memory);
    std::fs::write(&json_path, serde_json::to_string_pretty(&json)? + "\n")?;
    chart(opts, &when, &summaries, &svg_path)
        .map_err(|e| io::Error::other(format!("echo.svg: {e}")))?;
    let _ = writeln!(
        out,
        "\nwritten: {} and {}",
        json_path.display(),
        svg_path.display()
    );
    print!("{out}");
    Ok(())
}

/// Everything else's CPU use (`oth%`, % of one core) at or above which a measurement is
/// said to have had competition.
const BUSY_OTHER: f64 = 15.0;

/// The closing words on other programs: whether anything else on the machine took CPU
/// time while servers were measured (`oth%`), where, and what that means for the figures.
fn competition(s: &Summaries, http: Option<&HttpResults>) -> String {
    let mut all: Vec<(String, f64)> = Vec::new();
    for &cell in &s.echo.cells {
        for &kind in &s.echo.servers {
            if let Some(summary) = s.get(cell, kind) {
                let what = format!("{} at {} B × {}", kind.name(), cell.size, cell.conns);
                all.push((what, summary.other_pct));
            }
        }
    }
    all.extend(http.map(HttpResults::other_cpu).unwrap_or_default());
    all.retain(|(_, pct)| pct.is_finite());
    let mut busy: Vec<&(String, f64)> = all.iter().filter(|(_, p)| *p >= BUSY_OTHER).collect();
    if busy.is_empty() {
        return format!(
            "
Other programs: quiet. Everything else on the machine stayed under \
             {BUSY_OTHER:.0} % of a core in every measurement.\n"
        );
    }
    busy.sort_by(|a, b| b.1.total_cmp(&a.1));
    let worst: Vec<String> = busy
        .iter()
        .take(3)
        .map(|(what, pct)| format!("{pct:.0} % during {what}"))
        .collect();
    format!(
        "
Other programs competed for the cores in this run: in {} of {} measurements, \
         something other than the server and its load client used {BUSY_OTHER:.0} % of a core \
         or more (worst: {}). Those measurements' requests/s and latencies say less than \
         usual; run again on a quiet machine before quoting them.\n",
        busy.len(),
        all.len(),
        worst.join("; ")
    )
}

/// When (`when`, from [`utc_now`]), where and how the run was made.
fn machine_line(opts: &Opts, when: &str) -> String {
    format!("versus · {when} · {} · {}", machine(), run_shape(opts))
}

/// How much was run: `quick run: 2 round(s), 0.10 s warm-up + 0.30 s measured per cell ·
/// buffer 4096 B`. The chart's caption repeats it, so a chart saved on its own still says
/// whether its figures come from a quick run or a full one.
fn run_shape(opts: &Opts) -> String {
    format!(
        "{} run: {} round(s), {:.2} s warm-up + {:.2} s measured per cell · buffer {BUF_SIZE} B",
        opts.mode.name(),
        opts.rounds,
        opts.warmup.as_secs_f64(),
        opts.measure.as_secs_f64(),
    )
}

/// The machine: `2 cores (AMD EPYC) · Linux 6.1.0`.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores ({cpu}) · Linux {}", kernel.trim())
}

/// The current time, UTC, as `YYYY-MM-DD HH:MM UTC` (civil-from-days, no date crate).
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Right-align every column but the first `left` ones; two spaces between columns.
pub fn format_table(rows: &[Vec<String>], left: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c].saturating_sub(cell.chars().count());
            if c < left {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            } else {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Requests/s as the table prints them: `9246`, `31.6k`.
fn fmt_rps(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

/// Any other figure: three significant digits or so, `-` when there is none.
fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A ratio to two decimals, `-` when one side is missing.
fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.2}"))
}

/// One table per cell.
fn echo_tables(opts: &Opts, s: &Summaries) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\necho: medians of {} round(s); CPU per request pooled over rounds. ×tk = ÷ tokio with as \
         many threads (tokio-ct, or tokio-mt2 for tempo-2 and std-threads); ×mio = ÷ the \
         hand-written mio loop. req/s: higher is better; times: lower is better. cpu%, cli%, \
         oth%: the server's, the load client's and everything else's CPU use (100 = one core); \
         oth% well above 0 means another program competed for the cores. ~: a user CPU \
         figure resting on under 100 ms of sampled user time (±20 % or worse; see cpu.rs).",
        opts.rounds
    );
    for &cell in &s.echo.cells {
        let _ = writeln!(
            out,
            "\necho · {} B × {} connection{}",
            cell.size,
            cell.conns,
            if cell.conns == 1 { "" } else { "s" }
        );
        let mut rows = vec![
            [
                "server",
                "req/s",
                "×tk",
                "×mio",
                "p50 µs",
                "×tk",
                "×mio",
                "p99 µs",
                "×tk",
                "×mio",
                "user ns/req",
                "×tk",
                "×mio",
                "sys ns/req",
                "×tk",
                "×mio",
                "cpu%",
                "cli%",
                "oth%",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for &kind in &s.echo.servers {
            let mut row = vec![kind.name().to_string()];
            let Some(summary) = s.get(cell, kind) else {
                row.push("failed".into());
                rows.push(row);
                continue;
            };
            for metric in Metric::ALL {
                let value = metric.of(&summary);
                row.push(match metric {
                    Metric::Rps => fmt_rps(value),
                    Metric::User if summary.user_total < ROUGH_USER => {
                        format!("~{}", fmt_num(value))
                    }
                    _ => fmt_num(value),
                });
                row.push(fmt_ratio(s.ratio(cell, kind, kind.tokio_peer(), metric)));
                row.push(fmt_ratio(s.ratio(cell, kind, Kind::Mio, metric)));
            }
            row.push(format!("{:.0}", summary.cpu_pct));
            row.push(format!("{:.0}", summary.client_pct));
            row.push(format!("{:.0}", summary.other_pct));
            rows.push(row);
        }
        out.push_str(&format_table(&rows, 1));
    }
    out
}

/// One of the targets tempo is held to, and where it stands.
struct Target {
    /// What is promised, in words.
    name: String,
    /// The bound the ratio must meet.
    bound: f64,
    /// True if the ratio must be at least `bound`, false if at most.
    at_least: bool,
    /// The ratio in each cell it applies to.
    cells: Vec<(Cell, f64)>,
    /// Cells whose ratio rests on a rough user-CPU figure (see [`ROUGH_USER`]).
    rough: Vec<Cell>,
}

impl Target {
    /// Whether ratio `r` meets the bound.
    fn met(&self, r: f64) -> bool {
        if self.at_least {
            r >= self.bound
        } else {
            r <= self.bound
        }
    }

    /// Whether every cell meets it; `None` if it could not be measured.
    fn status(&self) -> Option<bool> {
        (!self.cells.is_empty()).then(|| self.cells.iter().all(|&(_, r)| self.met(r)))
    }

    /// The cell furthest from the bound (or least over it).
    fn worst(&self) -> Option<(Cell, f64)> {
        let key = |r: f64| if self.at_least { r } else { -r };
        self.cells
            .iter()
            .copied()
            .min_by(|a, b| key(a.1).total_cmp(&key(b.1)))
    }
}

/// The targets tempo is held to, evaluated.
fn targets(s: &Summaries) -> Vec<Target> {
    let cells = &s.echo.cells;
    let ratios =
        |kind: Kind, base: Kind, metric: Metric, only_one_conn: bool| -> Vec<(Cell, f64)> {
            cells
                .iter()
                .filter(|c| !only_one_conn || c.conns == 1)
                .filter_map(|&c| Some((c, s.ratio(c, kind, base, metric)?)))
                .collect()
        };
    // A user-CPU target (`rough_base` names what it divides by) is only as good as the
    // samples under both figures.
    let target = |name: &str,
                  bound: f64,
                  at_least: bool,
                  cells: Vec<(Cell, f64)>,
                  rough_base: Option<Kind>| {
        let rough = match rough_base {
            Some(base) => cells
                .iter()
                .map(|&(c, _)| c)
                .filter(|&c| s.rough(c, Kind::Tempo1) || s.rough(c, base))
                .collect(),
            None => Vec::new(),
        };
        Target {
            name: name.to_string(),
            bound,
            at_least,
            cells,
            rough,
        }
    };
    vec![
        target(
            "tempo-1 serves as many requests/s as tokio-ct (tokio's one-thread runtime), in \
             every cell",
            1.0,
            true,
            ratios(Kind::Tempo1, Kind::TokioCt, Metric::Rps, false),
            None,
        ),
        target(
            "tempo-1 serves as many requests/s as uvloop-proto (Python's fastest loop), in \
             every cell",
            1.0,
            true,
            ratios(Kind::Tempo1, Kind::UvloopProtocol, Metric::Rps, false),
            None,
        ),
        target(
            "tempo-1's median round trip at one connection is no longer than tokio-ct's",
            1.0,
            false,
            ratios(Kind::Tempo1, Kind::TokioCt, Metric::P50, true),
            None,
        ),
        target(
            "tempo-1 spends at most 0.6× tokio-ct's user CPU per request",
            0.6,
            false,
            ratios(Kind::Tempo1, Kind::TokioCt, Metric::User, false),
            Some(Kind::TokioCt),
        ),
        target(
            "tempo-1 spends at most 1.2× the bare mio loop's user CPU per request",
            1.2,
            false,
            ratios(Kind::Tempo1, Kind::Mio, Metric::User, false),
            Some(Kind::Mio),
        ),
        target(
            "tempo-2 (two workers) serves as many requests/s as tokio-mt2, in every cell",
            1.0,
            true,
            ratios(Kind::Tempo2, Kind::TokioMt2, Metric::Rps, false),
            None,
        ),
    ]
}

/// A cell in few characters, for the targets table: `64B×512`.
fn cell_name(c: Cell) -> String {
    format!("{}B×{}", c.size, c.conns)
}

/// The targets, met or missed, with the worst cell and every cell's ratio.
fn targets_table(targets: &[Target]) -> String {
    let mut rows = vec![
        ["target", "status", "worst cell", "ratio by cell"]
            .map(String::from)
            .to_vec(),
    ];
    for t in targets {
        let status = match t.status() {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        let status = if t.rough.is_empty() {
            status.to_string()
        } else {
            format!("{status} (~)")
        };
        let worst = t
            .worst()
            .map_or_else(String::new, |(c, r)| format!("{r:.2} at {}", cell_name(c)));
        let by_cell = t
            .cells
            .iter()
            .map(|&(c, r)| {
                let rough = if t.rough.contains(&c) { "~" } else { "" };
                format!("{} {rough}{r:.2}", cell_name(c))
            })
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(vec![t.name.clone(), status, worst, by_cell]);
    }
    let mut out = String::from("\n");
    // Left-align all: the last column is prose.
    out.push_str(&format_table(&rows, 4));
    if targets.iter().any(|t| !t.rough.is_empty()) {
        out.push_str(
            "(~): some ratios (marked ~) rest on under 100 ms of sampled user time: a longer \
             run (the full run, or --secs) settles them\n",
        );
    }
    out
}

/// `results.json`: every round's raw figures beside the summaries, ratios and targets, and
/// the HTTP and memory parts, so a run can be read again without running it again.
fn results_json(
    opts: &Opts,
    when: &str,
    s: &Summaries,
    targets: &[Target],
    http: Option<&HttpResults>,
    memory: Option<&MemoryResults>,
) -> Value {
    let mut cells = Vec::new();
    for &cell in &s.echo.cells {
        let mut servers = serde_json::Map::new();
        for &kind in &s.echo.servers {
            let runs = s.echo.runs(kind, cell.conns, cell.size);
            let rounds: Vec<Value> = runs
                .iter()
                .map(|r| match r {
                    Ok(o) => json!({
                        "requests": o.requests,
                        "secs": o.elapsed.as_secs_f64(),
                        "rps": o.rate(),
                        "p50_us": us(o.latency.quantile(0.50)),
                        "p99_us": us(o.latency.quantile(0.99)),
                        "server_user_secs": o.server_cpu.user.as_secs_f64(),
                        "server_sys_secs": o.server_cpu.system.as_secs_f64(),
                        "client_cpu_secs": o.client_cpu.as_secs_f64(),
                        "machine_busy_secs": o.machine.busy.as_secs_f64(),
                        "machine_steal_secs": o.machine.steal.as_secs_f64(),
                    }),
                    Err(e) => json!({ "error": e }),
                })
                .collect();
            let mut entry = json!({ "rounds": rounds });
            if let Some(summary) = s.get(cell, kind) {
                let mut vs_tokio = serde_json::Map::new();
                let mut vs_mio = serde_json::Map::new();
                for metric in Metric::ALL {
                    entry[metric.key()] = json!(finite(metric.of(&summary)));
                    let peer = s.ratio(cell, kind, kind.tokio_peer(), metric);
                    vs_tokio.insert(metric.key().into(), json!(peer));
                    let floor = s.ratio(cell, kind, Kind::Mio, metric);
                    vs_mio.insert(metric.key().into(), json!(floor));
                }
                entry["server_cpu_pct"] = json!(finite(summary.cpu_pct));
                entry["client_cpu_pct"] = json!(finite(summary.client_pct));
                entry["other_cpu_pct"] = json!(finite(summary.other_pct));
                entry["rounds_ok"] = json!(summary.rounds);
                entry["user_secs_total"] = json!(summary.user_total);
                entry["tokio_peer"] = json!(kind.tokio_peer().name());
                entry["vs_tokio"] = Value::Object(vs_tokio);
                entry["vs_mio"] = Value::Object(vs_mio);
            }
            servers.insert(kind.name().into(), entry);
        }
        cells.push(json!({ "conns": cell.conns, "size": cell.size, "servers": servers }));
    }
    let targets: Vec<Value> = targets
        .iter()
        .map(|t| {
            json!({
                "target": t.name,
                "bound": t.bound,
                "at_least": t.at_least,
                "met": t.status(),
                "rough_cells": t.rough.iter().map(|c| json!({
                    "conns": c.conns, "size": c.size,
                })).collect::<Vec<_>>(),
                "ratios": t.cells.iter().map(|&(c, r)| json!({
                    "conns": c.conns, "size": c.size, "ratio": r,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let embed = |text: String| serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    json!({
        "machine": machine_line(opts, when),
        "date": when,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "mode": opts.mode.name(),
        "rounds": opts.rounds,
        "warmup_secs": opts.warmup.as_secs_f64(),
        "measure_secs": opts.measure.as_secs_f64(),
        "clock_tick_secs": crate::cpu::clock_tick().as_secs_f64(),
        "python": opts.python.as_ref().map(|p| json!({ "version": p.version, "uvloop": p.uvloop })),
        "echo": {
            "buffer_bytes": BUF_SIZE,
            "servers": s.echo.servers.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "cells": cells,
        },
        "targets": targets,
        "http": http.map(|h| embed(h.to_json())),
        "memory": memory.map(|m| embed(m.to_json())),
    })
}

/// NaN and infinities are not JSON: they become `null`.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Colors of the servers in the chart, in `Kind::ALL` order: tempo in the warm colors.
const COLORS: [RGBColor; 10] = [
    RGBColor(214, 39, 40),   // tempo-1
    RGBColor(247, 129, 191), // tempo-1-spin
    RGBColor(31, 119, 180),  // tokio-ct
    RGBColor(127, 127, 127), // mio
    RGBColor(255, 127, 14),  // tempo-2
    RGBColor(23, 190, 207),  // tokio-mt2
    RGBColor(140, 86, 75),   // std-threads
    RGBColor(188, 189, 34),  // asyncio-streams
    RGBColor(44, 160, 44),   // asyncio-proto
    RGBColor(148, 103, 189), // uvloop-proto
];

/// The chart color of `kind`.
fn color_of(kind: Kind) -> RGBColor {
    COLORS[Kind::ALL.iter().position(|&k| k == kind).unwrap_or(0)]
}

/// `echo.svg`: a caption saying when and how the run was made, then three panels of
/// grouped bars, one group per cell, one bar per server — requests/s, p50 latency and user
/// CPU per request (the last two on log scales: the Python servers are an order of
/// magnitude off the Rust ones).
///
/// A user CPU figure the table marks `~` (resting on under [`ROUGH_USER`] of sampled user
/// time) is drawn hollow with a `~` over it, not filled: it is shown, since leaving it out
/// would hide exactly the cells a quick run cannot settle, but it does not look as solid as
/// the figures that are. One that sampled no user time at all reads 0, which a log scale
/// cannot draw; it becomes a short hollow stub on the axis labelled `~0`.
fn chart(
    opts: &Opts,
    when: &str,
    s: &Summaries,
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let cells = &s.echo.cells;
    let servers = &s.echo.servers;
    let root = SVGBackend::new(path, (1500, 1290)).into_drawing_area();
    root.fill(&WHITE)?;
    // The caption on top; below it the charts on the left, one legend for all three on
    // the right.
    let (caption, body) = root.split_vertically(70);
    caption.draw(&Text::new(
        format!("versus · echo · {when} · {} run", opts.mode.name()),
        (12, 10),
        ("sans-serif", 24),
    ))?;
    caption.draw(&Text::new(
        format!("{} · {}", run_shape(opts), machine()),
        (12, 42),
        ("sans-serif", 14),
    ))?;
    let (charts, legend) = body.split_horizontally(1270);
    legend_column(&legend, servers)?;
    let panels = charts.split_evenly((3, 1));
    let labels: Vec<String> = cells
        .iter()
        .map(|c| format!("{} B × {} conn", c.size, c.conns))
        .collect();
    let panel_specs = [
        (Metric::Rps, "echo requests/s (higher is better)", false),
        (
            Metric::P50,
            "p50 round trip, µs (lower is better; log scale)",
            true,
        ),
        (
            Metric::User,
            "server user CPU per request, ns (lower is better; log scale; sampled, see \
             cpu.rs; hollow, ~: rough)",
            true,
        ),
    ];
    for (area, (metric, title, log)) in panels.iter().zip(panel_specs) {
        let values: Vec<f64> = cells
            .iter()
            .flat_map(|&c| servers.iter().filter_map(move |&k| s.get(c, k)))
            .map(|summary| metric.of(&summary))
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let max = values.iter().copied().fold(1.0, f64::max);
        let min = values.iter().copied().fold(max, f64::min);
        let x_range = 0f64..cells.len() as f64;
        let bar = 0.8 / servers.len().max(1) as f64;
        let x_of = |ci: usize, si: usize| ci as f64 + 0.1 + si as f64 * bar;
        let label_formatter = |x: &f64| {
            if (x.fract() - 0.5).abs() < 1e-6 {
                labels.get(x.floor() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        // Every bar of the panel: where it stands, how tall, and whether it is rough.
        let bars: Vec<Bar> = cells
            .iter()
            .enumerate()
            .flat_map(|(ci, &cell)| {
                servers.iter().enumerate().filter_map(move |(si, &kind)| {
                    let summary = s.get(cell, kind)?;
                    let value = metric.of(&summary);
                    let rough = metric == Metric::User && summary.user_total < ROUGH_USER;
                    // A rough zero is drawn as a stub; any other unusable value is not
                    // a figure at all (the table prints "-").
                    (value.is_finite() && (value > 0.0 || rough)).then_some(Bar {
                        x: x_of(ci, si),
                        value,
                        rough,
                        color: color_of(kind),
                    })
                })
            })
            .collect();
        // The table's number formats, so that an axis reads `90.0k`, not `90000.0`.
        let y_label = |v: f64| match metric {
            Metric::Rps => fmt_rps(v),
            _ => fmt_num(v),
        };
        let mut builder = ChartBuilder::on(area);
        builder
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(70);
        // `$base` is where bars start, `$stub` the top of a rough zero's stub.
        macro_rules! draw_bars {
            ($chart:expr, $base:expr, $stub:expr) => {{
                let chart = &mut $chart;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(cells.len() * 2 + 1)
                    .x_label_formatter(&label_formatter)
                    .y_label_formatter(&|v: &f64| y_label(*v))
                    .draw()?;
                let width = bar * 0.85;
                let top = |b: &Bar| if b.value > 0.0 { b.value } else { $stub };
                chart.draw_series(bars.iter().map(|b| {
                    let style = if b.rough {
                        b.color.stroke_width(2)
                    } else {
                        b.color.filled()
                    };
                    Rectangle::new([(b.x, $base), (b.x + width, top(b))], style)
                }))?;
                let mark = TextStyle::from(("sans-serif", 13).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Bottom));
                chart.draw_series(bars.iter().filter(|b| b.rough).map(|b| {
                    let text = if b.value > 0.0 { "~" } else { "~0" };
                    Text::new(text, (b.x + width / 2.0, top(b)), mark.clone())
                }))?;
            }};
        }
        if log {
            let base = min / 2.0;
            let mut chart = builder.build_cartesian_2d(x_range, (base..max * 2.0).log_scale())?;
            draw_bars!(chart, base, base * 1.5);
        } else {
            let mut chart = builder.build_cartesian_2d(x_range, 0f64..max * 1.15)?;
            draw_bars!(chart, 0.0, max * 0.02);
        }
    }
    root.present()?;
    Ok(())
}

/// One bar of a panel of `echo.svg`.
struct Bar {
    /// Its left edge, in cell units (cell `i` spans `i..i + 1`).
    x: f64,
    /// The figure; 0 only for a rough one that sampled no user time.
    value: f64,
    /// Whether the table marks it `~`: drawn hollow, with a `~` over it.
    rough: bool,
    /// Its server's color.
    color: RGBColor,
}

/// The legend column of `echo.svg`: a swatch per server, then what a hollow bar means.
fn legend_column<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    servers: &[Kind],
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let mut y = 60;
    for &kind in servers {
        area.draw(&Rectangle::new(
            [(8, y), (22, y + 14)],
            color_of(kind).filled(),
        ))?;
        area.draw(&Text::new(kind.name(), (28, y), ("sans-serif", 15)))?;
        y += 24;
    }
    // Room for the `~` drawn over the swatch, as over a bar.
    y += 28;
    let grey = RGBColor(90, 90, 90);
    area.draw(&Rectangle::new(
        [(8, y), (22, y + 14)],
        grey.stroke_width(2),
    ))?;
    area.draw(&Text::new("~", (10, y - 16), ("sans-serif", 13)))?;
    // Short lines: the column is some 200 pixels wide.
    let words = [
        "hollow, ~: rough user CPU".to_string(),
        "figure, resting on under".to_string(),
        format!("{:.0} ms of sampled user", ROUGH_USER * 1e3),
        "time (±20 % or worse);".to_string(),
        "~0: not a single sample.".to_string(),
        "The full run settles them.".to_string(),
    ];
    for (i, line) in words.iter().enumerate() {
        area.draw(&Text::new(
            line.as_str(),
            (28, y + 20 * i as i32),
            ("sans-serif", 14),
        ))?;
    }
    Ok(())
}
