//! Thin, safe wrappers over the Linux primitives the event loop is made of: the monotonic clock,
//! `epoll`, an absolute `timerfd` and a `signalfd`; and the process and descriptor calls the
//! daemon's modules share (`pidfd_open`, a signal to a process group, `fstat`), so that those
//! modules need no `unsafe` of their own.
//!
//! Every `unsafe` block here is a plain system call on a file descriptor this module owns, with
//! buffers of the exact size the kernel expects.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use vigil_engine::Instant;

mod realtime;
mod sched;
pub use realtime::*;
pub use sched::*;

/// Turn a `-1` return into the thread's `errno` as an [`io::Error`].
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Read `CLOCK_MONOTONIC` as the engine's [`Instant`]: nanoseconds since boot plus this
/// process's [`epoch_shift`].
///
/// The monotonic clock never jumps with NTP or an operator's `date`, so the engine's "`now`
/// never goes backwards" rule holds.
pub fn now() -> Instant {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    Instant::from_nanos(
        secs.saturating_mul(1_000_000_000)
            .saturating_add(nanos)
            .saturating_add(epoch_shift()),
    )
}

/// How far this process's [`Instant`] epoch lies before the boot: a random number of
/// nanoseconds below one hour, drawn once per process.
///
/// The engine puts every master's adverts on the grid of its Advertisement_Interval counted
/// from its epoch (`instance::grid_after`), so that one process's instances send together in
/// one `sendmmsg`. With the boot as the epoch, every vigild on one machine (routers in
/// namespaces or containers, a test lab) shared that grid: they all woke and sent at the same
/// instant, and a healed partition's lower router was busy sending its own advert, or queued
/// behind the higher one on the same CPU (both SCHED_FIFO at one priority), at the very moment
/// the higher one's advert arrived (perf, issue 18: 33-80 us of the hand-over). Routers on
/// two machines have unrelated grids anyway; a random epoch gives routers on one machine the
/// same, as RFC 5798 section 6 implies (adverts of independent routers are not synchronised).
pub fn epoch_shift() -> u64 {
    static SHIFT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SHIFT.get_or_init(|| {
        let mut b = [0u8; 8];
        // SAFETY: `b` is a valid, writable buffer of its length. On failure (no entropy
        // yet, an old kernel) the shift stays at the clock's own low bits, still unrelated
        // between two processes started at different moments.
        let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), libc::GRND_NONBLOCK) };
        let r = if n == 8 {
            u64::from_ne_bytes(b)
        } else {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: valid, writable timespec.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
            u64::try_from(ts.tv_nsec).unwrap_or(0) ^ u64::from(std::process::id())
        };
        r % 3_600_000_000_000
    })
}

/// The engine's clock for one daemon: [`now`], never earlier than the last instant handed out
/// (the engine's "`now` never goes backwards" rule also holds for back-dated packet arrivals).
#[derive(Debug, Default)]
pub struct Clock {
    last: std::cell::Cell<Instant>,
}

impl Clock {
    /// The current time.
    pub fn now(&self) -> Instant {
        let t = now().max(self.last.get());
        self.last.set(t);
        t
    }

    /// `t` (a kernel receive timestamp), clamped between the last instant handed out and now:
    /// a backup starts its Master_Down_Timer when the advert arrived, not when the loop got to
    /// it.
    pub fn at(&self, t: Instant) -> Instant {
        self.at_before(t, now())
    }

    /// [`Clock::at`] with the current time read by the caller (`now`, taken after the packet
    /// was received): a batch of adverts read by one `recvmmsg` reads the clock once, not once
    /// per advert.
    pub fn at_before(&self, t: Instant, now: Instant) -> Instant {
        let t = t.min(now).max(self.last.get());
        self.last.set(t);
        t
    }
}

