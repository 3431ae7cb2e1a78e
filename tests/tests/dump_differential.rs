// Long: LISTED, one row per known keepalived/Vigil dump difference with its reason, and the dump parser are most of the file.
//! The semantic differential (issue 15, section 5): `keepalived -d` and `vigild -d` on the same
//! files, compared field by field.
//!
//! For every configuration (keepalived's 25 samples in `tests/configs/keepalived-samples`, every
//! file in `tests/configs`, and the VRRP settings files in `tests/configs/dump`), in a network
//! namespace of a [`Lab`] (eth0..eth2 up on bridges with documentation addresses; eth3 and
//! eth0.1 present but without carrier; a macvlan mv0 on eth0; four such namespaces, the cases
//! spread over them, both dumps of one case in the same one):
//! - keepalived 2.2.7 runs VRRP only (`-n -l -D -d -P`), logging its dump to the console; once
//!   the dump is complete (a log line follows its `------< Interfaces >------` part) it is
//!   stopped by its pid (SIGTERM, then SIGKILL to parent and VRRP child if it lingers);
//! - `vigild -d -t` prints Vigil's dump of the effective configuration.
//!
//! Both dumps are parsed into scope (`global`, `instance NAME`, `sync group NAME`,
//! `script NAME`, `track file NAME`, `track process NAME`, `static addresses`, `static routes`,
//! `GARP delay group N #K` (keepalived's number and the group's place in the list),
//! `interface NAME` (the Interfaces part: every interface of the namespace, the kernel's
//! values, which both read in the same namespace, and the configuration's: debounce delays,
//! gates, tracking instances), `created interface NAME` (a macvlan keepalived created as it
//! ran), or another keepalived section's title) -> field -> value (a list's items joined), and every
//! field of every scope is compared. A difference fails the test unless [`LISTED`] names it (scope kind, field, which side
//! has it) with a one-line reason; a row of [`LISTED`] that matches nothing fails it too, so the
//! table stays exact as Vigil changes.
//!
//! What is normalised, because it is run-time state in keepalived and not configuration: the
//! ` set`, ` nftable_set` and ` iptable_set` markers and the `[installed ifindex N]` /
//! `[dev X]` suffixes of installed addresses and routes; a sync group's current state after its
//! name. `Flags: none` is read as an empty `Flags:` list.
//!
//! A configuration is compared when both accept it: keepalived prints a dump (it did not stop on a
//! fatal configuration error) and vigild prints its VRRP part. Every file in
//! `tests/configs/dump` must be accepted by both. Needs root and keepalived: without them the
//! test says NOT RUN.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vigil_tests::netns::{
    must, not_run, process_gone, reap, require_root, signal, wait_until, Lab,
};

/// Which side prints a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// keepalived prints it, Vigil does not.
    KeepalivedOnly,
    /// Vigil prints it, keepalived does not.
    VigilOnly,
    /// Both print it, with different values.
    Differs,
}
use Side::{Differs, KeepalivedOnly, VigilOnly};

/// One accepted kind of difference: scope kind (`global`, `instance`, `sync group`, `script`,
/// `track file`, `static addresses`, `static routes`, or a keepalived section title), fields
/// (`|`-separated; `X*` matches every field starting with X; `*` any), configuration file (`*`:
/// any), side, and why.
struct Listed {
    scope: &'static str,
    field: &'static str,
    config: &'static str,
    side: Side,
    reason: &'static str,
}

const fn row(
    scope: &'static str,
    field: &'static str,
    config: &'static str,
    side: Side,
    reason: &'static str,
) -> Listed {
    Listed {
        scope,
        field,
        config,
        side,
        reason,
    }
}

