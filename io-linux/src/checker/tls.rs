//! SSL_GET without blocking: HTTP_GET's rules over TLS (rustls with the ring provider).
//!
//! keepalived's `SSL { ca certificate key password }` block configures the client side:
//! * without `ca` the server's certificate is not verified (keepalived's OpenSSL context does
//!   not verify either); the handshake's signatures still are;
//! * with `ca` the chain must lead to that CA; like keepalived (OpenSSL without a host name
//!   check), the certificate's names are not compared with the real server's address;
//! * `certificate` and `key` present a client certificate; an encrypted key (`password`) cannot
//!   be read by rustls: the SSL_GET runs then fail with that reason (logged at start);
//! * `enable_sni` sends the checker's `virtualhost` as the server name indication.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, Error};
use rustls::{RootCertStore, SignatureScheme};
use socket2::Socket;
use vigil_engine::checker::CheckOutcome;
use vigil_engine::conf::{ConnectOpts, SslContext};

use super::net::{complete, connect, evaluate, request, HttpSpec, Step};
use super::Probe;

/// Accepts the server's certificate as it is (keepalived without `ca`), or checks its chain
/// against the CA without comparing names (keepalived with `ca`); handshake signatures are
/// always verified.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The TLS client configurations of SSL_GET checkers (with and without SNI).
#[derive(Clone, Debug)]
pub(super) struct TlsConfigs {
    sni: Arc<ClientConfig>,
    no_sni: Arc<ClientConfig>,
}

impl TlsConfigs {
    /// Builds them from the `SSL` block (or keepalived's defaults without one).
    pub(super) fn new(ssl: Option<&SslContext>) -> Result<TlsConfigs, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = match ssl.and_then(|s| s.ca.as_deref()) {
            None => None,
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                let certs =
                    CertificateDer::pem_file_iter(ca).map_err(|e| format!("SSL ca {ca}: {e}"))?;
                for c in certs {
                    let c = c.map_err(|e| format!("SSL ca {ca}: {e}"))?;
                    roots.add(c).map_err(|e| format!("SSL ca {ca}: {e}"))?;
                }
                let v =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| format!("SSL ca {ca}: {e}"))?;
                Some(v)
            }
        };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier { provider, chain }));
        let mut config = match ssl.map(|s| (s.certificate.as_deref(), s.key.as_deref())) {
            Some((Some(cert), Some(key))) => {
                if ssl.is_some_and(|s| s.password.is_some()) {
                    return Err(
                        "SSL password: encrypted private keys cannot be read (rustls); decrypt the key file"
                            .into(),
                    );
                }
                let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| format!("SSL certificate {cert}: {e}"))?
                    .collect();
                let certs = certs.map_err(|e| format!("SSL certificate {cert}: {e}"))?;
                let key =
                    PrivateKeyDer::from_pem_file(key).map_err(|e| format!("SSL key {key}: {e}"))?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| format!("SSL certificate: {e}"))?
            }
            Some((Some(_), None)) | Some((None, Some(_))) => {
                return Err("SSL: certificate and key go together".into())
            }
            _ => builder.with_no_client_auth(),
        };
        config.enable_sni = true;
        let sni = Arc::new(config.clone());
        config.enable_sni = false;
        Ok(TlsConfigs {
            sni,
            no_sni: Arc::new(config),
        })
    }
}

/// An SSL_GET run.
pub(super) struct TlsJob {
    sock: Socket,
    conn: ConnectOpts,
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    tls: Option<ClientConnection>,
    spec: HttpSpec,
    idx: usize,
    response: Vec<u8>,
}

impl std::fmt::Debug for TlsJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsJob")
            .field("conn", &self.conn)
            .field("idx", &self.idx)
            .finish()
    }
}

fn fail(w: impl Into<String>) -> Step {
    Step::Done(CheckOutcome::Failure(w.into()))
}

