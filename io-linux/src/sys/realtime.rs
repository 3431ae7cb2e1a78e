//! Real-time scheduling and its guard: SCHED_FIFO (or keepalived.conf's `vrrp_rt_priority` at
//! SCHED_RR, [`Plan`]) with SCHED_RESET_ON_FORK, RLIMIT_RTTIME
//! with a SIGXCPU handler that demotes the daemon at once, and the way back to real time once
//! the loop has slept.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};

use super::{cvt, trim_heap};

/// The real-time priority the daemon runs at: low among real-time tasks (the kernel's own
/// interrupt threads run at 50), above every ordinary process.
pub const REALTIME_PRIORITY: libc::c_int = 10;
/// CPU time the daemon may use at real-time priority without sleeping before it is demoted
/// (soft limit, SIGXCPU) and, as a last resort, killed (hard limit). The loop sleeps between
/// batches of work; a batch longer than this (taking over thousands of instances at start-up)
/// runs the rest of its way at normal priority, and a loop that never sleeps again stays there.
pub const RTTIME_SOFT_US: u64 = 200_000;
/// See [`RTTIME_SOFT_US`].
pub const RTTIME_HARD_US: u64 = 2_000_000;

/// The real-time class the daemon enters and returns to, and its CPU budget: vigild's default
/// (SCHED_FIFO at [`REALTIME_PRIORITY`], [`RTTIME_SOFT_US`] / [`RTTIME_HARD_US`]), or what
/// keepalived.conf asks for (`vrrp_rt_priority`: SCHED_RR at that priority, as keepalived;
/// `vrrp_rlimit_rttime`: the hard limit, the soft one half of it, as keepalived).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// SCHED_FIFO or SCHED_RR.
    pub policy: libc::c_int,
    /// 1..=99.
    pub priority: libc::c_int,
    /// RLIMIT_RTTIME's soft limit (SIGXCPU: the guard demotes the loop), microseconds.
    pub soft_us: u64,
    /// RLIMIT_RTTIME's hard limit (the kernel ends the daemon), microseconds.
    pub hard_us: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            policy: libc::SCHED_FIFO,
            priority: REALTIME_PRIORITY,
            soft_us: RTTIME_SOFT_US,
            hard_us: RTTIME_HARD_US,
        }
    }
}

impl Plan {
    /// The plan for keepalived.conf's process settings (`global_defs`).
    pub fn of(p: &vigil_engine::conf::ProcessSettings) -> Plan {
        let d = Plan::default();
        let (soft_us, hard_us) = match p.rlimit_rttime_us {
            Some(hard) => (hard / 2, hard),
            None => (d.soft_us, d.hard_us),
        };
        match p.rt_priority {
            Some(prio) => Plan {
                policy: libc::SCHED_RR,
                priority: libc::c_int::try_from(prio).unwrap_or(REALTIME_PRIORITY),
                soft_us,
                hard_us,
            },
            None => Plan {
                soft_us,
                hard_us,
                ..d
            },
        }
    }

    /// The class as `chrt` names it.
    pub fn policy_name(&self) -> &'static str {
        if self.policy == libc::SCHED_RR {
            "SCHED_RR"
        } else {
            "SCHED_FIFO"
        }
    }
}

/// The plan [`enter_realtime`] used, for the way back and the guard's messages.
static PLAN: std::sync::OnceLock<Plan> = std::sync::OnceLock::new();

/// The plan the daemon entered real time with ([`Plan::default`] before that).
pub fn realtime_plan() -> Plan {
    PLAN.get().copied().unwrap_or_default()
}

/// What [`enter_realtime`] managed to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Realtime {
    /// Real-time scheduling is on ([`Plan`]'s class: SCHED_FIFO, or SCHED_RR).
    pub realtime: bool,
    /// Memory is locked.
    pub locked: bool,
    /// RLIMIT_RTPRIO allows [`REALTIME_PRIORITY`], so the daemon can return to SCHED_FIFO after
    /// a demotion without `CAP_SYS_NICE`, which it gives up after start-up
    /// ([`return_to_realtime`]).
    pub can_return: bool,
}

