//! The data file (SIGUSR1) of a daemon in a named network namespace with `data_use_instance`,
//! vigild beside keepalived 2.2.7 with the same lines: each writes
//! `/tmp/keepalived.<namespace>.data` (keepalived's `open_dump_file`), so two daemons in two
//! namespaces of one host do not write over each other's data. (keepalived's stats file keeps
//! its one name: not signalled here, the file is shared.) The file names carry the lab's unique
//! namespace names; a guard removes them (and keepalived's parent's
//! `keepalived_parent.<namespace>.data`), even when the test fails.

use std::path::PathBuf;
use std::time::Duration;

use vigil_tests::netns::{
    require_keepalived, require_root, signal, vip4, wait_until, Kind, Lab, RemoveOnDrop,
};

const FAST: Duration = Duration::from_secs(5);

fn conf(ns: &str, priority: u8) -> String {
    format!(
        "net_namespace {ns}\nglobal_defs {{\n  data_use_instance\n}}\nvrrp_instance VI_1 {{\n  \
         interface eth0\n  virtual_router_id 51\n  priority {priority}\n  version 3\n  \
         advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n"
    )
}

#[test]
fn data_files_are_named_after_the_namespace_as_keepalived_names_them() {
    if !require_root() || !require_keepalived() {
        return;
    }
    let mut lab = Lab::new("dumpns", 2);
    let (ns1, ns2) = (lab.ns(1), lab.ns(2));
    let file = |ns: &str, ext: &str| PathBuf::from(format!("/tmp/keepalived.{ns}.{ext}"));
    let files = RemoveOnDrop(vec![
        file(&ns1, "data"),
        file(&ns2, "data"),
        PathBuf::from(format!("/tmp/keepalived_parent.{ns2}.data")),
    ]);
    let v = lab.start(Kind::Vigil, 1, &conf(&ns1, 200));
    let k = lab.start(Kind::Keepalived, 2, &conf(&ns2, 100));
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    for (n, ns) in [(v, &ns1), (k, &ns2)] {
        let pid = lab.node_ref(n).pid;
        signal(pid, libc::SIGUSR1);
        let f = file(ns, "data");
        assert!(
            wait_until(FAST, || std::fs::metadata(&f).is_ok_and(|m| m.len() > 0)),
            "{:?} wrote no {}\n{}",
            lab.node_ref(n).kind,
            f.display(),
            lab.logs()
        );
    }
    // The data file says which router wrote it.
    let data = std::fs::read_to_string(&files.0[0]).unwrap_or_default();
    assert!(data.contains("VI_1"), "{data}");
    lab.node(v).terminate();
    lab.node(k).terminate();
}
