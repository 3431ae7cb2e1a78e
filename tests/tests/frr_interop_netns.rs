//! Interop with a second VRRP implementation: FRR 8.4's `vrrpd` (Debian's `frr`), live, in
//! network namespaces (issue 15).
//!
//! Host 1 runs vigild, host 2 runs FRR's `zebra` and `vrrpd` (each with its own configuration,
//! pid file, zebra socket and vty sockets in a scratch directory owned by the `frr` user: never
//! the system's /etc/frr service). Four virtual routers, VRRPv3, one-second adverts:
//! - VRIDs 5 (IPv4) and 7 (IPv6): FRR priority 200, vigild 100 (FRR must be MASTER);
//! - VRIDs 6 (IPv4) and 8 (IPv6): vigild priority 200, FRR 100 (vigild must be MASTER).
//!
//! FRR needs one macvlan per virtual router and family, with the virtual MAC
//! (00:00:5e:00:01:VRID, 00:00:5e:00:02:VRID for IPv6) and the virtual address on it; `vrrpd`
//! finds it by its MAC.
//!
//! What is shown:
//! - once settled (vigild BACKUP having heard FRR's adverts, or MASTER with FRR in Backup),
//!   exactly one MASTER per VRID, sampled for three seconds, and it is the higher priority;
//! - vigild's per-peer checksum record (`vigild status --json`, `peers`) reports FRR's adverts
//!   in the pseudo-header form (RFC 5798 section 5.2.8; FRR 8.4 sends only that form);
//! - `kill -9` of vigild (MASTER of VRIDs 6 and 8): FRR takes them over; vigild started again
//!   preempts them back (priority 200 > 100);
//! - `kill -9` of FRR's vrrpd (MASTER of VRIDs 5 and 7): vigild takes them over.
//!
//! Takeover times are printed; the only bounds asserted are loose ones (not before two seconds,
//! since Master_Down_Interval is 3.6 s after the last advert; within twenty seconds), which a
//! loaded 2-core machine keeps. Without root or FRR installed the test says NOT RUN; if FRR's
//! daemons cannot be made to run in the namespace (they exit, or vrrpd never leaves
//! Initialize), the test says NOT RUN with their logs, loudly, and does not pass silently.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vigil_tests::netns::{
    self, host_v4, must, not_run, process_gone, require_root, wait_until, Kind, Lab,
};

const ZEBRA: &str = "/usr/lib/frr/zebra";
const VRRPD: &str = "/usr/lib/frr/vrrpd";

/// The virtual routers: (VRID, FRR's priority, vigild's priority, virtual address). VRIDs 5
/// and 6 are IPv4, 7 and 8 IPv6.
const ROUTERS: [(u8, u8, u8, &str); 4] = [
    (5, 200, 100, "192.0.2.105"),
    (6, 100, 200, "192.0.2.106"),
    (7, 200, 100, "2001:db8::107"),
    (8, 100, 200, "2001:db8::108"),
];

/// Whether a router's address is IPv6.
fn v6(vip: &str) -> bool {
    vip.contains(':')
}

/// The prefix length of the virtual addresses (the lab's subnets).
fn prefix_len(vip: &str) -> u8 {
    if v6(vip) {
        64
    } else {
        24
    }
}

/// FRR's daemons in one namespace, stopped by their pids on drop (vrrpd first, then zebra).
struct Frr {
    dir: PathBuf,
    ns: String,
    zebra: Option<Child>,
    vrrpd: Option<Child>,
}

