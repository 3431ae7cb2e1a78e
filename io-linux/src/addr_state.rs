//! The record of virtual addresses this daemon has put on interfaces, so that a run after a
//! crash (`kill -9`, OOM, a panic) removes what the dead run left behind.
//!
//! How we know an address was ours, two rules:
//!
//! 1. every *configured* virtual address found on its interface at start-up is removed (no
//!    instance is MASTER before it starts; keepalived does the same, "removing VIPs");
//! 2. the record lists every address this daemon added and has not removed. It covers what rule 1
//!    cannot: an address whose instance was deleted from the configuration between the crash and
//!    the restart. It is saved once per batch of actions ([`AddrState::flush`]), after the
//!    netlink changes, so the takeover path never waits for a file; an address added in a batch
//!    that the crash interrupted is still covered by rule 1. An address the kernel says was
//!    already there when we added it (EEXIST) was not put there by us and is not recorded.
//!
//! The file sits beside the pid file (`PIDFILE` with the extension `.vips`), so that two daemons
//! with their own pid files never touch each other's addresses. Format: one
//! `IFNAME ADDRESS/PREFIX [peer PEER]` per line, replaced atomically (write, rename). No fsync: the record
//! guards against the process dying, and a machine that loses power loses the addresses with it.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// One recorded address.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Recorded {
    /// The interface it was added on.
    pub ifname: String,
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Its point-to-point peer (`peer` on the line), which the kernel needs to remove it.
    pub peer: Option<IpAddr>,
}

/// The record and its file.
#[derive(Debug)]
pub struct AddrState {
    path: PathBuf,
    set: BTreeSet<Recorded>,
    dirty: bool,
}

/// The record's path for a pid file: same directory and stem, extension `.vips`.
pub fn path_for_pid_file(pid_file: &Path) -> PathBuf {
    pid_file.with_extension("vips")
}

/// Parse the record's text; malformed lines are skipped (the file is ours, but a torn or edited
/// file must not stop the daemon).
pub fn parse(text: &str) -> Vec<Recorded> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let ifname = it.next()?.to_string();
            let (a, p) = it.next()?.split_once('/')?;
            let addr = a.parse().ok()?;
            let prefix_len: u8 = p.parse().ok()?;
            let max = if matches!(addr, IpAddr::V4(_)) {
                32
            } else {
                128
            };
            // An optional `peer P` after the address (a point-to-point address).
            let peer = match (it.next(), it.next()) {
                (Some("peer"), Some(p)) => Some(p.parse().ok()?),
                _ => None,
            };
            (prefix_len <= max).then_some(Recorded {
                ifname,
                addr,
                prefix_len,
                peer,
            })
        })
        .collect()
}

impl AddrState {
    /// Open the record at `path` and return what a previous run left in it.
    pub fn open(path: PathBuf) -> (AddrState, Vec<Recorded>) {
        let left = std::fs::read_to_string(&path)
            .map(|t| parse(&t))
            .unwrap_or_default();
        (
            AddrState {
                path,
                set: BTreeSet::new(),
                dirty: false,
            },
            left,
        )
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write the record if it changed since the last write.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.dirty {
            self.save()?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Write the record now (atomically).
    pub fn save(&self) -> io::Result<()> {
        let tmp = self.path.with_extension("vips.tmp");
        let mut text = String::with_capacity(self.set.len() * 32);
        for r in &self.set {
            text.push_str(&format!("{} {}/{}", r.ifname, r.addr, r.prefix_len));
            if let Some(p) = r.peer {
                text.push_str(&format!(" peer {p}"));
            }
            text.push('\n');
        }
        std::fs::File::create(&tmp)?.write_all(text.as_bytes())?;
        std::fs::rename(&tmp, &self.path)
    }

    /// Record an address we added (saved at the next [`AddrState::flush`]).
    pub fn add(&mut self, r: Recorded) {
        self.dirty |= self.set.insert(r);
    }

    /// Forget an address we removed (saved at the next [`AddrState::flush`]).
    pub fn remove(&mut self, r: &Recorded) {
        self.dirty |= self.set.remove(r);
    }

    /// Everything currently recorded.
    pub fn recorded(&self) -> impl Iterator<Item = &Recorded> {
        self.set.iter()
    }

    /// Delete the file (clean exit with nothing left).
    pub fn delete_file(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_survives_a_crash_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("vigil-addr-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = path_for_pid_file(&dir.join("node.pid"));
        assert_eq!(path, dir.join("node.vips"));
        let (mut st, left) = AddrState::open(path.clone());
        assert!(left.is_empty());
        let r = Recorded {
            ifname: "eth0".into(),
            addr: "192.0.2.100".parse().unwrap(),
            prefix_len: 24,
            peer: None,
        };
        let r6 = Recorded {
            ifname: "eth0".into(),
            addr: "2001:db8::100".parse().unwrap(),
            prefix_len: 64,
            peer: Some("2001:db8::200".parse().unwrap()),
        };
        st.add(r.clone());
        st.add(r6.clone());
        st.flush().unwrap();
        drop(st); // the "crash"
        let (mut st, left) = AddrState::open(path.clone());
        assert_eq!(left, vec![r.clone(), r6.clone()]);
        st.add(r6.clone());
        st.remove(&r6);
        st.flush().unwrap();
        let (_, left) = AddrState::open(path);
        assert!(left.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let got = parse("eth0 192.0.2.1/24\nnonsense\neth0 192.0.2.2/99\neth1 2001:db8::1/64\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].ifname, "eth1");
    }
}
