//! The learner's docs cannot drift from the code.
//!
//! The tour (`docs/TOUR.md`), the asyncio map (`docs/ASYNCIO.md`) and the examples index
//! (`examples/README.md`) name files, items and examples of this repository. These tests fail
//! when one of those names stops being true. Their Rust code blocks are compiled and run as
//! doctests: `src/lib.rs` includes the two docs under `cfg(doctest)`, and a test below checks
//! that it still does.
//!
//! What a doc may put in backticks, and what is checked (outside fenced blocks):
//!
//! - **A path** — a span that ends in `.rs`, `.md`, `.toml` or `.json`, or starts with one of
//!   the repository's top directories (`runtime/src/worker.rs`, `examples/learn/`): it exists,
//!   from the repository root. A bare `.rs` file name (`worker.rs`): some file has that name.
//! - **An item of tempo by its crate path** — `tempo::time::sleep`,
//!   `tempo::task::JoinHandle::abort`, `tempo::join!`, and the same under `tempo_runtime::`,
//!   `tempo_executor::`, `tempo_reactor::`: the path resolves through the sources as the
//!   compiler would — `pub mod`, `pub use` (renames and globs included), then a `pub`
//!   definition — and a last `::member` is a method, associated item or variant of that type,
//!   found in its file's directory.
//! - **Any other Rust name** — `Worker::block_on`, `fn wake`, `IoTable::dispatch`, `VTABLE`:
//!   if the same paragraph, list item or table row names `.rs` files, it is defined in one of
//!   them (a method in an `impl` of that type there, a variant of an enum there, a function,
//!   type, constant, static or macro there); otherwise it is defined somewhere in the
//!   workspace or the examples, or is one of the few std names in `STD_NAMES`.
//! - **`--example NAME`**, anywhere in the text: `NAME` is an example cargo can run.
//! - **Links** `[text](target)` to files of the repository: the file exists, and an
//!   `#anchor` into a Markdown file names one of its headings.
//! - **Fenced blocks** say their language: `rust` (compiled as a doctest) or `text`.
//!
//! Not checked: other crates' paths (`std::…`, `mio::…`, `tokio::…`); spans with spaces or
//! punctuation (`asyncio.gather(*aws)`, `.await`, `TEMPO_DEBUG=1`); Python dunders
//! (`__aenter__`). So the docs write system calls with their manual section
//! (`epoll_wait(2)`) and Python names with their module (`asyncio.Lock`), and neither is
//! mistaken for a Rust item.
//!
//! And the index is complete: every example file in `examples/` and `examples/learn/` is
//! listed in `examples/README.md` by its path, with a command that runs it, and every example
//! listed exists. The README's first screen links the tour.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The workspace's crates, by the name a path starts with, and their source directories.
const CRATES: &[(&str, &str)] = &[
    ("tempo", "src"),
    ("tempo_runtime", "runtime/src"),
    ("tempo_executor", "executor/src"),
    ("tempo_reactor", "reactor/src"),
];

/// Crates whose paths the docs may name without these tests checking them.
const EXTERNAL: &[&str] = &[
    "std",
    "core",
    "alloc",
    "mio",
    "slab",
    "crossbeam_channel",
    "futures_core",
    "futures_io",
    "futures_util",
    "tokio",
    "async_compat",
    "hyper",
    "hyper_util",
    "libc",
    "socket2",
    "log",
    "env_logger",
];

/// std names a doc may write bare, anywhere (`std::task::Poll::Pending` is long for prose).
const STD_NAMES: &[&str] = &[
    "Future",
    "Future::poll",
    "Waker",
    "Waker::wake",
    "Waker::wake_by_ref",
    "Waker::will_wake",
    "Context",
    "Poll",
    "Poll::Ready",
    "Poll::Pending",
    "Pin",
    "Send",
    "Sync",
    "Drop",
    "Box",
    "Rc",
    "Arc",
    "Ok",
    "Err",
    "Some",
    "None",
    "Result",
    "Option",
    "Stream",
    "WouldBlock",
];

