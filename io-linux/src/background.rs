//! Running in the background (keepalived's default; `-n` / `--dont-fork` stays in the
//! foreground, as under systemd).
//!
//! [`daemonize`] forks before anything else happens (no thread exists yet): the first process
//! waits until the daemon has started, or failed, and exits with its status, so that
//! `vigild -f bad.conf` still exits 5 at the shell and an init script sees a failure. The
//! daemon itself is the grandchild: a new session without a controlling terminal, working
//! directory `/`, standard input and output on `/dev/null`, logging to syslog (`/dev/log`,
//! facility daemon, like keepalived) since there is no terminal to log to.

use std::io;
use std::os::fd::RawFd;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

/// The write end of the pipe the waiting first process reads (-1: none, or already used).
static STARTED_FD: AtomicI32 = AtomicI32::new(-1);

/// The exit status the waiting process gives when the daemon vanished without a word.
const VANISHED: i32 = 1;

/// Detach into the background. Returns in the daemon (the grandchild); the other two
/// processes exit here. Call it first thing in `main`, before any thread starts.
pub fn daemonize() -> io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: single-threaded here (the caller's contract): fork is safe.
    match unsafe { libc::fork() } {
        -1 => return Err(io::Error::last_os_error()),
        0 => {}
        child => {
            // The first process: wait for the daemon's word, then go.
            // SAFETY: closing our copy of the write end; reaping the intermediate child.
            unsafe {
                libc::close(wr);
                libc::waitpid(child, std::ptr::null_mut(), 0);
            }
            let mut b = [0u8; 1];
            // SAFETY: reading one byte into a local buffer.
            let n = unsafe { libc::read(rd, b.as_mut_ptr().cast(), 1) };
            std::process::exit(if n == 1 { i32::from(b[0]) } else { VANISHED });
        }
    }
    // The intermediate child: a new session, then fork again so the daemon is no session
    // leader and can never regain a controlling terminal.
    // SAFETY: plain system calls in a single-threaded child.
    unsafe {
        libc::close(rd);
        if libc::setsid() < 0 {
            libc::_exit(VANISHED);
        }
        match libc::fork() {
            -1 => libc::_exit(VANISHED),
            0 => {}
            _ => libc::_exit(0),
        }
    }
    std::env::set_current_dir("/")?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    use std::os::fd::AsRawFd;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors.
        unsafe { libc::dup2(null.as_raw_fd(), fd) };
    }
    STARTED_FD.store(wr, Ordering::SeqCst);
    Ok(())
}

