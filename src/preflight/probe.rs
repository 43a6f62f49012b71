//! What preflight reads from one server, in one connection as the operator's user (the
//! pollers' user may not see every table): the facts the rules judge, nothing changed.

use std::collections::BTreeSet;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::knowledge::RESERVED;
use crate::poll::ServerInfo;
use crate::poll::mysql::{SqlTarget, connect, query};

const DEADLINE: Duration = Duration::from_secs(10);

/// Schemas that belong to the server, not to the application.
const SYSTEM_SCHEMAS: &str = "'mysql', 'information_schema', 'performance_schema', 'sys'";

/// One server as preflight saw it.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    pub server: String,
    pub info: ServerInfo,
    /// Every global variable's name, lower case.
    pub variables: BTreeSet<String>,
    pub checksum_algorithm: String,
    pub have_ssl: String,
    pub gtid_strict_mode: bool,
    /// `@@character_set_collations` (11.x) and `@@collation_server`.
    pub character_set_collations: String,
    pub collation_server: String,
    /// `schema.table` with `ROW_FORMAT=COMPRESSED`.
    pub compressed: Vec<String>,
    /// `schema.table (ENGINE)` for non-transactional engines.
    pub non_transactional: Vec<String>,
    /// `schema.table` or `schema.table.column` named by a word reserved later, with the word.
    pub reserved_names: Vec<(String, String)>,
    /// Connections of users holding SUPER or READ_ONLY ADMIN, as (id, user).
    pub admin_connections: Vec<(u64, String)>,
    /// `SHOW GRANTS` of the MaxScale monitor's user, per host it is defined for.
    pub monitor_grants: Vec<String>,
    /// `@@datadir`, and how much the tables in it hold (data and indexes).
    pub datadir: String,
    pub data_bytes: u64,
    /// What its host said (option file, free space), when it has a transport.
    pub host: Option<super::host::HostFacts>,
    /// Each replication channel's source and whether it uses TLS (`Master_SSL_Allowed`).
    pub replication_tls: Vec<(String, bool)>,
    /// The replication users this server logs in with (`Master_User`), and their grants
    /// here: after a switchover the old primary logs in to this server with the same user.
    pub replication_grants: Vec<(String, Vec<String>)>,
}

/// Reads `target`; `monitor_user` is MaxScale's monitor user, when known.
pub async fn probe(target: &SqlTarget, monitor_user: Option<&str>) -> Result<Probe, String> {
    let mut conn = connect(target, DEADLINE).await.map_err(|e| e.to_string())?;
    let result =
        tokio::time::timeout(DEADLINE, read(&mut conn, &target.server, monitor_user)).await;
    let _ = tokio::time::timeout(DEADLINE, conn.disconnect()).await;
    match result {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("did not answer within {DEADLINE:?}")),
    }
}

