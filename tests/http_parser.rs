//! Properties of `examples/http/parser.rs`, checked on generated requests with proptest.
//!
//! httparse checks the syntax; what we test here is the parser as a whole, and above all
//! what stays ours — framing, limits, the target forms, and how many bytes a request
//! consumed, which pipelining rests on:
//!
//! 1. arbitrary bytes never make it panic, and it never claims more bytes than it was
//!    given;
//! 2. a complete parse depends on no byte after the head: the head alone, or the head
//!    followed by anything, parses to the same request and the same length;
//! 3. every valid request the generator builds (methods, the four target forms, header
//!    names and values with obs-text, `Content-Length` bodies, `Connection` options,
//!    HTTP/1.0 and 1.1, CRLF or bare LF) parses back exactly, and every proper prefix of
//!    its head is `Partial`;
//! 4. every invalid one, made by changing a valid one in a way known to break it, is
//!    refused with the error the server's status code comes from (`Malformed`: 400,
//!    `TooLarge`: 431);
//! 5. several requests sent back to back and cut into reads at arbitrary points come out
//!    one by one, in order, with their bodies skipped, as `http_hello` reads them.
//!
//! A request is described by [`Valid`], a model that knows what the parser should find
//! in it without parsing anything; [`Valid::render`] writes its bytes.
//!
//! Case counts are kept small (see [`config`]) so the whole file runs in a few seconds in a
//! debug build. The parser's own example-based tests (its `mod tests`) are compiled into
//! this binary too, by the `#[path]` include, and run here a second time; they are fast.

#[path = "../examples/http/parser.rs"]
mod parser;

use parser::{Body, Form, MAX_HEAD, MAX_HEADERS, ParseError, Request, Status, Version};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Cases per property: enough to cover every generator branch many times over, few
/// enough that a debug build runs the file in seconds.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // A failing case is shrunk to a small one; bound the search so a failure is
        // reported in seconds too.
        max_shrink_iters: 2_000,
        // No regression files written into the source tree: a failure prints its
        // minimal input, which belongs in a named test of its own.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// What a request is, and what the parser should find in it
// ---------------------------------------------------------------------------------------

/// A request the generator built, with everything the parser should report about it.
#[derive(Clone, Debug)]
struct Valid {
    /// Empty lines before the request line (RFC 9112 §2.2), each `\r\n` or `\n`.
    leading: Vec<&'static str>,
    /// The method, as sent.
    method: String,
    /// The request target, as sent.
    target: String,
    /// Its form, and the path and authority a reader of the RFC finds in it.
    form: Form,
    /// The path to route on.
    path: String,
    /// The authority of an absolute-form target.
    authority: Option<String>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    version: Version,
    /// Sent instead of the version, to break the request; `None` in a valid one.
    bad_version: Option<&'static str>,
    /// The header lines in the order sent: name, the value as sent (with any whitespace
    /// around it), and the value the parser should return (without it).
    headers: Vec<(String, Vec<u8>, Vec<u8>)>,
    /// For each line, whether it ends with a bare LF rather than CRLF (cycled if short).
    bare_lf: Vec<bool>,
    /// The body bytes, as many as `Content-Length` says.
    body: Vec<u8>,
}

/// What the parser reported about a request, owned, so two parses can be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Parsed {
    /// `Request::method`.
    method: Vec<u8>,
    /// `Request::target`.
    target: Vec<u8>,
    /// `Request::form`.
    form: Form,
    /// `Request::path()`.
    path: Vec<u8>,
    /// `Request::host`.
    host: Option<Vec<u8>>,
    /// `Request::version`.
    version: Version,
    /// `Request::body`.
    body: Body,
    /// `Request::connection_close`.
    connection_close: bool,
    /// `Request::connection_keep_alive`.
    connection_keep_alive: bool,
    /// `Request::keep_alive()`.
    keep_alive: bool,
    /// `Request::headers()`, as (name, value) pairs.
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Parsed {
    /// Copies out what `request` borrows from its buffer.
    fn of(request: &Request<'_>) -> Parsed {
        Parsed {
            method: request.method.to_vec(),
            target: request.target.to_vec(),
            form: request.form,
            path: request.path().to_vec(),
            host: request.host.map(<[u8]>::to_vec),
            version: request.version,
            body: request.body,
            connection_close: request.connection_close,
            connection_keep_alive: request.connection_keep_alive,
            keep_alive: request.keep_alive(),
            headers: request
                .headers()
                .iter()
                .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
                .collect(),
        }
    }
}

