//! The keepalived.conf parser: text in, a typed [`Config`] or located errors out.
//!
//! Vigil reads keepalived's configuration language (keepalived 2.x) so that an operator switching
//! from keepalived changes the binary, not the configuration. The parser is pure: files come
//! through a [`SourceLoader`] (the daemon's reads the filesystem, tests and the fuzzer use a
//! [`MemoryLoader`]), the config id for `@ID` lines is a parameter, and nothing panics on any input.
//!
//! Pipeline:
//! 1. [`include`]: read files, follow `include GLOB` (cycles are errors), and preprocess each line
//!    ([`params`]: `@ID` / `@^ID`, `$NAME=VALUE`, `${NAME}`, `~SEQ`), then [`lexer`]: tokens with
//!    file:line:col.
//! 2. [`ast`]: statements and `{ }` blocks.
//! 3. `sections`: typed sections with keepalived's ranges and defaults; every keyword is first
//!    looked up in [`keywords`], the one table that says whether Vigil honours it, notes it (a
//!    notice with the reason) or refuses it (an error).
//! 4. `validate`: cross-references (sync-group members, duplicate VRIDs, tracked scripts).
//!
//! Dependencies go one way: conf -> shared types, never engine internals. The configuration
//! model uses the types the engine, the wire codec and the runners use, each defined once:
//! [`Family`] and [`Version`] from [`crate::wire`], [`VirtualAddress`] and [`Scope`] from
//! [`crate::address`], the process-matching rules of [`crate::track_process`], and one constant
//! of [`crate::setup`] (the default `down_timer_adverts`). It never imports the state machine
//! (`crate::engine`, [`crate::instance`]) or [`crate::from_conf`]; a test
//! (`conf_depends_only_on_shared_types`) holds it to that. The engine's own configuration is
//! built from the model by [`crate::from_conf`], which takes those values as they are: an address
//! line's [`AddressLine::address`] is the engine's address, with everything the kernel holds it
//! with (peer, flags and preferred lifetime included), and what only the configuration keeps
//! (`track_group`, an address's `use_vmac`, the line's location) is beside it in
//! [`AddressOptions`] and [`AddressLine::loc`]. One exception, on the checker side: resolving a virtual server asks
//! [`crate::dataplane`] what its nftables data plane does with it (`nftables_notes`), and the
//! data plane reads the checker model (a cycle between the two, left to the checker work).
//!
//! Diagnostics have three severities ([`Severity`]): errors (no config), warnings (keepalived's
//! `-t` fails on the same input: something was ignored or replaced) and notices (valid keepalived
//! input that Vigil does not act on, such as LVS sections, each reported once with its line).
//!
//! ```
//! use vigil_engine::conf;
//! let cfg = conf::parse_str("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
//!                            virtual_ipaddress { 192.0.2.1/24 }\n}\n").unwrap();
//! assert_eq!(cfg.instances[0].priority, 100);
//! ```

pub mod ast;
mod body_regex;
mod checker_dump;
mod checker_model;
mod diag;
pub mod fast_hash;
mod glob;
pub mod include;
pub mod keywords;
pub mod lexer;
mod lines;
mod model;
pub mod params;
mod policy_model;
mod process_model;
pub mod rt_names;
mod script;
mod sections;
pub mod text_arena;
mod validate;
pub mod values;

pub use body_regex::BodyRegex;
pub use checker_dump::dump_checkers;
pub use checker_model::*;
pub use diag::{ConfError, Diagnostic, Severity};
pub use include::{MemoryLoader, SourceLoader};
pub use lexer::{FileName, Location};
pub use model::*;
pub use process_model::ProcessSettings;

