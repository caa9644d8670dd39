//! `tempo::fs` on real files: bytes round-trip exactly, listings list what was created,
//! and errors come back as the `io::Error` kinds `std::fs` gives.
//!
//! Each test works in a fresh directory under `std::env::temp_dir()`, named after the
//! process and the test, and removes it when done (also when the test fails).

mod common;

use std::collections::BTreeMap;
use std::io::{ErrorKind, SeekFrom};
use std::path::{Path, PathBuf};

use common::with_hang_guard;
use tempo::fs::{self, File};

/// A temporary directory, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("tempo-fs-{}-{test}", std::process::id()));
        // A leftover from a killed run of this very process id is ours to remove.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).expect("create the test's temp dir");
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bytes no text encoding would produce by accident: every byte value, then a pattern
/// that does not repeat with any small period, `len` bytes in all.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            if i < 256 {
                i as u8
            } else {
                (i * 7 + i / 251) as u8
            }
        })
        .collect()
}

#[test]
fn write_then_read_round_trips_bytes() {
    let dir = TempDir::new("round-trip");
    with_hang_guard(move || {
        tempo::run(async {
            // Bigger than File's 2 MiB round-trip piece, so write_all needs several.
            for (name, len) in [("empty", 0), ("small", 1000), ("big", 5 * 1024 * 1024 + 3)] {
                let path = dir.join(name);
                let bytes = pattern(len);
                fs::write(&path, &bytes).await.unwrap();
                assert_eq!(fs::read(&path).await.unwrap(), bytes, "{name}");
                assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}, read by std");
                assert_eq!(fs::metadata(&path).await.unwrap().len(), len as u64);
            }
            let text = dir.join("text");
            fs::write(&text, "héllo\nwörld\n").await.unwrap();
            assert_eq!(fs::read_to_string(&text).await.unwrap(), "héllo\nwörld\n");
        })
    });
}

#[test]
fn a_file_reads_and_writes_in_pieces() {
    let dir = TempDir::new("file");
    with_hang_guard(move || {
        tempo::run(async {
            let path = dir.join("data");
            let bytes = pattern(5 * 1024 * 1024 + 17);
            {
                let mut file = File::create(&path).await.unwrap();
                file.write_all(&bytes[..100]).await.unwrap();
                // `write` may write less than asked; loop like any writer.
                let mut rest = &bytes[100..];
                while !rest.is_empty() {
                    let n = file.write(rest).await.unwrap();
                    assert!(n > 0 && n <= 2 * 1024 * 1024, "wrote {n}");
                    rest = &rest[n..];
                }
                file.flush().await.unwrap();
                file.sync_all().await.unwrap();
                assert_eq!(file.metadata().await.unwrap().len(), bytes.len() as u64);
            }

            // Read back through a small buffer: every piece lands where it belongs.
            let mut file = File::open(&path).await.unwrap();
            let mut back = Vec::new();
            let mut buf = vec![0; 64 * 1024 + 1];
            loop {
                let n = file.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                back.extend_from_slice(&buf[..n]);
            }
            assert_eq!(back.len(), bytes.len());
            assert!(back == bytes, "the bytes read back differ");
            assert_eq!(file.read(&mut buf).await.unwrap(), 0, "still at the end");

            // Seek, then read the rest in one round trip, appending to what we have.
            assert_eq!(file.seek(SeekFrom::Start(10)).await.unwrap(), 10);
            let mut tail = b"prefix".to_vec();
            let n = file.read_to_end(&mut tail).await.unwrap();
            assert_eq!(n, bytes.len() - 10);
            assert_eq!(&tail[..6], b"prefix");
            assert!(tail[6..] == bytes[10..]);

            // set_len truncates; read_to_string sees what is left.
            let mut file =
                File::open_with(&path, std::fs::OpenOptions::new().read(true).write(true))
                    .await
                    .unwrap();
            file.set_len(0).await.unwrap();
            file.write_all(b"short").await.unwrap();
            file.seek(SeekFrom::Start(0)).await.unwrap();
            let mut text = String::new();
            assert_eq!(file.read_to_string(&mut text).await.unwrap(), 5);
            assert_eq!(text, "short");
        })
    });
}

#[test]
fn append_mode_appends() {
    let dir = TempDir::new("append");
    with_hang_guard(move || {
        tempo::run(async {
            let path = dir.join("log");
            let mut options = std::fs::OpenOptions::new();
            options.append(true).create(true);
            for line in ["one\n", "two\n"] {
                let mut log = File::open_with(&path, &options).await.unwrap();
                log.write_all(line.as_bytes()).await.unwrap();
            }
            assert_eq!(fs::read_to_string(&path).await.unwrap(), "one\ntwo\n");
        })
    });
}

