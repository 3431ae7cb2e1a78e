//! Least privilege: capabilities dropped for good (checked in /proc/self/status of a child
//! process), and keepalived's enable_script_security refusals.
#![allow(unsafe_code)] // chown(2) of test files to another user

mod operator_common;

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use operator_common::need_root;
use vigil_engine::conf;
use vigil_linux::operator::notify::Notifier;
use vigil_linux::operator::privilege::{
    self, cap_mask, check_script, read_cap_mask, ScriptCheck, BASE_CAPABILITIES,
};
use vigil_linux::operator::user::Credentials;

const CHILD_ENV: &str = "VIGIL_OPERATOR_CAPS_CHILD";

/// In the child: drop, then print the capability lines of this thread's status
/// (capabilities are per thread, and the test harness runs tests on a thread of its own; vigild
/// drops them on its main thread before starting any other), and of a program started
/// afterwards, which reads its own /proc/self/status.
fn child_side() {
    privilege::drop_capabilities(&BASE_CAPABILITIES).unwrap();
    let own = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let exec = Command::new("/bin/grep")
        .args(["^Cap", "/proc/self/status"])
        .output()
        .unwrap();
    println!("SELF\n{own}EXEC\n{}", String::from_utf8_lossy(&exec.stdout));
}

#[test]
fn capabilities_are_dropped_to_net_raw_and_net_admin() {
    if std::env::var(CHILD_ENV).is_ok() {
        child_side();
        return;
    }
    if !need_root("capability dropping") {
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "capabilities_are_dropped_to_net_raw_and_net_admin",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (own, exec) = text
        .split_once("SELF\n")
        .and_then(|(_, rest)| rest.split_once("EXEC\n"))
        .unwrap_or_else(|| panic!("no child output: {text}"));
    let want = cap_mask(&BASE_CAPABILITIES);
    assert_eq!(want, 0x3000, "CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13");
    assert_eq!(read_cap_mask(own, "CapEff"), Some(want), "{own}");
    assert_eq!(read_cap_mask(own, "CapPrm"), Some(want), "{own}");
    assert_eq!(read_cap_mask(own, "CapBnd"), Some(want), "{own}");
    assert_eq!(read_cap_mask(own, "CapInh"), Some(0), "{own}");
    assert_eq!(read_cap_mask(own, "CapAmb"), Some(0), "{own}");
    // A program run as root afterwards cannot get more back: the bounding set is the limit.
    assert_eq!(read_cap_mask(exec, "CapBnd"), Some(want), "{exec}");
    assert_eq!(read_cap_mask(exec, "CapEff").unwrap() & !want, 0, "{exec}");
}

fn chown(p: &Path, uid: u32, gid: u32) {
    let c = CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::chown(c.as_ptr(), uid, gid) },
        0,
        "chown {}",
        p.display()
    );
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn root() -> Credentials {
    Credentials {
        user: "root".into(),
        uid: 0,
        gid: 0,
        groups: vec![0],
    }
}

#[test]
fn script_security_refuses_what_a_non_root_user_could_change() {
    if !need_root("script security (chown)") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("scripts");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o755);
    let s = dir.join("notify.sh");
    std::fs::write(&s, "#!/bin/sh\nexit 0\n").unwrap();
    chmod(&s, 0o755);
    let path = s.to_str().unwrap();
    assert_eq!(check_script(path, &root()), ScriptCheck::Secure);

    // The file writable by everyone.
    chmod(&s, 0o757);
    assert!(
        matches!(check_script(path, &root()), ScriptCheck::Insecure { ref path, .. } if path == &s)
    );
    chmod(&s, 0o755);
    // The file writable by a non-root group.
    chown(&s, 0, 100);
    chmod(&s, 0o775);
    assert!(matches!(
        check_script(path, &root()),
        ScriptCheck::Insecure { .. }
    ));
    // ... but a root group may write it.
    chown(&s, 0, 0);
    assert_eq!(check_script(path, &root()), ScriptCheck::Secure);
    chmod(&s, 0o755);
    // The file owned by another user.
    chown(&s, 65534, 0);
    assert!(matches!(
        check_script(path, &root()),
        ScriptCheck::Insecure { .. }
    ));
    chown(&s, 0, 0);
    // A directory on the path writable by others (without the sticky bit) ...
    chmod(&dir, 0o777);
    assert!(
        matches!(check_script(path, &root()), ScriptCheck::Insecure { ref path, .. } if path == &dir)
    );
    // ... is fine with the sticky bit, like /tmp.
    chmod(&dir, 0o1777);
    assert_eq!(check_script(path, &root()), ScriptCheck::Secure);
    // A directory owned by another user.
    chmod(&dir, 0o755);
    chown(&dir, 65534, 65534);
    assert!(
        matches!(check_script(path, &root()), ScriptCheck::Insecure { ref path, .. } if path == &dir)
    );
    // A script that runs as that user is not checked: it can do nothing through it that it
    // could not do anyway.
    let nobody = Credentials {
        user: "nobody".into(),
        uid: 65534,
        gid: 65534,
        groups: vec![65534],
    };
    assert_eq!(check_script(path, &nobody), ScriptCheck::Secure);
    // A link into an unsafe place is followed: the real file is checked too.
    chown(&dir, 0, 0);
    let safe = tmp.path().join("safe");
    std::fs::create_dir(&safe).unwrap();
    chmod(&safe, 0o755);
    let link = safe.join("link.sh");
    std::os::unix::fs::symlink(&s, &link).unwrap();
    chmod(&s, 0o757);
    assert!(matches!(
        check_script(link.to_str().unwrap(), &root()),
        ScriptCheck::Insecure { .. }
    ));
    chmod(&s, 0o755);

    // Through the configuration: refused with enable_script_security, a warning without.
    chmod(&s, 0o757);
    for (security, refused) in [(true, 1), (false, 0)] {
        let text = format!(
            "global_defs {{\n{}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{ 192.0.2.100 }}\n notify_master {path}\n}}\n",
            if security { "  enable_script_security" } else { "" }
        );
        let cfg = conf::parse_str(&text).unwrap();
        let (n, r) = Notifier::new(&cfg, Duration::from_secs(5));
        assert_eq!(r.len(), refused, "security {security}: {r:?}");
        if security {
            assert!(r[0].owner.contains("VI_1 notify_master"), "{r:?}");
            assert!(r[0].why.contains("writable by everyone"), "{r:?}");
            assert!(n.is_empty());
        } else {
            assert!(!n.is_empty());
        }
    }
}
