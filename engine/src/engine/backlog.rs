//! Read before deciding: what a Master_Down_Timer means while the runner's receive queue of the
//! instance's interface holds adverts it has not handed over yet, or has lost some.
//!
//! RFC 5798 section 6.4.2: a Backup takes over when the Master_Down_Timer fires, i.e. when no
//! acceptable ADVERTISEMENT was *received* for Master_Down_Interval (section 6.1: three
//! Master_Adver_Intervals plus Skew_Time). The interval is sized for adverts lost on the *network*.
//! A runner adds a queue of its own between the network and the engine (the socket's receive
//! buffer): an advert waiting there was received by the host but has not restarted the timer
//! yet, and an advert the queue threw away (the buffer was full, the runner fell behind) was sent
//! by a live master and lost on *this* router. Neither is evidence that the master is down; a
//! takeover decided on them is the spurious takeover the RFC's timer arithmetic is meant to rule
//! out (issue 20: a backup of 255 instances at 10 ms that served its expired timers before reading
//! the adverts waiting in its socket took over all 255 after any pause longer than 36 ms; the
//! work of those takeovers kept it from reading, its socket overflowed, and it went on taking over
//! about a thousand times a second while the master advertised).
//!
//! The runner reports its queue with [`Input::ReceiveQueue`] (see the run-loop contract): whether
//! adverts are still waiting after it read what it could, and how many the queue lost since its
//! last report. The rule, per Master_Down_Timer that falls due on a BACKUP:
//!
//! * If the interface's queue is *pending*, or *lost* adverts within the timer's run (the last
//!   Master_Down_Interval), the timer is **extended once**, to one Master_Adver_Interval after
//!   the later of its deadline and now. A live master sends its next advert within one
//!   Master_Adver_Interval (section 6.4.3), so a master that is alive is heard in that time and
//!   restarts the timer as usual; a master that is really gone is taken over from at most one
//!   Master_Adver_Interval later than the RFC's deadline (10 ms at 10 ms adverts, 1 s at 1 s).
//! * An extended timer that falls due again is served as the RFC says: the extension is never
//!   repeated within one run of the timer, so an endless backlog (a flood of packets on the
//!   interface) cannot hold a takeover off forever. A new run of the timer (an advert heard)
//!   may be extended again.
//!
//! * The same extension, once, when the timer is **served late**: more than Skew_Time after its
//!   deadline. The runner was not running at the deadline (its process, or the whole machine,
//!   was stopped: on a shared virtual machine both vCPUs were seen to stop for 20 to 70 ms at
//!   once, issue 18), so the end of the timer's run was not listened to, and a master on the
//!   same stopped machine did not send either; when both run again, the master's overdue advert
//!   comes within one Master_Adver_Interval, while the backup, without the extension, would
//!   decide first. Skew_Time is the RFC's own margin between one backup and the next lower one
//!   (section 6.1): a runner later than that has lost the ordering the timer was meant to give,
//!   whereas a runner that serves its deadline on time (vigild does, to tens of microseconds)
//!   is never extended by this.
//!
//! The cost is therefore bounded and only paid while the receive path is overloaded: a failover
//! is slower by at most one Master_Adver_Interval, never more. A runner that drains its queue
//! before serving deadlines (vigild does) reports *pending* only when a flood exceeded its read
//! budget; losses are what is left, and they are counted in
//! [`RouterStats::receive_queue_drops`](crate::stats::RouterStats::receive_queue_drops), the
//! extensions in [`RouterStats::master_down_extended`](crate::stats::RouterStats::master_down_extended).
//!
//! [`Input::ReceiveQueue`]: crate::Input::ReceiveQueue

use super::Engine;
use crate::instance::Timer;
use crate::io::Action;
use crate::io::IfaceId;
use crate::notices::{Gate, Notice};
use crate::time::Instant;

/// What the runner last said about its receive queue of one interface.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ReceiveQueue {
    /// Adverts are waiting unread.
    pub pending: bool,
    /// When the runner last reported adverts the queue lost.
    pub lost_at: Option<Instant>,
    /// Rate limit of [`Notice::ReceiveQueueDropped`].
    pub drop_notice: Gate,
}

