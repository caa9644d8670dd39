//! The echo rows: one byte's round trip over loopback TCP to a plain-thread echo server,
//! from a tempo socket, a tokio socket in tokio, a tokio socket under `Compat` in tempo,
//! and a tokio socket moved to a side runtime and back for each trip.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use async_compat::Compat;

use crate::census::{Census, counted};
use crate::runtimes::{Runtimes, Way};

impl Runtimes {
    /// The echo rows: connect to a fresh plain-thread echo server (so the server's side is
    /// the same for every row), then time `calls` one-byte round trips from the client.
    pub(crate) fn run_echo(&self, way: Way, calls: usize, census: Option<Arc<Census>>) -> Duration {
        let (addr, server) = echo_server();
        let took = match way {
            Way::TempoInPlace => self.tempo.block_on(async move {
                tempo::spawn(async move {
                    let mut client = tempo::net::TcpStream::connect(addr).await.unwrap();
                    client.set_nodelay(true).unwrap();
                    let mut byte = [1u8];
                    let start = Instant::now();
                    for _ in 0..calls {
                        let trip = async {
                            client.write_all(&byte).await.unwrap();
                            client.read_exact(&mut byte).await.unwrap();
                        };
                        counted(trip, &census).await;
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            }),
            Way::TokioInPlace => self.tokio.block_on(async move {
                tokio::spawn(async move {
                    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
                    client.set_nodelay(true).unwrap();
                    let start = Instant::now();
                    for _ in 0..calls {
                        counted(tokio_trip(&mut client), &census).await;
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            }),
            Way::Compat => self.tempo.block_on(async move {
                tempo::spawn(async move {
                    let mut client = Compat::new(tokio::net::TcpStream::connect(addr))
                        .await
                        .unwrap();
                    client.set_nodelay(true).unwrap();
                    let start = Instant::now();
                    for _ in 0..calls {
                        counted(Compat::new(tokio_trip(&mut client)), &census).await;
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            }),
            Way::HandleMultiThread => {
                let handle = self.side_multi.handle().clone();
                self.tempo.block_on(async move {
                    tempo::spawn(async move {
                        let mut client = handle
                            .spawn(async move {
                                let client = tokio::net::TcpStream::connect(addr).await.unwrap();
                                client.set_nodelay(true).unwrap();
                                client
                            })
                            .await
                            .unwrap();
                        let start = Instant::now();
                        for _ in 0..calls {
                            let trip = handle.spawn(async move {
                                tokio_trip(&mut client).await;
                                client
                            });
                            client = counted(trip, &census).await.unwrap();
                        }
                        start.elapsed()
                    })
                    .await
                    .unwrap()
                })
            }
            _ => unreachable!("no echo row for {way:?}"),
        };
        server.join().expect("the echo server ended cleanly");
        took
    }
}

/// One byte there and back on a tokio socket.
async fn tokio_trip(client: &mut tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut byte = [1u8];
    client.write_all(&byte).await.unwrap();
    client.read_exact(&mut byte).await.unwrap();
}

/// A blocking echo server on a plain thread, for one connection: the same far side for
/// every echo row. It ends when the client closes.
fn echo_server() -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the echo server");
    let addr = listener.local_addr().expect("its address");
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept the client");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let mut byte = [0u8];
        while let Ok(1) = stream.read(&mut byte) {
            if stream.write_all(&byte).is_err() {
                break;
            }
        }
    });
    (addr, server)
}
