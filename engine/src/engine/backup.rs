//! BACKUP (RFC 5798 section 6.4.2): what a BACKUP does with an advert it accepted (priority 0:
//! Master_Down_Timer to Skew_Time; a priority at least its own, or no preemption: restart the
//! Master_Down_Timer with the sender's interval; keepalived's `preempt_delay`). The takeover
//! itself, when the Master_Down_Timer fires, is `Engine::master_down` in `sync_group.rs`
//! (handler B->M of the matrix; a lone instance goes straight to MASTER).

#[allow(unused_imports)]
use super::*;

impl Engine {
    /// RFC 5798 section 6.4.2 (Backup), with keepalived's preempt_delay.
    pub(super) fn backup_rx(
        &mut self,
        now: Instant,
        i: usize,
        prio: u8,
        heard: Duration,
        src: IpAddr,
    ) {
        let inst = &mut self.instances[i];
        if prio == 0 {
            // The master is leaving: take over after Skew_Time.
            inst.skew_down_timer(now);
            return;
        }
        let preempt_held = if inst.cfg.preempt
            && prio < inst.priority
            && inst.cfg.preempt_delay > Duration::ZERO
        {
            // keepalived: the delay runs from the first lower-priority advert heard (or start-up).
            let at = *inst
                .preempt_at
                .get_or_insert(now.saturating_add(inst.cfg.preempt_delay));
            now < at
        } else {
            false
        };
        if !inst.cfg.preempt || prio >= inst.priority || preempt_held {
            if prio >= inst.priority {
                inst.preempt_at = None;
            }
            let learned = inst.cfg.version == Version::V3 && inst.master_adver_interval != heard;
            if learned {
                inst.master_adver_interval = heard;
            }
            inst.master_addr = Some(src);
            inst.want_master = false;
            inst.restart_down_timer(now);
            if learned {
                // Skew_Time follows Master_Adver_Interval (read_delay.rs).
                self.note_wait(i);
            }
        }
        // else: a lower priority and preemption on: discard; the timer runs out and we take over.
    }
}