/// The offset between `CLOCK_REALTIME` and `CLOCK_MONOTONIC` at one moment, read once for a
/// batch of received adverts (two clock reads per batch instead of per advert: at 1,020
/// instances x 10 ms they were 7.6% of a backup's CPU, perf, issue 18).
#[derive(Clone, Copy, Debug)]
pub struct RealtimeOffset {
    real_now: i128,
    /// `CLOCK_MONOTONIC` when the offset was read.
    pub mono_now: Instant,
}

impl RealtimeOffset {
    /// Read both clocks now.
    pub fn now() -> RealtimeOffset {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        RealtimeOffset {
            real_now: i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec),
            mono_now: now(),
        }
    }

    /// A `CLOCK_REALTIME` timestamp (what `SO_TIMESTAMPNS` gives) on the monotonic clock.
    pub fn monotonic(&self, sec: i64, nsec: i64) -> Instant {
        let stamp = i128::from(sec) * 1_000_000_000 + i128::from(nsec);
        let mono = stamp - self.real_now + i128::from(self.mono_now.as_nanos());
        Instant::from_nanos(u64::try_from(mono.max(0)).unwrap_or(u64::MAX))
    }
}

/// An [`Instant`] as the absolute `timespec` `timerfd_settime` expects.
// The libc crate marks musl's time_t deprecated (it will become 64-bit there): on x86_64 it
// is 64-bit already.
#[allow(deprecated)]
fn timespec_of(at: Instant) -> libc::timespec {
    // Back to CLOCK_MONOTONIC; an instant before the boot (never handed out by `now`) is its
    // first nanosecond, not zero (a zero timerfd value disarms).
    let n = at.as_nanos().saturating_sub(epoch_shift()).max(1);
    libc::timespec {
        tv_sec: libc::time_t::try_from(n / 1_000_000_000).unwrap_or(libc::time_t::MAX),
        // Always < 1e9, fits every c_long.
        tv_nsec: (n % 1_000_000_000) as libc::c_long,
    }
}

/// An epoll instance: the one place the daemon sleeps.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// A new epoll instance (close-on-exec).
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain system call; the returned descriptor is owned from here on.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watch `fd` for input, reporting `token` when it is readable.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `ev` is valid for the call; the kernel copies it.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })?;
        Ok(())
    }

    /// Stop watching `fd`.
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: as in `add`.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut ev) })?;
        Ok(())
    }

    /// Sleep until some watched descriptor is readable; fills `events` and returns the tokens'
    /// count. Interrupted waits return 0 events. The daemon never passes a timeout: its only
    /// timer is the [`TimerFd`], which is itself a watched descriptor.
    pub fn wait(&self, events: &mut [libc::epoll_event]) -> io::Result<usize> {
        self.wait_ms(events, -1)
    }

    /// What is readable now, without sleeping (as [`Epoll::wait`] otherwise): the loop's look
    /// at its sockets when it has waited for a deadline on the CPU.
    pub fn poll(&self, events: &mut [libc::epoll_event]) -> io::Result<usize> {
        self.wait_ms(events, 0)
    }

    fn wait_ms(
        &self,
        events: &mut [libc::epoll_event],
        timeout_ms: libc::c_int,
    ) -> io::Result<usize> {
        let max = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `events` is a valid writable buffer of `max` entries.
        let n =
            unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.as_mut_ptr(), max, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(0);
            }
            return Err(e);
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

/// A `timerfd` on `CLOCK_MONOTONIC` armed with absolute deadlines: the engine's one next
/// deadline, to the nanosecond (epoll's own timeout only has millisecond resolution).
#[derive(Debug)]
pub struct TimerFd {
    fd: OwnedFd,
    armed: Option<Instant>,
}

