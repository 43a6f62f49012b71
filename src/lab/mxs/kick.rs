//! What mariadbmon does to the old primary's privileged clients at a switchover, after it
//! set `read_only`: a client that holds READ_ONLY ADMIN (or SUPER, which includes it before
//! MariaDB 10.11) could still write, so its connections are killed, and the monitor waits
//! 500 ms before it looks again. Ordinary clients keep their connections: `read_only` already
//! refuses their writes. The monitor's own user, system threads and replicas' binlog dumps
//! are left alone. That 500 ms is write downtime, which is why flightdeck's pollers log in
//! with monitoring grants only.

use std::time::Duration;

use mysql_async::Row;
use mysql_async::prelude::Queryable;

use super::monitor::Monitor;
use super::probe::{int, text};
use super::switchover::{query_text, sql};

const STMT_TIMEOUT: Duration = Duration::from_secs(10);
/// mariadbmon's pause after killing, before it checks that the clients are gone.
pub(super) const KICK_PAUSE: Duration = Duration::from_millis(500);
/// Looks after the first, while privileged clients keep coming back.
const RETRIES: u32 = 4;

/// A privileged client connection on the old primary.
#[derive(Debug)]
struct AdminConn {
    id: i64,
    user: String,
}

/// Kicks READ_ONLY ADMIN / SUPER clients off `server` until none is left; an error is
/// MaxScale's message when they keep coming back.
pub(super) async fn kick_out_admins(mon: &mut Monitor, server: usize) -> Result<(), String> {
    let name = mon.view.servers[server].name.clone();
    let query = admin_query(mon, server).await?;
    for attempt in 0..=RETRIES {
        let conns = admin_conns(mon, server, &query).await?;
        let Some(example) = conns.first() else {
            return Ok(());
        };
        if attempt == RETRIES {
            return Err(format!(
                "Could not kick out all super or read-only admin users. {} such users remain, \
                 for example '{}'. Either 'KILL CONNECTION'-query failed or super-users keep \
                 logging back in.",
                conns.len(),
                example.user
            ));
        }
        notice(
            mon,
            &format!(
                "Detected {} super or read_only admin users logged in on {name}. Kicking them out.",
                conns.len()
            ),
        );
        let mut kills = 0;
        for c in &conns {
            // "Unknown thread id": gone meanwhile, which is what was wanted.
            let kill = format!("KILL SOFT CONNECTION {}", c.id);
            if sql(mon, server, &kill, "KILL SOFT CONNECTION")
                .await
                .is_ok()
            {
                kills += 1;
            }
        }
        if kills > 0 {
            notice(
                mon,
                &format!("Killed {kills} super or read-only admin user connections on '{name}'."),
            );
        }
        tokio::time::sleep(KICK_PAUSE).await;
    }
    Ok(())
}

/// The query that lists privileged client connections, for this server's version.
async fn admin_query(mon: &mut Monitor, server: usize) -> Result<String, String> {
    let version = query_text(mon, server, "SELECT VERSION()").await?;
    Ok(crate::preflight::admins::query(
        &version,
        &mon.cfg.monitor_user,
    ))
}

async fn admin_conns(
    mon: &mut Monitor,
    server: usize,
    query: &str,
) -> Result<Vec<AdminConn>, String> {
    let name = mon.view.servers[server].name.clone();
    let conn = mon.conns[server]
        .as_mut()
        .ok_or_else(|| format!("No connection to '{name}'."))?;
    let rows: Vec<Row> = match tokio::time::timeout(STMT_TIMEOUT, conn.query(query)).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            return Err(format!(
                "Failed to query logged in super-users on '{name}': {e}"
            ));
        }
        Err(_) => return Err(format!("Listing connections on '{name}' timed out.")),
    };
    Ok(rows
        .iter()
        .filter_map(|row| {
            Some(AdminConn {
                id: int(row, "ID")?,
                user: text(row, "USER"),
            })
        })
        .collect())
}

/// A line in the endpoint's log (`DIR/serve.log`), as MaxScale writes its notices.
fn notice(mon: &Monitor, message: &str) {
    eprintln!("notice : ({}); {message}", mon.cfg.monitor_name);
}
