//! # vigil-linux: the Linux runner of the Vigil VRRP engine (`vigild`)
//!
//! Thin by design (docs/ARCHITECTURE.md): it owns file descriptors and processes and makes no protocol
//! decision. Everything VRRP (states, timers, checks of received adverts, what to send and when)
//! is the engine's ([`vigil_engine::Engine`]); this crate turns the machine into engine inputs and
//! engine actions into system calls.
//!
//! ## The event loop
//!
//! One thread, one `epoll` instance ([`sys::Epoll`]), level-triggered, watching:
//!
//! - a `timerfd` on `CLOCK_MONOTONIC` ([`sys::TimerFd`]) armed, with an **absolute** deadline,
//!   at the engine's one next deadline ([`vigil_engine::Engine::poll_timeout`]) before every
//!   sleep: it is the daemon's only timer, so there is no timer wheel or timer list here to
//!   drift from the engine's schedule. The one exception is the schedule of check programs
//!   (`vrrp_script` intervals and timeouts), which the engine leaves to the runner: the timer is
//!   armed at the earlier of the two deadlines. `timerfd` has nanosecond resolution (epoll's own timeout
//!   has milliseconds), and the thread's timer slack is set to 1 ns so that the kernel does not
//!   add its default 50 us to every wake-up;
//! - a `signalfd` for SIGTERM, SIGINT and SIGHUP (reload, below) ([`sys::SignalFd`]): no signal handler ever
//!   runs in the middle of the engine;
//! - an rtnetlink socket subscribed to link and address events ([`netlink::RtnlEvents`]);
//! - one raw VRRP socket per (interface, family) ([`vrrp_socket::VrrpSocket`]), and one per
//!   `use_vmac` macvlan, read with
//!   `recvmmsg`; the adverts one engine call produces go out with one `sendmmsg` per socket
//!   ([`batch`]); with `--packet-socket-adverts` (off by default), IPv4 multicast ones of an
//!   Ethernet interface on an `AF_PACKET` socket beside its raw one, with the daemon's own IPv4
//!   header ([`vrrp_socket::VrrpSocket::link_fd`]);
//! - a pidfd per running check program ([`checks`]);
//! - an inotify descriptor for tracked files ([`track_files`]);
//! - the kernel's process events connector for tracked processes ([`track_process`]);
//! - the operator side's status socket (`operator`: notify programs and FIFOs, e-mail, status,
//!   metrics, which sees every action before it is carried out).
//!
//! Each wake-up reads what is ready, feeds the engine with [`sys::now`] (the monotonic clock
//! mapped to [`vigil_engine::Instant`]: nanoseconds since boot plus a random per-process shift,
//! [`sys::epoch_shift`]), drains every action after every
//! call, and re-arms the timer. A deadline that passed while input was being served is served
//! before the next sleep. Why not mio or an async runtime: the loop needs exactly four kinds of
//! descriptor and one absolute nanosecond timer, which mio does not offer (its timeout is the
//! epoll millisecond one); a runtime would add tasks and wakers around an engine that is already
//! a state machine.
//!
//! ## Files
//!
//! - the pid file (`-p`, default `/run/vigild.pid`), removed on a clean stop;
//! - the address record beside it (`PIDFILE` with extension `.vips`, see [`addr_state`]): how a
//!   restart after a crash knows which addresses the dead run added, and removes them.
//!
//! ## Reload (SIGHUP)
//!
//! The configuration is read again (same `-f` and `-i`); a file that does not parse or convert
//! is refused with every error logged at its file:line:column, and the running configuration
//! is left untouched. Otherwise [`vigil_engine::Engine::reload`] decides what is kept (same
//! name, interface, family, VRID and version: state, timers and counters, no transition, no
//! advert gap; a MASTER moves only its address difference). The daemon carries out the
//! stopping routers' actions against its old tables (ids may be reused), rebuilds its interface
//! table by name (sockets of interfaces still used are kept, new ones opened, unused ones
//! closed), reloads the operator side, re-creates checks and tracked files, diffs each MASTER's
//! excluded addresses and routes, and tells systemd `RELOADING=1` then `READY=1`.
//!
//! ## Besides the advertised addresses
//!
//! - `virtual_ipaddress_excluded` and `virtual_routes` ([`routes`]): installed while MASTER,
//!   on the engine's state changes, never advertised; excluded addresses are announced with the
//!   others; `static_ipaddress` and `static_routes`: installed from start-up to stop;
//! - `use_vmac` ([`vmac`]): a private-mode macvlan with the virtual MAC, keepalived's sysctls,
//!   adverts and announcements sent and heard on it, the addresses on it.
//!
//! ## Not done yet (see the issue)
//!
//! Following a change of the parent's link-local address on an IPv6 `use_vmac` macvlan;
//! tracking of virtual and static routes (a route the kernel drops does not fault the
//! instance); route options beyond destination / via / src / dev / table (by number) / metric /
//! scope / type; keeping a check program's run across a reload (every check is killed and
//! starts again, its up/down state kept by the engine); syslog in the foreground (with `-n`
//! the daemon logs to stderr, as under systemd; without `-n` it detaches and logs to syslog,
//! see [`background`]). Unsupported settings are logged as warnings at start-up ([`routes`],
//! [`vmac`]). Sync groups and tracked interfaces need nothing from the runner beyond link
//! events: the engine runs them.

// `unsafe` is denied in the whole crate (the workspace's [lints]) except in these modules, which
// wrap system calls that have no safe binding in the crates used: each names why.
pub mod addr_state;
#[allow(unsafe_code)] // sendto(2) of link-layer frames on an AF_PACKET socket
pub mod announce;
#[allow(unsafe_code)] // fork(2), setsid(2), dup2(2): detaching into the background
pub mod background;
#[allow(unsafe_code)] // recvmmsg(2) / sendmmsg(2) with control messages
pub mod batch;
pub mod checker; // unsafe allowed in two of its modules only (checker/mod.rs)
pub mod checks;
pub mod daemon;
pub mod dataplane;
pub mod dump;
pub mod handover_probe;
pub mod load;
pub mod netlink;
pub mod pid_file;
pub mod route_encap;
pub mod routes;
pub mod start_stop;
#[allow(unsafe_code)] // signals, clocks, epoll, pidfd_open(2), kill(2) of a process group, fstat(2)
pub mod sys;
#[allow(unsafe_code)] // inotify(7) on tracked files
pub mod track_files;
pub mod track_process;
pub mod vip_firewall;
pub mod vmac;
#[allow(unsafe_code)] // raw VRRP sockets: setsockopt(2) options and multicast membership
pub mod vrrp_socket;

pub use daemon::{run, Daemon, DaemonOptions};
pub mod operator;
