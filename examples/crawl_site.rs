//! The site the `crawler` lab crawls: an HTTP/1.1 server that makes up a small web of pages
//! from a seed — most of them quick, some slow, some failing, some never answering — so that
//! a crawler has every case the real web throws at it, on loopback, the same every run.
//!
//! ```text
//! cargo run --example crawl_site                              # 40 pages, seed 13, port 8013
//! cargo run --example crawl_site -- --pages 200 --seed 7 --addr 127.0.0.1:0
//! curl -i http://127.0.0.1:8013/                              # the front page: links
//! curl -i http://127.0.0.1:8013/page/3                        # whatever page 3 is
//! cargo run --example crawler -- --site 127.0.0.1:8013        # crawl it (see crawler.rs)
//! ```
//!
//! It is the lab's other half: reference seed 004 (`004_e8f93ab8424043a0.txt`, §13.3, "The
//! Crawler That Doesn't Lie") asks for a crawler with a 5-second per-request timeout whose
//! cancellation "propagates cleanly" to the request. A crawler can only be checked against
//! a site that *knows* what it served — so this one prints its plan, and says when a
//! client gave up on a page it never answered.
//!
//! What it prints: `listening on ADDR`, then the plan, then a line each time a page that
//! never answers is left by its client (or held to `--hold-secs`):
//!
//! ```text
//! listening on 127.0.0.1:8013
//! plan: pages=40 seed=13 fast=21 slow=9 status500=4 reset=2 hang=4
//! /page/17: the client closed the connection after 5.00 s, never answered
//! ```
//!
//! # The pages
//!
//! `/` is page 0, and `/page/K` page K, for K below `--pages` (default 40); anything else
//! is 404. Each page but the front one is, in fixed shares shuffled by `--seed`:
//!
//! - **fast** (the rest, and `/`): answered at once, `200 OK`, an HTML page of links;
//! - **slow** (a quarter): the same, after 100 to 400 ms (drawn from the seed);
//! - **status500** (a tenth): `500 Internal Server Error`;
//! - **reset** (a twentieth): the connection is reset (`SO_LINGER` 0, then close: the
//!   kernel sends RST), so the client's read fails with "connection reset";
//! - **hang** (a tenth): the request is read and never answered. The connection is held
//!   until the client closes it — which the site notices, since its read returns end of
//!   stream, and reports — or until `--hold-secs` (default 60) pass.
//!
//! Only the pages that answer 200 have links, so the web is drawn so that every page can
//! be reached from `/`: each page gets one link from an earlier answering page (a tree
//! rooted at `/`), and each answering page two more links to any page — repeats, cycles and
//! links back to `/`, which a crawler must visit only once. The front page also links off
//! the site, which a crawler must not follow. A crawler that visits every page once sees
//! `fast + slow` pages, `status500 + reset` errors and `hang` timeouts: the plan line.
//!
//! # What a client can make it hold
//!
//! As every server here (`common/server.rs` explains the skeleton): at most `--max-conns`
//! (default 512) connections at once, the surplus closed on accept; a request head within
//! 8 KiB and 32 headers (`http/parser.rs`, shared with `http_hello`), else 431; no request
//! bodies (413, or 501 for chunked); the whole request read within `--request-secs`
//! (default 10), and each answer written within it; a hanging page held at most
//! `--hold-secs`. Every answer says `Connection: close`: one request per connection, a
//! shortcut that keeps the crawler's client small (a production site keeps connections
//! alive, and `http_hello` shows how). Ctrl-C stops it gracefully, as `echo` does.
//!
//! The crawler can also run this site inside its own process (its default, so that one
//! command runs the lab): it includes this file as a module, and calls [`run_in_thread`].

#![allow(
    dead_code,
    reason = "crawler.rs includes this file as a module and uses only part of it"
)]

#[path = "http/parser.rs"]
mod parser;
#[path = "common/server.rs"]
pub mod server;

use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempo::net::{TcpListener, TcpStream};
use tempo::task::JoinSet;
use tempo::time::{sleep, timeout};

use parser::{Body, ParseError, Status};

