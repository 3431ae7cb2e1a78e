//! `vigild`'s command line: keepalived's flags, so that an operator's habits carry over.

use std::path::{Path, PathBuf};

use clap::Parser;

/// Where vigild looks for its configuration when `-f` is not given: Vigil's own file when it
/// exists, otherwise keepalived's.
pub(crate) const DEFAULT_VIGIL_CONF: &str = "/etc/vigil/vigil.conf";
/// keepalived's default configuration file.
pub(crate) const DEFAULT_KEEPALIVED_CONF: &str = "/etc/keepalived/keepalived.conf";

/// Command-line options of `vigild`: keepalived 2.2.7's (`keepalived --help`), so that a unit
/// file or a wrapper written for keepalived runs vigild. Each flag is acted on, or accepted and
/// noted at start with the reason ([`Cli::notes`]), or refused with the reason
/// ([`Cli::refusal`]).
#[derive(Debug, Parser)]
#[command(
    name = "vigild",
    about = "Vigil: a VRRP daemon that reads keepalived's configuration language",
    disable_help_subcommand = true,
    disable_version_flag = true
)]
pub(crate) struct Cli {
    /// Check the configuration and exit (0: valid; 5: errors, like keepalived -t); with
    /// `--config-test=FILE` (or `-tFILE`) the report goes to FILE instead of stderr.
    #[arg(
        short = 't',
        long = "config-test",
        value_name = "LOG_FILE",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub config_test: Option<String>,

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

    /// Log to the console (accepted: in the foreground vigild logs to stderr; in the background
    /// there is no console).
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,

    /// Detailed logging.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,

    /// Syslog facility in the background: 0-7 (local0-local7), local0-local7, user or daemon
    /// (default daemon).
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY", value_parser = facility)]
    pub log_facility: Option<u8>,

    /// Do not log to syslog (in the background: no log at all).
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,

    /// File creation mask, numeric (0 prefix: octal, 0x: hexadecimal).
    #[arg(short = 'u', long = "umask", value_name = "MASK", value_parser = umask)]
    pub umask: Option<u32>,

    /// PID file (also for `vigild status`, before or after the word `status`; default
    /// /run/vigild.pid, or /run/vigild/[NS/]vigild[_INSTANCE].pid with a namespace or an
    /// `instance` name).
    #[arg(short = 'p', long = "pid", value_name = "FILE", global = true)]
    pub pid: Option<PathBuf>,

    /// keepalived's VRRP child pid file (accepted: vigild is one process; its pid file is -p).
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,

    /// keepalived's checker child pid file (accepted: vigild is one process).
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,

    /// keepalived's BFD child pid file (accepted: no BFD).
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid: Option<PathBuf>,

    /// Config id that `@ID` conditional lines are compared against (default: the first label of
    /// the host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Keep a Prometheus textfile (for node_exporter's textfile collector) with every
    /// instance's state, priority, transitions, adverts and drop counters.
    #[arg(long = "metrics-file", value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,

    /// Send IPv4 multicast adverts of Ethernet interfaces from a packet socket with vigild's
    /// own IPv4 header (a Vigil extension, off by default): the kernel then allocates no
    /// output route per advert, which halves the master's p99 lateness at 1,020 instances x
    /// 10 ms (BENCHMARKS-daemon.md), but these adverts skip netfilter's output and postrouting
    /// hooks (an `output ... vrrp drop` rule no longer silences the router) and the IP
    /// counters. Without it they leave through the raw socket, as keepalived's do.
    #[arg(long = "packet-socket-adverts")]
    pub packet_socket_adverts: bool,

    /// Run the VRRP subsystem only (keepalived's `-P`).
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,

    /// Run the health checkers only (keepalived's `-C`).
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,

    /// Do not run BFD (accepted: Vigil has no BFD subsystem).
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,

    /// Run every subsystem even without configuration (accepted: vigild runs what the
    /// configuration has).
    #[arg(long = "all")]
    pub all: bool,

