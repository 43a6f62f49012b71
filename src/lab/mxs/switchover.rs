//! mariadbmon's switchover, on the lab's real servers: the pre-checks with
//! MaxScale's refusal messages, then demote → catch up → promote → redirect.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use super::monitor::Monitor;
use super::state::{ClusterView, Role};

const STMT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which servers and replica connections a switchover touches.
#[derive(Debug)]
struct Plan {
    old: usize,
    new: usize,
    old_name: String,
    new_name: String,
    /// The new primary's connection name for its link to the old one.
    new_link: String,
    /// Other replicas of the old primary: (server, connection name).
    others: Vec<(usize, String)>,
}

/// Run a switchover to `new` from `old` (or the current primary). Errors are the
/// messages for `meta.errors`, verbatim.
pub(super) async fn run(
    mon: &mut Monitor,
    new: &str,
    old: Option<&str>,
) -> Result<(), Vec<String>> {
    mon.tick().await;
    let plan = check(&mon.view, mon.cfg.switchover_timeout, new, old)
        .map_err(|msg| vec![msg, "Switchover cancelled.".to_owned()])?;
    let started = Instant::now();
    mon.view.switching = true;
    mon.publish();
    let result = perform(mon, &plan).await;
    mon.view.switching = false;
    mon.tick().await;
    match result {
        Ok(()) => {
            tracing::info!(old = %plan.old_name, new = %plan.new_name, elapsed = ?started.elapsed(), "lab switchover performed");
            Ok(())
        }
        Err(mut errors) => {
            errors.push(format!(
                "Switchover {} -> {} failed.",
                plan.old_name, plan.new_name
            ));
            Err(errors)
        }
    }
}

fn check(
    view: &ClusterView,
    timeout: Duration,
    new: &str,
    old: Option<&str>,
) -> Result<Plan, String> {
    let old_name = match old {
        Some(o) => o.to_owned(),
        None => view.master.clone().ok_or_else(|| {
            "Can not autoselect a demotion target for switchover: cluster does not have a primary.".to_owned()
        })?,
    };
    let position = |name: &str| view.servers.iter().position(|s| s.name == name);
    let old_i = position(&old_name).ok_or_else(|| format!("'{old_name}' is not monitored."))?;
    let new_i = position(new).ok_or_else(|| format!("'{new}' is not monitored."))?;
    let (o, n) = (&view.servers[old_i], &view.servers[new_i]);

    let demotion = |reason: &str| {
        format!("'{old_name}' is not a valid demotion target for switchover: {reason}")
    };
    let old_probe = match &o.probe {
        Some(p) if o.usable() => p,
        _ => return Err(demotion("it is not running or it is in maintenance.")),
    };
    if !old_probe.log_bin {
        return Err(demotion("its binary log is disabled."));
    }
    if o.role != Role::Master && !old_probe.log_slave_updates {
        return Err(demotion(
            "it is not the primary and log_slave_updates is disabled.",
        ));
    }
    if old_probe.gtid_binlog_pos.is_empty() {
        return Err(demotion("it does not have a 'gtid_binlog_pos'."));
    }

    let promotion = |reason: String| {
        format!("'{new}' is not a valid promotion target for switchover because {reason}")
    };
    if n.role == Role::Master {
        return Err(promotion("it is already the primary.".to_owned()));
    }
    let new_probe = match &n.probe {
        Some(p) if n.usable() => p,
        _ => return Err(promotion("it is down or in maintenance.".to_owned())),
    };
    let link = n
        .link_targets
        .iter()
        .position(|t| t.as_deref() == Some(old_name.as_str()));
    let Some(row) = link.and_then(|i| new_probe.slaves.get(i)) else {
        return Err(promotion(format!(
            "it is not replicating from '{old_name}'."
        )));
    };
    if row.gtid_io_pos.is_empty() || row.using_gtid == "No" {
        return Err(promotion(format!(
            "its replica connection to '{old_name}' is not using gtid."
        )));
    }
    if row.slave_io_running != "Yes" {
        return Err(promotion(format!(
            "its replica connection to '{old_name}' is broken."
        )));
    }
    if !new_probe.log_bin {
        return Err(promotion("its binary log is disabled.".to_owned()));
    }
    let limit = timeout.as_secs() as i64;
    if let Some(lag) = row.seconds_behind_master.filter(|&lag| lag > limit) {
        return Err(promotion(format!(
            "its replication lag ({lag}s) is greater than switchover_timeout ({limit}s)."
        )));
    }
    // The lab only switches from the primary (real mariadbmon has more cases).
    if o.role != Role::Master {
        return Err(demotion("it is not the primary."));
    }

    let others = view
        .servers
        .iter()
        .enumerate()
        .filter(|(i, s)| *i != old_i && *i != new_i && s.running)
        .flat_map(|(i, s)| {
            let rows = s
                .probe
                .as_ref()
                .map(|p| p.slaves.clone())
                .unwrap_or_default();
            rows.into_iter()
                .filter(|r| {
                    view.server_at(&r.master_host, r.master_port)
                        .is_some_and(|t| t.name == old_name)
                })
                .map(move |r| (i, r.connection_name))
        })
        .collect();
    Ok(Plan {
        old: old_i,
        new: new_i,
        old_name,
        new_name: new.to_owned(),
        new_link: row.connection_name.clone(),
        others,
    })
}

