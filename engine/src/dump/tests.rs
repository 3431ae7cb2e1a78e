//! The VRRP dump against lines that keepalived 2.2.7 printed for the same input (`keepalived -n
//! -l -D -d -P -f FILE` in a namespace whose interfaces are down; the run-time lines left out).

use super::*;
use std::net::Ipv4Addr;

/// A system where eth0 has 192.0.2.11 and index 3, programs live in /usr/bin and everyone is root.
struct Lab;

impl DumpEnv for Lab {
    fn source_address(&self, interface: &str, family: Family) -> Option<IpAddr> {
        (interface == "eth0" && family == Family::V4)
            .then_some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)))
    }
    fn ifindex(&self, interface: &str) -> Option<u32> {
        (interface == "eth0").then_some(3)
    }
    fn program(&self, argv0: &str) -> String {
        argv0.replace("/bin/", "/usr/bin/")
    }
    fn uid_gid(&self, _run_as: Option<&RunAs>) -> Option<(u32, u32)> {
        Some((0, 0))
    }
}

fn dump(text: &str) -> String {
    let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
    dump_vrrp(&cfg, &Lab).unwrap_or_else(|e| panic!("{e}"))
}

/// Every line of `expected` appears in `got`, in order.
fn assert_lines_in_order(got: &str, expected: &str) {
    let mut rest = got.lines();
    for want in expected
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
    {
        assert!(
            rest.any(|l| l == want),
            "line {want:?} missing (or out of order) in:\n{got}"
        );
    }
}

/// keepalived's sample `keepalived.conf.vrrp`, instance VI_1 (its lines as keepalived printed
/// them, without the sample's second `192.168.200.18` with a label, which Vigil merges into the
/// first; and less `Flags`, `Number of config faults`, `Accept`, `Promote_secondaries`,
/// `No sockets allocated` and `Notify priority changes`).
#[test]
fn the_sample_instance_dumps_as_keepalived_does() {
    let got = dump(
        "global_defs {\n notification_email {\n acassen\n }\n\
         notification_email_from Alexandre.Cassen@firewall.loc\n smtp_server 192.168.200.1\n\
         smtp_connect_timeout 30\n router_id LVS_DEVEL\n}\n\
         vrrp_instance VI_1 {\n state MASTER\n interface eth0\n garp_master_delay 10\n smtp_alert\n\
         virtual_router_id 51\n priority 100\n advert_int 1\n\
         authentication {\n auth_type PASS\n auth_pass 1111\n }\n\
         virtual_ipaddress {\n 192.168.200.16\n 192.168.200.17\n 192.168.200.18\n }\n}\n",
    );
    assert_lines_in_order(
        &got,
        "------< Global definitions >------
 Router ID = LVS_DEVEL
 Smtp server = 192.168.200.1
 Smtp server port = 25
 Smtp server connection timeout = 30
 Email notification from = Alexandre.Cassen@firewall.loc
 Email notification to:
   acassen
 Default smtp_alert = unset
 Dynamic interfaces = false
 Gratuitous ARP delay = 5
 Gratuitous ARP repeat = 5
 Gratuitous ARP refresh timer = 0
 Gratuitous ARP refresh repeat = 1
 Gratuitous ARP lower priority delay = 5
 Gratuitous ARP lower priority repeat = 5
 Num adverts before down = 3
 Send advert after receive lower priority advert = true
 Gratuitous ARP interval = 0.000000
 Gratuitous NA interval = 0.000000
 VRRP default protocol version = 2
 VRRP check unicast_src = false
 VRRP skip check advert addresses = false
 Script security disabled
 Default script uid:gid 0:0
------< VRRP Topology >------
 VRRP Instance = VI_1
   VRRP Version = 2
   Interface = eth0
   Using src_ip = 192.0.2.11
   Multicast address 224.0.0.18
   Gratuitous ARP delay = 10
   Gratuitous ARP repeat = 5
   Gratuitous ARP refresh = 0
   Gratuitous ARP refresh repeat = 1
   Gratuitous ARP lower priority delay = 5
   Gratuitous ARP lower priority repeat = 5
   Down timer adverts = 3
   Send advert after receive lower priority advert = true
   Virtual Router ID = 51
   Priority = 100
   Advert interval = 1 sec
   Preempt = enabled
   Authentication type = SIMPLE_PASSWORD
   Password = 1111
   Virtual IP (3):
     192.168.200.16 dev eth0 scope global
     192.168.200.17 dev eth0 scope global
     192.168.200.18 dev eth0 scope global
   Using smtp notification = yes
   Notify deleted = Fault
",
    );
}

