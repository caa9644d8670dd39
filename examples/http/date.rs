//! The `Date` header: the current time as an RFC 7231 IMF-fixdate
//! (`Sun, 06 Nov 1994 08:49:37 GMT`), formatted by the `httpdate` crate.
//!
//! HTTP wants a `Date` on every response, and a busy server answers many requests within the
//! same second, so we format the date once per second and reuse the bytes: a [`DateCache`]
//! remembers the second it last formatted. One cache per worker thread ([`now`] keeps it in
//! a thread-local) means no locks and no sharing between workers; each formats at most one
//! date a second.
//!
//! Shared by `http_hello` and any benchmark harness that includes it with
//! `#[path = ".../http/date.rs"] mod date;`.

#![allow(
    dead_code,
    reason = "shared by several programs, each of which uses part of it"
)]

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes in an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

thread_local! {
    /// This thread's cache: every connection a worker serves shares it.
    static CACHE: RefCell<DateCache> = const { RefCell::new(DateCache::new()) };
}

/// The `Date` value for now, from this thread's cache: formatted at most once per second.
pub fn now() -> [u8; DATE_LEN] {
    CACHE.with_borrow_mut(|cache| *cache.at(SystemTime::now()))
}

/// The last date formatted, and the second it names.
pub struct DateCache {
    /// Seconds since the Unix epoch that `text` shows; `u64::MAX` until first used.
    second: u64,
    /// `second` as an IMF-fixdate.
    text: [u8; DATE_LEN],
}

impl DateCache {
    /// An empty cache: the first [`at`](DateCache::at) formats.
    pub const fn new() -> DateCache {
        DateCache {
            second: u64::MAX,
            text: [0; DATE_LEN],
        }
    }

    /// The IMF-fixdate of `time`, formatted only if its second differs from the last one
    /// asked for. A time before 1970 (a badly set clock) shows as the epoch.
    pub fn at(&mut self, time: SystemTime) -> &[u8; DATE_LEN] {
        let second = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if second != self.second {
            self.text = format(second);
            self.second = second;
        }
        &self.text
    }
}

/// Formats `secs` since the Unix epoch as an IMF-fixdate, with `httpdate`. Years past 9999
/// do not fit the format's four digits: such a time shows as the last second of 9999 (a
/// clock that far off has bigger problems).
pub fn format(secs: u64) -> [u8; DATE_LEN] {
    const LAST: u64 = 253_402_300_799; // 9999-12-31 23:59:59
    let time = UNIX_EPOCH + std::time::Duration::from_secs(secs.min(LAST));
    let text = httpdate::fmt_http_date(time);
    let mut out = [0; DATE_LEN];
    out.copy_from_slice(text.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn text(secs: u64) -> String {
        String::from_utf8(format(secs).to_vec()).expect("ASCII")
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(text(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // RFC 7231's own example.
        assert_eq!(text(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(text(1_795_244_400), "Sat, 21 Nov 2026 07:00:00 GMT");
        // A leap day, the last second of a century's last day, and the day after the
        // 28th of February in 2100, which is not a leap year.
        assert_eq!(text(951_868_799), "Tue, 29 Feb 2000 23:59:59 GMT");
        assert_eq!(text(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
        assert_eq!(text(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
        assert_eq!(text(253_402_300_799), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    /// A time past the format's four-digit years shows as the last second it can name.
    #[test]
    fn a_time_past_9999_shows_as_its_last_second() {
        assert_eq!(text(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn cache_formats_once_per_second() {
        let mut cache = DateCache::new();
        let base = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(cache.at(base), b"Sun, 06 Nov 1994 08:49:37 GMT");
        // Within the same second the cached bytes come back: we poison them to tell.
        cache.text[0] = b'X';
        assert_eq!(cache.at(base + Duration::from_millis(999))[0], b'X');
        // The next second formats again.
        assert_eq!(
            cache.at(base + Duration::from_secs(1)),
            b"Sun, 06 Nov 1994 08:49:38 GMT"
        );
        // A clock set before 1970 shows the epoch.
        assert_eq!(
            cache.at(UNIX_EPOCH - Duration::from_secs(5)),
            b"Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }
}
