//! The `sql` executor: a step's statements, in order, on one connection to the target;
//! the last result set kept as a table, and the step's `expect` checks evaluated on it.
//! A step cancelled or timed out has its running statement killed from a side connection.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use tokio_util::sync::CancellationToken;

use crate::poll::mysql::{SqlTarget, connect};
use crate::runbook::plan::format_duration;
use crate::runbook::{Expect, ExpectTest};

/// A result set as text, for the output pane and for `expect`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResultTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// One `expect` item, evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectResult {
    pub expect: String,
    pub holds: bool,
    pub observed: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("{server}: {message}")]
    Failed {
        server: String,
        message: String,
        /// The server's error number, when the server refused the statement or login.
        errno: Option<u16>,
    },
    // The texts say "cancelled" and "timed out": outcomes are still told apart by them.
    #[error("{server}: cancelled")]
    Cancelled { server: String, kill: Kill },
    #[error("{server}: timed out after {}", format_duration(*.timeout))]
    Timeout {
        server: String,
        timeout: Duration,
        kill: Kill,
    },
}

/// The server's error number in a driver error, if the server sent one.
fn errno(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

impl SqlError {
    /// For a step stopped by cancel or timeout, what was done about the statement still
    /// running on the server: a line for the `info` stream (and so the journal).
    pub fn stop_report(&self) -> Option<String> {
        match self {
            SqlError::Failed { .. } => None,
            SqlError::Cancelled { kill, .. } => Some(format!("cancelled: {kill}")),
            SqlError::Timeout { timeout, kill, .. } => Some(format!(
                "timed out after {}: {kill}",
                format_duration(*timeout)
            )),
        }
    }
}

/// What became of the running statement when its step was stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kill {
    /// Stopped while connecting: no statement had been sent.
    NothingSent,
    /// `KILL QUERY` went through on a second connection.
    Sent { id: u32 },
    /// The server no longer knew the connection: nothing of it is left running.
    AlreadyGone { id: u32 },
    /// No side connection could be opened.
    NoSideConnection { id: u32, error: String },
    /// The side connection opened, but `KILL QUERY` failed or got no answer.
    Refused { id: u32, error: String },
}

impl std::fmt::Display for Kill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const STILL: &str = "the statement may still be running on the server";
        match self {
            Kill::NothingSent => write!(f, "no statement had been sent yet, nothing to kill"),
            Kill::Sent { id } => write!(f, "KILL QUERY {id} sent on a side connection"),
            Kill::AlreadyGone { id } => write!(
                f,
                "KILL QUERY {id} sent on a side connection; connection {id} was gone already"
            ),
            Kill::NoSideConnection { id, error } => write!(
                f,
                "no side connection to send KILL QUERY {id} ({error}); {STILL}"
            ),
            Kill::Refused { id, error } => write!(
                f,
                "KILL QUERY {id} failed on the side connection ({error}); {STILL}"
            ),
        }
    }
}

/// Deadline of opening a connection, the step's or the side one, and of the `KILL`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `ER_NO_SUCH_THREAD`: "Unknown thread id".
const NO_SUCH_THREAD: u16 = 1094;

enum Stop {
    Done(Result<ResultTable, SqlError>),
    Cancelled,
    TimedOut,
}

