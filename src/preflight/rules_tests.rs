//! The rules on synthetic probes: each hazard, and where it does not bite.
use super::*;
use crate::poll::{GtidPos, IoState, ReplicaStatus, ServerInfo};

fn probe(server: &str, version: &str, replicating: bool) -> Probe {
    let replicas = if replicating {
        vec![ReplicaStatus {
            connection_name: String::new(),
            master_host: "127.0.0.1".into(),
            master_port: 3306,
            io: IoState::Yes,
            sql_running: true,
            seconds_behind: Some(0),
            gtid_io_pos: GtidPos::parse_lenient("0-1-10"),
            using_gtid: "Current_Pos".into(),
            last_io_errno: 0,
            last_io_error: String::new(),
            last_sql_errno: 0,
            last_sql_error: String::new(),
            sql_state: String::new(),
            master_user: String::new(),
            ssl_allowed: false,
        }]
    } else {
        Vec::new()
    };
    Probe {
        server: server.into(),
        info: ServerInfo {
            version: version.into(),
            binlog_format: "ROW".into(),
            read_only: replicating,
            gtid_binlog_pos: GtidPos::parse_lenient("0-1-10"),
            gtid_slave_pos: GtidPos::parse_lenient(if replicating { "0-1-10" } else { "" }),
            replicas,
            ..ServerInfo::default()
        },
        have_ssl: "YES".into(),
        gtid_strict_mode: true,
        checksum_algorithm: "full_crc32".into(),
        ..Probe::default()
    }
}

fn hazards(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
    findings.iter().map(|f| (f.hazard, f.severity)).collect()
}

#[test]
fn the_option_file_is_read_for_removed_options_at_their_line() {
    let mut old = probe("db1", "10.5.29-MariaDB", false);
    old.variables.insert("innodb_undo_logs".into());
    old.datadir = "/var/lib/mysql/".into();
    old.data_bytes = 10 << 30;
    old.host = Some(HostFacts {
        config: Some(crate::preflight::host::OptionFile {
            path: "/etc/my.cnf".into(),
            text: "[mysqld]\nport = 3306\ninnodb_undo_logs = 4\n\
                   innodb-checksum-algorithm = innodb\n"
                .into(),
        }),
        config_error: None,
        disk_free_kib: Some(15 << 20),
    });
    let found = judge((10, 11), Some("db1"), &[old]);
    let said: Vec<(&str, Severity, &str)> = found
        .iter()
        .map(|f| (f.hazard, f.severity, f.evidence.as_str()))
        .collect();
    assert!(
        said.contains(&(
            "removed-option",
            Severity::Blocker,
            "/etc/my.cnf:3: innodb_undo_logs is set, and 10.6 removed it"
        )),
        "{said:#?}"
    );
    assert!(
        said.contains(&(
            "checksum-algorithm",
            Severity::Blocker,
            "/etc/my.cnf:4: innodb_checksum_algorithm = innodb"
        )),
        "{said:#?}"
    );
    assert!(
        said.contains(&(
            "disk-space",
            Severity::Warning,
            "15360 MiB free under /var/lib/mysql/, which holds 10240 MiB of tables"
        )),
        "{said:#?}"
    );
    // The file read, the variables-based guess is not made.
    assert!(
        !said.iter().any(|(h, _, _)| *h == "removed-options"),
        "{said:#?}"
    );
}

#[test]
fn a_healthy_pair_on_the_target_already_is_clean() {
    let pair = [
        probe("db1", "11.4.4-MariaDB", false),
        probe("db2", "11.4.4-MariaDB", true),
    ];
    assert_eq!(judge((11, 4), Some("db1"), &pair), Vec::new());
}