/// What the SIGXCPU handler did: [`GUARD_IDLE`], [`GUARD_DEMOTED`] or [`GUARD_REFUSED`].
static GUARD: AtomicU8 = AtomicU8::new(GUARD_IDLE);
const GUARD_IDLE: u8 = 0;
const GUARD_DEMOTED: u8 = 1;
const GUARD_REFUSED: u8 = 2;

/// SIGXCPU (RLIMIT_RTTIME's soft limit): the calling thread (the kernel sends it to the thread
/// that ran too long, the only real-time one) goes back to SCHED_OTHER at once, in the middle of
/// whatever it is doing; the loop reports it and returns later ([`take_realtime_demotion`]).
/// Only a system call and an atomic store: async-signal-safe. SCHED_RESET_ON_FORK is kept: a
/// thread without `CAP_SYS_NICE` may not clear it (EPERM).
extern "C" fn on_sigxcpu(_: libc::c_int) {
    let param = sched_param(0);
    // SAFETY: valid sched_param; pid 0 is this thread.
    let ok = unsafe { set_scheduler(libc::SCHED_OTHER | libc::SCHED_RESET_ON_FORK, &param) } == 0;
    GUARD.store(
        if ok { GUARD_DEMOTED } else { GUARD_REFUSED },
        Ordering::Relaxed,
    );
}

/// Install [`on_sigxcpu`] (SA_RESTART: interrupted system calls resume).
fn install_sigxcpu_guard() -> bool {
    // SAFETY: sigaction is plain data; all zeroes is an empty mask and no flags.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = on_sigxcpu as extern "C" fn(libc::c_int) as libc::sighandler_t;
    sa.sa_flags = libc::SA_RESTART;
    // SAFETY: valid sigaction; the handler is async-signal-safe.
    unsafe {
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGXCPU, &sa, std::ptr::null_mut()) == 0
    }
}

/// Whether the real-time guard demoted the daemon since the last call: `Some(true)` demoted to
/// SCHED_OTHER, `Some(false)` the demotion was refused (the hard limit then ends the daemon if
/// it does not sleep), `None` nothing happened.
pub fn take_realtime_demotion() -> Option<bool> {
    match GUARD.swap(GUARD_IDLE, Ordering::Relaxed) {
        GUARD_DEMOTED => Some(true),
        GUARD_REFUSED => Some(false),
        _ => None,
    }
}

/// Voluntary context switches of the calling thread (`getrusage(RUSAGE_THREAD)`): it grows when
/// the thread has slept, which is when the daemon may return to real time after a demotion.
pub fn voluntary_switches() -> u64 {
    // SAFETY: rusage is plain data.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid rusage to fill.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    u64::try_from(ru.ru_nvcsw).unwrap_or(0)
}

