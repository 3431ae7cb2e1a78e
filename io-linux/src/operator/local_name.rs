//! keepalived's "local name": the defaults of `router_id`, `smtp_helo_name` and
//! `notification_email_from` (keepalived.conf(5) `global_defs`; keepalived 2.2.7
//! `init_global_data`, keepalived/core/global_data.c, and `get_local_name`, lib/utils.c).
//!
//! keepalived does not take the host name as it is: it asks the resolver for its canonical
//! name (`getaddrinfo(nodename, AI_CANONNAME)`, /etc/hosts then DNS as nsswitch.conf says), so
//! `127.0.1.1 lb1.example.net lb1` in /etc/hosts makes `router_id` `lb1.example.net`. When
//! the name does not resolve (a container or a minimal image whose /etc/hosts lacks it),
//! `router_id` is `[unknown]`, and neither the HELO name nor the sender gets a default. The
//! name is looked up once per process, as keepalived keeps its first one across reloads.
//!
//! Unlike keepalived, the daemon waits for the resolver at most [`LOOKUP_WAIT`]: keepalived
//! blocks its start for as long as the resolver takes, and where the name is not in /etc/hosts
//! and DNS does not answer, musl's resolver (the static build's) took 5 s (a fresh Debian 12
//! image, 2026-12-05), which held the VRRP instances back as long. Past the wait the name counts
//! as unresolved for now (`[unknown]`, as keepalived ends up with when the look-up fails) and a
//! warning says so; the look-up goes on, and **when its answer comes it is taken**: from then on
//! `router_id`'s default, the mail's subject, HELO name and sender and the status output use the
//! name, and a notice says so. So a slow resolver costs a daemon the name for a moment, not for
//! its life (a late answer was thrown away until session 16). A configuration check (`-t`, and
//! its `-d` dump) has no instance to hold back: it waits as keepalived does, up to
//! [`CHECK_WAIT`] ([`wait_as_a_check`]). With the daemon's quarter second, a check on a loaded
//! machine printed `[unknown]` where keepalived printed the name (the dump differential, in a
//! clean clone beside a fuzz run, 2026-12-05): the first look-up loads glibc's name-service
//! modules, and under load that took longer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The longest the daemon waits for the resolver's answer (see the module docs): /etc/hosts
/// answers in microseconds and a working DNS server in milliseconds; a quarter second is what
/// a daemon that must take over within Master_Down_Interval can spare at start.
pub const LOOKUP_WAIT: Duration = Duration::from_millis(250);

/// The wait of a configuration check ([`wait_as_a_check`]): a resolver's own timeout for one
/// server (5 s in glibc and musl), and a little more.
pub const CHECK_WAIT: Duration = Duration::from_secs(6);

/// The wait in force, in milliseconds: [`LOOKUP_WAIT`] unless [`wait_as_a_check`] was called.
static WAIT_MS: AtomicU64 = AtomicU64::new(LOOKUP_WAIT.as_millis() as u64);

/// Make the look-up wait [`CHECK_WAIT`]: for `vigild -t`, before anything asks for the name.
pub fn wait_as_a_check() {
    WAIT_MS.store(CHECK_WAIT.as_millis() as u64, Ordering::Relaxed);
}

/// `router_id` when the name does not resolve (keepalived's `unknown_name`).
pub const UNKNOWN: &str = vigil_engine::dump::UNKNOWN_ROUTER_ID;

/// The HELO name keepalived's SMTP client sends when none is set or defaulted
/// (keepalived/core/smtp.c, `helo_cmd`).
pub const HELO_FALLBACK: &str = "localhost";

/// The host's canonical name, or `None` when it does not resolve, or has not resolved within
/// the wait (then a later call gives the name once the answer has come).
pub fn local_name() -> Option<&'static str> {
    static LOOKUP: Lookup = Lookup::new(lookup);
    LOOKUP.name(Duration::from_millis(WAIT_MS.load(Ordering::Relaxed)))
}

/// One look-up, run once on a thread of its own, and its answer.
struct Lookup {
    /// What asks the resolver.
    find: fn() -> Option<String>,
    /// When the look-up began (set by the first caller, which starts the thread).
    began: OnceLock<Instant>,
    /// The answer, once the look-up has ended.
    answer: OnceLock<Option<String>>,
    /// Callers waiting for the answer sleep on `ended`; `lock` pairs with it.
    lock: Mutex<()>,
    ended: Condvar,
    /// Whether the "not resolved within" warning was given (once per look-up).
    warned: AtomicBool,
}

impl Lookup {
    const fn new(find: fn() -> Option<String>) -> Lookup {
        Lookup {
            find,
            began: OnceLock::new(),
            answer: OnceLock::new(),
            lock: Mutex::new(()),
            ended: Condvar::new(),
            warned: AtomicBool::new(false),
        }
    }

