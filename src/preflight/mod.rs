//! `flightdeck preflight --inventory INV --to VERSION`: the upgrade's hazards, found before
//! the window. Every server is read once, as the operator's user ([`probe`]); the version
//! knowledge ([`knowledge`]) and the rules ([`rules`]) turn that into findings, each with
//! its severity, evidence, fix and source. Nothing is changed anywhere.
//!
//! On a server with a transport (SSH, or local for a lab) it also reads the inventory's
//! `config` option file and the free space under the datadir ([`host`]). `!include`d
//! files are not followed.

pub mod admins;
pub mod host;
pub mod knowledge;
pub mod probe;
pub mod rules;

use futures::future::join_all;
use serde::Serialize;

use crate::exec::host::{HostPool, HostTransport};
use crate::inventory::{Inventory, Role, Transport};
use crate::poll::start::{StartError, maxscale_client, operator_targets};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Blocker,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocker => "blocker",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One hazard, where it was seen, what shows it, what to do, and where that is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub hazard: &'static str,
    pub servers: Vec<String>,
    pub evidence: String,
    pub fix: String,
    pub source: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub to: String,
    pub servers: Vec<ServerSeen>,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServerSeen {
    pub name: String,
    pub version: Option<String>,
    pub error: Option<String>,
    /// How its connections travel: each replication channel it reads from, and MaxScale's
    /// to it: `source host:port` → TLS or not; `maxscale` → TLS or not (`None`: unknown).
    pub replication_tls: Vec<(String, bool)>,
    pub maxscale_tls: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("`{0}` is not a MariaDB version (expected e.g. 11.4)")]
    Version(String),
    #[error(transparent)]
    Start(#[from] StartError),
}

impl Report {
    /// 2 with a blocker, 1 with a warning, else 0.
    pub fn exit_code(&self) -> u8 {
        match self.findings.iter().map(|f| f.severity).min() {
            Some(Severity::Blocker) => 2,
            Some(Severity::Warning) => 1,
            _ => 0,
        }
    }

    pub fn text(&self) -> String {
        let mut out = format!("preflight for an upgrade to {}\n", self.to);
        let tls = |on: bool| if on { "TLS" } else { "clear text" };
        for s in &self.servers {
            let mut links: Vec<String> = s
                .replication_tls
                .iter()
                .map(|(from, on)| format!("replication from {from} in {}", tls(*on)))
                .collect();
            if let Some(on) = s.maxscale_tls {
                links.push(format!("MaxScale to it in {}", tls(on)));
            }
            let links = if links.is_empty() {
                String::new()
            } else {
                format!(" · {}", links.join(" · "))
            };
            match (&s.version, &s.error) {
                (Some(v), _) => out.push_str(&format!("  {:<10} {v}{links}\n", s.name)),
                (None, Some(e)) => out.push_str(&format!("  {:<10} not read: {e}\n", s.name)),
                _ => {}
            }
        }
        if self.findings.is_empty() {
            out.push_str("no hazard found\n");
        } else {
            // The findings at a glance, then each with its evidence, fix and source.
            let servers: Vec<String> = self.findings.iter().map(|f| f.servers.join(", ")).collect();
            let hw = self
                .findings
                .iter()
                .map(|f| f.hazard.len())
                .max()
                .unwrap_or(0)
                .max(6);
            let sw = servers.iter().map(String::len).max().unwrap_or(0).max(7);
            out.push_str(&format!(
                "\n{:<8} {:<hw$} {:<sw$}\n",
                "SEVERITY", "HAZARD", "SERVERS"
            ));
            for (f, s) in self.findings.iter().zip(&servers) {
                out.push_str(&format!(
                    "{:<8} {:<hw$} {:<sw$}\n",
                    f.severity.as_str(),
                    f.hazard,
                    s
                ));
            }
        }
        for f in &self.findings {
            out.push_str(&format!(
                "\n{:<8} {} on {}\n  evidence: {}\n  fix:      {}\n  source:   {}\n",
                f.severity.as_str().to_uppercase(),
                f.hazard,
                f.servers.join(", "),
                f.evidence,
                f.fix,
                f.source
            ));
        }
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        out.push_str(&format!(
            "\n{} blocker(s), {} warning(s), {} info\n",
            count(Severity::Blocker),
            count(Severity::Warning),
            count(Severity::Info)
        ));
        out
    }
}