/// THE table: every difference between the two dumps that is accepted, and why.
const LISTED: &[Listed] = &[
    // keepalived's process settings and run-time state, which Vigil has no equivalent of.
    row("global", "Network namespace*|Checker*|BFD*|SNMP*|DBus*|lvs_netlink*|vrrp_netlink*|process_monitor*|rx_bufs_multiples|umask|rs_init_notifies|no_checker_emails|Default smtp_alert_checker|No test config before reload|libnftnl version*|VRRP process priority|VRRP don't swap|VRRP realtime*|Min auto priority delay|FIFO write vrrp states on reload", "*", KeepalivedOnly, "keepalived process and build settings with no Vigil equivalent (namespaces, LVS, checker/BFD processes, SNMP, DBus, netlink buffers, umask, config reload test, libnftnl version), or whose keepalived defaults are not vigild's (the VRRP process's priorities and realtime limit: vigild runs at SCHED_FIFO 10 unless vrrp_rt_priority is set)"),
    row("global", "Default interface", "*", KeepalivedOnly, "Vigil has no built-in default interface (keepalived's eth0): an instance without interface needs default_interface, else it is refused"),
    row("global", "Max auto priority", "*", KeepalivedOnly, "max_auto_priority is parsed, not acted on: vigild's realtime rule is its own (issue 15's keyword table)"),
    row("global", "nftables table name|nftables base chain priority|nftables don't force use ifindex for link local IPv6", "*", KeepalivedOnly, "keepalived 2.2.7 opens its nftables table for every use_vmac instance too (rules that send the macvlans' IGMP/MLD reports out of the parent interface); vigild's table is only for no_accept / strict mode, so a VMAC-only file has none to print"),
    row("GARP delay group", "GARP next time|GNA next time", "*", KeepalivedOnly, "run-time: when the interface's gate next opens (zero before the first send); the groups' intervals and interfaces are compared"),
    row("interface", "Delayed state change running", "*", KeepalivedOnly, "run-time: whether a link change is being held back by interface_up_down_delays as the dump is written (vigild -d -t runs nothing; the delays themselves are compared)"),
    row("interface", "Reset ARP config counter", "*", KeepalivedOnly, "run-time: how many of keepalived's running macvlans changed the interface's arp_ignore / arp_filter (vigild -d -t creates none; the original values are compared)"),
    row("interface", "rp_filter", "*", KeepalivedOnly, "run-time: keepalived prints rp_filter only once it has processed a link change of the interface since it started (its macvlans', its own sysctl writes); Vigil does not change rp_filter"),
    row("created interface", "*", "*", KeepalivedOnly, "the use_vmac macvlans keepalived -d created as it ran; vigild -d -t creates none (their names are compared in the instances' lines)"),
    row("interface", "Original promote_secondaries", "promote_secondaries.conf", Differs, "keepalived has set the sysctl by the time it dumps and reads its own value back from the link change; vigild -d -t changes nothing and prints the kernel's (the counter of instances that set it is compared)"),
    row("interface", "Tracking VRRP instances", "sync_group_unweighted.conf", Differs, "keepalived 2.2.7 copies a sync group member's track_interface weight into the interface's list before it clears it in the instance's (logging that it ignores it), and its tracking reads the interface's list: it applies the weight it says it ignores; Vigil applies the rule it logs (unweighted)"),
    row("interface", "Tracking VRRP instances", "owner_weighted_trackers.conf", KeepalivedOnly, "keepalived 2.2.7 drops the address owner's weighted track_interface from the instance (and says so) but leaves it in the interface's list, where no weight can move a priority of 255; Vigil does not track it"),
    row("instance", "Number of config faults", "*", KeepalivedOnly, "keepalived run-time counter"),
    row("instance", "No sockets allocated", "*", KeepalivedOnly, "keepalived run-time socket state"),
    row("sync group", "Num member fault", "*", KeepalivedOnly, "keepalived run-time counters"),
    row("script", "Result", "*", KeepalivedOnly, "run-time result (vigild status shows Vigil's)"),
    row("script", "Status", "*", KeepalivedOnly, "run-time status"),
    row("script", "State", "*", KeepalivedOnly, "run-time state"),
    row("script", "Insecure", "*", KeepalivedOnly, "run-time script-security verdict (vigild -t and the start report Vigil's)"),
    row("track file", "Status", "*", KeepalivedOnly, "run-time value of the file"),
    row("track process", "Current processes|Have quorum", "*", KeepalivedOnly, "run-time process count and quorum (vigild status shows Vigil's)"),
    // Settings Vigil does not honour yet: issue 15.
    row("instance", "Virtual IP", "keepalived.conf.vrrp", Differs, "the sample's second 192.168.200.18 (label eth0:1) is the same address: Vigil keeps one (the kernel holds an address once)"),
    row("instance", "VRRP Version", "ipv6_version2.conf", Differs, "VRRPv2 is IPv4-only (RFC 3768): Vigil runs an IPv6 instance as v3 with a warning; keepalived 2.2.7 keeps v2"),
    row("instance", "Advert interval", "ipv6_version2.conf", Differs, "the same v3-for-IPv6 rule: v3 prints the interval in milliseconds"),
    row("instance", "Authentication type", "ipv6_version2.conf", KeepalivedOnly, "the same v3-for-IPv6 rule: v3 has no authentication"),
    row("instance", "Check unicast src", "unicast_global_check_src.conf", Differs, "keepalived prints the instance's own flag and applies the global vrrp_check_unicast_src when receiving; Vigil folds the global into the instance (same behaviour)"),
    row("global", "Default interface", "default_interface.conf", Differs, "keepalived 2.2.7's -d prints its built-in eth0 whatever default_interface says"),
    row("script", "Init state", "*", Differs, "keepalived's Init state is run-time (init_fail's INIT/FAILED is left once the start-up settles); Vigil prints init_fail as configured"),
    row("track file", "*", "instance_full.conf", VigilOnly, "keepalived drops a track_file whose directory (/run/vigil) does not exist; Vigil keeps it, and a missing file reads as 0 (io-linux/src/track_files.rs)"),
    row("instance", "Tracked files", "instance_full.conf", VigilOnly, "the same /run/vigil track_file"),
    row("instance", "Multicast address", "vmac_prefix.conf", Differs, "an IPv6 use_vmac instance's ifindex is its macvlan's: keepalived -d creates the macvlan as it runs, vigild -d -t creates none (it prints 0 until the macvlan exists, as keepalived would before creating it)"),
    row("instance", "Virtual Rules", "virtual_rules_ipv6.conf", Differs, "keepalived 2.2.7's alloc_rule steps over the word after a leading inet6 (it advances twice), so 'inet6 fwmark 7 lookup 101' fails on '7' and the rule is dropped with a config error; Vigil installs the rule as written"),
];

