//! The one table of keepalived.conf keywords: every keyword of keepalived 2.2.7's VRRP-side and
//! global configuration (keepalived.conf(5): the top level, `global_defs`, `vrrp_instance`,
//! `vrrp_sync_group`, `vrrp_script`, `track_file`, `vrrp_track_process`, `garp_group`,
//! `track_group`, the `authentication` block, and the options of a virtual address and of a
//! virtual route) has exactly one [`Class`] here:
//!
//! - [`Class::Honoured`]: parsed, and the daemon or the engine acts on it;
//! - [`Class::Noted`]: accepted with a notice at its file:line:col, because it has no effect on a
//!   Vigil router; the reason says why and what replaces it (an SNMP agent: the metrics file and
//!   `vigild status --json`; process tuning: the systemd unit; ...);
//! - [`Class::Refused`]: an error at its file:line:col (the configuration does not load, and
//!   `vigild -t` fails): Vigil does not do what it asks, and doing something else would change
//!   what the router does on the wire, in its addresses, routes or firewall, or in when it changes
//!   state.
//!
//! Nothing is stored and silently ignored: the parser (`sections.rs`) asks this table before it
//! handles a keyword ([`class`]); a keyword that is not here is unknown (a warning, as keepalived
//! does). The test below fails when the parser has a handler for a keyword that is not in the
//! table, when an honoured keyword has no handler, when a keyword of keepalived 2.2.7 (the list
//! in `keepalived_keywords.txt`, generated from keepalived's parser source by
//! `scripts/keepalived-keywords.py`) is missing here, and when a keyword does not give its
//! class's diagnostic.
//!
//! **This is the single place to flip** when a setting becomes honoured. Several settings that
//! issue 15 asks Vigil to honour are being implemented (`track_process`, `vrrp_mcast_group4/6`,
//! `mcast_dst_ip`, `no_accept` / `vrrp_strict` firewall rules, `virtual_rules` / `static_rules`,
//! the address options, `vrrp_startup_delay`, `interface_up_down_delays`,
//! `higher_prio_send_advert`, `unicast_ttl`, `promote_secondaries`, `dont_track_primary`,
//! `old_unicast_checksum`, ...): they are classified as they are today (refused, with the reason),
//! and the change that honours one turns its entry into [`Class::Honoured`] here. Their handlers
//! in the parser may already exist (they store the value): the table, not the handler, decides.

use core::fmt;

/// Where a keyword is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// The top level of the file.
    Top,
    /// `global_defs { }`.
    GlobalDefs,
    /// `vrrp_instance NAME { }`.
    VrrpInstance,
    /// `authentication { }` inside a `vrrp_instance`.
    Authentication,
    /// `vrrp_sync_group NAME { }`.
    VrrpSyncGroup,
    /// `vrrp_script NAME { }`.
    VrrpScript,
    /// `track_file NAME { }` (and its deprecated synonym `vrrp_track_file`).
    TrackFile,
    /// `vrrp_track_process NAME { }` (skipped whole: its class is the top-level keyword's).
    VrrpTrackProcess,
    /// `garp_group { }`.
    GarpGroup,
    /// `track_group NAME { group { ... } }`.
    TrackGroup,
    /// An option after the address of a `virtual_ipaddress`, `virtual_ipaddress_excluded` or
    /// `static_ipaddress` line (`dev`, `scope`, `preferred_lft`, ...).
    Address,
    /// A word of a `virtual_routes` / `static_routes` line (`via`, `table`, `nexthop`, ...).
    Route,
    /// A word of a `virtual_rules` / `static_rules` line (`from`, `table`, `fwmark`, ...).
    Rule,
}

impl Section {
    /// keepalived's name for it, as used in messages and in `keepalived_keywords.txt`.
    pub fn name(self) -> &'static str {
        match self {
            Section::Top => "top",
            Section::GlobalDefs => "global_defs",
            Section::VrrpInstance => "vrrp_instance",
            Section::Authentication => "authentication",
            Section::VrrpSyncGroup => "vrrp_sync_group",
            Section::VrrpScript => "vrrp_script",
            Section::TrackFile => "track_file",
            Section::VrrpTrackProcess => "vrrp_track_process",
            Section::GarpGroup => "garp_group",
            Section::TrackGroup => "track_group",
            Section::Address => "ipaddress",
            Section::Route => "route",
            Section::Rule => "rule",
        }
    }

    /// Every section, in the order of the table.
    pub const ALL: [Section; 13] = [
        Section::Top,
        Section::GlobalDefs,
        Section::VrrpInstance,
        Section::Authentication,
        Section::VrrpSyncGroup,
        Section::VrrpScript,
        Section::TrackFile,
        Section::VrrpTrackProcess,
        Section::GarpGroup,
        Section::TrackGroup,
        Section::Address,
        Section::Route,
        Section::Rule,
    ];
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Top => f.write_str("the top level"),
            Section::Address => f.write_str("an address"),
            Section::Route => f.write_str("a route"),
            Section::Rule => f.write_str("a rule"),
            s => f.write_str(s.name()),
        }
    }
}