/// Version 3, a configured source, excluded addresses, routes, scripts, track files, a sync
/// group and notify scripts: keepalived's lines for the same file.
#[test]
fn a_v3_instance_with_trackers_routes_and_a_sync_group() {
    let got = dump(
        "global_defs {\n vrrp_garp_master_refresh 30\n vrrp_version 3\n}\n\
         vrrp_script chk {\n script \"/bin/true\"\n interval 2\n weight -20\n rise 2\n fall 3\n}\n\
         track_file tf {\n file /tmp/tf\n weight 5\n}\n\
         vrrp_sync_group G {\n group { A }\n notify_master \"/bin/true m\"\n\
         track_interface { eth3 }\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 150\n\
         advert_int 0.5\n nopreempt\n mcast_src_ip 192.0.2.11\n\
         track_interface { eth1 weight 7\n eth2 }\n\
         virtual_ipaddress { 192.0.2.100/24 brd 192.0.2.255 dev eth1 scope link label eth1:v\n\
         192.0.2.101 }\n virtual_ipaddress_excluded { 198.51.100.7/24 }\n\
         virtual_routes { 203.0.113.0/24 via 192.0.2.1 dev eth0\n blackhole 198.51.100.128/25 }\n\
         notify_master \"/bin/true master\"\n notify \"/bin/true generic\"\n smtp_alert\n\
         garp_master_delay 2\n garp_master_repeat 3\n garp_lower_prio_repeat 2\n}\n\
         vrrp_instance B {\n interface eth0\n virtual_router_id 2\n\
         track_script { chk }\n track_file { tf weight -3 }\n\
         unicast_src_ip 192.0.2.11\n unicast_peer { 192.0.2.12 min_ttl 250\n 192.0.2.13 }\n\
         virtual_ipaddress { 192.0.2.200/24 }\n notify_deleted\n}\n",
    );
    assert_lines_in_order(
        &got,
        " VRRP Instance = A
   VRRP Version = 3
   Sync group = G
   Interface = eth0
   Using src_ip = 192.0.2.11 (from configuration)
   Multicast address 224.0.0.18
   Gratuitous ARP delay = 2
   Gratuitous ARP repeat = 3
   Gratuitous ARP refresh = 30
   Gratuitous ARP refresh repeat = 1
   Gratuitous ARP lower priority delay = 5
   Gratuitous ARP lower priority repeat = 2
   Down timer adverts = 3
   Virtual Router ID = 1
   Priority = 150
   Advert interval = 500 milli-sec
   Preempt = disabled
   Virtual IP (2):
     192.0.2.100/24 brd 192.0.2.255 dev eth1 scope link label eth1:v
     192.0.2.101 dev eth0 scope global
   Virtual IP Excluded :
     198.51.100.7/24 dev eth0 scope global
   Virtual Routes :
     prepend 203.0.113.0/24 via inet 192.0.2.1 dev eth0 proto 18
     add blackhole 198.51.100.128/25 proto 18 no_track
   Tracked interfaces :
     eth1 weight 0
     eth2 weight 0
   Using smtp notification = yes
   Notify deleted = Fault
   Master state transition script = '/usr/bin/true' 'master', uid:gid 0:0
   Generic state transition script = '/usr/bin/true' 'generic', uid:gid 0:0
 VRRP Instance = B
   VRRP Version = 3
   Flags:
     Using unicast
   Using src_ip = 192.0.2.11 (from configuration)
   Check unicast src : yes
   Unicast Peer :
     192.0.2.12 min_ttl 250 max_ttl 255
     192.0.2.13 min_ttl 0 max_ttl 255
   Tracked scripts :
     chk weight -20
   Tracked files :
     tf, weight -3
   Notify deleted = Deleted
------< VRRP Sync groups >------
 VRRP Sync Group = G
   VRRP member instances :
     A
   Using smtp notification = no
   Tracked interfaces :
     eth3 weight 0
   Master state transition script = '/usr/bin/true' 'm', uid:gid 0:0
------< VRRP Scripts >------
 VRRP Script = chk
   Command = '/usr/bin/true'
   Interval = 2 sec
   Weight = -20
   Rise = 2
   Fall = 3
   Init state = INIT
   Script uid:gid = 0:0
   VRRP instances :
   Tracking instances :
     B, weight -20
------< VRRP Track files >------
 Track file = tf
   File = /tmp/tf
   Weight = 5
   Tracking instances :
     B, weight -3
",
    );
    // The multicast group is not printed for a unicast instance.
    let b = got.split(" VRRP Instance = B").nth(1).unwrap_or_default();
    let b = b.split("------<").next().unwrap_or_default();
    assert!(!b.contains("Multicast address"), "{b}");
}

