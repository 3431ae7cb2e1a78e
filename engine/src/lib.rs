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
//! 4. On input (a received packet, a link or address change, a shutdown request) call
//!    [`Engine::handle_input`] with the current time; when the deadline is reached call
//!    [`Engine::handle_timeout`]. A call with nothing due is a no-op, so waking early is harmless
//!    and waking late only delays what was due (the schedule is absolute, see below).
//!
//! Time is the engine's own [`Instant`]: nanoseconds since an epoch the runner picks (the daemon
//! maps `CLOCK_MONOTONIC`, the simulator runs virtual time). `now` must never go backwards.
//!
//! ## Errors and bugs
//!
//! Bad input from the network is not an error of the engine: a packet that fails a check of
//! RFC 5798 section 7.1 is dropped, counted under a named counter ([`stats::InstanceStats`],
//! [`stats::RouterStats`]) and reported as [`Action::ProtocolError`]; it never changes state.
//! A configuration the engine cannot run is rejected by [`Engine::new`] with a [`SetupError`].
//! A panic is always a bug, and the simulator and the fuzzer exist to find it.
//!
//! ## The schedule
//!
//! Schedules are absolute. A master's next advert is due one Advertisement_Interval after the
//! previous *deadline*, not after the previous send, so lateness never accumulates (keepalived
//! reschedules relative to the last send). A master's adverts sit on a grid of multiples of its
//! interval since the engine's epoch ([`instance::grid_after`]): every instance with the same
//! interval falls due at the same instant, and one [`Engine::handle_timeout`] serves them all.
//! This is safe per RFC 5798 section 6.4.3: the RFC only needs the gap between adverts never to
//! exceed the interval; joining the grid shortens the first gap after becoming MASTER (to between
//! 0 and one interval) and leaves every later gap at exactly one interval.
//!
//! Backups restart their Master_Down_Timer on every advert without touching the timer heap: the
//! old heap entry, when reached, is moved to the new deadline ([`Engine::poll_timeout`] does that
//! before answering), so receiving an advert is O(1) whatever the number of instances.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod conf;
mod engine;
pub mod instance;
pub mod io;
pub mod setup;
pub mod stats;
pub mod time;
pub mod wire;

pub use engine::{Engine, InstanceView};
pub use io::{
    Action, Destination, DropReason, IfaceId, Input, InstanceId, Reason, Received, SendAdvert,
    State,
};
pub use setup::{EngineConfig, InstanceConfig, SetupError, VirtualAddress};
pub use time::Instant;
