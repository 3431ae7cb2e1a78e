//! `virtual_server group NAME` through the nftables data plane with real traffic (issue 17),
//! in namespaces: one virtual server (one set of real servers, one set of checkers, one
//! quorum) serving every entry of a `virtual_server_group` (keepalived.conf(5) "Virtual server
//! group(s)").
//!
//! Host 1 is the director (vigild), with the virtual addresses 192.0.2.100, 192.0.2.101,
//! 192.0.2.110-112 and 192.0.2.120 on its link-0 interface; a rule of the test's own (a table
//! `marker`, mangle priority) marks TCP to 192.0.2.120 port 80 with 7. Host 2 is the client
//! (link 0). Hosts 3, 4 and 5 are real servers on link 1 (198.51.100.0/24, port 8080, weights
//! 3, 2, 1) routing through the director; each answers with its own name. The group:
//!
//! ```text
//! virtual_server_group web { 192.0.2.100 80; 192.0.2.101 80; 192.0.2.110-112 80; fwmark 7 }
//! ```
//!
//! Asserted with real requests:
//! * every entry (each address, each address of the range, the marked address) is balanced
//!   over the three servers: 3,000 new connections in all, 500 per address, the spread of
//!   each and of the whole against the weights 3:2:1 (chi-square, 2 degrees of freedom, below
//!   13.8 = p 0.001), no failed request; one chain (one `numgen` map) serves them all;
//! * a real server is killed: once vigild's status shows it DOWN, 150 new connections per
//!   address reach only the live two, none fails;
//! * reload (SIGHUP) with 192.0.2.101 removed from the group: 192.0.2.101 stops being
//!   translated (the director refuses its connections), every other entry keeps answering,
//!   and a kept-alive connection opened through 192.0.2.100 before the reload still answers
//!   from its server (the table was rebuilt in one transaction; conntrack kept the
//!   connection's translation);
//! * vigild stopped: its table is gone, the test's `marker` table is untouched.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_tests::http_lab::{
    ask, chi_square, named_server, ruleset, wait_listening, Proc, KEPT_CLIENT, NAMED_SERVER,
};
use vigil_tests::netns::{self, Kind, Lab};

/// `N` new connections to each address given (port 80), in turn; prints `ADDRESS NAME COUNT`
/// lines and `ADDRESS errors N`.
const SPREAD: &str = r#"
import sys, http.client, collections
vips, n = sys.argv[1].split(","), int(sys.argv[2])
for vip in vips:
    c = collections.Counter(); errors = 0
    for i in range(n):
        try:
            h = http.client.HTTPConnection(vip, 80, timeout=5)
            h.request("GET", "/", headers={"Connection": "close"})
            c[h.getresponse().read().decode().strip()] += 1
            h.close()
        except Exception as e:
            errors += 1
    for k, v in sorted(c.items()):
        print(vip, k, v)
    print(vip, "errors", errors, flush=True)
"#;

/// Per address: (name -> count, errors).
type Spread = BTreeMap<String, (BTreeMap<String, u64>, u64)>;