    /// Drop virtual addresses on a transition caused by a signal (accepted: vigild's stop by
    /// signal removes them anyway).
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,

    /// keepalived: keep virtual addresses and routes at stop (refused: vigild removes them).
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,

    /// keepalived: keep the IPVS topology at stop (accepted: no IPVS).
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,

    /// keepalived: do not respawn child processes (accepted: vigild has none).
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,

    /// keepalived's genhash mode (refused: run keepalived's genhash).
    #[arg(short = 'T', long = "genhash")]
    pub genhash: bool,

    /// Report every address change (accepted: vigild logs the addresses it adds and removes).
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,

    /// Enable SNMP (accepted: no SNMP agent; see --metrics-file and `vigild status --json`).
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,

    /// SNMP master agent socket (accepted: no SNMP agent).
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<String>,

    /// Run in network namespace NAME (/run/netns/NAME), as `ip netns exec NAME vigild` does.
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,

    /// Allow core dumps of any size (RLIMIT_CORE).
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,

    /// Also set the system's core pattern (accepted: vigild allows core dumps as -m does, but
    /// does not change kernel.core_pattern, a setting of the whole machine).
    #[arg(
        short = 'M',
        long = "core-dump-pattern",
        value_name = "PATN",
        num_args = 0..=1,
        default_missing_value = "core"
    )]
    pub core_dump_pattern: Option<String>,

    /// Error if any configuration file is missing (accepted: an include that matches no file is
    /// reported by -t).
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,

    /// Print the number of the signal for STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON, as
    /// keepalived does, and exit.
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,

    /// Print the version and exit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    /// `status`: ask the running vigild (found by its pid file, `-p`) for every instance.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Commands that talk to a running vigild.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Print every instance of the running vigild: state, priorities, master, addresses,
    /// trackers, counters.
    Status {
        /// The versioned JSON form (docs/status-schema.md).
        #[arg(long)]
        json: bool,
    },
}

fn facility(s: &str) -> Result<u8, String> {
    vigil_linux::background::parse_facility(s)
        .ok_or_else(|| format!("'{s}': expected 0-7, local0-local7, user or daemon"))
}

/// A number as C's strtoul with base 0 reads it (keepalived's `-u`).
fn umask(s: &str) -> Result<u32, String> {
    let r = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8)
    } else {
        s.parse()
    };
    r.ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("'{s}': expected a numeric mask (e.g. 022)"))
}

/// keepalived's `--signum`: the signal number for a keepalived signal function name (Linux's
/// numbers; SIGRTMIN and SIGRTMAX as glibc defines them), `None` for an unknown name.
/// keepalived 2.2.7 prints 15, 1, 10, 12, 63 and 36 for these six on Debian.
pub(crate) fn signum(name: &str) -> Option<i32> {
    let [stats_clear, json] = vigil_linux::sys::keepalived_rt_signals();
    match name {
        "STOP" => Some(libc::SIGTERM),
        "RELOAD" => Some(libc::SIGHUP),
        "DATA" => Some(libc::SIGUSR1),
        "STATS" => Some(libc::SIGUSR2),
        "STATS_CLEAR" => Some(stats_clear),
        "JSON" => Some(json),
        _ => None,
    }
}

/// What `vigild -v` prints (on stderr, as keepalived does).
pub(crate) fn version_text() -> String {
    format!(
        "Vigil vigild v{} (reads keepalived 2.2.7's configuration language)\n",
        env!("CARGO_PKG_VERSION")
    )
}