/// Where we listen unless `--addr` says otherwise: loopback (13, for the seed's week).
const DEFAULT_ADDR: &str = "127.0.0.1:8013";
/// How many pages the site has unless `--pages` says otherwise.
pub const DEFAULT_PAGES: usize = 40;
/// The seed of the plan unless `--seed` says otherwise.
pub const DEFAULT_SEED: u64 = 13;
/// Connections at once before new ones are turned away.
const DEFAULT_MAX_CONNS: usize = 512;
/// How long a client has to send its whole request, and we to write the answer.
const DEFAULT_REQUEST: Duration = Duration::from_secs(10);
/// How long a hanging page holds its connection if the client does not give up first.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(60);
/// How long open connections get to finish once the site is asked to stop.
const GRACE: Duration = Duration::from_secs(1);
/// How long, and how many bytes, we read and discard after our answer (see `linger_close`).
const LINGER: Duration = Duration::from_secs(1);
/// ...and how many bytes at most; also what a hanging page discards before it gives up.
const LINGER_BYTES: usize = 64 * 1024;
/// The slow pages' delays: 100 ms plus up to this much more.
const SLOW_SPREAD_MS: u64 = 300;
/// Links each answering page gets besides the tree's.
const EXTRA_LINKS: usize = 2;

fn main() -> ExitCode {
    let args = match server::parse_args("crawl_site", USAGE, Args::parse) {
        Ok(args) => args,
        // `--help` (status 0) or a mistake in the flags (status 2), already reported.
        Err(status) => return status,
    };
    let runtime = match tempo::Builder::new().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("crawl_site: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crawl_site: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Listens, says so and prints the plan, then serves until Ctrl-C: the skeleton's
/// `serve`, with this file's connection task.
async fn serve(args: Args) -> io::Result<()> {
    let (listener, stop) = server::listen(&args.addr).await?;
    let site = Arc::new(Site {
        plan: Plan::new(args.pages, args.seed),
        request: args.request,
        hold: args.hold,
        prefix: "",
    });
    println!("{}", site.plan.summary());
    let config = server::Config {
        name: "crawl_site",
        max_conns: args.max_conns,
        grace: GRACE,
    };
    server::serve(listener, config, stop, |stream, _peer| {
        tempo::spawn(connection(stream, Arc::clone(&site)))
    })
    .await;
    Ok(())
}

/// Runs the site on a thread of its own, with its own one-worker runtime, on an ephemeral
/// loopback port; returns the port and the plan once it listens. Its lines go to stdout
/// after `prefix`. This is the crawler's in-process site: a separate loop on a separate
/// thread, so a crawler that blocks its own loop (`--block`) does not block the site.
///
/// Shortcut, labelled: the site serves until the process exits (it listens for no stop
/// signal, which would take Ctrl-C away from the crawler), and its thread is never joined.
pub fn run_in_thread(
    pages: usize,
    seed: u64,
    hold: Duration,
    prefix: &'static str,
) -> io::Result<(SocketAddr, String)> {
    let (ready, listening) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("crawl_site".into())
        .spawn(move || {
            let started = tempo::Builder::new().build().and_then(|runtime| {
                runtime.block_on(async {
                    let listener = TcpListener::bind("127.0.0.1:0").await?;
                    let site = Arc::new(Site {
                        plan: Plan::new(pages, seed),
                        request: DEFAULT_REQUEST,
                        hold,
                        prefix,
                    });
                    let _ = ready.send(Ok((listener.local_addr()?, site.plan.summary())));
                    serve_until(listener, site, std::future::pending::<()>()).await;
                    Ok(())
                })
            });
            if let Err(e) = started {
                let _ = ready.send(Err(e));
            }
        })?;
    listening
        .recv()
        .map_err(|_| io::Error::other("the site's thread ended before it listened"))?
}

/// The skeleton's accept loop, under the connection cap, until `stop` completes.
async fn serve_until(listener: TcpListener, site: Arc<Site>, stop: impl Future<Output = ()>) {
    let config = server::Config {
        name: "crawl_site",
        max_conns: DEFAULT_MAX_CONNS,
        grace: GRACE,
    };
    let mut conns = JoinSet::new();
    server::accept_until(&listener, config, &mut conns, stop, |stream, _peer| {
        tempo::spawn(connection(stream, Arc::clone(&site)))
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// The plan: which page is what, and what links where
// ---------------------------------------------------------------------------------------

/// What a page does when it is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 200 at once.
    Fast,
    /// 200 after this long.
    Slow(Duration),
    /// 500 Internal Server Error.
    Status500,
    /// The connection is reset instead of answered.
    Reset,
    /// Never answered.
    Hang,
}

impl Kind {
    /// Whether the page answers 200 (and so has links).
    fn answers(self) -> bool {
        matches!(self, Kind::Fast | Kind::Slow(_))
    }
}

/// The whole site: one entry per page, page 0 being `/`.
#[derive(Debug)]
pub struct Plan {
    /// The seed it was drawn from.
    seed: u64,
    /// What each page does.
    kinds: Vec<Kind>,
    /// The pages each page links to, in the order its HTML lists them.
    links: Vec<Vec<usize>>,
}

impl Plan {
    /// Draws a site of `pages` pages (at least 1) from `seed`. The same arguments give the
    /// same site, on every machine.
    pub fn new(pages: usize, seed: u64) -> Plan {
        let mut rng = SplitMix(seed);
        // The shares of each kind among the pages after `/`, rounded up so that even a
        // small site has one of each; what is left is fast.
        let rest = pages.saturating_sub(1);
        let mut kinds = Vec::with_capacity(pages);
        for (kind, count) in [
            (Kind::Hang, rest.div_ceil(10)),
            (Kind::Status500, rest.div_ceil(10)),
            (Kind::Reset, rest.div_ceil(20)),
            (Kind::Slow(Duration::ZERO), rest / 4),
        ] {
            kinds.extend(std::iter::repeat_n(kind, count));
        }
        kinds.truncate(rest);
        kinds.resize(rest, Kind::Fast);
        // Fisher–Yates, then each slow page its own delay.
        for i in (1..kinds.len()).rev() {
            kinds.swap(i, rng.below(i + 1));
        }
        for kind in &mut kinds {
            if let Kind::Slow(delay) = kind {
                *delay = Duration::from_millis(100 + rng.below(SLOW_SPREAD_MS as usize) as u64);
            }
        }
        kinds.insert(0, Kind::Fast);

        // The tree: each page linked from an earlier page that answers, so that all are
        // reachable from `/`. Then the extra links, anywhere.
        let mut links = vec![Vec::new(); pages];
        let mut answering = vec![0];
        for (page, kind) in kinds.iter().enumerate().skip(1) {
            let parent = answering[rng.below(answering.len())];
            links[parent].push(page);
            if kind.answers() {
                answering.push(page);
            }
        }
        for &page in &answering {
            for _ in 0..EXTRA_LINKS {
                links[page].push(rng.below(pages));
            }
        }
        Plan { seed, kinds, links }
    }

    /// How many pages.
    pub fn pages(&self) -> usize {
        self.kinds.len()
    }

    /// The page a request path names, if it names one.
    fn page_of(&self, path: &[u8]) -> Option<usize> {
        let page = match path {
            b"/" => 0,
            _ => std::str::from_utf8(path.strip_prefix(b"/page/")?)
                .ok()?
                .parse::<usize>()
                .ok()
                .filter(|&page| page > 0)?,
        };
        (page < self.pages()).then_some(page)
    }

    /// The one line that says what the site holds, for a crawler's summary to be checked
    /// against.
    pub fn summary(&self) -> String {
        let count = |want: fn(&Kind) -> bool| self.kinds.iter().filter(|k| want(k)).count();
        format!(
            "plan: pages={} seed={} fast={} slow={} status500={} reset={} hang={}",
            self.pages(),
            self.seed,
            count(|k| *k == Kind::Fast),
            count(|k| matches!(k, Kind::Slow(_))),
            count(|k| *k == Kind::Status500),
            count(|k| *k == Kind::Reset),
            count(|k| *k == Kind::Hang),
        )
    }

    /// Page `page`'s HTML: its links, as `<a href="/page/K">`.
    fn html(&self, page: usize) -> String {
        let mut html = format!("<!doctype html>\n<title>{}</title>\n<ul>\n", path(page));
        for &link in &self.links[page] {
            let _ = writeln!(html, "<li><a href=\"{0}\">{0}</a>", path(link));
        }
        if page == 0 {
            // Off the site: a crawler of this site must not follow it.
            html.push_str("<li><a href=\"https://example.invalid/elsewhere\">elsewhere</a>\n");
        }
        html.push_str("</ul>\n");
        html
    }
}

/// Page `page`'s path.
pub fn path(page: usize) -> String {
    match page {
        0 => "/".to_string(),
        _ => format!("/page/{page}"),
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a small generator whose output depends only
/// on the seed, which is all the plan needs. Not for anything that must be unpredictable.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0). The modulo's bias is immaterial here.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------
// One connection: one request, one answer (or none)
// ---------------------------------------------------------------------------------------

/// What every connection task shares: the plan and the limits.
struct Site {
    /// The pages.
    plan: Plan,
    /// How long to read the whole request, and to write the answer.
    request: Duration,
    /// How long a hanging page holds its connection.
    hold: Duration,
    /// What the site's lines start with (`"site: "` inside the crawler).
    prefix: &'static str,
}

/// What a request asked for, once read.
enum Asked {
    /// A page of the plan; `head` if the method was HEAD.
    Page { page: usize, head: bool },
    /// Something we answer with a fixed status and close.
    Refused(Refusal),
}

/// The answers that are not pages.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// 400: not a request we accept.
    BadRequest,
    /// 404: no such page.
    NotFound,
    /// 405: only GET and HEAD.
    MethodNotAllowed,
    /// 413: the request has a body; we take none.
    ContentTooLarge,
    /// 431: head over 8 KiB or 32 headers.
    HeadersTooLarge,
    /// 501: a chunked body.
    NotImplemented,
}

/// The task of one connection: read the request under the whole-request deadline, then do
/// what its page does.
async fn connection(mut stream: TcpStream, site: Arc<Site>) {
    let mut buf = [0u8; parser::MAX_HEAD];
    let asked = match timeout(
        site.request,
        read_request(&mut stream, &mut buf, &site.plan),
    )
    .await
    {
        Ok(Ok(Some(asked))) => asked,
        // The client left before finishing a request, its connection failed, or it took
        // longer than `--request-secs`: nothing to answer. Dropping the stream closes it.
        Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return,
    };
    let (page, head) = match asked {
        Asked::Page { page, head } => (page, head),
        Asked::Refused(refusal) => return refuse(stream, &site, refusal).await,
    };
    match site.plan.kinds[page] {
        Kind::Fast => answer_page(stream, &site, page, head).await,
        Kind::Slow(delay) => {
            sleep(delay).await;
            answer_page(stream, &site, page, head).await;
        }
        Kind::Status500 => {
            let body = b"Internal Server Error\n";
            answer(
                stream,
                &site,
                "500 Internal Server Error",
                "text/plain",
                body,
                head,
            )
            .await;
        }
        Kind::Reset => {
            // SO_LINGER with a zero timeout makes close(2) discard the socket at once and
            // send RST instead of FIN: the client's read fails with ECONNRESET.
            if let Err(e) = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO)) {
                eprintln!("crawl_site: set_linger: {e} (closing normally)");
            }
            drop(stream);
        }
        Kind::Hang => hold(stream, &site, page, &mut buf).await,
    }
}

/// Reads one request head (no body: we take none) and decides what it asks for. `None` if
/// the client closed first.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut [u8; parser::MAX_HEAD],
    plan: &Plan,
) -> io::Result<Option<Asked>> {
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(None);
        }
        filled += n;
        let request = match parser::parse(&buf[..filled]) {
            Ok(Status::Complete(request, _)) => request,
            // The parser says `TooLarge` once the buffer (`MAX_HEAD`) is full, so a
            // partial head always leaves room to read more.
            Ok(Status::Partial) => continue,
            Err(ParseError::Malformed) => return Ok(Some(Asked::Refused(Refusal::BadRequest))),
            Err(ParseError::TooLarge) => {
                return Ok(Some(Asked::Refused(Refusal::HeadersTooLarge)));
            }
        };
        let refused = |refusal| Ok(Some(Asked::Refused(refusal)));
        match request.body {
            Body::None | Body::Length(0) => {}
            Body::Length(_) => return refused(Refusal::ContentTooLarge),
            Body::TransferEncoded => return refused(Refusal::NotImplemented),
        }
        let head = match request.method {
            b"GET" => false,
            b"HEAD" => true,
            _ => return refused(Refusal::MethodNotAllowed),
        };
        return match plan.page_of(request.path()) {
            Some(page) => Ok(Some(Asked::Page { page, head })),
            None => refused(Refusal::NotFound),
        };
    }
}

