//! iproute2's name files, as keepalived 2.2.7 reads them for route and rule values
//! (`lib/rttables.c`): `table` through `rt_tables`, `tos` / `dsfield` (and an `encap`'s `tos` /
//! `tc`) through `rt_dsfield`, `realms` through `rt_realms`, a route's `protocol` through
//! `rt_protos`, `scope` (routes and addresses) through `rt_scopes`.
//!
//! The engine does no I/O: the runner reads the files (`/etc/iproute2/NAME`; keepalived 2.2.7
//! reads no `NAME.d` directory and no `/usr/share/iproute2`) and hands their text to
//! [`parse_file`]; the lists travel in [`super::ParseOptions::rt_names`]. A value is a number
//! (C's `strtoul(s, _, 0)`: decimal, `0x` hex, leading-zero octal) up to the file's maximum, or a
//! name: the first line of the file that gives it, else one of keepalived's built-in names
//! ([`RtFile::defaults`]) whose number the file does not name. A missing or unreadable file is an
//! empty list, so only the built-in names are known.

/// A number as C's `strtoul(s, _, 0)` reads it: decimal, `0x` hex or leading-zero octal.
pub(crate) fn c_number(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// One of the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtFile {
    /// `rt_tables`: routing tables (numbers up to 2^32 - 1).
    Tables,
    /// `rt_dsfield`: TOS / DS field bytes.
    Dsfield,
    /// `rt_realms`: route realms.
    Realms,
    /// `rt_protos`: route protocols.
    Protos,
    /// `rt_scopes`: route and address scopes.
    Scopes,
}

impl RtFile {
    /// Every file, in the order the runner reads them.
    pub const ALL: [RtFile; 5] = [
        RtFile::Tables,
        RtFile::Dsfield,
        RtFile::Realms,
        RtFile::Protos,
        RtFile::Scopes,
    ];

    /// The file's name under `/etc/iproute2`.
    pub fn file_name(self) -> &'static str {
        match self {
            RtFile::Tables => "rt_tables",
            RtFile::Dsfield => "rt_dsfield",
            RtFile::Realms => "rt_realms",
            RtFile::Protos => "rt_protos",
            RtFile::Scopes => "rt_scopes",
        }
    }

    /// The largest number a value may have (keepalived's `RT_TABLE_MAX` for tables, 255 for
    /// the others); a line of the file with a larger one is skipped.
    pub fn max(self) -> u32 {
        match self {
            RtFile::Tables => u32::MAX,
            _ => 255,
        }
    }

    /// keepalived's built-in names (`rttable_default`, `rtprot_default`, `rtscope_default`;
    /// none for `rt_dsfield` and `rt_realms`). Note what is not there: `unspec` and
    /// `keepalived` are protocol names only through the file, `universe` is no scope name.
    pub fn defaults(self) -> &'static [(u32, &'static str)] {
        match self {
            RtFile::Tables => &[(253, "default"), (254, "main"), (255, "local")],
            RtFile::Dsfield | RtFile::Realms => &[],
            RtFile::Protos => &[
                (0, "none"),
                (1, "redirect"),
                (2, "kernel"),
                (3, "boot"),
                (4, "static"),
                (8, "gated"),
                (9, "ra"),
                (10, "mrt"),
                (11, "zebra"),
                (12, "bird"),
                (42, "babel"),
                (13, "dnrouted"),
                (14, "xorp"),
                (15, "ntk"),
                (16, "dhcp"),
            ],
            RtFile::Scopes => &[
                (0, "global"),
                (255, "nowhere"),
                (254, "host"),
                (253, "link"),
                (200, "site"),
            ],
        }
    }
}

/// The lines read from each file: `(number, name)` in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtNames {
    /// `rt_tables`.
    pub tables: Vec<(u32, String)>,
    /// `rt_dsfield`.
    pub dsfield: Vec<(u32, String)>,
    /// `rt_realms`.
    pub realms: Vec<(u32, String)>,
    /// `rt_protos`.
    pub protos: Vec<(u32, String)>,
    /// `rt_scopes`.
    pub scopes: Vec<(u32, String)>,
}

impl RtNames {
    /// The lines of one file.
    pub fn of(&self, file: RtFile) -> &[(u32, String)] {
        match file {
            RtFile::Tables => &self.tables,
            RtFile::Dsfield => &self.dsfield,
            RtFile::Realms => &self.realms,
            RtFile::Protos => &self.protos,
            RtFile::Scopes => &self.scopes,
        }
    }

    /// The lines of one file, to fill in.
    pub fn of_mut(&mut self, file: RtFile) -> &mut Vec<(u32, String)> {
        match file {
            RtFile::Tables => &mut self.tables,
            RtFile::Dsfield => &mut self.dsfield,
            RtFile::Realms => &mut self.realms,
            RtFile::Protos => &mut self.protos,
            RtFile::Scopes => &mut self.scopes,
        }
    }

