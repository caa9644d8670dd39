//! `tempo::fs::File` as a stream, and the path functions `rename`, `copy`, `create_dir`:
//! a file copied to a socket and back, read by lines and after a seek, writes whose error
//! arrives at `flush`, calls kept in order when a future is dropped, and the `io::Error`
//! kinds `std::fs` gives for missing paths.
//!
//! Each test works in a fresh directory under `std::env::temp_dir()`, removed when done.

mod common;

use std::future::{Future, poll_fn};
use std::io::{ErrorKind, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::Poll;

use common::with_hang_guard;
use tempo::fs::{self, File};
use tempo::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader, BufWriter};
use tempo::net::{TcpListener, TcpStream};

/// A temporary directory, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("tempo-fs-io-{}-{test}", std::process::id()));
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

/// Bytes with no short period, so a dropped, repeated or reordered chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The kind of the error `result` must be.
fn kind<T: std::fmt::Debug>(result: std::io::Result<T>) -> ErrorKind {
    result.unwrap_err().kind()
}

/// Two ends of one loopback connection.
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tempo::spawn(async move { listener.accept().await.unwrap().0 });
    let near = TcpStream::connect(addr).await.unwrap();
    (near, accept.await.unwrap())
}

#[test]
fn a_file_copied_to_a_socket_and_back_arrives_unchanged() {
    let dir = TempDir::new("socket-round-trip");
    with_hang_guard(move || {
        tempo::run(async move {
            // Over File's 2 MiB piece, so the copy takes many jobs in both directions.
            let payload = pattern(3 << 20);
            fs::write(dir.join("in"), &payload).await.unwrap();
            let (near, far) = pair().await;

            // The far end sends back everything it hears.
            let echo = tempo::spawn(async move {
                let (mut read, mut write) = far.into_split();
                let n = tempo::io::copy(&mut read, &mut write).await.unwrap();
                write.shutdown().await.unwrap();
                n
            });
            let (mut near_read, mut near_write) = near.into_split();
            let path_in = dir.join("in");
            let sender = tempo::spawn(async move {
                let mut file = File::open(path_in).await.unwrap();
                let n = tempo::io::copy(&mut file, &mut near_write).await.unwrap();
                near_write.shutdown().await.unwrap();
                n
            });
            let mut out = File::create(dir.join("out")).await.unwrap();
            let back = tempo::io::copy(&mut near_read, &mut out).await.unwrap();
            let len = payload.len() as u64;
            assert_eq!(
                (sender.await.unwrap(), echo.await.unwrap(), back),
                (len, len, len)
            );
            // copy flushed: every write has reached the OS, so a fresh read sees it all.
            let got = fs::read(dir.join("out")).await.unwrap();
            assert!(got == payload, "the bytes differ");
        })
    });
}

#[test]
fn buf_reader_lines_read_a_file() {
    let dir = TempDir::new("lines");
    with_hang_guard(move || {
        tempo::run(async move {
            let mut text = String::new();
            for i in 0..5000 {
                text.push_str(&format!("line {i}\n"));
            }
            text.push_str("the end, no newline");
            fs::write(dir.join("text"), &text).await.unwrap();

            let file = File::open(dir.join("text")).await.unwrap();
            let mut lines = BufReader::new(file).lines();
            let mut count = 0;
            while let Some(line) = lines.next_line().await.unwrap() {
                if count < 5000 {
                    assert_eq!(line, format!("line {count}"));
                } else {
                    assert_eq!(line, "the end, no newline");
                }
                count += 1;
            }
            assert_eq!(count, 5001);
        })
    });
}

#[test]
fn a_seek_then_a_read_reads_from_the_new_position() {
    let dir = TempDir::new("seek");
    with_hang_guard(move || {
        tempo::run(async move {
            fs::write(dir.join("digits"), b"0123456789").await.unwrap();
            let mut file = File::open(dir.join("digits")).await.unwrap();

            // Through the traits, as tokio code writes it.
            let at = AsyncSeekExt::seek(&mut file, SeekFrom::Start(6))
                .await
                .unwrap();
            assert_eq!(at, 6);
            let mut two = [0; 2];
            AsyncReadExt::read_exact(&mut file, &mut two).await.unwrap();
            assert_eq!(&two, b"67");
            let at = AsyncSeekExt::seek(&mut file, SeekFrom::Current(-5))
                .await
                .unwrap();
            assert_eq!(at, 3);
            assert_eq!(AsyncSeekExt::stream_position(&mut file).await.unwrap(), 3);

            // Through a BufReader, which reads ahead: its seek accounts for what it holds.
            let mut reader = BufReader::new(file);
            let mut one = [0; 1];
            AsyncReadExt::read_exact(&mut reader, &mut one)
                .await
                .unwrap();
            assert_eq!(&one, b"3"); // the BufReader now holds "456789"
            let at = reader.seek(SeekFrom::Current(1)).await.unwrap();
            assert_eq!(at, 5);
            let mut rest = String::new();
            reader.read_to_string(&mut rest).await.unwrap();
            assert_eq!(rest, "56789");

            // The file's own seek, from the end.
            let mut file = reader.into_inner();
            assert_eq!(file.seek(SeekFrom::End(-1)).await.unwrap(), 9);
            let mut last = String::new();
            file.read_to_string(&mut last).await.unwrap();
            assert_eq!(last, "9");
        })
    });
}

