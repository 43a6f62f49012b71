//! `MaxscaleClient`: one shared reqwest client for MaxScale's REST API.

use std::error::Error as _;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::command::{AdminState, CommandResult, MaxscaleAction};
use super::error::MaxscaleError;
use super::monitor::MaxscaleMonitor;
use super::server::MaxscaleServer;
use super::types::{Document, ResponseBody};

/// Where MaxScale is and how to talk to it. `Debug` never shows the password.
#[derive(Clone)]
pub struct MaxscaleConfig {
    /// e.g. `http://127.0.0.1:8989` (or `https://…` with `admin_ssl_*`).
    pub base_url: String,
    pub user: String,
    pub password: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// PEM file with the CA that signed MaxScale's certificate, trusted in addition to the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (lab use only).
    pub insecure_tls: bool,
}

impl Default for MaxscaleConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8989".to_owned(),
            user: "admin".to_owned(),
            password: "mariadb".to_owned(),
            timeout: Duration::from_secs(10),
            ca_file: None,
            insecure_tls: false,
        }
    }
}

/// Cheap to clone: clones share one connection pool. `Debug` never shows the password.
#[derive(Clone)]
pub struct MaxscaleClient {
    http: reqwest::Client,
    base_url: String,
    user: String,
    password: String,
    timeout: Duration,
}

/// Install rustls' ring provider once; later calls (and other installers) are fine.
fn install_crypto_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

