//! The process settings of keepalived.conf besides real time (keepalived.conf(5) `global_defs`
//! `vrrp_priority` and `vrrp_cpu_affinity`, keepalived 2.2.7 lib/process.c
//! `set_process_priority` / `set_process_cpu_affinity`): the nice value and the CPUs the
//! daemon may run on, applied at start-up before any other thread exists, so that every
//! thread vigild starts later inherits them.

use std::io;

use super::cvt;

/// `setpriority(PRIO_PROCESS, 0, nice)`: the nice value, which governs the daemon whenever it
/// is not real-time (no privilege, `VIGIL_NO_REALTIME`, demoted by the real-time guard).
pub fn set_nice(nice: i32) -> io::Result<()> {
    // SAFETY: plain system call with integer arguments.
    cvt(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) }).map(drop)
}

/// The number of CPUs online (`sysconf(_SC_NPROCESSORS_ONLN)`): keepalived's bound on the
/// CPU numbers of `*_cpu_affinity`.
pub fn online_cpus() -> u32 {
    // SAFETY: plain library call.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u32::try_from(n).unwrap_or(1).max(1)
}

/// `sched_setaffinity(0, ...)`: the calling thread (at start-up, the only one) may run on
/// `cpus` only. Each must be below `CPU_SETSIZE` (the parser's bound).
pub fn set_cpu_affinity(cpus: &[u32]) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        let c = usize::try_from(c).unwrap_or(usize::MAX);
        if c >= libc::CPU_SETSIZE as usize {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: `c` is below CPU_SETSIZE, checked above: inside the set.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: valid set of its own size; pid 0 is this thread.
    cvt(unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) })
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CPU the thread may already run on is accepted, and the affinity then holds it
    /// only; a CPU number beyond CPU_SETSIZE is refused before the system call.
    #[test]
    fn affinity_to_an_allowed_cpu_takes_and_out_of_range_is_refused() {
        let n = online_cpus();
        assert!(n >= 1);
        assert!(set_cpu_affinity(&[u32::MAX]).is_err());
        // In a thread of its own: the test harness's other threads keep their CPUs.
        std::thread::spawn(|| {
            // SAFETY: cpu_set_t is plain data.
            let mut before: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            // SAFETY: valid set of its own size.
            let r = unsafe {
                libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut before)
            };
            assert_eq!(r, 0);
            let first = (0..libc::CPU_SETSIZE as usize)
                // SAFETY: `c` is below CPU_SETSIZE.
                .find(|&c| unsafe { libc::CPU_ISSET(c, &before) })
                .and_then(|c| u32::try_from(c).ok())
                .expect("the thread may run on some CPU");
            set_cpu_affinity(&[first]).expect("an allowed CPU");
            // SAFETY: as above.
            let mut after: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            // SAFETY: valid set of its own size.
            unsafe {
                libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut after)
            };
            // SAFETY: reading a set filled above.
            assert_eq!(unsafe { libc::CPU_COUNT(&after) }, 1);
        })
        .join()
        .expect("the affinity thread");
    }
}
