// Long: the data plane's end-to-end tests share one lab builder and its traffic helpers; a test per file would copy them.
//! The nftables load-balancer data plane with real traffic (issue 17), in namespaces.
//!
//! Host 1 is the director: vigild with one virtual server 192.0.2.100:80 (lb_algo wrr,
//! lb_kind NAT, TCP_CHECKs) and the virtual address on its link-0 interface; it forwards.
//! Host 2 is the client, on link 0 only (192.0.2.0/24). Hosts 3, 4 and 5 are real servers on
//! link 1 only (198.51.100.0/24), routing back through the director (LVS NAT's rule), each
//! running a small HTTP/1.1 server that answers with its own name; host 3 also runs the sorry
//! server (port 9090, answers "sorry").
//!
//! The real servers start down (`alpha`) and enter the table when their first check passes, so
//! the table is complete only once every server answers: the tests wait for that.
//!
//! Asserted with real requests through the director:
//! * the spread over 3,000 new connections matches the weights 3:2:1 (chi-square, 2 degrees
//!   of freedom, below 13.8 = p 0.001), with no failed request;
//! * someone else flushes Vigil's chain, then deletes its table: vigild rebuilds it each time
//!   (nf_tables notifications), and traffic flows to all three again;
//! * a kept-alive connection is open to one server; another server is killed: once vigild's
//!   status shows it DOWN, 600 new connections reach only the live ones (none fails, none
//!   reaches the dead one), and the kept-alive connection still answers from its server
//!   (conntrack keeps its translation: the table change did not touch it);
//! * quorum lost (quorum 4: with the servers of weight 1 and 3 gone, 2 < 4): the sorry server
//!   answers every new connection;
//! * vigild stopped: `table ip vigil` is gone and the rest of the director's ruleset (a table
//!   of the test's own, added before vigild started) is exactly as it was.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_tests::http_lab::{
    ask, chi_square, named_server, ruleset, wait_listening, Proc, KEPT_CLIENT, NAMED_SERVER,
};
use vigil_tests::netns::{self, Kind, Lab};

/// `N` new connections, one request each; prints `name count` lines and `errors N`.
const SPREAD: &str = r#"
import sys, http.client, collections
vip, n = sys.argv[1], int(sys.argv[2])
c = collections.Counter(); errors = 0
for i in range(n):
    try:
        h = http.client.HTTPConnection(vip, 80, timeout=5)
        h.request("GET", "/", headers={"Connection": "close"})
        c[h.getresponse().read().decode().strip()] += 1
        h.close()
    except Exception as e:
        if errors == 0:
            print("first error:", repr(e), file=sys.stderr)
        errors += 1
for k, v in sorted(c.items()):
    print(k, v)
print("errors", errors)
"#;

fn server(lab: &Lab, host: usize, script: &std::path::Path, name: &str, port: u16) -> Proc {
    named_server(
        lab,
        host,
        script,
        name,
        &netns::link_v4(host, 1).to_string(),
        port,
    )
}

fn spread(lab: &Lab, script: &std::path::Path, n: usize) -> (BTreeMap<String, u64>, u64) {
    spread_to(lab, script, "192.0.2.100", n)
}

fn spread_to(
    lab: &Lab,
    script: &std::path::Path,
    vip: &str,
    n: usize,
) -> (BTreeMap<String, u64>, u64) {
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns(2), "python3"])
        .arg(script)
        .args([vip, &n.to_string()])
        .output()
        .expect("python3 client");
    let text = String::from_utf8_lossy(&out.stdout);
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let mut counts = BTreeMap::new();
    let mut errors = u64::MAX;
    for line in text.lines() {
        let mut w = line.split_whitespace();
        if let (Some(k), Some(v)) = (w.next(), w.next().and_then(|v| v.parse().ok())) {
            if k == "errors" {
                errors = v;
            } else {
                counts.insert(k.to_string(), v);
            }
        }
    }
    (counts, errors)
}