fn spread(lab: &Lab, script: &std::path::Path, vips: &[&str], n: usize) -> Spread {
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns(2), "python3"])
        .arg(script)
        .args([&vips.join(","), &n.to_string()])
        .output()
        .expect("python3 client");
    let mut per: Spread = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let (Some(vip), Some(k), Some(v)) = (
            w.first(),
            w.get(1),
            w.get(2).and_then(|v| v.parse::<u64>().ok()),
        ) else {
            continue;
        };
        let e = per.entry(vip.to_string()).or_default();
        if *k == "errors" {
            e.1 = v;
        } else {
            e.0.insert(k.to_string(), v);
        }
    }
    for v in vips {
        assert!(
            per.contains_key(*v),
            "no result for {v}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    per
}

fn conf(lab_entries: &str, r: [String; 3]) -> String {
    let [r3, r4, r5] = r;
    format!(
        "virtual_server_group web {{
{lab_entries}}}
virtual_server group web {{
    delay_loop 1
    alpha
    retry 1
    delay_before_retry 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server {r3} 8080 {{ weight 3
        TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {r4} 8080 {{ weight 2
        TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {r5} 8080 {{ weight 1
        TCP_CHECK {{ connect_timeout 1 }} }}
}}
"
    )
}

const NAMES: [&str; 3] = ["rs3", "rs4", "rs5"];
const ENTRIES: &str =
    "    192.0.2.100 80\n    192.0.2.101 80\n    192.0.2.110-112 80\n    fwmark 7\n";
const AFTER_RELOAD: &str = "    192.0.2.100 80\n    192.0.2.110-112 80\n    fwmark 7\n";

#[test]
// Long: one end-to-end scenario in steps (spread, a killed server, a reload), each from the state the previous left.
fn a_virtual_server_group_balances_every_entry_and_reloads_in_one_transaction() {
    if !netns::require_root() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        netns::not_run("nft (Debian's nftables package) is missing: scripts/test installs it");
        panic!("nft is missing: install Debian's nftables package (scripts/test does)");
    }
    let mut lab = Lab::with_links("dpgroup", 5, 2);
    lab.exec(2, &["ip", "link", "set", "eth1", "down"]);
    for h in 3..=5 {
        lab.exec(h, &["ip", "link", "set", "eth0", "down"]);
        let gw = netns::link_v4(1, 1).to_string();
        let r = lab.exec(h, &["ip", "route", "add", "default", "via", &gw]);
        assert!(r.status.success(), "route on host {h}: {r:?}");
    }
    lab.exec(1, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    let vips = [
        "192.0.2.100",
        "192.0.2.101",
        "192.0.2.110",
        "192.0.2.111",
        "192.0.2.112",
        "192.0.2.120",
    ];
    for v in vips {
        let a = format!("{v}/24");
        let r = lab.exec(1, &["ip", "addr", "add", &a, "dev", "eth0"]);
        assert!(r.status.success(), "{v}: {r:?}");
    }
    let mark = lab.write(
        "mark.nft",
        "table ip marker {\n chain pre { type filter hook prerouting priority mangle; policy accept;\n  ip daddr 192.0.2.120 tcp dport 80 meta mark set 7\n }\n}\n",
    );
    let r = lab.exec(1, &["nft", "-f", &mark.display().to_string()]);
    assert!(r.status.success(), "nft -f mark: {r:?}");
    let marker_before = lab
        .exec(1, &["nft", "list", "table", "ip", "marker"])
        .stdout;

    let srv = lab.write("server.py", NAMED_SERVER);
    let spread_py = lab.write("spread.py", SPREAD);
    let kept_py = lab.write("kept.py", KEPT_CLIENT);
    let addr = |h: usize| netns::link_v4(h, 1).to_string();
    let mut servers: Vec<Proc> = (3..=5)
        .map(|h| named_server(&lab, h, &srv, &format!("rs{h}"), &addr(h), 8080))
        .collect();
    // Every server listens before traffic starts.
    wait_listening(&lab, 1, &[3, 4, 5].map(|h| (addr(h), 8080u16)));
    let node = lab.start(Kind::Vigil, 1, &conf(ENTRIES, [addr(3), addr(4), addr(5)]));
    // The table is complete once every server passed its first check (alpha): 6 buckets.
    assert!(
        netns::wait_until(Duration::from_secs(20), || ruleset(&lab, 1)
            .contains("numgen inc mod 6")),
        "vigild did not build its table:\n{}\n{}",
        ruleset(&lab, 1),
        lab.node_ref(node).log_text()
    );
    let rules = ruleset(&lab, 1);
    println!("director's ruleset (group):\n{rules}");
    for want in [
        "ip daddr 192.0.2.100 tcp dport 80 goto vs0",
        "ip daddr 192.0.2.101 tcp dport 80 goto vs0",
        "ip daddr 192.0.2.110-192.0.2.112 tcp dport 80 goto vs0",
        "meta mark 0x00000007 goto vs0",
    ] {
        assert!(rules.contains(want), "{want}:\n{rules}");
    }
    assert_eq!(
        rules.matches("numgen").count(),
        1,
        "one chain for all: {rules}"
    );

    // 3,000 new connections: 500 through each address of the group.
    let per = spread(&lab, &spread_py, &vips, 500);
    let mut total = [0u64; 3];
    for (vip, (counts, errors)) in &per {
        let observed: Vec<u64> = NAMES
            .iter()
            .map(|n| counts.get(*n).copied().unwrap_or(0))
            .collect();
        let chi = chi_square(&observed, &[3, 2, 1]);
        println!("500 requests through {vip}: {counts:?}, errors {errors}, chi-square {chi:.2}");
        assert_eq!(*errors, 0, "{vip}: {counts:?}");
        assert_eq!(observed.iter().sum::<u64>(), 500, "{vip}: {counts:?}");
        assert!(chi < 13.8, "{vip}: {observed:?} against 3:2:1: {chi:.2}");
        for (t, o) in total.iter_mut().zip(&observed) {
            *t += o;
        }
    }
    let chi = chi_square(&total, &[3, 2, 1]);
    println!("3,000 requests through the group: {total:?}, chi-square {chi:.2}");
    assert!(chi < 13.8, "{total:?} against 3:2:1: {chi:.2}");

    // rs4 killed: once it is DOWN, no entry sends it a new connection.
    servers[1].stop();
    let victim = addr(4);
    assert!(
        netns::wait_until(Duration::from_secs(20), || lab
            .vigild_status(node)
            .lines()
            .any(|l| l.contains(&format!("Real server {victim}:8080: DOWN")))),
        "rs4 not marked down:\n{}",
        lab.vigild_status(node)
    );
    assert!(
        netns::wait_until(Duration::from_secs(10), || ruleset(&lab, 1)
            .contains("numgen inc mod 4")),
        "the table was not changed for rs4:\n{}",
        ruleset(&lab, 1)
    );
    let per = spread(&lab, &spread_py, &vips, 150);
    for (vip, (counts, errors)) in &per {
        println!("150 requests through {vip} after rs4 was killed: {counts:?}, errors {errors}");
        assert_eq!(*errors, 0, "{vip}: {counts:?}");
        assert_eq!(
            counts.get("rs4"),
            None,
            "{vip}: the dead server got new connections"
        );
        assert_eq!(counts.values().sum::<u64>(), 150, "{vip}: {counts:?}");
    }

    // A kept-alive connection through 192.0.2.100, then a reload without 192.0.2.101.
    let mut kept = Command::new("ip")
        .args(["netns", "exec", &lab.ns(2), "python3"])
        .arg(&kept_py)
        .arg("192.0.2.100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kept-alive client");
    let mut kin = kept.stdin.take().expect("stdin");
    let mut kout = BufReader::new(kept.stdout.take().expect("stdout"));
    let kept_on = ask(&mut kin, &mut kout);
    assert!(
        kept_on == "rs3" || kept_on == "rs5",
        "kept-alive client: {kept_on}"
    );
    let n = lab.node(node);
    std::fs::write(&n.conf, conf(AFTER_RELOAD, [addr(3), addr(4), addr(5)]))
        .expect("write the new configuration");
    netns::signal(n.pid, libc::SIGHUP);
    assert!(
        netns::wait_until(Duration::from_secs(20), || {
            let r = ruleset(&lab, 1);
            !r.contains("192.0.2.101") && r.contains("numgen inc mod 4")
        }),
        "the reload did not remove 192.0.2.101:\n{}\n{}",
        ruleset(&lab, 1),
        lab.node_ref(node).log_text()
    );
    println!("director's ruleset after the reload:\n{}", ruleset(&lab, 1));
    let kept_vips = [
        "192.0.2.100",
        "192.0.2.110",
        "192.0.2.111",
        "192.0.2.112",
        "192.0.2.120",
    ];
    let per = spread(&lab, &spread_py, &kept_vips, 60);
    for (vip, (counts, errors)) in &per {
        println!("60 requests through {vip} after the reload: {counts:?}, errors {errors}");
        assert_eq!(*errors, 0, "{vip}: {counts:?}");
        assert_eq!(counts.get("rs4"), None, "{vip}: {counts:?}");
        assert_eq!(counts.values().sum::<u64>(), 60, "{vip}: {counts:?}");
    }
    // 192.0.2.101 is no longer translated: the director itself refuses (nothing listens).
    let per = spread(&lab, &spread_py, &["192.0.2.101"], 5);
    let (counts, errors) = &per["192.0.2.101"];
    println!("5 requests through 192.0.2.101 after the reload: {counts:?}, errors {errors}");
    assert_eq!((counts.len(), *errors), (0, 5), "{counts:?}");
    let again = ask(&mut kin, &mut kout);
    assert_eq!(again, kept_on, "the kept-alive connection moved or broke");
    drop(kin);
    netns::signal(kept.id(), libc::SIGKILL);
    let _ = kept.wait();

    let st = lab.node(node).terminate();
    assert!(st.is_some(), "vigild did not stop");
    let after = ruleset(&lab, 1);
    assert!(!after.contains("table ip vigil"), "{after}");
    let marker_after = lab
        .exec(1, &["nft", "list", "table", "ip", "marker"])
        .stdout;
    assert_eq!(marker_after, marker_before, "the test's own table changed");
}
