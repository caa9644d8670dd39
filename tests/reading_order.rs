//! Each of tempo's crates can be read in order: no file imports, directly or through a ring
//! of others, a file that imports it back.
//!
//! Each crate's `lib.rs` lists its files in a reading order (STYLE.md, "A reading order";
//! docs/DESIGN.md, "The files, in reading order"): each uses only files before it, so a reader can
//! start at the top of the list and never meet a name from a file not yet read. That order exists
//! exactly when the imports between files have no cycle, and an import cycle is easy to add without
//! noticing — a helper in a lower file that reaches up for one type. These tests fail when one
//! appears, and name it: if the reactor's `sync.rs` said `use crate::reactor::Reactor;`, the
//! reactor's test would print `handle.rs → io/readiness.rs → sync.rs → reactor.rs → handle.rs`.
//!
//! # How the imports are found
//!
//! [`imports`] reads every `.rs` file under a crate's `src` directory, as text, with no
//! dependency beyond std:
//!
//! 1. Comments, doc comments and string and character literals are dropped, so a path in
//!    prose or in a message is not a use.
//! 2. Test modules (`#[cfg(test)] mod tests { … }`, or any `cfg` naming `test`) are dropped.
//!    A test may reach anywhere — its `use super::*` names its own file's items — and is not
//!    part of the reading.
//! 3. Every `use` tree is expanded (`use crate::a::{b, c::{self, D}}` names `a::b`, `a::c`
//!    and `a::c::D`), and every inline `crate::`/`super::`/`self::` path in code
//!    (`crate::a::f()`) is a use too.
//! 4. Each path is resolved to the file that defines what it names, seeing through
//!    re-exports: if `lib.rs` says `pub use b::Thing`, a use of `crate::Thing` is a use of
//!    `b.rs`.
//! 5. A hub's re-exports are not uses: `lib.rs` and a `mod.rs` (any file with child module
//!    files) are tables of contents, and their `pub use` lines say where a name is found,
//!    not that the hub needs it. Nor is a `mod` declaration a use.
//!
//! 6. A glob re-export (`pub use a::*` in a hub) is seen through too: a use of a name the
//!    hub does not itself define or name goes to the glob's module, if that module defines
//!    the name or re-exports it.
//!
//! What it does not see: a path that starts from a name imported earlier
//! (`use crate::io; use io::Direction;` counts only as a use of `io`), a method called on
//! a value of a type defined elsewhere (no `use` is written for it), `$crate::` paths in
//! macros, and `#[path]` attributes. `super::` inside an inline module other than a test
//! module is read as if written at the top of its file. A checker that misses an edge lets
//! a cycle through, so add what a crate needs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// For each file of a crate (its path under `src`, with `/`), the other files of the crate
/// it uses. Every file is a key, even one that uses none.
type Imports = BTreeMap<String, BTreeSet<String>>;

/// A module's path from the crate root: `["time", "sleep"]` for `time/sleep.rs`, `[]` for
/// `lib.rs`.
type ModulePath = Vec<String>;

/// One path a file names: from a `use` (one per leaf of its tree) or written inline in code.
#[derive(Debug)]
struct Use {
    /// The path as written, e.g. `["super", "sleep", "Sleep"]`.
    path: Vec<String>,
    /// The name it brings into scope: its last segment, or the `as` alias.
    name: String,
    /// Whether it is a `pub use` (any `pub(…)` too): a re-export that other files can name.
    reexport: bool,
}

/// One file of the crate, read.
struct SourceFile {
    /// The module the file is.
    module: ModulePath,
    /// Every path it names outside its test modules.
    uses: Vec<Use>,
    /// The names it defines (`struct X`, `fn f`, `macro_rules! m`, …), at any depth: enough
    /// to tell whether a glob re-export of its module brings a name in.
    items: BTreeSet<String>,
}