impl TlsJob {
    /// Starts a run; `sni` sends the virtual host (else the address) as the server name.
    pub(super) fn start(
        conn: &ConnectOpts,
        configs: &TlsConfigs,
        spec: HttpSpec,
        sni: bool,
    ) -> Result<TlsJob, CheckOutcome> {
        let sock = connect(conn).map_err(|e| CheckOutcome::Failure(format!("connect: {e}")))?;
        let name = spec
            .virtualhost
            .clone()
            .filter(|_| sni)
            .and_then(|h| ServerName::try_from(h).ok())
            .unwrap_or_else(|| ServerName::IpAddress(conn.dst.into()));
        Ok(TlsJob {
            sock,
            conn: conn.clone(),
            config: if sni {
                configs.sni.clone()
            } else {
                configs.no_sni.clone()
            },
            name,
            tls: None,
            spec,
            idx: 0,
            response: Vec::new(),
        })
    }

    fn finish_url(&mut self) -> Step {
        if let Err(w) = evaluate(&self.spec.urls[self.idx], &self.response) {
            return fail(w);
        }
        self.idx += 1;
        if self.idx == self.spec.urls.len() {
            return Step::Done(CheckOutcome::Success);
        }
        match connect(&self.conn) {
            Ok(s) => {
                self.sock = s;
                self.tls = None;
                self.response.clear();
                Step::Wait(true)
            }
            Err(e) => fail(format!("connect: {e}")),
        }
    }

    fn pump(&mut self) -> Step {
        loop {
            let Some(tls) = self.tls.as_mut() else {
                return fail("no TLS session");
            };
            if tls.wants_write() {
                let mut s = &self.sock;
                match tls.write_tls(&mut s) {
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait(true),
                    Err(e) => return fail(format!("send: {e}")),
                }
            }
            let mut s = &self.sock;
            let eof = match tls.read_tls(&mut s) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait(false),
                Err(e) => return fail(format!("receive: {e}")),
            };
            if let Err(e) = tls.process_new_packets() {
                // Flush the alert, then report.
                let _ = tls.write_tls(&mut s);
                return fail(format!("TLS: {e}"));
            }
            let mut buf = [0u8; 16384];
            loop {
                match tls.reader().read(&mut buf) {
                    Ok(0) => return self.finish_url(),
                    Ok(n) => {
                        self.response.extend_from_slice(&buf[..n]);
                        if self.response.len() > 16 << 20 {
                            return fail("response larger than 16 MiB");
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // Closed without close_notify: what came is the response.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return self.finish_url(),
                    Err(e) => return fail(format!("TLS read: {e}")),
                }
            }
            if complete(&self.response) {
                return self.finish_url();
            }
            if eof {
                return if self.response.is_empty() {
                    fail("connection closed during the TLS exchange")
                } else {
                    self.finish_url()
                };
            }
        }
    }
}

impl Probe for TlsJob {
    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    fn first_wait(&self) -> bool {
        true
    }

    fn on_ready(&mut self) -> Step {
        if self.tls.is_none() {
            match self.sock.take_error() {
                Ok(None) if self.sock.peer_addr().is_ok() => {}
                Ok(None) => return Step::Wait(true),
                Ok(Some(e)) | Err(e) => return fail(format!("connect: {e}")),
            }
            let mut tls = match ClientConnection::new(self.config.clone(), self.name.clone()) {
                Ok(t) => t,
                Err(e) => return fail(format!("TLS: {e}")),
            };
            let req = request(&self.spec, &self.spec.urls[self.idx], &self.conn);
            if let Err(e) = tls.writer().write_all(&req) {
                return fail(format!("TLS: {e}"));
            }
            self.tls = Some(tls);
        }
        self.pump()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, TcpListener};
    use std::path::Path;
    use std::process::Command;
    use std::time::Duration;
    use vigil_engine::conf::{HttpProtocol, Url};