/// A hanging page: never answers. Waits for the client to close (a read returns end of
/// stream, or fails) and says so — that is how the site sees a crawler's timeout cancel the
/// request — or gives up after `--hold-secs`.
async fn hold(mut stream: TcpStream, site: &Site, page: usize, buf: &mut [u8]) {
    let start = Instant::now();
    let closed = async {
        let mut discarded = 0;
        // Bytes after the request are read and thrown away, up to a bound; then we stop
        // waiting, rather than read a flood for the whole hold.
        while discarded < LINGER_BYTES {
            match stream.read(buf).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => discarded += n,
            }
        }
        false
    };
    let prefix = site.prefix;
    let path = path(page);
    let held = |start: Instant| start.elapsed().as_secs_f64();
    match timeout(site.hold, closed).await {
        Ok(true) => println!(
            "{prefix}{path}: the client closed the connection after {:.2} s, never answered",
            held(start)
        ),
        Ok(false) => println!("{prefix}{path}: the client kept sending; closing"),
        Err(_) => println!(
            "{prefix}{path}: held for {:.2} s, never answered; closing",
            held(start)
        ),
    }
}

/// 200 with page `page`'s HTML.
async fn answer_page(stream: TcpStream, site: &Site, page: usize, head: bool) {
    let html = site.plan.html(page);
    let kind = "text/html; charset=utf-8";
    answer(stream, site, "200 OK", kind, html.as_bytes(), head).await;
}

