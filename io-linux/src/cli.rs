//! `vigild`'s command line: keepalived's flags, so that an operator's habits carry over.

use std::path::{Path, PathBuf};

use clap::Parser;

/// Where vigild looks for its configuration when `-f` is not given: Vigil's own file when it
/// exists, otherwise keepalived's.
pub const DEFAULT_VIGIL_CONF: &str = "/etc/vigil/vigil.conf";
/// keepalived's default configuration file.
pub const DEFAULT_KEEPALIVED_CONF: &str = "/etc/keepalived/keepalived.conf";

/// Command-line options of `vigild`.
#[derive(Debug, Parser)]
#[command(
    name = "vigild",
    version,
    about = "Vigil: a VRRP daemon that reads keepalived's configuration language",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Check the configuration and exit (0: valid; 5: errors, like keepalived -t).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,

    /// Dump the effective configuration on stdout in keepalived's `-d` format before starting
    /// (or, with `-t`, before the test): global definitions, VRRP topology, sync groups,
    /// scripts, track files, then virtual servers, real servers and checkers.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,

    /// Configuration file (default: /etc/vigil/vigil.conf when present, else
    /// /etc/keepalived/keepalived.conf).
    #[arg(short = 'f', long = "use-file", value_name = "FILE")]
    pub use_file: Option<PathBuf>,

    /// Stay in the foreground.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,

    /// Log to the console (stderr) as well.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,

    /// Detailed logging.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,

    /// PID file.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid: Option<PathBuf>,

    /// Config id that `@ID` conditional lines are compared against (default: the first label of
    /// the host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Keep a Prometheus textfile (for node_exporter's textfile collector) with every
    /// instance's state, priority, transitions, adverts and drop counters.
    #[arg(long = "metrics-file", value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,

    /// Run the VRRP subsystem only (keepalived's `-P`).
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,

    /// Run the health checkers only (keepalived's `-C`).
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,

    /// `status`: ask the running vigild (found by its pid file, `-p`) for every instance.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Commands that talk to a running vigild.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print every instance of the running vigild: state, priorities, master, addresses,
    /// trackers, counters.
    Status {
        /// The versioned JSON form (docs/status-schema.md).
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    /// The configuration file to read.
    pub fn config_file(&self) -> PathBuf {
        match &self.use_file {
            Some(f) => f.clone(),
            None if Path::new(DEFAULT_VIGIL_CONF).exists() => PathBuf::from(DEFAULT_VIGIL_CONF),
            None => PathBuf::from(DEFAULT_KEEPALIVED_CONF),
        }
    }

    /// The config id: `-i`, else the first label of the host name.
    pub fn config_id(&self) -> Option<String> {
        if let Some(id) = &self.config_id {
            return Some(id.clone());
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
        let first = host.trim().split('.').next()?.to_string();
        (!first.is_empty()).then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_flags_parse() {
        let c = Cli::try_parse_from([
            "vigild",
            "-t",
            "-f",
            "/x.conf",
            "-n",
            "-l",
            "-D",
            "-p",
            "/run/v.pid",
            "-i",
            "main",
        ])
        .unwrap();
        assert!(c.config_test && c.dont_fork && c.log_console && c.log_detail);
        assert_eq!(c.config_file(), PathBuf::from("/x.conf"));
        assert_eq!(c.config_id().as_deref(), Some("main"));
        let c = Cli::try_parse_from([
            "vigild",
            "--config-test",
            "--use-file=/y",
            "--config-id",
            "b",
        ])
        .unwrap();
        assert!(c.config_test);
        assert_eq!(c.use_file, Some(PathBuf::from("/y")));
    }
}