impl Engine {
    /// [`crate::Input::ReceiveQueue`]: remember the interface's queue state and count the losses.
    pub(crate) fn receive_queue(&mut self, now: Instant, iface: IfaceId, pending: bool, lost: u32) {
        let Some(f) = self.ifaces.get_mut(usize::from(iface.0)) else {
            return;
        };
        f.rx_queue.pending = pending;
        if lost > 0 {
            f.rx_queue.lost_at = Some(now);
            let notice = f.rx_queue.drop_notice.pass(now);
            let st = &mut self.stats;
            st.receive_queue_drops = st.receive_queue_drops.saturating_add(u64::from(lost));
            if let Some(held_back) = notice {
                self.actions
                    .push_back(Action::Notice(Notice::ReceiveQueueDropped {
                        iface,
                        lost,
                        held_back,
                    }));
            }
        }
    }

    /// The Master_Down_Timer of BACKUP instance `i` fell due at `at` (served at `now`): extend it
    /// once when its interface's receive queue is pending or lost adverts during the timer's
    /// run, or when it is served more than Skew_Time late (module docs). Returns true when extended (the takeover does not happen now).
    pub(crate) fn extend_master_down(&mut self, now: Instant, i: usize, at: Instant) -> bool {
        let inst = &self.instances[i];
        if inst.down_extended == at {
            return false; // this run was extended already: serve it
        }
        let (mdi, mai) = (inst.master_down_interval(), inst.master_adver_interval);
        let Some(q) = self
            .ifaces
            .get(usize::from(inst.iface.0))
            .map(|f| f.rx_queue)
        else {
            return false;
        };
        let lost = q.lost_at.is_some_and(|l| l.saturating_add(mdi) >= at);
        let late = now.saturating_duration_since(at) > inst.skew_time();
        if !q.pending && !lost && !late {
            return false;
        }
        let next = at.max(now).saturating_add(mai);
        let inst = &mut self.instances[i];
        inst.set(Timer::MasterDown, next);
        inst.down_extended = next;
        let st = &mut self.stats;
        st.master_down_extended = st.master_down_extended.saturating_add(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;
    use std::net::{IpAddr, Ipv4Addr};

    use crate::io::{Action, IfaceId, Input, InstanceId, Reason, Received, State};
    use crate::setup::{EngineConfig, InstanceConfig};
    use crate::time::Instant;
    use crate::wire::Version;
    use crate::wire::{self, Addrs, Advert, Auth, ChecksumForm, Family, Interval, IpContext};
    use crate::Engine;

    const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const MASTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
    /// 10 ms adverts, priority 100: Master_Down_Interval = 30 ms + 156/256 * 10 ms.
    const MAI: Duration = Duration::from_millis(10);
    const MDI: Duration = Duration::from_nanos(30_000_000 + 6_093_750);

    fn at(d: Duration) -> Instant {
        Instant::from_nanos(u64::try_from(d.as_nanos()).unwrap())
    }

    /// A BACKUP (priority 100, 10 ms) on eth0 started at 0: its Master_Down_Timer is due at MDI.
    fn backup() -> (Engine, IfaceId) {
        let c = InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4)
            .vips([IpAddr::V4(VIP)])
            .advert_interval(MAI);
        let mut e = Engine::new(EngineConfig::instances(vec![c])).unwrap();
        let eth0 = e.interface_id("eth0").unwrap();
        e.handle_input(
            Instant::ZERO,
            Input::PrimaryAddress {
                iface: eth0,
                family: Family::V4,
                addr: Some(ME.into()),
            },
        );
        e.handle_input(Instant::ZERO, Input::Start);
        drain(&mut e);
        assert_eq!(state(&e), State::Backup);
        assert_eq!(e.poll_timeout(), Some(at(MDI)));
        (e, eth0)
    }

    fn drain(e: &mut Engine) -> Vec<Action> {
        std::iter::from_fn(|| e.poll_action()).collect()
    }

    fn state(e: &Engine) -> State {
        e.instance(InstanceId(0)).unwrap().state()
    }

    fn queue(e: &mut Engine, now: Instant, iface: IfaceId, pending: bool, lost: u32) {
        e.handle_input(
            now,
            Input::ReceiveQueue {
                iface,
                pending,
                lost,
            },
        );
    }

    /// The master's advert (priority 200), as received at `now`.
    fn hear_master(e: &mut Engine, now: Instant, iface: IfaceId) {
        let a = Advert {
            version: Version::V3,
            vrid: 51,
            priority: 200,
            interval: Interval::Centiseconds(1),
            addrs: Addrs::List(&[IpAddr::V4(VIP)]),
            auth: Auth::None,
            checksum: ChecksumForm::PseudoHeader,
            trailing: 0,
        };
        let ctx = IpContext {
            src: MASTER.into(),
            dst: wire::MCAST_V4.into(),
        };
        let mut buf = [0u8; wire::MAX_ADVERT_LEN];
        let n = wire::emit(&a, &ctx, &mut buf).unwrap();
        e.handle_input(
            now,
            Input::Packet(Received {
                iface,
                src: MASTER.into(),
                dst: wire::MCAST_V4.into(),
                ttl: 255,
                payload: &buf[..n],
            }),
        );
    }

    fn takeovers(actions: &[Action]) -> usize {
        actions
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    Action::StateChange {
                        to: State::Master,
                        reason: Reason::MasterDownTimer,
                        ..
                    }
                )
            })
            .count()
    }

    #[test]
    fn without_backlog_the_timer_takes_over_on_time() {
        let (mut e, eth0) = backup();
        queue(&mut e, at(MAI), eth0, false, 0);
        e.handle_timeout(at(MDI));
        assert_eq!(takeovers(&drain(&mut e)), 1);
        assert_eq!(e.router_stats().master_down_extended, 0);
    }

    #[test]
    fn pending_adverts_extend_the_timer_once_by_one_interval() {
        let (mut e, eth0) = backup();
        queue(&mut e, at(MDI), eth0, true, 0);
        e.handle_timeout(at(MDI));
        assert_eq!(takeovers(&drain(&mut e)), 0);
        assert_eq!(state(&e), State::Backup);
        assert_eq!(e.poll_timeout(), Some(at(MDI + MAI)));
        assert_eq!(e.router_stats().master_down_extended, 1);
        // The queue is still pending at the extended deadline: the extension is not repeated.
        e.handle_timeout(at(MDI + MAI));
        assert_eq!(takeovers(&drain(&mut e)), 1);
        assert_eq!(e.router_stats().master_down_extended, 1);
    }

    #[test]
    fn an_advert_read_from_the_queue_restarts_the_timer_as_usual() {
        let (mut e, eth0) = backup();
        queue(&mut e, at(MDI), eth0, true, 0);
        e.handle_timeout(at(MDI));
        // The waiting advert arrived (kernel time) just before the deadline.
        let arrived = at(MDI - Duration::from_micros(100));
        hear_master(&mut e, arrived, eth0);
        queue(&mut e, at(MDI), eth0, false, 0);
        e.handle_timeout(at(MDI + MAI));
        assert_eq!(takeovers(&drain(&mut e)), 0);
        assert_eq!(state(&e), State::Backup);
        // A new run of the timer, from the advert's arrival (with the master's 10 ms interval).
        let next = e.poll_timeout().unwrap();
        assert!(next > at(MDI + MAI), "{next:?}");
    }

    #[test]
    fn adverts_lost_during_the_run_extend_it_lost_before_it_do_not() {
        let (mut e, eth0) = backup();
        queue(&mut e, at(MAI), eth0, false, 3);
        assert_eq!(e.router_stats().receive_queue_drops, 3);
        e.handle_timeout(at(MDI));
        assert_eq!(takeovers(&drain(&mut e)), 0);
        e.handle_timeout(at(MDI + MAI));
        assert_eq!(takeovers(&drain(&mut e)), 1);

        // A loss older than the timer's whole run says nothing about this master.
        let (mut e, eth0) = backup();
        hear_master(&mut e, at(MAI), eth0);
        queue(&mut e, at(MAI), eth0, false, 5);
        let t0 = at(MAI * 50);
        hear_master(&mut e, t0, eth0);
        let due = e.poll_timeout().unwrap();
        e.handle_timeout(due);
        assert_eq!(takeovers(&drain(&mut e)), 1);
        assert_eq!(e.router_stats().master_down_extended, 0);
    }

    #[test]
    fn a_reload_keeps_what_the_queue_lost() {
        // Found by explore (track, seed 6468): a reload between the loss and the deadline forgot it.
        let (mut e, eth0) = backup();
        queue(&mut e, at(MAI), eth0, false, 3);
        let c = InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4)
            .vips([IpAddr::V4(VIP)])
            .advert_interval(MAI)
            .priority(150);
        e.reload(at(MAI * 2), EngineConfig::instances(vec![c]))
            .unwrap();
        drain(&mut e);
        let due = e.poll_timeout().unwrap();
        e.handle_timeout(due);
        assert_eq!(takeovers(&drain(&mut e)), 0);
        assert_eq!(e.router_stats().master_down_extended, 1);
    }

    #[test]
    fn a_late_runner_still_gets_one_whole_interval() {
        let (mut e, eth0) = backup();
        queue(&mut e, at(MDI), eth0, true, 0);
        let late = at(MDI + MAI * 3);
        e.handle_timeout(late);
        assert_eq!(takeovers(&drain(&mut e)), 0);
        assert_eq!(e.poll_timeout(), Some(at(MDI + MAI * 4)));
    }

    #[test]
    fn a_timer_served_later_than_skew_time_is_extended_once() {
        // Skew_Time is 156/256 x 10 ms = 6.09 ms here.
        let (mut e, eth0) = backup();
        queue(&mut e, at(MAI), eth0, false, 0);
        let late = at(MDI + Duration::from_millis(20));
        e.handle_timeout(late);
        assert_eq!(takeovers(&drain(&mut e)), 0);
        assert_eq!(state(&e), State::Backup);
        assert_eq!(e.poll_timeout(), Some(late + MAI));
        assert_eq!(e.router_stats().master_down_extended, 1);
        // The master's overdue advert, sent when the machine ran again, restarts the timer.
        hear_master(&mut e, late + Duration::from_millis(2), eth0);
        let next = e.poll_timeout().unwrap();
        assert!(next > late + MAI, "{next:?}");
        assert_eq!(takeovers(&drain(&mut e)), 0);

        // Nothing heard: the extended timer is served, however late, and takes over.
        let (mut e, _) = backup();
        let late = at(MDI + Duration::from_millis(20));
        e.handle_timeout(late);
        drain(&mut e);
        e.handle_timeout(late + MAI * 5);
        assert_eq!(takeovers(&drain(&mut e)), 1);
        assert_eq!(e.router_stats().master_down_extended, 1);
    }

    #[test]
    fn a_timer_served_within_skew_time_of_its_deadline_takes_over() {
        let (mut e, _) = backup();
        e.handle_timeout(at(MDI + Duration::from_millis(6)));
        assert_eq!(takeovers(&drain(&mut e)), 1);
        assert_eq!(e.router_stats().master_down_extended, 0);
    }

    #[test]
    fn another_interface_backlog_does_not_hold_this_one() {
        let c1 = InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4)
            .vips([IpAddr::V4(VIP)])
            .advert_interval(MAI);
        let c2 = InstanceConfig::new("VI_2", "eth1", 51, Version::V3, Family::V4)
            .vips([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101))])
            .advert_interval(MAI);
        let mut e = Engine::new(EngineConfig::instances(vec![c1, c2])).unwrap();
        let (eth0, eth1) = (
            e.interface_id("eth0").unwrap(),
            e.interface_id("eth1").unwrap(),
        );
        for iface in [eth0, eth1] {
            e.handle_input(
                Instant::ZERO,
                Input::PrimaryAddress {
                    iface,
                    family: Family::V4,
                    addr: Some(ME.into()),
                },
            );
        }
        e.handle_input(Instant::ZERO, Input::Start);
        drain(&mut e);
        queue(&mut e, at(MDI), eth1, true, 7);
        e.handle_timeout(at(MDI));
        let a = drain(&mut e);
        assert_eq!(takeovers(&a), 1);
        assert_eq!(e.instance(InstanceId(0)).unwrap().state(), State::Master);
        assert_eq!(e.instance(InstanceId(1)).unwrap().state(), State::Backup);
    }

    #[test]
    fn lost_adverts_are_logged_once_per_window_with_what_was_held_back() {
        use crate::notices::{Notice, NOTICE_WINDOW};
        let (mut e, iface) = backup();
        drain(&mut e);
        let notices = |a: Vec<Action>| -> Vec<Notice> {
            a.into_iter()
                .filter_map(|a| match a {
                    Action::Notice(n) => Some(n),
                    _ => None,
                })
                .collect()
        };
        queue(&mut e, at(MAI), iface, false, 0);
        assert_eq!(notices(drain(&mut e)), []);
        queue(&mut e, at(2 * MAI), iface, false, 7);
        let first = Notice::ReceiveQueueDropped {
            iface,
            lost: 7,
            held_back: 0,
        };
        assert_eq!(notices(drain(&mut e)), [first]);
        queue(&mut e, at(3 * MAI), iface, false, 5);
        queue(&mut e, at(4 * MAI), iface, true, 2);
        assert_eq!(notices(drain(&mut e)), []);
        queue(&mut e, at(2 * MAI + NOTICE_WINDOW), iface, false, 1);
        let next = Notice::ReceiveQueueDropped {
            iface,
            lost: 1,
            held_back: 2,
        };
        assert_eq!(notices(drain(&mut e)), [next]);
        assert_eq!(e.stats.receive_queue_drops, 15);
    }
}