/// One of the fixed refusals.
async fn refuse(stream: TcpStream, site: &Site, refusal: Refusal) {
    let status = match refusal {
        Refusal::BadRequest => "400 Bad Request",
        Refusal::NotFound => "404 Not Found",
        Refusal::MethodNotAllowed => "405 Method Not Allowed",
        Refusal::ContentTooLarge => "413 Content Too Large",
        Refusal::HeadersTooLarge => "431 Request Header Fields Too Large",
        Refusal::NotImplemented => "501 Not Implemented",
    };
    let body = format!("{status}\n");
    answer(stream, site, status, "text/plain", body.as_bytes(), false).await;
}

/// Writes one response, with `Content-Length` and `Connection: close`, within the request
/// deadline; then closes without losing it (`linger_close`).
async fn answer(
    mut stream: TcpStream,
    site: &Site,
    status: &str,
    content_type: &str,
    body: &[u8],
    head: bool,
) {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nServer: tempo crawl_site\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head {
        out.extend_from_slice(body);
    }
    // A client that does not read its answer is not waited for past the deadline.
    if let Ok(Ok(())) = timeout(site.request, stream.write_all(&out)).await {
        linger_close(&mut stream).await;
    }
}

/// Closes after our answer without resetting it away: send FIN, then read and discard what
/// the client still sends until it closes, up to `LINGER` and `LINGER_BYTES` (RFC 9112
/// §9.6; `http_hello` explains it).
async fn linger_close(stream: &mut TcpStream) {
    if stream.shutdown_std(Shutdown::Write).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    let drain = async {
        let mut discarded = 0;
        while discarded < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => discarded += n,
            }
        }
    };
    let _ = timeout(LINGER, drain).await;
}

