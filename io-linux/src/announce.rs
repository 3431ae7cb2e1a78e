//! Sends gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6) for virtual
//! addresses on an `AF_PACKET` socket from the interface's own MAC address. The frames are built
//! by the engine's wire module (`vigil_engine::wire::arp`, `vigil_engine::wire::ndisc`), the same
//! bytes the simulator captures; their format (keepalived 2.2.7's, Router flag per
//! `na_router_flag`) is documented there.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

use socket2::{Domain, Socket, Type};
use vigil_engine::wire::{arp, ethernet, ndisc};

/// The `AF_PACKET` socket announcements go out on (send only: protocol 0 receives nothing).
#[derive(Debug)]
pub struct Announcer {
    sock: Socket,
}

impl Announcer {
    /// Open the socket.
    pub fn open() -> io::Result<Announcer> {
        let sock = Socket::new(Domain::PACKET, Type::RAW, None)?;
        sock.set_cloexec(true)?;
        Ok(Announcer { sock })
    }

    fn send(&self, ifindex: u32, ethertype: u16, frame: &[u8]) -> io::Result<()> {
        // SAFETY: plain data.
        let mut to: libc::sockaddr_ll = unsafe { zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = ethertype.to_be();
        to.sll_ifindex = ifindex as libc::c_int;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&frame[ethernet::field::DESTINATION]);
        // SAFETY: `frame` and `to` are valid for the sizes given.
        let n = unsafe {
            libc::sendto(
                self.sock.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&to as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Send one gratuitous ARP for `vip` on interface `ifindex` from `src_mac`.
    pub fn garp(&self, ifindex: u32, src_mac: [u8; 6], vip: Ipv4Addr) -> io::Result<()> {
        self.send(
            ifindex,
            ethernet::ETHERTYPE_ARP,
            &arp::gratuitous_arp(src_mac, vip),
        )
    }

    /// Send one unsolicited NA for `vip` on interface `ifindex` from `src_mac`, with the Router
    /// flag when `router` (RFC 5798 section 6.4.2; the engine's `na_router_flag`).
    pub fn una(
        &self,
        ifindex: u32,
        src_mac: [u8; 6],
        vip: Ipv6Addr,
        router: bool,
    ) -> io::Result<()> {
        self.send(
            ifindex,
            ethernet::ETHERTYPE_IPV6,
            &ndisc::unsolicited_na(src_mac, vip, router),
        )
    }
}
