//! Resolving scenarios: templates, errors, injections, TOML round trips, flaps.
use super::*;

const MINI: &str = r#"
name = "mini"
duration = "10s"
[[instances]]
name = "VI_1"
vips = ["192.0.2.100/24"]
[[nodes]]
name = "r1"
priority = 150
[[nodes]]
name = "r2"
[[nodes.instances]]
name = "VI_1"
preempt = false
[[faults]]
at = "5s"
do = "crash"
node = "r1"
[[expect]]
at = "4s"
master = "r1"
"#;

#[test]
fn templates_defaults_and_overrides_resolve() {
    let s = Scenario::from_toml(MINI).unwrap();
    let p = s.plan().unwrap();
    assert_eq!(p.nodes.len(), 2);
    let r1 = &p.nodes[0].config.instances[0];
    let r2 = &p.nodes[1].config.instances[0];
    assert_eq!((r1.priority, r1.preempt), (150, true));
    assert_eq!((r2.priority, r2.preempt), (100, false));
    assert_eq!(r1.virtual_addresses[0].prefix_len, 24);
    assert_eq!(
        p.nodes[1].ifaces[0].ipv4,
        Some(Ipv4Addr::new(192, 0, 2, 12))
    );
    assert_eq!(p.faults[0].action, FaultAction::Crash(0));
    assert_eq!(
        p.expects[0].0,
        Expect::Master {
            at: 4_000_000_000,
            instance: "VI_1".into(),
            master: Some(0)
        }
    );
}

#[test]
fn errors_name_the_problem() {
    let bad = MINI.replace("node = \"r1\"", "node = \"r9\"");
    let e = Scenario::from_toml(&bad).unwrap().plan().unwrap_err();
    assert!(e.0.contains("no node named r9"), "{e}");
    let bad = MINI.replace("do = \"crash\"", "do = \"explode\"");
    assert!(Scenario::from_toml(&bad).is_err());
    let bad = MINI.replace("priority = 150", "priority = 0");
    let e = Scenario::from_toml(&bad).unwrap().plan().unwrap_err();
    assert!(e.0.contains("priority 0"), "{e}");
}

#[test]
fn inject_resolves_and_refuses_what_cannot_apply() {
    let inject = |extra: &str| {
        MINI.replace(
            "do = \"crash\"\nnode = \"r1\"",
            &format!("do = \"inject\"\nnode = \"r2\"\nfrom = \"r1\"\n{extra}"),
        )
    };
    let p = Scenario::from_toml(&inject("defect = \"ttl\""))
        .unwrap()
        .plan()
        .unwrap();
    assert_eq!(
        p.faults[0].action,
        FaultAction::Inject {
            node: 1,
            from: Some(0),
            instance: 0,
            defect: Defect::Ttl
        }
    );
    let plan_err = |extra: &str| {
        Scenario::from_toml(&inject(extra))
            .unwrap()
            .plan()
            .unwrap_err()
            .0
    };
    assert!(plan_err("").contains("inject needs defect"));
    // VI_1 is VRRPv3 over IPv4: no v2-only check, no IPv6 form.
    assert!(plan_err("defect = \"auth\"").contains("VRRPv2"));
    assert!(plan_err("defect = \"link_local_first\"").contains("IPv6"));
    assert!(plan_err("defect = \"ttl\"\ninstance = \"VI_9\"").contains("no instance VI_9"));
    assert!(Scenario::from_toml(&inject("defect = \"gremlin\"")).is_err());
}

#[test]
fn toml_round_trips() {
    let s = Scenario::from_toml(MINI).unwrap();
    let again = Scenario::from_toml(&s.to_toml()).unwrap();
    assert_eq!(s, again);
}

#[test]
fn flap_expands_and_ends_up() {
    let text = MINI.replace(
        "do = \"crash\"\nnode = \"r1\"",
        "do = \"flap\"\nnode = \"r1\"\nperiod = \"500ms\"\nuntil = \"6s\"",
    );
    let p = Scenario::from_toml(&text).unwrap().plan().unwrap();
    assert_eq!(p.faults.len(), 2);
    assert!(matches!(
        p.faults[1].action,
        FaultAction::Link { up: true, .. }
    ));
    let text = MINI.replace(
        "do = \"crash\"\nnode = \"r1\"",
        "do = \"flap\"\nnode = \"r1\"\nperiod = \"500ms\"\nuntil = \"6.5s\"",
    );
    let p = Scenario::from_toml(&text).unwrap().plan().unwrap();
    // down 5s, up 5.5s, down 6s, and up again at `until`.
    assert_eq!(p.faults.len(), 4);
    assert!(matches!(
        p.faults[3].action,
        FaultAction::Link { up: true, .. }
    ));
}
