//! The README's tour, compiled and run: `cargo run --example readme`.
//! A task serves one connection while `main` naps, then connects to it as a client.

use std::io;
use std::time::Duration;

use tempo::net::{TcpListener, TcpStream};

const GREETING: &[u8] = b"hello from tempo\n";

fn main() -> io::Result<()> {
    // asyncio.run(main())
    tempo::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;

        // asyncio.create_task(...): the server runs as its own task.
        let server = tempo::spawn(async move {
            let (mut stream, _peer) = listener.accept().await?;
            stream.write_all(GREETING).await
        });

        // asyncio.sleep(0.1): this task waits on a timer; the loop stays free.
        tempo::time::sleep(Duration::from_millis(100)).await;

        let mut client = TcpStream::connect(addr).await?;
        let mut reply = vec![0; GREETING.len()];
        client.read_exact(&mut reply).await?;
        print!("{}", String::from_utf8_lossy(&reply));

        // Awaiting a JoinHandle gives Err(JoinError) if the task panicked or was aborted.
        server.await.expect("server task panicked")
    })
}
