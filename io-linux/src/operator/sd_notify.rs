//! systemd's readiness protocol (`Type=notify`), without libsystemd: one datagram to the socket
//! named by `$NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`).
//!
//! vigild sends `READY=1` once its sockets are open and the engine has started, `RELOADING=1`
//! (then `READY=1`) around a SIGHUP reload, `STOPPING=1` when it begins a graceful stop, and
//! `STATUS=...` lines that `systemctl status vigild` shows. Without `$NOTIFY_SOCKET` (not under
//! systemd) every call is a no-op.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Send `state` (newline-separated `KEY=VALUE` assignments) to the socket `socket`.
pub fn notify_to(socket: &str, state: &str) -> io::Result<()> {
    let addr = match socket.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes())?,
        None => SocketAddr::from_pathname(socket)?,
    };
    let s = UnixDatagram::unbound()?;
    s.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}

/// Send `state` to `$NOTIFY_SOCKET`; `Ok(false)` when vigild does not run under systemd.
pub fn notify(state: &str) -> io::Result<bool> {
    match std::env::var("NOTIFY_SOCKET") {
        Ok(s) if !s.is_empty() => notify_to(&s, state).map(|()| true),
        _ => Ok(false),
    }
}

/// `READY=1` with a status line.
pub fn ready(status: &str) -> io::Result<bool> {
    notify(&format!(
        "READY=1\nSTATUS={status}\nMAINPID={}",
        std::process::id()
    ))
}

/// `STOPPING=1`.
pub fn stopping() -> io::Result<bool> {
    notify("STOPPING=1")
}

/// `RELOADING=1` (send [`ready`] when the reload is done).
pub fn reloading() -> io::Result<bool> {
    notify("RELOADING=1")
}

/// `STATUS=...` alone (one line that `systemctl status` shows).
pub fn status(line: &str) -> io::Result<bool> {
    notify(&format!("STATUS={line}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_reaches_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notify");
        let server = UnixDatagram::bind(&p).unwrap();
        notify_to(p.to_str().unwrap(), "READY=1\nSTATUS=2 instances").unwrap();
        let mut buf = [0u8; 128];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=2 instances");
        let name = format!("vigil-test-{}", std::process::id());
        let abs =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        notify_to(&format!("@{name}"), "STOPPING=1").unwrap();
        let n = abs.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }
}
