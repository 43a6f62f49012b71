//! Users, the demo schema and replication.
//!
//! Users are created on every server separately with `SET sql_log_bin = 0`: their passwords
//! never reach a binary log (nor a relay log), and no server gets a transaction of its own
//! (an errant GTID) that a switchover would trip over. The schema `app` is ordinary data: it
//! is created on the primary, binlogged, and replicated while the replicas' `gtid_slave_pos`
//! is still empty, so every server ends at the same `gtid_binlog_pos`.

use std::time::Duration;

use mysql_async::Conn;

use super::error::{LabError, Result};
use super::secrets::Passwords;
use super::sql::{self, exec};
use super::state::ServerState;

const HOSTS: [&str; 2] = ["127.0.0.1", "localhost"];

/// The privileges MaxScale's MariaDB monitor needs for monitoring, switchover and failover
/// (MariaDB ≥ 10.5 names; older servers get ALL).
const MONITOR_GRANTS: &str = "SUPER, RELOAD, PROCESS, SHOW DATABASES, EVENT, BINLOG MONITOR, \
     READ_ONLY ADMIN, REPLICATION SLAVE, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, \
     SLAVE MONITOR, BINLOG ADMIN, CONNECTION ADMIN";

/// What flightdeck's pollers need and nothing more: the replication and binary log status
/// (`SHOW ALL SLAVES STATUS`, `SHOW MASTER STATUS`) and every thread (`PROCESS`). Read as
/// the README's "MySQL users" section lists it. Older servers have no SLAVE MONITOR or
/// BINLOG MONITOR: REPLICATION CLIENT covered both.
const WATCH_GRANTS: &str = "PROCESS, BINLOG MONITOR, SLAVE MONITOR";
const WATCH_GRANTS_BEFORE_10_5: &str = "PROCESS, REPLICATION CLIENT";

/// Creates the lab's users on one server, outside the binary log (`sql_log_bin = 0` for this
/// session only). Root has no password yet; it gets one here. Run it on every server before
/// replication starts. Leaves `conn` usable, with binary logging back on.
pub async fn users(conn: &mut Conn, s: &ServerState, pw: &Passwords) -> Result<()> {
    exec(conn, &s.name, "SET SESSION sql_log_bin = 0", &[]).await?;
    let created = create_users(conn, s, pw).await;
    let restored = exec(conn, &s.name, "SET SESSION sql_log_bin = 1", &[]).await;
    created.and(restored)
}

async fn create_users(conn: &mut Conn, s: &ServerState, pw: &Passwords) -> Result<()> {
    let secrets = pw.all();
    let version = sql::scalar(conn, &s.name, "SELECT VERSION()")
        .await?
        .unwrap_or_default();
    // root@<hostname> and anonymous users: unreachable under skip-name-resolve, noisy in logs.
    let strays = sql::rows(
        conn,
        &s.name,
        "SELECT user, host FROM mysql.user \
         WHERE (user = 'root' AND host NOT IN ('localhost', '127.0.0.1')) OR user = ''",
    )
    .await?;
    for row in strays {
        let (user, host): (String, String) = mysql_async::from_row(row);
        exec(conn, &s.name, &format!("DROP USER '{user}'@'{host}'"), &[]).await?;
    }
    let (grants, watch_grants) = if at_least_10_5(&version) {
        (MONITOR_GRANTS, WATCH_GRANTS)
    } else {
        ("ALL PRIVILEGES", WATCH_GRANTS_BEFORE_10_5)
    };
    for host in HOSTS {
        let statements = [
            format!("ALTER USER 'root'@'{host}' IDENTIFIED BY '{}'", pw.root),
            format!("CREATE USER 'repl'@'{host}' IDENTIFIED BY '{}'", pw.repl),
            format!("GRANT REPLICATION SLAVE ON *.* TO 'repl'@'{host}'"),
            format!(
                "CREATE USER 'monitor'@'{host}' IDENTIFIED BY '{}'",
                pw.monitor
            ),
            format!("GRANT {grants} ON *.* TO 'monitor'@'{host}'"),
            format!("GRANT SELECT ON mysql.* TO 'monitor'@'{host}'"),
            format!(
                "CREATE USER 'flightdeck'@'{host}' IDENTIFIED BY '{}'",
                pw.flightdeck
            ),
            format!("GRANT ALL PRIVILEGES ON *.* TO 'flightdeck'@'{host}' WITH GRANT OPTION"),
            format!(
                "CREATE USER 'flightdeck_watch'@'{host}' IDENTIFIED BY '{}'",
                pw.flightdeck_watch
            ),
            format!("GRANT {watch_grants} ON *.* TO 'flightdeck_watch'@'{host}'"),
            format!(
                "CREATE USER 'flightdeck_probe'@'{host}' IDENTIFIED BY '{}'",
                pw.flightdeck_probe
            ),
            format!(
                "GRANT CREATE, INSERT, UPDATE, SELECT ON flightdeck.* TO 'flightdeck_probe'@'{host}'"
            ),
            format!("CREATE USER 'app'@'{host}' IDENTIFIED BY '{}'", pw.app),
            format!("GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'{host}'"),
        ];
        if host == "127.0.0.1" && !root_exists(conn, s, host).await? {
            exec(conn, &s.name, &format!("CREATE USER 'root'@'{host}'"), &[]).await?;
            exec(
                conn,
                &s.name,
                &format!("GRANT ALL ON *.* TO 'root'@'{host}' WITH GRANT OPTION"),
                &[],
            )
            .await?;
        }
        for sql in &statements {
            exec(conn, &s.name, sql, &secrets).await?;
        }
    }
    Ok(())
}