#[test]
fn ipv6_instances_name_the_group_s_interface_and_the_lifetime() {
    let got = dump(
        "vrrp_instance B6 {\n interface eth0\n virtual_router_id 2\n\
         virtual_ipaddress { 2001:db8::100/64 }\n preempt_delay 2.5\n}\n",
    );
    assert_lines_in_order(
        &got,
        " VRRP Instance = B6
   VRRP Version = 3
   Using Native IPv6
   Flags: none
   Wantstate = BACKUP
   Interface = eth0
   Using src_ip = (none)
   Multicast address ff02::12, ifindex 3
   Advert interval = 1000 milli-sec
   Preempt = enabled
   Preempt delay = 2.5 secs
   Virtual IP (1):
     2001:db8::100/64 dev eth0 scope global preferred_lft forever
",
    );
    assert!(
        !got.contains("Authentication type"),
        "v3 has no authentication line"
    );
}

#[test]
fn the_address_owner_wants_master_and_a_vmac_shows_its_interface() {
    let got = dump(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 7\n priority 255\n use_vmac\n\
         virtual_ipaddress { 192.0.2.7/24 }\n}\n",
    );
    assert_lines_in_order(
        &got,
        "   Wantstate = MASTER
   Use VMAC, i/f name vrrp.7, is_up = true, xmit_base = false
   Interface = vrrp.7, vmac on eth0
     192.0.2.7/24 dev vrrp.7@eth0 scope global
",
    );
}

#[test]
fn static_addresses_and_routes_and_percent_g() {
    let got = dump(
        "static_ipaddress {\n 198.51.100.50/24 dev eth1\n}\n\
         static_routes {\n 203.0.113.0/24 via 198.51.100.1 dev eth1 metric 5\n}\n",
    );
    assert_lines_in_order(
        &got,
        "------< Static Addresses >------
     198.51.100.50/24 dev eth1 scope global
------< Static Routes >------
     prepend 203.0.113.0/24 via inet 198.51.100.1 dev eth1 proto 18 metric 5
",
    );
    assert_eq!(g_format(Duration::from_millis(100)), "0.1");
    assert_eq!(g_format(Duration::from_secs(12)), "12");
}

