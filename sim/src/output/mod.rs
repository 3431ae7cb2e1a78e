//! What a run leaves behind: the trace ([`trace`]: the timeline and one JSON object per
//! event), the Ethernet frames for `--pcap` ([`frames`]), the SVG of each node's states
//! ([`svg`]) and the failure report with its replay command ([`report`]).

pub mod frames;
pub mod report;
pub mod svg;
pub mod trace;
