//! The resolved plan: what [`super::Scenario::plan`] makes of a scenario file, with node and
//! segment indices instead of names, engine configurations checked, faults sorted by time.

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use vigil_engine::checker::CheckerSetup;
use vigil_engine::{EngineConfig, State};

use super::*;

/// A scenario that cannot run, with a message that says which field is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, PlanError> {
    Err(PlanError(msg.into()))
}

/// Bursty loss, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Burst {
    /// P(good -> bad) per frame.
    pub enter: f64,
    /// P(bad -> good) per frame.
    pub leave: f64,
    /// Loss probability in the bad state.
    pub loss: f64,
}

/// A segment's network model, resolved (nanoseconds and probabilities).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkModel {
    /// Base one-way delay.
    pub delay: u64,
    /// Uniform extra delay bound.
    pub jitter: u64,
    /// Random loss probability.
    pub loss: f64,
    /// Bursty loss.
    pub burst: Option<Burst>,
    /// Duplication probability.
    pub duplicate: f64,
    /// Reordering probability.
    pub reorder: f64,
    /// Reordering hold-back bound.
    pub reorder_delay: u64,
}

impl LinkModel {
    /// The longest time a frame can take.
    pub fn max_delay(&self) -> u64 {
        let reorder = if self.reorder > 0.0 {
            self.reorder_delay
        } else {
            0
        };
        self.delay
            .saturating_add(self.jitter)
            .saturating_add(reorder)
    }

    /// Whether the model loses frames.
    pub fn lossy(&self) -> bool {
        self.loss > 0.0 || self.burst.is_some()
    }
}

/// A resolved segment.
#[derive(Clone, Debug)]
pub struct SegmentPlan {
    /// Name.
    pub name: String,
    /// The network model as written (the scenario's, with the segment's overrides).
    pub spec: NetworkSpec,
    /// Network model at the start.
    pub model: LinkModel,
}

/// A resolved interface.
#[derive(Clone, Debug)]
pub struct IfacePlan {
    /// Name.
    pub name: String,
    /// Segment index.
    pub segment: usize,
    /// Primary IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 link-local address.
    pub ipv6: Option<Ipv6Addr>,
    /// MAC address.
    pub mac: [u8; 6],
}

/// A resolved node.
#[derive(Clone, Debug)]
pub struct NodePlan {
    /// Name.
    pub name: String,
    /// Interfaces.
    pub ifaces: Vec<IfacePlan>,
    /// What its engine runs.
    pub config: EngineConfig,
    /// When it boots (`None`: only on a `restart` fault).
    pub boot: Option<u64>,
    /// Clock offset, nanoseconds.
    pub clock_offset: u64,
    /// Clock drift, parts per million.
    pub drift_ppm: i64,
    /// Frames its socket buffer holds ([`NodeSpec::socket_buffer`]).
    pub socket_buffer: usize,
    /// Its runner's time per frame read, nanoseconds ([`NodeSpec::read_cost`]).
    pub read_cost: u64,
    /// The health checkers of its keepalived.conf's `virtual_server` blocks (`None`: none), as
    /// the checker engine runs them ([`CheckerSetup::from_conf`], exactly as vigild).
    pub checkers: Option<CheckerSetup>,
    /// The notification scripts of those virtual servers.
    pub notify_scripts: NotifyScripts,
}

/// The notification scripts of a director's virtual servers, as its keepalived.conf names them
/// (what vigild would run for each `Notify` action; `None`: no script, only the FIFO line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    /// Per virtual server: `quorum_up`, `quorum_down`.
    pub quorum: Vec<(Option<String>, Option<String>)>,
    /// Per virtual server, per real server: `notify_up`, `notify_down`.
    pub reals: Vec<Vec<(Option<String>, Option<String>)>>,
}

impl NotifyScripts {
    /// The scripts of `cfg`'s virtual servers.
    pub fn from_conf(cfg: &vigil_engine::conf::Config) -> NotifyScripts {
        let cmd = |s: &Option<vigil_engine::conf::Script>| s.as_ref().map(|s| s.command.clone());
        let vss = &cfg.checkers.virtual_servers;
        NotifyScripts {
            quorum: vss
                .iter()
                .map(|v| (cmd(&v.quorum_up), cmd(&v.quorum_down)))
                .collect(),
            reals: vss
                .iter()
                .map(|v| {
                    v.real_servers
                        .iter()
                        .map(|r| (cmd(&r.notify_up), cmd(&r.notify_down)))
                        .collect()
                })
                .collect(),
        }
    }
}

/// A simulated real server's health (`do = "server"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerHealth {
    /// Answers after the latency; a MISC_CHECK exits with this status.
    Up(u8),
    /// Refuses (connection refused, ICMP port unreachable; a MISC_CHECK exits with 1).
    Down,
    /// Answers after this long (nanoseconds); a MISC_CHECK exits with the status.
    Slow(u64, u8),
    /// Never answers.
    Hanging,
}