/// Back to the [`Plan`]'s class and priority after a demotion, once the loop has slept.
///
/// The kernel's count of real-time CPU without sleeping is reset only when a real-time thread
/// wakes, so after the switch the count is still the one that ran out; the kernel raised the
/// soft limit by a second when it sent SIGXCPU, so the count is below it for now. The thread
/// then sleeps 100 us at real-time priority (checked: its voluntary context switches grow; a
/// 1 us sleep can end before the thread ever leaves the CPU, and the old count then sent
/// SIGXCPU again at the next tick, which demoted the loop over and over), and only then is the
/// soft limit put back to the plan's. Needs RLIMIT_RTPRIO >= the plan's priority
/// ([`Realtime::can_return`]) or `CAP_SYS_NICE`. `Ok(false)`: SCHED_FIFO again, but the
/// sleep never left the CPU, so the raised soft limit stays (the guard still demotes before
/// the hard limit).
pub fn return_to_realtime() -> io::Result<bool> {
    let plan = realtime_plan();
    let param = sched_param(plan.priority);
    // SAFETY: valid sched_param; pid 0 is this thread.
    if unsafe { set_scheduler(plan.policy | libc::SCHED_RESET_ON_FORK, &param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 100_000,
    };
    let mut slept = false;
    for _ in 0..10 {
        let before = voluntary_switches();
        // SAFETY: valid timespec; an interrupted sleep is retried by the loop.
        unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
        if voluntary_switches() > before {
            slept = true;
            break;
        }
    }
    if !slept {
        return Ok(false);
    }
    let lim = libc::rlimit {
        rlim_cur: plan.soft_us as libc::rlim_t,
        rlim_max: plan.hard_us as libc::rlim_t,
    };
    // SAFETY: valid rlimit; lowering the soft limit needs no privilege.
    cvt(unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) })?;
    Ok(true)
}

/// Whether the calling thread runs in the plan's real-time class and could not return to it
/// after a demotion without `CAP_SYS_NICE` (RLIMIT_RTPRIO below its priority: it could not be raised,
/// as on a machine where root lacks `CAP_SYS_RESOURCE`): privilege::confine then keeps the
/// capability, as it keeps `CAP_IPC_LOCK` when the locked-memory limit cannot be lifted.
pub fn realtime_return_needs_cap_sys_nice() -> bool {
    // The system call, not the C library's wrapper: musl's fails with ENOSYS, as its
    // `sched_setscheduler` does (see `set_scheduler`).
    // SAFETY: pid 0 is the calling thread; no memory is passed.
    let policy = unsafe { libc::syscall(libc::SYS_sched_getscheduler, 0) };
    if policy < 0 || (policy as libc::c_int) & !libc::SCHED_RESET_ON_FORK != realtime_plan().policy
    {
        return false;
    }
    rtprio_limit().is_none_or(|cur| !allows_realtime(cur))
}

/// RLIMIT_RTPRIO as it is now, `None` when it cannot be read.
fn rtprio_limit() -> Option<libc::rlimit> {
    // SAFETY: rlimit is plain data.
    let mut cur: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: valid rlimit to fill.
    (unsafe { libc::getrlimit(libc::RLIMIT_RTPRIO, &mut cur) } == 0).then_some(cur)
}

/// Whether a soft RLIMIT_RTPRIO lets a thread without `CAP_SYS_NICE` set
/// the plan's priority.
fn allows_realtime(lim: libc::rlimit) -> bool {
    lim.rlim_cur == libc::RLIM_INFINITY || lim.rlim_cur >= realtime_plan().priority as libc::rlim_t
}

/// Raise RLIMIT_RTPRIO to the plan's priority (while the daemon still has the privilege), so
/// that [`return_to_realtime`] works after `CAP_SYS_NICE` is gone.
fn allow_return_to_realtime() -> bool {
    let Some(cur) = rtprio_limit() else {
        return false;
    };
    if allows_realtime(cur) {
        return true;
    }
    let want = realtime_plan().priority as libc::rlim_t;
    let lim = libc::rlimit {
        rlim_cur: want,
        rlim_max: if cur.rlim_max == libc::RLIM_INFINITY {
            cur.rlim_max
        } else {
            cur.rlim_max.max(want)
        },
    };
    // SAFETY: valid rlimit; raising the hard limit needs CAP_SYS_RESOURCE, held here.
    unsafe { libc::setrlimit(libc::RLIMIT_RTPRIO, &lim) == 0 }
}