impl Cli {
    /// The keepalived flags given that vigild accepts without acting on them, each with why
    /// (logged at start, printed by -t).
    pub(crate) fn notes(&self) -> Vec<String> {
        let mut v = Vec::new();
        let mut note = |on: bool, flag: &str, why: &str| {
            if on {
                v.push(format!("{flag}: {why}"));
            }
        };
        note(
            self.log_console && !self.dont_fork,
            "-l",
            "in the background vigild has no console: it logs to syslog (with -n it logs to stderr)",
        );
        note(
            self.vrrp_pid.is_some(),
            "-r",
            "vigild is one process: its only pid file is -p",
        );
        note(
            self.checkers_pid.is_some(),
            "-c",
            "vigild is one process: its only pid file is -p",
        );
        note(self.bfd_pid.is_some(), "-b", "Vigil has no BFD subsystem");
        note(self.no_bfd, "-B", "Vigil has no BFD subsystem");
        note(
            self.all,
            "--all",
            "vigild runs the subsystems its configuration has (-P / -C choose)",
        );
        note(
            self.release_vips,
            "-X",
            "vigild handles a transition the same way whatever caused it (a stop by signal removes the addresses)",
        );
        note(
            self.dont_release_ipvs,
            "-I",
            "IPVS is not used: the health checkers drive Vigil's nftables data plane",
        );
        note(
            self.dont_respawn,
            "-R",
            "vigild has no child processes to respawn (run it under systemd's Restart=)",
        );
        note(
            self.address_monitoring,
            "-a",
            "vigild logs the addresses and routes it adds and removes; `ip monitor address` shows every change",
        );
        note(
            self.snmp || self.snmp_agent_socket.is_some(),
            "-x/-A",
            "Vigil has no SNMP agent: use --metrics-file and `vigild status --json`",
        );
        note(
            self.core_dump_pattern.is_some(),
            "-M",
            "core dumps are allowed as with -m, but kernel.core_pattern (a setting of the whole machine) is left as it is",
        );
        note(
            self.all_config,
            "-e",
            "vigild -t reports includes that match no file",
        );
        note(
            self.log_facility.is_some() && self.dont_fork,
            "-S",
            "in the foreground vigild logs to stderr (journald files it under the unit); the facility applies to syslog in the background",
        );
        v
    }

    /// A keepalived flag vigild refuses (vigild exits 1 with this): doing something else would
    /// surprise the operator.
    pub(crate) fn refusal(&self) -> Option<String> {
        if self.dont_release_vrrp {
            return Some("-V (--dont-release-vrrp): vigild removes its virtual addresses and routes when it stops; run it without -V".into());
        }
        if self.genhash {
            return Some(
                "-T (--genhash): vigild has no genhash mode; run keepalived's genhash".into(),
            );
        }
        None
    }

    /// The configuration file to read.
    pub(crate) fn config_file(&self) -> PathBuf {
        match &self.use_file {
            Some(f) => f.clone(),
            None if Path::new(DEFAULT_VIGIL_CONF).exists() => PathBuf::from(DEFAULT_VIGIL_CONF),
            None => PathBuf::from(DEFAULT_KEEPALIVED_CONF),
        }
    }

    /// The config id: `-i`, else the first label of the host name.
    pub(crate) fn config_id(&self) -> Option<String> {
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
        assert!(c.config_test.is_some() && c.dont_fork && c.log_console && c.log_detail);
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
        assert_eq!(c.config_test.as_deref(), Some(""));
        assert_eq!(c.use_file, Some(PathBuf::from("/y")));
    }

