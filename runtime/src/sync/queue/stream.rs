//! [`QueueStream`]: a [`Queue`]'s gets as a [`Stream`] — asyncio's
//! `while True: item = await queue.get()`, as one value that stream combinators accept.
//!
//! **Why an adapter, and not `Queue` itself.** A `Stream` is polled through `&mut` (pinned),
//! but a queue is shared — through an `Arc` or a `&` — by every task that puts and gets, so
//! nobody holds it by `&mut`. And a waiting getter has a place in the line of getters (its
//! `WaiterKey`; rules 2 and 4 of `queue/mod.rs`) which must live somewhere between polls and
//! be given back if the consumer goes away. That place belongs to one consumer, not to the
//! queue: so each consumer makes its own stream, which holds its place in line, a handle
//! to the queue, and whether it has ended. [`Queue::stream`] borrows the queue (for a
//! consumer inside the task that holds it); [`Queue::into_stream`] keeps an `Arc` of it, for
//! a stream that must own its queue (returned from a function, or stored).
//!
//! In the loop: the stream is one more getter. `poll_next` is `Queue::poll_get`, the body
//! of `get`'s future (`get.rs`), so a stream and the `get` calls of other consumers share
//! the items fairly, in the order they started waiting.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use super::state::Queue;
use crate::sync::waitlist::WaiterKey;

impl<T> Queue<T> {
    /// The items of the queue as a [`Stream`], for this consumer: each item it gets, until
    /// the queue is [closed](Queue::close) and empty — asyncio's
    /// `while True: item = await queue.get()` loop, ended by `QueueShutDown`.
    ///
    /// The stream borrows the queue; see [`into_stream`](Queue::into_stream) for one that
    /// owns an `Arc` of it. Several consumers may each have their own stream (or call
    /// `get`): each item goes to one of them, the one that waited longest.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use std::sync::Arc;
    /// use tempo::sync::Queue;
    ///
    /// tempo::run(async {
    ///     let queue = Arc::new(Queue::bounded(2));
    ///     let producer = tempo::spawn({
    ///         let queue = Arc::clone(&queue);
    ///         async move {
    ///             for n in 1..=5 {
    ///                 queue.put(n).await.unwrap();
    ///             }
    ///             queue.close(); // the consumer's stream ends once it has the rest
    ///         }
    ///     });
    ///     let mut items = queue.stream();
    ///     let mut got = Vec::new();
    ///     while let Some(n) = items.next().await {
    ///         got.push(n);
    ///     }
    ///     assert_eq!(got, [1, 2, 3, 4, 5]);
    ///     producer.await.unwrap();
    /// });
    /// ```
    #[doc(alias = "Queue.get")]
    pub fn stream(&self) -> QueueStream<'_, T> {
        QueueStream {
            queue: Handle::Borrowed(self),
            key: None,
            ended: false,
        }
    }

    /// Like [`stream`](Queue::stream), owning an `Arc` of the queue, so the stream can be
    /// returned, stored or moved into a task on its own (`QueueStream<'static, T>`).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use std::sync::Arc;
    /// use tempo::sync::{Queue, QueueStream};
    ///
    /// fn jobs(queue: &Arc<Queue<u32>>) -> QueueStream<'static, u32> {
    ///     Arc::clone(queue).into_stream()
    /// }
    ///
    /// tempo::run(async {
    ///     let queue = Arc::new(Queue::new());
    ///     let mut stream = jobs(&queue);
    ///     let worker = tempo::spawn(async move {
    ///         let mut sum = 0;
    ///         while let Some(n) = stream.next().await {
    ///             sum += n;
    ///         }
    ///         sum
    ///     });
    ///     for n in 1..=4 {
    ///         queue.try_put(n).unwrap();
    ///     }
    ///     queue.close();
    ///     assert_eq!(worker.await.unwrap(), 10);
    /// });
    /// ```
    pub fn into_stream(self: Arc<Self>) -> QueueStream<'static, T> {
        QueueStream {
            queue: Handle::Shared(self),
            key: None,
            ended: false,
        }
    }
}

