//! `lab up --tls`: a lab CA and one server certificate (for `127.0.0.1` and `localhost`),
//! generated with rcgen, used by every mariadbd (`ssl_cert`/`ssl_key`/`ssl_ca`) and by the
//! endpoint's https; the inventory then verifies both against the lab CA.
//!
//! `DIR/tls/` is 0700: `ca.pem`, `server.pem` and `server-key.pem` (0600). The CA's key is
//! never written: nothing after `lab up` signs anything.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};

use super::error::{LabError, Result, io};

/// The names the lab's server certificate is valid for.
pub const LAB_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// Where a TLS lab keeps its CA and its server certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    pub fn in_dir(lab_dir: &Path) -> Self {
        let dir = lab_dir.join("tls");
        Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server-key.pem"),
        }
    }
}

/// A certificate authority held in memory: the lab's, or in tests an unrelated one.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    /// The CA's own certificate, PEM.
    pub cert_pem: String,
}

/// A certificate and its key, PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

fn failed(what: &str) -> impl Fn(rcgen::Error) -> LabError + '_ {
    move |e| LabError::Invalid(format!("generating {what}: {e}"))
}

impl Authority {
    pub fn generate(common_name: &str) -> Result<Self> {
        let key = KeyPair::generate().map_err(failed("a CA key"))?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(failed("a CA"))?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(failed("a CA"))?;
        Ok(Self {
            issuer: Issuer::new(params, key),
            cert_pem: cert.pem(),
        })
    }

    /// A server certificate for `names` (IP addresses or DNS names).
    pub fn issue(&self, names: &[&str]) -> Result<Issued> {
        let key = KeyPair::generate().map_err(failed("a server key"))?;
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params =
            CertificateParams::new(names.clone()).map_err(failed("a server certificate"))?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(failed("a server certificate"))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Writes `text` to `path` with `mode`, replacing what was there.
pub fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    let context = || format!("writing {}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io(context()))?;
    f.write_all(text.as_bytes()).map_err(io(context()))
}

/// Generates the lab CA and the server certificate into `DIR/tls/`.
pub fn generate(lab_dir: &Path) -> Result<TlsFiles> {
    let files = TlsFiles::in_dir(lab_dir);
    if let Some(dir) = files.ca.parent() {
        super::secrets::private_dir(dir)?;
    }
    let ca = Authority::generate("flightdeck lab CA")?;
    let server = ca.issue(&LAB_NAMES)?;
    write_file(&files.ca, &ca.cert_pem, 0o644)?;
    write_file(&files.cert, &server.cert_pem, 0o644)?;
    write_file(&files.key, &server.key_pem, 0o600)?;
    Ok(files)
}

/// The endpoint's https configuration from the lab's certificate and key (ring).
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &Path, e: &dyn std::fmt::Display| {
        LabError::Invalid(format!("reading {}: {e}", what.display()))
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| bad(&files.cert, &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(&files.cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| bad(&files.key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&files.cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(&files.cert, &e))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_lab_ca_signs_a_server_certificate_and_the_key_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = generate(dir.path()).expect("generated");
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&files.key), 0o600);
        assert_eq!(mode(files.ca.parent().expect("dir")), 0o700);
        let ca = std::fs::read_to_string(&files.ca).expect("ca");
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        server_config(&files).expect("rustls takes the certificate and key");
    }
}
