//! An HTTP/1.1 request-head parser that allocates nothing.
//!
//! A server reads bytes into a buffer it reuses for the whole connection, and calls
//! [`parse`] on the bytes it has not consumed yet. The answer is one of:
//!
//! - `Ok(Status::Complete(request, n))`: the first `n` bytes are one request head;
//!   `request` borrows its method, target and headers from the buffer. Any body (see
//!   [`Request::body`]) starts at byte `n`; the next request starts after the body.
//! - `Ok(Status::Partial)`: a valid start of a head, but not the end of one. Read more and
//!   call again with the longer buffer. (We parse from the start again; the
//!   head is at most [`MAX_HEAD`] bytes, so that costs little. A production parser such as
//!   httparse does the same.)
//! - `Err(ParseError::Malformed)`: not HTTP/1.x; answer 400 and close.
//! - `Err(ParseError::TooLarge)`: the head is over [`MAX_HEAD`] bytes or has over
//!   [`MAX_HEADERS`] header lines; answer 431 and close.
//!
//! Pipelining is the server calling [`parse`] again on the bytes after the first request.
//!
//! What we accept, from RFC 9112 (HTTP/1.1 message syntax):
//!
//! ```text
//! request-head = *empty-line request-line *( field-line ) empty-line
//! request-line = method SP request-target SP ( "HTTP/1.1" / "HTTP/1.0" ) EOL
//! field-line   = field-name ":" OWS field-value OWS EOL
//! EOL          = CRLF / LF        ; a bare LF is allowed (§2.2), a bare CR is not
//! ```
//!
//! and we reject, as `Malformed`: any other version, whitespace between a field name and its
//! colon (§5.1 says a server MUST reject it), obsolete line folding (a line that starts with
//! a space), control characters, an invalid or conflicting `Content-Length`, a request with
//! both `Content-Length` and `Transfer-Encoding` (the request-smuggling case of §6.1), and
//! two `Host` headers. Leading empty lines are skipped (§2.2). Headers that decide how the
//! connection goes on — `Content-Length`, `Transfer-Encoding`, `Connection`, `Host` — are
//! read while parsing, so the server never scans the headers a second time.
//!
//! Shared by `http_hello` and any benchmark harness that includes it with
//! `#[path = ".../http/parser.rs"] mod parser;`.

#![allow(
    dead_code,
    reason = "shared by several programs, each of which uses part of it"
)]

/// The longest request head we accept, in bytes, counting its request line, its header
/// lines and the empty line that ends it.
pub const MAX_HEAD: usize = 8 * 1024;
/// The most header lines a request may have.
pub const MAX_HEADERS: usize = 32;

/// A header: name and value, borrowed from the buffer. The value has no surrounding
/// whitespace; the name is as sent (compare it with `eq_ignore_ascii_case`).
pub type Header<'b> = (&'b [u8], &'b [u8]);

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

/// One parsed request head. Everything borrows from the buffer given to [`parse`].
#[derive(Debug)]
pub struct Request<'b> {
    /// The method, e.g. `GET`; case-sensitive (RFC 9110 §9.1).
    pub method: &'b [u8],
    /// The request target as sent: for the usual origin form, the path and query
    /// (`/search?q=x`). See [`Request::path`] for the path alone.
    pub target: &'b [u8],
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// How the body is framed.
    pub body: Body,
    /// The `Host` header's value, if there was one.
    pub host: Option<&'b [u8]>,
    /// Some `Connection` header listed `close`.
    pub connection_close: bool,
    /// Some `Connection` header listed `keep-alive`.
    pub connection_keep_alive: bool,
    /// The header lines, in order; only the first `header_count` are filled.
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
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, value)| value)
    }

    /// The target without its query: `/search` for `/search?q=x`.
    pub fn path(&self) -> &'b [u8] {
        match self.target.iter().position(|&b| b == b'?') {
            Some(query) => &self.target[..query],
            None => self.target,
        }
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
/// answer means.
pub fn parse(buf: &[u8]) -> Result<Status<'_>, ParseError> {
    let mut lines = Lines { buf, pos: 0 };

    // Empty lines before a request line are skipped (RFC 9112 §2.2): some clients send
    // an extra CRLF after a body.
    let request_line = loop {
        match lines.next()? {
            None => return Ok(Status::Partial),
            Some(b"") => continue,
            Some(line) => break line,
        }
    };
    let (method, target, version) = request_line_parts(request_line)?;
    let mut request = Request {
        method,
        target,
        version,
        body: Body::None,
        host: None,
        connection_close: false,
        connection_keep_alive: false,
        headers: [(b"", b""); MAX_HEADERS],
        header_count: 0,
    };

    loop {
        let line = match lines.next()? {
            None => return Ok(Status::Partial),
            // The empty line: the head is complete.
            Some(b"") => return Ok(Status::Complete(request, lines.pos)),
            Some(line) => line,
        };
        if request.header_count == MAX_HEADERS {
            return Err(ParseError::TooLarge);
        }
        let (name, value) = header_parts(line)?;
        request.note(name, value)?;
        request.headers[request.header_count] = (name, value);
        request.header_count += 1;
    }
}