impl Frr {
    fn spawn(&self, program: &str, name: &str, conf: &Path) -> Child {
        let d = &self.dir;
        let log = fs::File::create(d.join(format!("{name}.out"))).expect("frr log");
        let log2 = log.try_clone().expect("frr log");
        // `ip netns exec` execs the daemon: the child's pid is the daemon's.
        Command::new("ip")
            .args(["netns", "exec", &self.ns, program])
            .arg("-f")
            .arg(conf)
            .arg("-i")
            .arg(d.join(format!("{name}.pid")))
            .arg("-z")
            .arg(d.join("zserv.api"))
            .arg("--vty_socket")
            .arg(d)
            .args(["-P", "0", "--log-level", "debug"])
            .arg("--log")
            .arg(format!("file:{}", d.join(format!("{name}.log")).display()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"))
    }

    fn start(lab: &Lab, host: usize) -> Frr {
        let dir = lab.dir.join("frr");
        fs::create_dir_all(&dir).expect("frr dir");
        let mut conf = String::new();
        for (vrid, frr_prio, _, vip) in ROUTERS {
            let kw = if v6(vip) { "ipv6" } else { "ip" };
            conf.push_str(&format!(
                "interface eth0\n vrrp {vrid} version 3\n vrrp {vrid} priority {frr_prio}\n \
                 vrrp {vrid} advertisement-interval 1000\n vrrp {vrid} {kw} {vip}\n!\n"
            ));
        }
        fs::write(dir.join("vrrpd.conf"), conf).expect("vrrpd.conf");
        fs::write(dir.join("zebra.conf"), "!\n").expect("zebra.conf");
        // The daemons drop to user frr: it writes its pid files and sockets here.
        let d = dir.to_string_lossy().into_owned();
        must(&["chown", "-R", "frr:frr", &d]);
        let ns = lab.ns(host);
        // FRR's zebra sets protodown on a BACKUP's macvlan, and the kernel then drops the
        // macvlan's IPv6 link-local address; vrrpd, turned MASTER, binds to that address and
        // finds none ("Failed to find address to bind"), so it would send nothing. Static
        // addresses are kept across the down with keep_addr_on_down, so the macvlans get a
        // static link-local below.
        must(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.default.keep_addr_on_down=1",
        ]);
        for (vrid, _, _, vip) in ROUTERS {
            // FRR finds a router's macvlan by its virtual MAC (RFC 5798 7.3: 00-00-5E-00-01-VRID
            // for IPv4, 00-00-5E-00-02-VRID for IPv6); for IPv6 it sends from the macvlan's
            // link-local address.
            let fam = if v6(vip) { 2 } else { 1 };
            let ifname = format!("vrrp{}-{vrid}", if v6(vip) { 6 } else { 4 });
            let mac = format!("00:00:5e:00:{fam:02x}:{vrid:02x}");
            must(&[
                "ip", "-n", &ns, "link", "add", &ifname, "link", "eth0", "address", &mac, "type",
                "macvlan", "mode", "bridge",
            ]);
            let addr = format!("{vip}/{}", prefix_len(vip));
            let mut add = vec!["ip", "-n", &ns, "addr", "add", &addr, "dev", &ifname];
            if v6(vip) {
                add.push("nodad");
            }
            must(&add);
            if v6(vip) {
                // A static link-local (the EUI-64 of the virtual MAC) instead of the kernel's,
                // which goes with every protodown: see keep_addr_on_down above.
                must(&[
                    "ip",
                    "-n",
                    &ns,
                    "link",
                    "set",
                    "dev",
                    &ifname,
                    "addrgenmode",
                    "none",
                ]);
                let ll = format!("fe80::200:5eff:fe00:2{vrid:02x}/64");
                must(&["ip", "-n", &ns, "addr", "add", &ll, "dev", &ifname, "nodad"]);
            }
            must(&["ip", "-n", &ns, "link", "set", &ifname, "up"]);
        }
        // vrrpd binds its IPv6 socket to the macvlan's link-local address when it starts ("Failed
        // to find address to bind" otherwise, and it then sends nothing): wait for them.
        for (vrid, _, _, vip) in ROUTERS.into_iter().filter(|r| v6(r.3)) {
            let ifname = format!("vrrp6-{vrid}");
            let ready = wait_until(Duration::from_secs(10), || {
                let o = netns::run(&[
                    "ip", "-n", &ns, "-6", "addr", "show", "dev", &ifname, "scope", "link",
                ]);
                let t = String::from_utf8_lossy(&o.stdout);
                t.contains("fe80:") && !t.contains("tentative")
            });
            assert!(ready, "{ifname} ({vip}): no link-local address");
        }
        let mut frr = Frr {
            dir: dir.clone(),
            ns,
            zebra: None,
            vrrpd: None,
        };
        frr.zebra = Some(frr.spawn(ZEBRA, "zebra", &dir.join("zebra.conf")));
        // vrrpd learns interfaces from zebra: let zebra's socket appear first.
        wait_until(Duration::from_secs(10), || dir.join("zserv.api").exists());
        frr.start_vrrpd();
        frr
    }

    fn start_vrrpd(&mut self) {
        let conf = self.dir.join("vrrpd.conf");
        self.vrrpd = Some(self.spawn(VRRPD, "vrrpd", &conf));
    }

    /// `show vrrp json` through vrrpd's vty socket: VRID -> the status (`Master`, `Backup`,
    /// `Initialize`) of the family it is configured for. Empty when vrrpd does not answer.
    fn states(&self) -> Vec<(u8, String)> {
        let o = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", "show vrrp json"])
            .output();
        let Ok(o) = o else { return Vec::new() };
        let Ok(v) = serde_json::from_slice::<Value>(&o.stdout) else {
            return Vec::new();
        };
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| {
                        let vrid = u8::try_from(r["vrid"].as_u64()?).ok()?;
                        let (.., vip) = ROUTERS.iter().find(|r| r.0 == vrid)?;
                        let fam = if v6(vip) { "v6" } else { "v4" };
                        Some((vrid, r[fam]["status"].as_str()?.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn state(&self, vrid: u8) -> Option<String> {
        self.states()
            .into_iter()
            .find(|(v, _)| *v == vrid)
            .map(|(_, s)| s)
    }

    /// Whether a daemon we started has exited.
    fn exited(c: &mut Option<Child>) -> bool {
        c.as_mut()
            .is_none_or(|c| c.try_wait().ok().flatten().is_some())
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        for f in ["zebra.out", "zebra.log", "vrrpd.out", "vrrpd.log"] {
            let t = fs::read_to_string(self.dir.join(f)).unwrap_or_default();
            let tail: Vec<&str> = t.lines().rev().take(30).collect();
            s.push_str(&format!("--- {f} (last lines)\n"));
            for l in tail.into_iter().rev() {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }

    /// `kill -9` vrrpd, by its pid, and reap it.
    fn kill_vrrpd(&mut self) {
        if let Some(mut c) = self.vrrpd.take() {
            netns::signal(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
    }

    fn stop(c: &mut Option<Child>) {
        if let Some(mut c) = c.take() {
            let pid = c.id();
            netns::signal(pid, libc::SIGTERM);
            let end = Instant::now() + Duration::from_secs(5);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(10));
            }
            if c.try_wait().ok().flatten().is_none() {
                netns::signal(pid, libc::SIGKILL);
            }
            let _ = c.wait();
            wait_until(Duration::from_secs(2), || process_gone(pid));
        }
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        Frr::stop(&mut self.vrrpd);
        Frr::stop(&mut self.zebra);
    }
}

/// vigild's `status --json` for node `idx`.
fn vigild_status(lab: &Lab, idx: usize) -> Value {
    let out = Command::new(Lab::vigild_path())
        .arg("-p")
        .arg(&lab.node_ref(idx).pid_file)
        .args(["status", "--json"])
        .output()
        .expect("vigild status --json");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// vigild's status of VRID `vrid` (`Null` when it does not answer).
fn vigild_instance(lab: &Lab, idx: usize, vrid: u8) -> Value {
    vigild_status(lab, idx)["instances"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|i| i["vrid"].as_u64() == Some(u64::from(vrid)))
                .cloned()
        })
        .unwrap_or(Value::Null)
}

/// vigild's state of VRID `vrid` (`MASTER`, `BACKUP`, ...), when it answers.
fn vigild_state(lab: &Lab, idx: usize, vrid: u8) -> Option<String> {
    vigild_instance(lab, idx, vrid)["state"]
        .as_str()
        .map(str::to_string)
}

fn vigild_conf() -> String {
    let mut c = String::from("global_defs {\n  router_id vigil_frr\n}\n");
    for (vrid, _, prio, vip) in ROUTERS {
        c.push_str(&format!(
            "vrrp_instance VI_{vrid} {{\n  state BACKUP\n  interface eth0\n  \
             virtual_router_id {vrid}\n  version 3\n  priority {prio}\n  advert_int 1\n  \
             virtual_ipaddress {{\n    {vip}/{}\n  }}\n}}\n",
            prefix_len(vip)
        ));
    }
    c
}

/// The address FRR's adverts of VRID `vrid` come from: eth0's for IPv4, the macvlan's static
/// link-local for IPv6.
fn frr_source(vrid: u8) -> String {
    let v6 = ROUTERS.iter().any(|r| r.0 == vrid && v6(r.3));
    if v6 {
        format!("fe80::200:5eff:fe00:2{vrid:02x}")
    } else {
        host_v4(2).to_string()
    }
}

/// The MASTER of VRID `vrid` is `expected` (`"frr"` or `"vigild"`) and the other is BACKUP;
/// when FRR is MASTER, vigild has heard its adverts (its master is FRR's address).
fn settled(lab: &Lab, v: usize, frr: &Frr, vrid: u8, expected: &str) -> bool {
    let f = frr.state(vrid);
    let g = vigild_instance(lab, v, vrid);
    let g_state = g["state"].as_str();
    match expected {
        "frr" => {
            f.as_deref() == Some("Master")
                && g_state == Some("BACKUP")
                && g["master"]["address"].as_str() == Some(frr_source(vrid).as_str())
        }
        _ => f.as_deref() == Some("Backup") && g_state == Some("MASTER"),
    }
}

/// For `window`, sample both routers' states of every VRID: never two MASTERs, never none.
fn one_master_throughout(lab: &Lab, v: usize, frr: &Frr, window: Duration) -> usize {
    let end = Instant::now() + window;
    let mut samples = 0;
    while Instant::now() < end {
        for (vrid, ..) in ROUTERS {
            let f = frr.state(vrid).unwrap_or_default();
            let g = vigild_state(lab, v, vrid).unwrap_or_default();
            let masters = usize::from(f == "Master") + usize::from(g == "MASTER");
            assert_eq!(
                masters,
                1,
                "VRID {vrid}: FRR says {f:?}, vigild says {g:?}\n{}\n{}",
                frr.logs(),
                lab.logs()
            );
        }
        samples += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    samples
}

/// Time until `cond` holds (polled), or `None` after `limit`.
fn time_until(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if cond() {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

// Long: one interop scenario in steps (settle, kill each side, restart), each starting from the state the previous left.
#[test]
fn vigild_and_frr_vrrpd_share_virtual_routers() {
    if !require_root() {
        return;
    }
    if !Path::new(VRRPD).is_file() || !Path::new(ZEBRA).is_file() {
        not_run("FRR is missing (apt-get install frr; scripts/test installs it)");
        return;
    }
    let vigild = Lab::vigild_path();
    assert!(vigild.is_file());
    let mut lab = Lab::new("frr", 2);
    // Dropped before the lab (declared after it): FRR's daemons stop before the namespaces go.
    let mut frr = Frr::start(&lab, 2);

    // FRR must come up on its own before vigild is compared with it.
    let up = wait_until(Duration::from_secs(20), || {
        let s = frr.states();
        s.len() == ROUTERS.len() && s.iter().all(|(_, st)| st == "Master" || st == "Backup")
    });
    if !up || Frr::exited(&mut frr.zebra) || Frr::exited(&mut frr.vrrpd) {
        not_run(&format!(
            "FRR's vrrpd did not run in the namespace (states {:?}); its logs:\n{}",
            frr.states(),
            frr.logs()
        ));
        return;
    }
    eprintln!("FRR states before vigild starts: {:?}", frr.states());

    let v = lab.start(Kind::Vigil, 1, &vigild_conf());
    for (vrid, frr_prio, vigil_prio, _) in ROUTERS {
        let expected = if frr_prio > vigil_prio {
            "frr"
        } else {
            "vigild"
        };
        assert!(
            wait_until(Duration::from_secs(30), || settled(
                &lab, v, &frr, vrid, expected
            )),
            "VRID {vrid}: the higher priority ({expected}) is not the only MASTER: FRR {:?}, \
             vigild {:?}\n{}\n{}",
            frr.state(vrid),
            vigild_state(&lab, v, vrid),
            frr.logs(),
            lab.logs()
        );
    }
    let samples = one_master_throughout(&lab, v, &frr, Duration::from_secs(3));
    eprintln!(
        "settled: VRIDs 5 (IPv4) and 7 (IPv6) MASTER FRR (200 > 100), VRIDs 6 (IPv4) and 8 \
         (IPv6) MASTER vigild (200 > 100); exactly one MASTER per VRID in {samples} samples \
         over 3 s"
    );
    // vigild holds its MASTERs' addresses, and not the BACKUPs'.
    for (vrid, frr_prio, vigil_prio, vip) in ROUTERS {
        let a = vip.parse().expect("ip");
        assert_eq!(
            lab.has(1, a),
            vigil_prio > frr_prio,
            "VRID {vrid}: {vip} on vigild's host"
        );
    }

    // The checksum form FRR uses on VRRPv3 over IPv4, as vigild recorded it per peer.
    let st = vigild_status(&lab, v);
    let frr_addr = host_v4(2).to_string();
    let vi5 = st["instances"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["vrid"] == 5))
        .cloned()
        .unwrap_or(Value::Null);
    let peer = vi5["peers"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["address"] == frr_addr.as_str()))
        .cloned()
        .unwrap_or(Value::Null);
    eprintln!("vigild's record of FRR's adverts on VRID 5: {peer}");
    assert_eq!(peer["checksum"], "pseudo-header", "status: {st}");
    assert!(
        peer["pseudo_header_adverts"].as_u64().unwrap_or(0) >= 3,
        "status: {st}"
    );
    assert_eq!(peer["plain_adverts"], 0, "status: {st}");

    // vigild, MASTER of VRIDs 6 and 8, crashes: FRR (priority 100) takes them over.
    lab.node(v).kill9();
    let took = time_until(Duration::from_secs(20), || {
        frr.state(6).as_deref() == Some("Master") && frr.state(8).as_deref() == Some("Master")
    })
    .unwrap_or_else(|| {
        panic!(
            "FRR did not take VRIDs 6 and 8 over after vigild was killed: {:?}\n{}",
            frr.states(),
            frr.logs()
        )
    });
    eprintln!(
        "vigild killed: FRR MASTER of VRIDs 6 and 8 after {took:?} (Master_Down_Interval 3.61 s)"
    );
    assert!(
        took >= Duration::from_secs(2),
        "FRR took over before Master_Down_Interval could expire: {took:?}"
    );
    assert_eq!(frr.state(5).as_deref(), Some("Master"));
    assert_eq!(frr.state(7).as_deref(), Some("Master"));

    // vigild again: it preempts VRIDs 6 and 8 (200 > 100) and stays BACKUP of 5 and 7.
    let v2 = lab.start(Kind::Vigil, 1, &vigild_conf());
    let all_settled = |lab: &Lab| {
        ROUTERS.iter().all(|&(vrid, f, g, _)| {
            settled(lab, v2, &frr, vrid, if f > g { "frr" } else { "vigild" })
        })
    };
    assert!(
        wait_until(Duration::from_secs(30), || all_settled(&lab)),
        "after vigild's restart: FRR {:?}, vigild {:?}\n{}\n{}",
        frr.states(),
        ROUTERS.map(|r| vigild_state(&lab, v2, r.0)),
        frr.logs(),
        lab.logs()
    );
    let samples = one_master_throughout(&lab, v2, &frr, Duration::from_secs(2));
    eprintln!(
        "vigild restarted: preempted VRIDs 6 and 8 back; one MASTER per VRID in {samples} samples"
    );

    // FRR's vrrpd, MASTER of VRIDs 5 and 7, crashes: vigild (priority 100) takes them over.
    frr.kill_vrrpd();
    let took = time_until(Duration::from_secs(20), || {
        vigild_state(&lab, v2, 5).as_deref() == Some("MASTER")
            && vigild_state(&lab, v2, 7).as_deref() == Some("MASTER")
    })
    .unwrap_or_else(|| {
        panic!(
            "vigild did not take VRIDs 5 and 7 over after FRR's vrrpd was killed: {:?} {:?}\n{}",
            vigild_state(&lab, v2, 5),
            vigild_state(&lab, v2, 7),
            lab.logs()
        )
    });
    eprintln!(
        "FRR's vrrpd killed: vigild MASTER of VRIDs 5 and 7 after {took:?} \
         (Master_Down_Interval 3.61 s)"
    );
    assert!(
        took >= Duration::from_secs(2),
        "vigild took over before Master_Down_Interval could expire: {took:?}"
    );
    for (_, _, _, vip) in ROUTERS {
        let a = vip.parse().expect("ip");
        assert!(
            wait_until(Duration::from_secs(5), || lab.has(1, a)),
            "{vip} not on vigild's host"
        );
    }
    assert_eq!(vigild_state(&lab, v2, 6).as_deref(), Some("MASTER"));
    assert_eq!(vigild_state(&lab, v2, 8).as_deref(), Some("MASTER"));
    drop(frr);
}
