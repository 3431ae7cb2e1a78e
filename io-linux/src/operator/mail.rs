//! E-mail alerts (`smtp_alert`): one message when an instance or a sync group enters MASTER,
//! BACKUP or FAULT, and when it stops, like keepalived 2.x (the seed added BACKUP alerts).
//!
//! The message is keepalived's: subject `[ROUTER_ID] VRRP Instance VI_1 - Entering MASTER state`
//! (`VRRP Group G1` for a group), body `=> VRRP Instance is now owning VRRP VIPs <=` and the like,
//! from `notification_email_from` (default `USER@LOCALNAME`, keepalived's: [`super::local_name`])
//! to every `notification_email` address, through `smtp_server` (plain SMTP, as keepalived) with
//! `smtp_helo_name` (default the local name, else `localhost`). Vigil adds one line with the
//! priority and the reason of the change.
//!
//! Messages are sent by one worker thread, in order, with `smtp_connect_timeout` on the
//! connection and on every reply; the event loop only queues them (never waits). An unreachable
//! server is logged once per message and delays only later messages. As keepalived, a state is
//! mailed once: a second change to the state last mailed for the same instance is not.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};
use tracing::{debug, warn};
use vigil_engine::conf::Config;
use vigil_engine::{Action, Engine, Reason, State};

use super::notify::TargetKind;

/// Messages that may wait for the server before new ones are dropped (and logged).
pub const QUEUE_DEPTH: usize = 64;

/// The e-mail settings of `global_defs`; the defaults that come from the local name are resolved
/// when used ([`MailSettings::helo_name`], [`MailSettings::sender`], [`MailSettings::subject_router_id`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailSettings {
    /// `smtp_server` host (address or name).
    pub host: String,
    /// `smtp_server` port.
    pub port: u16,
    /// `smtp_connect_timeout`.
    pub timeout: Duration,
    /// `smtp_helo_name` as configured ([`MailSettings::helo_name`] has the default).
    pub helo: Option<String>,
    /// `notification_email_from` as configured ([`MailSettings::sender`] has the default).
    pub from: Option<String>,
    /// `notification_email`.
    pub to: Vec<String>,
    /// `router_id` as configured ([`MailSettings::subject_router_id`] has the default): the subject's
    /// prefix.
    pub router_id: Option<String>,
}

impl MailSettings {
    /// The settings of `cfg`, or `None` when no server or no recipient is configured (nothing
    /// can be sent). The defaults that come from the local name are taken when a message is
    /// made, so that a resolver's late answer counts ([`super::local_name`]).
    pub fn from_config(cfg: &Config) -> Option<MailSettings> {
        let g = &cfg.global;
        let server = g.smtp_server.as_ref()?;
        if g.notification_email.is_empty() {
            return None;
        }
        Some(MailSettings {
            host: server.host.clone(),
            port: server.port,
            timeout: g.smtp_connect_timeout,
            helo: g.smtp_helo_name.clone(),
            from: g.notification_email_from.clone(),
            to: g.notification_email.clone(),
            router_id: g.router_id.clone(),
        })
    }

    /// The HELO name: `smtp_helo_name`, else the local name, else `localhost` (keepalived's).
    pub fn helo_name(&self) -> String {
        self.helo
            .clone()
            .or_else(|| super::local_name::local_name().map(str::to_string))
            .unwrap_or_else(|| super::local_name::HELO_FALLBACK.to_string())
    }

    /// The sender: `notification_email_from`, else `USER@LOCALNAME`. keepalived 2.2.7 sends
    /// `MAIL FROM:<(null)>` when the local name does not resolve and no sender is set; Vigil
    /// sends from root@localhost then.
    pub fn sender(&self) -> String {
        self.from
            .clone()
            .or_else(super::local_name::default_email_from)
            .unwrap_or_else(|| "root@localhost".to_string())
    }

    /// The subject's prefix: `router_id`, else the local name, else `[unknown]`.
    pub fn subject_router_id(&self) -> String {
        super::local_name::router_id(self.router_id.as_deref()).to_string()
    }
}

