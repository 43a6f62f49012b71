//! What the monitor reads from one server on each tick, over its own connection.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row};

/// One row of `SHOW ALL SLAVES STATUS`, the columns mariadbmon reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaveRow {
    pub connection_name: String,
    pub master_host: String,
    pub master_port: i64,
    pub slave_io_running: String,
    pub slave_sql_running: String,
    pub last_io_error: String,
    pub last_sql_error: String,
    pub seconds_behind_master: Option<i64>,
    pub master_server_id: i64,
    pub using_gtid: String,
    pub gtid_io_pos: String,
}

/// A server as last seen. Kept after the server goes down: MaxScale shows the
/// last known values too.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probe {
    pub server_id: i64,
    pub version: String,
    pub read_only: bool,
    pub gtid_current_pos: String,
    pub gtid_binlog_pos: String,
    pub gtid_domain_id: i64,
    pub log_bin: bool,
    pub log_slave_updates: bool,
    pub uptime: i64,
    pub slaves: Vec<SlaveRow>,
}

/// Login for the monitor's and the switchover's connections.
#[derive(Debug, Clone)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

/// Open a TCP connection (never the socket: the server must see the monitor user from 127.0.0.1).
pub async fn connect(login: &Login, timeout: Duration) -> Result<Conn, String> {
    let opts = OptsBuilder::default()
        .ip_or_hostname(login.host.clone())
        .tcp_port(login.port)
        .user(Some(login.user.clone()))
        .pass(Some(login.password.clone()))
        .prefer_socket(false);
    match tokio::time::timeout(timeout, Conn::new(opts)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "connecting to {}:{} timed out after {timeout:?}",
            login.host, login.port
        )),
    }
}

const VARS: &str = "SELECT @@server_id, @@version, @@read_only, @@gtid_current_pos, @@gtid_binlog_pos, \
     @@gtid_domain_id, @@log_bin, @@log_slave_updates, \
     (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME')";

/// Read variables and replica status.
pub async fn probe(conn: &mut Conn) -> Result<Probe, String> {
    let vars: Option<Row> = conn.query_first(VARS).await.map_err(|e| e.to_string())?;
    let vars = vars.ok_or_else(|| "the variables query returned no row".to_owned())?;
    let rows: Vec<Row> = conn
        .query("SHOW ALL SLAVES STATUS")
        .await
        .map_err(|e| e.to_string())?;
    Ok(Probe {
        server_id: int_at(&vars, 0).unwrap_or(0),
        version: text_at(&vars, 1),
        read_only: int_at(&vars, 2).unwrap_or(0) != 0,
        gtid_current_pos: text_at(&vars, 3),
        gtid_binlog_pos: text_at(&vars, 4),
        gtid_domain_id: int_at(&vars, 5).unwrap_or(0),
        log_bin: int_at(&vars, 6).unwrap_or(0) != 0,
        log_slave_updates: int_at(&vars, 7).unwrap_or(0) != 0,
        uptime: int_at(&vars, 8).unwrap_or(0),
        slaves: rows.iter().map(slave_row).collect(),
    })
}

fn slave_row(row: &Row) -> SlaveRow {
    SlaveRow {
        connection_name: text(row, "Connection_name"),
        master_host: text(row, "Master_Host"),
        master_port: int(row, "Master_Port").unwrap_or(0),
        slave_io_running: text(row, "Slave_IO_Running"),
        slave_sql_running: text(row, "Slave_SQL_Running"),
        last_io_error: text(row, "Last_IO_Error"),
        last_sql_error: text(row, "Last_SQL_Error"),
        seconds_behind_master: int(row, "Seconds_Behind_Master"),
        master_server_id: int(row, "Master_Server_Id").unwrap_or(0),
        using_gtid: text(row, "Using_Gtid"),
        gtid_io_pos: text(row, "Gtid_IO_Pos"),
    }
}

pub(super) fn text(row: &Row, col: &str) -> String {
    row.get_opt::<Option<String>, &str>(col)
        .and_then(Result::ok)
        .flatten()
        .unwrap_or_default()
}

pub(super) fn int(row: &Row, col: &str) -> Option<i64> {
    row.get_opt::<Option<i64>, &str>(col)
        .and_then(Result::ok)
        .flatten()
}

fn text_at(row: &Row, i: usize) -> String {
    row.get_opt::<Option<String>, usize>(i)
        .and_then(Result::ok)
        .flatten()
        .unwrap_or_default()
}

fn int_at(row: &Row, i: usize) -> Option<i64> {
    row.get_opt::<Option<i64>, usize>(i)
        .and_then(Result::ok)
        .flatten()
}