impl Valid {
    /// The bytes of the request: head, then body.
    fn render(&self) -> Vec<u8> {
        let mut out = self.head();
        out.extend_from_slice(&self.body);
        out
    }

    /// The bytes of the head alone, up to and including its empty line.
    fn head(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in &self.leading {
            out.extend_from_slice(line.as_bytes());
        }
        let mut eol = self.bare_lf.iter().cycle();
        let mut end_line = |out: &mut Vec<u8>| {
            let bare = eol.next().copied().unwrap_or(false);
            out.extend_from_slice(if bare { b"\n" } else { b"\r\n" });
        };
        let version = match (self.bad_version, self.version) {
            (Some(bad), _) => bad,
            (None, Version::Http10) => "HTTP/1.0",
            (None, Version::Http11) => "HTTP/1.1",
        };
        out.extend_from_slice(format!("{} {} {version}", self.method, self.target).as_bytes());
        end_line(&mut out);
        for (name, sent, _) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
            out.extend_from_slice(sent);
            end_line(&mut out);
        }
        end_line(&mut out);
        out
    }

    /// The values of the headers called `name`, as the parser should return them.
    fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> {
        self.headers
            .iter()
            .filter(move |(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, _, value)| value.as_slice())
    }

    /// Whether some `Connection` header lists `option`.
    fn connection_lists(&self, option: &str) -> bool {
        self.values("connection").any(|value| {
            value
                .split(|&b| b == b',')
                .any(|o| o.trim_ascii().eq_ignore_ascii_case(option.as_bytes()))
        })
    }

    /// What the parser should report: worked out from how the request was built.
    fn expected(&self) -> Parsed {
        let close = self.connection_lists("close");
        let keep = self.connection_lists("keep-alive");
        let body = if self.values("transfer-encoding").next().is_some() {
            Body::TransferEncoded
        } else if self.values("content-length").next().is_some() {
            Body::Length(self.body.len() as u64)
        } else {
            Body::None
        };
        let host = match &self.authority {
            Some(authority) => Some(authority.as_bytes().to_vec()),
            None => self.values("host").next().map(<[u8]>::to_vec),
        };
        Parsed {
            method: self.method.as_bytes().to_vec(),
            target: self.target.as_bytes().to_vec(),
            form: self.form,
            path: self.path.as_bytes().to_vec(),
            host,
            version: self.version,
            body,
            connection_close: close,
            connection_keep_alive: keep,
            keep_alive: match self.version {
                Version::Http11 => !close,
                Version::Http10 => keep && !close,
            },
            headers: self
                .headers
                .iter()
                .map(|(n, _, v)| (n.as_bytes().to_vec(), v.clone()))
                .collect(),
        }
    }

    /// Adds a header line, sent as is, before the `at`th (after the last if there are
    /// not that many).
    fn insert(&mut self, at: usize, name: &str, value: &[u8]) {
        let at = at.min(self.headers.len());
        let trimmed = trim_ows(value).to_vec();
        self.headers
            .insert(at, (name.to_string(), value.to_vec(), trimmed));
    }

    /// Adds a header line, sent as is, at a place `at` picks among all the places.
    fn insert_anywhere(&mut self, at: Index, name: &str, value: &[u8]) {
        self.insert(at.index(self.headers.len() + 1), name, value);
    }

    /// Removes the header lines called `name`.
    fn remove(&mut self, name: &str) {
        self.headers
            .retain(|(n, _, _)| !n.eq_ignore_ascii_case(name));
    }
}

/// `bytes` without the spaces and tabs around it: what a field value loses (RFC 9110
/// §5.5).
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !ows(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Parses `buf`; panics unless it is one complete request. Returns it and its length.
fn complete(buf: &[u8]) -> (Parsed, usize) {
    match parser::parse(buf) {
        Ok(Status::Complete(request, n)) => (Parsed::of(&request), n),
        other => panic!(
            "{:?}: expected a complete request, got {other:?}",
            String::from_utf8_lossy(buf)
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

/// Header names the server reads itself; generic headers avoid them, and the generator
/// adds them on purpose.
const STEERING: [&str; 4] = ["content-length", "transfer-encoding", "connection", "host"];

/// A method other than CONNECT: the usual ones, and any other token.
fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"
        ])
        .prop_map(String::from),
        "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,9}",
    ]
    .prop_filter("CONNECT takes the authority form", |m| m != "CONNECT")
}