/// What Vigil does with a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Parsed and acted on.
    Honoured,
    /// Accepted with a notice: no effect on a Vigil router, for the reason given (which says
    /// what replaces it).
    Noted(&'static str),
    /// An error: not done, and ignoring it would change what the router does; the reason says
    /// what happens instead or what to write.
    Refused(&'static str),
}

impl Class {
    /// `honoured`, `noted` or `refused`.
    pub fn label(self) -> &'static str {
        match self {
            Class::Honoured => "honoured",
            Class::Noted(_) => "noted",
            Class::Refused(_) => "refused",
        }
    }
}

/// One keyword of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyword {
    /// Where it is written.
    pub section: Section,
    /// The keyword.
    pub name: &'static str,
    /// What Vigil does with it.
    pub class: Class,
}

/// Keywords of keepalived releases after 2.2.7 that Vigil honours (keepalived 2.2.7's `-t`
/// rejects them as unknown: a file that must stay loadable by 2.2.7 leaves them out).
pub const NEWER_KEEPALIVED: &[(Section, &str)] = &[
    (Section::GlobalDefs, "v3_checksum_as_v2"),
    (Section::VrrpInstance, "v3_checksum_as_v2"),
    (Section::VrrpInstance, "no_virtual_ipaddress"),
];

/// The class of `name` in `section`, `None` when it is not a keyword there.
///
/// Every keyword of every file goes through here: a table per section built once from
/// [`KEYWORDS`] (the first entry of a keyword wins, as the linear search it replaced did;
/// that search was 15 % of `vigild -t` on 1,000 instances).
#[inline]
pub fn class(section: Section, name: &str) -> Option<Class> {
    index()[section as usize].get(name)
}

/// One section's keywords, open addressing over a power-of-two number of slots (at least
/// twice the keywords). A slot holds the keyword's hash, so a look-up compares the words of
/// the name only for the slot whose hash is the name's. (A `HashMap<&str, _>` cost 190
/// instructions a look-up, of which 74 in musl's `memcmp`, which compares a byte a step:
/// 5 M of the 53 M of `vigild -t` on 1,000 instances.)
#[derive(Default)]
struct KeywordTable {
    /// The keyword's hash, the keyword, its [`last_word`] (compared before its bytes: with the
    /// hash and the length equal, only the whole words before it are left to compare) and
    /// class.
    slots: Vec<Option<(u64, &'static str, u64, Class)>>,
}

impl KeywordTable {
    fn build(keywords: &[(&'static str, Class)]) -> Self {
        let n = (keywords.len() * 2).next_power_of_two().max(8);
        let mut t = KeywordTable {
            slots: vec![None; n],
        };
        for &(name, class) in keywords {
            let last = last_word(name.as_bytes());
            let h = name_hash(name.as_bytes(), last);
            let mut i = t.first_slot(h);
            loop {
                match t.slots[i] {
                    None => {
                        t.slots[i] = Some((h, name, last, class));
                        break;
                    }
                    // The first entry of a keyword wins.
                    Some((sh, sname, _, _)) if sh == h && sname == name => break,
                    Some(_) => i = (i + 1) & (n - 1),
                }
            }
        }
        t
    }

    fn first_slot(&self, h: u64) -> usize {
        // The high bits: the multiply of the hash mixes into them.
        (h >> 40) as usize & (self.slots.len() - 1)
    }

    #[inline]
    fn get(&self, name: &str) -> Option<Class> {
        let b = name.as_bytes();
        let last = last_word(b);
        let h = name_hash(b, last);
        let mut i = self.first_slot(h);
        loop {
            // The slot by reference: copying its 56 bytes out at each probe cost more than
            // the compares (callgrind, the static build).
            let (sh, sname, slast, class) = self.slots.get(i)?.as_ref()?;
            if *sh == h && *slast == last && same_words(sname.as_bytes(), b) {
                return Some(*class);
            }
            i = (i + 1) & (self.slots.len() - 1);
        }
    }
}

/// The little-endian word of eight bytes.
fn word(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(c);
    u64::from_le_bytes(w)
}

/// The little-endian word of four bytes.
fn half_word(c: &[u8]) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(c);
    u64::from(u32::from_le_bytes(w))
}

/// The last word of `b`, after its whole words: the last eight bytes (overlapping the words
/// before) when there are eight, else the bytes as a little-endian number (read as two
/// overlapping halves or three single bytes, not a byte a step: most keywords and address
/// options are shorter than eight bytes or end in a partial word); 0 for none.
fn last_word(b: &[u8]) -> u64 {
    let n = b.len();
    if n.is_multiple_of(8) {
        0
    } else if n > 8 {
        word(&b[n - 8..])
    } else if n >= 4 {
        // Bytes 0..4 and n-4..n: the overlap holds the same bytes in both.
        half_word(&b[..4]) | (half_word(&b[n - 4..]) << (8 * (n - 4)))
    } else {
        // n is 1, 2 or 3: bytes 0, n/2 and n-1 cover them all.
        u64::from(b[0])
            | (u64::from(b[n / 2]) << (8 * (n / 2)))
            | (u64::from(b[n - 1]) << (8 * (n - 1)))
    }
}

/// A hash of a name, eight bytes a step (FxHash's multiply), with its length mixed in; `last`
/// is its [`last_word`].
fn name_hash(b: &[u8], last: u64) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h = (b.len() as u64).wrapping_mul(K);
    // The whole words by `split_first_chunk`: `chunks_exact` cost ~15 instructions more a
    // look-up (callgrind).
    let mut rest = b;
    while let Some((c, r)) = rest.split_first_chunk::<8>() {
        h = (h.rotate_left(26) ^ u64::from_le_bytes(*c)).wrapping_mul(K);
        rest = r;
    }
    (h.rotate_left(26) ^ last).wrapping_mul(K)
}

/// Whether two byte strings with the same [`last_word`] are equal: the same length and the
/// same whole words, compared eight bytes a step (no `memcmp` call).
fn same_words(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a, b);
    while let (Some((p, xr)), Some((q, yr))) =
        (x.split_first_chunk::<8>(), y.split_first_chunk::<8>())
    {
        if p != q {
            return false;
        }
        (x, y) = (xr, yr);
    }
    true
}