/// Top directories of the repository: a span starting with one of them is a path.
const TOP_DIRS: &[&str] = &[
    "src/",
    "runtime/",
    "executor/",
    "reactor/",
    "examples/",
    "docs/",
    "tests/",
    "benches/",
    ".ci/",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

// ---------------------------------------------------------------------------------------
// The tests.

#[test]
fn the_tour_names_only_what_exists() {
    assert_clean("docs/TOUR.md");
}

#[test]
fn the_asyncio_map_names_only_what_exists() {
    assert_clean("docs/ASYNCIO.md");
}

#[test]
fn the_examples_index_names_only_what_exists() {
    assert_clean("examples/README.md");
}

#[test]
fn every_example_is_in_the_index_and_every_listed_example_exists() {
    let errors = listing_errors(&read("examples/README.md"), &examples_on_disk());
    assert!(
        errors.is_empty(),
        "examples/README.md:\n  {}",
        errors.join("\n  ")
    );
}

#[test]
fn the_readme_first_screen_links_the_tour_and_the_design() {
    let readme = read("README.md");
    // The first screen: everything before the first second-level heading.
    let first = readme.split("\n## ").next().unwrap_or_default();
    for target in ["docs/TOUR.md", "docs/DESIGN.md", "docs/ASYNCIO.md"] {
        assert!(
            first.contains(&format!("]({target})")),
            "README.md's first screen (before its first `## `) must link {target}"
        );
    }
    let mut errors = Vec::new();
    check_links("README.md", first, &mut errors);
    for name in example_commands(&readme) {
        if !example_exists(&name) {
            errors.push(format!(
                "README.md runs `--example {name}`, which is no example"
            ));
        }
    }
    assert!(errors.is_empty(), "README.md:\n  {}", errors.join("\n  "));
}

#[test]
fn the_tour_and_the_map_are_compiled_as_doctests() {
    let lib = read("src/lib.rs");
    for doc in ["docs/TOUR.md", "docs/ASYNCIO.md"] {
        let include = format!("#[doc = include_str!(\"../{doc}\")]");
        let at = lib
            .find(&include)
            .unwrap_or_else(|| panic!("src/lib.rs must include {doc} as doctests: {include}"));
        let before = &lib[..at];
        let attr = before
            .rfind("#[cfg(doctest)]")
            .expect("under #[cfg(doctest)]");
        assert!(
            !before[attr..].contains(';'),
            "the include of {doc} must sit under its own #[cfg(doctest)]"
        );
    }
}

#[test]
fn the_tour_keeps_a_place_for_the_rendered_trace() {
    let tour = read("docs/TOUR.md");
    let marker =
        "<!-- rendered: cargo run --example trace_view -- docs/traces/sleep_gather.json -->";
    let at = tour
        .find(marker)
        .expect("the tour keeps the trace marker line");
    let after = tour[at + marker.len()..].trim_start_matches(['\n', '\r']);
    assert!(
        after.starts_with("```text\n"),
        "the trace marker must be followed at once by a ```text block"
    );
    let heading = tour[..at]
        .rfind("\n## ")
        .expect("a section holds the marker");
    assert!(
        tour[heading..at].starts_with("\n## The loop, drawn from a real run"),
        "the marker sits in the section \"The loop, drawn from a real run\""
    );
}

/// The guard is not a test that cannot fail: a misspelt item, file, example or link in a doc
/// is caught, each by its own rule, and the correct spelling of each passes.
#[test]
fn the_guard_catches_misspelt_names() {
    let good = "\
Step 1, `runtime/src/worker.rs`, `Worker::block_on`; then `fn run_ready` in
`executor/src/executor.rs`, and `Executor::run_ready` there.

`tempo::time::sleep`, `tempo::task::JoinHandle::abort`, `tempo::join!`,
`tempo::Builder::monitor`, `tempo_executor::coop::BUDGET_PER_POLL`,
`tempo::sync::Queue::task_done`, `tempo::time::Duration`.

Elsewhere: `IoTable::dispatch`, `RunState::Idle`, `coop::with_budget`, `std::what::ever`,
`epoll_wait(2)`, `asyncio.Lock`, `cargo run --example echo`.
[the design](../docs/DESIGN.md#the-loop-one-worker)
";
    let errors = doc_errors("docs/GOOD.md", good);
    assert!(
        errors.is_empty(),
        "the correct names pass:\n  {}",
        errors.join("\n  ")
    );

    let bad: &[(&str, &str)] = &[
        ("`tempo::time::slepe`", "tempo::time::slepe"),
        (
            "`tempo::task::JoinHandle::abrot`",
            "tempo::task::JoinHandle::abrot",
        ),
        ("`tempo::Builder::name`", "tempo::Builder::name"), // task::Builder's, not this one's
        ("`tempo::runtime::Builder`", "tempo::runtime::Builder"), // a private module
        ("`tempo::jion!`", "tempo::jion!"),
        (
            "`runtime/src/worker.rs`, `Worker::blok_on`",
            "Worker::blok_on",
        ),
        (
            "`runtime/src/worker.rs`, `Executor::run_ready`",
            "Executor::run_ready",
        ),
        ("`executor/src/executor.rs`, `fn run_redy`", "run_redy"),
        ("`IoTable::dispatsh`", "IoTable::dispatsh"),
        ("`runtime/src/wroker.rs`", "runtime/src/wroker.rs"),
        ("`cargo run --example ecoh`", "ecoh"),
        ("[the design](../docs/DESIGN.md#the-lop)", "#the-lop"),
        ("[the tour](../docs/TUOR.md)", "TUOR.md"),
        ("```\nlet x = 1;\n```", "language"),
    ];
    for (text, culprit) in bad {
        let errors = doc_errors("docs/BAD.md", &format!("{text}\n"));
        assert!(
            errors.iter().any(|e| e.contains(culprit)),
            "{text:?} must be caught, naming {culprit:?}; got {errors:?}"
        );
    }
}

/// An example file nobody listed, and a listed example with no file, are both caught.
#[test]
fn the_guard_catches_an_unlisted_example_and_a_missing_one() {
    let index = "\
| `examples/echo.rs` | `cargo run --example echo` |
| `examples/learn/01_poll_by_hand.rs` | `cargo run --example 01_poll_by_hand` |
";
    let on_disk = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();

    let listed = on_disk(&["examples/echo.rs", "examples/learn/01_poll_by_hand.rs"]);
    assert_eq!(listing_errors(index, &listed), Vec::<String>::new());

    let unlisted = on_disk(&[
        "examples/echo.rs",
        "examples/learn/01_poll_by_hand.rs",
        "examples/stray.rs",
    ]);
    let errors = listing_errors(index, &unlisted);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("examples/stray.rs") && e.contains("not listed")),
        "{errors:?}"
    );

    let missing = on_disk(&["examples/echo.rs"]);
    let errors = listing_errors(index, &missing);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("examples/learn/01_poll_by_hand.rs")),
        "{errors:?}"
    );

    let no_command = "| `examples/echo.rs` | run it |\n";
    let errors = listing_errors(no_command, &on_disk(&["examples/echo.rs"]));
    assert!(
        errors.iter().any(|e| e.contains("--example echo")),
        "{errors:?}"
    );
}

