//! How vigild's process is scheduled, as keepalived.conf's `global_defs` asks
//! (keepalived.conf(5): `vrrp_priority`, `vrrp_no_swap`, `vrrp_rt_priority`,
//! `vrrp_cpu_affinity`, `vrrp_rlimit_rttime` and their `checker_` twins); read by
//! `sections/process.rs`, applied by io-linux at start-up.

use super::lexer::Location;
use super::model::GlobalDefs;

/// How one of keepalived's processes is scheduled (keepalived.conf(5) `global_defs`:
/// `vrrp_priority`, `vrrp_no_swap`, `vrrp_rt_priority`, `vrrp_cpu_affinity`,
/// `vrrp_rlimit_rttime` and their `checker_` twins; keepalived 2.2.7 lib/process.c
/// `set_process_priorities`). `None`: not set, vigild's default applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessSettings {
    /// `*_priority -20..19`: the nice value (`setpriority`). It governs the daemon whenever it
    /// is not real-time: without the privilege, with `VIGIL_NO_REALTIME`, and after the
    /// real-time guard has demoted it.
    pub nice: Option<i32>,
    /// `*_rt_priority 1..99`: real-time priority, at SCHED_RR as in keepalived (vigild's own
    /// default, when this is not set, is SCHED_FIFO at 10).
    pub rt_priority: Option<u32>,
    /// `*_rlimit_rttime` microseconds (`*_rlimit_rtime`, deprecated): RLIMIT_RTTIME's hard
    /// limit, the soft one half of it, as in keepalived (vigild's default: 200 ms soft, 2 s
    /// hard). A value of 1 is taken as 2, as keepalived does, so that half of it is not 0.
    pub rlimit_rttime_us: Option<u64>,
    /// `*_cpu_affinity CPU...`: the CPUs the daemon may run on, and where the list was written
    /// (the daemon checks the CPUs are online at start-up).
    pub cpu_affinity: Option<(Vec<u32>, Location)>,
    /// `*_no_swap`: lock the daemon's memory. vigild always does (`mlockall` on fault).
    pub no_swap: bool,
}

impl ProcessSettings {
    /// Whether `other` asks for the same scheduling (where a CPU list was written does not
    /// count: a reload of a file with a line added above it changes nothing).
    pub fn same_as(&self, other: &ProcessSettings) -> bool {
        let cpus = |p: &ProcessSettings| p.cpu_affinity.as_ref().map(|(c, _)| c.clone());
        self.nice == other.nice
            && self.rt_priority == other.rt_priority
            && self.rlimit_rttime_us == other.rlimit_rttime_us
            && self.no_swap == other.no_swap
            && cpus(self) == cpus(other)
    }

    /// These settings, each unset one taken from `other`: vigild's one loop runs VRRP and the
    /// checkers, so a `checker_` setting applies when its `vrrp_` twin is not set.
    pub fn or(&self, other: &ProcessSettings) -> ProcessSettings {
        ProcessSettings {
            nice: self.nice.or(other.nice),
            rt_priority: self.rt_priority.or(other.rt_priority),
            rlimit_rttime_us: self.rlimit_rttime_us.or(other.rlimit_rttime_us),
            cpu_affinity: self
                .cpu_affinity
                .clone()
                .or_else(|| other.cpu_affinity.clone()),
            no_swap: self.no_swap || other.no_swap,
        }
    }
}

impl GlobalDefs {
    /// The settings vigild's one loop runs with: the `vrrp_` ones, each unset one taken from
    /// its `checker_` twin.
    pub fn process(&self) -> ProcessSettings {
        self.vrrp_process.or(&self.checker_process)
    }
}
