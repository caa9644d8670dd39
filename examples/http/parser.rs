//! An HTTP/1.1 request-head parser that allocates nothing: `httparse` for the syntax, and
//! our own code for what decides how the connection goes on.
//!
//! A server reads bytes into a buffer it reuses for the whole connection, and calls
//! [`parse`] on the bytes it has not consumed yet. The answer is one of:
//!
//! - `Ok(Status::Complete(request, n))`: the first `n` bytes are one request head;
//!   `request` borrows its method, target and headers from the buffer. Any body (see
//!   [`Request::body`]) starts at byte `n`; the next request starts after the body.
//! - `Ok(Status::Partial)`: a valid start of a head, but not the end of one. Read more and
//!   call again with the longer buffer. (We parse from the start again; the head is at
//!   most [`MAX_HEAD`] bytes, so that costs little.)
//! - `Err(ParseError::Malformed)`: not a request we accept; answer 400 and close.
//! - `Err(ParseError::TooLarge)`: the head is over [`MAX_HEAD`] bytes or has over
//!   [`MAX_HEADERS`] header lines; answer 431 and close.
//!
//! Pipelining is the server calling [`parse`] again on the bytes after the first request
//! (and its body).
//!
//! # Who checks what
//!
//! [`httparse`](https://docs.rs/httparse) — the parser under hyper, fuzzed by its authors —
//! checks the grammar of RFC 9112 (HTTP/1.1 message syntax), without copying a byte:
//!
//! ```text
//! request-head = *empty-line request-line *( field-line ) empty-line
//! request-line = method SP request-target SP ( "HTTP/1.1" / "HTTP/1.0" ) EOL
//! field-line   = field-name ":" OWS field-value OWS EOL
//! EOL          = CRLF / LF        ; a bare LF is allowed (§2.2), a bare CR is not
//! ```
//!
//! It skips leading empty lines (§2.2: some clients send an extra CRLF after a body) and
//! rejects any other version, a method or field name that is not a token, whitespace
//! between a field name and its colon (§5.1 says a server MUST reject it), obsolete line
//! folding (a line that starts with a space), and control characters. It trims the
//! whitespace around a field value, and lets obs-text (bytes 0x80–0xFF) through in values.
//!
//! What stays ours, because it is policy rather than syntax, or because httparse leaves it
//! to its caller:
//!
//! - **limits**: a head over [`MAX_HEAD`] bytes is `TooLarge` as soon as that many bytes
//!   have arrived without its end (httparse has no limit; we give it at most `MAX_HEAD`
//!   bytes), and so is a 33rd header line (httparse fills the array we give it, which has
//!   [`MAX_HEADERS`] slots, and then says so);
//! - **framing** (§6): `Content-Length` must be digits only and fit in a `u64`; a second
//!   one must repeat the first; `Content-Length` with `Transfer-Encoding` is refused, the
//!   request-smuggling case of §6.1 ([`Body`]);
//! - **the request target** (§3.2): httparse returns it as sent; we tell its four forms
//!   apart ([`Form`]), find the path to route on, and refuse the forms a method may not
//!   use, and non-ASCII bytes (httparse lets UTF-8 through; a URI is ASCII);
//! - **the headers that steer the connection** — `Content-Length`, `Transfer-Encoding`,
//!   `Connection`, `Host` (only one allowed, §3.2) — are read once, right after parsing,
//!   so the server never scans the headers a second time.
//!
//! Why httparse rather than the hand-written parser this file held before: the same
//! answers, a parser that others fuzz, and fewer instructions. Measured with callgrind
//! (2026-12-02, release build), instructions per request — the difference between runs
//! of 200 000 and 100 000 parses, divided by 100 000 — for a loop that parses one request
//! and asks for its `path()` and `keep_alive()`, built as one small program around
//! either parser:
//!
//! ```text
//!                                               hand-written   httparse
//! wrk's request (Host only, 49 bytes)                  1 300      1 082
//! TechEmpower's request (6 headers, 414 bytes)         9 886      2 535
//! ```
//!
//! The same loop is `the_measured_requests_parse_whole_again_and_again` in
//! `tests/http_parser.rs`, which says how to run it; inside that test binary, compiled
//! differently, it counts 1 209 and 2 650 for httparse. About 120 of each figure are the copy of the 1 KiB [`Request`] (its
//! header array) on its way out; a parser that filled the caller's array would save
//! them, at the price of an API in which the request borrows two things.
//!
//! Shared by `http_hello` and the `versus` benchmark, which includes it with
//! `#[path = ".../http/parser.rs"] mod parser;`.