/// keepalived's subject suffix and body line for a state.
pub fn wording(kind: TargetKind, state: State) -> (&'static str, &'static str) {
    match (kind, state) {
        (TargetKind::Instance, State::Master) => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        (TargetKind::Instance, State::Backup) => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (TargetKind::Instance, State::Fault) => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (TargetKind::Instance, State::Init) => ("Stopping", "=> VRRP Instance stopping <="),
        (TargetKind::Group, State::Master) => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        (TargetKind::Group, State::Backup) => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        (TargetKind::Group, State::Fault) => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        (TargetKind::Group, State::Init) => (
            "Stopping",
            "=> All VRRP group instances are now stopping <=",
        ),
    }
}

/// One alert, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
}

/// The alert for `name` entering `state`.
pub fn alert(
    router_id: &str,
    kind: TargetKind,
    name: &str,
    state: State,
    detail: Option<String>,
) -> Alert {
    let (what, line) = wording(kind, state);
    let noun = match kind {
        TargetKind::Instance => "Instance",
        TargetKind::Group => "Group",
    };
    let mut body = format!("{line}\r\n");
    if let Some(d) = detail {
        body.push_str(&d);
        body.push_str("\r\n");
    }
    Alert {
        subject: format!("[{router_id}] VRRP {noun} {name} - {what}"),
        body,
    }
}

/// Counters of the mail worker, shared with it.
#[derive(Debug, Default)]
pub struct MailCounters {
    /// Messages the server accepted.
    pub sent: AtomicU64,
    /// Messages that failed (server unreachable, refused, timed out).
    pub failed: AtomicU64,
    /// Messages dropped because the queue was full.
    pub dropped: AtomicU64,
}

/// Sends alerts on a worker thread (started at the first alert).
pub struct Mailer {
    settings: MailSettings,
    instances: Vec<String>,
    groups: Vec<String>,
    last: HashMap<(TargetKind, String), State>,
    worker: Option<(SyncSender<Alert>, Option<JoinHandle<()>>)>,
    counters: Arc<MailCounters>,
}

impl Mailer {
    /// A mailer for `cfg`, or `None` when no alert can be sent (no server, no recipient, or no
    /// instance or group with `smtp_alert`).
    pub fn new(cfg: &Config) -> Option<Mailer> {
        let settings = MailSettings::from_config(cfg)?;
        let instances: Vec<String> = cfg
            .instances
            .iter()
            .filter(|i| i.smtp_alert)
            .map(|i| i.name.clone())
            .collect();
        let groups: Vec<String> = cfg
            .sync_groups
            .iter()
            .filter(|g| g.smtp_alert)
            .map(|g| g.name.clone())
            .collect();
        if instances.is_empty() && groups.is_empty() {
            return None;
        }
        Some(Mailer {
            settings,
            instances,
            groups,
            last: HashMap::new(),
            worker: None,
            counters: Arc::default(),
        })
    }

    /// The worker's counters.
    pub fn counters(&self) -> Arc<MailCounters> {
        self.counters.clone()
    }

    /// Queue the alert `action` calls for, if any. Never blocks.
    pub fn on_action(&mut self, engine: &Engine, action: &Action) {
        match action {
            Action::StateChange {
                instance,
                to,
                priority,
                reason,
                ..
            } => {
                if let Some(v) = engine.instance(*instance) {
                    let name = v.name().to_string();
                    if self.instances.contains(&name) {
                        let d = format!("priority {priority}, reason {}", reason.name());
                        self.queue(TargetKind::Instance, &name, *to, Some(d));
                    }
                }
            }
            Action::GroupStateChange {
                group, to, cause, ..
            } => {
                if let Some((name, _, _)) = engine.group(*group) {
                    let name = name.to_string();
                    if self.groups.contains(&name) {
                        let (member, reason): (_, Reason) = *cause;
                        let who = engine
                            .instance(member)
                            .map(|v| v.name().to_string())
                            .unwrap_or_default();
                        let d = format!("moved by {who}, reason {}", reason.name());
                        self.queue(TargetKind::Group, &name, *to, Some(d));
                    }
                }
            }
            _ => {}
        }
    }