    /// The answer if the look-up has ended by `wait` after it began (the first call starts
    /// it), else `None` for now.
    fn name(&'static self, wait: Duration) -> Option<&'static str> {
        if let Some(a) = self.answer.get() {
            return a.as_deref();
        }
        let began = *self.began.get_or_init(|| {
            let began = Instant::now();
            let spawned = std::thread::Builder::new()
                .name("local-name".into())
                .spawn(move || self.resolve(began, wait));
            if spawned.is_err() {
                // No thread: ask here, and wait as keepalived does.
                let _ = self.answer.set((self.find)());
            }
            began
        });
        let deadline = began + wait;
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(a) = self.answer.get() {
                return a.as_deref();
            }
            let now = Instant::now();
            if now >= deadline {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "the host name did not resolve within {} ms: router_id is [unknown] \
                         until it does (keepalived would wait for the resolver)",
                        wait.as_millis()
                    );
                }
                return None;
            }
            guard = self
                .ended
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The look-up thread's body: ask, keep the answer, wake the waiters, and say so when the
    /// answer came after the wait.
    fn resolve(&self, began: Instant, wait: Duration) {
        let name = (self.find)();
        let took = began.elapsed();
        let late = took > wait;
        if late {
            match &name {
                Some(n) => tracing::info!(
                    "the host name resolved after {} ms: router_id's default is {n} from now on",
                    took.as_millis()
                ),
                None => tracing::info!(
                    "the host name's late look-up ended after {} ms without a name",
                    took.as_millis()
                ),
            }
        }
        let _ = self.answer.set(name);
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.ended.notify_all();
    }
}

fn lookup() -> Option<String> {
    let host = dns_lookup::get_hostname().ok()?;
    let hints = dns_lookup::AddrInfoHints {
        flags: libc::AI_CANONNAME,
        ..Default::default()
    };
    let first = dns_lookup::getaddrinfo(Some(&host), None, Some(hints))
        .ok()?
        .next()?
        .ok()?;
    first.canonname.filter(|n| !n.is_empty())
}

/// The `router_id` in effect: the configured one, else the local name, else `[unknown]` while
/// it has not resolved (asked at each call, so that a late answer is taken).
pub fn router_id(configured: Option<&str>) -> &str {
    configured.unwrap_or_else(|| local_name().unwrap_or(UNKNOWN))
}

/// `notification_email_from` when the configuration sets none and an `smtp_server` is set:
/// `USER@LOCALNAME`, USER the name of the daemon's user (keepalived's
/// `set_default_email_from`); none when the local name does not resolve.
pub fn default_email_from() -> Option<String> {
    let host = local_name()?;
    let uid = super::user::Credentials::current().uid;
    let user = super::user::lookup_user_by_uid(uid)?;
    Some(format!("{user}@{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow() -> Option<String> {
        std::thread::sleep(Duration::from_secs(3));
        Some("late.example.net".into())
    }

    fn quick() -> Option<String> {
        Some("lb1.example.net".into())
    }

    fn leaked(find: fn() -> Option<String>) -> &'static Lookup {
        Box::leak(Box::new(Lookup::new(find)))
    }

    #[test]
    fn a_resolver_slower_than_the_wait_gives_no_name_then_the_late_one() {
        let l = leaked(slow);
        let asked = Instant::now();
        assert_eq!(l.name(Duration::from_millis(100)), None, "within the wait");
        assert!(asked.elapsed() >= Duration::from_millis(100), "it waited");
        // Past the wait, later calls do not wait again: no name until the answer comes...
        let again = Instant::now();
        if l.answer.get().is_none() {
            assert_eq!(l.name(Duration::from_millis(100)), None);
            assert!(again.elapsed() < Duration::from_secs(2), "no second wait");
        }
        // ...then the late answer is taken.
        let until = Instant::now() + Duration::from_secs(20);
        while l.answer.get().is_none() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(l.name(Duration::from_millis(100)), Some("late.example.net"));
    }

    #[test]
    fn a_resolver_within_the_wait_gives_its_name_at_once() {
        let l = leaked(quick);
        assert_eq!(l.name(Duration::from_secs(10)), Some("lb1.example.net"));
        assert_eq!(l.name(Duration::ZERO), Some("lb1.example.net"));
    }

    #[test]
    fn a_check_waits_for_a_slow_resolver() {
        assert_eq!(
            leaked(slow).name(CHECK_WAIT),
            Some("late.example.net"),
            "six seconds is longer than this resolver"
        );
    }

    /// glibc's `getent hosts NAME` asks the same resolver (nsswitch.conf's `hosts`) and prints
    /// the canonical name first: an oracle outside this code. Not found (exit 2): no name.
    #[test]
    fn the_local_name_is_what_the_resolver_calls_the_host() {
        let host = dns_lookup::get_hostname().expect("host name");
        let Ok(out) = std::process::Command::new("getent")
            .args(["hosts", &host])
            .output()
        else {
            panic!("getent is missing (Debian: libc-bin)");
        };
        let expected = match out.status.code() {
            Some(0) => String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .nth(1)
                .map(str::to_string),
            Some(2) => None,
            other => panic!("getent hosts {host}: exit {other:?}"),
        };
        assert_eq!(local_name().map(str::to_string), expected);
        assert_eq!(
            router_id(None),
            expected.as_deref().unwrap_or(UNKNOWN),
            "router_id's default"
        );
        assert_eq!(router_id(Some("lb9")), "lb9");
        assert_eq!(default_email_from().is_some(), expected.is_some());
    }
}
