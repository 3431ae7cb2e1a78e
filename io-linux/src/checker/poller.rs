//! The checker runner's own epoll instance: sockets waiting to connect (EPOLLOUT) or to be read
//! (EPOLLIN) and MISC_CHECK pidfds, one token per checker. Its descriptor sits in the daemon's
//! epoll, so the daemon's single event loop wakes when any check has something to say.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// An epoll instance with level-triggered interest in input or output.
#[derive(Debug)]
pub(super) struct Poller {
    fd: OwnedFd,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Poller {
    /// A new instance (close-on-exec).
    pub(super) fn new() -> io::Result<Poller> {
        // SAFETY: plain system call; the descriptor is owned from here on.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: a fresh descriptor nobody else owns.
        Ok(Poller {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The descriptor to watch (readable when an event is pending).
    pub(super) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, out: bool, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: if out {
                libc::EPOLLOUT as u32
            } else {
                libc::EPOLLIN as u32
            },
            u64: token,
        };
        // SAFETY: `ev` is valid for the call; the kernel copies it.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) })?;
        Ok(())
    }

    /// Watch `fd` for output (`out`) or input, reporting `token`.
    pub(super) fn add(&self, fd: RawFd, out: bool, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, out, token)
    }

    /// Change what `fd` is watched for.
    pub(super) fn modify(&self, fd: RawFd, out: bool, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, out, token)
    }

    /// Stop watching `fd` (closing it does too).
    pub(super) fn delete(&self, fd: RawFd) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: as in `ctl`.
        let _ = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// Up to 256 tokens ready now (never blocks). One `epoll_wait` only: level-triggered
    /// events stay ready until served, so asking again before serving them would return the
    /// same ones forever; what is left is reported again (the daemon's epoll sees this
    /// descriptor still readable) and served on the next wake-up.
    pub(super) fn ready(&self, out: &mut Vec<u64>) -> io::Result<()> {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 256];
        // SAFETY: `evs` is valid for 256 entries.
        let n = cvt(unsafe {
            libc::epoll_wait(self.fd.as_raw_fd(), evs.as_mut_ptr(), evs.len() as i32, 0)
        })?;
        out.extend(evs[..n as usize].iter().map(|e| e.u64));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn ready_returns_even_when_more_than_a_batch_is_ready() {
        // 300 always-writable sockets: one call returns at most 256 and never loops.
        let p = Poller::new().unwrap();
        let socks: Vec<UdpSocket> = (0..300)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        for (i, s) in socks.iter().enumerate() {
            p.add(s.as_raw_fd(), true, i as u64).unwrap();
        }
        let mut out = Vec::new();
        p.ready(&mut out).unwrap();
        assert_eq!(out.len(), 256);
        out.clear();
        p.ready(&mut out).unwrap();
        assert!(!out.is_empty(), "the rest is reported again");
    }
}
