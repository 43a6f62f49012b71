//! The lab's own SQL connections (root over each server's Unix socket) and small queries.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row};

use super::error::{LabError, Result};
use super::secrets::redact;
use super::state::ServerState;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// root over the server's socket; `password` `None` before the lab has set one.
pub fn root_opts(s: &ServerState, password: Option<&str>) -> Opts {
    OptsBuilder::default()
        .socket(Some(s.socket.to_string_lossy().into_owned()))
        .user(Some("root"))
        .pass(password)
        .stmt_cache_size(0)
        .into()
}

/// `user` over TCP to 127.0.0.1:port, without switching to the socket.
pub fn tcp_opts(s: &ServerState, user: &str, password: &str) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname(s.host.clone())
        .tcp_port(s.port)
        .prefer_socket(false)
        .user(Some(user))
        .pass(Some(password))
        .into()
}

/// Connects with a deadline, naming the server on failure.
pub async fn connect(s: &ServerState, opts: Opts) -> Result<Conn> {
    match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(cause)) => Err(LabError::Sql {
            server: s.name.clone(),
            sql: "(connect)".into(),
            cause,
        }),
        Err(_) => Err(LabError::Timeout {
            server: s.name.clone(),
            what: "connecting".into(),
            secs: CONNECT_TIMEOUT.as_secs(),
            detail: String::new(),
        }),
    }
}

/// Whether the server answers the MySQL protocol: a login, or a refused login, both mean up.
pub async fn answers(s: &ServerState) -> bool {
    match tokio::time::timeout(Duration::from_secs(3), Conn::new(root_opts(s, None))).await {
        Ok(Ok(conn)) => {
            let _ = conn.disconnect().await;
            true
        }
        // 1045 access denied, 1698 access denied (socket auth): the server is listening.
        Ok(Err(mysql_async::Error::Server(e))) => matches!(e.code, 1045 | 1698),
        _ => false,
    }
}

/// Runs one statement; on failure the error shows it with `secrets` replaced by `****`.
pub async fn exec(conn: &mut Conn, server: &str, sql: &str, secrets: &[&str]) -> Result<()> {
    conn.query_drop(sql).await.map_err(|cause| LabError::Sql {
        server: server.to_owned(),
        sql: redact(sql, secrets),
        cause,
    })
}

/// All rows of a query.
pub async fn rows(conn: &mut Conn, server: &str, sql: &str) -> Result<Vec<Row>> {
    conn.query(sql).await.map_err(|cause| LabError::Sql {
        server: server.to_owned(),
        sql: sql.to_owned(),
        cause,
    })
}

/// The first column of the first row, as a string (`None` for no row or NULL).
pub async fn scalar(conn: &mut Conn, server: &str, sql: &str) -> Result<Option<String>> {
    let row: Option<Option<String>> =
        conn.query_first(sql).await.map_err(|cause| LabError::Sql {
            server: server.to_owned(),
            sql: sql.to_owned(),
            cause,
        })?;
    Ok(row.flatten())
}

/// The replication threads as `SHOW SLAVE STATUS` reports them; `None` if not a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveStatus {
    pub io_running: String,
    pub sql_running: String,
    pub seconds_behind: Option<u64>,
    pub last_io_error: String,
    pub last_sql_error: String,
    pub master_port: Option<u16>,
}

pub async fn slave_status(conn: &mut Conn, server: &str) -> Result<Option<SlaveStatus>> {
    let rows = rows(conn, server, "SHOW SLAVE STATUS").await?;
    Ok(rows.first().map(|row| {
        let text = |col: &str| -> String {
            row.get_opt::<Option<String>, _>(col)
                .and_then(|v| v.ok())
                .flatten()
                .unwrap_or_default()
        };
        SlaveStatus {
            io_running: text("Slave_IO_Running"),
            sql_running: text("Slave_SQL_Running"),
            seconds_behind: text("Seconds_Behind_Master").parse().ok(),
            last_io_error: text("Last_IO_Error"),
            last_sql_error: text("Last_SQL_Error"),
            master_port: text("Master_Port").parse().ok(),
        }
    }))
}

impl SlaveStatus {
    pub fn running(&self) -> bool {
        self.io_running == "Yes" && self.sql_running == "Yes"
    }

    /// The most useful error text, if any.
    pub fn error(&self) -> Option<&str> {
        [&self.last_io_error, &self.last_sql_error]
            .into_iter()
            .find(|e| !e.is_empty())
            .map(String::as_str)
    }
}