/// Interfaces that the configurations name beyond the lab's eth0..eth2.
const EXTRA_INTERFACES: &[&str] = &["eth3", "eth0.1"];

/// A keepalived run, stopped by pid on drop.
struct Keepalived {
    child: Option<Child>,
    vrrp_pid_file: PathBuf,
}

impl Keepalived {
    fn vrrp_pid(&self) -> Option<u32> {
        fs::read_to_string(&self.vrrp_pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let vrrp = self.vrrp_pid();
        signal(child.id(), libc::SIGTERM);
        let end = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().ok().flatten().is_none() {
            signal(child.id(), libc::SIGKILL);
            let _ = child.wait();
        }
        if let Some(p) = vrrp {
            if !process_gone(p) {
                signal(p, libc::SIGKILL);
            }
            // Re-parented to this process (the lab makes it the subreaper): reap it.
            wait_until(Duration::from_secs(5), || {
                reap(p).is_some() || process_gone(p)
            });
        }
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        self.stop();
    }
}

const INTERFACES_HEADER: &str = "------< Interfaces >------";

/// keepalived follows an include cycle until it runs out of file descriptors, so how long
/// include_self.conf takes is its open-file limit: 41 s before its VRRP child even started with
/// the limit of 20,000 of a fresh machine (2026-12-04; the test's 90 s then ran out), a few
/// seconds with the usual 1,024. The differential gives keepalived the usual limit, whatever the
/// machine's.
#[allow(unsafe_code)] // pre_exec: setrlimit(2) in the child before exec
fn with_usual_file_limit(command: &mut Command) {
    // SAFETY: setrlimit(2) is async-signal-safe and touches nothing of the parent's state.
    unsafe {
        command.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 1024,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// keepalived's dump of `file`: started in host 1's namespace, stopped once the dump is
/// complete. `None` when keepalived printed no dump (it refused the file).
fn keepalived_dump(
    lab: &Lab,
    dir: &Path,
    file: &str,
    id: &str,
    tag: usize,
) -> (Option<String>, String) {
    let log = lab.dir.join(format!("ka{tag}.log"));
    let logf = fs::File::create(&log).expect("log");
    let logf2 = logf.try_clone().expect("log");
    let pid_file = lab.dir.join(format!("ka{tag}.pid"));
    let vrrp_pid_file = lab.dir.join(format!("ka{tag}.vrrp.pid"));
    let mut command = Command::new("ip");
    command
        .args([
            "netns",
            "exec",
            &lab.ns(1),
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-d",
            "-P",
        ])
        .args(["-i", id, "-f", file])
        .arg("-p")
        .arg(&pid_file)
        .arg("-r")
        .arg(&vrrp_pid_file)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(logf)
        .stderr(logf2);
    with_usual_file_limit(&mut command);
    let child = command.spawn().expect("keepalived");
    let mut k = Keepalived {
        child: Some(child),
        vrrp_pid_file,
    };
    // Generous: an include cycle makes keepalived log thousands of lines first (21 s seen on a
    // loaded machine).
    let complete = wait_until(Duration::from_secs(90), || {
        let text = fs::read_to_string(&log).unwrap_or_default();
        // Done: the dump is complete (a log line follows its Interfaces part), or keepalived
        // gave up ("Warning - keepalived has no configuration to run", a VRRP child that exited
        // on a configuration error).
        interfaces_done(&text)
            || text.contains("keepalived has no configuration to run")
            || text.contains(": Stopping")
            || text.contains("exited with permanent error")
            || k.child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some())
    });
    k.stop();
    let text = fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .map(|l| {
            // "Thu Dec  3 11:35:04 2026: " prefixes every console line.
            if l.len() >= 26 && l.get(24..26) == Some(": ") {
                l.get(26..).unwrap_or("")
            } else {
                l
            }
        })
        .collect();
    let Some(start) = lines
        .iter()
        .position(|l| *l == "------< Global definitions >------")
    else {
        return (None, text);
    };
    assert!(
        complete && interfaces_done(&text),
        "{file}: keepalived's dump did not complete:\n{text}"
    );
    // The dump's lines: from its first header to the end of its Interfaces part (the VRRP
    // child's first line after the dump); keepalived's other log lines in between (its
    // parent's "Startup complete" can come in the middle) are neither indented nor headers.
    let mut in_interfaces = false;
    let dump: Vec<&str> = lines[start..]
        .iter()
        .take_while(|l| {
            if **l == INTERFACES_HEADER {
                in_interfaces = true;
            }
            !(in_interfaces && after_dump(l))
        })
        .filter(|l| l.starts_with(' ') || l.starts_with("------<"))
        .copied()
        .collect();
    (Some(dump.join("\n")), text)
}

/// The VRRP child's first lines after its dump: an instance's (`(VI_1) Entering BACKUP STATE
/// (init)`), its socket pool, or its stop.
fn after_dump(line: &str) -> bool {
    line.starts_with('(') || line.starts_with("VRRP sockpool") || line.starts_with("Stopping")
}

/// Whether keepalived's log holds a complete dump: one of the VRRP child's lines that follow
/// its dump comes after the Interfaces header.
fn interfaces_done(log: &str) -> bool {
    let Some(k) = log.find(INTERFACES_HEADER) else {
        return false;
    };
    log[k..].lines().skip(1).any(|l| {
        let body = if l.len() >= 26 && l.get(24..26) == Some(": ") {
            l.get(26..).unwrap_or("")
        } else {
            l
        };
        after_dump(body)
    })
}

/// vigild's dump of `file` (`None` when it printed no VRRP part).
fn vigild_dump(
    lab: &Lab,
    vigild: &Path,
    dir: &Path,
    file: &str,
    id: &str,
) -> (Option<String>, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns(1)])
        .arg(vigild)
        .args(["-d", "-t", "-i", id, "-f", file])
        .current_dir(dir)
        .output()
        .expect("vigild");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !stdout.contains("------< Global definitions >------") {
        return (None, stderr);
    }
    // The checker part (LVS Topology) is keepalived's checker process's, not -P's.
    let vrrp: Vec<&str> = stdout
        .lines()
        .take_while(|l| !l.starts_with("------< LVS Topology"))
        .collect();
    (Some(vrrp.join("\n")), stderr)
}