/// Runs the statements (secrets already filled in) and returns the last result set that
/// had columns, or an empty table. Cancelled or past `timeout`, it does not just walk
/// away: the statement still running is killed from a side connection (see [`Kill`]).
pub async fn run(
    target: &SqlTarget,
    statements: &[String],
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<ResultTable, SqlError> {
    let server = target.server.clone();
    // tokio clamps a deadline past the end of time instead of overflowing.
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut conn = tokio::select! {
        _ = cancel.cancelled() => {
            return Err(SqlError::Cancelled { server, kill: Kill::NothingSent });
        }
        _ = &mut deadline => {
            return Err(SqlError::Timeout { server, timeout, kill: Kill::NothingSent });
        }
        r = connect(target, CONNECT_TIMEOUT) => r.map_err(|e| SqlError::Failed {
            server: server.clone(),
            errno: None,
            message: e.to_string(),
        })?,
    };
    let id = conn.id();
    let stop = {
        let work = statements_on(&mut conn, &server, statements);
        tokio::select! {
            _ = cancel.cancelled() => Stop::Cancelled,
            _ = &mut deadline => Stop::TimedOut,
            r = work => Stop::Done(r),
        }
    };
    match stop {
        Stop::Done(r) => {
            let _ = tokio::time::timeout(CONNECT_TIMEOUT, conn.disconnect()).await;
            r
        }
        stopped => {
            // Killed while this connection still waits for it: closing it first would
            // leave the statement running (most do not notice a client gone).
            let kill = kill_query(target, id).await;
            drop(conn);
            Err(match stopped {
                Stop::Cancelled => SqlError::Cancelled { server, kill },
                _ => SqlError::Timeout {
                    server,
                    timeout,
                    kill,
                },
            })
        }
    }
}

async fn statements_on(
    conn: &mut Conn,
    server: &str,
    statements: &[String],
) -> Result<ResultTable, SqlError> {
    let failed = |e: mysql_async::Error| SqlError::Failed {
        server: server.to_string(),
        errno: errno(&e),
        message: e.to_string(),
    };
    let mut last = ResultTable::default();
    for statement in statements {
        let mut result = conn.query_iter(statement.as_str()).await.map_err(failed)?;
        // Columns come from the result's metadata, so an empty result set still has
        // them (an `expect` then says "no rows", not "no column").
        let columns: Vec<String> = result
            .columns()
            .map(|cols| cols.iter().map(|c| c.name_str().into_owned()).collect())
            .unwrap_or_default();
        let rows: Vec<Row> = result.collect().await.map_err(failed)?;
        drop(result);
        if !columns.is_empty() {
            last = ResultTable {
                columns,
                rows: rows.iter().map(row_text).collect(),
            };
        }
    }
    Ok(last)
}

/// Opens a second connection with the same credentials and kills what connection `id`
/// is running (the statement only; the connection itself is closed by its owner).
async fn kill_query(target: &SqlTarget, id: u32) -> Kill {
    let mut side = match connect(target, CONNECT_TIMEOUT).await {
        Ok(c) => c,
        Err(e) => {
            return Kill::NoSideConnection {
                id,
                error: e.to_string(),
            };
        }
    };
    let sent = tokio::time::timeout(CONNECT_TIMEOUT, side.query_drop(format!("KILL QUERY {id}")));
    let kill = match sent.await {
        Ok(Ok(())) => Kill::Sent { id },
        Ok(Err(mysql_async::Error::Server(e))) if e.code == NO_SUCH_THREAD => {
            Kill::AlreadyGone { id }
        }
        Ok(Err(e)) => Kill::Refused {
            id,
            error: e.to_string(),
        },
        Err(_) => Kill::Refused {
            id,
            error: format!("no answer within {}", format_duration(CONNECT_TIMEOUT)),
        },
    };
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, side.disconnect()).await;
    kill
}

fn row_text(row: &Row) -> Vec<Option<String>> {
    (0..row.len())
        .map(|i| match row.as_ref(i) {
            None | Some(Value::NULL) => None,
            Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Some(v) => Some(v.as_sql(true).trim_matches('\'').to_string()),
        })
        .collect()
}

/// Evaluates each `expect` on the first row; a missing column or row fails it.
pub fn check(table: &ResultTable, expects: &[Expect]) -> Vec<ExpectResult> {
    expects
        .iter()
        .map(|e| {
            let col = table
                .columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(&e.column));
            let value = match (col, table.rows.first()) {
                (Some(i), Some(row)) => row.get(i).cloned().flatten(),
                _ => None,
            };
            let observed = match (&col, &value) {
                (None, _) => format!("no column {}", e.column),
                (_, None) if table.rows.is_empty() => "no rows".to_string(),
                (_, None) => "NULL".to_string(),
                (_, Some(v)) => v.clone(),
            };
            let holds = value.as_deref().is_some_and(|v| test(v, &e.test));
            ExpectResult {
                expect: e.to_string(),
                holds,
                observed,
            }
        })
        .collect()
}

