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
//! as unresolved (`[unknown]`, as keepalived ends up with when the lookup fails) and a warning
//! says so. A configuration check (`-t`, and its `-d` dump) has no instance to hold back: it
//! waits as keepalived does, up to [`CHECK_WAIT`] ([`wait_as_a_check`]). With the daemon's
//! quarter second, a check on a loaded machine printed `[unknown]` where keepalived printed the
//! name (the dump differential, in a clean clone beside a fuzz run, 2026-12-05): the first
//! look-up loads glibc's name-service modules, and under load that took longer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

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

/// The host's canonical name, or `None` when it does not resolve.
pub fn local_name() -> Option<&'static str> {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    NAME.get_or_init(|| {
        within(
            Duration::from_millis(WAIT_MS.load(Ordering::Relaxed)),
            lookup,
        )
    })
    .as_deref()
}

/// `find`'s answer if it comes within `wait` (it runs on a thread of its own, left to finish
/// alone when late), else `None` and a warning.
fn within(wait: Duration, find: fn() -> Option<String>) -> Option<String> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("local-name".into())
        .spawn(move || {
            let _ = tx.send(find());
        });
    if spawned.is_err() {
        return find();
    }
    match rx.recv_timeout(wait) {
        Ok(name) => name,
        Err(_) => {
            tracing::warn!(
                "the host name did not resolve within {} ms: router_id is [unknown] (keepalived \
                 would wait for the resolver)",
                wait.as_millis()
            );
            None
        }
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

/// `router_id` when the configuration sets none.
pub fn default_router_id() -> String {
    local_name().unwrap_or(UNKNOWN).to_string()
}

/// The `router_id` in effect: the configured one, else [`default_router_id`].
pub fn router_id(configured: Option<&str>) -> String {
    configured.map_or_else(default_router_id, str::to_string)
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

    #[test]
    fn a_resolver_slower_than_the_wait_leaves_the_name_unresolved() {
        assert_eq!(within(Duration::from_millis(200), slow), None);
        assert_eq!(
            within(Duration::from_secs(10), quick).as_deref(),
            Some("lb1.example.net")
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
            default_router_id(),
            expected.as_deref().unwrap_or(UNKNOWN),
            "router_id's default"
        );
        assert_eq!(default_email_from().is_some(), expected.is_some());
    }
}