/// The import edges between the files of the crate whose `src` directory is `src`: for each
/// file, the files that define what it uses. See the crate doc for how they are found.
/// `src` holds the crate root, `lib.rs` (or `main.rs`), and the files of its modules.
///
/// Panics if a file cannot be read: a checker that skipped a file would pass a crate it
/// has not read.
fn imports(src: &Path) -> Imports {
    let mut files = BTreeMap::new();
    for path in rust_files(src) {
        let text =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let name = path
            .strip_prefix(src)
            .expect("a file found under src")
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let tokens = without_test_modules(tokens(&text));
        let file = SourceFile {
            module: module_of(&name),
            uses: uses(&tokens),
            items: items(&tokens),
        };
        files.insert(name, file);
    }
    let modules: BTreeMap<ModulePath, String> = files
        .iter()
        .map(|(name, file)| (file.module.clone(), name.clone()))
        .collect();
    let krate = Crate { files, modules };

    let mut imports = Imports::new();
    for (name, file) in &krate.files {
        let is_hub = krate
            .modules
            .keys()
            .any(|m| m.len() > file.module.len() && m.starts_with(&file.module));
        let used = imports.entry(name.clone()).or_default();
        for u in &file.uses {
            if is_hub && u.reexport {
                continue; // A table of contents, not a use.
            }
            let Some(path) = krate.absolute(&u.path, &file.module) else {
                continue; // std, a dependency, or a local name.
            };
            let definer = krate.defining_file(&path, &mut BTreeSet::new());
            if definer != *name {
                used.insert(definer);
            }
        }
    }
    imports
}

/// A crate's files and modules, to resolve paths against.
struct Crate {
    /// Each file by its path under `src`.
    files: BTreeMap<String, SourceFile>,
    /// Which file each module is.
    modules: BTreeMap<ModulePath, String>,
}

impl Crate {
    /// `path`, as written in module `here`, from the crate root; `None` if it leaves the
    /// crate (`std::…`, `mio::…`) or starts from a local name.
    fn absolute(&self, path: &[String], here: &[String]) -> Option<ModulePath> {
        let (first, rest) = path.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some([here, rest].concat()),
            "super" => {
                let mut base = here.to_vec();
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                Some([&base, rest].concat())
            }
            // A child module: `use sleep::Sleep` in `time/mod.rs`.
            _ if self.modules.contains_key(&[here, &path[..1]].concat()) => {
                Some([here, path].concat())
            }
            _ => None,
        }
    }

    /// The file that defines what the absolute `path` names: the deepest module file on
    /// the path, unless that file re-exports the name from elsewhere, in which case follow
    /// the re-export. `seen` stops a re-export ring from looping.
    fn defining_file(&self, path: &[String], seen: &mut BTreeSet<ModulePath>) -> String {
        let mut module: ModulePath = Vec::new();
        for segment in path {
            let child = [module.as_slice(), std::slice::from_ref(segment)].concat();
            if self.modules.contains_key(&child) {
                module = child;
                continue;
            }
            // `segment` is an item of `module`: defined there, unless re-exported.
            let file = &self.modules[&module];
            for u in &self.files[file].uses {
                if u.reexport && u.name == *segment {
                    if let Some(target) = self.absolute(&u.path, &module) {
                        if seen.insert(target.clone()) {
                            return self.defining_file(&target, seen);
                        }
                    }
                }
            }
            if !self.files[file].items.contains(segment) {
                for u in &self.files[file].uses {
                    if !(u.reexport && u.name == "*") {
                        continue;
                    }
                    let glob = &u.path[..u.path.len() - 1];
                    let Some(target) = self.absolute(glob, &module) else {
                        continue;
                    };
                    if self.provides(&target, segment, &mut BTreeSet::new()) {
                        let target = [target.as_slice(), std::slice::from_ref(segment)].concat();
                        if seen.insert(target.clone()) {
                            return self.defining_file(&target, seen);
                        }
                    }
                }
            }
            return file.clone();
        }
        self.modules[&module].clone()
    }
}

impl Crate {
    /// Whether `module` (a module with a file) defines `name` or re-exports it, explicitly or
    /// through a glob of its own. `seen` stops a ring of globs from looping.
    fn provides(&self, module: &[String], name: &str, seen: &mut BTreeSet<ModulePath>) -> bool {
        let Some(file) = self.modules.get(module) else {
            return false;
        };
        if !seen.insert(module.to_vec()) {
            return false;
        }
        let file = &self.files[file];
        file.items.contains(name)
            || self
                .modules
                .contains_key(&[module, &[name.to_string()]].concat())
            || file.uses.iter().any(|u| {
                u.reexport
                    && (u.name == name
                        || (u.name == "*"
                            && self
                                .absolute(&u.path[..u.path.len() - 1], module)
                                .is_some_and(|t| self.provides(&t, name, seen))))
            })
    }
}

/// The names a file's tokens define: the word after each item keyword.
fn items(tokens: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for pair in tokens.windows(3) {
        let keyword = matches!(
            pair[0].as_str(),
            "struct" | "enum" | "union" | "trait" | "type" | "fn" | "const" | "static" | "mod"
        );
        if keyword && pair[1] != "fn" {
            names.insert(pair[1].clone());
        } else if pair[0] == "macro_rules" && pair[1] == "!" {
            names.insert(pair[2].clone());
        }
    }
    names
}