#[test]
// Long: one end-to-end scenario in steps, each starting from the state the previous left (the namespace lab is costly to build).
fn nat_load_balancing_follows_the_checkers() {
    if !netns::require_root() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        netns::not_run("nft (Debian's nftables package) is missing: scripts/test installs it");
        panic!("nft is missing: install Debian's nftables package (scripts/test does)");
    }
    let mut lab = Lab::with_links("dataplane", 5, 2);
    // Client: link 0 only. Real servers: link 1 only, routed through the director.
    lab.exec(2, &["ip", "link", "set", "eth1", "down"]);
    for h in 3..=5 {
        lab.exec(h, &["ip", "link", "set", "eth0", "down"]);
        let gw = netns::link_v4(1, 1).to_string();
        let r = lab.exec(h, &["ip", "route", "add", "default", "via", &gw]);
        assert!(r.status.success(), "route on host {h}");
    }
    let gw0 = netns::link_v4(1, 0).to_string();
    assert!(lab
        .exec(2, &["ip", "route", "add", "198.51.100.0/24", "via", &gw0])
        .status
        .success());
    lab.exec(1, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    assert!(lab
        .exec(1, &["ip", "addr", "add", "192.0.2.100/24", "dev", "eth0"])
        .status
        .success());
    // A table of the test's own, which vigild must leave alone.
    let other = lab.write(
        "other.nft",
        "table inet other {\n set keep { type ipv4_addr; elements = { 203.0.113.7 } }\n chain input { type filter hook input priority 0; policy accept; }\n}\n",
    );
    let r = lab.exec(1, &["nft", "-f", &other.display().to_string()]);
    assert!(r.status.success(), "nft -f other: {r:?}");
    let before = ruleset(&lab, 1);

    let srv = lab.write("server.py", NAMED_SERVER);
    let spread_py = lab.write("spread.py", SPREAD);
    let kept_py = lab.write("kept.py", KEPT_CLIENT);
    let mut servers: Vec<Proc> = (3..=5)
        .map(|h| server(&lab, h, &srv, &format!("rs{h}"), 8080))
        .collect();
    let _sorry = server(&lab, 3, &srv, "sorry", 9090);
    let (r3, r4, r5) = (
        netns::link_v4(3, 1),
        netns::link_v4(4, 1),
        netns::link_v4(5, 1),
    );
    let check = "TCP_CHECK { connect_timeout 1 }";
    let conf = format!(
        "virtual_server 192.0.2.100 80 {{
    delay_loop 1
    alpha
    retry 1
    delay_before_retry 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    quorum 4
    sorry_server {r3} 9090
    real_server {r3} 8080 {{ weight 3
        {check} }}
    real_server {r4} 8080 {{ weight 2
        {check} }}
    real_server {r5} 8080 {{ weight 1
        {check} }}
}}
"
    );
    let node = lab.start(Kind::Vigil, 1, &conf);
    assert!(
        netns::wait_until(Duration::from_secs(20), || ruleset(&lab, 1)
            .contains("numgen inc mod 6")),
        "vigild did not build its table:\n{}\n{}",
        ruleset(&lab, 1),
        lab.node_ref(node).log_text()
    );
    println!(
        "director's ruleset with vigild running:\n{}",
        ruleset(&lab, 1)
    );

    // 1. The spread follows the weights.
    let (counts, errors) = spread(&lab, &spread_py, 3000);
    println!("3000 requests: {counts:?}, errors {errors}");
    assert_eq!(errors, 0, "failed requests: {counts:?}");
    let obs: Vec<u64> = ["rs3", "rs4", "rs5"]
        .iter()
        .map(|k| counts.get(*k).copied().unwrap_or(0))
        .collect();
    assert_eq!(obs.iter().sum::<u64>(), 3000, "{counts:?}");
    let chi = chi_square(&obs, &[3, 2, 1]);
    println!("chi-square (2 dof) against 3:2:1: {chi:.3} (bound 13.8, p = 0.001)");
    assert!(
        chi < 13.8,
        "spread {obs:?} does not match 3:2:1 (chi2 {chi})"
    );

    // 1b. Someone else flushes Vigil's chain, then deletes its table: vigild notices (nf_tables
    // notifications) and rebuilds it from the engine's state.
    for meddle in [
        &["nft", "flush", "chain", "ip", "vigil", "vs0"][..],
        &["nft", "delete", "table", "ip", "vigil"][..],
    ] {
        assert!(lab.exec(1, meddle).status.success(), "{meddle:?}");
        assert!(
            netns::wait_until(Duration::from_secs(10), || ruleset(&lab, 1)
                .contains("numgen inc mod 6")),
            "not rebuilt after {meddle:?}:\n{}\n{}",
            ruleset(&lab, 1),
            lab.node_ref(node).log_text()
        );
    }
    let log = lab.node_ref(node).log_text();
    assert_eq!(
        log.matches("changed or removed by someone else").count(),
        2,
        "{log}"
    );
    let (counts, errors) = spread(&lab, &spread_py, 60);
    assert_eq!(
        (errors, counts.len()),
        (0, 3),
        "after the rebuilds: {counts:?}"
    );

    // 2. A kept-alive connection, then a different server killed.
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
    let first = ask(&mut kin, &mut kout);
    assert!(first.starts_with("rs"), "kept connection: {first}");
    // Kill a server other than the kept connection's (rs5 unless it is rs5's, then rs4).
    let victim = if first == "rs5" { 4 } else { 5 };
    servers[victim - 3].stop();
    let victim_addr = netns::link_v4(victim, 1).to_string();
    assert!(
        netns::wait_until(Duration::from_secs(20), || lab
            .vigild_status(node)
            .lines()
            .any(|l| l.contains(&format!("Real server {victim_addr}:8080: DOWN")))),
        "the checker did not mark rs{victim} down:\n{}",
        lab.vigild_status(node)
    );
    let (counts, errors) = spread(&lab, &spread_py, 600);
    println!("600 requests after rs{victim} went down: {counts:?}, errors {errors}");
    assert_eq!(errors, 0, "{counts:?}");
    assert!(
        !counts.contains_key(&format!("rs{victim}")),
        "a new connection reached the dead server: {counts:?}"
    );
    assert_eq!(counts.values().sum::<u64>(), 600);
    let again = ask(&mut kin, &mut kout);
    assert_eq!(
        again, first,
        "the kept-alive connection changed server or broke"
    );
    drop(kin);
    netns::signal(kept.id(), libc::SIGKILL);
    let _ = kept.wait();

    // 3. Quorum lost: rs3 (weight 3) gone too leaves at most 2 < quorum 4: the sorry server.
    servers[0].stop();
    assert!(
        netns::wait_until(Duration::from_secs(20), || lab
            .vigild_status(node)
            .contains("IN USE")),
        "quorum not lost:\n{}",
        lab.vigild_status(node)
    );
    // `vigild status` shows the checker engine's decision; the kernel has it once the nftables
    // transaction that follows it has run (a fresh-clone run sent its 100 requests in between
    // and all were refused by the stopped rs3). Wait for the kernel's table, not for the status.
    assert!(
        netns::wait_until(Duration::from_secs(20), || ruleset(&lab, 1)
            .contains("9090")),
        "the sorry server never reached the kernel's table:\n{}",
        ruleset(&lab, 1)
    );
    // The sorry server is no real server: nothing checks it, so the test makes sure it listens
    // (a CI run saw all 100 requests refused with "9090" already in the table; the sorry server
    // is the only one of the four servers this step needs that no checker had seen answer).
    wait_listening(&lab, 1, &[(r3.to_string(), 9090)]);
    let (counts, errors) = spread(&lab, &spread_py, 100);
    println!("100 requests with the quorum lost: {counts:?}, errors {errors}");
    if errors != 0 || counts.get("sorry").copied() != Some(100) {
        let ss = lab.exec(3, &["ss", "-tanp"]);
        panic!(
            "quorum lost: {counts:?}, errors {errors}\nruleset:\n{}\nhost 3 sockets:\n{}\nstatus:\n{}\nlog:\n{}",
            ruleset(&lab, 1),
            String::from_utf8_lossy(&ss.stdout),
            lab.vigild_status(node),
            lab.node_ref(node).log_text()
        );
    }

    // 4. Stopped: Vigil's table gone, the rest untouched.
    let st = lab.node(node).terminate();
    assert!(st.is_some(), "vigild did not stop");
    let after = ruleset(&lab, 1);
    assert!(!after.contains("table ip vigil"), "{after}");
    assert_eq!(after, before, "vigild changed the rest of the ruleset");
    let log = lab.node_ref(node).log_text();
    assert!(
        log.contains("data plane (nftables): removed"),
        "no removal logged:\n{log}"
    );
}