/// Tell the waiting first process (if any) how the start went: 0 once running, else the exit
/// code. Only the first call counts.
pub fn report_started(code: i32) {
    let fd: RawFd = STARTED_FD.swap(-1, Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    let b = [u8::try_from(code).unwrap_or(1)];
    // SAFETY: writing one byte from a local buffer to our pipe, then closing it.
    unsafe {
        libc::write(fd, b.as_ptr().cast(), 1);
        libc::close(fd);
    }
}

/// Whether [`daemonize`] ran (the daemon logs to syslog).
pub fn in_background() -> bool {
    BACKGROUND.load(Ordering::SeqCst)
}

static BACKGROUND: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Mark the process as daemonized (called by `main` after [`daemonize`]).
pub fn set_background() {
    BACKGROUND.store(true, Ordering::SeqCst);
}

/// The syslog facility (keepalived's `-S`: daemon by default).
static FACILITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(3);
/// keepalived's `-G` (`--no-syslog`): nothing is sent to syslog.
static NO_SYSLOG: AtomicBool = AtomicBool::new(false);

/// A syslog facility as keepalived's `-S` takes it: `0`..`7` (local0..local7), `local0`..`local7`,
/// `user` or `daemon`; its number (`None`: not one of those).
pub fn parse_facility(s: &str) -> Option<u8> {
    let local = |d: &str| d.parse::<u8>().ok().filter(|n| *n <= 7).map(|n| 16 + n);
    match s {
        "user" => Some(1),
        "daemon" => Some(3),
        _ => match s.strip_prefix("local") {
            Some(d) => local(d),
            None if s.len() == 1 => local(s),
            None => None,
        },
    }
}

/// Set the facility of every later syslog line (keepalived's `-S`).
pub fn set_facility(facility: u8) {
    FACILITY.store(facility, Ordering::SeqCst);
}

/// Send nothing to syslog (keepalived's `-G`).
pub fn set_no_syslog() {
    NO_SYSLOG.store(true, Ordering::SeqCst);
}

/// tracing's writer to syslog: one datagram per event to `/dev/log`, `<PRI>vigild[PID]: `
/// (facility daemon unless `-S` says otherwise; nothing with `-G`). Events are dropped when no
/// syslog daemon listens.
#[derive(Debug)]
pub struct Syslog {
    sock: Option<UnixDatagram>,
    pid: u32,
}

impl Syslog {
    /// Connect to `/dev/log` (a later start of the syslog daemon is picked up on the next
    /// failure).
    pub fn new() -> Syslog {
        Syslog {
            sock: if NO_SYSLOG.load(Ordering::SeqCst) {
                None
            } else {
                connect()
            },
            pid: std::process::id(),
        }
    }
}

impl Default for Syslog {
    fn default() -> Self {
        Syslog::new()
    }
}

fn connect() -> Option<UnixDatagram> {
    let s = UnixDatagram::unbound().ok()?;
    s.connect("/dev/log").ok()?;
    Some(s)
}

/// RFC 5424 severity of a tracing level.
fn severity(l: &Level) -> u8 {
    match *l {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// One event's line, sent when dropped.
pub struct SyslogLine<'a> {
    to: &'a Syslog,
    pri: u8,
    buf: Vec<u8>,
}

impl io::Write for SyslogLine<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine<'_> {
    fn drop(&mut self) {
        let Some(s) = &self.to.sock else { return };
        let text = String::from_utf8_lossy(&self.buf);
        let msg = format!(
            "<{}>{}[{}]: {}",
            u32::from(FACILITY.load(Ordering::SeqCst)) * 8 + u32::from(self.pri),
            IDENT.get().map_or("vigild", String::as_str),
            self.to.pid,
            text.trim_end()
        );
        let _ = s.send(msg.as_bytes());
    }
}

/// The syslog tag when the daemon runs in a named network namespace or with an `instance`
/// name ([`set_ident`]); `vigild` otherwise.
static IDENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// keepalived 2.2.7's `make_syslog_ident`: the program's name, then `_NS` for a network
/// namespace and `_NAME` for an `instance` name, so that the lines of daemons in several
/// namespaces or instances of one host can be told apart.
pub fn ident(namespace: Option<&str>, instance: Option<&str>) -> String {
    let mut s = String::from("vigild");
    for part in [namespace, instance].into_iter().flatten() {
        s.push('_');
        s.push_str(part);
    }
    s
}

/// Tag every later syslog line with [`ident`] (once, at start-up, after the configuration is
/// read, as keepalived changes its ident then). Nothing changes without a namespace or name.
pub fn set_ident(namespace: Option<&str>, instance: Option<&str>) {
    if namespace.is_some() || instance.is_some() {
        let _ = IDENT.set(ident(namespace, instance));
    }
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = SyslogLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        SyslogLine {
            to: self,
            pri: 6,
            buf: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        SyslogLine {
            to: self,
            pri: severity(meta.level()),
            buf: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// keepalived's `make_syslog_ident` with vigild's name.
    #[test]
    fn the_tag_carries_the_namespace_and_the_instance_name() {
        assert_eq!(ident(None, None), "vigild");
        assert_eq!(ident(Some("blue"), None), "vigild_blue");
        assert_eq!(ident(None, Some("lb1")), "vigild_lb1");
        assert_eq!(ident(Some("blue"), Some("lb1")), "vigild_blue_lb1");
    }

    /// keepalived's `-S` forms (`keepalived --help`: `([0-7]|local[0-7]|user|daemon)`).
    #[test]
    fn facilities_parse_as_keepalived_s() {
        assert_eq!(parse_facility("0"), Some(16));
        assert_eq!(parse_facility("7"), Some(23));
        assert_eq!(parse_facility("local3"), Some(19));
        assert_eq!(parse_facility("user"), Some(1));
        assert_eq!(parse_facility("daemon"), Some(3));
        for bad in ["8", "local8", "kern", "", "local", "07"] {
            assert_eq!(parse_facility(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_line_is_one_datagram_with_facility_daemon_and_the_level() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let server = UnixDatagram::bind(&p).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.connect(&p).unwrap();
        let s = Syslog {
            sock: Some(client),
            pid: 42,
        };
        {
            let mut w = SyslogLine {
                to: &s,
                pri: severity(&Level::WARN),
                buf: Vec::new(),
            };
            write!(w, "eth0: no IPv4 ").unwrap();
            writeln!(w, "source address").unwrap();
        }
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            b"<28>vigild[42]: eth0: no IPv4 source address".as_slice()
        );
    }
}