#![allow(
    dead_code,
    reason = "shared by several programs, each of which uses part of it"
)]

/// The longest request head we accept, in bytes, counting any empty lines before it, its
/// request line, its header lines and the empty line that ends it.
pub const MAX_HEAD: usize = 8 * 1024;
/// The most header lines a request may have.
pub const MAX_HEADERS: usize = 32;

/// A header line: `name` (a `&str`, as it was sent; compare it with
/// `eq_ignore_ascii_case`) and `value` (bytes, since a value may hold obs-text; without
/// the whitespace around it). httparse's own type, borrowed from the buffer.
pub type Header<'b> = httparse::Header<'b>;

/// What [`parse`] found at the start of the buffer.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "returned by value and matched at once; boxing would allocate per request"
)]
pub enum Status<'b> {
    /// A whole request head, and how many bytes of the buffer it took.
    Complete(Request<'b>, usize),
    /// The buffer holds the start of a head, and no error so far.
    Partial,
}

/// Why the bytes are not a request head we accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not a valid HTTP/1.0 or HTTP/1.1 request head: answer 400 Bad Request.
    Malformed,
    /// Over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] headers: answer 431 Request Header Fields
    /// Too Large.
    TooLarge,
}

/// The protocol version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: the connection closes after the response unless the client asked for
    /// `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1: the connection stays open unless someone says `Connection: close`.
    Http11,
}

/// How the request's body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// No body: no `Content-Length` and no `Transfer-Encoding`.
    None,
    /// `Content-Length: n`: the next `n` bytes after the head (may be 0).
    Length(u64),
    /// A `Transfer-Encoding` header (chunked, usually): the body runs until the encoding
    /// says it ends, which only decoding it can tell.
    TransferEncoded,
}

/// The four forms a request target takes (RFC 9112 §3.2). Which one a request may use
/// depends on its method; [`parse`] refuses the other combinations as `Malformed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `/path?query`: what nearly every request to an origin server uses.
    Origin,
    /// `http://host:port/path?query` (§3.2.2): what clients send to a proxy, and what a
    /// server MUST accept too. Only the `http` and `https` schemes, with a host; the
    /// request's [`Request::host`] is then the target's authority, and a `Host` header is
    /// ignored, as §3.2.2 asks.
    Absolute,
    /// `host:port` (§3.2.3): only with `CONNECT`, and only that for `CONNECT` — a request
    /// to open a tunnel through a proxy.
    Authority,
    /// `*` (§3.2.4): only with `OPTIONS`, asking about the server as a whole.
    Asterisk,
}

/// One parsed request head. Everything borrows from the buffer given to [`parse`].
#[derive(Debug)]
pub struct Request<'b> {
    /// The method, e.g. `GET`; case-sensitive (RFC 9110 §9.1).
    pub method: &'b [u8],
    /// The request target as sent: `/search?q=x`, `http://host/search?q=x`, `host:443`
    /// or `*`. See [`Request::path`] for the part to route on.
    pub target: &'b [u8],
    /// Which of the four forms `target` has.
    pub form: Form,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// How the body is framed.
    pub body: Body,
    /// The host the request is for: the authority of an absolute-form target, or else the
    /// `Host` header's value, if there was one.
    pub host: Option<&'b [u8]>,
    /// Some `Connection` header listed `close`.
    pub connection_close: bool,
    /// Some `Connection` header listed `keep-alive`.
    pub connection_keep_alive: bool,
    /// The path to route on, without the query: `/search` for `/search?q=x` and for
    /// `http://host/search?q=x`, `/` for `http://host`, `*` for `*`, empty for `host:443`.
    path: &'b [u8],
    /// The header lines, in order; httparse fills the first `header_count`.
    headers: [Header<'b>; MAX_HEADERS],
    /// How many of `headers` are filled.
    header_count: usize,
}

