//! MySQL connections as the inventory's `tls` asks: the one place where the pollers' and
//! the executors' connection options are built ([`options`]) and connections opened
//! ([`open`]), and where a TLS failure is put in a DBA's words ([`tls_failure`]).
//!
//! The built-in roots are mysql_async's (Mozilla's, from webpki-roots); `ca_file` is
//! trusted in addition to them.

use futures::future::BoxFuture;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, Error, IoError, OptsBuilder, SslOpts};

use super::mysql::SqlTarget;
use super::snapshot::Encryption;
use crate::inventory::tls::certificate_problem;
use crate::inventory::{MysqlTls, TlsMode};

/// The TLS options of a mode; `None`: clear text.
fn ssl_opts(tls: &MysqlTls) -> Option<SslOpts> {
    let roots = || tls.ca_file.iter().map(|p| p.clone().into()).collect();
    match tls.mode {
        TlsMode::Disabled => None,
        TlsMode::Preferred | TlsMode::Required => {
            Some(SslOpts::default().with_danger_accept_invalid_certs(true))
        }
        TlsMode::VerifyCa => Some(
            SslOpts::default()
                .with_root_certs(roots())
                .with_danger_skip_domain_validation(true),
        ),
        TlsMode::VerifyIdentity => Some(SslOpts::default().with_root_certs(roots())),
    }
}

/// Every MySQL connection's options: TCP (TLS is never applied over a socket), no
/// statement cache, and TLS as the target's mode asks (`with_tls` false: clear text, for
/// `preferred` against a server without TLS). `name`: the name the certificate is
/// verified for, when not the host's (see [`open`]).
pub(crate) fn options(target: &SqlTarget, with_tls: bool, name: Option<String>) -> OptsBuilder {
    let ssl = ssl_opts(&target.tls)
        .filter(|_| with_tls)
        .map(|o| o.with_danger_tls_hostname_override(name));
    OptsBuilder::default()
        .ip_or_hostname(target.host.clone())
        .tcp_port(target.port)
        .user(Some(target.user.clone()))
        .pass(target.password.as_ref().map(|p| p.expose().to_string()))
        .prefer_socket(false)
        .stmt_cache_size(0)
        .ssl_opts(ssl)
}

/// Opens a connection as the target's TLS mode asks, and reads once whether it is
/// encrypted (`Ssl_cipher`). `preferred` falls back to clear text only when the server
/// does not offer TLS; a certificate problem is never a reason to.
pub(crate) fn open(target: &SqlTarget) -> BoxFuture<'static, Result<(Conn, Encryption), Error>> {
    let target = target.clone();
    Box::pin(async move {
        let mut conn = match Conn::new(options(&target, true, None)).await {
            Err(Error::Driver(DriverError::NoClientSslFlagFromServer))
                if target.tls.mode == TlsMode::Preferred =>
            {
                Conn::new(options(&target, false, None)).await?
            }
            // verify_ca: the chain was good, only the name differs. mysql_async 0.37's
            // skip_domain_validation looks for "NotValidForName" in rustls's message, which
            // rustls 0.23.46 no longer prints; so the chain is verified again for a name the
            // certificate holds.
            Err(e) if target.tls.mode == TlsMode::VerifyCa => match presented_name(&e) {
                Some(name) => Conn::new(options(&target, true, Some(name))).await?,
                None => return Err(e),
            },
            other => other?,
        };
        let cipher: Option<(String, String)> =
            match conn.query_first("SHOW STATUS LIKE 'Ssl_cipher'").await {
                Ok(row) => row,
                Err(e) => {
                    let _ = conn.disconnect().await;
                    return Err(e);
                }
            };
        let encryption = match cipher.map(|(_, value)| value) {
            Some(cipher) if !cipher.is_empty() => Encryption::Tls { cipher },
            _ => Encryption::ClearText,
        };
        Ok((conn, encryption))
    })
}

/// A name the server's certificate holds, from a "not valid for this name" failure.
fn presented_name(e: &Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext {
        presented,
        ..
    }) = rustls_error(e)?
    else {
        return None;
    };
    // webpki says `DnsName("db.example")` or `IpAddress(127.0.0.2)`.
    presented.iter().find_map(|p| {
        let inner = p
            .strip_prefix("DnsName(\"")
            .and_then(|r| r.strip_suffix("\")"))
            .or_else(|| {
                p.strip_prefix("IpAddress(")
                    .and_then(|r| r.strip_suffix(')'))
            })?;
        Some(inner.to_string())
    })
}

/// The rustls error under a driver error, if the TLS handshake is what failed.
fn rustls_error(e: &Error) -> Option<&rustls::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = match e {
        Error::Io(IoError::Io(io)) => io.get_ref().map(|inner| inner as _),
        Error::Io(IoError::Tls(tls)) => Some(tls),
        _ => None,
    };
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        source = s.source();
    }
    None
}

/// A failed connection attempt that is a TLS problem, in words that name it: the CA, the
/// host name, a server without TLS. `None` for anything else.
pub(crate) fn tls_failure(e: &Error) -> Option<String> {
    if let Error::Driver(DriverError::NoClientSslFlagFromServer) = e {
        return Some("the server does not offer TLS, and the inventory's tls mode needs it".into());
    }
    if let Error::Io(IoError::Tls(other)) = e
        && rustls_error(e).is_none()
    {
        return Some(format!("TLS setup: {other}"));
    }
    rustls_error(e).map(certificate_problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(mode: TlsMode, ca: Option<&str>) -> MysqlTls {
        MysqlTls {
            mode,
            ca_file: ca.map(Into::into),
        }
    }

    #[test]
    fn each_mode_verifies_what_the_mariadb_client_does() {
        assert_eq!(ssl_opts(&tls(TlsMode::Disabled, Some("/ca.pem"))), None);
        for mode in [TlsMode::Preferred, TlsMode::Required] {
            let o = ssl_opts(&tls(mode, None)).expect("TLS");
            assert!(o.accept_invalid_certs(), "{mode:?} does not verify");
        }
        let ca = ssl_opts(&tls(TlsMode::VerifyCa, Some("/ca.pem"))).expect("TLS");
        assert!(!ca.accept_invalid_certs() && ca.skip_domain_validation());
        assert_eq!(ca.root_certs().len(), 1);
        assert!(
            !ca.disable_built_in_roots(),
            "the CA is trusted besides the roots"
        );
        let id = ssl_opts(&tls(TlsMode::VerifyIdentity, Some("/ca.pem"))).expect("TLS");
        assert!(!id.accept_invalid_certs() && !id.skip_domain_validation());
    }

    #[test]
    fn tls_failures_name_the_ca_or_the_host_name() {
        let io = |r: rustls::Error| {
            Error::Io(IoError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                r,
            )))
        };
        let unknown = io(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        let text = tls_failure(&unknown).expect("a TLS failure");
        assert!(text.contains("not signed by a trusted CA"), "{text}");
        let name = io(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName,
        ));
        let text = tls_failure(&name).expect("a TLS failure");
        assert!(text.contains("host name"), "{text}");
        let refused = Error::Io(IoError::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(tls_failure(&refused), None);
        let plain = Error::Driver(DriverError::NoClientSslFlagFromServer);
        assert!(tls_failure(&plain).is_some_and(|t| t.contains("does not offer TLS")));
    }
}