/// Bytes a dropped read took from the file are held for the next read; `set_len` must not
/// leave them to be read after the file was cut (tokio discards them too).
#[test]
fn set_len_after_a_read_ahead_reads_only_what_the_file_still_holds() {
    let dir = TempDir::new("set_len");
    with_hang_guard(move || {
        tempo::run(async move {
            fs::write(dir.join("digits"), b"0123456789").await.unwrap();
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(dir.join("digits"))
                .map(File::from_std)
                .unwrap();
            // A read of all ten bytes, started and then dropped: its bytes are kept for the
            // next reads — read ahead, as far as the file is concerned.
            let mut ten = [0; 10];
            {
                let mut read = pin!(AsyncReadExt::read(&mut file, &mut ten));
                let first = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx).is_pending())).await;
                assert!(first, "a file read goes to the blocking pool");
            }
            let mut two = [0; 2];
            AsyncReadExt::read_exact(&mut file, &mut two).await.unwrap();
            assert_eq!(&two, b"01"); // "23456789" are now held, read ahead
            file.set_len(4).await.unwrap();
            let mut rest = Vec::new();
            AsyncReadExt::read_to_end(&mut file, &mut rest)
                .await
                .unwrap();
            assert_eq!(rest, b"23", "bytes from before the cut were read");
        })
    });
}

#[test]
fn a_write_through_the_trait_returns_at_once_and_its_error_comes_back_from_flush() {
    let dir = TempDir::new("write-error");
    with_hang_guard(move || {
        tempo::run(async move {
            fs::write(dir.join("read-only"), b"x").await.unwrap();
            let mut file = File::open(dir.join("read-only")).await.unwrap();
            // The write only starts: it says the bytes were taken.
            let n = AsyncWriteExt::write(&mut file, b"no").await.unwrap();
            assert_eq!(n, 2);
            // flush waits for it, and reports that a read-only file refused it.
            let err = AsyncWriteExt::flush(&mut file).await.unwrap_err();
            assert_ne!(err.kind(), ErrorKind::Other);
            // Reported once.
            AsyncWriteExt::flush(&mut file).await.unwrap();
            // The file's own write_all waits for its bytes, and fails there.
            assert!(file.write_all(b"no").await.is_err());
        })
    });
}

#[test]
fn buffered_writes_to_a_file_are_all_there_after_flush() {
    let dir = TempDir::new("buf-writer");
    with_hang_guard(move || {
        tempo::run(async move {
            let mut out = BufWriter::new(File::create(dir.join("log")).await.unwrap());
            let mut expected = Vec::new();
            for i in 0..20_000 {
                let line = format!("{i}\n");
                out.write_all(line.as_bytes()).await.unwrap();
                expected.extend_from_slice(line.as_bytes());
            }
            out.flush().await.unwrap();
            assert_eq!(fs::read(dir.join("log")).await.unwrap(), expected);
            let file = out.into_inner();
            assert_eq!(file.metadata().await.unwrap().len(), expected.len() as u64);
        })
    });
}

#[test]
fn a_dropped_read_keeps_its_bytes_for_the_next_and_the_order_of_calls() {
    let dir = TempDir::new("dropped-read");
    with_hang_guard(move || {
        tempo::run(async move {
            fs::write(dir.join("abc"), b"abcdefghij").await.unwrap();
            let mut file = File::open(dir.join("abc")).await.unwrap();
            let mut first = [0; 4];
            let mut read_at_once = 0;
            {
                let mut read = pin!(file.read(&mut first));
                // One poll starts the read on the pool; drop it whatever it says.
                let polled = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
                if let Poll::Ready(n) = polled {
                    read_at_once = n.unwrap();
                }
            }
            let mut got = first[..read_at_once].to_vec();
            // The next call waits for the dropped one; its bytes are not lost.
            let mut rest = Vec::new();
            file.read_to_end(&mut rest).await.unwrap();
            got.extend_from_slice(&rest);
            assert_eq!(got, b"abcdefghij");
        })
    });
}

#[test]
fn rename_copy_and_create_dir_work_and_fail_with_std_kinds() {
    let dir = TempDir::new("paths");
    with_hang_guard(move || {
        tempo::run(async move {
            let missing = dir.join("missing");

            fs::create_dir(dir.join("sub")).await.unwrap();
            assert!(fs::metadata(dir.join("sub")).await.unwrap().is_dir());
            assert_eq!(
                kind(fs::create_dir(dir.join("sub")).await),
                ErrorKind::AlreadyExists
            );
            assert_eq!(
                kind(fs::create_dir(missing.join("child")).await),
                ErrorKind::NotFound
            );

            fs::write(dir.join("a"), b"contents").await.unwrap();
            assert_eq!(fs::copy(dir.join("a"), dir.join("sub/b")).await.unwrap(), 8);
            assert_eq!(fs::read(dir.join("sub/b")).await.unwrap(), b"contents");
            assert_eq!(
                kind(fs::copy(&missing, dir.join("c")).await),
                ErrorKind::NotFound
            );

            fs::rename(dir.join("a"), dir.join("renamed"))
                .await
                .unwrap();
            assert_eq!(kind(fs::metadata(dir.join("a")).await), ErrorKind::NotFound);
            assert_eq!(fs::read(dir.join("renamed")).await.unwrap(), b"contents");
            assert_eq!(
                kind(fs::rename(&missing, dir.join("d")).await),
                ErrorKind::NotFound
            );

            assert_eq!(
                kind(fs::remove_dir(dir.join("sub")).await),
                ErrorKind::DirectoryNotEmpty
            );
            fs::remove_file(dir.join("sub/b")).await.unwrap();
            fs::remove_dir(dir.join("sub")).await.unwrap();
            let names: Vec<_> = fs::read_dir(dir.path())
                .await
                .unwrap()
                .iter()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(names, ["renamed"]);
        })
    });
}