#[test]
fn a_configuration_that_does_not_convert_is_an_error() {
    let cfg = conf::parse_str(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
         authentication { auth_type AH\n auth_pass x }\n virtual_ipaddress { 192.0.2.1 }\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(dump_vrrp(&cfg, &NoEnv).is_err());
}

/// The settings issue 15 made Vigil honour, as keepalived 2.2.7 printed them for the same file
/// (`keepalived -n -l -D -d -P`, run-time lines left out).
#[test]
fn groups_firewall_strict_mode_and_checksum_forms_dump_as_keepalived_does() {
    let got = dump(
        "global_defs {\n vrrp_mcast_group4 224.0.0.19\n vrrp_higher_prio_send_advert\n\
         nftables vigiltab\n nftables_priority -5\n nftables_counters\n\
         vrrp_notify_priority_changes\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 9\n priority 100\n version 3\n\
         no_accept\n dont_track_primary\n unicast_peer {\n 192.0.2.12\n }\n\
         old_unicast_checksum\n virtual_ipaddress {\n 192.0.2.9/24\n }\n}\n\
         vrrp_instance B {\n interface eth0\n virtual_router_id 10\n priority 100\n\
         mcast_dst_ip 224.0.0.20\n strict_mode\n virtual_ipaddress {\n 192.0.2.10/24\n }\n}\n",
    );
    assert_lines_in_order(
        &got,
        " VRRP notify priority changes = true
 VRRP IPv4 mcast group = 224.0.0.19
 VRRP IPv6 mcast group = ff02::12
 Send advert after receive higher priority advert = true
 nftables table name = vigiltab
 nftables base chain priority = -5
 nftables don't force use ifindex for link local IPv6
 nftables with counters
 VRRP strict mode = false
 VRRP Instance = A
   VRRP interface tracking disabled
   Send advert after receive higher priority advert = true
   Accept = disabled
   Promote_secondaries = disabled
   Unicast TTL = 255
   Unicast Peer :
   Unicast checksum compatibility = config
   Notify priority changes = true
 VRRP Instance = B
   Enforcing strict VRRP compliance
   Multicast address 224.0.0.20
   Send advert after receive higher priority advert = false
   Accept = disabled
   Promote_secondaries = disabled
   Notify priority changes = true
",
    );
}

/// A file with no no_accept, strict mode or nftables line: keepalived 2.2.7 prints no table, the
/// counters line, and the RFC groups.
#[test]
fn no_firewall_and_the_rfc_groups_by_default() {
    let got = dump(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 9\n\
         virtual_ipaddress {\n 192.0.2.9/24\n }\n}\n",
    );
    assert!(!got.contains("nftables table name"), "{got}");
    assert_lines_in_order(
        &got,
        " VRRP IPv4 mcast group = 224.0.0.18
 VRRP IPv6 mcast group = ff02::12
 nftables without counters
 VRRP strict mode = false
   Multicast address 224.0.0.18
   Accept = enabled
",
    );
}