/// The pollers read the heartbeat table and write it on the primary (`update = true`): a
/// grant on that table alone, given on each server outside the binary log like the users,
/// once the table is there (on a replica: once it has caught up).
pub async fn watch_grants(conn: &mut Conn, s: &ServerState) -> Result<()> {
    exec(conn, &s.name, "SET SESSION sql_log_bin = 0", &[]).await?;
    let mut granted = Ok(());
    for host in HOSTS {
        let grant =
            format!("GRANT SELECT, INSERT, UPDATE ON app.heartbeat TO 'flightdeck_watch'@'{host}'");
        granted = granted.and(exec(conn, &s.name, &grant, &[]).await);
    }
    let restored = exec(conn, &s.name, "SET SESSION sql_log_bin = 1", &[]).await;
    granted.and(restored)
}

/// Creates the `app` schema and its tables on the primary (binlogged: the replicas get them
/// through replication). Leaves `conn` usable.
pub async fn schema(conn: &mut Conn, s: &ServerState) -> Result<()> {
    let schema = [
        "CREATE DATABASE app".to_owned(),
        "CREATE TABLE app.demo (\
           id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, \
           name varchar(64) NOT NULL, \
           created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB"
            .to_owned(),
        "INSERT INTO app.demo (name) VALUES ('alpha'), ('bravo'), ('charlie')".to_owned(),
        // pt-heartbeat's table layout, so heartbeat pollers work against the lab.
        "CREATE TABLE app.heartbeat (\
           ts varchar(26) NOT NULL, \
           server_id int unsigned NOT NULL PRIMARY KEY, \
           file varchar(255) DEFAULT NULL, \
           position bigint unsigned DEFAULT NULL, \
           relay_master_log_file varchar(255) DEFAULT NULL, \
           exec_master_log_pos bigint unsigned DEFAULT NULL) ENGINE=InnoDB"
            .to_owned(),
        format!(
            "INSERT INTO app.heartbeat (ts, server_id) \
             VALUES (DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f'), {})",
            s.server_id
        ),
    ];
    for sql in &schema {
        exec(conn, &s.name, sql, &[]).await?;
    }
    Ok(())
}

async fn root_exists(conn: &mut Conn, s: &ServerState, host: &str) -> Result<bool> {
    let sql = format!("SELECT COUNT(*) FROM mysql.user WHERE user = 'root' AND host = '{host}'");
    Ok(sql::scalar(conn, &s.name, &sql)
        .await?
        .is_some_and(|n| n != "0"))
}

/// Makes `s` a read-only GTID replica of `primary` and starts replication.
pub async fn replica(
    conn: &mut Conn,
    s: &ServerState,
    primary: &ServerState,
    repl_password: &str,
) -> Result<()> {
    let change = format!(
        "CHANGE MASTER TO MASTER_HOST = '{}', MASTER_PORT = {}, MASTER_USER = 'repl', \
         MASTER_PASSWORD = '{repl_password}', MASTER_USE_GTID = slave_pos, \
         MASTER_CONNECT_RETRY = 1",
        primary.host, primary.port
    );
    exec(conn, &s.name, "SET GLOBAL read_only = 1", &[]).await?;
    exec(conn, &s.name, &change, &[repl_password]).await?;
    exec(conn, &s.name, "START SLAVE", &[]).await
}

/// Waits until the replica behind `replica_conn` has applied `gtid_pos` (e.g. the primary's
/// `@@gtid_binlog_pos`). On timeout the error carries the replica's replication error.
pub async fn wait_gtid(
    replica_conn: &mut Conn,
    s: &ServerState,
    gtid_pos: &str,
    timeout: Duration,
) -> Result<()> {
    if gtid_pos.is_empty() {
        return Ok(());
    }
    let secs = timeout.as_secs().max(1);
    let sql = format!("SELECT MASTER_GTID_WAIT('{gtid_pos}', {secs})");
    let got = sql::scalar(replica_conn, &s.name, &sql).await?;
    if got.as_deref() == Some("0") {
        return Ok(());
    }
    let detail = match sql::slave_status(replica_conn, &s.name).await? {
        Some(st) => format!(
            " (IO {}, SQL {}{})",
            st.io_running,
            st.sql_running,
            st.error().map(|e| format!(": {e}")).unwrap_or_default()
        ),
        None => " (it is not a replica)".to_owned(),
    };
    Err(LabError::Timeout {
        server: s.name.clone(),
        what: format!("applying GTID {gtid_pos}"),
        secs,
        detail,
    })
}

/// `10.5.0` or newer (or 11.x): the split privileges exist.
fn at_least_10_5(version: &str) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => (major, minor) >= (10, 5),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::at_least_10_5;

    #[test]
    fn privilege_names_follow_the_version() {
        assert!(at_least_10_5("10.11.18-MariaDB-0+deb12u1-log"));
        assert!(at_least_10_5("11.4.2-MariaDB"));
        assert!(!at_least_10_5("10.4.34-MariaDB"));
    }
}
