//! A blocking line client with timeouts: what a reader types into `nc`, as a test.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::IO_TIMEOUT;

/// A line-oriented blocking client with timeouts.
pub struct Client {
    /// Buffered reads from the socket.
    pub reader: BufReader<TcpStream>,
    /// The same socket, for writes.
    pub writer: TcpStream,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let writer = stream.try_clone().expect("clone socket");
        Client {
            reader: BufReader::new(stream),
            writer,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to server");
    }

    /// Reads one line, without its `\n`; EOF or a timeout fails the test.
    pub fn line(&mut self) -> String {
        match self.try_line() {
            Ok(Some(line)) => line,
            Ok(None) => panic!("EOF where a line was expected"),
            Err(e) => panic!("reading a line: {e}"),
        }
    }

    /// Reads one line; `None` at EOF.
    pub fn try_line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        assert!(line.ends_with('\n'), "unterminated reply {line:?}");
        line.pop();
        Ok(Some(line))
    }

    /// Sends `line` and returns the reply.
    pub fn ask(&mut self, line: &str) -> String {
        self.send(format!("{line}\n").as_bytes());
        self.line()
    }

    /// Like `ask`, but `None` if the server had closed the connection: EOF, or a reset or
    /// broken pipe from writing into a socket it closed.
    pub fn try_ask(&mut self, line: &str) -> Option<String> {
        let closed = |e: &io::Error| {
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            )
        };
        match self.writer.write_all(format!("{line}\n").as_bytes()) {
            Ok(()) => {}
            Err(e) if closed(&e) => return None,
            Err(e) => panic!("write to server: {e}"),
        }
        match self.try_line() {
            Ok(reply) => reply,
            Err(e) if closed(&e) => None,
            Err(e) => panic!("reading a line: {e}"),
        }
    }

    /// The server closes the connection: the next read is a clean EOF, with no data before.
    pub fn expect_eof(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty(),
                "expected EOF, got {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(e) => panic!("expected EOF, got {e}"),
        }
    }
}
