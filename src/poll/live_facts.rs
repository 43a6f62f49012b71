//! `check --inventory INV --connect`: the live facts a change window relies on, looked at
//! once before it starts, one line each. Every server answers as the pollers' user (and the
//! operator's user logs in), the pollers' user holds no privilege MaxScale would kick out,
//! MaxScale answers with these credentials, the monitor and every `maxscale_name` exist in
//! it, and each server's role in the inventory is the role MaxScale and the server itself
//! report. Nothing is changed anywhere.

use std::time::Duration;

use futures::future::join_all;
use mysql_async::prelude::Queryable;

use super::mysql::{SqlTarget, connect, query};
use super::snapshot::ServerInfo;
use super::start::{maxscale_client, operator_targets, sql_targets};
use crate::inventory::{Inventory, Role};
use crate::maxscale::{MaxscaleClient, MaxscaleError, MaxscaleServer};

/// How long one server or MaxScale gets to answer.
const DEADLINE: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Fails,
    /// Holds, but costs something in the window (said why).
    Warns,
}

/// One live fact and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub verdict: Verdict,
    pub text: String,
}

impl Fact {
    fn holds(text: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Holds,
            text: text.into(),
        }
    }

    fn fails(text: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Fails,
            text: text.into(),
        }
    }

    fn warns(text: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Warns,
            text: text.into(),
        }
    }
}

impl std::fmt::Display for Fact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = match self.verdict {
            Verdict::Holds => "✔",
            Verdict::Fails => "✘",
            Verdict::Warns => "⚠",
        };
        write!(f, "{mark} {}", self.text)
    }
}

/// What one server said to the pollers' user: its facts and that user's privileges.
struct Looked {
    info: ServerInfo,
    /// SUPER, READ_ONLY ADMIN, CONNECTION ADMIN or ALL PRIVILEGES, as granted on `*.*`.
    admin: Vec<&'static str>,
}

/// Every fact, in the order a DBA checks them: servers, MaxScale, roles.
pub async fn check(inv: &Inventory) -> Vec<Fact> {
    let mut facts = Vec::new();
    let targets = match sql_targets(inv) {
        Ok(t) => t,
        Err(e) => return vec![Fact::fails(e.to_string())],
    };
    let looked = join_all(targets.iter().map(look)).await;
    for (t, result) in targets.iter().zip(&looked) {
        facts.push(server_fact(t, result));
        if let Ok(l) = result
            && !l.admin.is_empty()
        {
            facts.push(Fact::warns(format!(
                "{}: the pollers' user {} holds {}: at a switchover MaxScale kicks its \
                 connection off the old primary and blocks writes for another 500 ms; poll \
                 with monitoring grants only and give sql steps their own user \
                 ([mysql.operator])",
                t.server,
                t.user,
                l.admin.join(", ")
            )));
        }
    }
    facts.extend(operator_facts(inv, &targets).await);
    let maxscale = maxscale_facts(inv, &mut facts).await.unwrap_or_default();
    let infos: Vec<Option<&ServerInfo>> = looked
        .iter()
        .map(|l| l.as_ref().ok().map(|l| &l.info))
        .collect();
    facts.extend(role_facts(inv, &infos, &maxscale));
    facts
}

async fn look(target: &SqlTarget) -> Result<Looked, String> {
    let mut conn = connect(target, DEADLINE).await.map_err(|e| e.to_string())?;
    let read = async {
        let info = query(&mut conn, None, true).await?;
        let grants: Vec<String> = conn.query("SHOW GRANTS").await?;
        Ok::<_, mysql_async::Error>((info, grants))
    };
    let result = match tokio::time::timeout(DEADLINE, read).await {
        Ok(Ok((info, grants))) => Ok(Looked {
            info,
            admin: admin_privileges(&grants),
        }),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("did not answer within {DEADLINE:?}")),
    };
    let _ = tokio::time::timeout(DEADLINE, conn.disconnect()).await;
    result
}