type Dump = BTreeMap<String, BTreeMap<String, String>>;

/// keepalived's run-time markers on installed addresses and routes.
fn strip_runtime(v: &str) -> String {
    let mut s = v.to_string();
    if let Some(k) = s.find(" [installed ifindex").or_else(|| s.find(" [dev ")) {
        s.truncate(k);
    }
    for m in [" nftable_set", " iptable_set", " set"] {
        if let Some(t) = s.strip_suffix(m) {
            s = t.to_string();
        }
    }
    s
}

/// Scope -> field -> value.
fn parse(dump: &str) -> Dump {
    let mut out: Dump = BTreeMap::new();
    let mut section = String::new();
    let mut scope = String::new();
    // The open list: (its indent, its scope, its field).
    let mut list: Option<(usize, String, String)> = None;
    let mut garp_groups = 0usize;
    for raw in dump.lines() {
        if let Some(title) = raw
            .strip_prefix("------< ")
            .and_then(|r| r.strip_suffix(" >------"))
        {
            section = title
                .trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ')
                .to_string();
            if section == "GARP delay group" {
                // keepalived numbers only the `interfaces { }` blocks; the others and the
                // defaults are all group 0: each group is its number and its place.
                garp_groups += 1;
                scope = format!("{title} #{garp_groups}");
                list = None;
                continue;
            }
            scope = match section.as_str() {
                "Global definitions" => "global".into(),
                "Static Addresses" => "static addresses".into(),
                "Static Routes" => "static routes".into(),
                "Static Rules" => "static rules".into(),
                _ => section.clone(),
            };
            list = match scope.as_str() {
                "static addresses" | "static routes" | "static rules" => {
                    Some((0, scope.clone(), "entries".into()))
                }
                _ => None,
            };
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let content = raw.trim();
        if let Some((li, ls, lf)) = &list {
            if indent > *li {
                let v = out
                    .entry(ls.clone())
                    .or_default()
                    .entry(lf.clone())
                    .or_default();
                if !v.is_empty() {
                    v.push('\n');
                }
                v.push_str(&strip_runtime(content));
                continue;
            }
        }
        list = None;
        if indent == 1 && section != "Global definitions" {
            let named = [
                ("VRRP Instance = ", "instance "),
                ("VRRP Sync Group = ", "sync group "),
                ("VRRP Script = ", "script "),
                ("Track file = ", "track file "),
                ("VRRP Track process = ", "track process "),
                ("Name = ", "interface "),
            ];
            if let Some((p, kind)) = named.iter().find(|(p, _)| content.starts_with(p)) {
                let name = &content[p.len()..];
                let name = name.split(", ").next().unwrap_or(name);
                scope = format!("{kind}{name}");
                out.entry(scope.clone()).or_default();
                continue;
            }
        }
        let fields = out.entry(scope.clone()).or_default();
        // A garp delay group's interface list has a header without a colon.
        if section == "GARP delay group" && content == "Interfaces" {
            fields.entry(content.to_string()).or_default();
            list = Some((indent, scope.clone(), content.to_string()));
            continue;
        }
        // A list header: "Virtual IP (3):", "Tracked scripts :", "Flags:".
        if let Some(h) = content.strip_suffix(':') {
            let mut key = h.trim_end().to_string();
            if let Some(k) = key.find(" (") {
                if key.ends_with(')') {
                    key.truncate(k);
                }
            }
            fields.entry(key.clone()).or_default();
            list = Some((indent, scope.clone(), key));
            continue;
        }
        let (key, value) = if content == "Flags: none" {
            ("Flags".to_string(), String::new())
        } else if let Some(v) = content.strip_prefix("Num member fault ") {
            ("Num member fault".to_string(), v.to_string())
        } else if let Some((k, v)) = INTERFACE_VALUES
            .iter()
            .find_map(|p| content.strip_prefix(p).map(|v| (p.trim_end(), v)))
        {
            (k.to_string(), v.to_string())
        } else if let Some((kind, v)) = content
            .split_once(" type ")
            .filter(|(k, _)| *k == "VMAC" || *k == "IPVLAN")
        {
            (format!("{kind} type"), v.to_string())
        } else if content.contains("IPv6 forwarding. Last checked") {
            ("IPv6 forwarding check".to_string(), content.to_string())
        } else if let Some((k, v)) = content.split_once(" = ") {
            (k.to_string(), v.to_string())
        } else if let Some((k, v)) = content.split_once(" : ") {
            (k.to_string(), v.to_string())
        } else if let Some(v) = content.strip_prefix("Multicast address ") {
            ("Multicast address".to_string(), v.to_string())
        } else if let Some((k, v)) = ["GARP next time ", "GNA next time "]
            .iter()
            .find_map(|p| content.strip_prefix(p).map(|v| (p.trim_end(), v)))
        {
            (k.to_string(), v.to_string())
        } else {
            (content.to_string(), String::new())
        };
        fields.insert(key, value);
    }
    // The macvlans keepalived created as it ran (vigild -d -t creates none) are a kind of
    // their own.
    let created: Vec<String> = out
        .iter()
        .filter(|(k, f)| k.starts_with("interface ") && f.contains_key("I/f created by keepalived"))
        .map(|(k, _)| k.clone())
        .collect();
    for k in created {
        if let Some(f) = out.remove(&k) {
            out.insert(format!("created {k}"), f);
        }
    }
    out
}

/// keepalived's interface lines that give a value without ` = ` (`Gratuitous ARP interval
/// 100ms`, `Original arp_ignore 0`).
const INTERFACE_VALUES: &[&str] = &[
    "Gratuitous ARP interval ",
    "Gratuitous NA interval ",
    "Gratuitous ARP aggregation group ",
    "Reset ARP config counter ",
    "Original arp_ignore ",
    "Original arp_filter ",
    "rp_filter ",
    "Original promote_secondaries ",
    "Reset promote_secondaries counter ",
    "VRF master table ",
    "VRF slave of ",
];

fn scope_kind(scope: &str) -> &str {
    for k in [
        "instance ",
        "sync group ",
        "script ",
        "track file ",
        "track process ",
        "GARP delay group ",
        "created interface ",
        "interface ",
    ] {
        if scope.starts_with(k) {
            return k.trim_end();
        }
    }
    scope
}

struct Difference {
    config: String,
    scope: String,
    field: String,
    side: Side,
    keepalived: Option<String>,
    vigil: Option<String>,
}

fn compare(config: &str, k: &Dump, v: &Dump, fields: &mut usize, out: &mut Vec<Difference>) {
    let scopes: BTreeSet<&String> = k.keys().chain(v.keys()).collect();
    let empty = BTreeMap::new();
    for s in scopes {
        let kf = k.get(s).unwrap_or(&empty);
        let vf = v.get(s).unwrap_or(&empty);
        let names: BTreeSet<&String> = kf.keys().chain(vf.keys()).collect();
        for f in names {
            *fields += 1;
            let (a, b) = (kf.get(f), vf.get(f));
            let side = match (a, b) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(_), Some(_)) => Differs,
                (Some(_), None) => KeepalivedOnly,
                (None, _) => VigilOnly,
            };
            out.push(Difference {
                config: config.to_string(),
                scope: s.clone(),
                field: f.clone(),
                side,
                keepalived: a.cloned(),
                vigil: b.cloned(),
            });
        }
    }
}