async fn read(
    conn: &mut Conn,
    server: &str,
    monitor_user: Option<&str>,
) -> Result<Probe, mysql_async::Error> {
    let info = query(conn, None, true).await?;
    let vars: Vec<(String, String)> = conn.query("SHOW GLOBAL VARIABLES").await?;
    let value = |name: &str| {
        vars.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let tables: Vec<Row> = conn
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE, ROW_FORMAT FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ({SYSTEM_SCHEMAS})"
        ))
        .await?;
    let mut probe = Probe {
        server: server.to_owned(),
        variables: vars.iter().map(|(n, _)| n.to_ascii_lowercase()).collect(),
        checksum_algorithm: value("innodb_checksum_algorithm").to_ascii_lowercase(),
        have_ssl: value("have_ssl"),
        gtid_strict_mode: value("gtid_strict_mode").eq_ignore_ascii_case("ON"),
        character_set_collations: value("character_set_collations"),
        datadir: value("datadir"),
        collation_server: value("collation_server"),
        info,
        ..Probe::default()
    };
    for row in &tables {
        let text = |i: usize| -> String {
            row.get_opt::<Option<String>, usize>(i)
                .and_then(Result::ok)
                .flatten()
                .unwrap_or_default()
        };
        let name = format!("{}.{}", text(0), text(1));
        if text(3).eq_ignore_ascii_case("Compressed") {
            probe.compressed.push(name.clone());
        }
        let engine = text(2);
        if ["MyISAM", "Aria", "MEMORY", "MRG_MyISAM", "CSV"]
            .iter()
            .any(|e| e.eq_ignore_ascii_case(&engine))
        {
            probe.non_transactional.push(format!("{name} ({engine})"));
        }
    }
    let size: Option<Option<u64>> = conn
        .query_first(
            "SELECT CAST(SUM(DATA_LENGTH + INDEX_LENGTH) AS UNSIGNED) FROM information_schema.TABLES",
        )
        .await?;
    probe.data_bytes = size.flatten().unwrap_or(0);
    let words: Vec<String> = RESERVED.iter().map(|(w, _, _)| format!("'{w}'")).collect();
    let words = words.join(", ");
    let named: Vec<(String, String, Option<String>)> = conn
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, NULL FROM information_schema.TABLES \
             WHERE UPPER(TABLE_NAME) IN ({words}) AND TABLE_SCHEMA NOT IN ({SYSTEM_SCHEMAS}) \
             UNION ALL SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS \
             WHERE UPPER(COLUMN_NAME) IN ({words}) AND TABLE_SCHEMA NOT IN ({SYSTEM_SCHEMAS})"
        ))
        .await?;
    for (schema, table, column) in named {
        let word = column
            .clone()
            .unwrap_or_else(|| table.clone())
            .to_ascii_uppercase();
        let at = match column {
            Some(c) => format!("{schema}.{table}.{c}"),
            None => format!("{schema}.{table}"),
        };
        probe.reserved_names.push((at, word));
    }
    // The channels as the poll query read them: no second SHOW ALL SLAVES STATUS.
    let channels: Vec<(String, String, bool)> = probe
        .info
        .replicas
        .iter()
        .map(|r| {
            (
                format!("{}:{}", r.master_host, r.master_port),
                r.master_user.clone(),
                r.ssl_allowed,
            )
        })
        .collect();
    for (source, user, tls) in channels {
        probe.replication_tls.push((source, tls));
        if !user.is_empty() && !probe.replication_grants.iter().any(|(u, _)| *u == user) {
            let grants = grants_of(conn, &user).await;
            probe.replication_grants.push((user, grants));
        }
    }
    let admins = super::admins::query(&probe.info.version, monitor_user.unwrap_or(""));
    probe.admin_connections = conn.query(admins).await?;
    if let Some(user) = monitor_user {
        probe.monitor_grants = grants_of(conn, user).await;
    }
    Ok(probe)
}

/// `SHOW GRANTS` of `user` for every host it is defined for, without password hashes;
/// empty when it has no account here (or the grants cannot be read).
async fn grants_of(conn: &mut Conn, user: &str) -> Vec<String> {
    let hosts: Vec<String> = conn
        .exec("SELECT Host FROM mysql.global_priv WHERE User = ?", (user,))
        .await
        .unwrap_or_default();
    let mut out = Vec::new();
    for host in hosts {
        let show = format!(
            "SHOW GRANTS FOR '{}'@'{}'",
            super::admins::quote(user),
            super::admins::quote(&host)
        );
        let grants: Vec<String> = conn.query(show).await.unwrap_or_default();
        out.extend(grants.iter().map(|g| without_password(g)));
    }
    out
}

/// A `SHOW GRANTS` line without its `IDENTIFIED BY PASSWORD '…'` hash: evidence is shown
/// and journaled, and a hash is worth keeping to the server.
fn without_password(grant: &str) -> String {
    match grant.find(" IDENTIFIED BY PASSWORD '") {
        Some(at) => {
            let rest = &grant[at..];
            let skip = rest
                .char_indices()
                .filter(|(_, c)| *c == '\'')
                .nth(1)
                .map_or(rest.len(), |(i, _)| i + 1);
            format!("{}{}", &grant[..at], &rest[skip..])
        }
        None => grant.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn grants_are_shown_without_the_password_hash() {
        assert_eq!(
            without_password(
                "GRANT SUPER ON *.* TO `maxscale`@`%` IDENTIFIED BY PASSWORD '*6BB4837EB743291' WITH GRANT OPTION"
            ),
            "GRANT SUPER ON *.* TO `maxscale`@`%` WITH GRANT OPTION"
        );
        assert_eq!(
            without_password("GRANT USAGE ON *.* TO `m`@`%`"),
            "GRANT USAGE ON *.* TO `m`@`%`"
        );
    }
}
