//! The checker engine's configuration, built from the parsed keepalived.conf
//! ([`crate::conf::CheckerConf`]): flat arrays indexed by [`CheckId`] and [`VsId`].

use core::net::IpAddr;
use core::time::Duration;

use super::io::{CheckId, VsId};
use crate::conf::{self, CheckKind};

/// One health checker as the engine runs it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckerSpec {
    /// Its virtual server.
    pub vs: VsId,
    /// Its real server's index in the virtual server.
    pub rs: u32,
    /// What to check and how (the runner reads it; the engine only needs MISC_CHECK's
    /// `misc_dynamic` and FILE_CHECK's file).
    pub kind: CheckKind,
    /// keepalived.conf(5) `delay_loop`.
    pub delay_loop: Duration,
    /// keepalived.conf(5) `delay_before_retry`.
    pub delay_before_retry: Duration,
    /// keepalived.conf(5) `retry`.
    pub retry: u32,
    /// keepalived.conf(5) `warmup`: the first check starts within this long.
    pub warmup: Duration,
    /// keepalived.conf(5) `alpha`: start down.
    pub alpha: bool,
    /// How long a run may last: `connect_timeout` for network checkers, `misc_timeout` (else
    /// the virtual server's `delay_loop`) for MISC_CHECK.
    pub timeout: Duration,
    /// Where it connects (`connect_ip`, `connect_port`, `bindto`, ...): part of its identity
    /// at a reload.
    pub conn: Option<conf::ConnectOpts>,
    /// HTTP_GET / SSL_GET: the `virtualhost` it sends (its own, else its real server's, else
    /// its virtual server's): part of its identity at a reload.
    pub virtualhost: Option<String>,
}

impl CheckerSpec {
    /// Whether `other` is the same check (a reload keeps its state and schedule): everything
    /// but its place (`vs`, `rs`) is equal.
    pub fn same_check(&self, other: &CheckerSpec) -> bool {
        CheckerSpec {
            vs: other.vs,
            rs: other.rs,
            ..self.clone()
        } == *other
    }

    /// Whether the engine schedules runs of it (every checker but FILE_CHECK, which follows
    /// its file).
    pub fn runs(&self) -> bool {
        !matches!(self.kind, CheckKind::File { .. })
    }

    /// Whether a run that hears nothing by its deadline passes: UDP_CHECK without
    /// `require_reply` (keepalived.conf(5): the check relies on ICMP errors such as port
    /// unreachable; no error within `connect_timeout` is success).
    pub fn silence_passes(&self) -> bool {
        matches!(
            self.kind,
            CheckKind::Udp {
                require_reply: None,
                ..
            }
        )
    }

    /// Whether MISC_CHECK exit statuses set the weight (`misc_dynamic`).
    pub fn dynamic(&self) -> bool {
        matches!(self.kind, CheckKind::Misc { dynamic: true, .. })
    }
}

/// One real server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServerSpec {
    /// Its address and port (its identity at a reload, as keepalived's `rs_iseq`).
    pub addr: IpAddr,
    /// Its port.
    pub port: u16,
    /// Its configured weight.
    pub weight: u32,
    /// `inhibit_on_failure`: down means weight 0, not removal.
    pub inhibit: bool,
    /// Its checkers.
    pub checkers: Vec<CheckId>,
}

/// One virtual server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualServerSpec {
    /// Its name in logs (`192.0.2.1:80`, `FWM 5`, `group web`).
    pub name: String,
    /// Its identity at a reload (keepalived's `vs_iseq`: address and port, fwmark or group,
    /// with the protocol and family).
    pub ident: String,
    /// Real servers.
    pub real_servers: Vec<RealServerSpec>,
    /// `quorum`.
    pub quorum: u32,
    /// `hysteresis`.
    pub hysteresis: u32,
    /// `sorry_server` present, and whether `sorry_server_inhibit` keeps it at weight 0.
    pub sorry: Option<bool>,
    /// The sorry server's address and port (its identity at a reload).
    pub sorry_at: Option<(IpAddr, u16)>,
    /// `omega`.
    pub omega: bool,
}

/// Everything the checker engine runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckerSetup {
    /// Virtual servers, in configuration order.
    pub virtual_servers: Vec<VirtualServerSpec>,
    /// Checkers, in configuration order.
    pub checkers: Vec<CheckerSpec>,
    /// Track files that FILE_CHECKs name, with their `weight` / `reverse` already in the
    /// checker's kind.
    pub track_files: Vec<String>,
    /// `rs_init_notifies`: run `notify_up` for real servers added at start.
    pub rs_init_notifies: bool,
}

impl CheckerSetup {
    /// Builds the setup from a parsed configuration.
    pub fn from_conf(cfg: &conf::Config) -> CheckerSetup {
        let mut s = CheckerSetup {
            rs_init_notifies: cfg.global.checker.rs_init_notifies,
            ..CheckerSetup::default()
        };
        for (v, vs) in cfg.checkers.virtual_servers.iter().enumerate() {
            let vid = VsId(v as u32);
            let mut reals = Vec::new();
            for (r, rs) in vs.real_servers.iter().enumerate() {
                let mut ids = Vec::new();
                for c in &rs.checkers {
                    let timeout = match (&c.kind, &c.conn) {
                        (CheckKind::Misc { timeout, .. }, _) => timeout.unwrap_or(vs.delay_loop),
                        (_, Some(conn)) => conn.timeout,
                        (_, None) => c.delay_loop,
                    };
                    if let CheckKind::File { track_file, .. } = &c.kind {
                        if !s.track_files.contains(track_file) {
                            s.track_files.push(track_file.clone());
                        }
                    }
                    ids.push(CheckId(s.checkers.len() as u32));
                    s.checkers.push(CheckerSpec {
                        vs: vid,
                        rs: r as u32,
                        kind: c.kind.clone(),
                        delay_loop: c.delay_loop,
                        delay_before_retry: c.delay_before_retry,
                        retry: c.retry,
                        warmup: c.warmup,
                        alpha: c.alpha,
                        timeout,
                        conn: c.conn.clone(),
                        virtualhost: match &c.kind {
                            CheckKind::Http { virtualhost, .. } => virtualhost
                                .clone()
                                .or_else(|| rs.virtualhost.clone())
                                .or_else(|| vs.virtualhost.clone()),
                            _ => None,
                        },
                    });
                }
                reals.push(RealServerSpec {
                    addr: rs.addr,
                    port: rs.port,
                    weight: rs.weight,
                    inhibit: rs.inhibit_on_failure,
                    checkers: ids,
                });
            }
            s.virtual_servers.push(VirtualServerSpec {
                name: vs.key.to_string(),
                ident: format!("{} {:?} {:?}", vs.key, vs.protocol, vs.family),
                real_servers: reals,
                quorum: vs.quorum,
                hysteresis: vs.hysteresis,
                sorry: vs.sorry_server.as_ref().map(|s| s.inhibit),
                sorry_at: vs.sorry_server.as_ref().map(|s| (s.addr, s.port)),
                omega: vs.omega,
            });
        }
        s
    }
}