/// The privileges on `*.*` in `SHOW GRANTS` lines that make MaxScale kick a connection
/// at a switchover (CONNECTION ADMIN lets it log in past `max_connections` and is no
/// business of a poller either).
fn admin_privileges(grants: &[String]) -> Vec<&'static str> {
    let global: Vec<String> = grants
        .iter()
        .filter(|g| g.contains(" ON *.* TO "))
        .map(|g| g.to_ascii_uppercase())
        .collect();
    [
        "ALL PRIVILEGES",
        "SUPER",
        "READ_ONLY ADMIN",
        "CONNECTION ADMIN",
    ]
    .into_iter()
    .filter(|p| global.iter().any(|g| g.contains(p)))
    .collect()
}

fn server_fact(t: &SqlTarget, result: &Result<Looked, String>) -> Fact {
    let at = format!("{} ({}:{})", t.server, t.host, t.port);
    match result {
        Ok(l) => Fact::holds(format!(
            "{at} answers as {}: MariaDB {}, {}",
            t.user,
            l.info.version,
            if l.info.read_only {
                "read_only"
            } else {
                "writable"
            }
        )),
        Err(e) => Fact::fails(format!("{at} as {}: {e}", t.user)),
    }
}

/// The operator's user logs in on every server, when it is another user than the pollers'.
async fn operator_facts(inv: &Inventory, pollers: &[SqlTarget]) -> Vec<Fact> {
    let targets = match operator_targets(inv) {
        Ok(t) => t,
        Err(e) => return vec![Fact::fails(e.to_string())],
    };
    let differ: Vec<&SqlTarget> = targets
        .iter()
        .zip(pollers)
        .filter(|(o, p)| o.user != p.user)
        .map(|(o, _)| o)
        .collect();
    let logins = join_all(differ.iter().map(|t| async move {
        let conn = connect(t, DEADLINE).await;
        if let Ok(c) = conn {
            let _ = tokio::time::timeout(DEADLINE, c.disconnect()).await;
            Ok(())
        } else {
            conn.map(|_| ())
        }
    }))
    .await;
    differ
        .iter()
        .zip(logins)
        .map(|(t, r)| match r {
            Ok(()) => Fact::holds(format!(
                "{}: the operator {} logs in (sql steps)",
                t.server, t.user
            )),
            Err(e) => Fact::fails(format!(
                "{}: the operator {} cannot log in: {e}",
                t.server, t.user
            )),
        })
        .collect()
}

/// MaxScale's facts; its server list when it answered.
async fn maxscale_facts(inv: &Inventory, facts: &mut Vec<Fact>) -> Option<Vec<MaxscaleServer>> {
    let m = inv.maxscale.as_ref()?;
    let client = match maxscale_client(inv) {
        Ok(Some(c)) => c,
        Ok(None) => return None,
        Err(e) => {
            facts.push(Fact::fails(e.to_string()));
            return None;
        }
    };
    let servers = match client.servers().await {
        Ok(s) => {
            facts.push(Fact::holds(format!(
                "MaxScale {} answers as {} ({} servers)",
                m.url,
                m.user,
                s.len()
            )));
            s
        }
        Err(e) => {
            facts.push(Fact::fails(maxscale_failure(&m.url, &m.user, &e)));
            facts.push(Fact::fails(format!(
                "monitor `{}` and the servers' maxscale_name not checked: MaxScale did not \
                 answer",
                m.monitor
            )));
            return None;
        }
    };
    facts.push(monitor_fact(&client, &m.monitor).await);
    let names: Vec<&str> = servers.iter().map(|s| s.id.as_str()).collect();
    for s in &inv.servers {
        facts.push(match servers.iter().find(|x| x.id == s.maxscale_name) {
            Some(x) => Fact::holds(format!(
                "{} is `{}` in MaxScale ({})",
                s.name,
                s.maxscale_name,
                x.state().raw
            )),
            None => Fact::fails(format!(
                "{}: maxscale_name `{}` is not a server in MaxScale; it has {}",
                s.name,
                s.maxscale_name,
                names.join(", ")
            )),
        });
    }
    Some(servers)
}