#[test]
fn version_hazards_bite_only_on_the_way_across() {
    let mut old = probe("db1", "10.5.29-MariaDB", false);
    old.variables.insert("innodb_undo_logs".into());
    old.checksum_algorithm = "innodb".into();
    old.reserved_names
        .push(("app.t.offset".into(), "OFFSET".into()));
    old.monitor_grants
        .push("GRANT SUPER, REPLICATION CLIENT ON *.* TO `maxscale`@`%`".into());
    old.have_ssl = "DISABLED".into();
    let found = judge((11, 4), Some("db1"), std::slice::from_ref(&old));
    assert_eq!(
        hazards(&found),
        vec![
            ("checksum-algorithm", Severity::Blocker),
            ("monitor-grants", Severity::Blocker),
            ("reserved-word", Severity::Warning),
            ("client-tls", Severity::Warning),
            ("collation", Severity::Warning),
            ("removed-options", Severity::Info),
        ]
    );
    let removed = found
        .iter()
        .find(|f| f.hazard == "removed-options")
        .expect("removed");
    assert!(removed.evidence.contains("innodb_undo_logs"), "{removed:?}");
    assert!(
        found
            .iter()
            .all(|f| !f.source.is_empty() && !f.fix.is_empty())
    );
    // 10.5 → 10.6 crosses only what changed in 10.6.
    let found = judge((10, 6), Some("db1"), std::slice::from_ref(&old));
    assert_eq!(
        hazards(&found),
        vec![
            ("checksum-algorithm", Severity::Blocker),
            ("reserved-word", Severity::Warning),
            ("removed-options", Severity::Info),
        ]
    );
}

#[test]
fn replication_errant_transactions_and_skew_are_found_live() {
    let mut primary = probe("db1", "10.11.19-MariaDB", false);
    primary.info.binlog_format = "STATEMENT".into();
    primary.admin_connections.push((42, "app_admin".into()));
    let mut replica = probe("db2", "10.5.29-MariaDB", true);
    replica.info.gtid_binlog_pos = GtidPos::parse_lenient("0-2-11");
    replica.info.replicas[0].sql_running = false;
    replica.info.replicas[0].last_sql_errno = 1062;
    replica.info.replicas[0].last_sql_error = "Duplicate entry".into();
    replica.gtid_strict_mode = false;
    let found = judge((10, 11), Some("db1"), &[primary, replica]);
    assert_eq!(
        hazards(&found),
        vec![
            ("replication", Severity::Blocker),
            ("version-skew", Severity::Blocker),
            ("binlog-format", Severity::Warning),
            ("errant-gtid", Severity::Warning),
            ("admin-connections", Severity::Warning),
            ("gtid-strict-mode", Severity::Info),
        ]
    );
    let skew = &found[1];
    assert_eq!(
        skew.evidence,
        "db2 (10.5.29-MariaDB) replicates from db1 (10.11.19-MariaDB)"
    );
    assert!(
        found[0].evidence.contains("SQL 1062: Duplicate entry"),
        "{:?}",
        found[0]
    );
    assert!(found[4].evidence.contains("app_admin (connection 42)"));
}

#[test]
fn an_upgraded_server_defaulting_to_uca1400_beside_an_old_one_is_a_blocker() {
    let mut new = probe("db2", "11.8.3-MariaDB", false);
    new.character_set_collations = "utf8mb4=utf8mb4_uca1400_ai_ci".into();
    let old = probe("db1", "10.5.29-MariaDB", true);
    let found = judge((11, 8), Some("db2"), &[new.clone(), old.clone()]);
    let c = found
        .iter()
        .find(|f| f.hazard == "collation")
        .expect("collation");
    assert_eq!(c.severity, Severity::Blocker);
    assert_eq!(c.servers, vec!["db2"]);
    assert!(c.evidence.contains("while db1 cannot read it"), "{c:?}");
    // Cleared as the fix says: expected still (a target that defaults to it), not live.
    new.character_set_collations = String::new();
    let found = judge((11, 8), Some("db2"), &[new, old]);
    let c = found
        .iter()
        .find(|f| f.hazard == "collation")
        .expect("collation");
    assert_eq!(c.severity, Severity::Warning);
}
