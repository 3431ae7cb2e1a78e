//! SIGHUP with a file whose instance names an interface that does not exist, live, with
//! keepalived 2.2.7 on the same file in the same test (issue 15's last gap; commit 8205bf7 made
//! the one missing-interface check of the load that start and SIGHUP share).
//!
//! Each daemon runs alone on host 1 of a fresh lab: VI_1 on eth0, MASTER with 192.0.2.100 and a
//! notify script that records its states ([`Lab::state_recorder`]). Its file is then rewritten
//! so that VI_1 names `interface nosuch0` (no such interface, no `dynamic_interfaces`) and the
//! daemon gets SIGHUP. A capture on the bridge counts host 1's adverts for 4 s after that.
//!
//! - keepalived 2.2.7 (vrrp_daemon.c `start_vrrp`: "Non-existent interface specified in
//!   configuration", `stop_vrrp(KEEPALIVED_EXIT_CONFIG)`): its VRRP process stops (notify
//!   STOP) and its parent with it ("exited with permanent error CONFIG. Terminating"); host 1
//!   falls silent, and the VIP stays on eth0 (the shutdown runs on the new, refused
//!   configuration, which does not hold it: seen on 2026-12-04, asserted so a change shows);
//! - vigild (the project's rule: on reload, a bad configuration is reported and the old one
//!   keeps running; docs/HOWTO.md): logs the missing interface at its file:line:column and the
//!   refusal, keeps the VIP, keeps advertising with its priority, tells the notify script
//!   nothing new; a later SIGHUP with a good file (VI_1 on eth0 with a second address) is taken.
//!
//! A reload that wrongly took the file would move VI_1 to the missing interface: the VIP goes,
//! the adverts stop, and there is no refusal line; each of those fails the test. Needs root and
//! keepalived (NOT RUN otherwise).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vigil_tests::netns::{
    self, host_v4, require_keepalived, require_root, tshark_fields, wait_until, Kind, Lab,
};

const CONF: &str = "global_defs {
  router_id vigil_test
  enable_script_security
  script_user root
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  notify NOTIFY
  virtual_ipaddress {
    192.0.2.100/24
  }
}
";

/// The first VIP, and the one the good reload adds.
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
const VIP2: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101));

/// What one daemon did after the SIGHUP with the bad file.
#[derive(Debug)]
struct Seen {
    /// Its notify script's states before the SIGHUP.
    states_before: Vec<String>,
    /// Its notify script's states 4 s after it (the same when nothing changed).
    states_after: Vec<String>,
    /// Whether host 1 still holds the VIP.
    vip_kept: bool,
    /// Host 1's adverts (priority 150) in the 4 s after the SIGHUP was handled.
    adverts: usize,
    /// Whether the daemon's VRRP process still runs (keepalived: its VRRP child; vigild: it).
    vrrp_running: bool,
    /// Whether the daemon's main process still runs.
    running: bool,
}

/// Host 1's adverts with priority 150 in `pcap`.
fn adverts(pcap: &std::path::Path) -> usize {
    let filter = format!("vrrp && ip.src == {} && vrrp.prio == 150", host_v4(1));
    tshark_fields(pcap, &filter, &["frame.number"])
        .unwrap_or_else(|e| panic!("{e}"))
        .len()
}

/// Run `kind` on [`CONF`] until MASTER, then SIGHUP with VI_1 on `nosuch0`; for vigild also
/// SIGHUP with a good file afterwards. Returns what it saw and the lab (its logs).
fn scenario(kind: Kind) -> (Seen, Lab) {
    let mut lab = Lab::new("hupnxif", 1);
    let (script, log) = lab.state_recorder();
    let conf = CONF.replace("NOTIFY", &format!("\"{}\"", script.display()));
    let n = lab.start(kind, 1, &conf);
    let master = wait_until(Duration::from_secs(20), || {
        log.states().last().is_some_and(|s| s == "MASTER") && lab.has(1, VIP)
    });
    assert!(
        master,
        "{kind:?} did not become MASTER: {:?}\n{}",
        log.states(),
        lab.logs()
    );
    let states_before = log.states();
    let path = lab.node_ref(n).conf.clone();
    let bad = conf.replace("interface eth0", "interface nosuch0");
    std::fs::write(&path, &bad).expect("rewrite the configuration");
    let log_len = lab.node_ref(n).log_text().len();
    netns::signal(lab.node_ref(n).pid, libc::SIGHUP);
    // The SIGHUP handled: vigild's verdict on the reload, or keepalived's VRRP process gone.
    let vrrp_pid = lab.node_ref(n).vrrp_child();
    let handled = wait_until(Duration::from_secs(10), || match kind {
        Kind::Vigil => lab.node_ref(n).log_text()[log_len..].contains("reload"),
        Kind::Keepalived => vrrp_pid.is_none_or(netns::process_gone),
    });
    let cap = lab.capture(&format!("{kind:?}-after-hup.pcap"));
    std::thread::sleep(Duration::from_secs(4));
    let pcap = lab.stop_capture(cap);
    let seen = Seen {
        states_before,
        states_after: log.states(),
        vip_kept: lab.has(1, VIP),
        adverts: adverts(&pcap),
        vrrp_running: match kind {
            Kind::Vigil => lab.node(n).running(),
            Kind::Keepalived => vrrp_pid.is_some_and(|p| !netns::process_gone(p)),
        },
        running: lab.node(n).running(),
    };
    println!("{kind:?} after SIGHUP with VI_1 on nosuch0: {seen:#?}");
    assert!(
        handled,
        "{kind:?}: the SIGHUP was not handled\n{}",
        lab.logs()
    );
    (seen, lab)
}

