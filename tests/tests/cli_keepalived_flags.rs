//! vigild runs with keepalived's command line (issue 15, section 4): a unit file or a wrapper
//! written for keepalived 2.2.7 runs vigild.
//!
//! Without root: `-v`, `--signum=NAME` (compared with keepalived's own answer when keepalived is
//! installed), a keepalived-style `-t` line with every accepted flag, the refused flags, and
//! `vigild status -p FILE` with the pid file after the word `status` (vigild(8)'s form).
//! With root: the daemon started with a keepalived unit's flags in a network namespace, then
//! asked for its status with `-p` on either side of `status`.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use vigil_tests::netns::{not_run, require_root, signal, Lab};

fn vigild(args: &[&str]) -> Output {
    Command::new(Lab::vigild_path())
        .args(args)
        .output()
        .expect("run vigild")
}

fn keepalived_installed() -> bool {
    Command::new("keepalived")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn version_and_signum_answer_as_keepalived_does() {
    let v = vigild(&["-v"]);
    assert!(v.status.success());
    assert!(
        String::from_utf8_lossy(&v.stderr).starts_with("Vigil vigild v"),
        "{v:?}"
    );
    let long = vigild(&["--version"]);
    assert_eq!(long.stderr, v.stderr);
    let with_keepalived = keepalived_installed();
    if !with_keepalived {
        not_run("keepalived is not installed: --signum is checked against fixed numbers only");
    }
    for (name, n) in [
        ("STOP", 15),
        ("RELOAD", 1),
        ("DATA", 10),
        ("STATS", 12),
        ("STATS_CLEAR", 63),
        ("JSON", 36),
    ] {
        let o = vigild(&[&format!("--signum={name}")]);
        assert!(o.status.success(), "{name}: {o:?}");
        let got = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert_eq!(got, n.to_string(), "{name}");
        if with_keepalived {
            let k = Command::new("keepalived")
                .arg(format!("--signum={name}"))
                .output()
                .expect("keepalived --signum");
            assert_eq!(o.stdout, k.stdout, "{name}: vigild and keepalived differ");
        }
    }
    let bad = vigild(&["--signum=NOPE"]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr),
        "Unknown sigfunc NOPE\n"
    );
}

/// A keepalived-style `-t` line with every flag vigild accepts: valid (exit 0), each unused
/// flag noted with its reason; `-V` and `-T` are refused (exit 1).
#[test]
fn a_keepalived_command_line_checks_a_configuration() {
    let dir = std::env::temp_dir().join(format!("vigil-kaflags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        // No instance: keepalived's -t checks interfaces (and refuses lo), and this test runs
        // in the host's namespace, whose interfaces are the machine's.
        "global_defs {\n router_id test\n}\n",
    )
    .expect("write conf");
    let conf_s = conf.to_string_lossy().into_owned();
    let report = dir.join("check.log");
    let t_arg = format!("--config-test={}", report.to_string_lossy());
    let args = [
        "--dont-fork",
        "--log-console",
        "--log-detail",
        "--vrrp",
        // keepalived 2.2.7's -t exits 5 on `-S local0` (it first reads the value as a number
        // and reports the failure); `0` is the same facility for both.
        "--log-facility=0",
        "--dont-respawn",
        "--release-vips",
        "--address-monitoring",
        "--snmp",
        "-r",
        "/run/keepalived_vrrp.pid",
        "-c",
        "/run/checkers.pid",
        "-i",
        "main",
        &t_arg,
        "--use-file",
        &conf_s,
    ];
    let o = vigild(&args);
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    assert!(o.status.success(), "{o:?}\n{text}");
    assert!(text.contains("is valid"), "{text}");
    for flag in ["-r:", "-c:", "-R:", "-X:", "-a:", "-x/-A:", "-S:"] {
        assert!(text.contains(&format!("notice: {flag}")), "{flag}:\n{text}");
    }
    // keepalived takes the same line (its -t on the same file, in the same way).
    if keepalived_installed() {
        let k = Command::new("keepalived")
            .args(&args[..args.len() - 3])
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .output()
            .expect("keepalived -t");
        assert!(k.status.success(), "keepalived -t: {k:?}");
    }
    for refused in ["-V", "-T"] {
        let o = vigild(&[refused, "-t", "-f", &conf_s]);
        assert_eq!(o.status.code(), Some(1), "{refused}: {o:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(refused),
            "{refused}: {o:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// vigild(8)'s `vigild status -p FILE` is taken (it used to fail with "unexpected argument
/// '-p'"): with no daemon, the answer is that none is reachable at that pid file's socket.
#[test]
fn status_takes_the_pid_file_after_the_word() {
    for args in [
        &["status", "-p", "/nonexistent/v.pid"][..],
        &["-p", "/nonexistent/v.pid", "status"],
        &["status", "--json", "-p", "/nonexistent/v.pid"],
    ] {
        let o = vigild(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(!err.contains("unexpected argument"), "{args:?}: {err}");
        assert!(err.contains("/nonexistent/v"), "{args:?}: {err}");
    }
}

/// The daemon started the way Debian's keepalived unit starts keepalived (`--dont-fork` plus
/// flags from /etc/default/keepalived), then `vigild status -p PID` and `vigild -p PID status
/// --json` answer.
#[test]
fn the_daemon_runs_with_a_keepalived_unit_s_flags() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("kaflags", 1);
    let conf = lab.write(
        "k.conf",
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 200\n\
         advert_int 1\n virtual_ipaddress {\n  192.0.2.200/24\n }\n}\n",
    );
    let pid_file: PathBuf = lab.dir.join("k.pid");
    let log = std::fs::File::create(lab.dir.join("k.log")).expect("log");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &lab.ns(1)])
        .arg(Lab::vigild_path())
        .args(["--dont-fork", "-D", "-S", "0", "-P", "-x", "-R", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(&pid_file)
        .arg("-r")
        .arg(lab.dir.join("vrrp.pid"))
        .env("VIGIL_NO_REALTIME", "1")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start vigild");
    let end = Instant::now() + Duration::from_secs(30);
    while !pid_file.exists() && Instant::now() < end {
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "vigild stopped: {}",
            std::fs::read_to_string(lab.dir.join("k.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid_s = pid_file.to_string_lossy().into_owned();
    let plain = vigild(&["status", "-p", &pid_s]);
    let json = vigild(&["-p", &pid_s, "status", "--json"]);
    signal(child.id(), libc::SIGTERM);
    let _ = child.wait();
    let log_text = std::fs::read_to_string(lab.dir.join("k.log")).unwrap_or_default();
    assert!(plain.status.success(), "{plain:?}\n{log_text}");
    assert!(
        String::from_utf8_lossy(&plain.stdout).contains("VI_1"),
        "{plain:?}"
    );
    assert!(json.status.success(), "{json:?}");
    assert!(
        String::from_utf8_lossy(&json.stdout).contains("\"VI_1\""),
        "{json:?}"
    );
    assert!(log_text.contains("notice: -x/-A:"), "{log_text}");
}
