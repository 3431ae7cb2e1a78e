//! The real-time guard's report and the way back (sys::enter_realtime): a batch of work that
//! ran its real-time budget ([`sys::Plan`]) without sleeping (taking over thousands of
//! instances at start-up) was demoted to SCHED_OTHER by the SIGXCPU handler in the middle of
//! it, so that it could not hold a vCPU from everything else; once the loop has slept, the
//! batch is over and the daemon's timing matters again, so it goes back to SCHED_FIFO. A loop
//! that never sleeps again stays demoted. (keepalived 2.2.7 only logs SIGXCPU at half of
//! `vrrp_rlimit_rttime` and is killed at the limit.)

use tracing::{error, info, warn};

use super::Daemon;
use crate::sys;

impl Daemon {
    /// After each wait of the loop: report a demotion, and return to real time when the
    /// thread has slept since.
    pub(super) fn realtime_guard(&mut self) {
        match sys::take_realtime_demotion() {
            Some(true) => {
                warn!(
                    "real-time CPU budget ({} ms without sleeping) used up: normal scheduling \
                     until the loop sleeps again",
                    sys::realtime_plan().soft_us / 1_000
                );
                self.rt_demoted = Some(sys::voluntary_switches());
            }
            Some(false) => error!(
                "real-time CPU budget ({} ms without sleeping) used up and the demotion to \
                 normal scheduling was refused: the hard limit ({} ms) ends the daemon if it \
                 does not sleep",
                sys::realtime_plan().soft_us / 1_000,
                sys::realtime_plan().hard_us / 1_000
            ),
            None => {}
        }
        let Some(then) = self.rt_demoted else {
            return;
        };
        if sys::voluntary_switches() == then {
            return;
        }
        self.rt_demoted = None;
        match sys::return_to_realtime() {
            Ok(true) => info!(
                "real-time scheduling on again ({})",
                sys::realtime_plan().policy_name()
            ),
            Ok(false) => warn!(
                "real-time scheduling on again ({}), its CPU budget left at the kernel's \
                 raised value (a 100 us sleep never left the CPU)",
                sys::realtime_plan().policy_name()
            ),
            Err(e) => {
                warn!("cannot return to real-time scheduling: {e}; staying at normal priority")
            }
        }
    }
}