fn listed(d: &Difference) -> Option<usize> {
    LISTED.iter().position(|r| {
        r.side == d.side
            && r.scope == scope_kind(&d.scope)
            && r.field.split('|').any(|f| match f.strip_suffix('*') {
                Some(prefix) => d.field.starts_with(prefix),
                None => f == d.field,
            })
            && (r.config == "*" || r.config == d.config)
    })
}

fn conf_files(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| pred(n))
        .collect();
    v.sort();
    v
}

/// The namespace both daemons run in (see the module docs).
fn lab() -> Lab {
    let lab = Lab::with_links("dump", 1, 3);
    for (k, ifname) in EXTRA_INTERFACES.iter().enumerate() {
        let peer = format!("dx{k}");
        must(&[
            "ip",
            "-n",
            &lab.ns(1),
            "link",
            "add",
            ifname,
            "type",
            "veth",
            "peer",
            "name",
            &peer,
        ]);
        must(&["ip", "-n", &lab.ns(1), "link", "set", ifname, "up"]);
    }
    // A macvlan that neither daemon created (a garp_group on it is ignored by both).
    must(&[
        "ip",
        "-n",
        &lab.ns(1),
        "link",
        "add",
        "link",
        "eth0",
        "name",
        "mv0",
        "type",
        "macvlan",
        "mode",
        "bridge",
    ]);
    must(&["ip", "-n", &lab.ns(1), "link", "set", "mv0", "up"]);
    lab
}