#[test]
fn read_dir_lists_what_was_created() {
    let dir = TempDir::new("read-dir");
    let root = dir.path().to_owned();
    with_hang_guard(move || {
        tempo::run(async {
            fs::create_dir_all(root.join("sub/deeper/deepest"))
                .await
                .unwrap();
            // Again: it exists already, which is fine.
            fs::create_dir_all(root.join("sub/deeper")).await.unwrap();
            for name in ["a.txt", "b.bin"] {
                fs::write(root.join(name), name).await.unwrap();
            }
            assert!(
                fs::metadata(root.join("sub/deeper/deepest"))
                    .await
                    .unwrap()
                    .is_dir()
            );

            let listing: BTreeMap<String, (PathBuf, bool, bool)> = fs::read_dir(&root)
                .await
                .unwrap()
                .into_iter()
                .map(|entry| {
                    let name = entry.file_name().to_str().unwrap().to_string();
                    let kind = entry.file_type();
                    (
                        name,
                        (entry.path().to_owned(), kind.is_file(), kind.is_dir()),
                    )
                })
                .collect();
            let expected: BTreeMap<String, (PathBuf, bool, bool)> = [
                ("a.txt", true, false),
                ("b.bin", true, false),
                ("sub", false, true),
            ]
            .into_iter()
            .map(|(name, file, dir)| (name.to_string(), (root.join(name), file, dir)))
            .collect();
            assert_eq!(listing, expected);

            fs::remove_file(root.join("a.txt")).await.unwrap();
            let names: Vec<_> = fs::read_dir(&root)
                .await
                .unwrap()
                .into_iter()
                .map(|entry| entry.file_name().to_owned())
                .collect();
            assert_eq!(names.len(), 2);
            assert!(!names.iter().any(|n| n == "a.txt"));

            fs::remove_dir_all(root.join("sub")).await.unwrap();
            assert_eq!(fs::read_dir(&root).await.unwrap().len(), 1);
        });
        drop(dir);
    });
}

#[test]
fn errors_come_back_with_the_kinds_std_gives() {
    let dir = TempDir::new("errors");
    with_hang_guard(move || {
        tempo::run(async {
            let missing = dir.join("missing");
            assert_eq!(
                fs::read(&missing).await.unwrap_err().kind(),
                ErrorKind::NotFound
            );
            assert_eq!(
                fs::read_to_string(&missing).await.unwrap_err().kind(),
                ErrorKind::NotFound
            );
            assert_eq!(
                fs::metadata(&missing).await.unwrap_err().kind(),
                ErrorKind::NotFound
            );
            assert_eq!(
                fs::remove_file(&missing).await.unwrap_err().kind(),
                ErrorKind::NotFound
            );
            assert_eq!(
                fs::read_dir(&missing).await.unwrap_err().kind(),
                ErrorKind::NotFound
            );
            assert_eq!(
                File::open(&missing).await.unwrap_err().kind(),
                ErrorKind::NotFound
            );
            assert_eq!(
                fs::write(dir.join("no/such/dir/file"), b"x")
                    .await
                    .unwrap_err()
                    .kind(),
                ErrorKind::NotFound
            );

            // Not UTF-8: InvalidData, and the String is left as it was.
            let binary = dir.join("binary");
            fs::write(&binary, [0xff, 0xfe, 0x00]).await.unwrap();
            assert_eq!(
                fs::read_to_string(&binary).await.unwrap_err().kind(),
                ErrorKind::InvalidData
            );
            let mut text = String::from("kept");
            let mut file = File::open(&binary).await.unwrap();
            assert_eq!(
                file.read_to_string(&mut text).await.unwrap_err().kind(),
                ErrorKind::InvalidData
            );
            assert_eq!(text, "kept");

            // Create refuses to create a file where a directory is.
            fs::create_dir_all(dir.join("a-dir")).await.unwrap();
            assert!(File::create(dir.join("a-dir")).await.is_err());
            // Writing to a file opened for reading fails (EBADF), reported, not panicking.
            let mut read_only = File::open(&binary).await.unwrap();
            assert!(read_only.write_all(b"no").await.is_err());
        })
    });
}

#[test]
fn file_calls_run_on_the_blocking_pool() {
    let dir = TempDir::new("on-pool");
    with_hang_guard(move || {
        tempo::run(async {
            let handle = tempo::Handle::current();
            let completed = || handle.blocking_stats().blocking.completed;
            assert_eq!(completed(), 0);
            fs::write(dir.join("x"), b"1").await.unwrap();
            let mut file = File::open(dir.join("x")).await.unwrap();
            let mut buf = [0; 4];
            assert_eq!(file.read(&mut buf).await.unwrap(), 1);
            // write, open, read: three round trips. A pool thread counts a job just after
            // it wakes the caller, so the count may lag a moment behind: poll it.
            let mut tries = 0;
            while completed() < 3 {
                tries += 1;
                assert!(tries < 2_000, "the pool counted {} jobs", completed());
                tempo::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            assert_eq!(completed(), 3);
            // flush has nothing to do and makes no round trip.
            file.flush().await.unwrap();
            assert_eq!(completed(), 3);
        })
    });
}