/// An IPv6 virtual server whose real servers have `inhibit_on_failure`: a dead server stays in
/// the engine's table at weight 0, which takes no new connection (no bucket), while the other
/// takes them all; `vigild status` shows it at weight 0, not absent.
#[test]
fn ipv6_service_and_inhibit_on_failure() {
    if !netns::require_root() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        netns::not_run("nft (Debian's nftables package) is missing: scripts/test installs it");
        panic!("nft is missing: install Debian's nftables package (scripts/test does)");
    }
    let mut lab = Lab::with_links("dataplane6", 4, 2);
    // Link 0: 2001:db8::/64 (client side, the lab's addresses); link 1: 2001:db8:1::/64.
    let v6_1 = |h: usize| format!("2001:db8:1::{}", 10 + h);
    lab.exec(2, &["ip", "link", "set", "eth1", "down"]);
    for h in [1, 3, 4] {
        let a = format!("{}/64", v6_1(h));
        let r = lab.exec(h, &["ip", "addr", "add", &a, "dev", "eth1", "nodad"]);
        assert!(r.status.success(), "{r:?}");
    }
    for h in [3, 4] {
        lab.exec(h, &["ip", "link", "set", "eth0", "down"]);
        let r = lab.exec(h, &["ip", "-6", "route", "add", "default", "via", &v6_1(1)]);
        assert!(r.status.success(), "route on host {h}: {r:?}");
    }
    let gw = netns::host_v6(1).to_string();
    let r = lab.exec(
        2,
        &["ip", "-6", "route", "add", "2001:db8:1::/64", "via", &gw],
    );
    assert!(r.status.success(), "{r:?}");
    lab.exec(1, &["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    let r = lab.exec(
        1,
        &[
            "ip",
            "addr",
            "add",
            "2001:db8::100/64",
            "dev",
            "eth0",
            "nodad",
        ],
    );
    assert!(r.status.success(), "{r:?}");

    let srv = lab.write("server.py", NAMED_SERVER);
    let spread_py = lab.write("spread.py", SPREAD);
    let mut servers: Vec<Proc> = [3, 4]
        .iter()
        .map(|h| named_server(&lab, *h, &srv, &format!("rs{h}"), &v6_1(*h), 8080))
        .collect();
    let (a3, a4) = (v6_1(3), v6_1(4));
    let conf = format!(
        "virtual_server 2001:db8::100 80 {{
    delay_loop 1
    alpha
    retry 1
    delay_before_retry 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {a3} 8080 {{ inhibit_on_failure
        TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {a4} 8080 {{ inhibit_on_failure
        TCP_CHECK {{ connect_timeout 1 }} }}
}}
"
    );
    let node = lab.start(Kind::Vigil, 1, &conf);
    assert!(
        netns::wait_until(Duration::from_secs(20), || ruleset(&lab, 1)
            .contains("numgen inc mod 2")),
        "vigild did not build its table:\n{}\n{}",
        ruleset(&lab, 1),
        lab.node_ref(node).log_text()
    );
    println!("director's ruleset (IPv6):\n{}", ruleset(&lab, 1));
    let (counts, errors) = spread_to(&lab, &spread_py, "2001:db8::100", 200);
    println!("200 requests over IPv6: {counts:?}, errors {errors}");
    assert_eq!(errors, 0);
    assert_eq!(
        (counts.get("rs3").copied(), counts.get("rs4").copied()),
        (Some(100), Some(100))
    );

    servers[1].stop();
    assert!(
        netns::wait_until(Duration::from_secs(20), || lab
            .vigild_status(node)
            .lines()
            .any(|l| l.contains(&format!("Real server [{a4}]:8080: DOWN"))
                && l.contains("table weight 0"))),
        "rs4 not inhibited:\n{}",
        lab.vigild_status(node)
    );
    let (counts, errors) = spread_to(&lab, &spread_py, "2001:db8::100", 200);
    println!("200 requests with rs4 inhibited (weight 0): {counts:?}, errors {errors}");
    assert_eq!(errors, 0);
    assert_eq!(counts.get("rs3").copied(), Some(200), "{counts:?}");
    let st = lab.node(node).terminate();
    assert!(st.is_some(), "vigild did not stop");
    assert!(!ruleset(&lab, 1).contains("vigil"), "{}", ruleset(&lab, 1));
}

/// New connections in a loop for `SECS` seconds, one request each (2 s timeout: a margin for
/// a loaded machine; a retry 50 ms after a failure); prints `START END ok NAME` or `START END err ERROR` per attempt
/// (wall-clock seconds, the clock the test reads too).
const LOOP: &str = r#"
import sys, time, http.client
vip, secs = sys.argv[1], float(sys.argv[2])
end = time.time() + secs
while time.time() < end:
    t = time.time()
    try:
        h = http.client.HTTPConnection(vip, 80, timeout=2)
        h.request("GET", "/", headers={"Connection": "close"})
        name = h.getresponse().read().decode().strip()
        h.close()
        print(f"{t:.3f} {time.time():.3f} ok {name}", flush=True)
    except Exception as e:
        print(f"{t:.3f} {time.time():.3f} err {type(e).__name__}", flush=True)
        time.sleep(0.05)
    time.sleep(0.02)
"#;

