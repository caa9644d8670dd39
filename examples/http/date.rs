//! The `Date` header: the current time as an RFC 7231 IMF-fixdate
//! (`Sun, 06 Nov 1994 08:49:37 GMT`), computed from `SystemTime` with no date crate.
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

/// Day names, indexed by days since a Sunday.
const DAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
/// Month names, indexed by month - 1.
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

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

/// Formats `secs` since the Unix epoch as an IMF-fixdate. Years past 9999 do not fit the
/// format's four digits; they wrap (a clock that far off has bigger problems).
pub fn format(secs: u64) -> [u8; DATE_LEN] {
    let days = secs / 86_400;
    let in_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = ((days + 4) % 7) as usize;

    let mut out = *b"Ddd, DD Mmm YYYY hh:mm:ss GMT";
    out[0..3].copy_from_slice(DAYS[weekday]);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[month as usize - 1]);
    two_digits(&mut out[12..14], year / 100 % 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], in_day / 3600);
    two_digits(&mut out[20..22], in_day / 60 % 60);
    two_digits(&mut out[23..25], in_day % 60);
    out
}

/// Writes `n` (below 100) as two ASCII digits.
fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// (year, month 1–12, day 1–31) of the day `days` after 1970-01-01, in the proleptic
/// Gregorian calendar.
///
/// Howard Hinnant's `civil_from_days` ("chrono-Compatible Low-Level Date Algorithms"),
/// unsigned because we never go before 1970. It counts in 400-year eras that start on
/// 1 March, so that the leap day is the last day of its year and falls out of the arithmetic.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Days since 0000-03-01; 719 468 is the days from then to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097; // days in 400 years
    let day_of_era = z % 146_097; // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11], 0 = March
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    // January and February belong to the era-year that started the March before.
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
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

    /// Every day for 1 000 years follows the one before: day of month, month and year roll
    /// over exactly when they should, and the weekday cycles.
    #[test]
    fn consecutive_days_count_up() {
        let mut prev = civil_from_days(0);
        assert_eq!(prev, (1970, 1, 1));
        for days in 1..366 * 1_000 {
            let (y, m, d) = civil_from_days(days);
            let (py, pm, pd) = prev;
            let same_month = (y, m) == (py, pm) && d == pd + 1;
            let next_month = y == py && m == pm + 1 && d == 1 && pd >= 28;
            let next_year = y == py + 1 && (m, d) == (1, 1) && (pm, pd) == (12, 31);
            assert!(
                same_month || next_month || next_year,
                "day {days}: {prev:?} then {:?}",
                (y, m, d)
            );
            if m == 2 && d == 29 {
                assert!(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0), "29 Feb {y}");
            }
            prev = (y, m, d);
        }
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