    /// Queue the alert for `name` entering `state` unless that state was the last mailed.
    pub fn queue(&mut self, kind: TargetKind, name: &str, state: State, detail: Option<String>) {
        let key = (kind, name.to_string());
        if self.last.get(&key) == Some(&state) {
            return;
        }
        self.last.insert(key, state);
        let a = alert(
            &self.settings.subject_router_id(),
            kind,
            name,
            state,
            detail,
        );
        let (tx, _) = self.worker.get_or_insert_with(|| {
            let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
            let s = self.settings.clone();
            let c = self.counters.clone();
            let h = std::thread::Builder::new()
                .name("smtp".into())
                .spawn(move || serve(rx, &s, &c))
                .map_err(|e| warn!("cannot start the mail thread: {e}"))
                .ok();
            (tx, h)
        });
        match tx.try_send(a) {
            Ok(()) => {}
            Err(TrySendError::Full(a)) | Err(TrySendError::Disconnected(a)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                warn!("mail queue full or closed: alert '{}' dropped", a.subject);
            }
        }
    }

    /// Stop queueing and wait, at most `grace`, for the queued messages.
    pub fn shutdown(self, grace: Duration) {
        if let Some((tx, Some(h))) = self.worker {
            drop(tx);
            let deadline = std::time::Instant::now() + grace;
            while !h.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

/// Build the message of `a` with `s`'s addresses.
pub fn message(s: &MailSettings, a: &Alert) -> Result<Message, String> {
    let sender = s.sender();
    let from: Mailbox = sender
        .parse()
        .map_err(|e| format!("notification_email_from '{sender}': {e}"))?;
    let mut b = Message::builder().from(from).subject(a.subject.clone());
    let mut any = false;
    for t in &s.to {
        match t.parse::<Mailbox>() {
            Ok(m) => {
                b = b.to(m);
                any = true;
            }
            Err(e) => warn!("notification_email '{t}': {e}"),
        }
    }
    if !any {
        return Err("no valid notification_email address".into());
    }
    b.header(ContentType::TEXT_PLAIN)
        .body(a.body.clone())
        .map_err(|e| e.to_string())
}

/// Send one alert now (blocking, bounded by the timeout). The worker's unit of work.
pub fn send(s: &MailSettings, a: &Alert) -> Result<(), String> {
    let m = message(s, a)?;
    let transport = SmtpTransport::builder_dangerous(s.host.as_str())
        .port(s.port)
        .timeout(Some(s.timeout))
        .hello_name(ClientId::Domain(s.helo_name()))
        .build();
    transport.send(&m).map(|_| ()).map_err(|e| e.to_string())
}

fn serve(rx: Receiver<Alert>, s: &MailSettings, c: &MailCounters) {
    while let Ok(a) = rx.recv() {
        match send(s, &a) {
            Ok(()) => {
                c.sent.fetch_add(1, Ordering::Relaxed);
                debug!("mailed '{}'", a.subject);
            }
            Err(e) => {
                c.failed.fetch_add(1, Ordering::Relaxed);
                warn!(
                    "cannot mail '{}' through {}:{}: {e}",
                    a.subject, s.host, s.port
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_bodies_are_keepalived_s() {
        let a = alert("r1", TargetKind::Instance, "VI_1", State::Master, None);
        assert_eq!(a.subject, "[r1] VRRP Instance VI_1 - Entering MASTER state");
        assert_eq!(a.body, "=> VRRP Instance is now owning VRRP VIPs <=\r\n");
        let a = alert("r1", TargetKind::Group, "G", State::Fault, Some("x".into()));
        assert_eq!(a.subject, "[r1] VRRP Group G - Entering FAULT state");
        assert_eq!(
            a.body,
            "=> All VRRP group instances are now in FAULT state <=\r\nx\r\n"
        );
    }
}
