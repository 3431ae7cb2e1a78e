//! The 25 sample configurations that Debian's keepalived 2.2.7 installs parse, their VRRP content
//! and checker content is what the files say (snapshotted), and each skipped section gets exactly
//! one notice naming its line; except the samples listed in [`REFUSED`], which do not load
//! (their errors are snapshotted, and each is the listed one).

use std::path::Path;

use vigil_engine::conf::{self, MemoryLoader, ParseOptions, Severity};
use vigil_engine::dataplane::Backend;

/// Where the samples are, in the repository: copied unchanged from Debian's keepalived 2.2.7 by
/// scripts/copy-keepalived-samples.sh (tests/configs/keepalived-samples/README.md).
const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/configs/keepalived-samples"
);

/// The name diagnostics give each sample: where keepalived's package installs it (the
/// snapshots quote these names).
const INSTALLED: &str = "/usr/share/doc/keepalived/samples";

/// Sections Vigil skips whole; each must produce one notice at its line.
const SKIPPED: &[&str] = &["bfd_instance", "linkbeat_interfaces"];

/// Samples that do not load, what every error says, and why (keepalived's own `-t` fails on
/// them too).
const REFUSED: &[(&str, &str, &str)] = &[(
    "keepalived.conf.vrrp.rules",
    "to: expected an IPv4 or IPv6 address",
    "its 'to 192.168.100./24' lines are malformed: keepalived 2.2.7 reports 'Invalid rule to \
     address' and drops the rule; Vigil refuses the file at the line",
)];

/// Samples that the nftables data plane (this host's: no IPVS) cannot apply, what every error
/// says, and why: `vigild -t` fails on them here (keepalived's passes, with IPVS). Their
/// content is still read and snapshotted (as `vigild -d` prints it, data plane not applied).
/// (keepalived.conf.virtual_server_group was here until groups were built: it loads now.)
const REFUSED_BY_NFTABLES: &[(&str, &str, &str)] = &[];

#[test]
fn all_keepalived_samples_parse() {
    let dir = Path::new(SAMPLES);
    assert!(dir.is_dir(), "{SAMPLES} is missing from the repository");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read samples")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("keepalived.conf"))
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        25,
        "expected the 25 samples of keepalived 2.2.7: {names:?}"
    );
    for name in names {
        let text = std::fs::read_to_string(format!("{SAMPLES}/{name}")).expect("read sample");
        let path = format!("{INSTALLED}/{name}");
        // The conditional sample is meant for `-i high` or `-i low`.
        // As `vigild -t` parses it on this machine: the nftables data plane.
        let mut opts = ParseOptions {
            config_id: (name == "keepalived.conf.conditional_conf").then(|| "high".to_string()),
            data_plane: Backend::Nftables,
            ..ParseOptions::default()
        };
        let refused = REFUSED.iter().find(|(n, _, _)| *n == name);
        let by_nftables = REFUSED_BY_NFTABLES.iter().find(|(n, _, _)| *n == name);
        let cfg = match conf::parse_text(&path, &text, &MemoryLoader::new(), &opts) {
            Ok(c) => {
                assert!(refused.is_none(), "{name} is listed as refused but parses");
                assert!(
                    by_nftables.is_none(),
                    "{name} is listed as refused by nftables but parses"
                );
                c
            }
            Err(e) if by_nftables.is_some() => {
                let expected = by_nftables.map_or("", |r| r.1);
                let errors: Vec<_> = e.errors().collect();
                assert!(!errors.is_empty(), "{name}: no error");
                for d in errors {
                    assert!(
                        d.message.contains(expected),
                        "{name}: an error other than the listed one: {d}"
                    );
                }
                insta::assert_snapshot!(
                    format!("{}_nftables", name.replace('.', "_")),
                    e.to_string()
                );
                // The content, read without a data plane (`vigild -d`).
                opts.data_plane = Backend::NotApplied;
                conf::parse_text(&path, &text, &MemoryLoader::new(), &opts)
                    .unwrap_or_else(|e| panic!("{name} does not parse without a data plane:\n{e}"))
            }
            Err(e) if refused.is_some() => {
                let expected = refused.map_or("", |r| r.1);
                for d in e.errors() {
                    assert!(
                        d.message.contains(expected),
                        "{name}: an error other than the listed one: {d}"
                    );
                }
                insta::assert_snapshot!(name.replace('.', "_"), e.to_string());
                continue;
            }
            Err(e) => panic!("{name} does not parse:\n{e}"),
        };
        // One notice per skipped top-level section, at its line.
        let mut depth = 0i32;
        for (i, line) in text.lines().enumerate() {
            let code = conf::lexer::strip_comment(line);
            let first = code.split_whitespace().next().unwrap_or("");
            if depth == 0 && SKIPPED.contains(&first) {
                let at = format!("{path}:{}:", i + 1);
                let n = cfg
                    .warnings
                    .iter()
                    .filter(|d| {
                        d.severity == Severity::Notice
                            && d.to_string().starts_with(&at)
                            && d.message.contains("has no effect on a Vigil router")
                    })
                    .count();
                assert_eq!(n, 1, "{name}:{}: expected one notice for '{first}'", i + 1);
            }
            depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
        }
        let skipped = cfg
            .warnings
            .iter()
            .filter(|d| {
                SKIPPED
                    .iter()
                    .any(|k| d.message.starts_with(&format!("'{k}' in the top level")))
            })
            .count();
        let snapshot = format!(
            "skipped sections: {skipped}\nglobal: {:#?}\ninstances: {:#?}\nsync_groups: {:#?}\nscripts: {:#?}\ntrack_files: {:#?}\nstatic_addresses: {:#?}\nstatic_routes: {:#?}\nstatic_rules: {:#?}\ncheckers: {:#?}\nwarnings: {:#?}",
            cfg.global,
            cfg.instances,
            cfg.sync_groups,
            cfg.scripts,
            cfg.track_files,
            cfg.static_addresses,
            cfg.static_routes,
            cfg.static_rules,
            cfg.checkers,
            cfg.warnings
        );
        insta::assert_snapshot!(name.replace('.', "_"), snapshot);
    }
}
