//! Reading the VRRP sockets: batches of adverts (`recvmmsg`), the receive-queue losses and
//! the read-everything-before-deciding rule's pending flag, handed to the engine.

use super::*;

impl Daemon {
    /// Read and feed what socket `k` of interface `i` holds (up to `rounds` batches); returns
    /// how many adverts.
    pub(super) fn on_socket(&mut self, i: usize, k: usize, rounds: usize) -> usize {
        let Some(sock) = self.ifaces.get(i).and_then(|f| f.socks[k].as_ref()) else {
            return 0;
        };
        let (fd, family) = (sock.raw_fd(), sock.family());
        // Multicast adverts of a VRID that runs on a macvlan here are read on the macvlan (see
        // `on_vmac_socket`); the copy that also reaches the parent is not fed twice.
        let skip: Vec<u8> = self
            .vmacs
            .values()
            .filter(|m| {
                m.sock.is_some() && m.spec.base == self.ifaces[i].name && m.spec.family == family
            })
            .map(|m| m.spec.vrid)
            .collect();
        self.read_socket(fd, family, IfaceId(i as u16), rounds, |dst, vrid| {
            !(dst.is_multicast() && skip.contains(&vrid))
        })
    }

    /// Read and feed what the socket of the macvlan with epoll token `token` holds: the
    /// adverts of its VRID (a frame from a peer's macvlan carries our macvlan's MAC as its
    /// source, and the kernel hands it to our macvlan only, not to the parent), fed as
    /// received on the parent interface, where the engine runs the instance.
    pub(super) fn on_vmac_socket(&mut self, token: u64, rounds: usize) -> usize {
        let Some(m) = self.vmacs.values().find(|m| m.token == token) else {
            return 0;
        };
        let Some(sock) = m.sock.as_ref() else {
            return 0;
        };
        let (fd, family, vrid) = (sock.raw_fd(), sock.family(), m.spec.vrid);
        let Some(iface) = self.engine.interface_id(&m.spec.base) else {
            return 0;
        };
        self.read_socket(fd, family, iface, rounds, |_, v| v == vrid)
    }

    /// Read socket `fd` (up to `rounds` batches) and feed the engine every advert that
    /// `keep(destination, VRID)` accepts, as received on `iface`; returns how many were read.
    /// What the socket dropped, and whether it was left with adverts queued, is noted for
    /// `Input::ReceiveQueue`.
    ///
    /// The actions of each advert are carried out before the next advert is fed (an address
    /// removal is not held back behind the rest of the batch), but the address record is
    /// written once, after the batch: rewriting it (a file and a rename, 0.1-0.6 ms on a loaded
    /// machine) after every advert put that write between one instance's address removal and
    /// the next when a returning master's burst took many instances back to BACKUP (issue 18).
    pub(super) fn read_socket(
        &mut self,
        fd: std::os::fd::RawFd,
        family: Family,
        iface: IfaceId,
        rounds: usize,
        keep: impl Fn(IpAddr, u8) -> bool,
    ) -> usize {
        let total = self.read_socket_batches(fd, family, iface, rounds, keep);
        self.flush_record();
        total
    }

    /// [`Self::read_socket`] without writing the address record.
    pub(super) fn read_socket_batches(
        &mut self,
        fd: std::os::fd::RawFd,
        family: Family,
        iface: IfaceId,
        rounds: usize,
        keep: impl Fn(IpAddr, u8) -> bool,
    ) -> usize {
        let mut total = 0;
        for round in 0..rounds {
            let n = match self.rxb.recv(fd, family) {
                Ok(n) => n,
                Err(e) => {
                    debug!("receive error on socket {fd}: {e}");
                    return total;
                }
            };
            total += n;
            if let Some(count) = self.rxb.dropped {
                let seen = self.rx_dropped.insert(fd, count).unwrap_or(0);
                // A reopened socket (same descriptor) starts again from 0.
                let lost = if count >= seen { count - seen } else { count };
                let q = self.rx_queues.entry(iface).or_default();
                q.lost = q.lost.saturating_add(lost);
            }
            if n == batch::RECV_BATCH && round + 1 == rounds {
                self.rx_queues.entry(iface).or_default().pending = true;
            }
            // The clocks are read once per batch (after the recvmmsg: every stamp is earlier).
            let clocks = (n > 0).then(sys::RealtimeOffset::now);
            for j in 0..self.rxb.out.len() {
                let dg = self.rxb.out[j];
                // Demultiplex on the VRID (every VRRP version has it at the same place);
                // anything shorter goes to the engine to be dropped.
                let vrid = vigil_engine::wire::peek_vrid(&self.rxb.buf()[dg.start..dg.end]);
                if vrid.is_some_and(|v| !keep(dg.dst, v)) {
                    continue;
                }
                let now = match (dg.stamp, clocks) {
                    (Some((sec, nsec)), Some(c)) => {
                        self.clock.at_before(c.monotonic(sec, nsec), c.mono_now)
                    }
                    _ => self.clock.now(),
                };
                crate::handover_probe::mark_at(
                    crate::handover_probe::Stage::Arrival,
                    now.as_nanos(),
                );
                self.engine.handle_input(
                    now,
                    Input::Packet(Received {
                        iface,
                        src: dg.src,
                        dst: dg.dst,
                        ttl: dg.ttl,
                        payload: &self.rxb.buf()[dg.start..dg.end],
                    }),
                );
                crate::handover_probe::mark(crate::handover_probe::Stage::Decided);
                self.drain_actions();
            }
            if n < batch::RECV_BATCH {
                return total;
            }
        }
        total
    }

    /// Read every VRRP socket until it is empty (up to [`DRAIN_ROUNDS`] batches each), then tell
    /// the engine what the queues held back ([`Input::ReceiveQueue`]): called before every
    /// [`Engine::handle_timeout`], so that no Master_Down_Timer is served while an advert that
    /// would restart it waits unread (each advert carries its kernel arrival time, so reading it
    /// late moves no timer), and the engine knows about adverts the sockets dropped. One
    /// `recvmmsg` per socket when they are empty, which they nearly always are.
    pub(super) fn read_before_deciding(&mut self) {
        for q in self.rx_queues.values_mut() {
            q.pending = false;
        }
        for i in 0..self.ifaces.len() {
            for k in 0..2 {
                if self.ifaces[i].socks[k].is_some() {
                    self.on_socket(i, k, DRAIN_ROUNDS);
                }
            }
        }
        let tokens: Vec<u64> = self
            .vmacs
            .values()
            .filter(|m| m.sock.is_some())
            .map(|m| m.token)
            .collect();
        for t in tokens {
            self.on_vmac_socket(t, DRAIN_ROUNDS);
        }
        let now = self.clock.now();
        let mut told = Vec::new();
        for (&iface, q) in self.rx_queues.iter_mut() {
            if q.lost > 0 || q.pending != q.told_pending {
                told.push((iface, q.pending, q.lost));
                q.told_pending = q.pending;
                q.lost = 0;
            }
        }
        // The engine counts the losses and says when to log them (Notice::ReceiveQueueDropped).
        for (iface, pending, lost) in told {
            self.engine.handle_input(
                now,
                Input::ReceiveQueue {
                    iface,
                    pending,
                    lost,
                },
            );
            self.drain();
        }
    }
}