/// One consumer's [`Stream`] of a [`Queue`]'s items; made by [`Queue::stream`] (borrowing
/// the queue) or [`Queue::into_stream`] (owning an `Arc` of it).
///
/// It yields each item this consumer gets, and ends — `None`, and `None` for ever after —
/// when the queue is closed and no item is left in it, where `get` returns
/// [`GetError`](super::GetError). It is a `FusedStream`. Like
/// [`AsCompleted`](crate::future::AsCompleted) it has an inherent
/// [`next`](QueueStream::next), so it needs no extension trait.
///
/// Cancel-safe, as `get` is: a `next()` dropped before it completes loses no item, and
/// dropping the stream while it waits gives any item already handed to it to the next
/// getter in line, or back to the front of the queue (rule 4 of `queue/mod.rs`). Each poll
/// spends one unit of the task's budget. Polling allocates nothing.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::future::FusedStream;
/// use tempo::sync::Queue;
///
/// tempo::run(async {
///     let queue = Queue::new();
///     queue.try_put(1).unwrap();
///     queue.close();
///     let mut items = queue.stream();
///     assert_eq!(items.next().await, Some(1));
///     assert!(!items.is_terminated()); // it has not yet looked and found the end
///     assert_eq!(items.next().await, None);
///     assert!(items.is_terminated()); // a `select!` loop will not poll it again
/// });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct QueueStream<'a, T> {
    /// The queue: borrowed, or shared through an `Arc`.
    queue: Handle<'a, T>,
    /// Our place among the waiting getters, while we wait; `None` between items.
    key: Option<WaiterKey>,
    /// Set when `poll_next` has returned `None`: the queue was closed and empty.
    ended: bool,
}

/// How a [`QueueStream`] holds its queue.
enum Handle<'a, T> {
    /// From [`Queue::stream`].
    Borrowed(&'a Queue<T>),
    /// From [`Queue::into_stream`].
    Shared(Arc<Queue<T>>),
}

impl<T> Handle<'_, T> {
    fn queue(&self) -> &Queue<T> {
        match self {
            Handle::Borrowed(queue) => queue,
            Handle::Shared(queue) => queue,
        }
    }
}

// Nothing in a `QueueStream` is pinned: the queue is behind a reference or an `Arc`.
impl<T> Unpin for QueueStream<'_, T> {}

impl<T> QueueStream<'_, T> {
    /// The next item this consumer gets, waiting while the queue is empty; `None` once the
    /// queue is closed and empty. The stream's `poll_next`, as an `async fn`.
    ///
    /// Cancel-safe: dropping the future loses no item.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::sync::Queue;
    ///
    /// tempo::run(async {
    ///     let queue = Queue::new();
    ///     queue.try_put("a").unwrap();
    ///     queue.close();
    ///     let mut items = queue.stream();
    ///     assert_eq!(items.next().await, Some("a")); // what was left
    ///     assert_eq!(items.next().await, None); // then the end
    /// });
    /// ```
    pub async fn next(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_item(cx)).await
    }

    /// The body of `poll_next`: `Queue::poll_get`, with the end made final.
    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.ended {
            return Poll::Ready(None);
        }
        self.queue.queue().poll_get(&mut self.key, cx).map(|got| {
            // Closed and empty. Final, though a getter cancelled later could give an item
            // it had been handed back to the buffer (rule 4): another consumer's `get`, or
            // `try_get`, takes that one.
            self.ended = got.is_err();
            got.ok()
        })
    }
}

impl<T> Stream for QueueStream<'_, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_item(cx)
    }

    /// Other consumers may take any item, so nothing is known until the end: `(0, None)`,
    /// then `(0, Some(0))`.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, if self.ended { Some(0) } else { None })
    }
}

impl<T> FusedStream for QueueStream<'_, T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T> Drop for QueueStream<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.queue.queue().cancel_get(key);
        }
    }
}

impl<T> fmt::Debug for QueueStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueStream")
            .field("queue", self.queue.queue())
            .field("waiting", &self.key.is_some())
            .field("ended", &self.ended)
            .finish()
    }
}
