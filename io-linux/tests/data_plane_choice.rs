//! `vigild -t` on this machine says which load-balancer data plane the host gets and why, and
//! checks the virtual servers against that backend. Live, on this kernel: it has no IPVS
//! (`CONFIG_IP_VS` is not set), so the `IPVS` generic netlink family lookup fails cleanly and
//! the host gets nftables, which refuses `lb_kind DR` with the reason: an error at the
//! virtual_server's line, `-t` fails (exit 5), while `-d` still prints what it parsed. On a kernel with IPVS
//! the test fails and says so: the IPVS backend has never been run against a kernel, and this
//! test does not pretend to cover it.

use std::process::{Command, Output};

/// `vigild -t -f FILE` on `text` written to a temporary file: the file's path, what vigild
/// printed (stdout then stderr, echoed for the test log) and its exit status. Asserts the
/// host's backend line is there and is not IPVS (this test covers kernels without it only).
fn vigild_t(text: &str) -> (tempfile::TempDir, std::path::PathBuf, String, Output) {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, text).expect("write the configuration");
    let out = Command::new(env!("CARGO_BIN_EXE_vigild"))
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("run vigild -t");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{printed}");
    let backend = backend_line(&printed);
    assert!(
        !backend.contains(": IPVS: "),
        "this kernel offers IPVS ({backend}): this test covers kernels without it only"
    );
    (dir, conf, printed, out)
}

/// The line of `vigild -t` that names the host's load-balancer data plane.
fn backend_line(printed: &str) -> &str {
    printed
        .lines()
        .find(|l| l.starts_with("vigild: load-balancer data plane on this host: "))
        .unwrap_or_else(|| panic!("no backend line:\n{printed}"))
}

#[test]
fn vigild_t_names_the_backend_and_checks_against_it() {
    let (_dir, conf, text, out) = vigild_t(
        "virtual_server 192.0.2.100 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind DR\n  real_server 198.51.100.13 80 { weight 1 }\n}\nvirtual_server 192.0.2.101 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 198.51.100.13 8080 { weight 1 }\n}\n",
    );
    let line = backend_line(&text);
    assert!(
        line.contains(
            "nftables: this kernel has no IPVS (the generic netlink family IPVS does not resolve"
        ),
        "{line}"
    );
    let conf_name = conf.to_string_lossy();
    assert!(
        text.contains(&format!(
            "{conf_name}:1:1: error: virtual_server 192.0.2.100:80: the nftables data plane of this host cannot apply it: lb_kind DR"
        )),
        "{text}"
    );
    assert!(text.contains("use lb_kind NAT"), "{text}");
    assert!(
        text.contains("virtual_server 192.0.2.101:80: applied by the nftables data plane"),
        "{text}"
    );
    // EXIT_CONFIG (keepalived's KEEPALIVED_EXIT_CONFIG).
    assert_eq!(out.status.code(), Some(5), "-t must fail: {text}");
    // `-d` prints what it parsed, the refused service included (as keepalived's -d).
    let dump = Command::new(env!("CARGO_BIN_EXE_vigild"))
        .arg("-d")
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("run vigild -d");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("192.0.2.100"), "{dump}");
    assert!(dump.contains("DR"), "{dump}");
}

/// The IPVS-wide settings through `vigild -t` on this machine (nftables): a notice at each
/// keyword with what this host does instead, the file stays valid, and one line per setting
/// with what an IPVS host would send. No vrrp_instance (no interface name is sure to exist on
/// every test machine): the sync daemon names no instance (the checker side's master and
/// backup pair; the instance-following one is covered by the engine's and parser's tests).
#[test]
fn vigild_t_says_what_an_ipvs_host_does_with_the_lvs_globals() {
    let (_dir, conf, text, out) = vigild_t(
        "global_defs {\n  lvs_flush\n  lvs_flush_on_stop VS\n  lvs_timeouts tcp 900 udp 60\n  lvs_sync_daemon eth9 id 7 port 8848\n}\nvirtual_server 192.0.2.101 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 198.51.100.13 8080 { weight 1 }\n}\n",
    );
    let c = conf.to_string_lossy();
    for want in [
        format!("{c}:2:3: notice: 'lvs_flush' is for IPVS hosts: nftables hosts flush nothing at start"),
        format!("{c}:3:3: notice: 'lvs_flush_on_stop' is for IPVS hosts: nftables hosts delete vigild's own table at stop"),
        format!("{c}:4:3: notice: 'lvs_timeouts' is for IPVS hosts: nftables hosts keep conntrack's connection timeouts"),
        format!("{c}:5:3: notice: 'lvs_sync_daemon' is for IPVS hosts: nftables hosts have no IPVS connection sync daemon"),
        "vigild: lvs_flush: an IPVS host sends IPVS_CMD_FLUSH at start (not at reload)".to_string(),
        "vigild: lvs_flush_on_stop VS: at stop an IPVS host deletes each of Vigil's services".to_string(),
        "vigild: lvs_timeouts: an IPVS host sends IPVS_CMD_SET_CONFIG at start (tcp 900 s, tcpfin the kernel's, udp 60 s)".to_string(),
        "vigild: lvs_sync_daemon eth9 (sync id 7, port 8848): no VRRP instance: an IPVS host runs a master and a backup sync daemon together from start to stop".to_string(),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "notices only: -t passes: {text}"
    );
}