/// What has been done to the new primary, so a failure can be undone.
#[derive(Debug, Default)]
struct Progress {
    new_stopped: bool,
    new_reset: bool,
}

async fn perform(mon: &mut Monitor, plan: &Plan) -> Result<(), Vec<String>> {
    sql(mon, plan.old, "SET GLOBAL read_only=1", "Setting read_only")
        .await
        .map_err(|e| vec![e])?;
    let mut progress = Progress::default();
    if let Err(e) = demote_and_promote(mon, plan, &mut progress).await {
        let mut errors = vec![e];
        errors.extend(undo(mon, plan, &progress).await);
        return Err(errors);
    }
    // Promoted: let the router send clients to the new primary before the redirects.
    // Naming it the current primary makes the derivation keep it even while other
    // replicas still point at the old one.
    mon.view.master = Some(plan.new_name.clone());
    mon.view.switching = false;
    mon.tick().await;
    redirect(mon, plan).await.map_err(|e| vec![e])
}

async fn demote_and_promote(
    mon: &mut Monitor,
    plan: &Plan,
    progress: &mut Progress,
) -> Result<(), String> {
    super::kick::kick_out_admins(mon, plan.old).await?;
    sql(mon, plan.old, "FLUSH LOGS", "FLUSH LOGS").await?;
    let pos = query_text(mon, plan.old, "SELECT @@gtid_binlog_pos").await?;
    let wait = mon.cfg.switchover_timeout.as_secs().max(1);
    let wait_sql = format!("SELECT MASTER_GTID_WAIT('{}', {wait})", escape(&pos));
    let waited = query_text(mon, plan.new, &wait_sql).await?;
    if waited != "0" {
        return Err(format!(
            "'{}' did not catch up with '{}' (gtid_binlog_pos {pos}) within {wait} seconds.",
            plan.new_name, plan.old_name
        ));
    }
    let name = conn_clause(&plan.new_link);
    sql(mon, plan.new, &format!("STOP SLAVE {name}"), "STOP SLAVE").await?;
    progress.new_stopped = true;
    sql(
        mon,
        plan.new,
        &format!("RESET SLAVE {name} ALL"),
        "RESET SLAVE ALL",
    )
    .await?;
    progress.new_reset = true;
    sql(
        mon,
        plan.new,
        "SET GLOBAL read_only=0",
        "Disabling read_only",
    )
    .await?;
    Ok(())
}

/// Best effort; returns what could not be undone.
async fn undo(mon: &mut Monitor, plan: &Plan, progress: &Progress) -> Vec<String> {
    let mut failed = Vec::new();
    if progress.new_reset {
        let change = change_master(mon, &plan.new_link, plan.old);
        if let Err(e) = sql(mon, plan.new, &change, "CHANGE MASTER").await {
            failed.push(e);
        }
    }
    if progress.new_stopped {
        let start = format!("START SLAVE {}", conn_clause(&plan.new_link));
        if let Err(e) = sql(mon, plan.new, &start, "START SLAVE").await {
            failed.push(e);
        }
    }
    if let Err(e) = sql(mon, plan.old, "SET GLOBAL read_only=0", "Undoing read_only").await {
        failed.push(e);
    }
    failed
}