impl TimerFd {
    /// A disarmed, non-blocking timer.
    pub fn new() -> io::Result<TimerFd> {
        // SAFETY: plain system call.
        let fd = cvt(unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        })?;
        // SAFETY: fresh descriptor.
        Ok(TimerFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            armed: None,
        })
    }

    /// The descriptor to watch.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Make sure the timer fires no later than `at` (absolute); a deadline already in the past
    /// fires at once. When the timer is already armed at or before `at`, nothing is done: waking
    /// early is harmless (the engine's spurious `handle_timeout` is a no-op, and the loop re-arms),
    /// while re-arming costs a system call, and a backup's next deadline moves later with every
    /// advert it receives. `None` (nothing due) likewise leaves an armed timer alone.
    pub fn arm(&mut self, at: Option<Instant>) -> io::Result<()> {
        match (self.armed, at) {
            (_, None) => return Ok(()),
            (Some(cur), Some(t)) if cur <= t => return Ok(()),
            _ => {}
        }
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let value = match at {
            // A zero it_value disarms, so the epoch itself is moved by one nanosecond.
            Some(t) => timespec_of(if t == Instant::ZERO {
                Instant::from_nanos(1)
            } else {
                t
            }),
            None => zero,
        };
        let spec = libc::itimerspec {
            it_interval: zero,
            it_value: value,
        };
        // SAFETY: `spec` is valid for the call; old value not requested.
        cvt(unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        })?;
        self.armed = at;
        Ok(())
    }

    /// The deadline the timer is armed at, if any (what [`TimerFd::arm`] would keep).
    pub fn armed(&self) -> Option<Instant> {
        self.armed
    }

    /// Consume an expiry (clears readability). Forgets the armed deadline so that the next
    /// [`TimerFd::arm`] always re-arms.
    pub fn clear(&mut self) {
        let mut buf = [0u8; 8];
        // SAFETY: reading 8 bytes into an 8-byte buffer; EAGAIN is fine.
        unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        self.armed = None;
    }
}

/// keepalived's `-u MASK`: the file creation mask of the daemon and what it starts.
pub fn set_umask(mask: u32) {
    // SAFETY: umask(2) cannot fail; the mask is truncated to its permission bits.
    unsafe { libc::umask((mask & 0o777) as libc::mode_t) };
}

/// keepalived's `-m`: core dumps of any size (RLIMIT_CORE unlimited), so that a crash leaves
/// one.
pub fn allow_core_dumps() -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit for RLIMIT_CORE.
    cvt(unsafe { libc::setrlimit(libc::RLIMIT_CORE, &lim) }).map(|_| ())
}

/// A `signalfd` for SIGTERM, SIGINT and SIGHUP: signals become ordinary readable events of the
/// loop, so no handler ever runs in the middle of the engine.
#[derive(Debug)]
pub struct SignalFd {
    fd: OwnedFd,
}

/// The signals the daemon reads from its [`SignalFd`] (SIGUSR1 / SIGUSR2: keepalived's data and
/// stats files). Not SIGXCPU: the real-time guard must act while the loop is busy, so it has a
/// handler of its own ([`enter_realtime`]).
const HANDLED: [libc::c_int; 5] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// keepalived's real-time signals: STATS_CLEAR (SIGRTMAX - 1) and JSON (SIGRTMIN + 2).
pub fn keepalived_rt_signals() -> [libc::c_int; 2] {
    [libc::SIGRTMAX() - 1, libc::SIGRTMIN() + 2]
}

fn handled_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t.
    unsafe {
        libc::sigemptyset(&mut set);
        for s in HANDLED {
            libc::sigaddset(&mut set, s);
        }
        // keepalived's STATS_CLEAR and JSON signals (`keepalived --signum`, `vigild --signum`):
        // read and ignored rather than left to their default action, which ends the process.
        for s in keepalived_rt_signals() {
            libc::sigaddset(&mut set, s);
        }
    }
    set
}

/// Unblock the signals [`SignalFd`] blocks, in a child between `fork` and `exec` (programs the
/// daemon starts must not inherit the mask). Only async-signal-safe calls.
pub fn unblock_handled_signals() {
    let set = handled_set();
    // SAFETY: valid set; sigprocmask is async-signal-safe.
    unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
}