/// How to parse: the config id that `@ID` conditional lines are compared against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// keepalived's `-i`: by default the first label of the host name, which the runner supplies
    /// (the engine cannot read it). `None` matches no `@ID` line and every `@^ID` line.
    pub config_id: Option<String>,
    /// iproute2's name files (`/etc/iproute2/rt_tables`, `rt_dsfield`, `rt_realms`,
    /// `rt_protos`, `rt_scopes`), which keepalived reads for named values of routes, rules and
    /// address scopes; the runner reads them, the engine cannot ([`rt_names`]). Without them
    /// only keepalived's built-in names are known (`main`, `local`, `default`, `kernel`,
    /// `link`, ...).
    pub rt_names: rt_names::RtNames,
    /// The host's load-balancer data plane (the runner detects it): which notes and refusals
    /// the virtual servers get.
    pub data_plane: crate::dataplane::Backend,
    /// The macvlan and ipvlan interfaces of the system (the runner lists them; keepalived's
    /// `IS_MAC_IP_VLAN`): a `garp_group` naming one is ignored with a warning, as keepalived
    /// 2.2.7 ignores it ("Cannot specify garp_delay on a vmac").
    pub vlan_interfaces: Vec<String>,
}

/// What an nftables host does instead of an IPVS-wide keyword (`lvs_flush`,
/// `lvs_flush_on_stop`, `lvs_timeouts`, `lvs_sync_daemon`): the text of the parser's notice.
pub fn lvs_nftables_note(keyword: &str) -> &'static str {
    sections::lvs_nftables_note(keyword)
}

/// Parses configuration text that includes nothing (an `include` in it matches no file). The
/// file is named `keepalived.conf` in diagnostics.
pub fn parse_str(text: &str) -> Result<Config, ConfError> {
    parse_text(
        "keepalived.conf",
        text,
        &MemoryLoader::new(),
        &ParseOptions::default(),
    )
}

/// Parses the file `path` obtained from `loader`, following its includes through `loader`.
pub fn parse_file(
    path: &str,
    loader: &dyn SourceLoader,
    opts: &ParseOptions,
) -> Result<Config, ConfError> {
    match loader.load(path) {
        Ok(text) => parse_text(path, &text, loader, opts),
        Err(e) => Err(ConfError {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                loc: None,
                message: format!("cannot read configuration file '{path}': {e}"),
            }],
        }),
    }
}

/// Parses `text` as the contents of the file `name`; includes are resolved relative to `name`
/// through `loader`.
pub fn parse_text(
    name: &str,
    text: &str,
    loader: &dyn SourceLoader,
    opts: &ParseOptions,
) -> Result<Config, ConfError> {
    parse_with(name, text, loader, opts, true)
}

/// [`parse_text`], with the keyword table's gate on or off (off only in the table's test, to
/// find which keywords the parser has a handler for).
fn parse_with(
    name: &str,
    text: &str,
    loader: &dyn SourceLoader,
    opts: &ParseOptions,
    gate: bool,
) -> Result<Config, ConfError> {
    // The text the tokens borrow besides `text` (included files, substituted lines, words built
    // from parts): it lives until the model is built.
    let arena = text_arena::TextArena::new();
    let mut reader = include::Reader::new(loader, &arena, opts.config_id.clone());
    reader.read_text(name, text);
    reader.finish();
    let mut diags = std::mem::take(&mut reader.diags);
    let tokens = std::mem::take(&mut reader.tokens);
    let tree = ast::build(&tokens, &mut diags);
    let mut b = sections::Builder {
        diags,
        gate,
        rt_names: opts.rt_names.clone(),
        rule_interfaces: Vec::new(),
        next_rule_priority: [16384, 16384],
        data_plane: opts.data_plane,
        instance_syncd: None,
        global_syncd_at: None,
        top_index: 0,
        vlan_interfaces: opts.vlan_interfaces.clone(),
        garp_interfaces: Default::default(),
    };
    let mut cfg = b.config(&tree);
    cfg.rule_interfaces = std::mem::take(&mut b.rule_interfaces);
    let mut diags = b.diags;
    validate::validate(&mut cfg, &mut diags);
    if diags.iter().any(|d| d.severity == Severity::Error) {
        diags.sort_by_key(|d| d.severity != Severity::Error);
        return Err(ConfError { diagnostics: diags });
    }
    cfg.warnings = diags;
    Ok(cfg)
}

#[cfg(test)]
mod garp_vlan_tests;
#[cfg(test)]
mod tests;