/// Whether two byte strings are equal, as [`same_words`] with their last words compared.
#[cfg(test)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    last_word(a) == last_word(b) && same_words(a, b)
}

/// [`KEYWORDS`] by section, then name.
fn index() -> &'static [KeywordTable; Section::ALL.len()] {
    static INDEX: std::sync::OnceLock<[KeywordTable; Section::ALL.len()]> =
        std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut by_section: [Vec<(&'static str, Class)>; Section::ALL.len()] = Default::default();
        for k in KEYWORDS {
            by_section[k.section as usize].push((k.name, k.class));
        }
        by_section.map(|v| KeywordTable::build(&v))
    })
}

/// The diagnostic text for a noted keyword (the parser prints it as a notice).
pub fn noted_message(section: Section, name: &str, reason: &str) -> String {
    format!("'{name}' in {section} has no effect on a Vigil router: {reason}")
}

/// The diagnostic text for a refused keyword (the parser prints it as an error).
pub fn refused_message(section: Section, name: &str, reason: &str) -> String {
    format!("'{name}' in {section} is refused: {reason}")
}

use Class::{Honoured as H, Noted as N, Refused as R};
use Section::*;

const fn k(section: Section, name: &'static str, class: Class) -> Keyword {
    Keyword {
        section,
        name,
        class,
    }
}

// Reasons shared by several keywords.
const SCHED: Class =
    N("process scheduling of keepalived's BFD process: Vigil has no BFD subsystem");
const PROCNAME: Class =
    N("names of keepalived's child processes: vigild is one process, named vigild");
const SNMP: Class = N("Vigil has no SNMP agent: the Prometheus textfile (--metrics-file) and `vigild status --json` carry the same state and counters");
const DBUS: Class = N(
    "Vigil has no DBus interface: use `vigild status --json`, notify scripts and the notify FIFO",
);
// LVS settings, per data plane (the host gets IPVS where the kernel has it, else nftables:
// docs/DATAPLANE.md); each reason says what happens on both. `lvs_flush`, `lvs_flush_on_stop`,
// `lvs_timeouts`, `lvs_sync_daemon` and `lvs_sync_daemon_interface` are honoured: the IPVS
// data plane sends them (vigil_engine::dataplane::lvs); on an nftables host the parser gives
// each a notice saying what happens there instead (conf/sections/lvs.rs).
const IPVS_NS: Class = N("nftables hosts: no IPVS; IPVS hosts: the IPVS backend sends its generic netlink requests in vigild's own network namespace (net_namespace), not in a separate one");
const NFT_IPVS: Class = N("keepalived's nftables fwmarks for IPVS virtual server groups: on an IPVS host Vigil sends each group entry as its own IPVS service (keepalived's way without nftables_ipvs); on an nftables host the data plane is nftables itself");
const LVS_NLBUF: Class = N("nftables hosts: no IPVS socket; IPVS hosts: vigild sizes its IPVS generic netlink socket itself (one request at a time, the answer read before the next)");
const NLBUF: Class = N("netlink socket buffer sizes: vigild sizes its netlink sockets itself, and re-reads the interfaces when events are lost");
const RXBUF: Class = N("VRRP socket receive buffers: vigild sizes them itself and counts receive-queue drops per interface (vigild status)");
const RELOAD: Class = N("keepalived's reload machinery: vigild re-reads the file on SIGHUP (systemctl reload) and keeps the running configuration when the new one does not load; check a file first with vigild -t");
const FIREWALL_CFG: Class = N("Vigil installs the no_accept / vrrp_strict rules with nftables only, in keepalived's table layout (nftables, nftables_priority, nftables_counters are honoured); iptables, ipsets and interface-index matching are not used");
const CHECKER_MAIL: Class = N("vigild sends no e-mail for health-checker events (only for VRRP transitions): real-server changes reach lvs_notify_fifo, notify scripts and vigild status");
const LINKBEAT: Class = N(
    "Vigil follows link state through netlink events (carrier), never by polling MII or ethtool",
);
const TRACK_BFD: Class = R(
    "Vigil has no BFD subsystem: an instance tracking a BFD session would never fault when it goes down",
);

