//! How vigild starts a configured program: check scripts (`vrrp_script`), notify programs and
//! FIFO scripts all go through here, so that they are split, vetted and started one way.
//!
//! - **Who runs it**: the script's own `USER [GROUP]`, else `script_user`, else
//!   `keepalived_script` when it exists, else vigild's own identity (see [`super::user`]).
//! - **Whether it may run**: keepalived's `enable_script_security` rules, applied by
//!   [`super::privilege::vet`] (refused with the reason, or allowed with a warning).
//! - **How it runs**: directly (`execve` of the first word, keepalived's word splitting), unless
//!   the line uses shell syntax ([`needs_shell`]): then `/bin/sh -c LINE`, extra arguments
//!   passed as `"$@"`. A program without `#!` that the kernel refuses (`ENOEXEC`) is run by
//!   `/bin/sh`, like keepalived.
//! - **What it inherits**: stdin/stdout/stderr on `/dev/null`; a process group of its own (a
//!   timeout kills its children too); none of the signals vigild blocks for its `signalfd` (a
//!   blocked SIGTERM would otherwise be inherited by the program and by every service it
//!   starts: the standard library resets the mask in the child, and the pre-exec step unblocks
//!   vigild's set again so that this does not rest on that alone); an ordinary scheduling policy (vigild's SCHED_FIFO carries `SCHED_RESET_ON_FORK`);
//!   and only the capabilities vigild kept ([`super::privilege::confine`]).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use vigil_engine::conf;

use super::privilege;
use super::user::{self, Credentials};

/// Characters that make a command line need a shell: pipes, lists, redirections, expansions,
/// quoting, globbing, grouping and comments.
const SHELL_SYNTAX: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '*', '?', '[', ']', '~', '{', '}', '#',
    '\n',
];

/// Whether a command line uses shell syntax that `execve` would pass on literally (including a
/// leading `VAR=value` assignment).
pub fn needs_shell(line: &str) -> bool {
    line.contains(SHELL_SYNTAX)
        || line
            .split_whitespace()
            .next()
            .is_some_and(|w| w.contains('=') && !w.contains('/'))
}

/// A program ready to run: resolved identity, words, and whether it needs a shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The line as configured (for logs).
    pub line: String,
    /// The words (`argv`).
    pub argv: Vec<String>,
    /// Run as `/bin/sh -c LINE` because the line uses shell syntax.
    pub shell: bool,
    /// Who it runs as; `None`: as vigild itself.
    pub creds: Option<Credentials>,
}

impl Program {
    /// Prepare a configured script to run as `creds` (no identity switch when it is vigild's
    /// own).
    pub fn new(s: &conf::Script, creds: &Credentials) -> Program {
        Program {
            line: s.command.clone(),
            argv: s.argv(),
            shell: needs_shell(&s.command),
            creds: (!creds.is_current()).then(|| creds.clone()),
        }
    }

    /// The process to start, with `extra` arguments appended; `None` for an empty line.
    pub fn command(&self, extra: &[String]) -> Option<Command> {
        let mut cmd = if self.shell {
            let mut c = Command::new("/bin/sh");
            let script = if extra.is_empty() {
                self.line.clone()
            } else {
                format!("{} \"$@\"", self.line)
            };
            c.arg("-c").arg(script).arg("sh").args(extra);
            c
        } else {
            let (prog, args) = self.argv.split_first()?;
            let mut c = Command::new(prog);
            c.args(args).args(extra);
            c
        };
        prepare(&mut cmd, self.creds.clone());
        Some(cmd)
    }

    /// Start it (see the module documentation for what the child inherits).
    pub fn spawn(&self, extra: &[String]) -> Result<Child, String> {
        let Some(mut cmd) = self.command(extra) else {
            return Err("empty command".into());
        };
        match cmd.spawn() {
            Ok(c) => Ok(c),
            Err(e) if e.raw_os_error() == Some(libc::ENOEXEC) && !self.shell => {
                let mut c = Command::new("/bin/sh");
                c.args(&self.argv).args(extra);
                prepare(&mut c, self.creds.clone());
                c.spawn().map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// stdio to /dev/null, a process group of its own, vigild's blocked signals unblocked, and the
/// identity switch.
fn prepare(cmd: &mut Command, creds: Option<Credentials>) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    // SAFETY: the closure only makes async-signal-safe system calls (sigprocmask, setgroups,
    // setresgid, setresuid) on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            crate::sys::unblock_handled_signals();
            match &creds {
                Some(c) => user::switch_to(c),
                None => Ok(()),
            }
        });
    }
}

/// A configured script resolved and vetted: the program to run and an optional warning to log
/// (an insecure script allowed because `enable_script_security` is off), or the reason it is
/// refused (unknown user, insecure under `enable_script_security`, not found, not executable).
pub fn vetted(
    s: &conf::Script,
    default: &Credentials,
    security: bool,
) -> Result<(Program, Option<String>), String> {
    let creds = user::for_script(s.run_as.as_ref(), default).map_err(|e| e.0)?;
    let argv0 = s.program().ok_or_else(|| "empty command".to_string())?;
    let p = Program::new(s, &creds);
    let warning = if p.shell {
        // What runs is the shell, and the first word when it is a program rather than a
        // shell keyword or builtin (`[[ -f /x ]] && exit 1`).
        let sh = privilege::vet("/bin/sh", &creds, security)?;
        let first = match privilege::program_path(&argv0) {
            Some(_) => privilege::vet(&argv0, &creds, security)?,
            None => None,
        };
        sh.or(first)
    } else {
        privilege::vet(&argv0, &creds, security)?
    };
    Ok((p, warning))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_syntax_is_recognised() {
        for line in [
            "pidof foo || exit 1",
            "echo $HOME",
            "a; b",
            "x > /dev/null",
            "FOO=1 /bin/true",
            "ls /tmp/*",
            "echo {a,b}",
        ] {
            assert!(needs_shell(line), "{line}");
        }
        for line in [
            "/usr/bin/test -f /etc/hostname",
            "killall -0 haproxy",
            "/a/b=c",
        ] {
            assert!(!needs_shell(line), "{line}");
        }
    }
}
