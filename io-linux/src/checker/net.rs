//! Network checks without blocking: TCP_CHECK (a connection is accepted) and HTTP_GET (each URL
//! answers with an expected status and, when configured, the body's MD5 digest).
//!
//! A job owns its socket; the runner watches it in its epoll and calls [`NetJob::on_ready`]
//! when it is writable (connected, or refused) or readable (response bytes). The engine's
//! deadline bounds the whole job (keepalived bounds each step by `connect_timeout`; Vigil bounds
//! the run, which is stricter and never longer).

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};

use md5::{Digest, Md5};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vigil_engine::checker::CheckOutcome;
use vigil_engine::conf::{ConnectOpts, HttpProtocol, Url};

/// The largest response body read (a health page, not a download).
const MAX_RESPONSE: usize = 16 << 20;

/// What a job needs next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Wait until the socket is writable (`true`) or readable (`false`).
    Wait(bool),
    /// The check is over.
    Done(CheckOutcome),
}

#[derive(Debug)]
enum Phase {
    Connecting,
    Sending { sent: usize },
    Receiving,
}

/// What an HTTP_GET checks.
#[derive(Clone, Debug)]
pub(super) struct HttpSpec {
    /// URLs, all checked in turn within one run.
    pub urls: Vec<Url>,
    /// The checker's, real server's or virtual server's `virtualhost`.
    pub virtualhost: Option<String>,
    /// `http_protocol`.
    pub protocol: HttpProtocol,
}

/// A TCP_CHECK or HTTP_GET run.
#[derive(Debug)]
pub(super) struct NetJob {
    sock: Socket,
    conn: ConnectOpts,
    http: Option<(HttpSpec, usize)>,
    phase: Phase,
    request: Vec<u8>,
    response: Vec<u8>,
}

fn fail(what: impl Into<String>) -> Step {
    Step::Done(CheckOutcome::Failure(what.into()))
}