fn test(v: &str, t: &ExpectTest) -> bool {
    let num = || v.trim().parse::<f64>().ok();
    match t {
        ExpectTest::Equals(x) => v == x,
        ExpectTest::StartsWith(x) => v.starts_with(x.as_str()),
        ExpectTest::Matches(x) => x.is_match(v),
        ExpectTest::AtLeast(x) => num().is_some_and(|n| n >= *x),
        ExpectTest::AtMost(x) => num().is_some_and(|n| n <= *x),
        ExpectTest::NotEmpty => !v.is_empty(),
    }
}

/// The table as aligned text lines; wide results (`SHOW SLAVE STATUS`) vertically, like `\G`.
pub fn format(table: &ResultTable) -> Vec<String> {
    if table.columns.is_empty() {
        return vec!["(no result set)".into()];
    }
    let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
    if table.columns.len() > 4 {
        let width = table.columns.iter().map(|c| c.len()).max().unwrap_or(0);
        let mut out = Vec::new();
        for (n, row) in table.rows.iter().enumerate() {
            out.push(format!("*** {}. row ***", n + 1));
            for (c, v) in table.columns.iter().zip(row) {
                out.push(format!("{c:>width$}: {}", cell(v)));
            }
        }
        return out;
    }
    let mut widths: Vec<usize> = table.columns.iter().map(|c| c.chars().count()).collect();
    for row in &table.rows {
        for (w, v) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell(v).chars().count());
        }
    }
    let line = |vals: Vec<String>| {
        vals.iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(table.columns.clone())];
    out.extend(
        table
            .rows
            .iter()
            .map(|r| line(r.iter().map(cell).collect())),
    );
    out.push(format!(
        "({} row{})",
        table.rows.len(),
        if table.rows.len() == 1 { "" } else { "s" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(column: &str, test: ExpectTest) -> Expect {
        Expect {
            column: column.into(),
            test,
        }
    }

    #[test]
    fn expects_read_the_first_row_and_say_what_they_saw() {
        let table = ResultTable {
            columns: vec!["Slave_SQL_Running".into(), "Seconds_Behind_Master".into()],
            rows: vec![vec![Some("No".into()), None]],
        };
        let r = check(
            &table,
            &[
                expect("Slave_SQL_Running", ExpectTest::Equals("Yes".into())),
                expect("Seconds_Behind_Master", ExpectTest::AtMost(0.0)),
                expect("Using_Gtid", ExpectTest::NotEmpty),
            ],
        );
        let seen: Vec<(bool, &str)> = r.iter().map(|e| (e.holds, e.observed.as_str())).collect();
        assert_eq!(
            seen,
            [
                (false, "No"),
                (false, "NULL"),
                (false, "no column Using_Gtid")
            ]
        );

        let empty = ResultTable {
            columns: vec!["c".into()],
            rows: vec![],
        };
        let r = check(&empty, &[expect("c", ExpectTest::AtLeast(1.0))]);
        assert_eq!((r[0].holds, r[0].observed.as_str()), (false, "no rows"));
    }

    #[test]
    fn a_stopped_step_says_what_became_of_its_statement() {
        let timeout = SqlError::Timeout {
            server: "db1".into(),
            timeout: Duration::from_secs(90),
            kill: Kill::NoSideConnection {
                id: 7,
                error: "refused".into(),
            },
        };
        // The outcome text is how a timeout is told from a cancel.
        assert_eq!(timeout.to_string(), "db1: timed out after 90s");
        assert_eq!(
            timeout.stop_report().as_deref(),
            Some(
                "timed out after 90s: no side connection to send KILL QUERY 7 (refused); \
                 the statement may still be running on the server"
            )
        );
        let cancelled = SqlError::Cancelled {
            server: "db1".into(),
            kill: Kill::NothingSent,
        };
        assert_eq!(cancelled.to_string(), "db1: cancelled");
        assert_eq!(
            cancelled.stop_report().as_deref(),
            Some("cancelled: no statement had been sent yet, nothing to kill")
        );
    }

    #[test]
    fn wide_results_print_vertically() {
        let table = ResultTable {
            columns: (1..=5).map(|i| format!("c{i}")).collect(),
            rows: vec![(1..=5).map(|i| Some(i.to_string())).collect()],
        };
        let lines = format(&table);
        assert_eq!(lines[0], "*** 1. row ***");
        assert_eq!(lines[1], "c1: 1");
    }
}