#[test]
fn a_reload_naming_a_missing_instance_interface_is_refused_where_keepalived_stops() {
    if !require_root() || !require_keepalived() {
        return;
    }
    // keepalived 2.2.7: its VRRP process stops (STOP), keepalived exits, host 1 falls silent;
    // the VIP is left on eth0.
    let (ka, ka_lab) = scenario(Kind::Keepalived);
    let ka_log = ka_lab.logs();
    assert!(
        ka_log.contains("Non-existent interface specified in configuration")
            && ka_log.contains("exited with permanent error CONFIG. Terminating"),
        "keepalived's log\n{ka_log}"
    );
    assert!(
        !ka.vrrp_running
            && !ka.running
            && ka.adverts == 0
            && ka.states_after.last().is_some_and(|s| s == "STOP")
            && ka.vip_kept,
        "keepalived 2.2.7's VRRP process was expected to stop, leaving the VIP: {ka:?}\n{ka_log}"
    );
    drop(ka_lab);

    // vigild: refused at the line, the running configuration kept.
    let (vg, mut lab) = scenario(Kind::Vigil);
    let log = lab.node_ref(0).log_text();
    let path = lab.node_ref(0).conf.to_string_lossy().into_owned();
    for l in log
        .lines()
        .filter(|l| l.contains("nosuch0") || l.contains("reload"))
    {
        println!("vigild: {l}");
    }
    assert!(
        log.contains(&format!(
            "{path}:6:1: error: (VI_1) interface nosuch0 does not exist"
        )) && log.contains("reload refused"),
        "vigild must log the missing interface at its file:line:column and the refusal\n{log}"
    );
    assert!(
        vg.running && vg.vip_kept && vg.states_after == vg.states_before,
        "vigild must keep its running configuration: {vg:?}\n{log}"
    );
    // advert_int 1 over 4 s: a running master sends about 4; two show it did not stop.
    assert!(
        vg.adverts >= 2,
        "vigild must keep advertising: {vg:?}\n{log}"
    );
    // The documented difference (docs/HOWTO.md): vigild keeps running (and advertising) where
    // keepalived's VRRP process stops.
    assert_ne!(
        (vg.vrrp_running, vg.adverts > 0),
        (ka.vrrp_running, ka.adverts > 0)
    );

    // A later SIGHUP with a good file is taken: VI_1 on eth0 gets a second address.
    let script = lab.dir.join("notify.sh");
    let good = CONF
        .replace("NOTIFY", &format!("\"{}\"", script.display()))
        .replace(
            "    192.0.2.100/24\n",
            "    192.0.2.100/24\n    192.0.2.101/24\n",
        );
    std::fs::write(lab.node_ref(0).conf.clone(), good).expect("rewrite the configuration");
    let log_len = lab.node_ref(0).log_text().len();
    netns::signal(lab.node_ref(0).pid, libc::SIGHUP);
    let taken = wait_until(Duration::from_secs(10), || {
        lab.has(1, VIP2) && lab.node_ref(0).log_text()[log_len..].contains("reloaded")
    });
    let tail = lab.node_ref(0).log_text()[log_len..].to_string();
    println!(
        "Vigil after SIGHUP with a good file: holds {VIP} {} and {VIP2} {}, running {}",
        lab.has(1, VIP),
        lab.has(1, VIP2),
        lab.node(0).running()
    );
    assert!(
        taken && lab.has(1, VIP) && lab.node(0).running(),
        "vigild must take the good file\n{tail}"
    );
}