/// A non-blocking socket connecting to `conn`'s destination.
pub(super) fn connect(conn: &ConnectOpts) -> io::Result<Socket> {
    let dst = SocketAddr::new(conn.dst, conn.port);
    let domain = match conn.dst {
        IpAddr::V4(_) => Domain::IPV4,
        IpAddr::V6(_) => Domain::IPV6,
    };
    let sock = Socket::new(
        domain,
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    if let Some(m) = conn.fwmark {
        sock.set_mark(m)?;
    }
    if let Some(dev) = &conn.bind_if {
        sock.bind_device(Some(dev.as_bytes()))?;
    }
    if conn.bindto.is_some() || conn.bind_port.is_some() {
        let ip = conn.bindto.unwrap_or(match conn.dst {
            IpAddr::V4(_) => IpAddr::from([0, 0, 0, 0]),
            IpAddr::V6(_) => IpAddr::from([0u16; 8]),
        });
        sock.set_reuse_address(true)?;
        sock.bind(&SockAddr::from(SocketAddr::new(
            ip,
            conn.bind_port.unwrap_or(0),
        )))?;
    }
    match sock.connect(&SockAddr::from(dst)) {
        Ok(()) => Ok(sock),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(sock),
        Err(e) => Err(e),
    }
}

impl NetJob {
    /// Starts a TCP_CHECK, or an HTTP_GET with `http`. An immediate failure (no route, refused
    /// before the call returns) is returned as the outcome.
    pub(super) fn start(
        conn: &ConnectOpts,
        http: Option<HttpSpec>,
    ) -> Result<NetJob, CheckOutcome> {
        let sock = connect(conn).map_err(|e| CheckOutcome::Failure(format!("connect: {e}")))?;
        Ok(NetJob {
            sock,
            conn: conn.clone(),
            http: http.map(|h| (h, 0)),
            phase: Phase::Connecting,
            request: Vec::new(),
            response: Vec::new(),
        })
    }

    /// The socket is ready: advance.
    fn advance(&mut self) -> Step {
        match self.phase {
            Phase::Connecting => {
                match self.sock.take_error() {
                    Ok(None) => {}
                    Ok(Some(e)) | Err(e) => return fail(format!("connect: {e}")),
                }
                // Writable without an error: connected (a second check guards against spurious
                // wake-ups).
                if self.sock.peer_addr().is_err() {
                    return Step::Wait(true);
                }
                let Some((spec, i)) = &self.http else {
                    return Step::Done(CheckOutcome::Success);
                };
                self.request = request(spec, &spec.urls[*i], &self.conn);
                self.phase = Phase::Sending { sent: 0 };
                self.advance()
            }
            Phase::Sending { sent } => match (&self.sock).write(&self.request[sent..]) {
                Ok(n) if sent + n == self.request.len() => {
                    self.phase = Phase::Receiving;
                    Step::Wait(false)
                }
                Ok(n) => {
                    self.phase = Phase::Sending { sent: sent + n };
                    Step::Wait(true)
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Step::Wait(true),
                Err(e) => fail(format!("send: {e}")),
            },
            Phase::Receiving => {
                let mut buf = [0u8; 16384];
                loop {
                    match (&self.sock).read(&mut buf) {
                        Ok(0) => return self.response_done(),
                        Ok(n) => {
                            self.response.extend_from_slice(&buf[..n]);
                            if self.response.len() > MAX_RESPONSE {
                                return fail("response larger than 16 MiB");
                            }
                            if let Some(step) = self.complete_by_length() {
                                return step;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return Step::Wait(false)
                        }
                        Err(e) => return fail(format!("receive: {e}")),
                    }
                }
            }
        }
    }

    /// A response with a Content-Length is complete once that much body arrived.
    fn complete_by_length(&mut self) -> Option<Step> {
        complete(&self.response).then(|| self.response_done())
    }

    fn response_done(&mut self) -> Step {
        let Some((spec, i)) = &mut self.http else {
            return Step::Done(CheckOutcome::Success);
        };
        if let Err(w) = evaluate(&spec.urls[*i], &self.response) {
            return fail(w);
        }
        *i += 1;
        if *i == spec.urls.len() {
            return Step::Done(CheckOutcome::Success);
        }
        // The next URL, on a new connection (the server closes after each response).
        match connect(&self.conn) {
            Ok(s) => {
                self.sock = s;
                self.phase = Phase::Connecting;
                self.response.clear();
                Step::Wait(true)
            }
            Err(e) => fail(format!("connect: {e}")),
        }
    }
}

impl super::Probe for NetJob {
    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    fn first_wait(&self) -> bool {
        true
    }

    fn on_ready(&mut self) -> Step {
        self.advance()
    }
}

/// Whether `response` holds a whole response by its Content-Length (without one, the response
/// ends when the server closes).
pub(super) fn complete(response: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(off)) = r.parse(response) else {
        return false;
    };
    r.headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|len| response.len() >= off + len)
}

/// keepalived's HTTP rules for one URL: an expected status, the MD5 digest of the body when one
/// is configured, and the body `regex` (or, with `regex_no_match`, its absence).
pub(super) fn evaluate(url: &Url, response: &[u8]) -> Result<(), String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let off = match r.parse(response) {
        Ok(httparse::Status::Complete(off)) => off,
        Ok(httparse::Status::Partial) => return Err(format!("{}: truncated response", url.path)),
        Err(e) => return Err(format!("{}: malformed response: {e}", url.path)),
    };
    let code = r.code.unwrap_or(0);
    if !url.status_ok(code) {
        return Err(format!("{}: status {code}", url.path));
    }
    if let Some(want) = &url.digest {
        let got = Md5::digest(&response[off..]);
        if got[..] != want[..] {
            let hex: String = got.iter().map(|b| format!("{b:02x}")).collect();
            return Err(format!("{}: digest {hex} differs", url.path));
        }
    }
    if let Some(re) = &url.regex {
        if !re.passes(&response[off..]) {
            let how = if re.no_match {
                "matches"
            } else {
                "does not match"
            };
            return Err(format!("{}: body {how} regex '{}'", url.path, re.pattern));
        }
    }
    Ok(())
}

