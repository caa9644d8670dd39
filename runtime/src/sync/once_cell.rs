//! [`OnceCell`]: a value set once, perhaps by an `async` initialiser that only one task runs
//! — tokio's `OnceCell`. asyncio code writes this by hand: a module-level `None`, an
//! `asyncio.Lock`, and "if it is still `None` under the lock, compute it".
//!
//! It is that, with the two halves tempo already has:
//!
//! - the value lives in a `std::sync::OnceLock`, which hands out `&T` once it is set and
//!   keeps this crate free of `unsafe`;
//! - the "lock" is a [`Semaphore`] with one permit. An initialiser holds the permit while
//!   its future runs; the others queue for it, first come first served. Once the value is
//!   set the semaphore is *closed*, which releases every queued initialiser at once: each
//!   finds the value and returns it without running its own.
//!
//! An initialiser that is cancelled (its future dropped) or panics drops its permit on the
//! way out, and the permit goes to the next queued caller, which runs *its* initialiser.
//! Nothing is set half-way: the value is stored only when an initialiser returns.
//!
//! ```text
//!   get_or_init ──value set?──► yes: &T
//!        │ no
//!        ▼
//!   acquire the permit ──closed──► &T (someone else set it)
//!        │ granted
//!        ▼
//!   value set meanwhile? ──► yes: &T      no: run init ──► set, close ──► &T
//!                                              └─ cancelled / panicked: permit to the next
//! ```

use std::fmt;
use std::future::Future;
use std::sync::OnceLock;

use super::semaphore::{Semaphore, SemaphorePermit, TryAcquireError};

/// A cell written once, readable through `&T` from then on; [`get_or_init`] runs one
/// asynchronous initialiser at a time until one succeeds.
///
/// Mirrors tokio's `OnceCell`. Its `const` constructor makes it a lazily initialised
/// `static` — a shared client, a connection pool, a configuration loaded once.
///
/// [`get_or_init`]: OnceCell::get_or_init
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
///
/// async fn config() -> &'static str {
///     CONFIG
///         .get_or_init(|| async {
///             tempo::task::yield_now().await; // a slow load, run by one task only
///             "debug=false".to_string()
///         })
///         .await
/// }
///
/// tempo::run(async {
///     let (a, b) = tempo::join!(config(), config());
///     assert_eq!((a, b), ("debug=false", "debug=false"));
///     assert!(CONFIG.initialized());
/// });
/// ```
pub struct OnceCell<T> {
    /// The value, once set.
    value: OnceLock<T>,
    /// One permit, held by whoever is initialising; closed once `value` is set.
    init: Semaphore,
}

impl<T> OnceCell<T> {
    /// An empty cell. Allocates nothing.
    pub fn new() -> OnceCell<T> {
        OnceCell::const_new()
    }

    /// An empty cell, in a `const` context: for a `static`.
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            value: OnceLock::new(),
            init: Semaphore::new(1),
        }
    }

    /// A cell holding `value` if it is `Some`, else empty.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// let cell = tempo::sync::OnceCell::new_with(Some(3));
    /// assert_eq!(cell.get(), Some(&3));
    /// ```
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(value) = value {
            let _ = cell.value.set(value);
            cell.init.close();
        }
        cell
    }

    /// True once a value is set.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, if it is set.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// The value, mutably, if it is set: `&mut self` proves nobody else looks.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut()
    }

    /// Set the value if the cell is empty and nobody is initialising it.
    ///
    /// Fails, giving the value back, with [`SetError::AlreadyInitializedError`] if it is
    /// set, or [`SetError::InitializingError`] if a `get_or_init` is running its
    /// initialiser now.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::sync::{OnceCell, SetError};
    ///
    /// let cell = OnceCell::new();
    /// assert_eq!(cell.set(1), Ok(()));
    /// assert_eq!(cell.set(2), Err(SetError::AlreadyInitializedError(2)));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.init.try_acquire() {
            Ok(permit) if !self.initialized() => {
                self.store(value, permit);
                Ok(())
            }
            Ok(_) | Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
        }
    }

    /// The value; if the cell is empty, run `init` to make it — one caller at a time, in
    /// the order they arrived, until one finishes. Every caller gets the value the first
    /// finished initialiser produced.
    ///
    /// **Cancellation safe:** dropping the future while it waits leaves the queue; dropping
    /// it (or panicking) while its `init` runs stores nothing and lets the next caller try.
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(value) = self.get() {
            return value;
        }
        match self.init.acquire().await {
            Ok(permit) => match self.get() {
                // Set between our check and our turn (`set` stores before it closes).
                Some(value) => value,
                None => self.store(init().await, permit),
            },
            // Closed: the value is set.
            Err(_) => self
                .get()
                .expect("the semaphore closes only once the value is set"),
        }
    }

    /// Like [`get_or_init`](OnceCell::get_or_init), for an initialiser that may fail: an
    /// `Err` is returned to this caller, nothing is stored, and the next caller tries.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::sync::OnceCell;
    ///
    /// tempo::run(async {
    ///     let cell = OnceCell::new();
    ///     let first: Result<&u32, &str> = cell.get_or_try_init(|| async { Err("down") }).await;
    ///     assert_eq!(first, Err("down"));
    ///     assert_eq!(cell.get_or_try_init(|| async { Ok::<_, &str>(7) }).await, Ok(&7));
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get() {
            return Ok(value);
        }
        match self.init.acquire().await {
            Ok(permit) => match self.get() {
                Some(value) => Ok(value),
                None => Ok(self.store(init().await?, permit)),
            },
            Err(_) => Ok(self
                .get()
                .expect("the semaphore closes only once the value is set")),
        }
    }

    /// The value, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }

    /// Take the value out, leaving the cell empty and ready to be initialised again.
    pub fn take(&mut self) -> Option<T> {
        let value = self.value.take();
        self.init = Semaphore::new(1);
        value
    }

    /// Store `value` — we hold the permit, so nobody else can — and release everyone
    /// queued: they find the value.
    fn store(&self, value: T, permit: SemaphorePermit<'_>) -> &T {
        if self.value.set(value).is_err() {
            unreachable!("only the permit's holder sets the value");
        }
        self.init.close();
        drop(permit); // to a closed semaphore, where nobody can take it
        self.get().expect("just set")
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> Self {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}

/// Why [`OnceCell::set`] failed; either way the value is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// A `get_or_init` is running its initialiser now.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// True for [`SetError::AlreadyInitializedError`].
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// True for [`SetError::InitializingError`].
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }

    /// The value that was not stored.
    pub fn into_inner(self) -> T {
        match self {
            SetError::AlreadyInitializedError(value) | SetError::InitializingError(value) => value,
        }
    }
}

// Debug without `T: Debug`, so that `.unwrap()` works on any value type.
impl<T> fmt::Debug for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError(..)"),
            SetError::InitializingError(_) => f.write_str("InitializingError(..)"),
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("the cell is already set"),
            SetError::InitializingError(_) => f.write_str("the cell is being initialised"),
        }
    }
}

impl<T> std::error::Error for SetError<T> {}
