//! TLS settings: MySQL's `tls = { mode, ca_file }` per server (or in `[mysql]` for all),
//! and the warning a MaxScale endpoint earns when its traffic is not protected.
//!
//! The modes mean what they mean to the MariaDB and MySQL clients (`--ssl-mode`):
//! `preferred` is TLS without verification when the server offers it and clear text
//! otherwise; `required` is TLS without verification; `verify_ca` checks the chain and not
//! the host name; `verify_identity` checks both.

use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::model::MaxscaleEndpoint;
use crate::diag::{Diagnostics, SourceError, SourceFile};

/// As the MariaDB client's `--ssl-mode` means it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Clear text.
    Disabled,
    /// TLS without verification when the server offers it, clear text otherwise (the
    /// default).
    #[default]
    Preferred,
    /// TLS, not verified.
    Required,
    /// TLS; the chain is checked against `ca_file` and the built-in roots, not the host name.
    VerifyCa,
    /// TLS; the chain and the host name are checked.
    VerifyIdentity,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Preferred => "preferred",
            TlsMode::Required => "required",
            TlsMode::VerifyCa => "verify_ca",
            TlsMode::VerifyIdentity => "verify_identity",
        }
    }

    /// Whether the server's certificate chain is checked (and so a CA is needed).
    pub fn verifies(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyIdentity)
    }
}

/// One server's MySQL TLS, defaults applied; `ca_file` resolved from the inventory's folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MysqlTls {
    pub mode: TlsMode,
    /// PEM CA bundle trusted in addition to the built-in roots.
    pub ca_file: Option<PathBuf>,
}

/// `tls = { … }` as written, in `[mysql]` or a server's `mysql` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// How the connection is protected (default: preferred).
    #[schemars(with = "Option<TlsMode>")]
    pub mode: Option<Spanned<TlsMode>>,
    /// A PEM CA bundle trusted besides the built-in roots (relative paths are read from the
    /// inventory's folder); a verify_* mode needs one.
    #[schemars(with = "Option<PathBuf>")]
    pub ca_file: Option<Spanned<PathBuf>>,
}

/// A server's TLS: its own keys first, then `[mysql]`'s, then `preferred`. A `verify_*`
/// mode needs a CA file that holds at least one PEM certificate.
pub(super) fn resolve(
    file: &SourceFile,
    own: Option<&TlsSpec>,
    defaults: Option<&TlsSpec>,
    server_span: Range<usize>,
    diags: &mut Diagnostics,
) -> Option<MysqlTls> {
    let mode = own
        .and_then(|t| t.mode.as_ref())
        .or_else(|| defaults.and_then(|t| t.mode.as_ref()));
    let ca = own
        .and_then(|t| t.ca_file.as_ref())
        .or_else(|| defaults.and_then(|t| t.ca_file.as_ref()));
    let base = file.path.parent().unwrap_or(Path::new("."));
    let tls = MysqlTls {
        mode: mode.map(|m| *m.get_ref()).unwrap_or_default(),
        ca_file: ca.map(|c| base.join(c.get_ref())),
    };
    if !tls.mode.verifies() {
        return Some(tls);
    }
    let problem = match (&tls.ca_file, ca) {
        (Some(path), Some(spanned)) => usable_ca(path).err().map(|why| (spanned.span(), why, None)),
        _ => Some((
            mode.map_or(server_span, |m| m.span()),
            format!("tls mode `{}` needs a `ca_file`", tls.mode.as_str()),
            Some("add ca_file = \"/path/to/ca.pem\" (the CA that signed the server's certificate)"),
        )),
    };
    match problem {
        None => Some(tls),
        Some((span, message, help)) => {
            let mut e = SourceError::new(file, span, message);
            if let Some(help) = help {
                e = e.help(help);
            }
            diags.push(e);
            None
        }
    }
}

/// Readable, and holds at least one PEM certificate.
fn usable_ca(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("CA file {} cannot be read: {e}", path.display()))?;
    if text.contains("-----BEGIN CERTIFICATE-----") {
        Ok(())
    } else {
        Err(format!(
            "CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ))
    }
}

/// A failed TLS handshake in a DBA's words: the CA, the host name, the dates; rustls's own
/// words after them.
pub fn certificate_problem(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let why = match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            "the server's certificate is not signed by a trusted CA (ca_file, or a built-in root)"
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "the server's certificate is not valid for the host name connected to",
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired"
        }
        _ => "the TLS handshake failed",
    };
    format!("{why} ({e})")
}