/// keepalived's request: `GET PATH HTTP/1.x`, `User-Agent: KeepAliveClient`, `Host`, and
/// `Connection: close` for 1.0C and 1.1.
pub(super) fn request(spec: &HttpSpec, url: &Url, conn: &ConnectOpts) -> Vec<u8> {
    let host = url
        .virtualhost
        .clone()
        .or_else(|| spec.virtualhost.clone())
        .unwrap_or_else(|| match conn.dst {
            IpAddr::V4(a) => format!("{a}:{}", conn.port),
            IpAddr::V6(a) => format!("[{a}]:{}", conn.port),
        });
    let (version, close) = match spec.protocol {
        HttpProtocol::V1_0 => ("1.0", false),
        HttpProtocol::V1_0Close => ("1.0", true),
        HttpProtocol::V1_1 => ("1.1", true),
    };
    format!(
        "GET {} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\nHost: {host}\r\n{}\r\n",
        url.path,
        if close { "Connection: close\r\n" } else { "" }
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;
    use vigil_engine::conf::BodyRegex;

    fn opts(port: u16) -> ConnectOpts {
        ConnectOpts {
            dst: IpAddr::from([127, 0, 0, 1]),
            port,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_secs(2),
        }
    }

    /// Drives a job by polling its socket (the runner uses epoll).
    fn drive(mut job: NetJob) -> CheckOutcome {
        crate::checker::drive_to_end(&mut job)
    }

    #[test]
    fn tcp_check_accepted_and_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let job = NetJob::start(&opts(port), None).unwrap();
        assert_eq!(drive(job), CheckOutcome::Success);
        drop(l);
        let r = NetJob::start(&opts(port), None).map(drive);
        let out = r.unwrap_or_else(|e| e);
        assert!(
            matches!(out, CheckOutcome::Failure(ref w) if w.contains("refused")),
            "{out:?}"
        );
    }

    fn serve_once(l: &TcpListener, reply: &'static [u8]) -> std::thread::JoinHandle<String> {
        let l = l.try_clone().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = vec![0u8; 4096];
            let n = s.read(&mut req).unwrap();
            s.write_all(reply).unwrap();
            String::from_utf8_lossy(&req[..n]).into_owned()
        })
    }

    fn url(path: &str, digest: Option<[u8; 16]>) -> Url {
        Url {
            path: path.into(),
            digest,
            status_codes: vec![(200, 299)],
            virtualhost: None,
            regex: None,
        }
    }

    #[test]
    fn http_get_status_and_digest() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let body = b"hello\n";
        let digest: [u8; 16] = Md5::digest(body).into();
        let t = serve_once(&l, b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
        let spec = HttpSpec {
            urls: vec![url("/health", Some(digest))],
            virtualhost: Some("www.example.com".into()),
            protocol: HttpProtocol::V1_0,
        };
        let job = NetJob::start(&opts(port), Some(spec.clone())).unwrap();
        assert_eq!(drive(job), CheckOutcome::Success);
        let req = t.join().unwrap();
        assert!(req.starts_with("GET /health HTTP/1.0\r\n"), "{req}");
        assert!(req.contains("Host: www.example.com\r\n"), "{req}");

        let t = serve_once(&l, b"HTTP/1.0 200 OK\r\n\r\nbye\n");
        let job = NetJob::start(&opts(port), Some(spec.clone())).unwrap();
        assert!(matches!(drive(job), CheckOutcome::Failure(w) if w.contains("digest")));
        t.join().unwrap();

        let t = serve_once(&l, b"HTTP/1.0 503 Busy\r\n\r\n");
        let job = NetJob::start(&opts(port), Some(spec)).unwrap();
        assert!(matches!(drive(job), CheckOutcome::Failure(w) if w.contains("status 503")));
        t.join().unwrap();

        let t = serve_once(&l, b"garbage\r\n\r\n");
        let spec = HttpSpec {
            urls: vec![url("/", None)],
            virtualhost: None,
            protocol: HttpProtocol::V1_1,
        };
        let job = NetJob::start(&opts(port), Some(spec)).unwrap();
        assert!(matches!(drive(job), CheckOutcome::Failure(w) if w.contains("malformed")));
        let req = t.join().unwrap();
        assert!(req.contains("Connection: close\r\n"), "{req}");
    }

    #[test]
    fn http_get_body_regex_and_regex_no_match() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let page: &[u8] = b"HTTP/1.0 200 OK\r\n\r\n<html>\ndb: CONNECTED\n</html>\n";
        let with = |re: BodyRegex| HttpSpec {
            urls: vec![Url {
                regex: Some(re),
                ..url("/health", None)
            }],
            virtualhost: None,
            protocol: HttpProtocol::V1_0,
        };
        let run = |spec: HttpSpec| {
            let t = serve_once(&l, page);
            let out = drive(NetJob::start(&opts(port), Some(spec)).unwrap());
            t.join().unwrap();
            out
        };
        let found = BodyRegex::new("db: connected", &["caseless"]).unwrap();
        assert_eq!(run(with(found.clone())), CheckOutcome::Success);
        let missing = BodyRegex::new("db: (up|ready)", &[]).unwrap();
        assert!(
            matches!(run(with(missing)), CheckOutcome::Failure(w) if w.contains("does not match regex"))
        );
        let mut refuse = found;
        refuse.no_match = true;
        assert!(
            matches!(run(with(refuse)), CheckOutcome::Failure(w) if w.contains("matches regex"))
        );
    }
}
