//! [`copy`]: everything from a reader into a writer — Python's `shutil.copyfileobj`, and
//! the body of every relay; futures-util's `copy` with tokio's signature.

use std::io;

use futures_io::{AsyncRead, AsyncWrite};

/// Copy everything `reader` gives, until its end of stream, into `writer`, then flush
/// `writer`; returns how many bytes were copied. The bytes pass through one 8 KiB buffer,
/// allocated per call. `writer` is not shut down: to pass the end of stream on, call
/// [`shutdown`](super::AsyncWriteExt::shutdown) after (or use
/// [`copy_bidirectional`](super::copy_bidirectional)).
///
/// Not cancel-safe: bytes read but not yet written are lost if the future is dropped.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let mut reader = &b"all of it"[..];
///     let mut writer = Vec::new();
///     assert_eq!(tempo::io::copy(&mut reader, &mut writer).await?, 9);
///     assert_eq!(writer, b"all of it");
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    futures_util::io::copy(reader, writer).await
}