/// Routes with `encap` and `ttl-propagate`: the lines keepalived 2.2.7 printed for this file
/// (`keepalived -d`, x86-64, 2026-12-03): labels as label stack entries in hex, the ILA locator
/// as its network-order memory read as a host number.
#[test]
fn encap_routes_dump_as_keepalived_does() {
    let got = dump(
        "static_routes {\n 192.0.2.128/25 dev eth1 encap ip id 7 dst 203.0.113.1 src 198.51.100.1 tos 4 ttl 9 flags 1 no_track\n}\n\
         vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_routes {\n \
         203.0.113.0/25 dev eth0 encap ip dst 198.51.100.9 ttl-propagate enabled\n \
         2001:db8:1::/64 dev eth0 encap ip6 id 5 dst 2001:db8::99 src 2001:db8::1 tc 8 hoplimit 3 flags 2\n \
         198.51.100.0/26 dev eth0 encap mpls 100/200 ttl-propagate disabled\n \
         2001:db8:2::/64 dev eth0 encap ila 2001:0:0:1\n \
         198.51.100.64/26 nexthop via 192.0.2.201 dev eth0 encap ip dst 203.0.113.2 weight 2 nexthop via 192.0.2.202 dev eth0 encap mpls 16\n \
         }\n virtual_ipaddress {\n 192.0.2.100/24\n }\n}\n",
    );
    let ila = if cfg!(target_endian = "little") {
        "     prepend 2001:db8:2::/64 encap ila 72057594037928224 dev eth0 proto 18"
    } else {
        "     prepend 2001:db8:2::/64 encap ila 2305843009213693953 dev eth0 proto 18"
    };
    assert_lines_in_order(
        &got,
        &format!("------< Static Routes >------
     prepend 192.0.2.128/25 encap ip id 7 dst 203.0.113.1 src 198.51.100.1 tos 4 ttl 9 flags 0x1 dev eth1 no_track
   Virtual Routes :
     prepend 203.0.113.0/25 encap ip dst 198.51.100.9 dev eth0 proto 18 ttl-propagate enabled
     prepend 2001:db8:1::/64 encap ip6 id 5 dst 2001:db8::99 src 2001:db8::1 tc 8 hoplimit 3 flags 0x2 dev eth0 proto 18
     prepend 198.51.100.0/26 encap mpls 64000/c8100 dev eth0 proto 18 ttl-propagate disabled
{ila}
     prepend 198.51.100.64/26 proto 18 nexthop via inet 192.0.2.201 dev eth0 weight 2 encap ip dst 203.0.113.2 nexthop via inet 192.0.2.202 dev eth0 encap mpls 10100 no_track
"),
    );
}

/// keepalived 2.2.7's "Gratuitous ARP delays" for two garp_group blocks and the global
/// intervals, printed by `keepalived -d` in a namespace where eth1, eth0, eth3, eth2, eth5, eth4
/// have indexes 2 to 7 (less the run-time `GARP next time` / `GNA next time` lines): the blocks
/// in file order (an `interfaces` block is group 1, an `interface` one group 0), their
/// interfaces in index order, then one default group per other interface the instances use
/// (A's eth0 and its address's eth4; eth3 and B's eth1 are in blocks).
#[test]
fn garp_delay_groups_dump_as_keepalived_does() {
    struct Indexes;
    impl DumpEnv for Indexes {
        fn ifindex(&self, interface: &str) -> Option<u32> {
            ["eth1", "eth0", "eth3", "eth2", "eth5", "eth4"]
                .iter()
                .position(|n| *n == interface)
                .map(|k| k as u32 + 2)
        }
    }
    let text = "global_defs {\n router_id t\n vrrp_garp_interval 0.25\n vrrp_gna_interval 0.5\n}\n\
        garp_group {\n garp_interval 0.1\n interfaces {\n eth2\n eth1\n }\n}\n\
        garp_group {\n gna_interval 0.002\n interface eth3\n}\n\
        vrrp_instance A {\n interface eth0\n virtual_router_id 51\n priority 100\n\
        virtual_ipaddress {\n 192.0.2.100/24\n 198.51.100.1/24 dev eth3\n 203.0.113.1/24 dev eth4\n }\n}\n\
        vrrp_instance B {\n interface eth1\n virtual_router_id 52\n priority 100\n\
        virtual_ipaddress {\n 192.0.2.101/24\n }\n}\n";
    let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
    let got = dump_vrrp(&cfg, &Indexes).unwrap_or_else(|e| panic!("{e}"));
    let want = "
 Gratuitous ARP interval = 0.250000
 Gratuitous NA interval = 0.500000
------< Gratuitous ARP delays >------
------< GARP delay group 1 >------
 GARP interval = 0.1
 Interfaces
  eth1
  eth2
------< GARP delay group 0 >------
 GNA interval = 0.002
 Interfaces
  eth3
------< GARP delay group 0 >------
 GARP interval = 0.25
 GNA interval = 0.5
 Interfaces
  eth0
------< GARP delay group 0 >------
 GARP interval = 0.25
 GNA interval = 0.5
 Interfaces
  eth4
------< VRRP Topology >------
";
    assert_lines_in_order(&got, want);
    let section: Vec<&str> = got
        .lines()
        .skip_while(|l| *l != "------< Gratuitous ARP delays >------")
        .take_while(|l| *l != "------< VRRP Topology >------")
        .collect();
    assert_eq!(section.len(), 20, "nothing else in the section:\n{got}");
}

/// No gate configured: no section (keepalived prints it only when its list is not empty).
#[test]
fn no_gate_no_garp_delay_section() {
    let got = dump(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n\
         virtual_ipaddress {\n 192.0.2.100/24\n }\n}\n",
    );
    assert!(!got.contains("Gratuitous ARP delays"), "{got}");
    assert!(!got.contains("GARP delay group"), "{got}");
}