impl<'b> Request<'b> {
    /// Takes in a header the server needs to frame the request or manage the connection.
    fn note(&mut self, name: &[u8], value: &'b [u8]) -> Result<(), ParseError> {
        if name.eq_ignore_ascii_case(b"content-length") {
            let length = content_length(value)?;
            self.body = match self.body {
                Body::None => Body::Length(length),
                // Repeated with the same value is allowed (RFC 9112 §6.3, point 5).
                Body::Length(earlier) if earlier == length => Body::Length(length),
                Body::Length(_) | Body::TransferEncoded => return Err(ParseError::Malformed),
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
            if self.host.is_some() {
                return Err(ParseError::Malformed);
            }
            self.host = Some(value);
        }
        Ok(())
    }
}

/// The lines of a head, one at a time, without their line endings.
struct Lines<'b> {
    /// The whole buffer.
    buf: &'b [u8],
    /// Where the next line starts; after the last line returned, the bytes consumed.
    pos: usize,
}

impl<'b> Lines<'b> {
    /// The next complete line; `None` if the buffer ends first. A line that would end past
    /// [`MAX_HEAD`] is `TooLarge`, whether or not its end has arrived.
    fn next(&mut self) -> Result<Option<&'b [u8]>, ParseError> {
        let window = &self.buf[..self.buf.len().min(MAX_HEAD)];
        let Some(newline) = window[self.pos..].iter().position(|&b| b == b'\n') else {
            return if self.buf.len() >= MAX_HEAD {
                Err(ParseError::TooLarge)
            } else {
                Ok(None)
            };
        };
        let line = &self.buf[self.pos..self.pos + newline];
        self.pos += newline + 1;
        // CRLF or a bare LF. A CR anywhere else is a control character, which the callers
        // reject.
        Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

/// Splits `method SP target SP version` and checks each part.
fn request_line_parts(line: &[u8]) -> Result<(&[u8], &[u8], Version), ParseError> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::Malformed);
    };
    if !is_token(method) || target.is_empty() || !target.iter().all(|&b| is_target_byte(b)) {
        return Err(ParseError::Malformed);
    }
    let version = match version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        _ => return Err(ParseError::Malformed),
    };
    Ok((method, target, version))
}

/// Splits `name: value` and checks each part; the value comes back trimmed.
fn header_parts(line: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::Malformed)?;
    let name = &line[..colon];
    // A name must be a token: that rejects an empty name, `Name : value` and a folded line
    // (which starts with whitespace), as RFC 9112 §5.1 and §5.2 ask.
    if !is_token(name) {
        return Err(ParseError::Malformed);
    }
    let value = trim_ows(&line[colon + 1..]);
    if !value.iter().all(|&b| is_value_byte(b)) {
        return Err(ParseError::Malformed);
    }
    Ok((name, value))
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

/// A token (RFC 9110 §5.6.2): one or more of ALPHA, DIGIT and ``!#$%&'*+-.^_`|~``.
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A byte of a request target: visible ASCII. (Targets are URIs, which are ASCII; we do not
/// check their finer grammar, which only the router cares about.)
fn is_target_byte(b: u8) -> bool {
    b.is_ascii_graphic()
}

/// A byte of a field value (RFC 9110 §5.5): visible ASCII, space, tab, or obs-text
/// (0x80–0xFF); no other control character, so no CR.
fn is_value_byte(b: u8) -> bool {
    b == b'\t' || b == b' ' || b.is_ascii_graphic() || b >= 0x80
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
        assert_eq!(req.headers(), [(&b"Host"[..], &b"example.com"[..])]);
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
        assert_eq!(req.headers()[MAX_HEADERS - 1], (&b"X-31"[..], &b"31"[..]));
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
            assert_eq!(error(line), ParseError::Malformed);
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
            req.headers(),
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

    #[test]
    fn trims_optional_whitespace() {
        assert_eq!(trim_ows(b" \t a b \t "), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"x"), b"x");
    }
}
