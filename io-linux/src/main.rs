//! `vigild`: the Linux runner of the Vigil VRRP engine.
//!
//! `vigild -t` tests the configuration, `vigild status` asks a running daemon for its instances;
//! otherwise the daemon runs ([`vigil_linux::run`]), in the background unless `-n` is given.

mod cli;
mod config_test;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Some(cli::Command::Status { json }) = cli.command {
        let pid = cli
            .pid
            .clone()
            .unwrap_or_else(|| vigil_linux::daemon::DEFAULT_PID_FILE.into());
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
    if cli.config_test {
        let code = config_test::run(
            &cli.config_file(),
            cli.config_id(),
            vigil_linux::checker::Subsystems::from_flags(cli.vrrp_only, cli.check_only),
        );
        std::process::exit(code);
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
        subsystems: vigil_linux::checker::Subsystems::from_flags(cli.vrrp_only, cli.check_only),
    };
    let code = vigil_linux::run(&opts, &config_test::FsLoader);
    // A daemon that stops before it ever ran tells the waiting shell why (no-op otherwise).
    vigil_linux::background::report_started(code);
    std::process::exit(code);
}