/// Every keyword, by section. Sorted by section, then as keepalived.conf(5) groups them.
pub const KEYWORDS: &[Keyword] = &[
    // ---- the top level ----
    k(Top, "global_defs", H),
    k(Top, "vrrp_instance", H),
    k(Top, "vrrp_sync_group", H),
    k(Top, "vrrp_script", H),
    k(Top, "track_file", H),
    k(Top, "vrrp_track_file", H),
    k(Top, "static_ipaddress", H),
    k(Top, "static_routes", H),
    k(Top, "virtual_server", H),
    k(Top, "virtual_server_group", H),
    k(Top, "SSL", H),
    k(Top, "static_rules", H),
    k(Top, "vrrp_track_process", H),
    k(Top, "garp_group", H),
    k(Top, "track_group", H),
    k(Top, "interface_up_down_delays", H),
    k(Top, "bfd_instance", N("Vigil has no BFD subsystem; the section is skipped (track_bfd, which would use it, is refused)")),
    k(Top, "linkbeat_interfaces", LINKBEAT),
    k(Top, "linkbeat_use_polling", LINKBEAT),
    k(Top, "net_namespace", H),
    k(Top, "net_namespace_ipvs", IPVS_NS),
    k(Top, "namespace_with_ipsets", N("ipsets are not used: Vigil installs no ipset or iptables rules")),
    k(Top, "instance", H),
    k(Top, "use_pid_dir", N("keepalived's /run/keepalived/ pid directory: vigild's pid file is set with -p")),
    k(Top, "child_wait_time", N("how long keepalived waits for its child processes at stop: vigild is one process")),
    // ---- global_defs ----
    k(GlobalDefs, "router_id", H),
    k(GlobalDefs, "notification_email", H),
    k(GlobalDefs, "notification_email_from", H),
    k(GlobalDefs, "smtp_server", H),
    k(GlobalDefs, "smtp_connect_timeout", H),
    k(GlobalDefs, "smtp_helo_name", H),
    k(GlobalDefs, "smtp_alert", H),
    k(GlobalDefs, "smtp_alert_vrrp", H),
    k(GlobalDefs, "smtp_alert_checker", CHECKER_MAIL),
    k(GlobalDefs, "no_email_faults", N("an e-mail filter: vigild sends FAULT e-mails like the others; filter them at the mail server")),
    k(GlobalDefs, "script_user", H),
    k(GlobalDefs, "enable_script_security", H),
    k(GlobalDefs, "startup_script", H),
    k(GlobalDefs, "startup_script_timeout", H),
    k(GlobalDefs, "shutdown_script", H),
    k(GlobalDefs, "shutdown_script_timeout", H),
    k(GlobalDefs, "process_names", PROCNAME),
    k(GlobalDefs, "process_name", PROCNAME),
    k(GlobalDefs, "vrrp_process_name", PROCNAME),
    k(GlobalDefs, "checker_process_name", PROCNAME),
    k(GlobalDefs, "lvs_process_name", PROCNAME),
    k(GlobalDefs, "bfd_process_name", PROCNAME),
    k(GlobalDefs, "max_auto_priority", N("vigild runs at real-time priority from the start (SCHED_FIFO 10, or vrrp_rt_priority at SCHED_RR): there is no later raise to bound")),
    k(GlobalDefs, "min_auto_priority_delay", N("vigild runs at real-time priority from the start (SCHED_FIFO 10, or vrrp_rt_priority at SCHED_RR): there is no later raise to bound")),
    k(GlobalDefs, "dynamic_interfaces", H),
    k(GlobalDefs, "default_interface", H),
    k(GlobalDefs, "disable_local_igmp", H),
    k(GlobalDefs, "vrrp_version", H),
    k(GlobalDefs, "vrrp_mcast_group4", H),
    k(GlobalDefs, "vrrp_mcast_group6", H),
    k(GlobalDefs, "vrrp_garp_master_delay", H),
    k(GlobalDefs, "vrrp_garp_master_repeat", H),
    k(GlobalDefs, "vrrp_garp_master_refresh", H),
    k(GlobalDefs, "vrrp_garp_master_refresh_repeat", H),
    k(GlobalDefs, "vrrp_garp_lower_prio_delay", H),
    k(GlobalDefs, "vrrp_garp_lower_prio_repeat", H),
    k(GlobalDefs, "vrrp_garp_interval", H),
    k(GlobalDefs, "vrrp_gna_interval", H),
    k(GlobalDefs, "vrrp_min_garp", H),
    k(GlobalDefs, "vrrp_garp_extra_if", H),
    k(GlobalDefs, "vrrp_vmac_garp_intvl", H),
    k(GlobalDefs, "vrrp_lower_prio_no_advert", H),
    k(GlobalDefs, "vrrp_higher_prio_send_advert", H),
    k(GlobalDefs, "vrrp_down_timer_adverts", H),
    k(GlobalDefs, "vrrp_startup_delay", H),
    // keepalived 2.2.8+ (NEWER_KEEPALIVED).
    k(GlobalDefs, "v3_checksum_as_v2", H),
    k(GlobalDefs, "vrrp_check_unicast_src", H),
    k(GlobalDefs, "vrrp_skip_check_adv_addr", H),
    k(GlobalDefs, "vrrp_strict", H),
    k(GlobalDefs, "vrrp_iptables", FIREWALL_CFG),
    k(GlobalDefs, "vrrp_ipsets", FIREWALL_CFG),
    k(GlobalDefs, "nftables", H),
    k(GlobalDefs, "nftables_priority", H),
    k(GlobalDefs, "nftables_ifindex", FIREWALL_CFG),
    k(GlobalDefs, "nftables_counters", H),
    k(GlobalDefs, "nftables_ipvs", NFT_IPVS),
    k(GlobalDefs, "nftables_ipvs_priority", NFT_IPVS),
    k(GlobalDefs, "nftables_ipvs_start_fwmark", NFT_IPVS),
    k(GlobalDefs, "vrrp_priority", H),
    k(GlobalDefs, "vrrp_no_swap", H),
    k(GlobalDefs, "vrrp_rt_priority", H),
    k(GlobalDefs, "vrrp_cpu_affinity", H),
    k(GlobalDefs, "vrrp_rlimit_rttime", H),
    k(GlobalDefs, "vrrp_rlimit_rtime", H),
    k(GlobalDefs, "checker_priority", H),
    k(GlobalDefs, "checker_no_swap", H),
    k(GlobalDefs, "checker_rt_priority", H),
    k(GlobalDefs, "checker_cpu_affinity", H),
    k(GlobalDefs, "checker_rlimit_rttime", H),
    k(GlobalDefs, "checker_rlimit_rtime", H),
    k(GlobalDefs, "bfd_priority", SCHED),
    k(GlobalDefs, "bfd_no_swap", SCHED),
    k(GlobalDefs, "bfd_rt_priority", SCHED),
    k(GlobalDefs, "bfd_cpu_affinity", SCHED),
    k(GlobalDefs, "bfd_rlimit_rttime", SCHED),
    k(GlobalDefs, "bfd_rlimit_rtime", SCHED),
    k(GlobalDefs, "notify_fifo", H),
    k(GlobalDefs, "notify_fifo_script", H),
    k(GlobalDefs, "vrrp_notify_fifo", H),
    k(GlobalDefs, "vrrp_notify_fifo_script", H),
    k(GlobalDefs, "vrrp_notify_priority_changes", H),
    k(GlobalDefs, "fifo_write_vrrp_states_on_reload", N("after a reload vigild writes no state line for an instance whose state did not change: read the states with vigild status")),
    k(GlobalDefs, "lvs_notify_fifo", H),
    k(GlobalDefs, "lvs_notify_fifo_script", H),
    k(GlobalDefs, "checker_log_all_failures", H),
    k(GlobalDefs, "rs_init_notifies", H),
    k(GlobalDefs, "no_checker_emails", CHECKER_MAIL),
    k(GlobalDefs, "lvs_timeouts", H),
    k(GlobalDefs, "lvs_flush", H),
    k(GlobalDefs, "lvs_flush_on_stop", H),
    k(GlobalDefs, "lvs_flush_onstop", H),
    k(GlobalDefs, "lvs_sync_daemon", H),
    k(GlobalDefs, "snmp_socket", SNMP),
    k(GlobalDefs, "enable_traps", SNMP),
    k(GlobalDefs, "enable_snmp_vrrp", SNMP),
    k(GlobalDefs, "enable_snmp_keepalived", SNMP),
    k(GlobalDefs, "enable_snmp_rfc", SNMP),
    k(GlobalDefs, "enable_snmp_rfcv2", SNMP),
    k(GlobalDefs, "enable_snmp_rfcv3", SNMP),
    k(GlobalDefs, "enable_snmp_checker", SNMP),
    k(GlobalDefs, "enable_dbus", DBUS),
    k(GlobalDefs, "dbus_service_name", DBUS),
    k(GlobalDefs, "vrrp_netlink_cmd_rcv_bufs", NLBUF),
    k(GlobalDefs, "vrrp_netlink_cmd_rcv_bufs_force", NLBUF),
    k(GlobalDefs, "vrrp_netlink_monitor_rcv_bufs", NLBUF),
    k(GlobalDefs, "vrrp_netlink_monitor_rcv_bufs_force", NLBUF),
    k(GlobalDefs, "process_monitor_rcv_bufs", NLBUF),
    k(GlobalDefs, "process_monitor_rcv_bufs_force", NLBUF),
    k(GlobalDefs, "lvs_netlink_cmd_rcv_bufs", LVS_NLBUF),
    k(GlobalDefs, "lvs_netlink_cmd_rcv_bufs_force", LVS_NLBUF),
    k(GlobalDefs, "lvs_netlink_monitor_rcv_bufs", LVS_NLBUF),
    k(GlobalDefs, "lvs_netlink_monitor_rcv_bufs_force", LVS_NLBUF),
    k(GlobalDefs, "vrrp_rx_bufs_policy", RXBUF),
    k(GlobalDefs, "vrrp_rx_bufs_multiplier", RXBUF),
    k(GlobalDefs, "log_unknown_vrids", N("vigild always logs adverts for a VRID it has no instance for (rate-limited), so there is nothing to turn on")),
    k(GlobalDefs, "vmac_prefix", H),
    k(GlobalDefs, "vmac_addr_prefix", H),
    k(GlobalDefs, "umask", H),
    k(GlobalDefs, "random_seed", N("a debugging aid for keepalived's own random choices: nothing in vigild's VRRP behaviour is drawn from a seeded generator")),
    k(GlobalDefs, "reload_check_config", RELOAD),
    k(GlobalDefs, "reload_time_file", RELOAD),
    k(GlobalDefs, "reload_repeat", RELOAD),
    k(GlobalDefs, "reload_file", RELOAD),
    k(GlobalDefs, "include_check", RELOAD),
    k(GlobalDefs, "config_save_dir", RELOAD),
    k(GlobalDefs, "tmp_config_directory", RELOAD),
    k(GlobalDefs, "data_use_instance", H),
    // ---- vrrp_instance ----
    k(VrrpInstance, "state", H),
    k(VrrpInstance, "interface", H),
    k(VrrpInstance, "virtual_router_id", H),
    k(VrrpInstance, "priority", H),
    k(VrrpInstance, "advert_int", H),
    k(VrrpInstance, "version", H),
    k(VrrpInstance, "preempt", H),
    k(VrrpInstance, "nopreempt", H),
    k(VrrpInstance, "preempt_delay", H),
    k(VrrpInstance, "accept", H),
    k(VrrpInstance, "no_accept", H),
    k(VrrpInstance, "strict_mode", H),
    k(VrrpInstance, "virtual_ipaddress", H),
    k(VrrpInstance, "virtual_ipaddress_excluded", H),
    k(VrrpInstance, "virtual_routes", H),
    k(VrrpInstance, "virtual_rules", H),
    k(VrrpInstance, "unicast_src_ip", H),
    k(VrrpInstance, "unicast_peer", H),
    k(VrrpInstance, "unicast_ttl", H),
    k(VrrpInstance, "unicast_fault_no_peer", H),
    k(VrrpInstance, "check_unicast_src", H),
    k(VrrpInstance, "old_unicast_checksum", H),
    k(VrrpInstance, "mcast_src_ip", H),
    k(VrrpInstance, "mcast_dst_ip", H),
    k(VrrpInstance, "track_src_ip", N("no effect in keepalived 2.2.7 either: its address-event check compares the address with the sockaddr header and never matches, so the instance keeps running when its configured source address goes; vigild does the same")),
    k(VrrpInstance, "authentication", H),
    k(VrrpInstance, "track_interface", H),
    k(VrrpInstance, "track_script", H),
    k(VrrpInstance, "track_file", H),
    k(VrrpInstance, "track_process", H),
    k(VrrpInstance, "track_bfd", TRACK_BFD),
    k(VrrpInstance, "dont_track_primary", H),
    // keepalived 2.2.8+ (NEWER_KEEPALIVED).
    k(VrrpInstance, "no_virtual_ipaddress", H),
    k(VrrpInstance, "v3_checksum_as_v2", H),
    k(VrrpInstance, "notify", H),
    k(VrrpInstance, "notify_master", H),
    k(VrrpInstance, "notify_backup", H),
    k(VrrpInstance, "notify_fault", H),
    k(VrrpInstance, "notify_stop", H),
    k(VrrpInstance, "notify_deleted", H),
    k(VrrpInstance, "notify_master_rx_lower_pri", H),
    k(VrrpInstance, "notify_priority_changes", H),
    k(VrrpInstance, "smtp_alert", H),
    k(VrrpInstance, "garp_master_delay", H),
    k(VrrpInstance, "garp_master_repeat", H),
    k(VrrpInstance, "garp_master_refresh", H),
    k(VrrpInstance, "garp_master_refresh_repeat", H),
    k(VrrpInstance, "garp_lower_prio_delay", H),
    k(VrrpInstance, "garp_lower_prio_repeat", H),
    k(VrrpInstance, "garp_extra_if", H),
    k(VrrpInstance, "vmac_garp_intvl", H),
    k(VrrpInstance, "lower_prio_no_advert", H),
    k(VrrpInstance, "higher_prio_send_advert", H),
    k(VrrpInstance, "down_timer_adverts", H),
    k(VrrpInstance, "skip_check_adv_addr", H),
    k(VrrpInstance, "promote_secondaries", H),
    k(VrrpInstance, "use_vmac", H),
    k(VrrpInstance, "vmac_xmit_base", H),
    k(VrrpInstance, "use_vmac_addr", H),
    k(VrrpInstance, "use_ipvlan", R("ipvlan interfaces are not created: the addresses would go on the parent interface")),
    k(VrrpInstance, "vrf", R("VRFs are not honoured: keepalived binds the adverts' sockets of an instance without an interface (unicast) to this VRF device; vigild would send and hear them in the default VRF")),
    k(VrrpInstance, "native_ipv6", H),
    k(VrrpInstance, "linkbeat_use_polling", LINKBEAT),
    k(VrrpInstance, "kernel_rx_buf_size", RXBUF),
    k(VrrpInstance, "debug", N("keepalived's per-instance debug level: vigild's log detail is set for the whole daemon with -D")),
    k(VrrpInstance, "lvs_sync_daemon_interface", H),
    // ---- authentication { } ----
    k(Authentication, "auth_type", H),
    k(Authentication, "auth_pass", H),
    // ---- vrrp_sync_group ----
    k(VrrpSyncGroup, "group", H),
    k(VrrpSyncGroup, "track_interface", H),
    k(VrrpSyncGroup, "track_script", H),
    k(VrrpSyncGroup, "track_file", H),
    k(VrrpSyncGroup, "track_process", H),
    k(VrrpSyncGroup, "track_bfd", TRACK_BFD),
    k(VrrpSyncGroup, "notify", H),
    k(VrrpSyncGroup, "notify_master", H),
    k(VrrpSyncGroup, "notify_backup", H),
    k(VrrpSyncGroup, "notify_fault", H),
    k(VrrpSyncGroup, "notify_stop", H),
    k(VrrpSyncGroup, "smtp_alert", H),
    k(VrrpSyncGroup, "global_tracking", H),
    k(VrrpSyncGroup, "sync_group_tracking_weight", H),
    k(VrrpSyncGroup, "notify_priority_changes", N("priority changes are reported per instance: write notify_priority_changes in the member instances")),
    // ---- vrrp_script ----
    k(VrrpScript, "script", H),
    k(VrrpScript, "interval", H),
    k(VrrpScript, "timeout", H),
    k(VrrpScript, "weight", H),
    k(VrrpScript, "rise", H),
    k(VrrpScript, "fall", H),
    k(VrrpScript, "user", H),
    k(VrrpScript, "init_fail", H),
    // ---- track_file / vrrp_track_file ----
    k(TrackFile, "file", H),
    k(TrackFile, "weight", H),
    k(TrackFile, "init_file", H),
    // ---- vrrp_track_process (skipped whole, refused at its top-level keyword) ----
    k(VrrpTrackProcess, "process", H),
    k(VrrpTrackProcess, "param_match", H),
    k(VrrpTrackProcess, "weight", H),
    k(VrrpTrackProcess, "quorum", H),
    k(VrrpTrackProcess, "quorum_max", H),
    k(VrrpTrackProcess, "delay", H),
    k(VrrpTrackProcess, "terminate_delay", H),
    k(VrrpTrackProcess, "fork_delay", H),
    k(VrrpTrackProcess, "full_command", H),
    // ---- garp_group ----
    k(GarpGroup, "garp_interval", H),
    k(GarpGroup, "gna_interval", H),
    k(GarpGroup, "interface", H),
    k(GarpGroup, "interfaces", H),
    // ---- track_group ----
    k(TrackGroup, "group", H),
    // ---- the options of an address line ----
    k(Address, "dev", H),
    k(Address, "scope", H),
    k(Address, "brd", H),
    k(Address, "broadcast", H),
    k(Address, "label", H),
    k(Address, "no_track", H),
    k(Address, "peer", H),
    k(Address, "home", H),
    k(Address, "-nodad", H),
    k(Address, "mngtmpaddr", H),
    k(Address, "noprefixroute", H),
    k(Address, "autojoin", H),
    k(Address, "preferred_lft", H),
    k(Address, "track_group", H),
    k(Address, "use_vmac", H),
    // ---- the words of a route line ----
    k(Route, "to", H),
    k(Route, "default", H),
    k(Route, "src", H),
    k(Route, "from", H),
    k(Route, "via", H),
    k(Route, "gw", H),
    k(Route, "dev", H),
    k(Route, "oif", H),
    k(Route, "table", H),
    k(Route, "metric", H),
    k(Route, "priority", H),
    k(Route, "preference", H),
    k(Route, "scope", H),
    k(Route, "blackhole", H),
    k(Route, "unreachable", H),
    k(Route, "prohibit", H),
    k(Route, "throw", H),
    k(Route, "no_track", H),
    k(Route, "track_group", H),
    k(Route, "or", H),
    k(Route, "nexthop", H),
    k(Route, "onlink", H),
    k(Route, "mtu", H),
    k(Route, "hoplimit", H),
    k(Route, "advmss", H),
    k(Route, "rtt", H),
    k(Route, "rttvar", H),
    k(Route, "reordering", H),
    k(Route, "window", H),
    k(Route, "cwnd", H),
    k(Route, "ssthresh", H),
    k(Route, "realms", H),
    k(Route, "rto_min", H),
    k(Route, "initcwnd", H),
    k(Route, "initrwnd", H),
    k(Route, "features", H),
    k(Route, "quickack", H),
    k(Route, "congctl", H),
    k(Route, "pref", H),
    k(Route, "fastopen_no_cookie", H),
    k(Route, "encap", H),
    k(Route, "protocol", H),
    k(Route, "tos", H),
    k(Route, "dsfield", H),
    k(Route, "expires", H),
    k(Route, "ttl-propagate", H),
    k(Route, "vrf", R("VRFs are not honoured: keepalived puts the route in the VRF device's routing table; vigild would put it in the main table")),
    // ---- the words of a rule line ----
    k(Rule, "from", H),
    k(Rule, "to", H),
    k(Rule, "not", H),
    k(Rule, "table", H),
    k(Rule, "lookup", H),
    k(Rule, "priority", H),
    k(Rule, "preference", H),
    k(Rule, "order", H),
    k(Rule, "tos", H),
    k(Rule, "dsfield", H),
    k(Rule, "fwmark", H),
    k(Rule, "realms", H),
    k(Rule, "suppress_prefixlength", H),
    k(Rule, "sup_pl", H),
    k(Rule, "suppress_ifgroup", H),
    k(Rule, "sup_group", H),
    k(Rule, "dev", H),
    k(Rule, "iif", H),
    k(Rule, "oif", H),
    k(Rule, "tunnel-id", H),
    k(Rule, "uidrange", H),
    k(Rule, "l3mdev", H),
    k(Rule, "protocol", H),
    k(Rule, "ipproto", H),
    k(Rule, "sport", H),
    k(Rule, "dport", H),
    k(Rule, "no_track", H),
    k(Rule, "type", H),
    k(Rule, "goto", H),
    k(Rule, "nop", H),
    k(Rule, "blackhole", H),
    k(Rule, "unreachable", H),
    k(Rule, "prohibit", H),
    k(Rule, "track_group", H),
];

/// Sections that the parser skips whole: the class of every keyword inside is the class of the
/// top-level keyword that opens it.
pub const SKIPPED_SECTIONS: &[(Section, &str)] = &[];

/// `(honoured, noted, refused)` counts of the table.
pub fn counts() -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for k in KEYWORDS {
        match k.class {
            Class::Honoured => c.0 += 1,
            Class::Noted(_) => c.1 += 1,
            Class::Refused(_) => c.2 += 1,
        }
    }
    c
}

#[cfg(test)]
#[path = "keywords_tests.rs"]
mod tests;
