//! What the two kinds of channel handle share, written once as macros:
//! `receiver_methods!`, the receiving operations of `Receiver` and `UnboundedReceiver`;
//! `receiver_stream!`, their `Stream` and `FusedStream`; and `debug_handle!`, `Debug` for
//! every handle.
//!
//! The two receivers differ only in their type, so their methods are one text expanded
//! twice — in `bounded.rs` and in `unbounded.rs`. A macro expands where it is called: the
//! names in these bodies (`poll_fn`, `Context`, `Poll`, `Pin`, `TryRecvError`, `Stream`,
//! `FusedStream`, `fmt`) are those the calling file imports.

/// The receiving operations, written once for both receivers.
macro_rules! receiver_methods {
    () => {
        /// Receive the next value, waiting until one is sent. Returns `None` once the buffer
        /// is empty and every sender has been dropped, or the channel was
        /// [closed](Self::close).
        ///
        /// Spends one unit of the task's cooperative budget, so a loop over a channel that
        /// is always ready still yields to the loop, its I/O and its timers.
        ///
        /// Cancel-safe: the value is taken only in the poll that returns it, so dropping the
        /// future loses nothing.
        #[doc(alias = "Queue.get")]
        pub async fn recv(&mut self) -> Option<T> {
            poll_fn(|cx| self.chan.poll_recv(cx)).await
        }

        /// Poll for the next value; the building block of [`recv`](Self::recv) and of the
        /// [`Stream`] implementation, for hand-written futures.
        pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
            self.chan.poll_recv(cx)
        }

        /// Receive a value if one is buffered — what asyncio code does with `get_nowait`.
        ///
        /// Fails with [`TryRecvError::Empty`] if none is buffered now, or
        /// [`TryRecvError::Disconnected`] if none ever will be (every sender is gone, or the
        /// channel is closed, and the buffer is empty).
        #[doc(alias = "get_nowait")]
        pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
            self.chan.try_recv()
        }

        /// Close the channel: every waiting and future send fails and gets its value back.
        /// Values already buffered can still be received; then `recv` returns `None`.
        /// Closing twice is harmless.
        pub fn close(&mut self) {
            self.chan.close();
        }

        /// How many values are buffered.
        pub fn len(&self) -> usize {
            self.chan.len()
        }

        /// True if no value is buffered.
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }
    };
}

pub(super) use receiver_methods;

/// `Stream` and `FusedStream` for each named receiver type: `poll_next` is `poll_recv`, so
/// the stream spends the budget, is cancel-safe and ends exactly where `recv` returns
/// `None` (rule 4 of `mpsc/mod.rs`), after which it stays ended.
macro_rules! receiver_stream {
    ($($name:ident),*) => {$(
        impl<T> Stream for $name<T> {
            type Item = T;

            fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.get_mut().chan.poll_recv(cx)
            }

            /// At least the values buffered; exactly those once every sender is gone or
            /// the channel is closed.
            fn size_hint(&self) -> (usize, Option<usize>) {
                self.chan.size_hint()
            }
        }

        impl<T> FusedStream for $name<T> {
            fn is_terminated(&self) -> bool {
                self.chan.is_terminated()
            }
        }
    )*};
}

pub(super) use receiver_stream;

/// `Debug` for each named handle type: how many values are buffered, the capacity, and
/// whether the channel is closed.
macro_rules! debug_handle {
    ($($name:ident),*) => {$(
        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let state = self.chan.lock();
                f.debug_struct(stringify!($name))
                    .field("buffered", &state.buffer.len())
                    .field("capacity", &self.chan.capacity)
                    .field("closed", &state.closed)
                    .finish_non_exhaustive()
            }
        }
    )*};
}

pub(super) use debug_handle;