    /// A CA, and a server certificate and key it signed, from the openssl command:
    /// (ca, cert, key).
    fn certs(dir: &Path) -> Option<(String, String, String)> {
        let p = |n: &str| dir.join(n).display().to_string();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let run = |args: &[&str]| {
            Command::new("openssl")
                .args(args)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        std::fs::write(
            dir.join("ext"),
            "basicConstraints=CA:FALSE\nsubjectAltName=DNS:www.example.com\n",
        )
        .ok()?;
        let ok = run(&[
            &["req", "-x509"][..],
            &ec,
            &["-days", "2", "-subj", "/CN=Vigil test CA"],
            &["-keyout", &p("ca.key"), "-out", &p("ca.pem")],
        ]
        .concat())
            && run(&[
                &["req"][..],
                &ec,
                &["-subj", "/CN=www.example.com"],
                &["-keyout", &p("k.pem"), "-out", &p("csr.pem")],
            ]
            .concat())
            && run(&[
                "x509",
                "-req",
                "-in",
                &p("csr.pem"),
                "-CA",
                &p("ca.pem"),
                "-CAkey",
                &p("ca.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &p("ext"),
                "-out",
                &p("c.pem"),
            ]);
        ok.then(|| (p("ca.pem"), p("c.pem"), p("k.pem")))
    }

    fn drive(mut job: TlsJob) -> CheckOutcome {
        crate::checker::drive_to_end(&mut job)
    }

    #[test]
    fn ssl_get_over_rustls() {
        let dir = std::env::temp_dir().join(format!("vigil-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let Some((ca, c, k)) = certs(&dir) else {
            panic!("openssl is needed to make the test certificate (apt-get install openssl)");
        };
        let certs: Vec<_> = CertificateDer::pem_file_iter(&c)
            .unwrap()
            .map(|x| x.unwrap())
            .collect();
        let key = PrivateKeyDer::from_pem_file(&k).unwrap();
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let server = Arc::new(server);
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let srv = server.clone();
        let t = std::thread::spawn(move || {
            for _ in 0..3 {
                let (mut s, _) = l.accept().unwrap();
                let mut conn = rustls::ServerConnection::new(srv.clone()).unwrap();
                let mut tls = rustls::Stream::new(&mut conn, &mut s);
                let mut req = [0u8; 2048];
                let n = tls.read(&mut req).unwrap_or(0);
                let req = String::from_utf8_lossy(&req[..n]).into_owned();
                let _ = tls.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
                conn.send_close_notify();
                let _ = conn.write_tls(&mut s);
                assert!(req.is_empty() || req.starts_with("GET / HTTP/1.0"), "{req}");
            }
        });
        let conn = ConnectOpts {
            dst: IpAddr::from([127, 0, 0, 1]),
            port,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_secs(2),
        };
        let spec = HttpSpec {
            urls: vec![Url {
                path: "/".into(),
                digest: None,
                status_codes: vec![(200, 299)],
                virtualhost: None,
                regex: None,
            }],
            virtualhost: Some("www.example.com".into()),
            protocol: HttpProtocol::V1_0,
        };
        // No ca: not verified (keepalived's default).
        let plain = TlsConfigs::new(None).unwrap();
        let job = TlsJob::start(&conn, &plain, spec.clone(), true).unwrap();
        assert_eq!(drive(job), CheckOutcome::Success);
        // With the CA: the chain verifies (names are not compared: the address is used).
        let ssl = SslContext {
            ca: Some(ca.clone()),
            ..SslContext::default()
        };
        let verified = TlsConfigs::new(Some(&ssl)).unwrap();
        let job = TlsJob::start(&conn, &verified, spec.clone(), false).unwrap();
        assert_eq!(drive(job), CheckOutcome::Success);
        // With another trust anchor (the server's own certificate, not its issuer): refused.
        let other = SslContext {
            ca: Some(c.clone()),
            ..SslContext::default()
        };
        let wrong = TlsConfigs::new(Some(&other)).unwrap();
        let job = TlsJob::start(&conn, &wrong, spec.clone(), false).unwrap();
        assert!(
            matches!(drive(job), CheckOutcome::Failure(ref w) if w.contains("certificate")),
            "an unverifiable chain must fail"
        );
        t.join().unwrap();
        // A plain-text server fails the handshake.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
        });
        let job = TlsJob::start(&ConnectOpts { port, ..conn }, &plain, spec, false).unwrap();
        assert!(matches!(drive(job), CheckOutcome::Failure(w) if w.contains("TLS")));
        t.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
