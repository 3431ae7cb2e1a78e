//! `vigild`: the Linux runner of the Vigil VRRP engine.
//!
//! `vigild -t` tests the configuration, `vigild status` asks a running daemon for its instances;
//! otherwise the daemon runs ([`vigil_linux::run`]), in the background unless `-n` is given.
//! keepalived's other flags ([`cli::Cli`]) are acted on (`-S`, `-G`, `-u`, `-s`, `-m`, `-v`,
//! `--signum`, ...), noted at start with the reason, or refused (`-V`, `-T`).

#[allow(unsafe_code)] // mmap(2) and the GlobalAlloc methods of the -t arena
mod check_arena;
mod cli;
mod config_test;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
// `asm!` copies in place of musl's memcpy and memmove
// Exported by the musl build only; elsewhere compiled for its tests.
#[cfg_attr(not(target_env = "musl"), allow(dead_code))]
mod fast_memcpy;

/// The system allocator, or for `vigild -t` alone a bump arena ([`check_arena`]).
#[cfg(not(test))]
#[global_allocator]
static ALLOC: check_arena::CheckArena = check_arena::CheckArena;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if cli.version {
        // keepalived prints its version on stderr.
        eprint!("{}", cli::version_text());
        std::process::exit(0);
    }
    if let Some(name) = &cli.signum {
        match cli::signum(name) {
            Some(n) => {
                println!("{n}");
                std::process::exit(0);
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                std::process::exit(1);
            }
        }
    }
    if let Some(why) = cli.refusal() {
        eprintln!("vigild: {why}");
        std::process::exit(vigil_linux::daemon::EXIT_FATAL);
    }
    if let Some(ns) = &cli.namespace {
        enter_namespace(ns);
    }
    if let Some(mask) = cli.umask {
        vigil_linux::sys::set_umask(mask);
    }
    if cli.core_dump || cli.core_dump_pattern.is_some() {
        if let Err(e) = vigil_linux::sys::allow_core_dumps() {
            eprintln!("vigild: -m: cannot allow core dumps: {e}");
        }
    }
    if let Some(f) = cli.log_facility {
        vigil_linux::background::set_facility(f);
    }
    if cli.no_syslog {
        vigil_linux::background::set_no_syslog();
    }
    if let Some(cli::Command::Status { json }) = cli.command {
        let pid = cli.pid.clone().unwrap_or_else(|| default_pid_file(&cli));
        if json {
            // The daemon's answer plus the health checkers' `virtual_servers`.
            let sock = vigil_linux::operator::status::socket_path_for_pid_file(&pid);
            match vigil_linux::operator::status::query(&sock, true) {
                Ok(a) if !a.starts_with("error:") => {
                    print!("{}", vigil_linux::checker::status_json::merge(&a, &pid));
                    std::process::exit(0);
                }
                _ => std::process::exit(vigil_linux::operator::status::run_cli(&pid, json)),
            }
        }
        let code = vigil_linux::operator::status::run_cli(&pid, json);
        // The health checkers' real-server table, kept by the running daemon beside its pid file.
        if code == 0 && !json {
            if let Ok(t) =
                std::fs::read_to_string(vigil_linux::checker::status_path_for_pid_file(&pid))
            {
                print!("{t}");
            }
        }
        std::process::exit(code);
    }
    if cli.dump_conf {
        config_test::dump(&cli.config_file(), cli.config_id());
    }
    if let Some(log_file) = &cli.config_test {
        // The check exits when it is done: its allocations need never be given back.
        check_arena::enable();
        let subsystems =
            vigil_linux::checker::Subsystems::from_flags(cli.vrrp_only, cli.check_only);
        let code = if log_file.is_empty() {
            config_test::run(
                &cli.config_file(),
                cli.config_id(),
                subsystems,
                &cli.notes(),
                &mut std::io::stderr(),
            )
        } else {
            // keepalived's `-t FILE` / `--config-test=FILE`: the report goes to FILE.
            match std::fs::File::create(log_file) {
                Ok(mut f) => config_test::run(
                    &cli.config_file(),
                    cli.config_id(),
                    subsystems,
                    &cli.notes(),
                    &mut f,
                ),
                Err(e) => {
                    eprintln!("vigild: cannot write {log_file}: {e}");
                    config_test::EXIT_CONFIG
                }
            }
        };
        std::process::exit(code);
    }
    for n in cli.notes() {
        eprintln!("vigild: notice: {n}");
    }
    // The configuration's net_namespace and umask (keepalived: -s and -u override them), applied
    // before the daemon starts; a file that does not parse is reported by the daemon's load.
    let opts = vigil_engine::conf::ParseOptions {
        config_id: cli.config_id(),
        rt_names: vigil_linux::routes::rt_names(),
        ..Default::default()
    };
    let path = cli.config_file();
    if let Ok(cfg) =
        vigil_engine::conf::parse_file(&path.to_string_lossy(), &config_test::FsLoader, &opts)
    {
        if let (None, Some(mask)) = (cli.umask, cfg.global.umask) {
            vigil_linux::sys::set_umask(mask);
        }
        if let (None, Some(ns)) = (&cli.namespace, &cfg.global.net_namespace) {
            enter_namespace(ns);
        }
    }
    if !cli.dont_fork {
        // keepalived's default: into the background, before any thread exists.
        if let Err(e) = vigil_linux::background::daemonize() {
            eprintln!("vigild: cannot go into the background: {e}");
            std::process::exit(vigil_linux::daemon::EXIT_FATAL);
        }
        vigil_linux::background::set_background();
    }
    let opts = vigil_linux::DaemonOptions {
        config_file: cli.config_file(),
        config_id: cli.config_id(),
        pid_file: cli.pid.clone(),
        log_detail: cli.log_detail,
        metrics_file: cli.metrics_file.clone(),
        packet_socket_adverts: cli.packet_socket_adverts,
        subsystems: vigil_linux::checker::Subsystems::from_flags(cli.vrrp_only, cli.check_only),
    };
    let code = vigil_linux::run(&opts, &config_test::FsLoader);
    // A daemon that stops before it ever ran tells the waiting shell why (no-op otherwise).
    vigil_linux::background::report_started(code);
    std::process::exit(code);
}