impl MaxscaleClient {
    pub fn new(cfg: MaxscaleConfig) -> Result<Self, MaxscaleError> {
        install_crypto_provider();
        let base_url = cfg.base_url.trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base_url).map_err(|e| MaxscaleError::BadUrl {
            url: cfg.base_url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(MaxscaleError::BadUrl {
                url: cfg.base_url.clone(),
                reason: "scheme must be http or https".to_owned(),
            });
        }
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)));
        if let Some(path) = &cfg.ca_file {
            let pem = std::fs::read(path).map_err(|e| MaxscaleError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| MaxscaleError::CaFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            // Added to the system's roots (rustls-platform-verifier), not instead of them.
            builder = builder.tls_certs_merge(certs);
        }
        if cfg.insecure_tls {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(MaxscaleError::Client)?;
        Ok(Self {
            http,
            base_url,
            user: cfg.user,
            password: cfg.password,
            timeout: cfg.timeout,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET /v1/servers`
    pub async fn servers(&self) -> Result<Vec<MaxscaleServer>, MaxscaleError> {
        let doc: Document<Vec<MaxscaleServer>> = self.fetch(&MaxscaleAction::ListServers).await?;
        Ok(doc.data)
    }

    /// `GET /v1/servers/:name`
    pub async fn server(&self, name: &str) -> Result<MaxscaleServer, MaxscaleError> {
        let action = MaxscaleAction::ShowServer {
            server: name.to_owned(),
        };
        let doc: Document<MaxscaleServer> = self.fetch(&action).await?;
        Ok(doc.data)
    }

    /// `GET /v1/monitors`
    pub async fn monitors(&self) -> Result<Vec<MaxscaleMonitor>, MaxscaleError> {
        let doc: Document<Vec<MaxscaleMonitor>> = self.fetch(&MaxscaleAction::ListMonitors).await?;
        Ok(doc.data)
    }

    /// `GET /v1/monitors/:name`
    pub async fn monitor(&self, name: &str) -> Result<MaxscaleMonitor, MaxscaleError> {
        let action = MaxscaleAction::ShowMonitor {
            monitor: name.to_owned(),
        };
        let doc: Document<MaxscaleMonitor> = self.fetch(&action).await?;
        Ok(doc.data)
    }

    /// `PUT /v1/servers/:name/set?state=…[&force=yes]`
    pub async fn set_state(
        &self,
        server: &str,
        state: AdminState,
        force: bool,
    ) -> Result<(), MaxscaleError> {
        let action = MaxscaleAction::SetState {
            server: server.to_owned(),
            state,
            force,
        };
        self.send(&action).await.map(drop)
    }

    /// `PUT /v1/servers/:name/clear?state=…`
    pub async fn clear_state(&self, server: &str, state: AdminState) -> Result<(), MaxscaleError> {
        let action = MaxscaleAction::ClearState {
            server: server.to_owned(),
            state,
        };
        self.send(&action).await.map(drop)
    }

    /// Synchronous switchover; `Ok` once MaxScale answered 204. A refusal is
    /// `MaxscaleError::Api` with status 400 and the `meta.errors` details.
    pub async fn switchover(
        &self,
        monitor: &str,
        new: &str,
        old: Option<&str>,
    ) -> Result<(), MaxscaleError> {
        let action = MaxscaleAction::Switchover {
            monitor: monitor.to_owned(),
            new: new.to_owned(),
            old: old.map(str::to_owned),
        };
        self.send(&action).await.map(drop)
    }

    /// Schedule a switchover; poll [`Self::fetch_cmd_result`] for the outcome.
    pub async fn async_switchover(
        &self,
        monitor: &str,
        new: &str,
        old: Option<&str>,
    ) -> Result<(), MaxscaleError> {
        let action = MaxscaleAction::AsyncSwitchover {
            monitor: monitor.to_owned(),
            new: new.to_owned(),
            old: old.map(str::to_owned),
        };
        self.send(&action).await.map(drop)
    }

    /// `GET …/fetch-cmd-result?MONITOR` (200 whether the command succeeded or not).
    pub async fn fetch_cmd_result(&self, monitor: &str) -> Result<CommandResult, MaxscaleError> {
        let action = MaxscaleAction::FetchCmdResult {
            monitor: monitor.to_owned(),
        };
        let body: ResponseBody = self.fetch(&action).await?;
        Ok(CommandResult::from_body(&body))
    }

    async fn fetch<T: DeserializeOwned>(
        &self,
        action: &MaxscaleAction,
    ) -> Result<T, MaxscaleError> {
        let (status, body) = self.send(action).await?;
        serde_json::from_slice(&body).map_err(|source| MaxscaleError::Decode {
            request: action.rest_line(),
            status: status.as_u16(),
            body_start: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            source,
        })
    }

    /// Perform the request; any non-2xx answer becomes `MaxscaleError::Api`.
    async fn send(&self, action: &MaxscaleAction) -> Result<(StatusCode, Vec<u8>), MaxscaleError> {
        let parts = action.request();
        let request = action.rest_line();
        let url = format!("{}{}", self.base_url, parts.path_and_query());
        let method = Method::from_bytes(parts.method.as_bytes()).unwrap_or(Method::GET);
        let response = self
            .http
            .request(method, &url)
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .map_err(|e| self.transport_error(&request, e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&request, e))?
            .to_vec();
        if status.is_success() {
            return Ok((status, body));
        }
        // The whole answer, for whoever reads the log at FLIGHTDECK_LOG=debug; pollers log
        // their errors when they change, steps every time.
        tracing::debug!(%request, status = status.as_u16(), body = %String::from_utf8_lossy(&body[..body.len().min(4096)]), "MaxScale answered with an error");
        let messages = match serde_json::from_slice::<ResponseBody>(&body) {
            Ok(parsed) if !parsed.messages().is_empty() => parsed.messages(),
            _ => {
                let text = String::from_utf8_lossy(&body).trim().to_owned();
                if text.is_empty() {
                    Vec::new()
                } else {
                    vec![text]
                }
            }
        };
        Err(MaxscaleError::Api {
            request,
            status: status.as_u16(),
            messages,
        })
    }

    fn transport_error(&self, request: &str, e: reqwest::Error) -> MaxscaleError {
        let request = request.to_owned();
        let base_url = self.base_url.clone();
        if e.is_timeout() {
            return MaxscaleError::Timeout {
                request,
                base_url,
                timeout: self.timeout,
            };
        }
        if let Some(reason) = tls_problem(&e) {
            return MaxscaleError::Tls {
                request,
                base_url,
                reason,
            };
        }
        if e.is_connect() {
            if is_refused(&e) {
                return MaxscaleError::ConnectionRefused {
                    request,
                    base_url,
                    source: e,
                };
            }
            return MaxscaleError::Connect {
                request,
                base_url,
                source: e,
            };
        }
        MaxscaleError::Transport {
            request,
            base_url,
            source: e,
        }
    }
}

/// A failed TLS handshake under a request error, in words that name the problem.
fn tls_problem(e: &reqwest::Error) -> Option<String> {
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = e.source().into_iter().collect();
    while let Some(s) = pending.pop() {
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            return Some(crate::inventory::tls::certificate_problem(r));
        }
        // An io::Error's `source` skips the error it wraps (hyper wraps rustls's in two).
        if let Some(inner) = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            pending.push(inner);
        }
        pending.extend(s.source());
    }
    None
}

fn is_refused(e: &reqwest::Error) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        source = s.source();
    }
    false
}

impl std::fmt::Debug for MaxscaleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaxscaleConfig")
            .field("base_url", &self.base_url)
            .field("user", &self.user)
            .field("password", &"****")
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .field("insecure_tls", &self.insecure_tls)
            .finish()
    }
}

impl std::fmt::Debug for MaxscaleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaxscaleClient")
            .field("base_url", &self.base_url)
            .field("user", &self.user)
            .field("password", &"****")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password() {
        let cfg = MaxscaleConfig {
            password: "s3cret-pw".into(),
            ..MaxscaleConfig::default()
        };
        let client = MaxscaleClient::new(cfg.clone()).expect("client");
        let shown = format!("{cfg:?} {client:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("****"));
    }
}