/// The module a file under `src` is: `time/sleep.rs` is `time::sleep`; `time/mod.rs` is
/// `time`; `lib.rs` is the root.
fn module_of(file: &str) -> ModulePath {
    let mut module: ModulePath = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(
        module.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        module.pop();
    }
    module
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            found.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// The file's code as tokens: identifiers (and numbers), `::`, and single punctuation
/// characters. Comments, doc comments, and string and character literals are dropped.
fn tokens(text: &str) -> Vec<String> {
    let s: Vec<char> = text.chars().collect();
    let at = |i: usize| s.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i = after_string(&s, i + 1, 0);
        } else if c == '\'' {
            // '\n' or 'x' is a character; 'a (no closing quote) is a lifetime.
            if at(i + 1) == '\\' {
                i += 2;
                while i < s.len() && s[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                i += 1;
            }
            let word: String = s[start..i].iter().collect();
            // r"…", r#"…"#, b"…", br"…": a string with a prefix. (b'x' is a character
            // and is skipped by the branch above on the next round.)
            let hashes = s[i..].iter().take_while(|&&h| h == '#').count();
            if matches!(word.as_str(), "r" | "b" | "br") && at(i + hashes) == '"' {
                i = after_string(&s, i + hashes + 1, hashes);
            } else {
                out.push(word);
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push("::".to_string());
            i += 2;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// The index just after a string literal whose body starts at `i`; `hashes` is the number
/// of `#` of a raw string (whose body has no escapes).
fn after_string(s: &[char], mut i: usize, hashes: usize) -> usize {
    while i < s.len() {
        if hashes == 0 && s[i] == '\\' {
            i += 2;
        } else if s[i] == '"' && s[i + 1..].iter().take(hashes).all(|&h| h == '#') {
            return i + 1 + hashes;
        } else {
            i += 1;
        }
    }
    i
}

/// `tokens` without its test modules: a `#[cfg(…)]` naming `test` (and not `not`), any
/// further attributes, then `mod name { … }`, dropped through the matching brace.
fn without_test_modules(tokens: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(end) = test_module_end(&tokens, i) {
            i = end;
        } else {
            out.push(tokens[i].clone());
            i += 1;
        }
    }
    out
}

/// If a test module starts at `tokens[start]`, the index just after its closing brace.
fn test_module_end(tokens: &[String], start: usize) -> Option<usize> {
    let t = |i: usize| tokens.get(i).map_or("", String::as_str);
    if t(start) != "#" || t(start + 1) != "[" || t(start + 2) != "cfg" {
        return None;
    }
    let attribute_end = matching(tokens, start + 1)?;
    let condition = &tokens[start + 3..attribute_end];
    if !condition.iter().any(|w| w == "test") || condition.iter().any(|w| w == "not") {
        return None;
    }
    let mut i = attribute_end + 1;
    while t(i) == "#" && t(i + 1) == "[" {
        i = matching(tokens, i + 1)? + 1; // another attribute
    }
    if t(i) == "pub" {
        i += 1;
        if t(i) == "(" {
            i = matching(tokens, i)? + 1;
        }
    }
    if t(i) != "mod" || t(i + 2) != "{" {
        return None; // a test-only function or `mod tests;` in its own file
    }
    Some(matching(tokens, i + 2)? + 1)
}

/// The index of the bracket that closes the one at `tokens[open]`.
fn matching(tokens: &[String], open: usize) -> Option<usize> {
    let (o, c) = match tokens[open].as_str() {
        "(" => ("(", ")"),
        "[" => ("[", "]"),
        _ => ("{", "}"),
    };
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t == o {
            depth += 1;
        } else if t == c {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Every path the code names: each leaf of each `use` tree, and each inline path starting
/// with `crate`, `super` or `self` (`crate::a::f()`; `crate` in `pub(crate)` is not one).
fn uses(tokens: &[String]) -> Vec<Use> {
    let t = |i: usize| tokens.get(i).map_or("", String::as_str);
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if t(i) == "use" && t(i.wrapping_sub(1)) != "::" {
            let reexport = t(i.wrapping_sub(1)) == "pub"
                || (t(i.wrapping_sub(1)) == ")"
                    && (0..i)
                        .rev()
                        .find(|&j| t(j) == "(")
                        .is_some_and(|j| t(j.wrapping_sub(1)) == "pub"));
            let mut at = i + 1;
            let mut leaves = Vec::new();
            use_tree(tokens, &mut at, &[], &mut leaves);
            for (path, name) in leaves {
                found.push(Use {
                    path,
                    name,
                    reexport,
                });
            }
            i = at;
        } else if matches!(t(i), "crate" | "super" | "self") && t(i + 1) == "::" {
            let mut path = vec![tokens[i].clone()];
            i += 1;
            while t(i) == "::" && t(i + 1).starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                path.push(tokens[i + 1].clone());
                i += 2;
            }
            let name = path.last().cloned().unwrap_or_default();
            found.push(Use {
                path,
                name,
                reexport: false,
            });
        } else {
            i += 1;
        }
    }
    found
}

/// Expand the `use` tree starting at `tokens[*at]`, under `prefix`, into `(path, name)`
/// leaves: `a::{b, c::{self, D as E}}` gives `(a::b, b)`, `(a::c, c)`, `(a::c::D, E)`.
/// Leaves `*at` just after the tree.
fn use_tree(
    tokens: &[String],
    at: &mut usize,
    prefix: &[String],
    leaves: &mut Vec<(Vec<String>, String)>,
) {
    let t = |i: usize| tokens.get(i).map_or("", String::as_str);
    let mut path = prefix.to_vec();
    if t(*at) == "::" {
        *at += 1; // `use ::std::…`
    }
    loop {
        match t(*at) {
            "{" => {
                *at += 1;
                while !matches!(t(*at), "}" | "") {
                    use_tree(tokens, at, &path, leaves);
                    if t(*at) == "," {
                        *at += 1;
                    }
                }
                *at += 1;
                return;
            }
            "" | ";" | "," | "}" => break,
            segment => {
                path.push(segment.to_string());
                *at += 1;
                if t(*at) == "::" {
                    *at += 1;
                } else {
                    break;
                }
            }
        }
    }
    let mut name = path.last().cloned().unwrap_or_default();
    if t(*at) == "as" {
        name = t(*at + 1).to_string();
        *at += 2;
    }
    if path.last().is_some_and(|s| s == "self") {
        path.pop(); // `a::{self}` names `a`
        name = path.last().cloned().unwrap_or_default();
    }
    leaves.push((path, name));
}

/// One cycle of `imports`, as the files along it with the first repeated at the end
/// (`a.rs`, `b.rs`, `a.rs`), or `None` if the files have a topological order.
fn find_cycle(imports: &Imports) -> Option<Vec<String>> {
    /// Depth-first from `file`; `path` is the chain of files being visited, `done` the
    /// files whose every import has been visited without finding a cycle.
    fn visit(
        file: &str,
        imports: &Imports,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|f| f == file) {
            let mut cycle = path[start..].to_vec();
            cycle.push(file.to_string());
            return Some(cycle);
        }
        if done.contains(file) {
            return None;
        }
        path.push(file.to_string());
        for used in imports.get(file).into_iter().flatten() {
            if let Some(cycle) = visit(used, imports, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(file.to_string());
        None
    }
    let mut done = BTreeSet::new();
    imports
        .keys()
        .find_map(|file| visit(file, imports, &mut Vec::new(), &mut done))
}

/// Panic, naming the cycle, if the files of the crate at `src` import each other in one.
fn assert_no_import_cycle(src: &Path) {
    let imports = imports(src);
    assert!(
        imports.values().any(|used| !used.is_empty()),
        "no file of {} imports another: is it a crate's src directory?",
        src.display()
    );
    if let Some(cycle) = find_cycle(&imports) {
        panic!(
            "{} has an import cycle, so its files have no reading order:\n\n    {}\n\n\
             Each file must use only files before it in the order of lib.rs \
             (STYLE.md, \"A reading order\"): break one of these imports.",
            src.display(),
            cycle.join(" → ")
        );
    }
}

/// The `src` directory of the workspace crate `name`.
fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name).join("src")
}

/// The executor crate's files have a reading order: no import cycle.
#[test]
fn executor_files_have_no_import_cycle() {
    assert_no_import_cycle(&crate_src("executor"));
}

/// The reactor crate's files have a reading order: no import cycle.
#[test]
fn reactor_files_have_no_import_cycle() {
    assert_no_import_cycle(&crate_src("reactor"));
}

/// The runtime crate's files have a reading order: no import cycle.
#[test]
fn runtime_files_have_no_import_cycle() {
    assert_no_import_cycle(&crate_src("runtime"));
}

/// A fresh directory `name` under the test target's scratch space, holding `files`
/// (path under it, text), to run the checker on.
fn synthetic_crate(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("reading_order")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("a file has a parent")).expect("mkdir");
        fs::write(&path, text).expect("write a synthetic file");
    }
    dir
}