impl SignalFd {
    /// Block the handled signals for this (single-threaded) process and read them from a
    /// descriptor instead.
    pub fn new() -> io::Result<SignalFd> {
        let set = handled_set();
        // SAFETY: valid set; the old mask is not needed.
        cvt(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) })?;
        // SAFETY: -1 asks for a new descriptor.
        let fd = cvt(unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) })?;
        // SAFETY: fresh descriptor.
        Ok(SignalFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The descriptor to watch.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The next pending signal number, if any.
    pub fn read(&self) -> Option<libc::c_int> {
        // SAFETY: signalfd_siginfo is plain data.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reading exactly one siginfo into a buffer of that size.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        (usize::try_from(n).ok() == Some(size)).then_some(info.ssi_signo as libc::c_int)
    }
}

/// Ask the kernel to wake this thread at its timers' exact deadlines: the default timer slack of
/// 50 us would otherwise be added to every advert (see BENCHMARKS-daemon.md).
pub fn set_timer_slack_ns(ns: u64) {
    // SAFETY: PR_SET_TIMERSLACK takes an unsigned long by value.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns as libc::c_ulong, 0, 0, 0) };
}

/// Return the heap's free memory to the kernel (glibc's `malloc_trim`): start-up (parsing the
/// configuration, resolving interfaces) allocates and frees far more than the daemon keeps.
/// On other C libraries (musl: its allocator returns freed memory itself) this does nothing.
pub fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        libc::malloc_trim(0)
    };
}

/// Wait on the CPU until `at` on the monotonic clock: for the last few hundred microseconds
/// before a deadline that must be met to the microsecond (a backup's Master_Down_Timer), where a
/// timer wake-up (the timer interrupt, the wake-up, the switch to this thread: 50-100 us in a
/// VM) would come late. The caller bounds how far away `at` is.
pub fn spin_until(at: Instant) {
    while now() < at {
        std::hint::spin_loop();
    }
}

/// Sleep until `at` on the monotonic clock (absolute, so an interrupted sleep resumes to the
/// same instant).
pub fn sleep_until(at: Instant) {
    let ts = timespec_of(at);
    // SAFETY: valid timespec; EINTR is retried by the loop.
    while unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            std::ptr::null_mut(),
        )
    } == libc::EINTR
    {}
}

