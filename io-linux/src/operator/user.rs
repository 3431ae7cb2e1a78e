//! Who a script runs as: keepalived's `script_user`, a script's own `USER [GROUP]`, and the
//! default user `keepalived_script`.
//!
//! Names are resolved once, when the configuration is loaded (keepalived does the same), with
//! the re-entrant libc look-ups; the numeric ids and the supplementary group list are what a
//! child process switches to between `fork` and `exec`.

use std::ffi::{CStr, CString};
use std::io;

use vigil_engine::conf::{GlobalDefs, RunAs};

/// keepalived's default script user, used when `script_user` is not set and it exists.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// The identity a child process takes before it runs a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user's name (for logs).
    pub user: String,
    /// User id.
    pub uid: u32,
    /// Primary group id (the configured group when one is given).
    pub gid: u32,
    /// Supplementary groups of the user (`getgrouplist`), the primary group included.
    pub groups: Vec<u32>,
}

impl Credentials {
    /// The identity of this process (what a script runs as when no user is configured and
    /// `keepalived_script` does not exist: keepalived runs it as root then).
    pub fn current() -> Credentials {
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let user = lookup_user_by_uid(uid).unwrap_or_else(|| uid.to_string());
        Credentials {
            user,
            uid,
            gid,
            groups: vec![gid],
        }
    }

    /// Whether switching to this identity changes anything for the current process.
    pub fn is_current(&self) -> bool {
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        self.uid == uid && self.gid == gid
    }
}

/// Why a user or group name cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownUser(pub String);

impl core::fmt::Display for UnknownUser {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Resolve `USER [GROUP]` to numeric ids and the user's supplementary groups.
pub fn resolve(run_as: &RunAs) -> Result<Credentials, UnknownUser> {
    let (uid, mut gid) = lookup_user(&run_as.user)
        .ok_or_else(|| UnknownUser(format!("user '{}' does not exist", run_as.user)))?;
    if let Some(g) = &run_as.group {
        gid = lookup_group(g).ok_or_else(|| UnknownUser(format!("group '{g}' does not exist")))?;
    }
    let groups = group_list(&run_as.user, gid);
    Ok(Credentials {
        user: run_as.user.clone(),
        uid,
        gid,
        groups,
    })
}

/// The default identity of scripts, as keepalived chooses it: `script_user` when set (an
/// unknown user is an error), else `keepalived_script` when it exists, else this process's own
/// (root), which keepalived reports as a security problem unless `enable_script_security` is on.
pub fn default_script_user(global: &GlobalDefs) -> Result<(Credentials, bool), UnknownUser> {
    if let Some(r) = &global.script_user {
        return resolve(r).map(|c| (c, true));
    }
    let r = RunAs {
        user: DEFAULT_SCRIPT_USER.to_string(),
        group: None,
    };
    match resolve(&r) {
        Ok(c) => Ok((c, true)),
        Err(_) => Ok((Credentials::current(), false)),
    }
}

/// The identity for one script: its own `USER [GROUP]`, else the default.
pub fn for_script(own: Option<&RunAs>, default: &Credentials) -> Result<Credentials, UnknownUser> {
    match own {
        Some(r) => resolve(r),
        None => Ok(default.clone()),
    }
}

fn buf_len() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    usize::try_from(n).unwrap_or(1024).max(1024)
}

/// `getpwnam_r`: (uid, primary gid).
pub fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let cname = CString::new(name).ok()?;
    let mut len = buf_len();
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: an all-zero passwd is a valid value to be overwritten.
        let mut pwd: libc::passwd = unsafe { core::mem::zeroed() };
        let mut out: *mut libc::passwd = core::ptr::null_mut();
        // SAFETY: every pointer is valid for the length given; `out` is set by the call.
        let r = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut out,
            )
        };
        if r == libc::ERANGE && len < (1 << 20) {
            len *= 2;
            continue;
        }
        if r != 0 || out.is_null() {
            return None;
        }
        return Some((pwd.pw_uid, pwd.pw_gid));
    }
}

/// `getpwuid_r`: the user's name.
pub(crate) fn lookup_user_by_uid(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; buf_len()];
    // SAFETY: as in lookup_user.
    let mut pwd: libc::passwd = unsafe { core::mem::zeroed() };
    let mut out: *mut libc::passwd = core::ptr::null_mut();
    // SAFETY: as in lookup_user.
    let r = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut out) };
    if r != 0 || out.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into `buf`, NUL-terminated by getpwuid_r.
    Some(
        unsafe { CStr::from_ptr(pwd.pw_name) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// `getgrnam_r`: the group's id.
pub fn lookup_group(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut len = buf_len();
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: an all-zero group is a valid value to be overwritten.
        let mut grp: libc::group = unsafe { core::mem::zeroed() };
        let mut out: *mut libc::group = core::ptr::null_mut();
        // SAFETY: every pointer is valid for the length given.
        let r = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut grp,
                buf.as_mut_ptr(),
                buf.len(),
                &mut out,
            )
        };
        if r == libc::ERANGE && len < (1 << 20) {
            len *= 2;
            continue;
        }
        if r != 0 || out.is_null() {
            return None;
        }
        return Some(grp.gr_gid);
    }
}

/// `getgrouplist`: the user's groups, `gid` first.
fn group_list(user: &str, gid: u32) -> Vec<u32> {
    let Ok(cuser) = CString::new(user) else {
        return vec![gid];
    };
    let mut n: libc::c_int = 32;
    for _ in 0..8 {
        let mut groups = vec![0 as libc::gid_t; usize::try_from(n).unwrap_or(32)];
        let mut count = n;
        // SAFETY: `groups` has room for `count` entries; getgrouplist updates `count`.
        let r = unsafe { libc::getgrouplist(cuser.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if r >= 0 {
            groups.truncate(usize::try_from(count).unwrap_or(0));
            if !groups.contains(&gid) {
                groups.insert(0, gid);
            }
            return groups;
        }
        n = count.max(n.saturating_mul(2));
    }
    vec![gid]
}

/// Switch the calling process to `c` (supplementary groups, then group, then user). Meant for a
/// freshly forked child, between `fork` and `exec`: every call is async-signal-safe.
pub(crate) fn switch_to(c: &Credentials) -> io::Result<()> {
    // SAFETY: plain system calls with a valid, correctly sized group list.
    unsafe {
        if libc::setgroups(c.groups.len(), c.groups.as_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setresgid(c.gid, c.gid, c.gid) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setresuid(c.uid, c.uid, c.uid) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_resolves_and_unknown_users_do_not() {
        let c = resolve(&RunAs {
            user: "root".into(),
            group: None,
        })
        .unwrap();
        assert_eq!((c.uid, c.gid), (0, 0));
        assert!(c.groups.contains(&0));
        let e = resolve(&RunAs {
            user: "no-such-user-vigil".into(),
            group: None,
        })
        .unwrap_err();
        assert!(e.0.contains("does not exist"), "{e}");
        let e = resolve(&RunAs {
            user: "root".into(),
            group: Some("no-such-group-vigil".into()),
        })
        .unwrap_err();
        assert!(e.0.contains("group"), "{e}");
    }

    #[test]
    fn nobody_has_its_own_ids() {
        // Every Debian system has `nobody` (base-passwd): a lookup that finds nothing is a
        // failure of lookup_user, not a reason to check nothing.
        let (uid, gid) = lookup_user("nobody").expect("the user nobody exists (base-passwd)");
        assert_eq!((uid, gid), (65534, 65534));
        assert_eq!(lookup_user_by_uid(uid).as_deref(), Some("nobody"));
    }
}
