//! `vigild`: the Linux runner of the Vigil VRRP engine.
//!
//! For now only `vigild -t` (configuration test) works; the daemon mode is being built.

mod cli;
mod config_test;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if cli.config_test {
        let code = config_test::run(&cli.config_file(), cli.config_id());
        std::process::exit(code);
    }
    eprintln!("vigild: the daemon mode is not implemented yet");
    std::process::exit(1);
}
