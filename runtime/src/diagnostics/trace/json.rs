//! Writing Chrome trace-event JSON by hand: string literals with their escapes, and times.
//!
//! The runtime depends on no JSON library, and needs very little of JSON: objects with
//! string and number members, written in one pass. What can go wrong is a string — a task's
//! name is the user's — so [`string`] follows RFC 8259 §7 exactly: `"` and `\` escaped,
//! every control character below U+0020 escaped (`\n`, `\t`, … or `\u00XX`), everything
//! else written as the UTF-8 it already is.

use std::io::{self, Write};

/// Write `s` as a JSON string literal, quotes included.
pub(super) fn string(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let mut plain = 0; // start of the run of bytes that need no escape
    for (i, byte) in s.bytes().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.write_all(&s.as_bytes()[plain..i])?;
        if escape.is_empty() {
            write!(out, "\\u{byte:04x}")?;
        } else {
            out.write_all(escape)?;
        }
        plain = i + 1;
    }
    out.write_all(&s.as_bytes()[plain..])?;
    out.write_all(b"\"")
}

/// Write a time or duration given in nanoseconds as the trace format's microseconds, with
/// all three decimals: `1234567` → `1234.567`. Exact, and the same for the same input.
pub(super) fn micros(out: &mut impl Write, nanos: u64) -> io::Result<()> {
    write!(out, "{}.{:03}", nanos / 1000, nanos % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s).expect("writing to a Vec");
        String::from_utf8(out).expect("escaping keeps UTF-8")
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters_only() {
        assert_eq!(quoted("async sleep 1"), r#""async sleep 1""#);
        assert_eq!(quoted(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(quoted("1\n2\t3\r\u{8}\u{c}"), r#""1\n2\t3\r\b\f""#);
        assert_eq!(quoted("\u{0}\u{1f}"), r#""\u0000\u001f""#);
        assert_eq!(quoted("zeit→µs ✓ 🦀"), "\"zeit→µs ✓ 🦀\"");
        assert_eq!(quoted("\u{7f}"), "\"\u{7f}\"");
    }

    #[test]
    fn times_are_microseconds_with_three_decimals() {
        let written = |nanos| {
            let mut out = Vec::new();
            micros(&mut out, nanos).expect("writing to a Vec");
            String::from_utf8(out).expect("ASCII")
        };
        assert_eq!(written(0), "0.000");
        assert_eq!(written(999), "0.999");
        assert_eq!(written(1_234_567), "1234.567");
    }
}