/// Point the old primary and the other replicas at the new primary.
async fn redirect(mon: &mut Monitor, plan: &Plan) -> Result<(), String> {
    let old_links: Vec<String> = mon.view.servers[plan.old]
        .probe
        .as_ref()
        .map(|p| p.slaves.iter().map(|s| s.connection_name.clone()).collect())
        .unwrap_or_default();
    for link in old_links {
        let name = conn_clause(&link);
        sql(mon, plan.old, &format!("STOP SLAVE {name}"), "STOP SLAVE").await?;
        sql(
            mon,
            plan.old,
            &format!("RESET SLAVE {name} ALL"),
            "RESET SLAVE ALL",
        )
        .await?;
    }
    let change = change_master(mon, "", plan.new);
    sql(mon, plan.old, &change, "CHANGE MASTER").await?;
    sql(mon, plan.old, "START SLAVE", "START SLAVE").await?;
    for (server, link) in &plan.others {
        let name = conn_clause(link);
        let change = change_master(mon, link, plan.new);
        let steps = [
            (format!("STOP SLAVE {name}"), "STOP SLAVE"),
            (change, "CHANGE MASTER"),
            (format!("START SLAVE {name}"), "START SLAVE"),
        ];
        for (query, what) in steps {
            if let Err(e) = sql(mon, *server, &query, what).await {
                tracing::warn!(error = %e, "lab switchover: redirecting a replica failed");
                break;
            }
        }
    }
    Ok(())
}

fn change_master(mon: &Monitor, link: &str, to: usize) -> String {
    let target = &mon.cfg.servers[to];
    format!(
        "CHANGE MASTER {}TO MASTER_HOST = '{}', MASTER_PORT = {}, MASTER_USER = '{}', \
         MASTER_PASSWORD = '{}', MASTER_USE_GTID = current_pos",
        if link.is_empty() {
            String::new()
        } else {
            format!("'{}' ", escape(link))
        },
        escape(&target.host),
        target.port,
        escape(mon.cfg.replication_user()),
        escape(mon.cfg.replication_password()),
    )
}

fn conn_clause(link: &str) -> String {
    if link.is_empty() {
        String::new()
    } else {
        format!("'{}'", escape(link))
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Run a statement on one server; `what` names it in errors (the SQL may hold a password).
pub(super) async fn sql(
    mon: &mut Monitor,
    server: usize,
    query: &str,
    what: &str,
) -> Result<(), String> {
    let name = mon.view.servers[server].name.clone();
    let conn = mon.conns[server]
        .as_mut()
        .ok_or_else(|| format!("No connection to '{name}'."))?;
    let result = tokio::time::timeout(STMT_TIMEOUT, conn.query_drop(query)).await;
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{what} on '{name}' failed: {e}")),
        Err(_) => {
            mon.conns[server] = None;
            Err(format!(
                "{what} on '{name}' timed out after {STMT_TIMEOUT:?}."
            ))
        }
    }
}

pub(super) async fn query_text(
    mon: &mut Monitor,
    server: usize,
    query: &str,
) -> Result<String, String> {
    let name = mon.view.servers[server].name.clone();
    let conn = mon.conns[server]
        .as_mut()
        .ok_or_else(|| format!("No connection to '{name}'."))?;
    let timeout = STMT_TIMEOUT + mon.cfg.switchover_timeout;
    let result: Result<Result<Option<Option<String>>, _>, _> =
        tokio::time::timeout(timeout, conn.query_first(query)).await;
    match result {
        Ok(Ok(v)) => Ok(v.flatten().unwrap_or_default()),
        Ok(Err(e)) => Err(format!("Query '{query}' on '{name}' failed: {e}")),
        Err(_) => {
            mon.conns[server] = None;
            Err(format!("Query '{query}' on '{name}' timed out."))
        }
    }
}