/// Make the daemon's timing independent of the machine's load, safely:
///
/// - the `plan`'s class and priority (SCHED_FIFO at [`REALTIME_PRIORITY`] by default) with
///   SCHED_RESET_ON_FORK, so check and notify programs
///   start as ordinary processes;
/// - RLIMIT_RTTIME: a real-time task that runs the plan's soft limit of CPU without blocking gets
///   SIGXCPU, whose handler demotes the daemon to SCHED_OTHER at once; the loop returns to
///   SCHED_FIFO once it has slept ([`return_to_realtime`], allowed by RLIMIT_RTPRIO, set here);
///   the hard limit kills a runaway daemon rather than the machine if the demotion fails;
/// - `mlockall` (on fault): once touched, no page of the daemon is ever paged out, so the
///   takeover path does not wait for the disk.
///
/// Each step that fails (no privilege, a container) is skipped; the daemon then runs as an
/// ordinary process.
pub fn enter_realtime(plan: Plan) -> Realtime {
    let mut r = Realtime::default();
    // The first plan stays: entered once, at start-up.
    let plan = *PLAN.get_or_init(|| plan);
    let lim = libc::rlimit {
        rlim_cur: plan.soft_us as libc::rlim_t,
        rlim_max: plan.hard_us as libc::rlim_t,
    };
    // The handler first: the budget may run out before this function returns.
    let guard = install_sigxcpu_guard();
    // SAFETY: valid rlimit for the call.
    let lim_ok = guard && unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) } == 0;
    if lim_ok {
        r.can_return = allow_return_to_realtime();
        let param = sched_param(plan.priority);
        // SAFETY: valid sched_param; pid 0 is this thread.
        r.realtime = unsafe { set_scheduler(plan.policy | libc::SCHED_RESET_ON_FORK, &param) } == 0;
    }
    // The configuration's parse left freed heap behind: give it back before locking, or it
    // stays resident (and locked) for the daemon's life.
    trim_heap();
    // MCL_ONFAULT: pages are locked as they are first touched, so the resident set stays what
    // the daemon uses (not every mapped page of the binary and its libraries), and a page once
    // touched is never paged out.
    // SAFETY: plain system call.
    r.locked =
        unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) } == 0;
    r
}

/// `sched_setscheduler(2)` for the calling thread, as the system call: musl's wrapper always
/// fails with ENOSYS (POSIX means a process, Linux a thread), glibc's is the system call.
///
/// # Safety
/// `param` must point to a valid `sched_param`.
unsafe fn set_scheduler(policy: libc::c_int, param: *const libc::sched_param) -> libc::c_long {
    libc::syscall(libc::SYS_sched_setscheduler, 0, policy, param)
}

/// A `sched_param` with `priority` (musl's has more fields than glibc's, all zero here).
fn sched_param(priority: libc::c_int) -> libc::sched_param {
    // SAFETY: sched_param is plain integers, for which all zeroes is valid.
    let mut p: libc::sched_param = unsafe { std::mem::zeroed() };
    p.sched_priority = priority;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_engine::conf::ProcessSettings;

    /// keepalived.conf's settings give keepalived's class and budget; unset ones keep vigild's
    /// defaults.
    #[test]
    fn the_plan_follows_keepalived_s_settings_and_keeps_vigild_s_defaults_otherwise() {
        assert_eq!(Plan::of(&ProcessSettings::default()), Plan::default());
        assert_eq!(Plan::default().policy_name(), "SCHED_FIFO");
        let p = Plan::of(&ProcessSettings {
            rt_priority: Some(20),
            rlimit_rttime_us: Some(400_000),
            ..ProcessSettings::default()
        });
        assert_eq!(
            (p.policy_name(), p.priority, p.soft_us, p.hard_us),
            ("SCHED_RR", 20, 200_000, 400_000)
        );
        let budget_only = Plan::of(&ProcessSettings {
            rlimit_rttime_us: Some(10_000),
            ..ProcessSettings::default()
        });
        assert_eq!(
            (
                budget_only.policy,
                budget_only.priority,
                budget_only.soft_us,
                budget_only.hard_us
            ),
            (libc::SCHED_FIFO, REALTIME_PRIORITY, 5_000, 10_000)
        );
    }
}
