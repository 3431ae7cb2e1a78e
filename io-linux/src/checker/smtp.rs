//! SMTP_CHECK without blocking (keepalived 2.2.7 `check_smtp.c`): connect, read the greeting
//! (220), send `HELO helo_name`, read 250, send `QUIT`, read the answer. A multi-line reply
//! (`250-...` lines) is read to its last line, whose code counts.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use socket2::Socket;
use vigil_engine::checker::CheckOutcome;
use vigil_engine::conf::ConnectOpts;

use super::net::{connect, Step};
use super::Probe;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Greeting,
    Helo,
    Quit,
}

/// An SMTP_CHECK run.
#[derive(Debug)]
pub(super) struct SmtpJob {
    sock: Socket,
    state: State,
    helo: String,
    out: Vec<u8>,
    sent: usize,
    buf: Vec<u8>,
}

fn fail(w: impl Into<String>) -> Step {
    Step::Done(CheckOutcome::Failure(w.into()))
}

/// The code of a complete reply in `buf` (its last line), if complete.
fn reply_code(buf: &[u8]) -> Option<Result<u16, String>> {
    let text = std::str::from_utf8(buf).ok()?;
    if !text.ends_with("\r\n") && !text.ends_with('\n') {
        return None;
    }
    let last = text.lines().last()?;
    let code = last.get(..3)?;
    match last.as_bytes().get(3) {
        Some(b'-') => None, // a continuation: more lines follow
        None | Some(b' ') => Some(
            code.parse::<u16>()
                .map_err(|_| format!("malformed reply '{last}'")),
        ),
        _ => Some(Err(format!("malformed reply '{last}'"))),
    }
}

impl SmtpJob {
    /// Starts a run against `conn` saying `HELO helo`.
    pub(super) fn start(conn: &ConnectOpts, helo: &str) -> Result<SmtpJob, CheckOutcome> {
        let sock = connect(conn).map_err(|e| CheckOutcome::Failure(format!("connect: {e}")))?;
        Ok(SmtpJob {
            sock,
            state: State::Connecting,
            helo: helo.to_string(),
            out: Vec::new(),
            sent: 0,
            buf: Vec::new(),
        })
    }

    fn send(&mut self, line: String) -> Step {
        self.out = line.into_bytes();
        self.sent = 0;
        self.flush()
    }

    fn flush(&mut self) -> Step {
        while self.sent < self.out.len() {
            match (&self.sock).write(&self.out[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait(true),
                Err(e) => return fail(format!("send: {e}")),
            }
        }
        self.buf.clear();
        Step::Wait(false)
    }
}

impl Probe for SmtpJob {
    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    fn first_wait(&self) -> bool {
        true
    }

    fn on_ready(&mut self) -> Step {
        if self.state == State::Connecting {
            match self.sock.take_error() {
                Ok(None) if self.sock.peer_addr().is_ok() => {}
                Ok(None) => return Step::Wait(true),
                Ok(Some(e)) | Err(e) => return fail(format!("connect: {e}")),
            }
            self.state = State::Greeting;
            return Step::Wait(false);
        }
        if self.sent < self.out.len() {
            return self.flush();
        }
        let mut chunk = [0u8; 1024];
        loop {
            match (&self.sock).read(&mut chunk) {
                Ok(0) => return fail(format!("connection closed in {:?}", self.state)),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    if self.buf.len() > 64 * 1024 {
                        return fail("reply too long");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return fail(format!("receive: {e}")),
            }
        }
        let code = match reply_code(&self.buf) {
            None => return Step::Wait(false),
            Some(Err(e)) => return fail(e),
            Some(Ok(c)) => c,
        };
        match self.state {
            State::Greeting if code == 220 => {
                self.state = State::Helo;
                let line = format!("HELO {}\r\n", self.helo);
                self.send(line)
            }
            State::Greeting => fail(format!("bad greeting banner: {code}")),
            State::Helo if code == 250 => {
                self.state = State::Quit;
                self.send("QUIT\r\n".to_string())
            }
            State::Helo => fail(format!("bad HELO response: {code}")),
            State::Quit | State::Connecting => Step::Done(CheckOutcome::Success),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::{IpAddr, TcpListener};
    use std::time::Duration;

    #[test]
    fn replies() {
        assert_eq!(reply_code(b"220 mx ready\r\n"), Some(Ok(220)));
        assert_eq!(reply_code(b"250-mx\r\n"), None);
        assert_eq!(reply_code(b"250-mx\r\n250 ok\r\n"), Some(Ok(250)));
        assert_eq!(reply_code(b"220 partial"), None);
        assert!(matches!(reply_code(b"2x0 no\r\n"), Some(Err(_))));
    }

    fn run(greeting: &'static str) -> (CheckOutcome, Vec<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut w = s.try_clone().unwrap();
            w.write_all(greeting.as_bytes()).unwrap();
            let mut lines = Vec::new();
            for line in BufReader::new(s).lines() {
                let Ok(line) = line else { break };
                let reply = if line.starts_with("HELO") {
                    "250 hi\r\n"
                } else {
                    "221 bye\r\n"
                };
                lines.push(line);
                if w.write_all(reply.as_bytes()).is_err() {
                    break;
                }
            }
            lines
        });
        let conn = ConnectOpts {
            dst: IpAddr::from([127, 0, 0, 1]),
            port,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_secs(2),
        };
        let mut job = SmtpJob::start(&conn, "checker.example.com").unwrap();
        let outcome = crate::checker::drive_to_end(&mut job);
        drop(job);
        (outcome, t.join().unwrap())
    }

    #[test]
    fn greeting_helo_quit() {
        let (o, lines) = run("220-mx.example.com\r\n220 ready\r\n");
        assert_eq!(o, CheckOutcome::Success);
        assert_eq!(lines, ["HELO checker.example.com", "QUIT"]);
        let (o, _) = run("554 go away\r\n");
        assert!(matches!(o, CheckOutcome::Failure(w) if w.contains("554")));
    }
}
