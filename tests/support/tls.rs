//! Certificates made in the test (rcgen): a CA, a server certificate for 127.0.0.1 and
//! localhost, and client certificates, written as PEM files; and HTTPS clients that trust a
//! given CA and present a given client certificate, for real TLS handshakes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate authority that signs server and client certificates.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, both PEM.
pub struct Pair {
    pub cert: String,
    pub key: String,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for 127.0.0.1 and localhost.
    pub fn server(&self) -> Pair {
        self.sign(&["127.0.0.1", "localhost"], "sloburn test server")
    }

    /// A client certificate.
    pub fn client(&self, name: &str) -> Pair {
        self.sign(&[], name)
    }

    fn sign(&self, names: &[&str], common_name: &str) -> Pair {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// Writes `ca.pem`, `server.pem`, `server-key.pem` into `dir` and returns the server pair.
pub fn write_server_files(dir: &Path, ca: &Ca) -> Pair {
    let server = ca.server();
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write ca.pem");
    std::fs::write(dir.join("server.pem"), &server.cert).expect("write server.pem");
    std::fs::write(dir.join("server-key.pem"), &server.key).expect("write server-key.pem");
    server
}

/// An HTTPS client (HTTP/1.1) that trusts `ca` only and presents `identity` if given.
pub fn client(ca: &str, identity: Option<&Pair>) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("add CA");
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match identity {
        Some(pair) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(pair.cert.as_bytes())
                    .collect::<Result<_, _>>()
                    .expect("client cert");
            let key = PrivateKeyDer::from_pem_slice(pair.key.as_bytes()).expect("client key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client auth")
        }
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
        .http1_only()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTPS client")
}

/// A bcrypt hash of `password` at the lowest cost, so tests stay fast.
pub fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).expect("bcrypt")
}