fn assert_clean(rel: &str) {
    let errors = doc_errors(rel, &read(rel));
    assert!(
        errors.is_empty(),
        "{rel} names {} thing(s) that do not exist:\n  {}",
        errors.len(),
        errors.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------
// Reading a doc: its units (paragraphs, list items, table rows), spans, links and fences.

/// Every error in the doc `rel` (a path from the repository root, for its links).
fn doc_errors(rel: &str, text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let (prose, fences) = split_fences(text);
    for (line, info) in &fences {
        if !(info == "text" || info == "rust" || info.starts_with("rust,")) {
            errors.push(format!(
                "line {line}: a fenced block must say its language, `rust` or `text` (got {info:?})"
            ));
        }
    }
    for unit in units(&prose) {
        check_unit(&unit, &mut errors);
    }
    check_links(rel, &prose, &mut errors);
    for name in example_commands(text) {
        if !example_exists(&name) {
            errors.push(format!("`--example {name}`: no such example"));
        }
    }
    errors
}

/// The text outside fenced blocks (fenced lines blanked, so units end there), and each
/// fence's opening line number and info string.
fn split_fences(text: &str) -> (String, Vec<(usize, String)>) {
    let mut prose = String::new();
    let mut fences = Vec::new();
    let mut open = false;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if !open {
                fences.push((n + 1, info.trim().to_string()));
            }
            open = !open;
            prose.push('\n');
        } else if open {
            prose.push('\n');
        } else {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    (prose, fences)
}

/// Paragraphs, list items and table rows: the stretch of text in which a span that names a
/// file binds the Rust names beside it.
fn units(prose: &str) -> Vec<String> {
    let mut units = Vec::new();
    let mut current = String::new();
    for line in prose.lines() {
        let t = line.trim_start();
        let starts_unit = t.is_empty()
            || t.starts_with("- ")
            || t.starts_with("* ")
            || t.starts_with('|')
            || t.starts_with('#')
            || t.starts_with('>')
            || t.split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            || t.starts_with("**")
                && t.split_once(".**").is_some_and(|(n, _)| {
                    n[2..].chars().all(|c| c.is_ascii_digit()) && n.len() > 2
                });
        if starts_unit && !current.trim().is_empty() {
            units.push(std::mem::take(&mut current));
        }
        if t.is_empty() {
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() {
        units.push(current);
    }
    units
}

/// The inline code spans of a unit.
fn spans(unit: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = unit;
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('`') else { break };
        out.push(after[..end].replace('\n', " "));
        rest = &after[end + 1..];
    }
    out
}

enum Span {
    /// A path from the repository root, or a bare `.rs` file name.
    Path(String),
    /// A Rust path: `a::b::c`, a macro `name!`.
    Item(Vec<String>),
    /// Something else: a command, Python, an expression.
    Other,
}

fn classify(span: &str) -> Span {
    let s = span.trim();
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
    let has_ext = [".rs", ".md", ".toml", ".json"]
        .iter()
        .any(|e| s.ends_with(e));
    if !s.is_empty()
        && s.chars().all(is_path_char)
        && !s.starts_with('-')
        && !s.starts_with("../")
        && (has_ext || TOP_DIRS.iter().any(|d| s.starts_with(d)) || s == "Cargo.toml")
    {
        return Span::Path(s.to_string());
    }
    let s = s.strip_prefix("fn ").unwrap_or(s);
    let s = s.strip_suffix("()").unwrap_or(s);
    if s.starts_with("__") && s.ends_with("__") {
        return Span::Other; // a Python dunder
    }
    let body = s.strip_suffix('!').unwrap_or(s);
    let is_ident = |seg: &str| {
        seg.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if !body.is_empty() && body.split("::").all(is_ident) {
        let mut segs: Vec<String> = body.split("::").map(str::to_string).collect();
        if s.ends_with('!') {
            segs.last_mut().expect("one segment").push('!');
        }
        return Span::Item(segs);
    }
    Span::Other
}

fn check_unit(unit: &str, errors: &mut Vec<String>) {
    let spans = spans(unit);
    let mut files = Vec::new();
    for span in &spans {
        if let Span::Path(p) = classify(span) {
            if !path_exists(&p) {
                errors.push(format!("`{p}`: no such file or directory"));
            } else if p.ends_with(".rs") && p.contains('/') {
                files.push(p);
            }
        }
    }
    let ws = workspace();
    for span in &spans {
        let Span::Item(segs) = classify(span) else {
            continue;
        };
        let shown = segs.join("::");
        let head = segs[0].as_str();
        if EXTERNAL.contains(&head) && segs.len() > 1 || STD_NAMES.contains(&shown.as_str()) {
            continue;
        }
        if let Some((krate, _)) = CRATES.iter().find(|(name, _)| *name == head) {
            if segs.len() > 1 && ws.resolve_public(krate, &segs[1..]).is_none() {
                errors.push(format!("`{shown}`: not a public item of {head}"));
            }
            continue;
        }
        if !files.is_empty() {
            if !files.iter().any(|f| ws.defined_in(f, &segs)) {
                errors.push(format!("`{shown}`: not defined in {}", files.join(" or ")));
            }
        } else if !ws.defined_anywhere(&segs) {
            errors.push(format!("`{shown}`: defined nowhere in the workspace"));
        }
    }
}

fn path_exists(p: &str) -> bool {
    if p.contains('/') || p == "Cargo.toml" {
        root().join(p).exists()
    } else {
        workspace().files.iter().any(|f| f.ends_with(p))
    }
}

/// Links to files of the repository exist; anchors into Markdown name a heading.
fn check_links(rel: &str, prose: &str, errors: &mut Vec<String>) {
    let dir = Path::new(rel).parent().unwrap_or(Path::new(""));
    let mut rest = prose;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        let target = &after[..end];
        rest = &after[end..];
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, anchor) = match target.split_once('#') {
            Some((f, a)) => (f, Some(a)),
            None => (target, None),
        };
        let path = if file.is_empty() {
            PathBuf::from(rel)
        } else {
            normalise(&dir.join(file))
        };
        let full = root().join(&path);
        if !full.exists() {
            errors.push(format!(
                "link ({target}): {} does not exist",
                path.display()
            ));
            continue;
        }
        if let (Some(anchor), true) = (anchor, path.extension().is_some_and(|e| e == "md")) {
            let text = fs::read_to_string(&full).unwrap_or_default();
            let (prose, _) = split_fences(&text);
            let found = prose
                .lines()
                .filter_map(|l| l.strip_prefix('#'))
                .map(|h| slug(h.trim_start_matches('#')))
                .any(|s| s == anchor);
            if !found {
                errors.push(format!(
                    "link ({target}): no heading #{anchor} in {}",
                    path.display()
                ));
            }
        }
    }
}

/// `a/../b` → `b`, so links that climb out of `docs/` and back in resolve.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Examples.

/// Every `--example NAME` in a text.
fn example_commands(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("--example") {
        rest = &rest[at + "--example".len()..];
        let name: String = rest
            .trim_start_matches([' ', '='])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if rest.starts_with([' ', '=']) && !name.is_empty() {
            names.push(name);
        }
    }
    names
}

/// The `[[example]]` entries of the root Cargo.toml: name → path.
fn cargo_examples() -> HashMap<String, String> {
    let manifest = read("Cargo.toml");
    let mut out = HashMap::new();
    for section in manifest.split("\n[").skip(1) {
        if !section.starts_with("[example]]") {
            continue;
        }
        let value = |key: &str| {
            section.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        if let Some(name) = value("name") {
            let path = value("path").unwrap_or_else(|| format!("examples/{name}.rs"));
            out.insert(name, path);
        }
    }
    out
}

/// The cargo name of an example file: its `[[example]]` name, else its stem.
fn cargo_name(path: &str) -> String {
    cargo_examples()
        .into_iter()
        .find(|(_, p)| p == path)
        .map(|(n, _)| n)
        .unwrap_or_else(|| {
            Path::new(path)
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
}

fn example_exists(name: &str) -> bool {
    if let Some(path) = cargo_examples().get(name) {
        return root().join(path).is_file();
    }
    root().join(format!("examples/{name}.rs")).is_file()
        || root().join(format!("examples/{name}/main.rs")).is_file()
}

/// The example files: `examples/*.rs` and `examples/learn/*.rs`.
fn examples_on_disk() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for dir in ["examples", "examples/learn"] {
        let Ok(entries) = fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") && entry.path().is_file() {
                out.insert(format!("{dir}/{name}"));
            }
        }
    }
    out
}

/// The index lists each example file by its path, with a command that runs it, and lists
/// no file that is not there.
fn listing_errors(index: &str, on_disk: &BTreeSet<String>) -> Vec<String> {
    let (prose, _) = split_fences(index);
    let mut listed = BTreeSet::new();
    for unit in units(&prose) {
        for span in spans(&unit) {
            let is_example = span.starts_with("examples/")
                && span.ends_with(".rs")
                && span.matches('/').count() == 1
                || span.starts_with("examples/learn/") && span.ends_with(".rs");
            if is_example {
                listed.insert(span);
            }
        }
    }
    let commands: BTreeSet<String> = example_commands(index).into_iter().collect();
    let mut errors = Vec::new();
    for file in on_disk.difference(&listed) {
        errors.push(format!(
            "{file} is an example but is not listed (by its path, in backticks)"
        ));
    }
    for file in listed.difference(on_disk) {
        errors.push(format!("{file} is listed but is no example file"));
    }
    for file in on_disk.intersection(&listed) {
        let name = cargo_name(file);
        if !commands.contains(&name) {
            errors.push(format!(
                "{file} is listed without a command: `--example {name}`"
            ));
        }
    }
    errors
}

// ---------------------------------------------------------------------------------------
// The sources: what each file defines, declares and re-exports; and resolving paths.

/// One `use` leaf: `pub use a::b::{c as d}` is path `[a, b, c]`, alias `d`.
struct UseLeaf {
    path: Vec<String>,
    /// The name it brings in; `*` for a glob.
    alias: String,
    /// Exactly `pub` (not `pub(crate)`).
    public: bool,
    /// Any `pub`, restricted or not.
    reexport: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fn,
    Type,  // struct, enum, union, trait, type alias
    Value, // const, static
    Mod,
    Macro,
}

struct Def {
    kind: Kind,
    name: String,
    public: bool,
}

/// A block with a body: an `impl` (its self type's name), an `enum` or a `trait`.
struct Body {
    /// The self type's last name (for an impl), or the enum's or trait's name.
    owner: String,
    /// `impl`, `enum` or `trait`.
    what: &'static str,
    /// Functions and associated items defined inside (for an enum: its variants).
    members: Vec<String>,
}

struct Facts {
    defs: Vec<Def>,
    uses: Vec<UseLeaf>,
    bodies: Vec<Body>,
    exported_macros: Vec<String>,
}

/// What a path resolves to.
enum Target {
    /// A module of a crate.
    Module(&'static str, Vec<String>),
    /// An item, and the file that defines it.
    Item {
        file: PathBuf,
        name: String,
        kind: Kind,
    },
    /// Something of another crate, or a macro: known to exist, not looked into.
    External,
}

struct Workspace {
    /// Every `.rs` file of the crates and the examples, from the repository root.
    files: Vec<PathBuf>,
    /// Per crate: module path → file.
    modules: HashMap<&'static str, HashMap<Vec<String>, PathBuf>>,
    facts: HashMap<PathBuf, Facts>,
}

fn workspace() -> &'static Workspace {
    static WS: OnceLock<Workspace> = OnceLock::new();
    WS.get_or_init(Workspace::load)
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

impl Workspace {
    fn load() -> Workspace {
        let mut files = Vec::new();
        let mut modules = HashMap::new();
        for (name, src) in CRATES {
            let mut crate_files = Vec::new();
            rs_files(&root().join(src), &mut crate_files);
            let mut map = HashMap::new();
            for f in &crate_files {
                let rel = f.strip_prefix(root().join(src)).expect("under src");
                let mut segs: Vec<String> = rel
                    .iter()
                    .map(|s| s.to_string_lossy().into_owned())
                    .collect();
                let last = segs.pop().expect("a file name");
                match last.as_str() {
                    "lib.rs" | "mod.rs" => {}
                    other => segs.push(other.trim_end_matches(".rs").to_string()),
                }
                map.insert(segs, f.clone());
            }
            modules.insert(*name, map);
            files.extend(crate_files);
        }
        rs_files(&root().join("examples"), &mut files);
        let facts = files
            .iter()
            .map(|f| (f.clone(), facts_of(&clean(&fs::read_to_string(f).unwrap()))))
            .collect();
        Workspace {
            files,
            modules,
            facts,
        }
    }

    fn facts(&self, file: &Path) -> &Facts {
        &self.facts[file]
    }

    /// Resolve `segs` from the root of crate `krate`, as a user outside the crate would.
    fn resolve_public(&self, krate: &'static str, segs: &[String]) -> Option<Target> {
        self.resolve(krate, &[], segs, true, 0)
    }

    /// Resolve `segs` in module `module` of `krate`. `public`: only through `pub mod`,
    /// `pub use` and `pub` definitions, as a path a user writes must; else through any (the
    /// path inside a `use`, which the compiler has checked already).
    fn resolve(
        &self,
        krate: &'static str,
        module: &[String],
        segs: &[String],
        public: bool,
        depth: u32,
    ) -> Option<Target> {
        let file = self.modules.get(krate)?.get(module)?;
        let Some((name, rest)) = segs.split_first() else {
            return Some(Target::Module(krate, module.to_vec()));
        };
        if depth > 40 {
            return None;
        }
        let facts = self.facts(file);
        if let Some(mac) = name.strip_suffix('!') {
            let exported = rest.is_empty()
                && module.is_empty()
                && self.modules[krate]
                    .values()
                    .any(|f| self.facts(f).exported_macros.iter().any(|m| m == mac));
            if exported {
                return Some(Target::External);
            }
        }
        // A child module.
        for def in &facts.defs {
            if def.kind == Kind::Mod && &def.name == name && (def.public || !public) {
                let mut child = module.to_vec();
                child.push(name.clone());
                if self.modules[krate].contains_key(&child) {
                    return self.resolve(krate, &child, rest, public, depth + 1);
                }
            }
        }
        // A definition here.
        for def in &facts.defs {
            if def.kind != Kind::Mod && &def.name == name && (def.public || !public) {
                let item = Target::Item {
                    file: file.clone(),
                    name: name.clone(),
                    kind: def.kind,
                };
                if let Some(found) = self.member_of(item, rest) {
                    return Some(found);
                }
            }
        }
        // A re-export by name: the `use` path as written (checked by the compiler), then the
        // rest of ours, as strictly as we began.
        for u in &facts.uses {
            if &u.alias == name && u.reexport && (u.public || !public) {
                let Some(target) = self.resolve_use(krate, module, &u.path, depth) else {
                    continue;
                };
                let found = match target {
                    Target::Module(k, m) => self.resolve(k, &m, rest, public, depth + 1),
                    item => self.member_of(item, rest),
                };
                if found.is_some() {
                    return found;
                }
            }
        }
        // A glob re-export: the glob's module, then the whole of our path from there.
        for u in &facts.uses {
            if u.alias == "*" && u.reexport && (u.public || !public) {
                let target = self.resolve_use(krate, module, &u.path[..u.path.len() - 1], depth);
                if let Some(Target::Module(k, m)) = target {
                    if let Some(found) = self.resolve(k, &m, segs, public, depth + 1) {
                        return Some(found);
                    }
                }
            }
        }
        None
    }

    /// `item` itself if `rest` is empty; a member of it if `rest` is one name and `item` a
    /// type that has it.
    fn member_of(&self, item: Target, rest: &[String]) -> Option<Target> {
        match (&item, rest) {
            (_, []) => Some(item),
            (Target::External, _) => Some(Target::External),
            (
                Target::Item {
                    file,
                    name,
                    kind: Kind::Type,
                },
                [member],
            ) => self.has_member(file, name, member).then(|| Target::Item {
                file: file.clone(),
                name: member.clone(),
                kind: Kind::Fn,
            }),
            _ => None,
        }
    }

    /// Resolve a `use` path written in module `module` of `krate`.
    fn resolve_use(
        &self,
        krate: &'static str,
        module: &[String],
        path: &[String],
        depth: u32,
    ) -> Option<Target> {
        let (head, rest) = path.split_first()?;
        match head.as_str() {
            "crate" => self.resolve(krate, &[], rest, false, depth + 1),
            "self" => self.resolve(krate, module, rest, false, depth + 1),
            "super" => {
                let mut m = module.to_vec();
                let mut rest = rest;
                m.pop()?;
                while let Some((h, r)) = rest.split_first() {
                    if h != "super" {
                        break;
                    }
                    m.pop()?;
                    rest = r;
                }
                self.resolve(krate, &m, rest, false, depth + 1)
            }
            other => {
                if let Some((name, _)) = CRATES.iter().find(|(n, _)| *n == other) {
                    return self.resolve(name, &[], rest, false, depth + 1);
                }
                if EXTERNAL.contains(&other) {
                    // Another crate's item: it exists, or this crate would not build.
                    return Some(Target::External);
                }
                // A path relative to this module (2018 edition).
                self.resolve(krate, module, path, false, depth + 1)
            }
        }
    }

    /// A method, associated item or variant named `member` of the type `ty` defined in
    /// `def_file`: in an `impl` of `ty` in that file's directory (or below), or in the
    /// enum's or trait's own body.
    fn has_member(&self, def_file: &Path, ty: &str, member: &str) -> bool {
        let dir = def_file.parent().expect("a directory");
        self.facts.iter().any(|(file, facts)| {
            facts.bodies.iter().any(|b| {
                b.owner == ty
                    && b.members.iter().any(|m| m == member)
                    && if b.what == "impl" {
                        file.starts_with(dir)
                    } else {
                        file == def_file
                    }
            })
        })
    }

    /// Is `segs` — `name`, `Type::member`, `module::name` — defined in `file` (a path from
    /// the root)?
    fn defined_in(&self, file: &str, segs: &[String]) -> bool {
        let Some(facts) = self.facts.get(&root().join(file)) else {
            return false;
        };
        let stem = Path::new(file)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        match segs {
            [name] => {
                let name = name.trim_end_matches('!');
                facts.defs.iter().any(|d| d.name == name)
                    || facts.exported_macros.iter().any(|m| m == name)
                    || facts
                        .bodies
                        .iter()
                        .any(|b| b.members.iter().any(|m| m == name))
            }
            [owner, member] => {
                facts
                    .bodies
                    .iter()
                    .any(|b| &b.owner == owner && b.members.iter().any(|m| m == member))
                    || (*owner == stem
                        && (facts.defs.iter().any(|d| &d.name == member)
                            || facts
                                .bodies
                                .iter()
                                .any(|b| b.members.iter().any(|m| m == member))))
            }
            _ => false,
        }
    }

    fn defined_anywhere(&self, segs: &[String]) -> bool {
        self.files.iter().any(|f| {
            let rel = f.strip_prefix(root()).expect("under the root");
            self.defined_in(&rel.to_string_lossy(), segs)
        })
    }
}

/// The source with comments, string and character literals blanked out (replaced by
/// spaces, newlines kept), so that braces and keywords in them do not count.
fn clean(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    out.extend(b"  ");
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    out.extend(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let mut closing = vec![b'"'];
            closing.extend(std::iter::repeat_n(b'#', hashes));
            let end = b[j + 1..]
                .windows(closing.len())
                .position(|w| w == closing.as_slice())
                .map_or(b.len(), |p| j + 1 + p + closing.len());
            for &x in &b[i..end] {
                blank(&mut out, x);
            }
            i = end;
        } else if c == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    blank(&mut out, b[i]);
                    i += 1;
                }
                if i < b.len() {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
            out.push(b' ');
            i += 1;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let close = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(i + 2)
            } else {
                // A multi-byte char: find a quote within 5 bytes with no identifier break.
                (i + 2..(i + 6).min(b.len())).find(|&k| b[k] == b'\'' && !b[i + 1].is_ascii())
            };
            match close {
                Some(end) => {
                    out.extend(std::iter::repeat_n(b' ', end + 1 - i));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The identifier starting at `at` (after whitespace), and where it ends.
fn ident_at(s: &str, at: usize) -> Option<(String, usize)> {
    let b = s.as_bytes();
    let mut i = at;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    while i < b.len() && is_ident_byte(b[i]) {
        i += 1;
    }
    let word = &s[start..i];
    let first = word.bytes().next()?;
    (first.is_ascii_alphabetic() || first == b'_').then(|| (word.to_string(), i))
}

/// Every occurrence of the keyword `kw` as a whole word, followed by whitespace (or `!`,
/// for `macro_rules`).
fn keyword_positions(s: &str, kw: &str) -> Vec<usize> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = s[from..].find(kw) {
        let at = from + p;
        let end = at + kw.len();
        let before_ok = at == 0 || !(is_ident_byte(b[at - 1]) || b[at - 1] == b'\'');
        let after_ok =
            end < b.len() && (b[end].is_ascii_whitespace() || b[end] == b'!' || b[end] == b'<');
        if before_ok && after_ok {
            out.push(at);
        }
        from = end;
    }
    out
}

/// The visibility written before position `at` on its line: exactly `pub`, some `pub(…)`,
/// or none.
fn visibility(s: &str, at: usize) -> (bool, bool) {
    let line_start = s[..at].rfind('\n').map_or(0, |p| p + 1);
    let before = s[line_start..at].trim_start();
    let before = before
        .strip_prefix("#[doc(hidden)]")
        .unwrap_or(before)
        .trim_start();
    (before.starts_with("pub "), before.starts_with("pub"))
}

/// The index of the `}` matching the `{` at `open`.
fn matching_brace(s: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in s[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return open + i;
                }
            }
            _ => {}
        }
    }
    s.len()
}

fn facts_of(s: &str) -> Facts {
    // The bodies first: an item-level `impl` (its self type), an `enum`, a `trait`.
    let mut bodies = Vec::new();
    let mut inside = Vec::new(); // the byte ranges of impl and trait bodies
    for (kw, what) in [("impl", "impl"), ("enum", "enum"), ("trait", "trait")] {
        for at in keyword_positions(s, kw) {
            let line_start = s[..at].rfind('\n').map_or(0, |p| p + 1);
            let before = s[line_start..at].trim();
            let item_level = before.is_empty()
                || before == "unsafe"
                || before.starts_with("pub")
                || before.starts_with("#[");
            if !item_level {
                continue; // `impl Trait` in an argument or return type
            }
            let Some(open) = s[at..].find(['{', ';']).map(|p| at + p) else {
                continue;
            };
            if s.as_bytes()[open] == b';' {
                continue;
            }
            let header = &s[at + kw.len()..open];
            let owner = if what == "impl" {
                let self_ty = match header.rfind(" for ") {
                    Some(p) => &header[p + 5..],
                    None => skip_generics(header),
                };
                let self_ty = self_ty.split(" where").next().unwrap_or(self_ty);
                let self_ty = self_ty.split('<').next().unwrap_or(self_ty).trim();
                let self_ty = self_ty.trim_start_matches('&').trim_start_matches("mut ");
                let self_ty = self_ty.trim();
                self_ty
                    .rsplit("::")
                    .next()
                    .unwrap_or(self_ty)
                    .trim()
                    .to_string()
            } else {
                ident_at(header, 0).map(|(n, _)| n).unwrap_or_default()
            };
            let close = matching_brace(s, open);
            let body = &s[open + 1..close.min(s.len())];
            let members = if what == "enum" {
                variants(body)
            } else {
                members(body)
            };
            if what != "enum" {
                inside.push(open..close);
            }
            bodies.push(Body {
                owner,
                what,
                members,
            });
        }
    }
    // Then the definitions outside them.
    let mut defs = Vec::new();
    let kinds: &[(&str, Kind)] = &[
        ("fn", Kind::Fn),
        ("struct", Kind::Type),
        ("enum", Kind::Type),
        ("union", Kind::Type),
        ("trait", Kind::Type),
        ("type", Kind::Type),
        ("const", Kind::Value),
        ("static", Kind::Value),
        ("mod", Kind::Mod),
    ];
    for (kw, kind) in kinds {
        for at in keyword_positions(s, kw) {
            if inside.iter().any(|r| r.contains(&at)) {
                continue;
            }
            if let Some((name, _)) = ident_at(s, at + kw.len()) {
                if ["fn", "mut", "unsafe", "async", "extern"].contains(&name.as_str()) {
                    continue; // `const fn`, `static mut`, …: the next keyword names it
                }
                let (public, _) = visibility(s, at);
                defs.push(Def {
                    kind: *kind,
                    name,
                    public,
                });
            }
        }
    }
    let mut exported_macros = Vec::new();
    for at in keyword_positions(s, "macro_rules") {
        if let Some((name, _)) = ident_at(s, at + "macro_rules!".len()) {
            let recent: Vec<&str> = s[..at].rsplitn(4, '\n').collect();
            if recent.iter().any(|l| l.contains("#[macro_export]")) {
                exported_macros.push(name.clone());
            }
            defs.push(Def {
                kind: Kind::Macro,
                name,
                public: false,
            });
        }
    }
    let uses = uses_of(s);
    Facts {
        defs,
        uses,
        bodies,
        exported_macros,
    }
}

/// `<T: X> Foo<T>` → `Foo<T>`: the text after an impl's generic parameters.
fn skip_generics(header: &str) -> &str {
    let h = header.trim_start();
    if !h.starts_with('<') {
        return h;
    }
    let mut depth = 0;
    for (i, c) in h.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return &h[i + 1..];
                }
            }
            _ => {}
        }
    }
    h
}

