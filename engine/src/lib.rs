//! # vigil-engine: a sans-IO VRRP engine
//!
//! The protocol of Vigil, a VRRP router-redundancy daemon that speaks keepalived's wire protocol
//! and reads its configuration: the wire codec ([`wire`]), the state machine of RFC 5798 with the
//! RFC 9568 updates and keepalived's FAULT state ([`Engine`]), and the keepalived.conf parser
//! ([`conf`]). No I/O, no clock reads, no threads, no randomness, no global state: the same inputs
//! in the same order produce the same actions, bit for bit. The Linux daemon (`vigild`) and the
//! simulator (`vigil-sim`) drive the very same engine.
//!
//! ## The run-loop contract
//!
//! One [`Engine`] owns every instance of a router, keyed by (interface, address family, VRID).
//! A runner does this, forever:
//!
//! 1. Build the engine from an [`EngineConfig`]. Report each interface's link state and its
//!    primary IPv4 / link-local IPv6 address with [`Input::Link`] and
//!    [`Input::PrimaryAddress`], then feed [`Input::Start`].
//! 2. After **every** call into the engine, drain [`Engine::poll_action`] until it returns
//!    `None`, and carry the actions out in order: send adverts (encoded with
//!    [`SendAdvert::encode`], so every runner sends the same bytes), add / remove / announce
//!    virtual addresses, log state changes. Actions that came out of one call belong together:
//!    adverts from one [`Engine::handle_timeout`] can go out as one batch (`sendmmsg`).
//! 3. Ask [`Engine::poll_timeout`] for the one next deadline; it is the only timer a runner
//!    keeps. Sleep until that deadline or until input arrives.
//! 4. On input (a received packet, a link or address change, a check result, a shutdown
//!    request) call [`Engine::handle_input`] with the current time, and on a new configuration
//!    (SIGHUP) [`Engine::reload`]; when the deadline is reached call
//!    [`Engine::handle_timeout`]. A call with nothing due is a no-op, so waking early is harmless
//!    and waking late only delays what was due (the schedule is absolute, see below).
//! 5. **Read before deciding.** Before [`Engine::handle_timeout`], read what the receive queues
//!    (sockets) hold and feed it, each packet with its arrival time; then report with
//!    [`Input::ReceiveQueue`] an interface whose queue is still not empty (the read budget ran
//!    out) or lost packets (its buffer overflowed). A Master_Down_Timer due while adverts wait
//!    or were lost is extended once by one Master_Adver_Interval instead of taking over: the
//!    rule and its RFC reasoning are in the `backlog` module of the engine (issue 20).
//!
//! Time is the engine's own [`Instant`]: nanoseconds since an epoch the runner picks (the daemon
//! maps `CLOCK_MONOTONIC`, the simulator runs virtual time). `now` must never go backwards.
//!
//! ## Errors and bugs
//!
//! Bad input from the network is not an error of the engine: a packet that fails a check of
//! RFC 5798 section 7.1 is dropped, counted under a named counter ([`stats::InstanceStats`],
//! [`stats::RouterStats`]) and reported as [`Action::ProtocolError`]; it never changes state.
//! What the operator's log should say about it (and about a differing VRRPv3 interval or two
//! address owners) is decided and rate-limited here too, as [`Action::Notice`] ([`notices`]).
//! A configuration the engine cannot run is rejected by [`Engine::new`] with a [`SetupError`].
//! A panic is always a bug, and the simulator and the fuzzer exist to find it.
//!
//! ## The schedule
//!
//! Schedules are absolute. A master's next advert is due one Advertisement_Interval after the
//! previous *deadline*, not after the previous send, so lateness never accumulates (keepalived
//! reschedules relative to the last send). A master's adverts sit on a grid of multiples of its
//! interval since the engine's epoch ([`instance::grid_after`]): every instance with the same
//! interval falls due at the same instant, and one [`Engine::handle_timeout`] serves them all;
//! an interval class of more than [`instance::GRID_BATCH`] instances is split into equal
//! batches at evenly spaced phases of the interval (`instance::spread_grid_phases`), so that
//! no advert waits behind a burst of thousands.
//! A master joins the grid without ever sending two adverts less than one interval apart
//! ([`instance::next_advert_after`]; RFC 5798 section 6.4.2: "Set the Adver_Timer to
//! Advertisement_Interval"): the second advert after becoming MASTER comes at the first grid
//! point at least one interval after the first, so that one gap is between one and two
//! intervals (backups wait three intervals plus skew), and every later gap is exactly one.
//!
//! Backups restart their Master_Down_Timer on every advert without touching the timer heap: the
//! old heap entry, when reached, is moved to the new deadline ([`Engine::poll_timeout`] does that
//! before answering), so receiving an advert is O(1) whatever the number of instances.
//!
//! ## Sync groups: the Transition State Matrix
//!
//! A sync group (keepalived's `vrrp_sync_group`) names instances that must change state
//! together, possibly on different interfaces and address families. The seed (keepalived 0.7.1)
//! defined six handlers by the state before (S) and after (E) of the member that moved; Vigil
//! implements them as keepalived does today, and the whole group moves inside the one engine call
//! that moved the member, so no observer ever sees a half-moved group:
//!
//! | S -> E | handler | what the other members do |
//! |--------|---------|---------------------------|
//! | B -> M | 1 | a member whose Master_Down_Timer ran out *wants* MASTER; the group goes MASTER when every member wants it (all in the call that expires the last timer) |
//! | B -> F | 2 | every member goes FAULT |
//! | M -> B | 3 | every MASTER member goes BACKUP (fresh Master_Down_Timer) |
//! | M -> F | 4 | every member goes FAULT; masters whose link works leave with a priority-0 advert |
//! | F -> B | 5 | when no member has a fault left, every member leaves FAULT for BACKUP in one step |
//! | F -> M | 6 | the same, straight to MASTER when every member is an address owner |
//!
//! A [`Action::GroupStateChange`] (keepalived's `GROUP name STATE` notification) follows once
//! every member has reached the new state, naming the member that caused it.
//!
//! Where keepalived is ambiguous, Vigil chose:
//! * **Members whose timers run out at different times.** keepalived waits for every member's
//!   "wanted state" to be MASTER. So does Vigil: a member whose timer ran out keeps waiting with
//!   its timer stopped, and stops wanting MASTER as soon as it hears a master again (then its
//!   timer restarts). The group cannot split between two routers.
//! * **Priority 0 heard by one member.** Only that member's timer drops to Skew_Time; the group
//!   moves when every member's timer has run out. A router that shuts down gracefully sends
//!   priority 0 on every instance, so the group still moves after Skew_Time.
//! * **Weighted trackers** (keepalived issue #2105: its documentation and code disagree). Without
//!   `sync_group_tracking_weight`, a member's failed tracker of *any* weight counts as weight 0:
//!   the member, and so the group, goes FAULT, and weights never change a member's priority.
//!   With it, weights change the member's own priority as for a lone instance, and the group
//!   moves only through the matrix. This is what keepalived's code does.
//! * **Address owners in a mixed group** start like any member (BACKUP, then MASTER with the
//!   group); a group of owners only goes straight to MASTER at start-up and when leaving FAULT.
//!
//! ## Tracking
//!
//! Instances track interfaces (link), check programs (`vrrp_script`, reported by the runner as
//! [`Input::Check`]) and files (`vrrp_track_file`, [`Input::TrackFile`]):
//! * A check run that lasted longer than the script's timeout is a failure whatever its exit
//!   status (the seed's MISC_CHECK rule); `fall` consecutive failures take the script down,
//!   `rise` consecutive successes bring it up; `init_fail` starts it down.
//! * Weight 0 (or none): down means FAULT. A positive weight is added to the priority while the
//!   object is up, a negative one while it is down; `reverse` swaps up and down. A file adds its
//!   value times the weight (negated by `reverse`); with weight 0 a non-zero value means FAULT,
//!   and an adjustment of -254 or less means FAULT (keepalived).
//! * The effective priority is clamped to 1..=254; the address owner's (255) never changes. A
//!   change is reported as [`Action::PriorityChange`] and takes effect in the next advert and the
//!   next Skew_Time / Master_Down_Interval computation.
//!
//! ## Announcements
//!
//! On becoming MASTER an instance with virtual addresses sends `garp_master_repeat` (default 5)
//! [`Action::Announce`]s, one gratuitous ARP (IPv4) or unsolicited neighbour advertisement (IPv6)
//! per address each, through each interface's gate (`vrrp_garp_interval` / `vrrp_gna_interval`,
//! `garp_group`; default none: back to back): keepalived 2.2.7's per-interface minimum spacing,
//! where an address asked for before the gate opens is marked pending once and goes when it opens;
//! the same burst again after `garp_master_delay` (default 5 s; 0 disables it); bursts of
//! `garp_master_refresh_repeat` every `garp_master_refresh` (default off); and, when a MASTER hears
//! a lower priority, a burst of `garp_lower_prio_repeat` and another after
//! `garp_lower_prio_delay` (re-announcing after a split brain heals, keepalived issues #166 and
//! #1884). With `garp_extra_if all SECS`, a MASTER also announces, at the first of its adverts
//! at least SECS after the previous such announcement, the first address of each other interface
//! that carries one of its addresses (`dev`), once: switches keep those interfaces' MAC addresses.
//! Every announcement is an action at an exact virtual time: no timer lives outside the engine.
//!
//! ## Notifications
//!
//! Every transition is an [`Action::StateChange`] with the old and new state, the effective
//! priority and a [`Reason`]; BACKUP transitions included (the seed added BACKUP e-mails). The
//! seed sent the MASTER notification only when virtual addresses were set; every Vigil instance
//! has at least one (RFC 5798 section 5.2.5: an advert carries 1..=255 addresses; keepalived 2.x
//! also notifies MASTER unconditionally), so runners notify every transition, exactly like
//! keepalived's `notify_*` scripts and FIFO. Counters ([`stats::InstanceStats`]) are readable at
//! any time through [`Engine::instance`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
mod by_name;
pub mod checker;
pub mod conf;
pub mod dataplane;
pub mod dump;
mod engine;
pub mod from_conf;
pub mod instance;
pub mod io;
pub mod notices;

pub mod setup;
pub mod stats;
pub mod time;
pub mod track_process;
pub mod vmac_addr;
pub mod vmac_name;
pub mod wire;

pub use address::{AddrFlags, Scope, VirtualAddress, LIFETIME_FOREVER};
pub use engine::{Engine, InstanceView, TrackerStatus};
pub use io::{
    Action, Destination, DropReason, IfaceId, Input, InstanceId, PriorityReport, Reason, Received,
    SendAdvert, State,
};
pub use notices::Notice;
pub use setup::{EngineConfig, InstanceConfig, SetupError, WantState};
pub use time::Instant;