impl core::fmt::Display for ServerHealth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ServerHealth::Up(0) => f.write_str("up"),
            ServerHealth::Up(c) => write!(f, "up (MISC_CHECK exits {c})"),
            ServerHealth::Down => f.write_str("DOWN (refuses)"),
            ServerHealth::Slow(d, _) => write!(f, "SLOW (answers after {})", crate::dur::Dur(*d)),
            ServerHealth::Hanging => f.write_str("HANGING (never answers)"),
        }
    }
}

/// A resolved fault.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Crash a node.
    Crash(usize),
    /// Boot a new engine on a node.
    Restart(usize),
    /// Graceful stop.
    Stop(usize),
    /// `Input::Start` on a stopped node.
    Start(usize),
    /// Link change of (node, interface index).
    Link {
        /// Node.
        node: usize,
        /// Interface index within the node.
        iface: usize,
        /// New link state.
        up: bool,
    },
    /// Two-way partition of a segment: `side[node]` numbers each member's side.
    Partition {
        /// Segment.
        segment: usize,
        /// The side of each node (by node index; nodes not on the segment are ignored).
        side: Vec<usize>,
    },
    /// One-way block on a segment.
    Block {
        /// Segment.
        segment: usize,
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
    },
    /// Heal partitions and blocks (of one segment, or all).
    Heal(Option<usize>),
    /// Change the network model (of one segment, or all).
    Network(Option<usize>, NetworkSpec),
    /// Reload a node with a new priority for one instance.
    SetPriority {
        /// Node.
        node: usize,
        /// Instance name.
        instance: String,
        /// New priority.
        priority: u8,
    },
    /// A check program's result from now on.
    Check {
        /// Node.
        node: usize,
        /// Script name.
        script: String,
        /// The result of each run.
        result: vigil_engine::io::CheckResult,
    },
    /// A tracked file's value.
    TrackFile {
        /// Node.
        node: usize,
        /// File name.
        file: String,
        /// Value.
        value: i64,
    },
    /// SIGHUP with a new keepalived.conf (`reload`).
    Reload {
        /// Node.
        node: usize,
        /// What the file converts to, or the parser's error.
        config: Result<Box<EngineConfig>, String>,
        /// The scenario says the file must be refused.
        refused: bool,
    },
    /// The node's process freezes (`stall`) until the given virtual time, when a
    /// [`FaultAction::Resume`] of it follows.
    Stall(usize, u64),
    /// The node's process runs again: the frames that waited are read, the timers due served.
    Resume(usize),
    /// A simulated real server's health from now on.
    Server {
        /// Its address and port, as checkers reach it.
        addr: SocketAddr,
        /// How it answers.
        health: ServerHealth,
    },
    /// A stranger's defective advert for one instance of a node.
    Inject {
        /// Receiving node.
        node: usize,
        /// The node whose address it claims as its source (`None`: a stranger's).
        from: Option<usize>,
        /// Instance index within the node's configuration.
        instance: usize,
        /// What is wrong with it.
        defect: Defect,
    },
}

/// A resolved fault with its time.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// When, nanoseconds of virtual time.
    pub at: u64,
    /// What.
    pub action: FaultAction,
    /// Index of the fault in the scenario file (a flap's events share it).
    pub source: usize,
}

/// A resolved expectation.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// At `at`, `master` is the only MASTER of `instance` (`None`: there is none).
    Master {
        /// When.
        at: u64,
        /// Instance name.
        instance: String,
        /// Node index.
        master: Option<usize>,
    },
    /// At `at`, `count` MASTERs of `instance`.
    Masters {
        /// When.
        at: u64,
        /// Instance name.
        instance: String,
        /// How many.
        count: usize,
    },
    /// At `at`, `node`'s `instance` is in `state`.
    State {
        /// When.
        at: u64,
        /// Instance name.
        instance: String,
        /// Node index.
        node: usize,
        /// State.
        state: State,
    },
    /// Between `from` and `to`, between `min` and `max` state changes.
    Transitions {
        /// Window start.
        from: u64,
        /// Window end.
        to: u64,
        /// Node, or every node.
        node: Option<usize>,
        /// Instance, or every instance.
        instance: Option<String>,
        /// Lower bound.
        min: usize,
        /// Upper bound.
        max: usize,
    },
}

/// A scenario ready to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Name.
    pub name: String,
    /// Run length, nanoseconds.
    pub duration: u64,
    /// Default seed.
    pub seed: u64,
    /// Segments.
    pub segments: Vec<SegmentPlan>,
    /// Nodes.
    pub nodes: Vec<NodePlan>,
    /// Faults, by time (stable: file order within an instant).
    pub faults: Vec<FaultPlan>,
    /// Expectations, with their text for reports.
    pub expects: Vec<(Expect, String)>,
    /// Invariant families.
    pub checks: ChecksSpec,
    /// How long a simulated real server takes to answer a check, nanoseconds.
    pub server_latency: u64,
    /// Extra answer time, uniform in 0..=jitter per run, nanoseconds.
    pub server_jitter: u64,
}