impl<'b> Request<'b> {
    /// The header lines, in the order sent.
    pub fn headers(&self) -> &[Header<'b>] {
        &self.headers[..self.header_count]
    }

    /// The value of the first header called `name`, compared case-insensitively as header
    /// names are (RFC 9110 §5.1).
    pub fn header(&self, name: &[u8]) -> Option<&'b [u8]> {
        self.headers()
            .iter()
            .find(|header| header.name.as_bytes().eq_ignore_ascii_case(name))
            .map(|header| header.value)
    }

    /// The path to route on: the target's path without its query (see the field's docs
    /// for each [`Form`]).
    pub fn path(&self) -> &'b [u8] {
        self.path
    }

    /// Whether the client wants the connection kept open after the response (RFC 9112
    /// §9.3): HTTP/1.1 unless it said `close`; HTTP/1.0 only if it said `keep-alive`.
    pub fn keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.connection_close,
            Version::Http10 => self.connection_keep_alive && !self.connection_close,
        }
    }
}

/// Parses the request head at the start of `buf`. See the module docs for what each
/// answer means. Looks at no byte past the end of the head it returns, nor past
/// [`MAX_HEAD`].
pub fn parse(buf: &[u8]) -> Result<Status<'_>, ParseError> {
    // httparse never looks past the bytes we give it, so handing it at most `MAX_HEAD`
    // bytes is the whole of the size limit: a head that ends inside the window is
    // complete, and a window that is full without an end is too large.
    let window = &buf[..buf.len().min(MAX_HEAD)];
    let mut request = Request {
        method: b"",
        target: b"",
        form: Form::Origin,
        version: Version::Http11,
        body: Body::None,
        host: None,
        connection_close: false,
        connection_keep_alive: false,
        path: b"",
        headers: [httparse::EMPTY_HEADER; MAX_HEADERS],
        header_count: 0,
    };
    // httparse's request borrows our header array only while it parses; what it returns
    // (the method, the target, the headers' contents) borrows from `buf`, so it outlives it.
    let mut head = httparse::Request::new(&mut request.headers);
    let used = match head.parse(window) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) if window.len() == MAX_HEAD => {
            return Err(ParseError::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(Status::Partial),
        Err(httparse::Error::TooManyHeaders) => return Err(ParseError::TooLarge),
        Err(_) => return Err(ParseError::Malformed),
    };
    // A complete parse sets all three; `Malformed` rather than a panic if one ever did not.
    let (Some(method), Some(target), Some(minor)) = (head.method, head.path, head.version) else {
        return Err(ParseError::Malformed);
    };
    request.header_count = head.headers.len();
    request.method = method.as_bytes();
    request.target = target.as_bytes();
    request.version = match minor {
        0 => Version::Http10,
        1 => Version::Http11,
        _ => return Err(ParseError::Malformed),
    };
    request.read_target()?;
    request.read_headers()?;
    Ok(Status::Complete(request, used))
}

impl<'b> Request<'b> {
    /// Tells the target's form from its first bytes and the method, and finds the path
    /// (RFC 9112 §3.2). httparse has checked that the target is one run of visible
    /// characters; we also refuse bytes over 0x7F, which it lets through as UTF-8.
    fn read_target(&mut self) -> Result<(), ParseError> {
        let target = self.target;
        if !target.is_ascii() {
            return Err(ParseError::Malformed);
        }
        // CONNECT names a `host:port` to tunnel to and nothing else (§3.2.3); the method
        // decides, since `localhost:443` would read as a URI of scheme `localhost` too.
        if self.method == b"CONNECT" {
            if !is_authority_form(target) {
                return Err(ParseError::Malformed);
            }
            self.form = Form::Authority;
            return Ok(());
        }
        match target {
            [b'/', ..] => {
                self.form = Form::Origin;
                self.path = without_query(target);
            }
            b"*" if self.method == b"OPTIONS" => {
                self.form = Form::Asterisk;
                self.path = target;
            }
            _ => {
                let (authority, path) = absolute_form_parts(target)?;
                self.form = Form::Absolute;
                self.path = path;
                // §3.2.2: the target's authority, not the Host header, names the host.
                self.host = Some(authority);
            }
        }
        Ok(())
    }