/// The IPVS-wide settings as keepalived 2.2.7's VRRP process prints them (dump_global_data:
/// the timeouts before `Default interface`, the UDP one under keepalived's "LVS TCP timeout"
/// label; the sync daemon after `Disable local IGMP`, its instance resolved and its sync id
/// filled in; then `LVS flush` and `LVS flush on stop`).
#[test]
fn the_lvs_globals_dump_as_keepalived_s_vrrp_process_does() {
    let got = dump(
        "global_defs {\n lvs_flush\n lvs_flush_on_stop VS\n lvs_timeouts tcp 900 tcpfin 120 udp 300\n\
         lvs_sync_daemon eth1 VI_1 maxlen 1400 port 8848 ttl 2 group 239.0.2.81\n}\n\
         vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n\
         virtual_ipaddress {\n 192.0.2.100/24\n }\n}\n",
    );
    assert_lines_in_order(
        &got,
        " Dynamic interfaces = false
 LVS TCP timeout = 900
 LVS TCP FIN timeout = 120
 LVS TCP timeout = 300
 Disable local IGMP = no
 LVS syncd vrrp instance = VI_1
 LVS syncd interface = eth1
 LVS syncd syncid = 51
 LVS syncd maxlen = 1400
 LVS mcast group 239.0.2.81
 LVS syncd mcast port = 8848
 LVS syncd mcast ttl = 2
 LVS flush = true
 LVS flush on stop = VS
",
    );
    let got = dump(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n\
         virtual_ipaddress {\n 192.0.2.100/24\n }\n}\n",
    );
    assert_lines_in_order(&got, " LVS flush = false\n LVS flush on stop = disabled\n");
}

/// keepalived 2.2.7's "Interfaces" part (vrrp_if.c `dump_if`), printed by `keepalived -d` in a
/// namespace with lo, eth0 (two IPv4 addresses), eth1 and a macvlan mv0 on eth0, less the
/// run-time lines (`Delayed state change running`, `Reset ARP config counter`): the up/down
/// delays bounded by the instance's interval (eth0's 2 s down delay is not below 2 x 1 s: 2 s
/// less 1/256 s), the gates (the group's mv0 ignored), promote_secondaries counted, and eth1,
/// tracked with weight 10 but holding a virtual address, tracked unweighted.
// Long: keepalived's printed lines for four interfaces, verbatim, and the fake kernel behind them.
#[test]
fn the_interfaces_dump_as_keepalived_does() {
    struct Kernel;
    impl DumpEnv for Kernel {
        fn links(&self) -> Vec<SystemLink> {
            let eth = |name: &str, index, mac: [u8; 6], v4: &[Ipv4Addr], ll: &str| SystemLink {
                name: name.into(),
                index,
                ipv4: v4.to_vec(),
                ipv6: vec![ll.parse().unwrap()],
                mac: mac.to_vec(),
                broadcast: vec![0xff; 6],
                flags: 0x1 | 0x2 | 0x40 | 0x1000,
                mtu: 1500,
                hw_type: 1,
                ..SystemLink::default()
            };
            let mut mv0 = eth(
                "mv0",
                6,
                [0x2a, 0x84, 0xba, 0x09, 0x84, 0x1e],
                &[],
                "fe80::2884:baff:fe09:841e",
            );
            mv0.vlan = Some(VlanLink {
                vlan_type: "bridge".into(),
                base: 3,
                ..VlanLink::default()
            });
            vec![
                SystemLink {
                    name: "lo".into(),
                    index: 1,
                    ipv4: vec![Ipv4Addr::LOCALHOST],
                    mac: vec![0; 6],
                    broadcast: vec![0; 6],
                    flags: 0x1 | 0x8 | 0x40,
                    mtu: 65536,
                    hw_type: 772,
                    ..SystemLink::default()
                },
                eth(
                    "eth0",
                    3,
                    [0x16, 0xe3, 0x00, 0x58, 0x5e, 0xdc],
                    &[Ipv4Addr::new(192, 0, 2, 11), Ipv4Addr::new(192, 0, 2, 12)],
                    "fe80::14e3:ff:fe58:5edc",
                ),
                eth(
                    "eth1",
                    5,
                    [0x12, 0xb7, 0x3a, 0x9e, 0x4e, 0x4f],
                    &[Ipv4Addr::new(198, 51, 100, 11)],
                    "fe80::10b7:3aff:fe9e:4e4f",
                ),
                mv0,
            ]
        }
    }
    let text = "global_defs {\n router_id t\n vrrp_garp_interval 0.25\n}\n\
        interface_up_down_delays {\n eth0 2 1\n eth1 5\n}\n\
        garp_group {\n gna_interval 0.1\n interfaces {\n eth1\n }\n}\n\
        vrrp_instance A {\n interface eth0\n virtual_router_id 51\n priority 100\n\
        track_interface {\n eth1 weight 10\n }\n\
        virtual_ipaddress {\n 192.0.2.100/24\n 198.51.100.100/24 dev eth1\n }\n promote_secondaries\n}\n";
    let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
    let got = dump_vrrp(&cfg, &Kernel).unwrap_or_else(|e| panic!("{e}"));
    let interfaces = &got[got.find("------< Interfaces >------").expect("the part")..];
    assert_eq!(
        interfaces,
        "------< Interfaces >------
 Name = lo
   index = 1
   IPv4 address = 127.0.0.1
   IPv6 address = (none)
   State = UP, RUNNING, no broadcast, loopback, no multicast
   Seen up = 1
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 65536
   HW Type = LOOPBACK
   NIC netlink status update
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
 Name = eth0
   index = 3
   IPv4 address = 192.0.2.11
   Additional IPv4 addresses :
     192.0.2.12
   IPv6 address = fe80::14e3:ff:fe58:5edc
   MAC = 16:e3:00:58:5e:dc
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Up debounce timer = 1000000us
   Down debounce timer = 1996094us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Gratuitous ARP interval 250ms
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 1
   Tracking VRRP instances :
     A, weight 0
 Name = eth1
   index = 5
   IPv4 address = 198.51.100.11
   IPv6 address = fe80::10b7:3aff:fe9e:4e4f
   MAC = 12:b7:3a:9e:4e:4f
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Up debounce timer = 0us
   Down debounce timer = 5000000us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Gratuitous NA interval 100ms
   Gratuitous ARP aggregation group 1
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
   Tracking VRRP instances :
     A, weight 0
 Name = mv0
   index = 6
   IPv4 address = (none)
   IPv6 address = fe80::2884:baff:fe09:841e
   MAC = 2a:84:ba:09:84:1e
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Up debounce timer = 0us
   Down debounce timer = 0us
   VMAC type bridge, underlying interface = eth0, state = UP, RUNNING
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
"
    );
    // The engine follows eth1 unweighted: down means FAULT, as in keepalived.
    let e = EngineConfig::from_conf(&cfg)
        .unwrap_or_else(|e| panic!("{e}"))
        .engine;
    assert_eq!(
        e.instances[0].track,
        [Track {
            target: TrackTarget::Interface("eth1".into()),
            weight: 0,
            reverse: false
        }]
    );
    // Without the kernel's interfaces (a test's environment) there is no Interfaces part.
    assert!(!dump(text).contains("------< Interfaces >------"));
}