/// The functions, constants and types defined in an impl or trait body.
fn members(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for kw in ["fn", "const", "type"] {
        for at in keyword_positions(body, kw) {
            if let Some((name, _)) = ident_at(body, at + kw.len()) {
                out.push(name);
            }
        }
    }
    out
}

/// The variant names of an enum body.
fn variants(body: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                segments.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    segments.push(&body[start..]);
    let mut out = Vec::new();
    for seg in segments {
        // Attributes first (`#[default]`), then the variant's name.
        let mut t = seg.trim_start();
        while t.starts_with("#[") {
            let mut depth = 0;
            let mut end = t.len();
            for (i, c) in t.char_indices().skip(1) {
                match c {
                    '[' => depth += 1,
                    ']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            t = t[end..].trim_start();
        }
        if let Some((name, _)) = ident_at(t, 0) {
            out.push(name);
        }
    }
    out
}

/// Every `use` statement's leaves.
fn uses_of(s: &str) -> Vec<UseLeaf> {
    let mut out = Vec::new();
    for at in keyword_positions(s, "use") {
        // Only item-level `use`: at a line's start, after its visibility.
        let line_start = s[..at].rfind('\n').map_or(0, |p| p + 1);
        let before = s[line_start..at].trim();
        if !(before.is_empty() || before.starts_with("pub")) {
            continue;
        }
        let (public, reexport) = visibility(s, at);
        let Some(end) = s[at..].find(';').map(|p| at + p) else {
            continue;
        };
        let tree = s[at + 3..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let mut leaves = Vec::new();
        parse_tree(&tree, &[], &mut leaves);
        for (path, alias) in leaves {
            out.push(UseLeaf {
                path,
                alias,
                public,
                reexport,
            });
        }
    }
    out
}

/// Parse a use tree (`a::b::{c, d as e, f::*}`), appending each leaf's full path and alias.
fn parse_tree(tree: &str, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let tree = tree.trim().trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim_end_matches("::").trim();
        let mut p = prefix.to_vec();
        p.extend(
            head.split("::")
                .filter(|s| !s.is_empty())
                .map(|s| s.trim().to_string()),
        );
        let close = matching_brace(tree, open);
        let inner = &tree[open + 1..close.min(tree.len())];
        for part in split_top(inner) {
            parse_tree(part, &p, out);
        }
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((p, a)) => (p.trim(), Some(a.trim().to_string())),
        None => (tree, None),
    };
    let mut segs = prefix.to_vec();
    segs.extend(
        path.split("::")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    );
    if segs.last().is_some_and(|l| l == "self") {
        segs.pop();
    }
    let Some(last) = segs.last().cloned() else {
        return;
    };
    let alias = alias.unwrap_or(last);
    if alias != "_" {
        out.push((segs, alias));
    }
}

/// Split on the commas outside braces.
fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}
