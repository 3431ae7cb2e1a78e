//! `vigild -t` and the daemon agree (issue 15, section 3): for every configuration in
//! `tests/configs/daemon_agree/`, the daemon is started on it in a network namespace, and
//! `vigild -t` is run on the same file in the same namespace.
//!
//! - The daemon refuses the file (it exits with 5 before it runs) exactly when `-t` reports an
//!   error and exits 5.
//! - Every diagnostic `-t` prints (file:line:col, severity, message) is in the daemon's log,
//!   except the interface checks, which only `-t` makes (the daemon follows interfaces as they
//!   come and go); so every start-up warning of the daemon is shown by `-t`, at its location.
//! - A file whose diagnostics are all notices passes `-t` (exit 0); one with a warning fails it
//!   (exit 5), as keepalived's `-t` does.
//!
//! Needs root (network namespaces); set VIGIL_SKIP_ROOT_TESTS=1 to skip it elsewhere (it is
//! then reported as NOT RUN).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vigil_tests::netns::{require_root, signal, Lab};

/// What one run of the daemon gave: its exit code if it stopped by itself, and its log.
struct DaemonRun {
    refused_with: Option<i32>,
    log: String,
}

fn run_daemon(lab: &Lab, conf: &Path, tag: &str) -> DaemonRun {
    let pid_file = lab.dir.join(format!("{tag}.pid"));
    let log = lab.dir.join(format!("{tag}.log"));
    let logf = std::fs::File::create(&log).expect("log file");
    let logf2 = logf.try_clone().expect("log file");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &lab.ns(1)])
        .arg(Lab::vigild_path())
        .args(["-n", "-l", "-f"])
        .arg(conf)
        .arg("-p")
        .arg(&pid_file)
        .env("VIGIL_NO_REALTIME", "1")
        .stdin(Stdio::null())
        .stdout(logf)
        .stderr(logf2)
        .spawn()
        .expect("start vigild");
    // It either stops by itself (a refused configuration) or writes its pid file: the
    // configuration is loaded (and every start-up warning logged) before the pid file exists.
    let end = Instant::now() + Duration::from_secs(30);
    let refused_with = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break Some(st.code().unwrap_or(-1));
        }
        if pid_file.exists() || Instant::now() > end {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if refused_with.is_none() {
        assert!(
            pid_file.exists(),
            "{tag}: vigild neither ran nor stopped in 30 s"
        );
        // The child is ours and still running (not reaped): SIGTERM by its pid.
        signal(child.id(), libc::SIGTERM);
        let end = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    DaemonRun {
        refused_with,
        log: std::fs::read_to_string(&log).unwrap_or_default(),
    }
}

#[test]
fn config_test_and_the_daemon_agree() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("tagree", 1);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/daemon_agree");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/configs/daemon_agree")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    let mut summary = String::new();
    let (mut refused, mut ran) = (0, 0);
    for name in &names {
        let text = std::fs::read_to_string(dir.join(name)).expect("config");
        // The same path for both, so that the locations are the same text.
        let conf = lab.write(name, &text);
        let tag = name.trim_end_matches(".conf");
        let daemon = run_daemon(&lab, &conf, tag);
        let t = Command::new("ip")
            .args(["netns", "exec", &lab.ns(1)])
            .arg(Lab::vigild_path())
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .output()
            .expect("vigild -t");
        let t_err = String::from_utf8_lossy(&t.stderr).into_owned();
        let t_code = t.status.code().unwrap_or(-1);
        let conf_s = conf.to_string_lossy().into_owned();
        let diags: Vec<&str> = t_err
            .lines()
            .filter(|l| l.starts_with(conf_s.as_str()))
            .collect();
        let t_refuses = diags.iter().any(|l| l.contains(": error: "));
        assert_eq!(
            daemon.refused_with.is_some(),
            t_refuses,
            "{name}: the daemon {} but vigild -t printed:\n{t_err}\ndaemon log:\n{}",
            if daemon.refused_with.is_some() {
                "refused it"
            } else {
                "ran it"
            },
            daemon.log
        );
        if let Some(code) = daemon.refused_with {
            assert_eq!(code, 5, "{name}: the daemon's exit code\n{}", daemon.log);
            assert_eq!(t_code, 5, "{name}: vigild -t's exit code\n{t_err}");
            refused += 1;
        } else {
            let warned = diags.iter().any(|l| l.contains(": warning: "));
            assert_eq!(t_code, if warned { 5 } else { 0 }, "{name}\n{t_err}");
            ran += 1;
        }
        for d in &diags {
            if d.contains("does not exist") {
                continue; // the interface checks are -t's own
            }
            // The daemon logs "LOCATION: severity: message" after its own prefix.
            assert!(
                daemon.log.contains(d),
                "{name}: vigild -t printed\n  {d}\nwhich the daemon did not log:\n{}",
                daemon.log
            );
        }
        // Every located line of the daemon's log is one -t printed.
        for l in daemon.log.lines() {
            if let Some(at) = l.find(conf_s.as_str()) {
                let d = &l[at..];
                assert!(
                    diags.contains(&d),
                    "{name}: the daemon logged\n  {d}\nwhich vigild -t did not print:\n{t_err}"
                );
            }
        }
        summary.push_str(&format!(
            "{name}: daemon {}, -t exit {t_code}, {} diagnostics\n",
            match daemon.refused_with {
                Some(c) => format!("refused (exit {c})"),
                None => "ran".to_string(),
            },
            diags.len()
        ));
    }
    eprint!("{summary}");
    assert!(refused >= 3 && ran >= 3, "{summary}");
}
