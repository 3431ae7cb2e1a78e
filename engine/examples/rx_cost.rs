//! Drive the engine's receive or timer path a given number of times, for instruction counting
//! under valgrind (`engine/benches/instructions.sh`): instruction counts do not depend on what
//! else the machine is doing, so they complement the criterion timings on a shared machine.
//!
//! Usage: `rx_cost (receive|receive-grouped|timer|wakeup) INSTANCES ITERATIONS`
//!
//! `wakeup`: what vigild asks the engine at every wake-up of a backup of INSTANCES instances,
//! besides the adverts it reads (`Engine::input_may_wait`, `Engine::next_deadline_is_takeover`,
//! `Engine::poll_timeout`); per iteration.

use std::time::Duration;

use vigil_engine::Instant;

#[path = "../benches/workload.rs"]
mod workload;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(n), Some(iters)) = (
        args.get(1),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
        args.get(3).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: rx_cost (receive|receive-grouped|timer|wakeup) INSTANCES ITERATIONS");
        std::process::exit(2);
    };
    let timer = mode == "timer";
    let wakeup = mode == "wakeup";
    let cfg = match mode.as_str() {
        "timer" => workload::config(n, 255),
        "receive-grouped" => workload::grouped(n),
        _ => workload::config(n, 100),
    };
    let mut e = workload::start(cfg);
    let pkts = workload::adverts(&e, n);
    let mut now = Instant::from_millis(1);
    let mut sent = 0;
    let mut asked = 0u64;
    for k in 0..iters {
        if wakeup {
            let w = e.input_may_wait();
            let t = e.next_deadline_is_takeover();
            let d = e.poll_timeout();
            asked += u64::from(w.is_some()) + u64::from(t) + u64::from(d.is_some());
            continue;
        }
        if timer {
            sent += workload::tick(&mut e);
        } else {
            let (iface, bytes) = &pkts[(k as usize) % pkts.len()];
            now = now + Duration::from_nanos(100);
            sent += workload::deliver(&mut e, now, *iface, bytes);
        }
    }
    let received: u64 = e.instances().map(|i| i.stats().adverts_received).sum();
    let backups = e
        .instances()
        .filter(|i| i.state() == vigil_engine::State::Backup)
        .count();
    println!(
        "{mode} {n} {iters} adverts_sent={sent} adverts_received={received} backups={backups}"
    );
    if wakeup {
        println!("asked={asked}");
        if asked != 3 * iters {
            eprintln!("rx_cost: the backups are not waiting for a takeover: the workload is wrong");
            std::process::exit(1);
        }
        return;
    }
    if !timer && received != iters {
        eprintln!(
            "rx_cost: only {received} of {iters} adverts were accepted: the workload is wrong"
        );
        std::process::exit(1);
    }
}
