//! `vrrp_strict` / `no_accept` firewall, against keepalived in the same test (issue 15, section
//! 6): keepalived 2.2.7 built with nftables installs a `keepalived` table per family when a
//! non-owner MASTER with Accept_Mode False adds its addresses (RFC 5798 section 6.4.3: it must
//! not accept packets addressed to them). The same configuration runs under keepalived and under
//! vigild, one after the other on host 1 of a fresh lab; `nft list ruleset` in the namespace must
//! be the same text (plain listing: no handles), and a TCP connection from host 2 to the MASTER's
//! virtual address must get no answer while one to the MASTER's own address does. Before any instance is
//! MASTER there is no table (keepalived creates it with the first drop-rule addresses), and after
//! a clean stop there is none either. nftables only inside the lab's namespaces.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vigil_tests::netns::{self, keepalived_conf, vip4, Instance, Kind, Lab};

fn ruleset(lab: &Lab, i: usize) -> String {
    let o = lab.exec(i, &["nft", "list", "ruleset"]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A TCP connection from host `from` to `to`:8080 gets an HTTP answer.
fn answers(lab: &Lab, from: usize, to: &str) -> bool {
    let url = format!("http://{to}:8080/");
    lab.exec(from, &["curl", "-s", "-o", "/dev/null", "-m", "2", &url])
        .status
        .success()
}

/// `python3 -m http.server 8080` on every address of a host, killed by its PID on drop.
struct Listener(Child);

impl Listener {
    fn start(lab: &Lab, host: usize) -> Listener {
        let c = Command::new("ip")
            .args(["netns", "exec", &lab.ns(host)])
            .args(["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"])
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        Listener(c)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        netns::signal(self.0.id(), libc::SIGKILL);
        let _ = self.0.wait();
    }
}

fn conf() -> String {
    let mut c = keepalived_conf(&[Instance::v4(2, 100, "1"), Instance::v6(100, "1")]);
    c = c.replace(
        "router_id vigil_test\n",
        "router_id vigil_test\n  vrrp_strict\n",
    );
    // An excluded address of the IPv4 instance: keepalived puts it in the set too.
    let with = c.replacen(
        "  virtual_ipaddress {\n    192.0.2.100/24\n  }\n",
        "  virtual_ipaddress {\n    192.0.2.100/24\n  }\n  virtual_ipaddress_excluded {\n    198.51.100.7/24\n  }\n",
        1,
    );
    assert_ne!(
        with, c,
        "the excluded address must be in the test configuration"
    );
    with
}

/// (ruleset while MASTER, the VIP answered, the own address answered, ruleset after stop)
fn scenario(kind: Kind, conf: &str) -> (String, bool, bool, String) {
    let mut lab = Lab::new("strict", 2);
    let _listener = Listener::start(&lab, 1);
    let own = netns::host_v4(1).to_string();
    assert!(
        netns::wait_until(Duration::from_secs(10), || answers(&lab, 2, &own)),
        "the test's listener on host 1 must answer before any daemon runs"
    );
    let node = lab.start(kind, 1, conf);
    std::thread::sleep(Duration::from_millis(500));
    let before = ruleset(&lab, 1);
    assert!(
        before.trim().is_empty() || lab.has(1, vip4()),
        "{kind:?}: no table before the first MASTER:\n{before}"
    );
    assert!(
        lab.wait_sole_holder(vip4(), 1, Duration::from_secs(15)),
        "{kind:?} must become MASTER alone; log:\n{}",
        lab.logs()
    );
    let v6: std::net::IpAddr = netns::vip6();
    assert!(netns::wait_until(Duration::from_secs(10), || lab.has(1, v6)));
    std::thread::sleep(Duration::from_millis(500));
    assert!(netns::wait_until(Duration::from_secs(5), || lab
        .has(1, "198.51.100.7".parse().expect("address"))));
    let master = ruleset(&lab, 1);
    let vip_answers = answers(&lab, 2, "192.0.2.100");
    let own_answers = answers(&lab, 2, &own);
    // The control: with the VIP taken out of the set by hand, it answers: the drop was the
    // firewall's.
    let table = if conf.contains("nftables vigil_fw") {
        "vigil_fw"
    } else {
        "keepalived"
    };
    let _ = lab.exec(
        1,
        &[
            "nft",
            "delete",
            "element",
            "ip",
            table,
            "vips",
            "{ 192.0.2.100 }",
        ],
    );
    assert!(
        answers(&lab, 2, "192.0.2.100"),
        "{kind:?}: out of the vips set, the VIP must answer; ruleset:\n{}",
        ruleset(&lab, 1)
    );
    lab.node(node).terminate();
    let after = ruleset(&lab, 1);
    println!(
        "strict firewall ({kind:?}): TCP to the VIP answered {vip_answers}, TCP to its own address answered {own_answers}; nft list ruleset while MASTER:\n{master}\nafter stop: {:?}",
        after.trim()
    );
    (master, vip_answers, own_answers, after)
}

#[test]
fn strict_mode_installs_keepalived_s_nftables_table_and_drops_vip_traffic() {
    if !netns::require_root() {
        return;
    }
    if std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_err()
    {
        netns::not_run("no nft binary");
        return;
    }
    let (ka_rules, ka_vip, ka_own, ka_after) = scenario(Kind::Keepalived, &conf());
    let (vg_rules, vg_vip, vg_own, vg_after) = scenario(Kind::Vigil, &conf());
    assert!(
        ka_rules.contains("table ip keepalived") && ka_rules.contains("table ip6 keepalived"),
        "keepalived's reference must have its tables:\n{ka_rules}"
    );
    assert_eq!(
        vg_rules, ka_rules,
        "vigild's nft list ruleset must be keepalived's"
    );
    assert!(
        !ka_vip && !vg_vip,
        "the MASTER's virtual address must not answer (no_accept)"
    );
    assert!(ka_own && vg_own, "the MASTER's own address answers");
    assert_eq!(vg_after.trim(), ka_after.trim(), "after a clean stop");
    assert!(vg_after.trim().is_empty(), "no table left after stop");
}

/// The listing with counter values blanked (they count this run's packets).
fn without_counts(rules: &str) -> String {
    let mut out = Vec::new();
    for line in rules.lines() {
        let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
        for k in 1..words.len() {
            if words[k - 1] == "packets" || words[k - 1] == "bytes" {
                words[k] = "N".into();
            }
        }
        out.push(words.join(" "));
    }
    out.join("\n")
}

#[test]
fn nftables_table_name_priority_and_counters_as_keepalived() {
    if !netns::require_root() {
        return;
    }
    if std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_err()
    {
        netns::not_run("no nft binary");
        return;
    }
    let c = conf().replace(
        "  vrrp_strict\n",
        "  vrrp_strict\n  nftables vigil_fw\n  nftables_priority -5\n  nftables_counters\n",
    );
    let (ka_rules, _, _, ka_after) = scenario(Kind::Keepalived, &c);
    let (vg_rules, vg_vip, _, vg_after) = scenario(Kind::Vigil, &c);
    assert!(
        ka_rules.contains("table ip vigil_fw") && ka_rules.contains("priority filter - 5"),
        "keepalived's reference:\n{ka_rules}"
    );
    assert!(ka_rules.contains("counter packets"), "{ka_rules}");
    assert_eq!(without_counts(&vg_rules), without_counts(&ka_rules));
    assert!(!vg_vip);
    assert_eq!(vg_after.trim(), ka_after.trim());
}