/// The permanent header warning a MaxScale endpoint earns: certificates not verified
/// (`insecure = true`), or `http://` to a host other than loopback. `None` when its traffic
/// is protected or never leaves the machine. Both headers (cockpit and watch) show this text.
pub fn maxscale_warning(endpoint: &MaxscaleEndpoint) -> Option<String> {
    let url = reqwest::Url::parse(&endpoint.url).ok();
    let scheme = url.as_ref().map(|u| u.scheme().to_owned());
    if endpoint.tls.insecure && scheme.as_deref() != Some("http") {
        return Some("⚠ MaxScale TLS not verified (insecure = true)".into());
    }
    let host = url.as_ref().and_then(|u| u.host_str().map(str::to_owned));
    match (scheme.as_deref(), host) {
        (Some("http"), Some(host)) if !is_loopback(&host) => Some(format!(
            "⚠ MaxScale over http:// to {host}: password and commands in clear text"
        )),
        _ => None,
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::model::TlsOptions;

    fn endpoint(url: &str, insecure: bool) -> MaxscaleEndpoint {
        MaxscaleEndpoint {
            url: url.into(),
            user: "admin".into(),
            password: None,
            monitor: "MariaDB-Monitor".into(),
            tls: TlsOptions {
                ca_file: None,
                insecure,
            },
        }
    }

    #[test]
    fn http_is_warned_about_unless_it_stays_on_loopback() {
        for quiet in [
            "http://127.0.0.1:8989",
            "http://localhost:8989",
            "http://127.3.0.1:8989",
            "http://[::1]:8989",
            "https://maxscale.example:8989",
        ] {
            assert_eq!(maxscale_warning(&endpoint(quiet, false)), None, "{quiet}");
        }
        let w = maxscale_warning(&endpoint("http://maxscale.example:8989", false)).expect("warned");
        assert!(w.contains("http:// to maxscale.example"), "{w}");
        let w = maxscale_warning(&endpoint("http://mxs.example", false)).expect("warned");
        assert!(w.contains("mxs.example"), "{w}");
    }

    #[test]
    fn insecure_is_always_warned_about() {
        for url in ["https://127.0.0.1:8989", "https://maxscale.example:8989"] {
            let w = maxscale_warning(&endpoint(url, true)).expect("warned");
            assert!(w.contains("insecure = true"), "{w}");
        }
        let w = maxscale_warning(&endpoint("http://maxscale.example", true)).expect("warned");
        assert!(
            w.contains("http://"),
            "clear text says more than insecure: {w}"
        );
    }

    #[test]
    fn modes_read_as_the_mariadb_client_names_them() {
        #[derive(Deserialize)]
        struct Doc {
            tls: TlsSpec,
        }
        for (text, mode) in [
            ("disabled", TlsMode::Disabled),
            ("preferred", TlsMode::Preferred),
            ("required", TlsMode::Required),
            ("verify_ca", TlsMode::VerifyCa),
            ("verify_identity", TlsMode::VerifyIdentity),
        ] {
            let doc: Doc = toml::from_str(&format!("tls = {{ mode = \"{text}\" }}")).expect(text);
            let read = doc.tls.mode.map(|m| *m.get_ref());
            assert_eq!(read, Some(mode));
            assert_eq!(mode.as_str(), text);
        }
        assert!(toml::from_str::<Doc>("tls = { mode = \"VERIFY_FULL\" }").is_err());
        assert_eq!(TlsMode::default(), TlsMode::Preferred);
        assert!(TlsMode::VerifyCa.verifies() && !TlsMode::Required.verifies());
    }

    fn inventory(
        dir: &Path,
        mysql: &str,
        server_tls: &str,
    ) -> Result<crate::inventory::Inventory, Diagnostics> {
        let text = format!(
            "[mysql]\nuser = \"fd\"\n{mysql}\n\n[[server]]\nname = \"db1\"\nrole = \"primary\"\n\
             mysql = {{ host = \"db1.example\"{server_tls} }}\ntransport = \"local\"\n"
        );
        crate::inventory::parse(&dir.join("inv.toml"), &text)
    }

    #[test]
    fn a_server_takes_the_defaults_key_by_key_and_ca_files_resolve_from_the_inventory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("ca.pem"),
            "-----BEGIN CERTIFICATE-----\nx\n",
        )
        .expect("ca");
        let inv = inventory(dir.path(), "", "").expect("valid");
        assert_eq!(inv.servers[0].mysql.tls, MysqlTls::default());
        let inv = inventory(
            dir.path(),
            "tls = { ca_file = \"ca.pem\" }",
            ", tls = { mode = \"verify_identity\" }",
        )
        .expect("valid");
        assert_eq!(
            inv.servers[0].mysql.tls,
            MysqlTls {
                mode: TlsMode::VerifyIdentity,
                ca_file: Some(dir.path().join("ca.pem")),
            }
        );
    }

    #[test]
    fn a_bad_mode_or_a_verify_mode_without_a_usable_ca_is_named_at_its_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = inventory(dir.path(), "tls = { mode = \"verify-full\" }", "").expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("inv.toml:3:"), "{text}");
        assert!(
            text.contains("verify_identity"),
            "the modes are listed: {text}"
        );
        let err = inventory(dir.path(), "tls = { mode = \"verify_ca\" }", "").expect_err("no CA");
        let text = err.to_string();
        assert!(
            text.contains("inv.toml:3:") && text.contains("needs a `ca_file`"),
            "{text}"
        );
        let err = inventory(
            dir.path(),
            "",
            ", tls = { mode = \"verify_identity\", ca_file = \"missing.pem\" }",
        )
        .expect_err("missing CA");
        let text = err.to_string();
        assert!(
            text.contains("inv.toml:8:") && text.contains("cannot be read"),
            "{text}"
        );
        std::fs::write(dir.path().join("empty.pem"), "nothing\n").expect("file");
        let err = inventory(
            dir.path(),
            "tls = { mode = \"verify_ca\", ca_file = \"empty.pem\" }",
            "",
        )
        .expect_err("no certificate");
        assert!(
            err.to_string().contains("holds no PEM certificate"),
            "{err}"
        );
    }
}
