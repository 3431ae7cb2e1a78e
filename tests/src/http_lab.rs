//! Real HTTP servers and clients for the load-balancer suites (`dataplane_netns`,
//! `dataplane_group_netns`): a server that answers every GET with its own name, a client that
//! keeps one connection open, the process guard that ends what a test started, and the
//! measures the suites apply to what the servers answered.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::netns::{self, Lab};

/// A real server: `server.py NAME ADDRESS PORT` answers every GET with `NAME\n` (HTTP/1.1,
/// keep-alive, one thread per connection; IPv6 when the address has a colon).
pub const NAMED_SERVER: &str = r#"
import sys, http.server
name, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = (name + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    if ":" in addr:
        import socket
        address_family = socket.AF_INET6
S((addr, port), H).serve_forever()
"#;

/// One kept-alive connection to `ADDRESS` port 80: a request on it per line read from stdin;
/// prints each answer (or `error KIND`).
pub const KEPT_CLIENT: &str = r#"
import sys, http.client
h = http.client.HTTPConnection(sys.argv[1], 80, timeout=5)
for line in sys.stdin:
    try:
        h.request("GET", "/")
        print(h.getresponse().read().decode().strip(), flush=True)
    except Exception as e:
        print("error", type(e).__name__, flush=True)
"#;

/// A process started in a namespace, killed (by its pid) and reaped on drop.
pub struct Proc(pub Option<Child>);

impl Proc {
    /// Kill and reap it now (a real server that dies in the middle of a test).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.0.take() {
            netns::signal(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Start [`NAMED_SERVER`] (written to `script`) as `name` on `addr`:`port` in host `host`.
pub fn named_server(
    lab: &Lab,
    host: usize,
    script: &Path,
    name: &str,
    addr: &str,
    port: u16,
) -> Proc {
    let child = Command::new("ip")
        .args(["netns", "exec", &lab.ns(host), "python3"])
        .arg(script)
        .args([name, addr, &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 server");
    Proc(Some(child))
}

/// Waits until every `(address, port)` accepts a TCP connection from host `from`: a server
/// still starting would turn requests into errors that say nothing about the data plane.
pub fn wait_listening(lab: &Lab, from: usize, servers: &[(String, u16)]) {
    for (a, port) in servers {
        let code = format!("import socket; socket.create_connection(('{a}', {port}), 1)");
        assert!(
            netns::wait_until(Duration::from_secs(15), || lab
                .exec(from, &["python3", "-c", &code])
                .status
                .success()),
            "server {a} port {port} not listening"
        );
    }
}

/// `nft list ruleset` in host `host`.
pub fn ruleset(lab: &Lab, host: usize) -> String {
    let out = lab.exec(host, &["nft", "list", "ruleset"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One request on a [`KEPT_CLIENT`]'s connection; its answer.
pub fn ask(stdin: &mut ChildStdin, stdout: &mut BufReader<ChildStdout>) -> String {
    writeln!(stdin, "go").expect("write to the kept connection's client");
    stdin.flush().expect("flush");
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read the answer");
    line.trim().to_string()
}

/// Pearson's chi-square of observed counts against expected proportions.
pub fn chi_square(observed: &[u64], weights: &[u64]) -> f64 {
    let n: u64 = observed.iter().sum();
    let w: u64 = weights.iter().sum();
    observed
        .iter()
        .zip(weights)
        .map(|(o, wi)| {
            let e = n as f64 * *wi as f64 / w as f64;
            (*o as f64 - e).powi(2) / e
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::chi_square;

    #[test]
    fn chi_square_is_zero_on_the_weights_and_grows_away_from_them() {
        assert_eq!(chi_square(&[300, 200, 100], &[3, 2, 1]), 0.0);
        // 2 degrees of freedom, p = 0.001 at 13.8: an even spread over 3:2:1 is far above it.
        assert!(chi_square(&[200, 200, 200], &[3, 2, 1]) > 13.8);
    }
}