/// The files `file` uses, by name, to compare with a list.
fn used_by<'a>(imports: &'a Imports, file: &str) -> Vec<&'a str> {
    imports[file].iter().map(String::as_str).collect()
}

/// `a.rs` uses `crate::Thing`, which `lib.rs` re-exports from `b.rs`; `b.rs` uses `a.rs`.
/// The checker sees through the re-export to `b.rs`, and finds the ring. The re-export in
/// the hub `lib.rs` is not itself a use.
#[test]
fn a_ring_through_a_reexport_is_found() {
    let src = synthetic_crate(
        "ring_through_reexport",
        &[
            ("lib.rs", "mod a;\nmod b;\npub use b::Thing;\n"),
            (
                "a.rs",
                "use crate::Thing;\n\npub fn make() -> Thing {\n    Thing\n}\n",
            ),
            ("b.rs", "use crate::a::make;\n\npub struct Thing;\n"),
        ],
    );
    let imports = imports(&src);
    assert_eq!(used_by(&imports, "a.rs"), ["b.rs"]);
    assert_eq!(used_by(&imports, "b.rs"), ["a.rs"]);
    assert_eq!(used_by(&imports, "lib.rs"), [] as [&str; 0]);
    assert_eq!(find_cycle(&imports).unwrap(), ["a.rs", "b.rs", "a.rs"]);
}