/// An origin-form path (`/a/b`), from URI path characters.
fn path() -> impl Strategy<Value = String> {
    "(/[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,8}){1,4}"
}

/// An optional query, `?` included.
fn query() -> impl Strategy<Value = String> {
    prop_oneof!["", "\\?[A-Za-z0-9=&/?%._-]{0,12}"]
}

/// A host and optional port.
fn authority() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        "[a-z0-9]{1,10}(\\.[a-z]{2,6}){0,2}",
        Just("127.0.0.1".to_string()),
        Just("[::1]".to_string()),
    ];
    (host, prop_oneof!["", ":[0-9]{1,5}"]).prop_map(|(h, p)| h + &p)
}

/// The start of a request: method, target, form, the path to route on, and the
/// authority of an absolute target.
fn request_line() -> impl Strategy<Value = (String, String, Form, String, Option<String>)> {
    let origin = (method(), path(), query())
        .prop_map(|(m, p, q)| (m, format!("{p}{q}"), Form::Origin, p, None));
    let absolute = (
        method(),
        prop::sample::select(vec!["http", "https", "HTTP", "hTTpS"]),
        authority(),
        prop_oneof![Just(String::new()), path()],
        query(),
    )
        .prop_map(|(m, scheme, a, p, q)| {
            let target = format!("{scheme}://{a}{p}{q}");
            let route = if p.is_empty() { "/".to_string() } else { p };
            (m, target, Form::Absolute, route, Some(a))
        });
    let asterisk = Just((
        "OPTIONS".to_string(),
        "*".to_string(),
        Form::Asterisk,
        "*".to_string(),
        None,
    ));
    let connect = ("[a-z0-9.]{1,12}", 0u16..).prop_map(|(h, port)| {
        let target = format!("{h}:{port}");
        (
            "CONNECT".to_string(),
            target,
            Form::Authority,
            String::new(),
            None,
        )
    });
    prop_oneof![4 => origin, 2 => absolute, 1 => asterisk, 1 => connect]
}

/// A header value as sent, with optional whitespace around it, and as the parser should
/// return it: visible ASCII, obs-text (0x80–0xFF), inner spaces and tabs.
fn value() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let byte = prop_oneof![
        6 => 0x21u8..=0x7e,
        2 => 0x80u8..=0xff,
        1 => Just(b' '),
        1 => Just(b'\t'),
    ];
    let ows = prop::sample::select(vec!["", " ", "  ", "\t", " \t "]);
    (ows.clone(), vec(byte, 0..24), ows).prop_map(|(before, inner, after)| {
        let trimmed = trim_ows(&inner).to_vec();
        let sent = [before.as_bytes(), &inner, after.as_bytes()].concat();
        (sent, trimmed)
    })
}

/// A header the server does not read: a token name that is none of [`STEERING`].
fn generic_header() -> impl Strategy<Value = (String, Vec<u8>, Vec<u8>)> {
    ("[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,14}", value())
        .prop_filter("not a header the server reads", |(n, _)| {
            !STEERING.iter().any(|s| n.eq_ignore_ascii_case(s))
        })
        .prop_map(|(n, (sent, value))| (n, sent, value))
}

