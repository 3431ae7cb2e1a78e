//! Unicast settings live, against keepalived 2.2.7 in the same test (issue 15, section 6).
//!
//! `unicast_fault_no_peer`: an instance with a unicast setting (`unicast_src_ip`) and no
//! `unicast_peer` stays in FAULT, holding no address, as keepalived does (vrrp.c,
//! `vrrp_complete_instance`: "Cannot use unicast without any peers - going to fault state");
//! without the keyword both run it over multicast and become MASTER alone.
//!
//! Each scenario runs keepalived and vigild one after the other on host 1 of a fresh lab with
//! the same file, and the outcomes must be equal. Waits are bounded; nothing is timed.

use std::time::Duration;

use vigil_tests::netns::{self, host_v4, keepalived_conf, vip4, Instance, Kind, Lab};

/// What the daemon did with the instance.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// It reported the instance in FAULT.
    fault: bool,
    /// It held the virtual address at the end of the wait.
    holds_vip: bool,
    /// The states its `notify` script was called with, in order.
    notified: Vec<String>,
}

fn in_fault(lab: &Lab, kind: Kind, node: usize) -> bool {
    match kind {
        // keepalived logs no "Entering FAULT STATE" for an instance that starts in FAULT.
        Kind::Keepalived => {
            let log = lab.node_ref(node).log_text();
            log.contains("Entering FAULT STATE") || log.contains("going to fault state")
        }
        Kind::Vigil => lab
            .vigild_status(node)
            .lines()
            .any(|l| l.starts_with("VI_1:") && l.contains("FAULT")),
    }
}

fn peerless(kind: Kind, fault_no_peer: bool) -> Outcome {
    let mut lab = Lab::new(if fault_no_peer { "ufnp" } else { "unp" }, 1);
    let mut inst = Instance::v4(3, 100, "1");
    inst.unicast_src = Some(host_v4(1).into());
    let states = lab.dir.join("states");
    let notify = lab.write(
        "notify.sh",
        &format!("#!/bin/sh\necho \"$3\" >> {}\n", states.display()),
    );
    netns::must(&["chmod", "755", &notify.to_string_lossy()]);
    let mut conf = keepalived_conf(&[inst]).replace(
        "  virtual_ipaddress {",
        &format!("  notify {}\n  virtual_ipaddress {{", notify.display()),
    );
    if fault_no_peer {
        conf = conf.replace(
            "  virtual_ipaddress {",
            "  unicast_fault_no_peer\n  virtual_ipaddress {",
        );
    }
    let node = lab.start(kind, 1, &conf);
    let outcome = if fault_no_peer {
        let fault = netns::wait_until(Duration::from_secs(15), || in_fault(&lab, kind, node));
        // Longer than a Master_Down_Interval (3.6 s): a peerless instance that ran over
        // multicast would have taken the address by then.
        std::thread::sleep(Duration::from_secs(5));
        Outcome {
            fault,
            holds_vip: lab.has(1, vip4()),
            notified: Vec::new(),
        }
    } else {
        let holds_vip = lab.wait_sole_holder(vip4(), 1, Duration::from_secs(15));
        Outcome {
            fault: in_fault(&lab, kind, node),
            holds_vip,
            notified: Vec::new(),
        }
    };
    // Let a notify program started last finish writing.
    std::thread::sleep(Duration::from_millis(500));
    let mut outcome = outcome;
    outcome.notified = std::fs::read_to_string(&states)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    println!(
        "unicast settings without a peer ({kind:?}, unicast_fault_no_peer {fault_no_peer}): {outcome:?}\n  log:\n{}",
        lab.node_ref(node)
            .log_text()
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    lab.node(node).terminate();
    outcome
}

#[test]
fn unicast_fault_no_peer_keeps_a_peerless_instance_in_fault_as_keepalived_does() {
    if !netns::require_root() {
        return;
    }
    let ka = peerless(Kind::Keepalived, true);
    let vg = peerless(Kind::Vigil, true);
    assert_eq!(vg, ka, "vigild must do what keepalived does");
    assert_eq!(
        ka,
        Outcome {
            fault: true,
            holds_vip: false,
            notified: vec!["FAULT".into()],
        },
        "keepalived 2.2.7 holds the instance in FAULT"
    );
}

#[test]
fn without_unicast_fault_no_peer_a_peerless_instance_runs_multicast_as_keepalived_does() {
    if !netns::require_root() {
        return;
    }
    let ka = peerless(Kind::Keepalived, false);
    let vg = peerless(Kind::Vigil, false);
    assert_eq!(vg, ka, "vigild must do what keepalived does");
    assert_eq!(
        ka,
        Outcome {
            fault: false,
            holds_vip: true,
            notified: vec!["BACKUP".into(), "MASTER".into()],
        },
        "keepalived 2.2.7 runs it over multicast"
    );
}