/// Reads every server of `inv` (hosts through `pool`) and judges an upgrade to `to`
/// (e.g. `11.4`).
pub async fn run(inv: &Inventory, pool: &HostPool, to: &str) -> Result<Report, PreflightError> {
    let target = knowledge::version(to).ok_or_else(|| PreflightError::Version(to.to_owned()))?;
    let targets = operator_targets(inv)?;
    let (monitor_user, maxscale_servers) = match (maxscale_client(inv)?, &inv.maxscale) {
        (Some(client), Some(m)) => {
            let user = client.monitor(&m.monitor).await.ok().and_then(|mon| {
                mon.attributes
                    .parameters
                    .get("user")
                    .and_then(|u| u.as_str())
                    .map(str::to_owned)
            });
            (user, client.servers().await.unwrap_or_default())
        }
        _ => (None, Vec::new()),
    };
    // MaxScale's `ssl` parameter of the server it knows under the inventory's name.
    let maxscale_tls = |server: &str| -> Option<bool> {
        let name = &inv.server(server)?.maxscale_name;
        let s = maxscale_servers.iter().find(|s| &s.id == name)?;
        s.attributes.parameters.other.get("ssl")?.as_bool()
    };
    let probes = join_all(
        targets
            .iter()
            .map(|t| probe::probe(t, monitor_user.as_deref())),
    )
    .await;
    let mut servers = Vec::new();
    let mut read = Vec::new();
    let mut findings = Vec::new();
    for (t, p) in targets.iter().zip(probes) {
        match p {
            Ok(mut p) => {
                if let Some(s) = inv.server(&t.server) {
                    let transport = match &s.transport {
                        Transport::Local => Some(HostTransport::Local),
                        Transport::Ssh(ssh) => Some(HostTransport::Ssh {
                            host: ssh.host.clone(),
                            user: ssh.user.clone(),
                            port: ssh.port,
                        }),
                        Transport::None => None,
                    };
                    if let Some(transport) = transport {
                        p.host = Some(
                            host::read(pool, &transport, s.config.as_deref(), &p.datadir)
                                .await
                                .unwrap_or_else(|e| host::HostFacts {
                                    config_error: Some(e),
                                    ..Default::default()
                                }),
                        );
                    }
                }
                servers.push(ServerSeen {
                    name: t.server.clone(),
                    version: Some(p.info.version.clone()),
                    error: None,
                    replication_tls: p.replication_tls.clone(),
                    maxscale_tls: maxscale_tls(&t.server),
                });
                read.push(p);
            }
            Err(e) => {
                findings.push(Finding {
                    severity: Severity::Blocker,
                    hazard: "unreachable",
                    servers: vec![t.server.clone()],
                    evidence: e.clone(),
                    fix: "make it answer as the operator's user, then run preflight again".into(),
                    source: "the inventory".into(),
                });
                servers.push(ServerSeen {
                    name: t.server.clone(),
                    version: None,
                    error: Some(e),
                    replication_tls: Vec::new(),
                    maxscale_tls: maxscale_tls(&t.server),
                });
            }
        }
    }
    let primary = inv
        .servers
        .iter()
        .find(|s| s.role == Role::Primary)
        .map(|s| s.name.as_str());
    findings.extend(rules::judge(target, primary, &read));
    findings.sort_by_key(|f| f.severity);
    Ok(Report {
        to: to.to_owned(),
        servers,
        findings,
    })
}