    /// Reads the headers that frame the request or steer the connection, in one pass.
    fn read_headers(&mut self) -> Result<(), ParseError> {
        let mut host_headers = 0;
        for header in &self.headers[..self.header_count] {
            let (name, value) = (header.name.as_bytes(), header.value);
            if name.eq_ignore_ascii_case(b"content-length") {
                let length = content_length(value)?;
                self.body = match self.body {
                    Body::None => Body::Length(length),
                    // Repeated with the same value is allowed (RFC 9112 §6.3, point 5).
                    Body::Length(earlier) if earlier == length => Body::Length(length),
                    Body::Length(_) | Body::TransferEncoded => {
                        return Err(ParseError::Malformed);
                    }
                };
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                self.body = match self.body {
                    Body::None | Body::TransferEncoded => Body::TransferEncoded,
                    Body::Length(_) => return Err(ParseError::Malformed),
                };
            } else if name.eq_ignore_ascii_case(b"connection") {
                // A comma-separated list of options: `Connection: keep-alive, Upgrade`.
                for option in value.split(|&b| b == b',').map(trim_ows) {
                    if option.eq_ignore_ascii_case(b"close") {
                        self.connection_close = true;
                    } else if option.eq_ignore_ascii_case(b"keep-alive") {
                        self.connection_keep_alive = true;
                    }
                }
            } else if name.eq_ignore_ascii_case(b"host") {
                // Two Host lines are refused whatever the target (§3.2); with an
                // absolute-form target a single one is ignored (§3.2.2).
                host_headers += 1;
                if host_headers > 1 {
                    return Err(ParseError::Malformed);
                }
                if self.form != Form::Absolute {
                    self.host = Some(value);
                }
            }
        }
        Ok(())
    }
}

/// `target` up to its `?`: `/search` for `/search?q=x`.
fn without_query(target: &[u8]) -> &[u8] {
    match target.iter().position(|&b| b == b'?') {
        Some(query) => &target[..query],
        None => target,
    }
}

/// Splits an absolute-form target, `http://authority/path?query`, into its authority and
/// the path to route on (`/` when the URI has none, as §3.2.2's example of `http://host`
/// asks). Only `http` and `https` are accepted, case-insensitively (RFC 3986 §3.1): an
/// origin server has nothing to say about `ftp` or `urn` resources. An empty host is
/// refused, as RFC 9110 §4.2.1 requires of `http` URIs, and so is userinfo
/// (`user@host`), which §4.2.4 says to treat as an error.
fn absolute_form_parts(target: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    let scheme_end = target
        .windows(3)
        .position(|w| w == b"://")
        .ok_or(ParseError::Malformed)?;
    let scheme = &target[..scheme_end];
    if !scheme.eq_ignore_ascii_case(b"http") && !scheme.eq_ignore_ascii_case(b"https") {
        return Err(ParseError::Malformed);
    }
    let rest = &target[scheme_end + 3..];
    let authority_end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.is_empty() || authority.starts_with(b":") || authority.contains(&b'@') {
        return Err(ParseError::Malformed);
    }
    let path = without_query(&rest[authority_end..]);
    Ok((authority, if path.is_empty() { b"/" } else { path }))
}

/// Whether `target` is `host:port` (RFC 9112 §3.2.3): a non-empty host without the
/// characters that would start a path, query or userinfo, a colon, and a decimal port.
fn is_authority_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&target[..colon], &target[colon + 1..]);
    !host.is_empty()
        && !host.iter().any(|b| b"/?#@".contains(b))
        && !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6): no sign, no spaces, no list, no overflow.
fn content_length(value: &[u8]) -> Result<u64, ParseError> {
    if value.is_empty() {
        return Err(ParseError::Malformed);
    }
    value.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(ParseError::Malformed);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(ParseError::Malformed)
    })
}