/// `sync/a.rs` uses `crate::sync::Thing`, which `sync/mod.rs` brings in with a glob from
/// `sync/b/mod.rs`, which re-exports it from `sync/b/thing.rs`; that file uses `sync/a.rs`.
/// The checker follows the glob and the re-export behind it to `thing.rs`, and finds the
/// ring; a name the glob's module does not have is not sent there.
#[test]
fn a_ring_through_a_glob_reexport_is_found() {
    let src = synthetic_crate(
        "ring_through_glob",
        &[
            (
                "lib.rs",
                "pub mod sync;
",
            ),
            (
                "sync/mod.rs",
                "mod a;
mod b;
pub use a::*;
pub use b::*;
",
            ),
            (
                "sync/a.rs",
                "use crate::sync::Thing;

pub fn make() -> Thing {
    Thing
}
",
            ),
            (
                "sync/b/mod.rs",
                "mod thing;
pub use thing::Thing;
",
            ),
            (
                "sync/b/thing.rs",
                "use crate::sync::make;

pub struct Thing;
",
            ),
        ],
    );
    let imports = imports(&src);
    assert_eq!(used_by(&imports, "sync/a.rs"), ["sync/b/thing.rs"]);
    assert_eq!(used_by(&imports, "sync/b/thing.rs"), ["sync/a.rs"]);
    assert_eq!(
        find_cycle(&imports).unwrap(),
        ["sync/a.rs", "sync/b/thing.rs", "sync/a.rs"]
    );
}

/// A test module at the bottom of `a.rs` says `use super::*` (its own file's items, which
/// a naive reading takes for the parent, `lib.rs`) and reaches up to `b.rs`, which uses
/// `a.rs`. Test modules are excluded: neither is an edge, and there is no cycle.
#[test]
fn a_test_module_is_not_an_edge() {
    let src = synthetic_crate(
        "test_module",
        &[
            ("lib.rs", "mod a;\nmod b;\n\npub struct Root;\n"),
            (
                "a.rs",
                "pub fn f() {}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n    \
                 use crate::b::g;\n\n    #[test]\n    fn both() {\n        f();\n        \
                 g();\n    }\n}\n",
            ),
            ("b.rs", "use crate::a::f;\n\npub fn g() {\n    f()\n}\n"),
        ],
    );
    let imports = imports(&src);
    assert_eq!(used_by(&imports, "a.rs"), [] as [&str; 0]);
    assert_eq!(used_by(&imports, "b.rs"), ["a.rs"]);
    assert_eq!(find_cycle(&imports), None);
}

/// `b.rs` calls `crate::a::f()` without a `use`: an edge. `c.rs` names the same path only
/// in a comment and a string: none.
#[test]
fn an_inline_path_counts() {
    let src = synthetic_crate(
        "inline_path",
        &[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("a.rs", "pub fn f() {}\n"),
            ("b.rs", "pub fn g() {\n    crate::a::f()\n}\n"),
            (
                "c.rs",
                "/// Unlike `crate::a::f()`, this uses nothing.\npub fn h() -> &'static str {\n    \
                 // crate::a::f();\n    \"crate::a::f\"\n}\n",
            ),
        ],
    );
    let imports = imports(&src);
    assert_eq!(used_by(&imports, "b.rs"), ["a.rs"]);
    assert_eq!(used_by(&imports, "c.rs"), [] as [&str; 0]);
    assert_eq!(find_cycle(&imports), None);
}