    /// keepalived's `find_entry`: `word` as a number (at most [`RtFile::max`]), else as a name
    /// of the file, else as a built-in name whose number the file does not give. `None` when
    /// it is none of these.
    pub fn lookup(&self, file: RtFile, word: &str) -> Option<u32> {
        if let Some(n) = c_number(word) {
            return u32::try_from(n).ok().filter(|n| *n <= file.max());
        }
        let lines = self.of(file);
        if let Some((n, _)) = lines.iter().find(|(_, name)| name == word) {
            return Some(*n);
        }
        file.defaults()
            .iter()
            .find(|(n, name)| *name == word && !lines.iter().any(|(m, _)| m == n))
            .map(|(n, _)| *n)
    }
}

/// keepalived 2.2.7's `read_file`: the lines of exactly two words (split at white space, a
/// `"..."` word taken whole without its quotes), the first a number up to `max`. A `#` is no
/// comment marker of its own: `100 isp1 # note` has four words and is skipped, as keepalived
/// skips it; `#1 inr.ruhep` is skipped because `#1` is no number.
pub fn parse_file(text: &str, max: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let words = words(line);
        let [number, name] = &words[..] else {
            continue;
        };
        if number.starts_with('-') {
            continue;
        }
        let Some(n) = c_number(number) else {
            continue;
        };
        if let Some(n) = u32::try_from(n).ok().filter(|n| *n <= max) {
            out.push((n, name.clone()));
        }
    }
    out
}

/// keepalived's `alloc_strvec_r`: words split at white space (and before a `"`); a word that
/// starts with `"` runs to the next `"` (both dropped). An unmatched `"` ends the line.
fn words(line: &str) -> Vec<String> {
    const WHITE: &[char] = &[' ', '\t', '\x0c', '\n', '\r', '\x0b'];
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches(WHITE);
        if rest.is_empty() {
            break;
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            let Some(end) = quoted.find('"') else {
                break;
            };
            out.push(quoted[..end].to_string());
            rest = &quoted[end + 1..];
        } else {
            let end = rest
                .find(|c: char| WHITE.contains(&c) || c == '"')
                .unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_as_keepalived_2_2_7_reads_them() {
        let t = parse_file(
            "#\n# reserved values\n255\tlocal\n100 isp1\n101 isp2 # note\n102\t\"isp three\"\n\
             0x67 isp4\n010 octal\n#1 inr.ruhep\n-1 minus\n300 big\nbad line here\n",
            255,
        );
        assert_eq!(
            t,
            [
                (255, "local".to_string()),
                (100, "isp1".to_string()),
                (102, "isp three".to_string()),
                (0x67, "isp4".to_string()),
                (8, "octal".to_string()),
            ]
        );
        assert_eq!(
            parse_file("300 big\n", u32::MAX),
            [(300, "big".to_string())]
        );
    }

    #[test]
    fn numbers_then_the_file_then_the_built_in_names() {
        let mut n = RtNames::default();
        // Without files: the built-in names only.
        assert_eq!(n.lookup(RtFile::Tables, "main"), Some(254));
        assert_eq!(n.lookup(RtFile::Tables, "4000000000"), Some(4_000_000_000));
        assert_eq!(n.lookup(RtFile::Protos, "kernel"), Some(2));
        assert_eq!(n.lookup(RtFile::Protos, "keepalived"), None);
        assert_eq!(n.lookup(RtFile::Protos, "unspec"), None);
        assert_eq!(n.lookup(RtFile::Scopes, "link"), Some(253));
        assert_eq!(n.lookup(RtFile::Scopes, "universe"), None);
        assert_eq!(n.lookup(RtFile::Dsfield, "AF11"), None);
        assert_eq!(n.lookup(RtFile::Dsfield, "0x28"), Some(0x28));
        assert_eq!(n.lookup(RtFile::Dsfield, "256"), None);
        assert_eq!(n.lookup(RtFile::Realms, "cosmos"), None);
        // With files: the file's names, the first line of a name winning; a built-in name
        // whose number the file gives another name is no longer known.
        n.dsfield = parse_file("0x28 AF11\n", 255);
        n.protos = parse_file("18 keepalived\n2 krnl\n99 openr\n99 again\n", 255);
        n.tables = parse_file("254 primary\n100 isp1\n101 isp1\n", u32::MAX);
        assert_eq!(n.lookup(RtFile::Dsfield, "AF11"), Some(0x28));
        assert_eq!(n.lookup(RtFile::Protos, "keepalived"), Some(18));
        assert_eq!(n.lookup(RtFile::Protos, "openr"), Some(99));
        assert_eq!(n.lookup(RtFile::Protos, "kernel"), None);
        assert_eq!(n.lookup(RtFile::Protos, "static"), Some(4));
        assert_eq!(n.lookup(RtFile::Tables, "isp1"), Some(100));
        assert_eq!(n.lookup(RtFile::Tables, "main"), None);
        assert_eq!(n.lookup(RtFile::Tables, "local"), Some(255));
    }
}
