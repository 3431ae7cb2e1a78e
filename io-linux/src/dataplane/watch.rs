//! Noticing that someone else changed nftables (issue 17: "rebuilt ... after someone else
//! flushes it (detect it)"): a netlink socket in nf_tables' multicast group
//! (`NFNLGRP_NFTABLES`, include/uapi/linux/netfilter/nfnetlink.h) becomes readable on every
//! ruleset change in the namespace, Vigil's own included. The data plane then checks its table
//! and rebuilds it if it is not what it put there. No polling.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

/// `NFNLGRP_NFTABLES` (include/uapi/linux/netfilter/nfnetlink.h).
const NFNLGRP_NFTABLES: u32 = 7;

/// The subscription.
pub struct Watch {
    sock: Socket,
}

impl Watch {
    /// Subscribes to nf_tables' change notifications.
    pub fn new() -> io::Result<Watch> {
        let mut sock = Socket::new(NETLINK_NETFILTER)?;
        sock.bind(&SocketAddr::new(0, 0))?;
        sock.add_membership(NFNLGRP_NFTABLES)?;
        sock.set_non_blocking(true)?;
        Ok(Watch { sock })
    }

    /// The descriptor to watch (readable: something changed).
    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Reads every pending notification; whether there was any (an overrun, ENOBUFS, counts
    /// as a change too).
    pub fn drain(&self) -> bool {
        let mut buf = vec![0u8; 65536];
        let mut any = false;
        loop {
            // SAFETY: buf is valid for buf.len() bytes; the descriptor is ours.
            let n = unsafe {
                libc::recv(
                    self.fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                any = true;
                continue;
            }
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS) {
                any = true;
                continue;
            }
            return any;
        }
    }
}
