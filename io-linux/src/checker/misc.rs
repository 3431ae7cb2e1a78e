//! MISC_CHECK runs: the program as a child process in a process group of its own (started by
//! [`crate::operator::program`]: no shell unless the line needs one, `user`, script security),
//! its exit seen through a pidfd. A run the engine abandons at its deadline is killed with its
//! whole process group (a shell's children too); the child is reaped later without blocking.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::process::{Child, ExitStatus};

use vigil_engine::checker::CheckOutcome;

use crate::operator::program::Program;
use crate::sys::{kill_process_group, pidfd_open};

/// A running MISC_CHECK program.
#[derive(Debug)]
pub(super) struct MiscJob {
    child: Child,
    pidfd: OwnedFd,
}

/// The outcome of an exit status: the exit code, or a failure for a signal.
pub(super) fn outcome(st: ExitStatus) -> CheckOutcome {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => CheckOutcome::Exit(c.clamp(0, 255) as u8),
        (None, Some(s)) => CheckOutcome::Failure(format!("killed by signal {s}")),
        (None, None) => CheckOutcome::Failure("ended without a status".into()),
    }
}

impl MiscJob {
    /// Starts `program`.
    pub(super) fn start(program: &Program) -> Result<MiscJob, CheckOutcome> {
        let mut child = program
            .spawn(&[])
            .map_err(|e| CheckOutcome::Failure(format!("cannot start: {e}")))?;
        match pidfd_open(child.id()) {
            Ok(pidfd) => Ok(MiscJob { child, pidfd }),
            Err(e) => {
                let _ = kill_process_group(child.id());
                let _ = child.wait();
                Err(CheckOutcome::Failure(format!("pidfd: {e}")))
            }
        }
    }

    /// The pidfd to watch.
    pub(super) fn fd(&self) -> RawFd {
        self.pidfd.as_raw_fd()
    }

    /// The pidfd is readable: the outcome, once the child is reaped.
    pub(super) fn on_ready(&mut self) -> Option<CheckOutcome> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(outcome(st)),
            Ok(None) => None,
            Err(e) => Some(CheckOutcome::Failure(format!("wait: {e}"))),
        }
    }

    /// Kills the whole process group; the child is returned to be reaped later.
    pub(super) fn kill(self) -> Child {
        let _ = kill_process_group(self.child.id());
        self.child
    }
}