/// keepalived 2.2.7 `init_global_data`: without `router_id` the local name (the resolver's
/// canonical host name) or `[unknown]`; with an `smtp_server`, the HELO name and the sender
/// (`USER@LOCALNAME`) default only when the local name is known.
#[test]
fn router_id_helo_and_sender_default_to_the_local_name_or_nothing() {
    struct Named;
    impl DumpEnv for Named {
        fn local_name(&self) -> Option<String> {
            Some("lb1.example.net".into())
        }
        fn default_email_from(&self) -> Option<String> {
            Some("root@lb1.example.net".into())
        }
    }
    let text = "global_defs {\n  smtp_server 192.0.2.25\n  notification_email {\n    ops@example.net\n  }\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    192.0.2.100\n  }\n}\n";
    let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
    let named = dump_vrrp(&cfg, &Named).unwrap_or_else(|e| panic!("{e}"));
    assert_lines_in_order(
        &named,
        " Router ID = lb1.example.net\n Smtp HELO name = lb1.example.net\n Email notification from = root@lb1.example.net\n",
    );
    let unknown = dump_vrrp(&cfg, &NoEnv).unwrap_or_else(|e| panic!("{e}"));
    assert!(unknown.contains(" Router ID = [unknown]\n"), "{unknown}");
    assert!(!unknown.contains("Smtp HELO name"), "{unknown}");
    assert!(!unknown.contains("Email notification from"), "{unknown}");
}