// ---------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------

const USAGE: &str = "usage: crawl_site [--addr HOST:PORT] [--pages N] [--seed S] \
                     [--hold-secs SECS] [--request-secs SECS] [--max-conns N]";

/// The command line, parsed by hand to keep the example free of dependencies.
#[derive(Debug)]
struct Args {
    /// Address to listen on, `HOST:PORT`.
    addr: String,
    /// Pages in the site, `/` included.
    pages: usize,
    /// The plan's seed.
    seed: u64,
    /// How long a hanging page holds its connection.
    hold: Duration,
    /// How long to read a whole request, and to write its answer.
    request: Duration,
    /// Most connections at once.
    max_conns: usize,
}

impl Args {
    /// Parses the flags in `USAGE`. An empty error means `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            addr: DEFAULT_ADDR.to_string(),
            pages: DEFAULT_PAGES,
            seed: DEFAULT_SEED,
            hold: DEFAULT_HOLD,
            request: DEFAULT_REQUEST,
            max_conns: DEFAULT_MAX_CONNS,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => args.addr = server::parse_addr(value()?)?,
                "--pages" => args.pages = parse_pages(&value()?)?,
                "--seed" => {
                    let text = value()?;
                    args.seed = text
                        .parse()
                        .map_err(|_| format!("--seed {text}: expected a whole number"))?;
                }
                "--hold-secs" => args.hold = server::parse_secs("--hold-secs", &value()?)?,
                "--request-secs" => {
                    args.request = server::parse_secs("--request-secs", &value()?)?;
                }
                "--max-conns" => {
                    let text = value()?;
                    args.max_conns = match text.parse() {
                        Ok(n) if n >= 1 => n,
                        _ => return Err(format!("--max-conns {text}: expected a number >= 1")),
                    };
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

/// The most pages a site may have: enough for any lesson, few enough that a plan is small.
pub const MAX_PAGES: usize = 100_000;

/// Parses `--pages`: 1 to [`MAX_PAGES`].
pub fn parse_pages(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(n) if (1..=MAX_PAGES).contains(&n) => Ok(n),
        _ => Err(format!(
            "--pages {text}: expected a number in 1..={MAX_PAGES}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same seed draws the same site; the shares are as documented; every page is
    /// reachable from `/` through pages that answer.
    #[test]
    fn the_plan_is_deterministic_and_every_page_is_reachable() {
        let plan = Plan::new(40, 13);
        assert_eq!(plan.summary(), Plan::new(40, 13).summary());
        assert_eq!(plan.links, Plan::new(40, 13).links);
        assert_ne!(plan.links, Plan::new(40, 14).links);
        assert_eq!(
            plan.summary(),
            "plan: pages=40 seed=13 fast=21 slow=9 status500=4 reset=2 hang=4"
        );
        let mut seen = vec![false; plan.pages()];
        let mut todo = vec![0];
        seen[0] = true;
        while let Some(page) = todo.pop() {
            if !plan.kinds[page].answers() {
                continue;
            }
            for &link in &plan.links[page] {
                if !std::mem::replace(&mut seen[link], true) {
                    todo.push(link);
                }
            }
        }
        assert!(seen.iter().all(|&s| s), "unreachable pages: {seen:?}");
        assert_eq!(plan.links[0][0], 1, "the front page's first link is page 1");
    }

    #[test]
    fn small_sites() {
        assert_eq!(
            Plan::new(1, 0).summary(),
            "plan: pages=1 seed=0 fast=1 slow=0 status500=0 reset=0 hang=0"
        );
        assert_eq!(
            Plan::new(2, 0).summary(),
            "plan: pages=2 seed=0 fast=1 slow=0 status500=0 reset=0 hang=1"
        );
    }

    #[test]
    fn paths_name_pages() {
        let plan = Plan::new(10, 1);
        assert_eq!(plan.page_of(b"/"), Some(0));
        assert_eq!(plan.page_of(b"/page/9"), Some(9));
        for bad in [
            &b"/page/10"[..],
            b"/page/0",
            b"/page/",
            b"/page/x",
            b"/nope",
        ] {
            assert_eq!(
                plan.page_of(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn command_line() {
        let parse = |args: &[&str]| Args::parse(args.iter().map(|s| s.to_string()));
        let args = parse(&["--pages", "7", "--seed", "3", "--hold-secs", "0.5"]).expect("valid");
        assert_eq!((args.pages, args.seed), (7, 3));
        assert_eq!(args.hold, Duration::from_millis(500));
        for bad in [
            &["--pages", "0"][..],
            &["--pages", "many"],
            &["--seed", "-1"],
            &["--hold-secs", "0"],
            &["--max-conns", "0"],
            &["--addr", "localhost"],
            &["--bogus"],
        ] {
            assert!(parse(bad).is_err_and(|e| !e.is_empty()), "{bad:?}");
        }
    }
}
