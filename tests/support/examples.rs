//! The examples as programs: [`example`] names the built binary, building every example
//! the first time a test binary asks for one.
//!
//! Cargo's `CARGO_BIN_EXE_<name>` covers `[[bin]]` targets only, and `cargo test
//! --all-targets` builds examples as test harnesses (`examples/hex-<hash>`), not as the
//! programs themselves. So the first call runs `cargo build --examples`, with this test
//! binary's profile, target and target directory; when they are up to date that takes a
//! fraction of a second, and it means a test never runs a stale binary. One build of all of
//! them, rather than a list per test file, so that a new example needs no entry here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The path of the built example `name`, built (with all the others) on the first call.
pub fn example(name: &str) -> PathBuf {
    static EXAMPLES_DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = EXAMPLES_DIR.get_or_init(build_examples);
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "no example {name}: `cargo build --examples` made no {}",
        path.display()
    );
    path
}

/// Runs `cargo build --examples` as this test binary was built; returns the directory the
/// programs are in.
fn build_examples() -> PathBuf {
    // This binary is <target dir>[/<triple>]/<profile dir>/deps/<test>-<hash>.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in <target>/<profile>/deps");
    let platform_dir = profile_dir.parent().expect("a target directory");
    // Cargo points integration tests at <target dir>/tmp, which names the target dir
    // whether or not this build was for an explicit `--target`.
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target dir>/tmp");

    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "--examples", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cargo.arg("--release");
        }
        Some(custom) => {
            cargo.args(["--profile", custom]);
        }
        None => panic!("unreadable profile directory {}", profile_dir.display()),
    }
    let same_dir = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
    if !same_dir(platform_dir, target_dir) {
        cargo
            .arg("--target")
            .arg(platform_dir.file_name().expect("triple"));
    }

    let output = cargo.output().expect("run cargo");
    assert!(
        output.status.success(),
        "building the examples failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    profile_dir.join("examples")
}
