//! Task-local context — asyncio's `contextvars.ContextVar`.
//!
//! asyncio gives every task a *copy* of the context it was created in
//! (`create_task` calls `contextvars.copy_context()`): a `ContextVar` set before spawning is
//! visible in the child, and a child's own `set` stays in the child. A request id set by a
//! connection handler is therefore visible in every log line of that request, across
//! awaits, and in every task the handler spawns.
//!
//! tempo does the same. A [`ContextSnapshot`] is an immutable map from variables to values, shared
//! by reference count. [`ContextVar::scope`] runs a future with one more binding;
//! [`spawn`](crate::spawn) gives the new task the context of the task that spawned it; and
//! [`ContextVar::set`] rebinds a variable for the rest of the current scope (copy-on-write,
//! so the parent's and siblings' copies are untouched).
//!
//! tokio's `task_local!` has the scope but not the inheritance (tokio#2396, tokio#6659):
//! a spawned task starts with nothing.
//!
//! **How it works.** While a scoped future (or a task spawned from one) is being polled, its
//! context sits in a thread-local; the wrapper moves it in before each poll and back out
//! after, so between polls the thread-local is empty and tasks never see each other's
//! values. Tasks spawned outside any scope carry nothing and pay nothing.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    /// The context of the future being polled on this thread, if it has one.
    static CURRENT_CONTEXT: RefCell<Option<ContextSnapshot>> = const { RefCell::new(None) };
}

/// Hands out variable ids; 0 means "not yet assigned".
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A snapshot of context variables and their values — asyncio's `contextvars.Context`,
/// named so as not to shadow `std::task::Context`. Cloning is a reference-count increment.
#[derive(Clone, Default)]
pub struct ContextSnapshot {
    /// (variable id, value), few enough that a linear search beats a hash map.
    bindings: Arc<Vec<(u64, Arc<dyn Any + Send + Sync>)>>,
}

impl ContextSnapshot {
    /// The context of the code running now (empty outside any scope) —
    /// `contextvars.copy_context()`.
    pub fn current() -> ContextSnapshot {
        CURRENT_CONTEXT
            .with_borrow(|c| c.clone())
            .unwrap_or_default()
    }

    /// Run `future` inside this context — `Context.run`, for a future.
    pub fn run<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        run_in(self, future)
    }

    fn get(&self, id: u64) -> Option<&Arc<dyn Any + Send + Sync>> {
        self.bindings.iter().find(|(k, _)| *k == id).map(|(_, v)| v)
    }

    fn with(&self, id: u64, value: Arc<dyn Any + Send + Sync>) -> ContextSnapshot {
        let mut next = self.clone();
        next.set(id, value);
        next
    }

    fn set(&mut self, id: u64, value: Arc<dyn Any + Send + Sync>) {
        let bindings = Arc::make_mut(&mut self.bindings);
        match bindings.iter_mut().find(|(k, _)| *k == id) {
            Some(slot) => slot.1 = value,
            None => bindings.push((id, value)),
        }
    }

    fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}

impl fmt::Debug for ContextSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextSnapshot")
            .field("variables", &self.bindings.len())
            .finish()
    }
}

/// The context to give a task being spawned now: the spawner's, if it has any bindings.
pub(crate) fn inherited() -> Option<ContextSnapshot> {
    CURRENT_CONTEXT.with_borrow(|c| c.as_ref().filter(|c| !c.is_empty()).cloned())
}

/// Poll `future` with `context` installed in the thread-local, moving it in before each
/// poll and back out after — no reference counting per poll.
pub(crate) async fn run_in<F: Future>(context: ContextSnapshot, future: F) -> F::Output {
    /// Puts the thread-local back as it was, even if the poll panics.
    struct Restore<'a> {
        slot: &'a mut Option<ContextSnapshot>,
        previous: Option<ContextSnapshot>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let ours =
                CURRENT_CONTEXT.with_borrow_mut(|c| std::mem::replace(c, self.previous.take()));
            *self.slot = ours;
        }
    }

    let mut future = pin!(future);
    let mut slot = Some(context);
    poll_fn(|cx| {
        let previous = CURRENT_CONTEXT.with_borrow_mut(|c| std::mem::replace(c, slot.take()));
        let _restore = Restore {
            slot: &mut slot,
            previous,
        };
        future.as_mut().poll(cx)
    })
    .await
}

/// A context variable — asyncio's `contextvars.ContextVar`. Declare it as a `static`:
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::task::ContextVar;
///
/// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
///
/// tempo::run(REQUEST_ID.scope(7, async {
///     assert_eq!(REQUEST_ID.get(), Some(7));
///     // A spawned task inherits the spawner's context, as asyncio's create_task copies it.
///     let child = tempo::spawn(async { REQUEST_ID.get() });
///     assert_eq!(child.await.unwrap(), Some(7));
/// }));
/// assert_eq!(REQUEST_ID.get(), None); // outside the scope
/// ```
#[doc(alias = "contextvars.ContextVar")]
pub struct ContextVar<T> {
    /// A name for debugging, as asyncio's `ContextVar(name)`.
    name: &'static str,
    /// Assigned on first use; identifies the variable inside a [`ContextSnapshot`].
    id: AtomicU64,
    _value: PhantomData<fn() -> T>,
}

impl<T: Send + Sync + 'static> ContextVar<T> {
    /// A new variable. `name` is for debugging only.
    pub const fn new(name: &'static str) -> ContextVar<T> {
        ContextVar {
            name,
            id: AtomicU64::new(0),
            _value: PhantomData,
        }
    }

    /// The variable's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn id(&self) -> u64 {
        let id = self.id.load(Ordering::Acquire);
        if id != 0 {
            return id;
        }
        let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        match self
            .id
            .compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => fresh,
            Err(existing) => existing,
        }
    }

    /// Run `future` with this variable bound to `value` (on top of the current context).
    /// Tasks spawned inside inherit the binding.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> impl Future<Output = F::Output> {
        let context = ContextSnapshot::current().with(self.id(), Arc::new(value));
        run_in(context, future)
    }

    /// Call `f` with the variable's value in the current context, if bound.
    pub fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        let id = self.id();
        CURRENT_CONTEXT.with_borrow(|c| {
            f(c.as_ref()
                .and_then(|c| c.get(id))
                .and_then(|v| v.downcast_ref::<T>()))
        })
    }

    /// The variable's value in the current context — `ContextVar.get()`.
    pub fn get(&self) -> Option<T>
    where
        T: Clone,
    {
        self.with(|v| v.cloned())
    }

    /// Rebind the variable for the rest of the current scope — `ContextVar.set()`. Tasks
    /// spawned afterwards inherit the new value; the parent's and earlier children's copies
    /// are unaffected.
    ///
    /// # Panics
    /// Outside a scope (no [`ContextVar::scope`], [`ContextSnapshot::run`] or task spawned from one
    /// encloses this call): unlike asyncio, a tempo task has no context of its own until
    /// one is given to it, so there is nowhere to store the value.
    pub fn set(&self, value: T) {
        let id = self.id();
        CURRENT_CONTEXT.with_borrow_mut(|c| match c {
            Some(context) => context.set(id, Arc::new(value)),
            None => panic!(
                "tempo: ContextVar::set({:?}) outside a context scope: wrap the task in \
                 ContextVar::scope or ContextSnapshot::run first",
                self.name
            ),
        })
    }
}

impl<T> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextVar")
            .field("name", &self.name)
            .finish()
    }
}