/// Namespaces the cases are spread over (see the test).
const WORKERS: usize = 4;

/// What one configuration gave: its report line, its differences, a failure (a file both must
/// accept that one refused).
struct Outcome {
    report: String,
    compared: bool,
    fields: usize,
    diffs: Vec<Difference>,
    failure: Option<String>,
}

/// Dump case `tag` (directory, file, whether both must accept it) with both daemons in `lab`'s
/// namespace and compare the dumps.
fn run_case(
    lab: &Lab,
    vigild: &Path,
    tag: usize,
    (dir, name, must_compare): &(PathBuf, String, bool),
) -> Outcome {
    let t0 = Instant::now();
    let id = if name == "keepalived.conf.conditional_conf" {
        "high"
    } else {
        "main"
    };
    let (kd, klog) = keepalived_dump(lab, dir, name, id, tag);
    let (vd, vlog) = vigild_dump(lab, vigild, dir, name, id);
    let mut o = Outcome {
        report: String::new(),
        compared: false,
        fields: 0,
        diffs: Vec::new(),
        failure: None,
    };
    match (kd, vd) {
        (Some(kd), Some(vd)) => {
            o.compared = true;
            compare(name, &parse(&kd), &parse(&vd), &mut o.fields, &mut o.diffs);
            let _ = writeln!(
                o.report,
                "{name}: compared, {} differences ({} ms)",
                o.diffs.len(),
                t0.elapsed().as_millis()
            );
        }
        (kd, vd) => {
            let why = format!(
                "{name}: not compared (keepalived {}, vigild {})",
                if kd.is_some() {
                    "dumped"
                } else {
                    "printed no dump"
                },
                if vd.is_some() {
                    "dumped"
                } else {
                    "printed no VRRP part"
                },
            );
            let _ = writeln!(o.report, "{why}");
            if *must_compare {
                o.failure = Some(format!(
                    "{why}\nkeepalived said:\n{klog}\nvigild said:\n{vlog}"
                ));
            }
        }
    }
    o
}

