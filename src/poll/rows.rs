//! Reading the poller's result rows: NULL and a missing column are both "".

use mysql_async::Row;

use super::gtid::GtidPos;
use super::snapshot::{IoState, ReplicaStatus};

pub(crate) fn text_at(row: &Row, i: usize) -> Option<String> {
    row.get_opt::<Option<String>, usize>(i)
        .and_then(Result::ok)
        .flatten()
}

fn text(row: &Row, name: &str) -> String {
    row.get_opt::<Option<String>, &str>(name)
        .and_then(Result::ok)
        .flatten()
        .unwrap_or_default()
}

pub(crate) fn replica_status(row: &Row) -> ReplicaStatus {
    let num = |name: &str| text(row, name).parse().unwrap_or(0);
    ReplicaStatus {
        connection_name: text(row, "Connection_name"),
        master_host: text(row, "Master_Host"),
        master_port: num("Master_Port") as u16,
        io: IoState::parse(&text(row, "Slave_IO_Running")),
        sql_running: text(row, "Slave_SQL_Running") == "Yes",
        seconds_behind: text(row, "Seconds_Behind_Master").parse().ok(),
        gtid_io_pos: GtidPos::parse_lenient(&text(row, "Gtid_IO_Pos")),
        using_gtid: text(row, "Using_Gtid"),
        last_io_errno: num("Last_IO_Errno") as u32,
        last_io_error: text(row, "Last_IO_Error"),
        last_sql_errno: num("Last_SQL_Errno") as u32,
        last_sql_error: text(row, "Last_SQL_Error"),
        sql_state: text(row, "Slave_SQL_Running_State"),
        master_user: text(row, "Master_User"),
        ssl_allowed: text(row, "Master_SSL_Allowed").eq_ignore_ascii_case("Yes"),
    }
}
