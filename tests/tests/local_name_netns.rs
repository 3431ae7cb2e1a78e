//! `router_id`'s default when the resolver answers late (keepalived.conf(5) `router_id`: the
//! host name, as the resolver gives it; io-linux `operator/local_name.rs`).
//!
//! vigild waits at most 250 ms for the local name at start, then runs with `[unknown]`; the
//! look-up goes on, and its answer is taken when it comes. Here the answer is made late on
//! purpose: one host's namespace gets, through `ip netns exec`'s per-namespace files
//! (`/etc/netns/NS/`, removed when the test ends), an `/etc/hosts` without the host name, an
//! `nsswitch.conf` of `files dns`, and a `resolv.conf` naming a DNS server of the test's own on
//! the namespace's loopback. That server answers every question 2 s late, with a CNAME to
//! `lb1.example.net` (and, for an A question, 192.0.2.10). The daemon must say it did not
//! resolve within the wait, and then its status (`vigild status`) must name `lb1.example.net`
//! and its log say the name came late. Before session 16 the late answer was thrown away and
//! the status said `[unknown]` for the daemon's life.
//!
//! Needs root and python3: without them the test says NOT RUN.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_tests::http_lab::Proc;
use vigil_tests::netns::{not_run, require_root, wait_until, Kind, Lab};

/// The DNS server: every question answered `delay` seconds after it came, on a thread each
/// (glibc asks for A and AAAA together), with a CNAME to lb1.example.net, plus an A record of
/// 192.0.2.10 for an A question. Writes `ready` when bound and `answered TYPE` per answer.
const DNS: &str = r#"
import socket, struct, sys, threading, time
delay, log = float(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
def note(line):
    with open(log, "a") as f:
        f.write(line + "\n")
def name(text):
    return b"".join(bytes([len(p)]) + p for p in text.split(b".")) + b"\x00"
def answer(data, peer):
    time.sleep(delay)
    i = 12
    while data[i] != 0:
        i += data[i] + 1
    question = data[12:i + 5]
    qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
    target = name(b"lb1.example.net")
    records = [b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 60, len(target)) + target]
    if qtype == 1:
        at = 12 + len(question) + 12
        records.append(struct.pack(">HHHIH", 0xC000 | at, 1, 1, 60, 4) + bytes([192, 0, 2, 10]))
    header = data[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, len(records), 0, 0)
    s.sendto(header + question + b"".join(records), peer)
    note("answered %d" % qtype)
note("ready")
while True:
    data, peer = s.recvfrom(512)
    threading.Thread(target=answer, args=(data, peer), daemon=True).start()
"#;

/// `/etc/netns/NS/`, removed on drop (also when the test fails).
struct NetnsEtc(PathBuf);

impl NetnsEtc {
    fn new(ns: &str) -> NetnsEtc {
        let dir = PathBuf::from("/etc/netns").join(ns);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {dir:?}: {e}"));
        let guard = NetnsEtc(dir);
        for (file, text) in [
            ("hosts", "127.0.0.1 localhost\n"),
            ("nsswitch.conf", "hosts: files dns\n"),
            (
                "resolv.conf",
                "nameserver 127.0.0.1\noptions timeout:10 attempts:1\n",
            ),
        ] {
            let p = guard.0.join(file);
            fs::write(&p, text).unwrap_or_else(|e| panic!("cannot write {p:?}: {e}"));
        }
        guard
    }
}

impl Drop for NetnsEtc {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
        // `/etc/netns` itself only when no other namespace has files there (it fails otherwise).
        let _ = fs::remove_dir("/etc/netns");
    }
}

const CONF: &str = "vrrp_instance VI_NAME {\n  state BACKUP\n  interface eth0\n  \
                    virtual_router_id 71\n  priority 100\n  advert_int 1\n  \
                    virtual_ipaddress {\n    192.0.2.71/24\n  }\n}\n";

#[test]
fn a_late_answer_of_the_resolver_becomes_router_id() {
    if !require_root() {
        return;
    }
    if Command::new("python3").arg("--version").output().is_err() {
        not_run("python3 is not installed");
        return;
    }
    let mut lab = Lab::new("local-name", 1);
    let ns = lab.ns(1);
    let _etc = NetnsEtc::new(&ns);
    let dns_log = lab.write("dns.log", "");
    let script = lab.write("dns.py", DNS);
    // Ended (by its PID) when dropped, also when the test fails.
    let server = Proc(Some(
        Command::new("ip")
            .args(["netns", "exec", &ns, "python3"])
            .arg(&script)
            .arg("2.0")
            .arg(&dns_log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the DNS server: {e}")),
    ));
    let read = |p: &PathBuf| fs::read_to_string(p).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(20), || read(&dns_log).contains("ready")),
        "the DNS server did not start"
    );
    let idx = lab.start(Kind::Vigil, 1, CONF);
    let status_name = |lab: &Lab| {
        lab.vigild_status(idx)
            .lines()
            .next()
            .and_then(|l| l.split(" on ").nth(1))
            .and_then(|l| l.split(':').next())
            .map(str::to_string)
            .unwrap_or_default()
    };
    let mut last = String::new();
    let named = wait_until(Duration::from_secs(30), || {
        last = status_name(&lab);
        last == "lb1.example.net"
    });
    let log = lab.node(idx).log_text();
    assert!(
        named,
        "router_id stayed {last:?} after the resolver's answer\nDNS: {}\nvigild log:\n{log}",
        read(&dns_log)
    );
    assert!(
        read(&dns_log).contains("answered 1"),
        "the name did not come from the test's server: {}",
        read(&dns_log)
    );
    assert!(
        log.contains("did not resolve within 250 ms"),
        "the daemon did not wait 250 ms and go on (the server answers 2 s late):\n{log}"
    );
    assert!(
        log.contains("resolved after") && log.contains("lb1.example.net"),
        "the late answer was not reported:\n{log}"
    );
    // `vigild -d -t` (dump, then check, then exit; without `-t`, `-d` dumps and starts the
    // daemon, as keepalived's does) waits for the resolver as keepalived does: the dump comes
    // first, and it had the daemon's 250 ms and printed "[unknown]".
    let conf = lab.write("dump.conf", CONF);
    let dump = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(Lab::vigild_path())
        .args(["-d", "-t", "-f"])
        .arg(&conf)
        .output()
        .unwrap_or_else(|e| panic!("cannot run vigild -d -t: {e}"));
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        text.contains(" Router ID = lb1.example.net"),
        "vigild -d -t did not wait for the resolver:\n{text}\n{}\nDNS: {}",
        String::from_utf8_lossy(&dump.stderr),
        read(&dns_log)
    );
    drop(server);
}