#[test]
fn keepalived_and_vigild_dump_the_same_vrrp_configuration() {
    if !require_root() {
        return;
    }
    if Command::new("keepalived").arg("-v").output().is_err() {
        not_run("keepalived is missing (apt-get install keepalived; scripts/test installs it)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let samples = root.join("keepalived-samples");
    let settings = root.join("dump");
    let mut cases: Vec<(PathBuf, String, bool)> = Vec::new();
    let s = conf_files(&samples, |n| n.starts_with("keepalived.conf"));
    assert_eq!(s.len(), 25, "keepalived 2.2.7's 25 samples");
    cases.extend(s.into_iter().map(|n| (samples.clone(), n, false)));
    cases.extend(
        conf_files(&root, |n| n.ends_with(".conf"))
            .into_iter()
            .map(|n| (root.clone(), n, false)),
    );
    let new = conf_files(&settings, |n| n.ends_with(".conf"));
    assert!(
        new.len() >= 40,
        "at least 40 VRRP settings files, found {}",
        new.len()
    );
    cases.extend(new.into_iter().map(|n| (settings.clone(), n, true)));

    let vigild = Lab::vigild_path();
    // Each case is about 1.3 s of waiting (keepalived's start and dump, 0.25 s, then its stop,
    // 1.0 s) and little CPU: the cases run in WORKERS namespaces built alike, each case in one
    // of them, its two dumps in the same one. Results are put back in case order.
    let outcomes: Vec<(usize, Outcome)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (cases, vigild) = (&cases, &vigild);
                scope.spawn(move || {
                    let lab = lab();
                    cases
                        .iter()
                        .enumerate()
                        .skip(w)
                        .step_by(WORKERS)
                        .map(|(tag, case)| (tag, run_case(&lab, vigild, tag, case)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Outcome)> = workers
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect();
        all.sort_by_key(|(tag, _)| *tag);
        all
    });

    let mut report = String::new();
    let mut failures = Vec::new();
    let mut diffs = Vec::new();
    let (mut compared, mut fields) = (0usize, 0usize);
    for (_, o) in outcomes {
        report.push_str(&o.report);
        failures.extend(o.failure);
        compared += usize::from(o.compared);
        fields += o.fields;
        diffs.extend(o.diffs);
    }

    let mut used = vec![0usize; LISTED.len()];
    for d in &diffs {
        match listed(d) {
            Some(r) => used[r] += 1,
            None => failures.push(format!(
                "{}: [{}] {}: {:?}: keepalived {:?}, vigild {:?}",
                d.config, d.scope, d.field, d.side, d.keepalived, d.vigil
            )),
        }
    }
    for (r, n) in LISTED.iter().zip(&used) {
        if *n == 0 {
            failures.push(format!(
                "LISTED row matches no difference (remove it): {} / {} / {} / {:?}",
                r.scope, r.field, r.config, r.side
            ));
        }
    }
    let listed_total: usize = used.iter().sum();
    eprintln!(
        "dump differential: {} configurations, {compared} compared, {fields} fields compared, \
         {} differences, {listed_total} of them listed ({} rows in LISTED), {} unexplained",
        cases.len(),
        diffs.len(),
        LISTED.len(),
        diffs.len() - listed_total
    );
    for (r, n) in LISTED.iter().zip(&used) {
        eprintln!(
            "  listed x{n}: {} / {} / {:?}: {}",
            r.scope, r.field, r.side, r.reason
        );
    }
    eprint!("{report}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
