//! What goes into the checker engine and what comes out of it.

use core::fmt;

use crate::time::Instant;

/// A health checker: its index in [`CheckerSetup::checkers`](super::CheckerSetup::checkers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckId(pub u32);

/// A virtual server: its index in [`CheckerSetup::virtual_servers`](super::CheckerSetup).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VsId(pub u32);

/// A server of a virtual server's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Server {
    /// The real server with this index in its virtual server.
    Real(u32),
    /// The virtual server's `sorry_server`.
    Sorry,
}

/// How a check ended, as the runner saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The check passed (connection accepted, expected status and digest, answer received, ...).
    Success,
    /// The check failed; the text says how (for logs and status).
    Failure(String),
    /// A MISC_CHECK program exited with this status (0: success; 1: failure; 2..=255:
    /// success with weight status - 2 under `misc_dynamic`, failure otherwise).
    Exit(u8),
}

/// An input to [`CheckerEngine::handle_input`](super::CheckerEngine::handle_input).
#[derive(Clone, Debug, PartialEq)]
pub enum CheckInput {
    /// Start: put the real servers in the table and schedule the first checks.
    Start,
    /// The result of the run `run` of checker `id` (the numbers of a [`CheckAction::RunCheck`]).
    /// A result for a run that is no longer pending (it was abandoned at its deadline) is
    /// ignored.
    Result {
        /// The checker.
        id: CheckId,
        /// The run's number.
        run: u64,
        /// How it ended.
        outcome: CheckOutcome,
    },
    /// The value of a `track_file` changed (FILE_CHECK).
    TrackFile {
        /// The track_file's name.
        name: String,
        /// Its value (keepalived reads the file's first number; 0 when empty or unreadable).
        value: i64,
    },
    /// Stop: every server leaves the table; with `omega`, the down scripts run.
    Shutdown,
    /// A reloaded configuration (SIGHUP), diffed against the running one (keepalived's
    /// `clear_diff_services`): unchanged virtual servers, real servers and checkers keep their
    /// state and schedule; added ones start as at start-up (`alpha` rules included); removed
    /// ones leave the table (`notify_down` for a live real server, `quorum_down` for a virtual
    /// server that had its quorum); a changed checker is a removed one plus an added one. See
    /// [`CheckAction::Reloaded`] for how the numbering changes.
    Reload(Box<super::CheckerSetup>),
}

/// A change of a virtual server's table of servers (what the load-balancer data plane applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableChange {
    /// Add the server with this weight.
    Add(u32),
    /// Change the weight of a server in the table (0: inhibited, no new connections).
    Weight(u32),
    /// Remove the server.
    Remove,
}

/// Why a table or state change happened (logs, status, the data plane's journal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Start-up.
    Start,
    /// A checker of the real server changed state (its last result says how).
    Checker(CheckId, String),
    /// The checker's weight changed (`misc_dynamic` exit status, FILE_CHECK value).
    Weight(CheckId),
    /// The virtual server lost its quorum: the sorry server replaces the real servers.
    QuorumLost,
    /// The virtual server regained its quorum: the real servers replace the sorry server.
    QuorumGained,
    /// Shutdown.
    Shutdown,
    /// A reload changed the configuration of this server (new, weight, `inhibit_on_failure`,
    /// quorum, sorry server).
    Reload,
    /// A reload removed the real server, the sorry server or the whole virtual server.
    Removed,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Start => f.write_str("start"),
            Reason::Checker(id, why) => write!(f, "checker {}: {why}", id.0),
            Reason::Weight(id) => write!(f, "weight from checker {}", id.0),
            Reason::QuorumLost => f.write_str("quorum lost"),
            Reason::QuorumGained => f.write_str("quorum gained"),
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::Reload => f.write_str("reload"),
            Reason::Removed => f.write_str("removed from the configuration"),
        }
    }
}

/// A notification script or FIFO line to run (keepalived's `notify_up`, `notify_down`,
/// `quorum_up`, `quorum_down`; the scripts take no extra arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// Real server `rs` of `vs` is up: its `notify_up`.
    RealServerUp(VsId, u32),
    /// Real server `rs` of `vs` is down: its `notify_down`.
    RealServerDown(VsId, u32),
    /// `vs` gained its quorum: its `quorum_up`.
    QuorumUp(VsId),
    /// `vs` lost its quorum (or shuts down with `omega`): its `quorum_down`.
    QuorumDown(VsId),
}

/// An action for the runner, from [`CheckerEngine::poll_action`](super::CheckerEngine::poll_action).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckAction {
    /// Start run `run` of checker `id` now; report its [`CheckOutcome`] with
    /// [`CheckInput::Result`] before `deadline`. At the deadline the engine gives up on it.
    RunCheck {
        /// The checker (its kind and target are in the setup).
        id: CheckId,
        /// The run's number (to match the result).
        run: u64,
        /// When the run is abandoned and counted as a failure.
        deadline: Instant,
        /// When the schedule wanted it to start (`schedule.rs`): the runner serves it at or
        /// after this instant, late when its loop was busy. Logged by the runner beside the
        /// real start, so that a test can judge the schedule exactly and the lateness apart.
        scheduled: Instant,
        /// 0 for a run on the `delay_loop` schedule; k for the k-th retry (1..=`retry`) of a
        /// failure, `delay_before_retry` after the run before it.
        retry: u32,
    },
    /// Run `run` of `id` outlasted its deadline and counts as a failure: stop it (close its
    /// socket; kill a MISC_CHECK's whole process group).
    AbandonCheck {
        /// The checker.
        id: CheckId,
        /// The run.
        run: u64,
    },
    /// Change the table of virtual server `vs`.
    SetServer {
        /// The virtual server.
        vs: VsId,
        /// The real or sorry server.
        server: Server,
        /// What to do.
        change: TableChange,
        /// Why.
        reason: Reason,
    },
    /// Run a notification.
    Notify(Notify),
    /// A checker changed state (logs, status, metrics).
    CheckerState {
        /// The checker.
        id: CheckId,
        /// Up or down now.
        up: bool,
        /// The outcome that decided it.
        why: String,
    },
    /// A real server changed state (all its checkers up = up).
    RealServerState {
        /// The virtual server.
        vs: VsId,
        /// The real server's index.
        rs: u32,
        /// Up or down now.
        up: bool,
    },
    /// A virtual server's quorum changed (logs: keepalived's "Gained quorum 2+0=2 <= 3").
    QuorumState {
        /// The virtual server.
        vs: VsId,
        /// Up (quorum met) or down.
        up: bool,
        /// The sum of the live real servers' weights.
        weight_sum: u64,
        /// The threshold that was crossed (quorum + or - hysteresis).
        threshold: u64,
    },
    /// A reload took effect: the actions before this one used the old configuration's
    /// numbers (abandoned runs of removed or changed checkers, removals and `notify_down` of
    /// servers that are gone), the actions after it use the new configuration's numbers.
    /// Runs still in progress of kept checkers continue under their new numbers.
    Reloaded {
        /// For each old checker, its number in the new configuration (`None`: removed or
        /// changed, its run if any was abandoned).
        checkers: Vec<Option<CheckId>>,
        /// For each old virtual server, its number in the new configuration.
        virtual_servers: Vec<Option<VsId>>,
    },
}
