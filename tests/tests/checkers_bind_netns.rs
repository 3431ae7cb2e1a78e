//! The socket options of network checkers (keepalived.conf(5) `bindto`, `bind_port`, `fwmark`,
//! `bind_if`), seen from the real server, in network namespaces.
//!
//! Host 1 is the director (vigild, TCP_CHECKs only), with two more addresses on eth0
//! (192.0.2.201, 192.0.2.202), a policy rule that routes packets marked 7 to the real server
//! with source 192.0.2.202, and a veth `vx0` (its peer vx1 in the same namespace) with no route to the real server. Host 2
//! runs a small TCP server on four ports that writes down each client's address and port.
//! * `bindto 192.0.2.201` + `bind_port 40001`: the real server sees 192.0.2.201:40001;
//! * `fwmark 7`: the mark reaches routing: the real server sees 192.0.2.202;
//! * `bind_if eth0`: checks pass, from the director's own address;
//! * `bind_if vx0`: the check cannot leave through vx0: its real server is DOWN.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vigil_tests::netns::{self, Kind, Lab};

struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        netns::signal(self.0.id(), libc::SIGKILL);
        let _ = self.0.wait();
    }
}

fn line_of(st: &str, port: u16) -> String {
    st.lines()
        .find(|l| l.contains(&format!("Real server 192.0.2.12:{port}:")))
        .unwrap_or("")
        .to_string()
}

#[test]
fn bindto_bind_port_fwmark_and_bind_if_reach_the_socket() {
    if !netns::require_root() {
        return;
    }
    let mut lab = Lab::new("ckbind", 2);
    assert_eq!(netns::host_v4(2).to_string(), "192.0.2.12");
    for cmd in [
        "ip addr add 192.0.2.201/24 dev eth0",
        "ip addr add 192.0.2.202/24 dev eth0",
        "ip rule add fwmark 7 table 7",
        "ip route add 192.0.2.12/32 dev eth0 src 192.0.2.202 table 7",
        "ip link add vx0 type veth peer name vx1",
        "ip link set vx0 up",
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        let out = lab.exec(1, &args);
        assert!(out.status.success(), "{cmd}: {out:?}");
    }
    let dir = lab
        .write("peer.py", "")
        .parent()
        .expect("dir")
        .to_path_buf();
    let d = dir.display().to_string();
    let code = format!(
        "import socket, threading
def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('192.0.2.12', port))
    s.listen(16)
    while True:
        c, a = s.accept()
        with open('{d}/peer%d' % port, 'a') as f:
            f.write('%s %d\\n' % (a[0], a[1]))
        c.close()
for p in (8081, 8082, 8083, 8084):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Event().wait()
"
    );
    let _peer = Peer(
        Command::new("ip")
            .args(["netns", "exec", &lab.ns(2), "python3", "-c", &code])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3"),
    );
    let conf = "virtual_server 192.0.2.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.12 8081 {
        TCP_CHECK {
            bindto 192.0.2.201
            bind_port 40001
            connect_timeout 1
        }
    }
    real_server 192.0.2.12 8082 {
        TCP_CHECK {
            fwmark 7
            connect_timeout 1
        }
    }
    real_server 192.0.2.12 8083 {
        TCP_CHECK {
            bind_if eth0
            connect_timeout 1
        }
    }
    real_server 192.0.2.12 8084 {
        TCP_CHECK {
            bind_if vx0
            connect_timeout 1
            retry 0
        }
    }
}
";
    let node = lab.start(Kind::Vigil, 1, conf);
    let peers =
        |port: u16| std::fs::read_to_string(dir.join(format!("peer{port}"))).unwrap_or_default();
    assert!(
        netns::wait_until(Duration::from_secs(15), || {
            [8081, 8082, 8083].iter().all(|&p| !peers(p).is_empty())
                && line_of(&lab.vigild_status(node), 8084).contains(": DOWN")
        }),
        "checks did not all arrive:\n{}\n{}",
        lab.vigild_status(node),
        lab.logs()
    );
    let first = |port: u16| peers(port).lines().next().unwrap_or("").to_string();
    assert_eq!(first(8081), "192.0.2.201 40001", "bindto + bind_port");
    assert!(
        first(8082).starts_with("192.0.2.202 "),
        "fwmark 7: {}",
        first(8082)
    );
    assert!(
        first(8083).starts_with("192.0.2.11 "),
        "bind_if eth0: {}",
        first(8083)
    );
    assert!(
        peers(8084).is_empty(),
        "bind_if vx0 reached the server: {}",
        peers(8084)
    );
    let st = lab.vigild_status(node);
    for p in [8082, 8083] {
        assert!(line_of(&st, p).contains(": UP"), "{p}:\n{st}");
    }
    assert!(line_of(&st, 8084).contains(": DOWN"), "{st}");
}
