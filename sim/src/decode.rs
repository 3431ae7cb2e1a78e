//! `vigil-sim decode`: placeholder replaced below.

/// Decode every VRRP packet of a pcap file into JSON objects.
pub fn decode_pcap(_bytes: &[u8]) -> Result<Vec<serde_json::Value>, String> {
    Err("not yet".into())
}
