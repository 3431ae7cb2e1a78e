//! Drive the engine's receive or timer path a given number of times, for instruction counting
//! under valgrind (`engine/benches/instructions.sh`): instruction counts do not depend on what
//! else the machine is doing, so they complement the criterion timings on a shared machine.
//!
//! Usage: `rx_cost (receive|timer) INSTANCES ITERATIONS`

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
        eprintln!("usage: rx_cost (receive|timer) INSTANCES ITERATIONS");
        std::process::exit(2);
    };
    let timer = mode == "timer";
    let mut e = workload::start(workload::config(n, if timer { 255 } else { 100 }));
    let pkts = workload::adverts(n);
    let mut now = Instant::from_millis(1);
    let mut sent = 0;
    for k in 0..iters {
        if timer {
            sent += workload::tick(&mut e);
        } else {
            let (iface, bytes) = &pkts[(k as usize) % pkts.len()];
            now = now + Duration::from_nanos(100);
            sent += workload::deliver(&mut e, now, *iface, bytes);
        }
    }
    println!("{mode} {n} {iters} adverts_sent={sent}");
}
