//! `vigild -t` on this machine says which load-balancer data plane the host gets and why, and
//! checks the virtual servers against that backend. Live, on this kernel: it has no IPVS
//! (`CONFIG_IP_VS` is not set), so the `IPVS` generic netlink family lookup fails cleanly and
//! the host gets nftables, which refuses `lb_kind DR` with the reason. On a kernel with IPVS
//! the test fails and says so: the IPVS backend has never been run against a kernel, and this
//! test does not pretend to cover it.

use std::process::Command;

#[test]
fn vigild_t_names_the_backend_and_checks_against_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 192.0.2.100 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind DR\n  real_server 198.51.100.13 80 { weight 1 }\n}\nvirtual_server 192.0.2.101 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 198.51.100.13 8080 { weight 1 }\n}\n",
    )
    .expect("write the configuration");
    let out = Command::new(env!("CARGO_BIN_EXE_vigild"))
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("run vigild -t");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("vigild: load-balancer data plane on this host: "))
        .unwrap_or_else(|| panic!("no backend line:\n{text}"));
    assert!(
        !line.contains(": IPVS: "),
        "this kernel offers IPVS ({line}): this test covers kernels without it only"
    );
    assert!(
        line.contains(
            "nftables: this kernel has no IPVS (the generic netlink family IPVS does not resolve"
        ),
        "{line}"
    );
    assert!(
        text.contains(
            "virtual_server 192.0.2.100:80: not applied by the nftables data plane: lb_kind DR"
        ),
        "{text}"
    );
    assert!(
        text.contains("virtual_server 192.0.2.101:80: applied by the nftables data plane"),
        "{text}"
    );
}