fn wall() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The director pair: two vigild with one VRRP instance (the client-side VIP 192.0.2.100 and
/// the real servers' gateway 198.51.100.1 move together), the same virtual server and
/// checkers, and the nftables data plane on both. Host 3 is the client (link 0 only); hosts
/// 4, 5 and 6 are the real servers (link 1 only, default route via 198.51.100.1). rs6 is
/// killed first: both directors' checkers mark it down. Then, under a stream of new
/// connections from the client, the master director dies (vigild SIGKILLed and both its
/// links cut at once: a director that crashed, whose VIPs go with it): the backup's VRRP
/// takes both addresses after Master_Down_Interval and serves, with its own checkers'
/// table (already converged). Asserted: the backup holds the VIPs and serves; no answer at
/// any time from the dead rs6; once the backup serves, every later request succeeds. The
/// gap (last answer before the crash to first answer after) and what the client saw in it
/// are printed; a connection kept alive across the crash is reported, not asserted
/// (conntrack state is not synchronised between directors: it survives only if the backup
/// happens to schedule its next packet to the same server).
#[test]
// Long: one end-to-end scenario in steps, each starting from the state the previous left (the namespace lab is costly to build).
fn director_pair_fails_over_under_traffic() {
    if !netns::require_root() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        netns::not_run("nft (Debian's nftables package) is missing: scripts/test installs it");
        panic!("nft is missing: install Debian's nftables package (scripts/test does)");
    }
    let mut lab = Lab::with_links("dppair", 6, 2);
    lab.exec(3, &["ip", "link", "set", "eth1", "down"]);
    for h in 4..=6 {
        lab.exec(h, &["ip", "link", "set", "eth0", "down"]);
        let r = lab.exec(h, &["ip", "route", "add", "default", "via", "198.51.100.1"]);
        assert!(r.status.success(), "route on host {h}: {r:?}");
    }
    // The client reaches the real servers' network through the VIP only (it moves).
    lab.exec(3, &["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
    for d in [1, 2] {
        lab.exec(d, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    }
    let srv = lab.write("server.py", NAMED_SERVER);
    let loop_py = lab.write("loop.py", LOOP);
    let kept_py = lab.write("kept.py", KEPT_CLIENT);
    let mut servers: Vec<Proc> = (4..=6)
        .map(|h| server(&lab, h, &srv, &format!("rs{h}"), 8080))
        .collect();
    let (r4, r5, r6) = (
        netns::link_v4(4, 1),
        netns::link_v4(5, 1),
        netns::link_v4(6, 1),
    );
    let conf = |prio: u8| {
        format!(
            "global_defs {{
    router_id director{prio}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int 1
    virtual_ipaddress {{
        192.0.2.100/24
        198.51.100.1/24 dev eth1
    }}
}}
virtual_server 192.0.2.100 80 {{
    delay_loop 1
    alpha
    retry 1
    delay_before_retry 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {r4} 8080 {{ TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {r5} 8080 {{ TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {r6} 8080 {{ TCP_CHECK {{ connect_timeout 1 }} }}
}}
"
        )
    };
    let master = lab.start(Kind::Vigil, 1, &conf(150));
    let backup = lab.start(Kind::Vigil, 2, &conf(100));
    let vip = netns::vip4();
    assert!(
        lab.wait_sole_holder(vip, 1, Duration::from_secs(20)),
        "director 1 did not become master:\n{}",
        lab.logs()
    );
    let table_of = |h: usize| {
        String::from_utf8_lossy(&lab.exec(h, &["nft", "list", "ruleset"]).stdout).into_owned()
    };
    for d in [1, 2] {
        assert!(
            netns::wait_until(Duration::from_secs(20), || table_of(d)
                .contains("numgen inc mod 3")),
            "director {d}: table incomplete:\n{}\n{}",
            table_of(d),
            lab.logs()
        );
    }
    // rs6 dies before the failover; both directors must stop sending to it.
    servers[2].stop();
    for n in [master, backup] {
        assert!(
            netns::wait_until(Duration::from_secs(20), || lab
                .vigild_status(n)
                .contains(&format!("Real server {r6}:8080: DOWN"))),
            "rs6 not marked down:\n{}",
            lab.vigild_status(n)
        );
    }
    for d in [1, 2] {
        assert!(
            netns::wait_until(Duration::from_secs(10), || table_of(d)
                .contains("numgen inc mod 2")),
            "director {d}: rs6 still in the table:\n{}",
            table_of(d)
        );
    }
    let mut kept = Command::new("ip")
        .args(["netns", "exec", &lab.ns(3), "python3"])
        .arg(&kept_py)
        .arg("192.0.2.100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kept-alive client");
    let mut kin = kept.stdin.take().expect("stdin");
    let mut kout = BufReader::new(kept.stdout.take().expect("stdout"));
    let first = ask(&mut kin, &mut kout);
    assert!(first.starts_with("rs"), "kept connection: {first}");

    let client = Command::new("ip")
        .args(["netns", "exec", &lab.ns(3), "python3"])
        .arg(&loop_py)
        .args(["192.0.2.100", "25"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("client loop");
    std::thread::sleep(Duration::from_secs(5));
    // The crash: both links cut and vigild killed, at once. Its time is taken once the links
    // are down (each `ip` takes a few ms): a request started after it cannot reach director 1.
    lab.cut_link_on(1, 0);
    lab.cut_link_on(1, 1);
    let crash = wall();
    lab.node(master).kill9();
    let took = netns::wait_until(Duration::from_secs(20), || {
        lab.has(2, vip)
            && lab
                .addresses_on(2, 1)
                .contains(&"198.51.100.1".parse().unwrap())
    });
    let vip_moved = wall() - crash;
    assert!(
        took,
        "the backup did not take the VIPs:\n{}",
        lab.node_ref(backup).log_text()
    );
    let out = client.wait_with_output().expect("client loop output");
    let text = String::from_utf8_lossy(&out.stdout);
    let again = ask(&mut kin, &mut kout);
    drop(kin);
    netns::signal(kept.id(), libc::SIGKILL);
    let _ = kept.wait();

    // (start, end, Ok(name) | Err(error))
    let attempts: Vec<(f64, f64, Result<String, String>)> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let s: f64 = w.next()?.parse().ok()?;
            let e: f64 = w.next()?.parse().ok()?;
            let what = w.next()?;
            let v = w.next()?.to_string();
            Some((s, e, if what == "ok" { Ok(v) } else { Err(v) }))
        })
        .collect();
    let before: Vec<_> = attempts.iter().filter(|a| a.1 < crash).collect();
    let after: Vec<_> = attempts.iter().filter(|a| a.0 > crash).collect();
    let last_ok = before.iter().rev().find(|a| a.2.is_ok()).map(|a| a.1);
    let first_ok = after.iter().position(|a| a.2.is_ok());
    let by_server = |set: &[&(f64, f64, Result<String, String>)]| {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for a in set {
            *m.entry(match &a.2 {
                Ok(n) => n.clone(),
                Err(e) => format!("error {e}"),
            })
            .or_default() += 1;
        }
        m
    };
    println!(
        "before the crash: {:?}\nafter the crash: {:?}",
        by_server(&before),
        by_server(&after)
    );
    assert!(
        !attempts.iter().any(|a| a.2.as_deref() == Ok("rs6")),
        "a request was answered by the dead rs6"
    );
    assert!(
        before.iter().filter(|a| a.2.is_ok()).count() > 10 && before.iter().all(|a| a.2.is_ok()),
        "the master did not serve cleanly before the crash: {:?}",
        by_server(&before)
    );
    let Some(first_ok) = first_ok else {
        panic!(
            "no request served after the crash: {:?}\n{}",
            by_server(&after),
            lab.node_ref(backup).log_text()
        );
    };
    let (gap_seen, recovered) = after.split_at(first_ok);
    let gap = recovered[0].1 - last_ok.unwrap_or(crash);
    println!(
        "failover: VIPs on the backup {vip_moved:.2} s after the crash; client gap (last answer \
         before the crash to first answer after) {gap:.2} s; in the gap the client saw {:?}; \
         then {} requests, all answered",
        by_server(gap_seen),
        recovered.len()
    );
    // Not asserted: the backup has no conntrack entry for it; with nf_conntrack_tcp_loose
    // (the default) its next packet is taken as a new flow and scheduled afresh: it lives on
    // only if the scheduler happens to pick the same server (else that server resets it).
    println!(
        "the connection kept alive across the crash (was {first}) then saw: {again} (it \
         survives only if the backup's scheduler picks the same server: no conntrack sync)"
    );
    assert!(
        recovered.iter().all(|a| a.2.is_ok()),
        "requests failed after the backup started serving: {:?}",
        by_server(recovered)
    );
    assert!(
        recovered.len() > 10,
        "too few requests after the failover to judge: {:?}",
        by_server(recovered)
    );
    let served: BTreeMap<String, u64> = by_server(recovered);
    assert_eq!(
        served.keys().cloned().collect::<Vec<_>>(),
        ["rs4", "rs5"],
        "the backup did not spread over the live servers: {served:?}"
    );
}

/// `N` new connections to VIP:PORT, one request each; prints `name count` lines and
/// `errors N` (as SPREAD, with the port given).
const SPREAD_PORT: &str = r#"
import sys, http.client, collections
vip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = collections.Counter(); errors = 0
for i in range(n):
    try:
        h = http.client.HTTPConnection(vip, port, timeout=5)
        h.request("GET", "/", headers={"Connection": "close"})
        c[h.getresponse().read().decode().strip()] += 1
        h.close()
    except Exception as e:
        errors += 1
for k, v in sorted(c.items()):
    print(k, v)
print("errors", errors)
"#;

/// A single director (host 1) with the lab's plain topology: client host 2 on link 0, real
/// servers 3 and 4 on link 1 routing through the director.
fn single_director(name: &str) -> Lab {
    let lab = Lab::with_links(name, 4, 2);
    lab.exec(2, &["ip", "link", "set", "eth1", "down"]);
    for h in 3..=4 {
        lab.exec(h, &["ip", "link", "set", "eth0", "down"]);
        let gw = netns::link_v4(1, 1).to_string();
        let r = lab.exec(h, &["ip", "route", "add", "default", "via", &gw]);
        assert!(r.status.success(), "route on host {h}");
    }
    lab.exec(1, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    assert!(lab
        .exec(1, &["ip", "addr", "add", "192.0.2.100/24", "dev", "eth0"])
        .status
        .success());
    lab
}

fn spread_port(lab: &Lab, script: &std::path::Path, port: u16, n: usize) -> BTreeMap<String, u64> {
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns(2), "python3"])
        .arg(script)
        .args(["192.0.2.100", &port.to_string(), &n.to_string()])
        .output()
        .expect("python3 client");
    let mut counts = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut w = line.split_whitespace();
        if let (Some(k), Some(v)) = (w.next(), w.next().and_then(|v| v.parse().ok())) {
            counts.insert(k.to_string(), v);
        }
    }
    counts
}

/// `virtual_server fwmark 7`: the operator's own rule (a table of the test's, mangle priority)
/// marks TCP to 192.0.2.100 ports 80 and 8080 with 7; vigild balances marked connections
/// over two real servers, each listening on both ports (a fwmark service keeps the
/// destination port). Asserted with traffic: both ports are balanced rr over both servers and
/// each answer comes from the port asked for; port 9443 (not marked) is not translated and
/// reaches the director, which refuses it.
#[test]
fn fwmark_service_under_traffic() {
    if !netns::require_root() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        netns::not_run("nft (Debian's nftables package) is missing: scripts/test installs it");
        panic!("nft is missing: install Debian's nftables package (scripts/test does)");
    }
    let mut lab = single_director("dpfwmark");
    let mark = lab.write(
        "mark.nft",
        "table ip marker {\n chain pre { type filter hook prerouting priority mangle; policy accept;\n  ip daddr 192.0.2.100 tcp dport { 80, 8080 } meta mark set 7\n }\n}\n",
    );
    let r = lab.exec(1, &["nft", "-f", &mark.display().to_string()]);
    assert!(r.status.success(), "nft -f mark: {r:?}");
    let srv = lab.write("server.py", NAMED_SERVER);
    let spread_py = lab.write("spread_port.py", SPREAD_PORT);
    let mut procs = Vec::new();
    for h in 3..=4 {
        for port in [80u16, 8080] {
            procs.push(server(&lab, h, &srv, &format!("rs{h}:{port}"), port));
        }
    }
    let (r3, r4) = (netns::link_v4(3, 1), netns::link_v4(4, 1));
    // Every server listens before traffic starts (a server still starting would turn its
    // port's requests into errors that say nothing about the data plane).
    for a in [r3, r4] {
        for port in [80u16, 8080] {
            let code = format!("import socket; socket.create_connection(('{a}', {port}), 1)");
            assert!(
                netns::wait_until(Duration::from_secs(10), || lab
                    .exec(1, &["python3", "-c", &code])
                    .status
                    .success()),
                "server {a}:{port} not listening"
            );
        }
    }
    let conf = format!(
        "virtual_server fwmark 7 {{
    delay_loop 1
    alpha
    retry 1
    delay_before_retry 1
    lb_algo rr
    lb_kind NAT
    real_server {r3} 80 {{ TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {r4} 80 {{ TCP_CHECK {{ connect_timeout 1 }} }}
}}
"
    );
    let node = lab.start(Kind::Vigil, 1, &conf);
    assert!(
        netns::wait_until(Duration::from_secs(20), || ruleset(&lab, 1)
            .contains("numgen inc mod 2")),
        "vigild did not build its table:\n{}\n{}",
        ruleset(&lab, 1),
        lab.node_ref(node).log_text()
    );
    println!("director's ruleset (fwmark):\n{}", ruleset(&lab, 1));
    for port in [80u16, 8080] {
        let counts = spread_port(&lab, &spread_py, port, 200);
        println!("200 requests to port {port}: {counts:?}");
        let want: BTreeMap<String, u64> = [
            (format!("rs3:{port}"), 100),
            (format!("rs4:{port}"), 100),
            ("errors".to_string(), 0),
        ]
        .into_iter()
        .collect();
        assert_eq!(counts, want, "port {port}");
    }
    // Port 9443: not marked, not translated: the director itself refuses the connection.
    let counts = spread_port(&lab, &spread_py, 9443, 5);
    assert_eq!(counts.get("errors").copied(), Some(5), "{counts:?}");
    let st = lab.node(node).terminate();
    assert!(st.is_some(), "vigild did not stop");
    let after = ruleset(&lab, 1);
    assert!(!after.contains("table ip vigil"), "{after}");
    assert!(after.contains("table ip marker"), "{after}");
}

/// Rounds of new connections, one per source address per round (interleaved); prints
/// `SOURCE NAME` (or `SOURCE error`) per connection.
const PERSIST: &str = r#"
import sys, http.client
vip, sources, rounds = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
for r in range(rounds):
    for src in sources:
        try:
            h = http.client.HTTPConnection(vip, 80, timeout=5, source_address=(src, 0))
            h.request("GET", "/", headers={"Connection": "close"})
            print(src, h.getresponse().read().decode().strip(), flush=True)
            h.close()
        except Exception as e:
            print(src, "error", flush=True)
"#;

/// For each source, the servers that answered it (and how often).
fn persist(
    lab: &Lab,
    script: &std::path::Path,
    sources: &[&str],
    rounds: usize,
) -> BTreeMap<String, BTreeMap<String, u64>> {
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns(2), "python3"])
        .arg(script)
        .args(["192.0.2.100", &sources.join(","), &rounds.to_string()])
        .output()
        .expect("python3 client");
    let mut m: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((src, name)) = line.split_once(' ') {
            *m.entry(src.to_string())
                .or_default()
                .entry(name.to_string())
                .or_default() += 1;
        }
    }
    m
}