/// How the body is framed: nothing, `Content-Length` (once, or twice with the same value)
/// with that many bytes of body, or `Transfer-Encoding` (only where `chunked` is allowed).
#[derive(Clone, Debug)]
enum Framing {
    /// No body.
    None,
    /// `Content-Length: body.len()`, sent twice if `repeated`.
    Length {
        /// The body bytes.
        body: Vec<u8>,
        /// Whether the header is sent a second time, with the same value.
        repeated: bool,
    },
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// How a request's body is framed; `chunked` allows [`Framing::Chunked`].
fn framing(chunked: bool) -> impl Strategy<Value = Framing> {
    let length = (vec(any::<u8>(), 0..40), any::<bool>())
        .prop_map(|(body, repeated)| Framing::Length { body, repeated });
    let chunked = if chunked { 1 } else { 0 };
    prop_oneof![
        2 => Just(Framing::None),
        2 => length,
        chunked => Just(Framing::Chunked),
    ]
}

/// A whole valid request. `chunked`: whether it may have a `Transfer-Encoding` body (not
/// in a pipeline, whose next request could not be found after it).
fn valid(chunked: bool) -> impl Strategy<Value = Valid> {
    (
        request_line(),
        prop::sample::select(vec![Version::Http10, Version::Http11]),
        vec(prop::sample::select(vec!["\r\n", "\n"]), 0..3),
        vec(generic_header(), 0..12),
        // The Host header: absent, or a value; with its name in any case.
        proptest::option::of(("[Hh][Oo][Ss][Tt]", authority())),
        proptest::option::of((
            "[Cc][Oo][Nn][Nn][Ee][Cc][Tt][Ii][Oo][Nn]",
            prop::sample::select(vec![
                "close",
                "keep-alive",
                "Keep-Alive",
                "Upgrade",
                "upgrade, close",
                " keep-alive ,Upgrade",
                "closed",
            ]),
        )),
        framing(chunked),
        vec(any::<bool>(), 1..6),
        any::<[Index; 4]>(),
    )
        .prop_map(
            |(line, version, leading, headers, host, connection, framing, bare_lf, at)| {
                let (method, target, form, path, authority) = line;
                let mut request = Valid {
                    leading,
                    method,
                    target,
                    form,
                    path,
                    authority,
                    version,
                    bad_version: None,
                    headers,
                    bare_lf,
                    body: Vec::new(),
                };
                if let Some((name, value)) = host {
                    request.insert_anywhere(at[0], &name, value.as_bytes());
                }
                if let Some((name, value)) = connection {
                    request.insert_anywhere(at[1], &name, value.as_bytes());
                }
                match framing {
                    Framing::None => {}
                    Framing::Length { body, repeated } => {
                        let length = body.len().to_string();
                        request.insert_anywhere(at[2], "Content-Length", length.as_bytes());
                        if repeated {
                            request.insert_anywhere(at[3], "content-length", length.as_bytes());
                        }
                        request.body = body;
                    }
                    Framing::Chunked => {
                        request.insert_anywhere(at[2], "Transfer-Encoding", b"chunked");
                    }
                }
                request
            },
        )
}

/// A change that makes a valid request invalid, and the error it must be refused with.
#[derive(Clone, Debug)]
enum Breakage {
    /// Two `Content-Length`s that disagree (RFC 9112 §6.3).
    ConflictingLengths(u64, u64),
    /// `Content-Length` and `Transfer-Encoding` together (§6.1).
    LengthAndTransferEncoding(u64),
    /// A `Content-Length` that is not one decimal number that fits in a u64.
    BadLength(String),
    /// Any version but HTTP/1.0 and HTTP/1.1.
    BadVersion(&'static str),
    /// A control byte inside a header value.
    ControlInValue(u8, Index),
    /// A control byte (or a space) inside the target.
    ControlInTarget(u8),
    /// A byte over 0x7F inside the target: URIs are ASCII.
    NonAsciiTarget(u8),
    /// A byte that is not a token character inside the method.
    BadMethodByte(u8),
    /// Whitespace between a header name and its colon (§5.1).
    SpaceBeforeColon(Index),
    /// Two `Host` headers (§3.2).
    TwoHosts,
    /// `*` with a method other than OPTIONS, or `host:port` with one other than CONNECT.
    WrongMethodForTarget(&'static str),
    /// An absolute URI of a scheme we do not serve, or not a valid `http` URI.
    BadAbsoluteTarget(&'static str),
    /// More than `MAX_HEADERS` header lines: `extra` over the limit.
    TooManyHeaders(usize),
    /// A header value that takes the head past `MAX_HEAD` by `extra` bytes.
    HeadTooLong(usize),
    /// A target that takes the request line past `MAX_HEAD`.
    TargetTooLong(usize),
}

/// Any [`Breakage`], with the values it needs.
fn breakage() -> impl Strategy<Value = Breakage> {
    let control = prop_oneof![0u8..=0x08, 0x0au8..=0x1f, Just(0x7f)];
    prop_oneof![
        (0u64..1000, 1u64..1000).prop_map(|(a, d)| Breakage::ConflictingLengths(a, a + d)),
        (0u64..1000).prop_map(Breakage::LengthAndTransferEncoding),
        prop_oneof![
            Just(String::new()),
            "-[0-9]{1,5}",
            "\\+[0-9]{1,5}",
            "[0-9]{1,3} [0-9]{1,3}",
            "[0-9]{1,3}, ?[0-9]{1,3}",
            "0x[0-9a-f]{1,4}",
            "[0-9]{0,3}[a-z.][0-9]{0,3}",
            // u64::MAX + 1 and beyond: overflow.
            "1844674407370955161[6-9]",
            "[1-9][0-9]{20,30}",
        ]
        .prop_map(Breakage::BadLength),
        prop::sample::select(vec![
            "HTTP/1.2",
            "HTTP/2.0",
            "HTTP/0.9",
            "HTTP/2",
            "HTTP/1",
            "http/1.1",
            "HTTP/1.10",
            "HTTP/ 1.1",
            "HTTPS/1.1",
            "",
        ])
        .prop_map(Breakage::BadVersion),
        (control.clone(), any::<Index>()).prop_map(|(b, at)| Breakage::ControlInValue(b, at)),
        prop_oneof![0u8..=0x20, Just(0x7f)].prop_map(Breakage::ControlInTarget),
        (0x80u8..=0xff).prop_map(Breakage::NonAsciiTarget),
        prop_oneof![
            0u8..=0x20,
            Just(b'('),
            Just(b'/'),
            Just(b':'),
            Just(0x7f),
            0x80u8..=0xff
        ]
        .prop_map(Breakage::BadMethodByte),
        any::<Index>().prop_map(Breakage::SpaceBeforeColon),
        Just(Breakage::TwoHosts),
        prop::sample::select(vec![
            "GET *",
            "HEAD *",
            "POST *",
            "GET h:443",
            "OPTIONS h:80"
        ])
        .prop_map(Breakage::WrongMethodForTarget),
        prop::sample::select(vec![
            "ftp://h/",
            "ws://h/",
            "urn:isbn:0",
            "mailto:a@b",
            "http:/x",
            "http:///x",
            "http://:80/",
            "http://u@h/",
            "plaintext",
            "CONNECT /",
        ])
        .prop_map(Breakage::BadAbsoluteTarget),
        (0usize..4).prop_map(Breakage::TooManyHeaders),
        (0usize..3000).prop_map(Breakage::HeadTooLong),
        (0usize..100).prop_map(Breakage::TargetTooLong),
    ]
}

impl Breakage {
    /// `request` broken this way, rendered, and the error it must get.
    fn apply(&self, mut request: Valid) -> (Vec<u8>, ParseError) {
        use ParseError::{Malformed, TooLarge};
        let first = 0;
        let last = usize::MAX;
        let error = match self {
            Breakage::ConflictingLengths(a, b) => {
                request.remove("content-length");
                request.remove("transfer-encoding");
                request.insert(first, "Content-Length", a.to_string().as_bytes());
                request.insert(last, "Content-Length", b.to_string().as_bytes());
                Malformed
            }
            Breakage::LengthAndTransferEncoding(n) => {
                request.remove("content-length");
                request.remove("transfer-encoding");
                request.insert(first, "Content-Length", n.to_string().as_bytes());
                // Before or after the length, as `n` happens to be odd or even.
                let at = if n % 2 == 0 { first } else { last };
                request.insert(at, "Transfer-Encoding", b"chunked");
                Malformed
            }
            Breakage::BadLength(value) => {
                request.remove("content-length");
                request.remove("transfer-encoding");
                request.insert(first, "Content-Length", value.as_bytes());
                Malformed
            }
            Breakage::BadVersion(version) => {
                request.bad_version = Some(version);
                Malformed
            }
            Breakage::ControlInValue(byte, at) => {
                let value = [b'a', *byte, b'b'];
                request.insert_anywhere(*at, "X-Control", &value);
                Malformed
            }
            Breakage::ControlInTarget(byte) => {
                request.target.insert(1, char::from(*byte));
                Malformed
            }
            Breakage::NonAsciiTarget(byte) => {
                let mut head = request.render();
                let start = request.leading.iter().map(|l| l.len()).sum::<usize>();
                let target_at = start + request.method.len() + 2;
                head.insert(target_at, *byte);
                return (head, Malformed);
            }
            Breakage::BadMethodByte(byte) => {
                let mut head = request.render();
                let start = request.leading.iter().map(|l| l.len()).sum::<usize>();
                head.insert(start + 1, *byte);
                return (head, Malformed);
            }
            Breakage::SpaceBeforeColon(at) => {
                let at = at.index(request.headers.len() + 1);
                request
                    .headers
                    .insert(at, ("X-Spaced ".to_string(), b" v".to_vec(), b"v".to_vec()));
                Malformed
            }
            Breakage::TwoHosts => {
                request.remove("host");
                request.insert(first, "Host", b"a");
                request.insert(last, "host", b"b");
                Malformed
            }
            Breakage::WrongMethodForTarget(line) | Breakage::BadAbsoluteTarget(line) => {
                let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
                request.method = method.to_string();
                request.target = target.to_string();
                Malformed
            }
            Breakage::TooManyHeaders(extra) => {
                while request.headers.len() <= MAX_HEADERS + extra {
                    let n = request.headers.len();
                    request.insert(last, &format!("X-{n}"), b"v");
                }
                TooLarge
            }
            Breakage::HeadTooLong(extra) => {
                let pad = vec![b'p'; MAX_HEAD + extra];
                request.insert(first, "X-Pad", &pad);
                TooLarge
            }
            Breakage::TargetTooLong(extra) => {
                request.method = "GET".to_string();
                request.target = format!("/{}", "t".repeat(MAX_HEAD + extra));
                TooLarge
            }
        };
        (request.render(), error)
    }
}

// ---------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------

/// Bytes worth feeding the parser: arbitrary ones, and valid requests with a few bytes
/// changed or cut, which get further into it.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let damaged = (
        valid(true),
        vec((any::<Index>(), any::<u8>()), 0..4),
        any::<Index>(),
    )
        .prop_map(|(request, flips, cut)| {
            let mut bytes = request.render();
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let keep = cut.index(bytes.len() + 1);
            bytes.truncate(keep.max(bytes.len() / 2));
            bytes
        });
    prop_oneof![vec(any::<u8>(), 0..300), damaged]
}

proptest! {
    #![proptest_config(config(512))]

    /// 1 and 2: no panic; a complete parse claims no more than the buffer, and no more
    /// than `MAX_HEAD`; and it is the same parse with the bytes after it cut off or
    /// replaced.
    #[test]
    fn any_bytes_are_answered_without_panic_or_overreach(
        bytes in hostile_bytes(),
        after in vec(any::<u8>(), 0..64),
    ) {
        match parser::parse(&bytes) {
            Ok(Status::Complete(request, n)) => {
                prop_assert!(n <= bytes.len() && n <= MAX_HEAD);
                let parsed = Parsed::of(&request);
                prop_assert_eq!(complete(&bytes[..n]), (parsed.clone(), n));
                let other = [&bytes[..n], &after].concat();
                prop_assert_eq!(complete(&other), (parsed, n));
            }
            Ok(Status::Partial) => prop_assert!(bytes.len() < MAX_HEAD),
            Err(_) => {}
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// 3: a valid request parses back to what its model says, consuming exactly its
    /// head; anything after the head (its body, garbage) changes nothing.
    #[test]
    fn valid_requests_parse_back_exactly(
        request in valid(true),
        garbage in vec(any::<u8>(), 0..64),
    ) {
        let head = request.head();
        let expected = request.expected();
        prop_assert_eq!(complete(&head), (expected.clone(), head.len()));
        let mut bytes = request.render();
        bytes.extend_from_slice(&garbage);
        prop_assert_eq!(complete(&bytes), (expected, head.len()));
    }

    /// 3: every proper prefix of a valid head is `Partial`: a request may arrive cut at
    /// any byte, and the server must wait for the rest rather than refuse it.
    #[test]
    fn every_prefix_of_a_valid_head_is_partial(request in valid(true), cut in any::<Index>()) {
        let head = request.head();
        let cut = cut.index(head.len());
        prop_assert!(
            matches!(parser::parse(&head[..cut]), Ok(Status::Partial)),
            "{:?} cut at {}",
            String::from_utf8_lossy(&head),
            cut
        );
    }

    /// 4: a valid request broken in a known way is refused with the right error, and
    /// what follows it does not change that.
    #[test]
    fn invalid_requests_are_refused_with_the_right_error(
        request in valid(true),
        breakage in breakage(),
        garbage in vec(any::<u8>(), 0..32),
    ) {
        let (bytes, error) = breakage.apply(request);
        prop_assert_eq!(
            parser::parse(&bytes).map(|_| ()),
            Err(error),
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
        let followed = [&bytes[..], &garbage].concat();
        prop_assert_eq!(parser::parse(&followed).map(|_| ()), Err(error));
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// 5: requests written back to back and read in arbitrary pieces come out in order,
    /// each exactly once, their `Content-Length` bodies skipped — the loop of
    /// `http_hello`'s `answer_all`, with a buffer that grows instead of its 16 KiB one.
    #[test]
    fn pipelined_requests_split_anywhere_parse_in_order(
        requests in vec(valid(false), 1..6),
        cuts in vec(any::<Index>(), 0..8),
    ) {
        let stream: Vec<u8> = requests.iter().flat_map(Valid::render).collect();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        cuts.push(stream.len());
        cuts.sort_unstable();

        let mut buf = Vec::new();
        let mut start = 0;
        let mut skip = 0u64;
        let mut seen = Vec::new();
        let mut read_from = 0;
        for cut in cuts {
            // One read.
            buf.extend_from_slice(&stream[read_from..cut]);
            read_from = cut;
            loop {
                // `skip` is at most the bytes available, a buffer length.
                let skipped = skip.min((buf.len() - start) as u64);
                start += skipped as usize;
                skip -= skipped;
                if skip > 0 {
                    break;
                }
                match parser::parse(&buf[start..]) {
                    Ok(Status::Complete(request, n)) => {
                        seen.push(Parsed::of(&request));
                        start += n;
                        if let Body::Length(length) = request.body {
                            skip = length;
                        }
                    }
                    Ok(Status::Partial) => break,
                    Err(e) => {
                        return Err(TestCaseError::fail(format!(
                            "{e:?} at byte {start} of {:?}",
                            String::from_utf8_lossy(&stream)
                        )));
                    }
                }
            }
        }
        let expected: Vec<Parsed> = requests.iter().map(Valid::expected).collect();
        prop_assert_eq!(seen, expected);
        prop_assert_eq!((start, skip), (stream.len(), 0));
    }
}

// ---------------------------------------------------------------------------------------
// The loop callgrind measured
// ---------------------------------------------------------------------------------------

/// The loop behind the instruction counts in `parser.rs`'s module docs, kept as a test:
/// wrk's request and TechEmpower's each parse whole — every byte consumed, the path and
/// keep-alive read right — `HTTP_PARSE_LOOPS` times (default 1 000). For the counts, run
/// one request twice under callgrind with two loop counts; the difference, divided by the
/// difference in loops, is the cost of one parse with every fixed cost cancelled out:
///
/// ```text
/// cargo test --release --test http_parser --no-run   # prints the binary's path
/// HTTP_PARSE_LOOPS=100000 HTTP_PARSE_REQUEST=wrk valgrind --tool=callgrind \
///     target/release/deps/http_parser-HASH --exact the_measured_requests_parse_whole_again_and_again
/// ```
///
/// `HTTP_PARSE_REQUEST=tfb` parses only TechEmpower's longer request, `wrk` only wrk's.
#[test]
fn the_measured_requests_parse_whole_again_and_again() {
    /// What wrk sends for `wrk http://127.0.0.1:8080/plaintext`.
    const WRK: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
    /// TechEmpower's plaintext request, with the headers its load script sends.
    const TFB: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: server\r\nUser-Agent: Mozilla/5.0 \
        (X11; Linux x86_64) Gecko/20130501 Firefox/30.0 AppleWebKit/600.00 Chrome/30.0.0000.0 \
        Trident/10.0 Safari/600.00\r\nCookie: uid=12345678901234567890; \
        __utma=1.1234567890.1234567890.1234567890.1234567890.12; wd=2560x1600\r\n\
        Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
        Accept-Language: en-US,en;q=0.5\r\nConnection: keep-alive\r\n\r\n";
    let loops: usize = std::env::var("HTTP_PARSE_LOOPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let requests: &[&[u8]] = match std::env::var("HTTP_PARSE_REQUEST").as_deref() {
        Ok("tfb") => &[TFB],
        Ok("wrk") => &[WRK],
        _ => &[WRK, TFB],
    };
    for &request in requests {
        for _ in 0..loops {
            match parser::parse(std::hint::black_box(request)) {
                Ok(Status::Complete(r, used)) => {
                    assert_eq!(used, request.len(), "the whole head is consumed");
                    assert_eq!(r.path(), b"/plaintext");
                    assert!(r.keep_alive(), "HTTP/1.1 keeps the connection by default");
                }
                other => panic!("expected a complete request, got {other:?}"),
            }
        }
    }
}