    fn parse(args: &[&str]) -> Cli {
        let mut v = vec!["vigild"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// Every flag of `keepalived --help` (2.2.7) parses.
    #[test]
    fn every_keepalived_flag_parses() {
        let c = parse(&[
            "-f",
            "/k.conf",
            "-P",
            "-C",
            "-B",
            "--all",
            "-l",
            "-D",
            "-S",
            "local3",
            "-G",
            "-u",
            "027",
            "-X",
            "-I",
            "-R",
            "-n",
            "-d",
            "-p",
            "/run/k.pid",
            "-r",
            "/run/v.pid",
            "-c",
            "/run/c.pid",
            "-a",
            "-b",
            "/run/b.pid",
            "-x",
            "-A",
            "/run/agentx",
            "-s",
            "red",
            "-m",
            "-M",
            "-e",
            "-i",
            "main",
        ]);
        assert_eq!(c.log_facility, Some(19));
        assert_eq!(c.umask, Some(0o27));
        assert_eq!(c.namespace.as_deref(), Some("red"));
        assert_eq!(c.core_dump_pattern.as_deref(), Some("core"));
        assert!(c.no_syslog && c.core_dump && c.vrrp_only && c.check_only && c.dump_conf);
        assert!(c.refusal().is_none());
        // Each accepted-but-unused flag is noted with its reason.
        let notes = c.notes().join("\n");
        for flag in [
            "-r:", "-c:", "-b:", "-B:", "--all:", "-X:", "-I:", "-R:", "-a:", "-x/-A:", "-M:",
            "-e:", "-S:",
        ] {
            assert!(notes.contains(flag), "{flag} not noted:\n{notes}");
        }
        let c = parse(&[
            "--use-file=/k.conf",
            "--vrrp",
            "--log-facility=daemon",
            "--umask=0x12",
            "--namespace=blue",
            "--core-dump-pattern=/tmp/core.%p",
            "--config-test=/tmp/t.log",
            "--signum=RELOAD",
            "--version",
            "--snmp",
            "--dont-fork",
        ]);
        assert_eq!(c.log_facility, Some(3));
        assert_eq!(c.umask, Some(0x12));
        assert_eq!(c.config_test.as_deref(), Some("/tmp/t.log"));
        assert_eq!(c.core_dump_pattern.as_deref(), Some("/tmp/core.%p"));
        assert_eq!(c.signum.as_deref(), Some("RELOAD"));
        assert!(c.version);
        assert!(parse(&["-V"]).refusal().is_some());
        assert!(parse(&["-T"]).refusal().is_some());
        for bad in [&["-S", "kern"][..], &["-u", "abc"], &["-u", "01000"]] {
            let mut v = vec!["vigild"];
            v.extend_from_slice(bad);
            assert!(Cli::try_parse_from(v).is_err(), "{bad:?}");
        }
    }

    /// keepalived's `-t` takes its log file attached (`-tFILE`, `--config-test=FILE`); a flag
    /// after a bare `-t` is not its value.
    #[test]
    fn config_test_takes_an_attached_log_file_only() {
        assert_eq!(parse(&["-t"]).config_test.as_deref(), Some(""));
        assert_eq!(
            parse(&["-t/tmp/x.log"]).config_test.as_deref(),
            Some("/tmp/x.log")
        );
        let c = parse(&["-t", "-f", "/k.conf"]);
        assert_eq!(c.config_test.as_deref(), Some(""));
        assert_eq!(c.use_file, Some(PathBuf::from("/k.conf")));
    }

    /// The numbers keepalived 2.2.7 prints on this machine (`keepalived --signum=NAME`).
    #[test]
    fn signum_prints_keepalived_s_numbers() {
        let got: Vec<Option<i32>> = [
            "STOP",
            "RELOAD",
            "DATA",
            "STATS",
            "STATS_CLEAR",
            "JSON",
            "TDUMP",
            "x",
        ]
        .into_iter()
        .map(signum)
        .collect();
        assert_eq!(
            got,
            [
                Some(15),
                Some(1),
                Some(10),
                Some(12),
                Some(63),
                Some(36),
                None,
                None
            ]
        );
    }

    /// vigild(8) documents `vigild status [--json] [-p pidfile]`; `-p` before `status` works
    /// too.
    #[test]
    fn status_takes_the_pid_file_before_or_after() {
        for args in [
            &["status", "-p", "/run/x.pid"][..],
            &["-p", "/run/x.pid", "status"],
            &["status", "--json", "-p", "/run/x.pid"],
            &["status", "-p", "/run/x.pid", "--json"],
        ] {
            let c = parse(args);
            assert!(
                matches!(c.command, Some(Command::Status { .. })),
                "{args:?}"
            );
            assert_eq!(c.pid, Some(PathBuf::from("/run/x.pid")), "{args:?}");
        }
    }
}