fn maxscale_failure(url: &str, user: &str, e: &MaxscaleError) -> String {
    match e.status() {
        Some(401 | 403) => format!(
            "MaxScale {url} rejected the credentials of {user} (HTTP {}): check [maxscale] \
             user and password",
            e.status().unwrap_or_default()
        ),
        _ if e.is_unreachable() => format!("MaxScale {url} is unreachable: {e}"),
        _ => format!("MaxScale {url}: {e}"),
    }
}

async fn monitor_fact(client: &MaxscaleClient, name: &str) -> Fact {
    match client.monitor(name).await {
        Ok(m) => Fact::holds(format!(
            "monitor `{name}` exists ({}, primary {})",
            m.attributes.module.as_deref().unwrap_or("unknown module"),
            m.master().unwrap_or("none")
        )),
        Err(e) if e.status() == Some(404) => {
            let known = match client.monitors().await {
                Ok(ms) => ms
                    .iter()
                    .map(|m| m.id.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                Err(_) => "(could not list them)".to_owned(),
            };
            Fact::fails(format!(
                "monitor `{name}` ([maxscale] monitor) does not exist in MaxScale; it has {known}"
            ))
        }
        Err(e) => Fact::fails(format!("monitor `{name}`: {e}")),
    }
}

/// Each server's role per the inventory, against MaxScale's state and the server's own
/// (writable and replicating from nobody, or replicating).
fn role_facts(
    inv: &Inventory,
    infos: &[Option<&ServerInfo>],
    maxscale: &[MaxscaleServer],
) -> Vec<Fact> {
    inv.servers
        .iter()
        .zip(infos)
        .map(|(s, info)| {
            let mut disagree = Vec::new();
            let mxs = maxscale.iter().find(|x| x.id == s.maxscale_name);
            if let Some(x) = mxs {
                let state = x.state();
                let agrees = match s.role {
                    Role::Primary => state.master,
                    Role::Replica => state.slave && !state.master,
                };
                if !agrees {
                    disagree.push(format!("MaxScale says `{}`", state.raw));
                }
            }
            if let Some(info) = info {
                match s.role {
                    Role::Primary if info.read_only => {
                        disagree.push("the server is read_only".to_owned())
                    }
                    Role::Primary if !info.replicas.is_empty() => {
                        disagree.push("the server replicates from another".to_owned())
                    }
                    Role::Replica if info.replicas.is_empty() => {
                        disagree.push("the server replicates from nobody".to_owned())
                    }
                    _ => {}
                }
            }
            if disagree.is_empty() {
                let sources = match (mxs.is_some(), info.is_some()) {
                    (true, true) => "MaxScale and the server agree",
                    (true, false) => "MaxScale agrees (the server did not answer: see above)",
                    (false, true) => "the server agrees",
                    (false, false) => "nothing live to compare with",
                };
                Fact::holds(format!(
                    "{}: {} per the inventory; {sources}",
                    s.name,
                    s.role.as_str()
                ))
            } else {
                Fact::fails(format!(
                    "{}: {} per the inventory, but {}",
                    s.name,
                    s.role.as_str(),
                    disagree.join(" and ")
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::admin_privileges;

    #[test]
    fn only_global_admin_privileges_count() {
        let grants = |lines: &[&str]| lines.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            admin_privileges(&grants(&[
                "GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO `w`@`127.0.0.1`",
                "GRANT SELECT, INSERT, UPDATE ON `app`.`heartbeat` TO `w`@`127.0.0.1`",
            ])),
            Vec::<&str>::new()
        );
        assert_eq!(
            admin_privileges(&grants(&[
                "GRANT ALL PRIVILEGES ON *.* TO `f`@`127.0.0.1` WITH GRANT OPTION"
            ])),
            vec!["ALL PRIVILEGES"]
        );
        assert_eq!(
            admin_privileges(&grants(&[
                "GRANT SUPER, READ_ONLY ADMIN ON *.* TO `m`@`%`",
                "GRANT ALL PRIVILEGES ON `app`.* TO `m`@`%`",
            ])),
            vec!["SUPER", "READ_ONLY ADMIN"]
        );
    }
}
