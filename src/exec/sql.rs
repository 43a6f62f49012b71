//! The `sql` executor: a step's statements, in order, on one connection to the target;
//! the last result set kept as a table, and the step's `expect` checks evaluated on it.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};

use crate::poll::mysql::{SqlTarget, connect};
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
    Failed { server: String, message: String },
    #[error("{server}: no answer within {timeout:?}")]
    Timeout { server: String, timeout: Duration },
}

/// Runs the statements (secrets already filled in) and returns the last result set that
/// had columns, or an empty table.
pub async fn run(
    target: &SqlTarget,
    statements: &[String],
    timeout: Duration,
) -> Result<ResultTable, SqlError> {
    let server = target.server.clone();
    let work = async {
        let mut conn =
            connect(target, Duration::from_secs(5))
                .await
                .map_err(|e| SqlError::Failed {
                    server: server.clone(),
                    message: e.to_string(),
                })?;
        let mut last = ResultTable::default();
        for statement in statements {
            let failed = |e: mysql_async::Error| SqlError::Failed {
                server: server.clone(),
                message: e.to_string(),
            };
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
        let _ = conn.disconnect().await;
        Ok(last)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(SqlError::Timeout { server, timeout }),
    }
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
        ExpectTest::Matches(x) => regex::Regex::new(x).is_ok_and(|re| re.is_match(v)),
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
