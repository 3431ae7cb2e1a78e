//! `vigild`: the Linux runner of the Vigil VRRP engine.
//!
//! `vigild -t` tests the configuration; otherwise the daemon runs ([`vigil_linux::run`]).

mod cli;
mod config_test;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if cli.config_test {
        let code = config_test::run(&cli.config_file(), cli.config_id());
        std::process::exit(code);
    }
    let opts = vigil_linux::DaemonOptions {
        config_file: cli.config_file(),
        config_id: cli.config_id(),
        pid_file: cli.pid.clone(),
        log_detail: cli.log_detail,
    };
    std::process::exit(vigil_linux::run(&opts, &config_test::FsLoader));
}
