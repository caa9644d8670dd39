//! Resolving addresses, off the loop: [`ToSocketAddrs`], and the helpers every socket
//! constructor of [`net`](super) uses.
//!
//! An address literal — `"127.0.0.1:80"`, `"[::1]:80"`, a `SocketAddr`, an `(IpAddr, u16)`
//! — is parsed in place, on the worker, at no cost. A host name is looked up with the
//! system's resolver (`getaddrinfo(3)`, through std), which blocks for as long as DNS takes;
//! so the lookup runs on the runtime's blocking pool ([`Handle::spawn_blocking`]) while the
//! worker's loop goes on serving other tasks — as asyncio's `loop.getaddrinfo` runs
//! `socket.getaddrinfo` in the loop's default executor, and as tokio does.
//!
//! To tell the two apart *before* resolving, the constructors take tempo's own
//! [`ToSocketAddrs`] (sealed, as tokio's is) rather than std's, whose only method resolves:
//! it is implemented for the same types as std's, so the same arguments work.
//!
//! [`Handle::spawn_blocking`]: crate::Handle::spawn_blocking

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Something that names one or more socket addresses: a `SocketAddr`, an `(IpAddr, u16)`,
/// `"host:port"` or `("host", port)`, a slice of `SocketAddr`s — std's `ToSocketAddrs`
/// types. Literals are parsed in place; host names are looked up on the blocking pool.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::net::{Ipv4Addr, SocketAddr};
/// tempo::run(async {
///     let literal = tempo::net::TcpListener::bind("127.0.0.1:0").await?; // no lookup
///     let port = literal.local_addr()?.port();
///     let _a = tempo::net::TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
///     let _b = tempo::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
///     let _c = tempo::net::TcpStream::connect(("localhost", port)).await?; // a lookup
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(super) mod sealed {
    use std::net::SocketAddr;

    /// What resolving an address takes: nothing (a literal), or a lookup.
    pub enum Plan {
        /// A literal naming one address.
        One(SocketAddr),
        /// Literals naming several (a slice).
        Many(Vec<SocketAddr>),
        /// A host name and a port, to look up on the blocking pool.
        Lookup(String, u16),
        /// Not an address at all (`"localhost"` without a port, say).
        Invalid(&'static str),
    }

    /// The one method of [`ToSocketAddrs`](super::ToSocketAddrs), out of users' reach.
    pub trait ToSocketAddrsPriv {
        /// How to resolve this.
        fn plan(&self) -> Plan;
    }
}

use sealed::{Plan, ToSocketAddrsPriv};

macro_rules! literal {
    ($($ty:ty => |$a:ident| $addr:expr;)*) => {$(
        impl ToSocketAddrs for $ty {}
        impl ToSocketAddrsPriv for $ty {
            fn plan(&self) -> Plan {
                let $a = self;
                Plan::One($addr)
            }
        }
    )*};
}

literal! {
    SocketAddr => |a| *a;
    SocketAddrV4 => |a| SocketAddr::V4(*a);
    SocketAddrV6 => |a| SocketAddr::V6(*a);
    (IpAddr, u16) => |a| SocketAddr::from(*a);
    (Ipv4Addr, u16) => |a| SocketAddr::from(*a);
    (Ipv6Addr, u16) => |a| SocketAddr::from(*a);
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    /// `"ip:port"` or `"[ipv6]:port"` in place; else `"host:port"`, split as std splits it.
    fn plan(&self) -> Plan {
        if let Ok(addr) = self.parse() {
            return Plan::One(addr);
        }
        match self
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse()))
        {
            Some((host, Ok(port))) => (host, port).plan(),
            Some((_, Err(_))) => Plan::Invalid("invalid port value"),
            None => Plan::Invalid("invalid socket address: expected host:port"),
        }
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn plan(&self) -> Plan {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Plan::One(SocketAddr::new(ip, port)),
            Err(_) => Plan::Lookup(host.to_owned(), port),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn plan(&self) -> Plan {
        (self.0.as_str(), self.1).plan()
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn plan(&self) -> Plan {
        self.as_str().plan()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl ToSocketAddrsPriv for [SocketAddr] {
    fn plan(&self) -> Plan {
        match self {
            [one] => Plan::One(*one),
            many => Plan::Many(many.to_vec()),
        }
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn plan(&self) -> Plan {
        (**self).plan()
    }
}

/// Resolve `addr`: at once for a literal, on the blocking pool for a host name. Fails
/// clearly if it names no address.
pub(super) async fn resolve(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.plan() {
        Plan::One(addr) => return Ok(vec![addr]),
        Plan::Many(addrs) => addrs,
        Plan::Lookup(host, port) => lookup(host, port).await?,
        Plan::Invalid(why) => return Err(io::Error::new(io::ErrorKind::InvalidInput, why)),
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

/// The first address `addr` resolves to — what a datagram is sent to. A literal costs
/// no allocation.
pub(super) async fn resolve_first(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<SocketAddr> {
    match addr.plan() {
        Plan::One(addr) => Ok(addr),
        _ => Ok(resolve(addr).await?[0]),
    }
}

/// Look `host` up on the blocking pool (`getaddrinfo` blocks), keeping the host in the
/// error so a failure says what could not be found.
async fn lookup(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    let handle = crate::Handle::try_current().ok_or_else(|| {
        io::Error::other("tempo: a host name can only be resolved inside a tempo runtime")
    })?;
    let job = handle.spawn_blocking(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(Iterator::collect)
            .map_err(|e| io::Error::new(e.kind(), format!("could not resolve {host:?}: {e}")))
    });
    job.await
        .map_err(|e| io::Error::other(format!("tempo: the lookup job failed: {e}")))?
}

/// Try `f` on each address `addr` resolves to, in turn; return the first success, or the
/// last error.
pub(super) async fn each_addr<T>(
    addr: &(impl ToSocketAddrs + ?Sized),
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for addr in resolve(addr).await? {
        match f(addr) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}