/// The pid file that a daemon started with these options writes when `-p` is not given
/// (`pid_file::default_path`): the namespace of `-s` or of the configuration's
/// `net_namespace`, and the configuration's `instance` name. A configuration that does not
/// parse gives the plain default.
fn default_pid_file(cli: &cli::Cli) -> std::path::PathBuf {
    let opts = vigil_engine::conf::ParseOptions {
        config_id: cli.config_id(),
        ..Default::default()
    };
    let path = cli.config_file();
    let cfg =
        vigil_engine::conf::parse_file(&path.to_string_lossy(), &config_test::FsLoader, &opts).ok();
    let namespace = cli
        .namespace
        .clone()
        .or_else(|| cfg.as_ref()?.global.net_namespace.clone());
    let instance = cfg.as_ref().and_then(|c| c.global.instance_name.clone());
    vigil_linux::pid_file::default_path(namespace.as_deref(), instance.as_deref())
}

/// keepalived's `-s NAME` (and the configuration's `net_namespace NAME`): run in the network
/// namespace NAME. vigild runs itself again under
/// `ip netns exec NAME`, which also gives it that namespace's /sys (interfaces, sysctls), exactly
/// as an operator's `ip netns exec NAME vigild` would; `VIGILD_NETNS` marks the second run.
fn enter_namespace(ns: &str) {
    use std::os::unix::process::CommandExt as _;
    if std::env::var("VIGILD_NETNS").as_deref() == Ok(ns) {
        return;
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigild: -s {ns}: cannot find vigild's own path: {e}");
            std::process::exit(vigil_linux::daemon::EXIT_FATAL);
        }
    };
    let err = std::process::Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env("VIGILD_NETNS", ns)
        .exec();
    eprintln!("vigild: -s {ns}: cannot run ip netns exec (iproute2): {err}");
    std::process::exit(vigil_linux::daemon::EXIT_FATAL);
}