/// `persistence_timeout 5` with `persistence_granularity 255.255.255.240` over two real
/// servers (lb_algo rr): a timed nftables set of clients per server. Asserted with traffic
/// from several client addresses, interleaved so that rr alone would alternate servers:
/// every client stays on one server; two addresses of one /28 share it; clients of other
/// /28s are still spread by rr over both servers; the entries (masked addresses) are in the
/// server's set, and gone once the timeout passes without a new connection; after a real
/// server dies and the checker removes it, its clients go to the other server (its set was
/// flushed) with no failed request; vigild never saw its table as damaged (the shape check
/// matches the real `nft -j` listing of the persistent chains).
#[test]
fn persistence_timeout_keeps_a_client_on_its_server() {
    if !netns::require_root() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        netns::not_run("nft (Debian's nftables package) is missing: scripts/test installs it");
        panic!("nft is missing: install Debian's nftables package (scripts/test does)");
    }
    let mut lab = single_director("dppersist");
    // Client addresses: .50 and .51 share a /28 (192.0.2.48/28); the others are one per /28.
    let sources = [
        "192.0.2.50",
        "192.0.2.51",
        "192.0.2.66",
        "192.0.2.82",
        "192.0.2.114",
    ];
    for a in sources {
        let r = lab.exec(2, &["ip", "addr", "add", &format!("{a}/24"), "dev", "eth0"]);
        assert!(r.status.success(), "{r:?}");
    }
    let srv = lab.write("server.py", NAMED_SERVER);
    let persist_py = lab.write("persist.py", PERSIST);
    let mut servers: Vec<Proc> = (3..=4)
        .map(|h| server(&lab, h, &srv, &format!("rs{h}"), 8080))
        .collect();
    let (r3, r4) = (netns::link_v4(3, 1), netns::link_v4(4, 1));
    let conf = format!(
        "virtual_server 192.0.2.100 80 {{
    delay_loop 1
    alpha
    retry 1
    delay_before_retry 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_timeout 5
    persistence_granularity 255.255.255.240
    real_server {r3} 8080 {{ TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {r4} 8080 {{ TCP_CHECK {{ connect_timeout 1 }} }}
}}
"
    );
    let node = lab.start(Kind::Vigil, 1, &conf);
    assert!(
        netns::wait_until(Duration::from_secs(20), || ruleset(&lab, 1)
            .contains("numgen inc mod 2")),
        "vigild did not build its table:\n{}\n{}",
        ruleset(&lab, 1),
        lab.node_ref(node).log_text()
    );
    println!("director's ruleset (persistence):\n{}", ruleset(&lab, 1));
    let seen = persist(&lab, &persist_py, &sources, 10);
    println!("10 rounds over {sources:?}: {seen:?}");
    for a in sources {
        let m = &seen[a];
        assert_eq!(m.len(), 1, "{a} moved between servers or failed: {m:?}");
        assert_eq!(m.values().sum::<u64>(), 10, "{a}: {m:?}");
    }
    let server_of = |m: &BTreeMap<String, u64>| m.keys().next().cloned().unwrap_or_default();
    assert_eq!(
        server_of(&seen["192.0.2.50"]),
        server_of(&seen["192.0.2.51"]),
        "one /28, one server"
    );
    let used: std::collections::BTreeSet<String> = seen.values().map(server_of).collect();
    assert_eq!(used.len(), 2, "new clients are not spread by rr: {seen:?}");
    // The masked address is in its server's set of clients, with a timeout.
    let set_of = |name: &str| {
        let out = lab.exec(1, &["nft", "list", "set", "ip", "vigil", name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let rs_index = |name: &str| usize::from(name != "rs3");
    let s48 = server_of(&seen["192.0.2.50"]);
    let listed = set_of(&format!("vs0_rs{}_clients", rs_index(&s48)));
    println!("{listed}");
    assert!(
        listed.contains("192.0.2.48 expires"),
        "no entry for 192.0.2.48/28:\n{listed}"
    );
    // The timeout passes with no new connection: the entries expire.
    std::thread::sleep(Duration::from_secs(7));
    for i in 0..2 {
        let l = set_of(&format!("vs0_rs{i}_clients"));
        assert!(!l.contains("expires"), "entries outlived the timeout:\n{l}");
    }
    // A fresh entry for .50's network, then its server dies: its clients move, no failure.
    let first = persist(&lab, &persist_py, &["192.0.2.50"], 1);
    let s = server_of(&first["192.0.2.50"]);
    assert!(s.starts_with("rs"), "{first:?}");
    let victim = if s == "rs3" { 0 } else { 1 };
    servers[victim].stop();
    let victim_addr = netns::link_v4(3 + victim, 1);
    assert!(
        netns::wait_until(Duration::from_secs(20), || lab
            .vigild_status(node)
            .contains(&format!("Real server {victim_addr}:8080: DOWN"))),
        "not marked down:\n{}",
        lab.vigild_status(node)
    );
    let after = persist(&lab, &persist_py, &["192.0.2.50", "192.0.2.51"], 5);
    println!("after {s} died: {after:?}");
    for a in ["192.0.2.50", "192.0.2.51"] {
        assert_eq!(after[a].len(), 1, "{a}: {after:?}");
        assert_ne!(server_of(&after[a]), s, "{a} still sent to the dead {s}");
        assert_ne!(server_of(&after[a]), "error", "{a}: {after:?}");
    }
    let log = lab.node_ref(node).log_text();
    assert!(
        !log.contains("changed or removed by someone else"),
        "vigild took its own persistent table for damaged:\n{log}"
    );
    let st = lab.node(node).terminate();
    assert!(st.is_some(), "vigild did not stop");
    assert!(!ruleset(&lab, 1).contains("table ip vigil"));
}

/// An HTTP server that answers with its name and the address it saw the request from.
const WHO: &str = r#"
import sys, http.server
name, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = (name + " " + self.client_address[0] + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((addr, port), H).serve_forever()
"#;

/// One GET from host `h` to `url`: the answer, or `error NAME`.
fn get(lab: &Lab, h: usize, url: &str) -> String {
    let out = lab.exec(
        h,
        &[
            "python3",
            "-c",
            "import sys, urllib.request\ntry:\n print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode().strip())\nexcept Exception as e:\n print('error', type(e).__name__)",
            url,
        ],
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `nat_mask 255.255.255.0` with `lb_kind NAT` (keepalived 0.7's keyword: the seed's
/// ipfwwrapper masqueraded the real servers' networks with ipchains). The client has no route
/// to the real servers' network 198.51.100.0/24. Asserted: before vigild, a connection that a
/// real server opens to the client fails (no way back); with vigild, it succeeds and the
/// client sees the director's address (masqueraded); balanced connections are not source-
/// NATed (the real server sees the client's own address); after vigild stops, the real
/// server's connection fails again (the masquerade went with Vigil's table).
#[test]
fn nat_mask_masquerades_the_real_servers_own_connections() {
    if !netns::require_root() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        netns::not_run("nft (Debian's nftables package) is missing: scripts/test installs it");
        panic!("nft is missing: install Debian's nftables package (scripts/test does)");
    }
    let mut lab = single_director("dpnatmask");
    let who = lab.write("who.py", WHO);
    let client_addr = netns::link_v4(2, 0).to_string();
    let _client_web = named_server(&lab, 2, &who, "client-web", &client_addr, 8000);
    let _servers: Vec<Proc> = (3..=4)
        .map(|h| server(&lab, h, &who, &format!("rs{h}"), 8080))
        .collect();
    let outward = format!("http://{client_addr}:8000/");
    assert!(netns::wait_until(Duration::from_secs(5), || get(
        &lab, 2, &outward
    )
    .starts_with("client-web")));
    let before = get(&lab, 3, &outward);
    assert!(
        before.starts_with("error"),
        "the client answered a real server without masquerade: {before}"
    );
    let (r3, r4) = (netns::link_v4(3, 1), netns::link_v4(4, 1));
    let conf = format!(
        "virtual_server 192.0.2.100 80 {{
    delay_loop 1
    alpha
    retry 1
    delay_before_retry 1
    lb_algo rr
    lb_kind NAT
    nat_mask 255.255.255.0
    protocol TCP
    real_server {r3} 8080 {{ TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {r4} 8080 {{ TCP_CHECK {{ connect_timeout 1 }} }}
}}
"
    );
    let node = lab.start(Kind::Vigil, 1, &conf);
    assert!(
        netns::wait_until(Duration::from_secs(20), || ruleset(&lab, 1)
            .contains("numgen inc mod 2")),
        "vigild did not build its table:\n{}\n{}",
        ruleset(&lab, 1),
        lab.node_ref(node).log_text()
    );
    println!("director's ruleset (nat_mask):\n{}", ruleset(&lab, 1));
    let director = netns::link_v4(1, 0).to_string();
    let out = get(&lab, 3, &outward);
    assert_eq!(
        out,
        format!("client-web {director}"),
        "the real server's own connection is not masqueraded"
    );
    for _ in 0..4 {
        let via = get(&lab, 2, "http://192.0.2.100/");
        assert!(
            via.starts_with("rs") && via.ends_with(&format!(" {client_addr}")),
            "a balanced connection lost the client's address: {via}"
        );
    }
    let st = lab.node(node).terminate();
    assert!(st.is_some(), "vigild did not stop");
    assert!(!ruleset(&lab, 1).contains("table ip vigil"));
    let after = get(&lab, 3, &outward);
    assert!(
        after.starts_with("error"),
        "masquerade left behind: {after}"
    );
}

/// An IPv6 virtual server (2001:db8::100 port 80, wrr 3:2:1) through the nftables NAT path
/// (`table ip6 vigil`): client host 2 on 2001:db8::/64, real servers 3, 4, 5 on
/// 2001:db8:1::/64 routing through the director. Asserted with traffic: the spread over
/// 3,000 new connections matches the weights (chi-square, 2 degrees of freedom, below 13.8 =
/// p 0.001) with no failed request; a kept-alive connection is open to one server; another
/// server is killed: once vigild's status shows it DOWN (removed, no inhibit_on_failure), 600
/// new connections reach only the live two, none fails, and the kept-alive connection still
/// answers from its server.
#[test]
fn ipv6_weighted_spread_and_a_killed_server() {
    if !netns::require_root() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        netns::not_run("nft (Debian's nftables package) is missing: scripts/test installs it");
        panic!("nft is missing: install Debian's nftables package (scripts/test does)");
    }
    let mut lab = Lab::with_links("dpv6spread", 5, 2);
    let v6_1 = |h: usize| format!("2001:db8:1::{}", 10 + h);
    lab.exec(2, &["ip", "link", "set", "eth1", "down"]);
    for h in [1, 3, 4, 5] {
        let a = format!("{}/64", v6_1(h));
        let r = lab.exec(h, &["ip", "addr", "add", &a, "dev", "eth1", "nodad"]);
        assert!(r.status.success(), "{r:?}");
    }
    for h in [3, 4, 5] {
        lab.exec(h, &["ip", "link", "set", "eth0", "down"]);
        let r = lab.exec(h, &["ip", "-6", "route", "add", "default", "via", &v6_1(1)]);
        assert!(r.status.success(), "route on host {h}: {r:?}");
    }
    let gw = netns::host_v6(1).to_string();
    let r = lab.exec(
        2,
        &["ip", "-6", "route", "add", "2001:db8:1::/64", "via", &gw],
    );
    assert!(r.status.success(), "{r:?}");
    lab.exec(1, &["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    let r = lab.exec(
        1,
        &[
            "ip",
            "addr",
            "add",
            "2001:db8::100/64",
            "dev",
            "eth0",
            "nodad",
        ],
    );
    assert!(r.status.success(), "{r:?}");

    let srv = lab.write("server.py", NAMED_SERVER);
    let spread_py = lab.write("spread.py", SPREAD);
    let kept_py = lab.write("kept.py", KEPT_CLIENT);
    let mut servers: Vec<Proc> = [3, 4, 5]
        .iter()
        .map(|h| named_server(&lab, *h, &srv, &format!("rs{h}"), &v6_1(*h), 8080))
        .collect();
    wait_listening(&lab, 1, &[3, 4, 5].map(|h| (v6_1(h), 8080u16)));
    let (a3, a4, a5) = (v6_1(3), v6_1(4), v6_1(5));
    let conf = format!(
        "virtual_server 2001:db8::100 80 {{
    delay_loop 1
    alpha
    retry 1
    delay_before_retry 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server {a3} 8080 {{ weight 3
        TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {a4} 8080 {{ weight 2
        TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {a5} 8080 {{ weight 1
        TCP_CHECK {{ connect_timeout 1 }} }}
}}
"
    );
    let node = lab.start(Kind::Vigil, 1, &conf);
    assert!(
        netns::wait_until(Duration::from_secs(20), || ruleset(&lab, 1)
            .contains("numgen inc mod 6")),
        "vigild did not build its table:\n{}\n{}",
        ruleset(&lab, 1),
        lab.node_ref(node).log_text()
    );
    println!("director's ruleset (IPv6, wrr):\n{}", ruleset(&lab, 1));
    let (counts, errors) = spread_to(&lab, &spread_py, "2001:db8::100", 3000);
    let observed: Vec<u64> = ["rs3", "rs4", "rs5"]
        .iter()
        .map(|n| counts.get(*n).copied().unwrap_or(0))
        .collect();
    let chi = chi_square(&observed, &[3, 2, 1]);
    println!("3,000 requests over IPv6: {counts:?}, errors {errors}, chi-square {chi:.2}");
    assert_eq!(errors, 0, "{counts:?}");
    assert_eq!(observed.iter().sum::<u64>(), 3000, "{counts:?}");
    assert!(
        chi < 13.8,
        "spread {observed:?} against 3:2:1: chi-square {chi:.2}"
    );

    // A kept-alive connection, then a server other than its own is killed.
    let mut kept = Command::new("ip")
        .args(["netns", "exec", &lab.ns(2), "python3"])
        .arg(&kept_py)
        .arg("2001:db8::100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kept-alive client");
    let mut kin = kept.stdin.take().expect("stdin");
    let mut kout = BufReader::new(kept.stdout.take().expect("stdout"));
    let kept_on = ask(&mut kin, &mut kout);
    assert!(kept_on.starts_with("rs"), "kept-alive client: {kept_on}");
    let victim = ["rs3", "rs4", "rs5"]
        .iter()
        .position(|n| *n != kept_on)
        .unwrap_or(0);
    let victim_name = format!("rs{}", 3 + victim);
    let victim_addr = v6_1(3 + victim);
    servers[victim].stop();
    assert!(
        netns::wait_until(Duration::from_secs(20), || lab
            .vigild_status(node)
            .contains(&format!("Real server [{victim_addr}]:8080: DOWN"))),
        "{victim_name} not marked down:\n{}",
        lab.vigild_status(node)
    );
    let (counts, errors) = spread_to(&lab, &spread_py, "2001:db8::100", 600);
    println!("600 requests after {victim_name} was killed: {counts:?}, errors {errors}");
    assert_eq!(errors, 0, "{counts:?}");
    assert_eq!(
        counts.get(&victim_name),
        None,
        "the dead server got new connections"
    );
    assert_eq!(counts.values().sum::<u64>(), 600);
    let again = ask(&mut kin, &mut kout);
    assert_eq!(again, kept_on, "the kept-alive connection moved or broke");
    drop(kin);
    netns::signal(kept.id(), libc::SIGKILL);
    let _ = kept.wait();
    let st = lab.node(node).terminate();
    assert!(st.is_some(), "vigild did not stop");
    assert!(
        !ruleset(&lab, 1).contains("table ip6 vigil"),
        "{}",
        ruleset(&lab, 1)
    );
}

/// New connections from `SOURCE` to 192.0.2.100 on each port given, in turn; prints
/// `SOURCE PORT NAME` (or `SOURCE PORT error`) per connection.
const PERSIST_PORTS: &str = r#"
import sys, http.client
vip, src, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3].split(",")]
for port in ports:
    try:
        h = http.client.HTTPConnection(vip, port, timeout=5, source_address=(src, 0))
        h.request("GET", "/", headers={"Connection": "close"})
        print(src, port, h.getresponse().read().decode().strip(), flush=True)
        h.close()
    except Exception as e:
        print(src, port, "error", flush=True)
"#;

/// The servers (names without the port) that answered `src`'s connections to `ports`.
fn persist_ports(lab: &Lab, script: &std::path::Path, src: &str, ports: &[u16]) -> Vec<String> {
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns(2), "python3"])
        .arg(script)
        .args(["192.0.2.100", src, &ports.join(",")])
        .output()
        .expect("python3 client");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (_, port, name) = (w.next()?, w.next()?, w.next()?);
            // Each answer must come from the port asked for (a fwmark service keeps it).
            Some(match name.split_once(':') {
                Some((n, p)) if p == port => n.to_string(),
                _ => format!("wrong:{name}"),
            })
        })
        .collect()
}

/// `virtual_server fwmark 7` with `persistence_timeout 4` (lb_algo rr, two servers each
/// listening on ports 80 and 8080; the test's own mangle rule marks both ports): within the
/// timeout a client stays on one server for every marked port (the persistence is per
/// client, across the service's ports, as IPVS's fwmark persistence template); its entry is in
/// the server's set; once the timeout passes with no new connection the entry is gone and
/// the client is scheduled afresh: steered by other clients' new connections (rr alternates),
/// its next connection goes to the other server.
#[test]
fn fwmark_service_with_persistence() {
    if !netns::require_root() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        netns::not_run("nft (Debian's nftables package) is missing: scripts/test installs it");
        panic!("nft is missing: install Debian's nftables package (scripts/test does)");
    }
    let mut lab = single_director("dpfwpersist");
    let mark = lab.write(
        "mark.nft",
        "table ip marker {\n chain pre { type filter hook prerouting priority mangle; policy accept;\n  ip daddr 192.0.2.100 tcp dport { 80, 8080 } meta mark set 7\n }\n}\n",
    );
    let r = lab.exec(1, &["nft", "-f", &mark.display().to_string()]);
    assert!(r.status.success(), "nft -f mark: {r:?}");
    // The client under test and the steering clients (one new connection each).
    let client = "192.0.2.50";
    let steer: Vec<String> = (60..80).map(|i| format!("192.0.2.{i}")).collect();
    for a in std::iter::once(client.to_string()).chain(steer.iter().cloned()) {
        let r = lab.exec(2, &["ip", "addr", "add", &format!("{a}/24"), "dev", "eth0"]);
        assert!(r.status.success(), "{r:?}");
    }
    let srv = lab.write("server.py", NAMED_SERVER);
    let py = lab.write("persist_ports.py", PERSIST_PORTS);
    let mut procs = Vec::new();
    let mut listening = Vec::new();
    for h in 3..=4 {
        for port in [80u16, 8080] {
            procs.push(server(&lab, h, &srv, &format!("rs{h}:{port}"), port));
            listening.push((netns::link_v4(h, 1).to_string(), port));
        }
    }
    wait_listening(&lab, 1, &listening);
    let (r3, r4) = (netns::link_v4(3, 1), netns::link_v4(4, 1));
    let conf = format!(
        "virtual_server fwmark 7 {{
    delay_loop 1
    alpha
    retry 1
    delay_before_retry 1
    lb_algo rr
    lb_kind NAT
    persistence_timeout 4
    real_server {r3} 80 {{ TCP_CHECK {{ connect_timeout 1 }} }}
    real_server {r4} 80 {{ TCP_CHECK {{ connect_timeout 1 }} }}
}}
"
    );
    let node = lab.start(Kind::Vigil, 1, &conf);
    assert!(
        netns::wait_until(Duration::from_secs(20), || ruleset(&lab, 1)
            .contains("numgen inc mod 2")),
        "vigild did not build its table:\n{}\n{}",
        ruleset(&lab, 1),
        lab.node_ref(node).log_text()
    );
    println!(
        "director's ruleset (fwmark, persistence):\n{}",
        ruleset(&lab, 1)
    );
    // Within the timeout: 12 connections alternating ports 80 and 8080, each renewing the
    // entry; steering clients in between would move it under rr alone.
    let ports: Vec<u16> = (0..12)
        .map(|i| if i % 2 == 0 { 80 } else { 8080 })
        .collect();
    let mut seen = persist_ports(&lab, &py, client, &ports[..6]);
    for s in steer.iter().take(3) {
        persist_ports(&lab, &py, s, &[80]);
    }
    seen.extend(persist_ports(&lab, &py, client, &ports[6..]));
    println!("{client} within persistence_timeout, ports 80/8080: {seen:?}");
    assert_eq!(seen.len(), 12, "{seen:?}");
    let home = seen[0].clone();
    assert!(home == "rs3" || home == "rs4", "{seen:?}");
    assert!(
        seen.iter().all(|s| *s == home),
        "{client} moved within the timeout: {seen:?}"
    );
    let rs_index = usize::from(home != "rs3");
    let set_of = |i: usize| {
        let out = lab.exec(
            1,
            &[
                "nft",
                "list",
                "set",
                "ip",
                "vigil",
                &format!("vs0_rs{i}_clients"),
            ],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = set_of(rs_index);
    assert!(listed.contains(&format!("{client} expires")), "{listed}");
    // The timeout passes with no new connection from anyone: the entry is gone.
    assert!(
        netns::wait_until(Duration::from_secs(15), || !set_of(rs_index)
            .contains(&format!("{client} expires"))),
        "{client}'s entry outlived the timeout:\n{}",
        set_of(rs_index)
    );
    // Steer rr: new clients until one lands on `home`; the next new connection (rr
    // alternates over two servers) goes to the other one, and it is the client's.
    let mut steered = false;
    for s in steer.iter().skip(3) {
        let got = persist_ports(&lab, &py, s, &[80]);
        if got.first() == Some(&home) {
            steered = true;
            break;
        }
    }
    assert!(steered, "no steering client landed on {home}");
    let after = persist_ports(&lab, &py, client, &[80, 8080, 80]);
    println!("{client} after the timeout: {after:?}");
    let other = if home == "rs3" { "rs4" } else { "rs3" };
    assert_eq!(
        after,
        [other, other, other],
        "{client} did not move after the timeout"
    );
    let st = lab.node(node).terminate();
    assert!(st.is_some(), "vigild did not stop");
    assert!(!ruleset(&lab, 1).contains("table ip vigil"));
}