/// `bytes` without leading and trailing spaces and tabs (RFC 9110's OWS).
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMPLE: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    /// What wrk sends, more or less, and curl.
    const CURL: &[u8] = b"GET /plaintext?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\
        User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

    /// Parses `buf`, which must hold a whole request; returns it and the bytes it took.
    fn complete(buf: &[u8]) -> (Request<'_>, usize) {
        match parse(buf) {
            Ok(Status::Complete(request, n)) => (request, n),
            other => panic!(
                "{:?}: expected a complete request, got {other:?}",
                String::from_utf8_lossy(buf)
            ),
        }
    }

    /// The request's header lines as (name, value) pairs, to compare with literals.
    fn pairs<'b>(req: &Request<'b>) -> Vec<(&'b [u8], &'b [u8])> {
        req.headers()
            .iter()
            .map(|header| (header.name.as_bytes(), header.value))
            .collect()
    }

    /// Parses `buf`, which must be refused; returns why.
    fn error(buf: &[u8]) -> ParseError {
        match parse(buf) {
            Err(e) => e,
            Ok(other) => panic!(
                "{:?}: expected an error, got {other:?}",
                String::from_utf8_lossy(buf)
            ),
        }
    }

    #[test]
    fn simple_get() {
        let (req, n) = complete(SIMPLE);
        assert_eq!(n, SIMPLE.len());
        assert_eq!(req.method, b"GET");
        assert_eq!(req.target, b"/");
        assert_eq!(req.path(), b"/");
        assert_eq!(req.version, Version::Http11);
        assert_eq!(pairs(&req), [(&b"Host"[..], &b"example.com"[..])]);
        assert_eq!(req.host, Some(&b"example.com"[..]));
        assert_eq!(req.body, Body::None);
        assert!(req.keep_alive());

        let (req, n) = complete(CURL);
        assert_eq!(n, CURL.len());
        assert_eq!(req.target, b"/plaintext?x=1");
        assert_eq!(req.path(), b"/plaintext");
        assert_eq!(req.headers().len(), 3);
        assert_eq!(req.header(b"accept"), Some(&b"*/*"[..]));
    }

    /// Three requests in one buffer come out one at a time, each consuming exactly its
    /// own bytes, the last one followed by the start of a fourth.
    #[test]
    fn pipelined_requests() {
        let mut buf = Vec::new();
        buf.extend_from_slice(SIMPLE);
        buf.extend_from_slice(CURL);
        buf.extend_from_slice(b"HEAD /x HTTP/1.0\n\n");
        buf.extend_from_slice(b"GET / HT");

        let mut rest = &buf[..];
        let mut seen = Vec::new();
        while let Ok(Status::Complete(req, n)) = parse(rest) {
            seen.push((req.method.to_vec(), req.path().to_vec(), n));
            rest = &rest[n..];
        }
        assert_eq!(
            seen,
            [
                (b"GET".to_vec(), b"/".to_vec(), SIMPLE.len()),
                (b"GET".to_vec(), b"/plaintext".to_vec(), CURL.len()),
                (b"HEAD".to_vec(), b"/x".to_vec(), 18),
            ]
        );
        assert_eq!(rest, b"GET / HT");
        assert!(matches!(parse(rest), Ok(Status::Partial)));
    }

    /// Every proper prefix of a request is `Partial`: a request may arrive split at any
    /// byte, and the server must wait rather than reject it.
    #[test]
    fn split_at_every_byte() {
        for request in [SIMPLE, CURL, b"GET / HTTP/1.0\nConnection: keep-alive\n\n"] {
            for cut in 0..request.len() {
                assert!(
                    matches!(parse(&request[..cut]), Ok(Status::Partial)),
                    "{:?} cut at {cut}",
                    String::from_utf8_lossy(request)
                );
            }
            assert_eq!(complete(request).1, request.len());
        }
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let buf = b"\r\n\nGET / HTTP/1.1\r\n\r\n";
        let (req, n) = complete(buf);
        assert_eq!((req.target, n), (&b"/"[..], buf.len()));
        assert!(matches!(parse(b"\r\n\r\n"), Ok(Status::Partial)));
    }

    /// A head of exactly `MAX_HEAD` bytes is accepted; one byte more is `TooLarge`, as is
    /// a buffer of `MAX_HEAD` bytes with no end of head in sight.
    #[test]
    fn head_size_limit() {
        let head = |len: usize| {
            let start = b"GET / HTTP/1.1\r\nX-Pad: ";
            let end = b"\r\n\r\n";
            let mut buf = start.to_vec();
            buf.resize(len - end.len(), b'a');
            buf.extend_from_slice(end);
            buf
        };
        let at_limit = head(MAX_HEAD);
        assert_eq!(complete(&at_limit).1, MAX_HEAD);
        // With a following request in the buffer, still only the first is taken.
        let mut two = at_limit.clone();
        two.extend_from_slice(SIMPLE);
        assert_eq!(complete(&two).1, MAX_HEAD);

        assert_eq!(error(&head(MAX_HEAD + 1)), ParseError::TooLarge);
        // Unfinished: `Partial` up to the limit, `TooLarge` once it is reached.
        let endless = vec![b'a'; MAX_HEAD + 100];
        let mut unfinished = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
        unfinished.extend_from_slice(&endless);
        assert!(matches!(
            parse(&unfinished[..MAX_HEAD - 1]),
            Ok(Status::Partial)
        ));
        assert_eq!(error(&unfinished[..MAX_HEAD]), ParseError::TooLarge);
        assert_eq!(error(&unfinished), ParseError::TooLarge);
        // An endless request line too.
        let mut long_target = b"GET /".to_vec();
        long_target.extend_from_slice(&endless);
        assert_eq!(error(&long_target), ParseError::TooLarge);
    }

    #[test]
    fn header_count_limit() {
        let with_headers = |count: usize| {
            let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
            for i in 0..count {
                buf.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
            }
            buf.extend_from_slice(b"\r\n");
            buf
        };
        let most = with_headers(MAX_HEADERS);
        let (req, _) = complete(&most);
        assert_eq!(req.headers().len(), MAX_HEADERS);
        assert_eq!(pairs(&req)[MAX_HEADERS - 1], (&b"X-31"[..], &b"31"[..]));
        assert_eq!(error(&with_headers(MAX_HEADERS + 1)), ParseError::TooLarge);
    }

    #[test]
    fn malformed_request_lines() {
        for line in [
            &b"GET /\r\n"[..],                 // no version
            b"GET  / HTTP/1.1\r\n",            // two spaces: empty target
            b"GET / HTTP/1.1 \r\n",            // trailing space: bad version
            b" GET / HTTP/1.1\r\n",            // empty method
            b"G(T / HTTP/1.1\r\n",             // not a token
            b"GET /a\tb HTTP/1.1\r\n",         // control character in the target
            b"GET /\xc3\xa9 HTTP/1.1\r\n",     // non-ASCII target
            b"GET / HTTP/2.0\r\n",             // not HTTP/1.x
            b"GET / HTTP/1.2\r\n",             // nor another 1.x
            b"GET / http/1.1\r\n",             // the name is case-sensitive
            b"GET / HTTP/1.1\rHost: x\r\n",    // a bare CR
            b"hello\r\n",                      // not HTTP at all
            b"\x16\x03\x01\x02\x00\x01\x00\n", // a TLS hello, cut short
        ] {
            let mut buf = line.to_vec();
            buf.extend_from_slice(b"\r\n");
            assert_eq!(
                error(&buf),
                ParseError::Malformed,
                "{:?}",
                String::from_utf8_lossy(line)
            );
            // Rejected as soon as the line is complete: no need to wait for the head's end.
            // (Except for UTF-8 in the target: httparse lets it through, and we look at the
            // target once the head is whole.)
            if line.is_ascii() || !line.starts_with(b"GET /") {
                assert_eq!(error(line), ParseError::Malformed);
            }
        }
    }

    #[test]
    fn malformed_header_lines() {
        for header in [
            &b"Host example.com"[..], // no colon
            b": value",               // empty name
            b"Host : example.com",    // space before the colon
            b" Folded: line",         // obsolete line folding
            b"\tFolded: line",        // ditto
            b"Bad\x01Name: x",        // control character in the name
            b"X: a\x00b",             // NUL in the value
            b"X: a\rb",               // bare CR in the value
            b"X: \x7f",               // DEL in the value
        ] {
            let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
            buf.extend_from_slice(header);
            buf.extend_from_slice(b"\r\n\r\n");
            assert_eq!(
                error(&buf),
                ParseError::Malformed,
                "{:?}",
                String::from_utf8_lossy(header)
            );
        }
        // A colon inside the value, an empty value, obs-text and tabs are all fine.
        let buf = b"GET / HTTP/1.1\r\nHost: a:80\r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\
            X-Tab:\ta\tb\t\r\n\r\n";
        let (req, _) = complete(buf);
        assert_eq!(
            pairs(&req),
            [
                (&b"Host"[..], &b"a:80"[..]),
                (b"X-Empty", b""),
                (b"X-Latin", b"caf\xe9"),
                (b"X-Tab", b"a\tb"),
            ]
        );
    }

    #[test]
    fn header_names_are_case_insensitive() {
        let buf = b"GET / HTTP/1.1\r\nHOST: a\r\ncontent-LENGTH: 3\r\nCONNECTION: CLOSE\r\n\
            X-Mixed-Case: v\r\n\r\n";
        let (req, _) = complete(buf);
        assert_eq!(req.host, Some(&b"a"[..]));
        assert_eq!(req.body, Body::Length(3));
        assert!(req.connection_close);
        for name in [&b"x-mixed-case"[..], b"X-MIXED-CASE", b"X-Mixed-Case"] {
            assert_eq!(req.header(name), Some(&b"v"[..]));
        }
        assert_eq!(req.header(b"x-missing"), None);
        // Duplicate Host headers, whatever their case, are refused.
        assert_eq!(
            error(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
            ParseError::Malformed
        );
    }

    #[test]
    fn connection_header() {
        let keep_alive = |version: &str, connection: Option<&str>| {
            let mut buf = format!("GET / {version}\r\n");
            if let Some(value) = connection {
                buf.push_str(&format!("Connection: {value}\r\n"));
            }
            buf.push_str("\r\n");
            let (req, _) = complete(buf.as_bytes());
            req.keep_alive()
        };
        // HTTP/1.1 keeps the connection unless told to close it.
        assert!(keep_alive("HTTP/1.1", None));
        assert!(keep_alive("HTTP/1.1", Some("keep-alive")));
        assert!(keep_alive("HTTP/1.1", Some("Upgrade")));
        assert!(!keep_alive("HTTP/1.1", Some("close")));
        assert!(!keep_alive("HTTP/1.1", Some("Close")));
        assert!(!keep_alive("HTTP/1.1", Some("Upgrade, close")));
        assert!(!keep_alive("HTTP/1.1", Some(" upgrade ,  CLOSE ")));
        // `closed` is not `close`.
        assert!(keep_alive("HTTP/1.1", Some("closed")));
        // HTTP/1.0 closes unless asked to keep it.
        assert!(!keep_alive("HTTP/1.0", None));
        assert!(keep_alive("HTTP/1.0", Some("keep-alive")));
        assert!(keep_alive("HTTP/1.0", Some("Keep-Alive")));
        assert!(!keep_alive("HTTP/1.0", Some("keep-alive, close")));
        // Options may be spread over several Connection headers.
        let (req, _) =
            complete(b"GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n");
        assert!(req.connection_keep_alive && req.connection_close && !req.keep_alive());
    }

    #[test]
    fn content_length() {
        let body = |headers: &str| {
            let buf = format!("POST / HTTP/1.1\r\n{headers}\r\n");
            parse(buf.as_bytes()).map(|status| match status {
                Status::Complete(req, _) => req.body,
                Status::Partial => panic!("{headers:?}: partial"),
            })
        };
        assert_eq!(body(""), Ok(Body::None));
        assert_eq!(body("Content-Length: 0\r\n"), Ok(Body::Length(0)));
        assert_eq!(body("Content-Length: 13\r\n"), Ok(Body::Length(13)));
        assert_eq!(body("Content-Length:  007 \r\n"), Ok(Body::Length(7)));
        assert_eq!(
            body("Content-Length: 18446744073709551615\r\n"),
            Ok(Body::Length(u64::MAX))
        );
        assert_eq!(
            body("Content-Length: 5\r\nContent-Length: 5\r\n"),
            Ok(Body::Length(5))
        );
        assert_eq!(
            body("Transfer-Encoding: chunked\r\n"),
            Ok(Body::TransferEncoded)
        );
        for bad in [
            "Content-Length: \r\n",
            "Content-Length: -1\r\n",
            "Content-Length: +1\r\n",
            "Content-Length: 1 2\r\n",
            "Content-Length: 5, 5\r\n",
            "Content-Length: 0x10\r\n",
            "Content-Length: 18446744073709551616\r\n",
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        ] {
            assert_eq!(body(bad), Err(ParseError::Malformed), "{bad:?}");
        }
        // The body is not part of the head: `n` stops at the empty line.
        let buf = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET";
        let (req, n) = complete(buf);
        assert_eq!(req.body, Body::Length(5));
        assert_eq!(&buf[n..], b"helloGET");
    }

    /// The four target forms of RFC 9112 §3.2: what each routes on, and the host.
    #[test]
    fn target_forms() {
        let form = |buf: &'static [u8]| {
            let (req, _) = complete(buf);
            (req.form, req.path(), req.host)
        };
        let some = |host: &'static [u8]| Some(host);
        assert_eq!(
            form(b"GET /plaintext?x HTTP/1.1\r\nHost: h\r\n\r\n"),
            (Form::Origin, &b"/plaintext"[..], some(b"h"))
        );
        // Absolute form: the path of the URI, `/` if it has none; the host is the URI's
        // authority, whatever a Host header says, and none is needed.
        for (target, path, host) in [
            (&b"http://h/plaintext?x"[..], &b"/plaintext"[..], &b"h"[..]),
            (b"http://h", b"/", b"h"),
            (b"http://h?x=1", b"/", b"h"),
            (b"HTTPS://h:8443/a/b", b"/a/b", b"h:8443"),
            (b"http://[::1]:80/", b"/", b"[::1]:80"),
        ] {
            for host_header in ["", "Host: other\r\n"] {
                let buf = [
                    b"GET ",
                    target,
                    b" HTTP/1.1\r\n",
                    host_header.as_bytes(),
                    b"\r\n",
                ]
                .concat();
                let (req, n) = complete(&buf);
                assert_eq!(n, buf.len());
                assert_eq!(
                    (req.form, req.path(), req.host),
                    (Form::Absolute, path, Some(host)),
                    "{:?}",
                    String::from_utf8_lossy(&buf)
                );
            }
        }
        assert_eq!(
            form(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
            (Form::Asterisk, &b"*"[..], some(b"h"))
        );
        assert_eq!(
            form(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"),
            (Form::Authority, &b""[..], some(b"h:443"))
        );
        // Two Host lines are refused with an absolute target too.
        assert_eq!(
            error(b"GET http://h/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            ParseError::Malformed
        );
    }

    /// Targets a method may not use, schemes we do not serve, and URIs that are not
    /// valid `http` URIs are all 400.
    #[test]
    fn refused_targets() {
        for (method, target) in [
            ("GET", "*"),           // asterisk form is for OPTIONS only
            ("HEAD", "*"),          //
            ("OPTIONS", "**"),      // not the asterisk form at all
            ("GET", "h:443"),       // authority form is for CONNECT only
            ("CONNECT", "/"),       // and CONNECT takes nothing else
            ("CONNECT", "h"),       // a host without a port
            ("CONNECT", "h:"),      // an empty port
            ("CONNECT", ":443"),    // an empty host
            ("CONNECT", "u@h:443"), // userinfo
            ("GET", "ftp://h/"),    // schemes other than http and https
            ("GET", "urn:isbn:0"),  //
            ("GET", "http:/x"),     // no authority
            ("GET", "http:///x"),   // an empty host (RFC 9110 §4.2.1)
            ("GET", "http://:80/"), //
            ("GET", "http://u@h/"), // userinfo (RFC 9110 §4.2.4)
            ("GET", "plaintext"),   // a relative path
        ] {
            let buf = format!("{method} {target} HTTP/1.1\r\nHost: h\r\n\r\n");
            assert_eq!(error(buf.as_bytes()), ParseError::Malformed, "{buf:?}");
        }
    }

    #[test]
    fn trims_optional_whitespace() {
        assert_eq!(trim_ows(b" \t a b \t "), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"x"), b"x");
    }
}