/// The index of the interface called `name` (`if_nametoindex`), or `None` when it does not
/// exist.
pub fn if_nametoindex(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

/// The name of interface `index` (`if_indextoname`), or `None` when there is none.
pub fn if_indextoname(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has the IF_NAMESIZE bytes if_indextoname writes at most.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success the buffer holds a NUL-terminated name.
    let c = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(c.to_string_lossy().into_owned())
}

/// `pidfd_open(pid, 0)` (pidfd_open(2)): a descriptor that becomes readable when process `pid`
/// exits. Check programs (`vrrp_script`, MISC_CHECK) are watched through it in epoll, so the
/// daemon learns of their end without blocking in `waitpid` and without SIGCHLD. std has no
/// binding for it (`Child` keeps its pidfd private).
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: pidfd_open(pid, 0) has no memory arguments; it returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_long, 0 as libc::c_long) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: a fresh descriptor the kernel just handed to us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Send `signal` to process group `pgid` (`kill(-pgid, signal)`, kill(2)). A program vigild
/// starts (check, notify or FIFO script) leads its own process group, so this reaches a
/// shell's children too, which `Child::kill` (the leader only) would leave running. A `pgid`
/// of 0 or beyond `pid_t` is refused (`EINVAL`): `kill(0, ..)` would signal vigild's own group.
pub fn signal_process_group(pgid: u32, signal: libc::c_int) -> io::Result<()> {
    let pgid = match libc::pid_t::try_from(pgid) {
        Ok(p) if p > 0 => p,
        _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
    };
    // SAFETY: kill(2) has no memory arguments.
    if unsafe { libc::kill(-pgid, signal) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// SIGKILL to process group `pgid` ([`signal_process_group`]): a program that outlasted its
/// timeout, with everything it started.
pub fn kill_process_group(pgid: u32) -> io::Result<()> {
    signal_process_group(pgid, libc::SIGKILL)
}

/// The device and inode of the file open on `fd` (`st_dev`, `st_ino` of fstat(2)), without
/// taking ownership of the descriptor (std's `metadata` needs a `File`). Used to tell whether
/// stderr is the journald stream that `$JOURNAL_STREAM` names.
pub fn device_and_inode(fd: BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    // SAFETY: an all-zero `stat` is a valid value of the plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is a valid open descriptor for the borrow; `st` is valid for writes.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((st.st_dev, st.st_ino))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_clock_moves_forward() {
        let a = now();
        let b = now();
        assert!(b >= a);
        assert!(a > Instant::ZERO);
    }

    #[test]
    fn timerfd_fires_at_an_absolute_deadline() {
        let ep = Epoll::new().unwrap();
        let mut t = TimerFd::new().unwrap();
        ep.add(t.raw_fd(), 7).unwrap();
        let at = now() + core::time::Duration::from_millis(5);
        t.arm(Some(at)).unwrap();
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
        let n = ep.wait(&mut evs).unwrap();
        assert_eq!(n, 1);
        assert_eq!({ evs[0].u64 }, 7);
        assert!(now() >= at);
        t.clear();
    }

    #[test]
    fn the_epoch_shift_is_below_an_hour_and_undone_for_the_kernel() {
        let shift = epoch_shift();
        assert!(shift < 3_600_000_000_000);
        assert_eq!(shift, epoch_shift(), "drawn once per process");
        // The engine's instant, handed back to the kernel, is CLOCK_MONOTONIC again.
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid, writable timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        let before = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
        let k = timespec_of(now());
        let back = i128::from(k.tv_sec) * 1_000_000_000 + i128::from(k.tv_nsec);
        assert!(back >= before && back - before < 1_000_000_000);
        // An instant before the shifted epoch never becomes a zero (disarming) timer value.
        let z = timespec_of(Instant::ZERO);
        assert!(z.tv_sec != 0 || z.tv_nsec != 0);
    }

    #[test]
    fn loopback_has_an_index() {
        assert!(if_nametoindex("lo").is_some());
        assert!(if_nametoindex("no-such-if0").is_none());
    }
    #[test]
    fn a_pidfd_becomes_readable_when_the_process_exits() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pidfd = pidfd_open(child.id()).unwrap();
        let readable = |t: libc::c_int| {
            let mut p = libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut p, 1, t) == 1 }
        };
        assert!(!readable(0), "sleep 30 is still running");
        child.kill().unwrap();
        assert!(readable(10_000));
        child.wait().unwrap();
        assert!(pidfd_open(0).is_err());
        assert!(pidfd_open(u32::MAX).is_err());
    }

    #[test]
    fn killing_a_process_group_reaches_the_children_and_refuses_group_zero() {
        use std::os::unix::process::CommandExt;
        // A shell that leads its own group and starts a child that would outlive it.
        let mut sh = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(sh.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild: u32 = line.trim().parse().unwrap();
        let grandchild_fd = pidfd_open(grandchild).unwrap();
        kill_process_group(sh.id()).unwrap();
        sh.wait().unwrap();
        let mut p = libc::pollfd {
            fd: grandchild_fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        assert_eq!(
            unsafe { libc::poll(&mut p, 1, 10_000) },
            1,
            "the sleep died too"
        );
        assert_eq!(
            kill_process_group(0).unwrap_err().raw_os_error(),
            Some(libc::EINVAL)
        );
        assert_eq!(
            signal_process_group(u32::MAX, libc::SIGTERM)
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EINVAL)
        );
    }

    #[test]
    fn device_and_inode_match_the_file_s_metadata() {
        use std::os::fd::AsFd;
        use std::os::unix::fs::MetadataExt;
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        let m = f.metadata().unwrap();
        assert_eq!(device_and_inode(f.as_fd()).unwrap(), (m.dev(), m.ino()));
    }
}
