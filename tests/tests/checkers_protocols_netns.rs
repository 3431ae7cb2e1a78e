//! SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK and FILE_CHECK run by vigild against real
//! servers in network namespaces (issue 16).
//!
//! Host 2 runs a small server of the test's own (Python, standard library only): SMTP on port
//! 2525 (220 greeting, 250 to HELO, 221 to QUIT), a UDP echo on 5000 and a DNS responder on 5353
//! that answers every query with its id, QR set and RCODE 0. Host 1 runs vigild with one virtual
//! server whose real servers each carry one checker. Asserted through `vigild status`:
//! * all pass while the server runs; a UDP_CHECK to a closed port fails (ICMP port unreachable);
//!   a PING_CHECK to an address nobody has fails (no echo reply by the deadline);
//! * a FILE_CHECK's weight follows its file (weight = configured + value x multiplier);
//! * the server stopped: SMTP, DNS and the UDP_CHECK that requires a reply go down; the PING_CHECK
//!   to host 2 stays up.

use std::fs;
use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_tests::http_lab::Proc;
use vigil_tests::netns::{self, Kind, Lab};

const SERVER: &str = r#"
import socket, struct, sys, threading
addr = sys.argv[1]

def smtp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 2525)); s.listen(8)
    while True:
        c, _ = s.accept()
        try:
            f = c.makefile('rb')
            c.sendall(b'220 mx.example.com ready\r\n')
            for line in f:
                if line.upper().startswith(b'HELO'):
                    c.sendall(b'250 hello\r\n')
                elif line.upper().startswith(b'QUIT'):
                    c.sendall(b'221 bye\r\n'); break
        except OSError:
            pass
        c.close()

def echo():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, 5000))
    while True:
        d, a = u.recvfrom(2048); u.sendto(d, a)

def dns():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, 5353))
    while True:
        d, a = u.recvfrom(2048)
        if len(d) < 12: continue
        qid, flags = struct.unpack('!HH', d[:4])
        rd = flags & 0x0100
        u.sendto(struct.pack('!HHHHHH', qid, 0x8000 | rd, 1, 0, 0, 0) + d[12:], a)

for t in (smtp, echo, dns):
    threading.Thread(target=t, daemon=True).start()
threading.Event().wait()
"#;

/// The status line of real server `addr:port`.
fn line(st: &str, who: &str) -> String {
    st.lines()
        .find(|l| l.contains(&format!("Real server {who}:")))
        .unwrap_or("")
        .to_string()
}

#[test]
// Long: one end-to-end scenario in steps, each starting from the state the previous left (the namespace lab is costly to build).
fn smtp_dns_udp_ping_and_file_checks_in_namespaces() {
    if !netns::require_root() {
        return;
    }
    let mut lab = Lab::new("checkproto", 2);
    let h2 = netns::host_v4(2);
    let server = lab.write("server.py", SERVER);
    let weight_file = lab.write("weight", "0\n");
    let mut srv = Proc(Some(
        Command::new("ip")
            .args(["netns", "exec", &lab.ns(2), "python3"])
            .arg(&server)
            .arg(h2.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3"),
    ));
    let up = |lab: &Lab| {
        let code = format!("import socket; socket.create_connection(('{h2}', 2525), 1)");
        lab.exec(1, &["python3", "-c", &code]).status.success()
    };
    assert!(
        netns::wait_until(Duration::from_secs(10), || up(&lab)),
        "test server not listening"
    );
    // Real servers are told apart by their (documentation) addresses; each checker connects to
    // host 2 (or to nobody) through connect_ip / connect_port.
    let conf = format!(
        "track_file weight {{
    file {wf}
    weight 3
}}
virtual_server 192.0.2.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 80 {{
        SMTP_CHECK {{
            connect_ip {h2}
            connect_port 2525
            connect_timeout 1
            retry 0
            helo_name checker.example.com
        }}
    }}
    real_server 198.51.100.2 80 {{
        DNS_CHECK {{
            connect_ip {h2}
            connect_port 5353
            connect_timeout 1
            retry 0
            type A
            name www.example.com
        }}
    }}
    real_server 198.51.100.3 80 {{
        UDP_CHECK {{
            connect_ip {h2}
            connect_port 5000
            connect_timeout 1
            retry 0
            payload 76 69 67 69 6c
            require_reply 76 69
        }}
    }}
    real_server 198.51.100.4 80 {{
        UDP_CHECK {{
            connect_ip {h2}
            connect_port 5999
            connect_timeout 1
            retry 0
        }}
    }}
    real_server 198.51.100.5 80 {{
        PING_CHECK {{
            connect_ip {h2}
            connect_timeout 1
            retry 0
        }}
    }}
    real_server 198.51.100.6 80 {{
        PING_CHECK {{
            connect_ip 192.0.2.99
            connect_timeout 1
            retry 0
        }}
    }}
    real_server 198.51.100.7 80 {{
        weight 2
        FILE_CHECK {{
            track_file weight
        }}
    }}
}}
",
        wf = weight_file.display()
    );
    let node = lab.start(Kind::Vigil, 1, &conf);
    let expect = |lab: &Lab, want: &[(&str, &str)]| {
        let st = lab.vigild_status(node);
        want.iter().all(|(who, s)| line(&st, who).contains(s))
    };
    let first = [
        ("198.51.100.1", ": UP"),
        ("198.51.100.2", ": UP"),
        ("198.51.100.3", ": UP"),
        ("198.51.100.4", ": DOWN"),
        ("198.51.100.5", ": UP"),
        ("198.51.100.6", ": DOWN"),
        ("198.51.100.7", "UP weight 2 table weight 2"),
    ];
    assert!(
        netns::wait_until(Duration::from_secs(10), || expect(&lab, &first)),
        "first table:\n{}\n{}",
        lab.vigild_status(node),
        lab.logs()
    );
    let st = lab.vigild_status(node);
    assert!(
        line(&st, "198.51.100.4").contains("last port unreachable")
            || st.contains("port unreachable"),
        "{st}"
    );

    // FILE_CHECK: value 4 x weight 3 is added to the configured 2.
    fs::write(&weight_file, "4\n").expect("write");
    assert!(
        netns::wait_until(Duration::from_secs(5), || expect(
            &lab,
            &[("198.51.100.7", "UP weight 14 table weight 14")]
        )),
        "FILE_CHECK weight:\n{}",
        lab.vigild_status(node)
    );

    // The server stops: SMTP, DNS and the UDP check that needs a reply go down; ping stays up.
    srv.stop();
    let after = [
        ("198.51.100.1", ": DOWN"),
        ("198.51.100.2", ": DOWN"),
        ("198.51.100.3", ": DOWN"),
        ("198.51.100.5", ": UP"),
    ];
    assert!(
        netns::wait_until(Duration::from_secs(10), || expect(&lab, &after)),
        "after the server stopped:\n{}\n{}",
        lab.vigild_status(node),
        lab.logs()
    );
    eprintln!("{}", lab.vigild_status(node));
    lab.node(node).terminate();
}
