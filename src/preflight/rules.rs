//! From what the servers said to the hazards of upgrading them to a target version: pure
//! functions of the probes, so each rule is tested without a server.

use super::host::{HostFacts, server_options};
use super::knowledge::{
    CHECKSUMS_GONE, CLIENT_TLS, REMOVED, RESERVED, SPLIT_SOURCE, STATEMENT_FORMAT_SOURCE,
    SUPER_SPLIT, UCA1400, Version, crossed, version,
};
use super::probe::Probe;
use super::{Finding, Severity};

/// A finding seen on `p`.
fn seen(
    p: &Probe,
    severity: Severity,
    hazard: &'static str,
    evidence: String,
    fix: &str,
    source: &str,
) -> Finding {
    Finding {
        severity,
        hazard,
        servers: vec![p.server.clone()],
        evidence,
        fix: fix.to_owned(),
        source: source.to_owned(),
    }
}

/// Every finding for an upgrade to `to`; `primary` is the inventory's primary.
pub fn judge(to: Version, primary: Option<&str>, probes: &[Probe]) -> Vec<Finding> {
    let mut out = Vec::new();
    let primary = probes
        .iter()
        .find(|p| Some(p.server.as_str()) == primary)
        .or_else(|| probes.iter().find(|p| p.info.looks_primary()));
    let oldest = probes.iter().filter_map(|p| version(&p.info.version)).min();
    for p in probes {
        let Some(from) = version(&p.info.version) else {
            continue;
        };
        let f = |severity, hazard, evidence: String, fix: &str, source: &str| {
            seen(p, severity, hazard, evidence, fix, source)
        };
        let config = p.host.as_ref().and_then(|h| h.config.as_ref());
        for (at, names, source) in REMOVED.iter().filter(|_| config.is_none()) {
            let present: Vec<&str> = names
                .iter()
                .copied()
                .filter(|v| crossed(*at, from, to) && p.variables.contains(*v))
                .collect();
            if present.is_empty() {
                continue;
            }
            out.push(f(
                Severity::Info,
                "removed-options",
                format!(
                    "{} exist in {} and are gone from {}.{}",
                    present.join(", "),
                    p.info.version,
                    at.0,
                    at.1
                ),
                "remove them from every configuration file (`my_print_defaults mysqld` shows \
                 what is set): a setting of one stops the upgraded server from starting",
                source,
            ));
        }
        if let Some(h) = &p.host {
            out.extend(host_findings(p, h, from, to));
        }
        let (at, gone, source) = CHECKSUMS_GONE;
        if crossed(at, from, to) && gone.contains(&p.checksum_algorithm.as_str()) {
            out.push(f(
                Severity::Blocker,
                "checksum-algorithm",
                format!("innodb_checksum_algorithm = {}", p.checksum_algorithm),
                "set innodb_checksum_algorithm = crc32 (or full_crc32) in the configuration \
                 before the upgrade",
                source,
            ));
        }
        for (word, at, source) in RESERVED {
            let names: Vec<&str> = p
                .reserved_names
                .iter()
                .filter(|(_, w)| w == word)
                .map(|(n, _)| n.as_str())
                .collect();
            if crossed(*at, from, to) && !names.is_empty() {
                out.push(f(
                    Severity::Warning,
                    "reserved-word",
                    format!(
                        "{} named {word}, a reserved word from {}.{}",
                        names.join(", "),
                        at.0,
                        at.1
                    ),
                    "quote it with backticks in every statement, or rename it, before the upgrade",
                    source,
                ));
            }
        }
        let (at, source) = SUPER_SPLIT;
        if crossed(at, from, to)
            && !p.monitor_grants.is_empty()
            && !p
                .monitor_grants
                .iter()
                .any(|g| g.contains("READ_ONLY ADMIN") || g.contains("ALL PRIVILEGES"))
        {
            out.push(f(
                Severity::Blocker,
                "monitor-grants",
                format!(
                    "MaxScale's monitor user: {} (no READ_ONLY ADMIN)",
                    p.monitor_grants.join("; ")
                ),
                "GRANT READ_ONLY ADMIN (and REPLICATION SLAVE ADMIN, BINLOG ADMIN) to it: from \
                 10.11 SUPER no longer includes it and the monitor cannot demote or promote",
                &format!("{source}; {SPLIT_SOURCE}"),
            ));
        }
        match p.info.binlog_format.to_ascii_uppercase().as_str() {
            "STATEMENT" => out.push(f(
                Severity::Warning,
                "binlog-format",
                "binlog_format = STATEMENT".into(),
                "switch to ROW (SET GLOBAL binlog_format = 'ROW' and in the configuration) and \
                 let every replica apply what was logged before, as seed 002 does",
                STATEMENT_FORMAT_SOURCE,
            )),
            "MIXED" => out.push(f(
                Severity::Info,
                "binlog-format",
                "binlog_format = MIXED".into(),
                "ROW is the safe format across versions; MIXED logs some statements as text",
                STATEMENT_FORMAT_SOURCE,
            )),
            _ => {}
        }
        for r in &p.info.replicas {
            if !r.healthy() {
                out.push(f(
                    Severity::Blocker,
                    "replication",
                    format!(
                        "replication from {}:{} is not running (IO {}, SQL {}){}",
                        r.master_host,
                        r.master_port,
                        r.io.as_str(),
                        if r.sql_running { "Yes" } else { "No" },
                        r.last_error().map(|e| format!(": {e}")).unwrap_or_default()
                    ),
                    "repair replication before the window: the runbook upgrades a replica that \
                     must catch up",
                    "seeds/000 (GTID replication active with zero lag)",
                ));
            }
        }
        if !p.info.replicas.is_empty() && !p.gtid_strict_mode {
            out.push(f(
                Severity::Info,
                "gtid-strict-mode",
                "gtid_strict_mode = OFF".into(),
                "with gtid_strict_mode = ON an errant transaction stops replication instead of \
                 diverging silently",
                "https://mariadb.com/kb/en/gtid/#gtid_strict_mode",
            ));
        }
        if let Some(primary) = primary.filter(|pr| pr.server != p.server) {
            // What a replica binlogged itself: a GTID in its binary log that is not the one
            // it last applied from its primary, in that domain.
            let local: Vec<String> = p
                .info
                .gtid_binlog_pos
                .0
                .iter()
                .filter(|(domain, g)| p.info.gtid_slave_pos.0.get(*domain) != Some(*g))
                .map(|(_, g)| format!("{}-{}-{}", g.domain, g.server_id, g.sequence))
                .collect();
            if !p.info.replicas.is_empty() && !local.is_empty() {
                out.push(f(
                    Severity::Warning,
                    "errant-gtid",
                    format!(
                        "{} binlogged {} itself (gtid_binlog_pos {}, gtid_slave_pos {}): \
                         transactions the primary {} does not have",
                        p.server,
                        local.join(", "),
                        p.info.gtid_binlog_pos,
                        p.info.gtid_slave_pos,
                        primary.server
                    ),
                    "find them (mariadb-binlog on the replica) and remove or replay them: a \
                     switchover to this server fails or diverges",
                    "https://mariadb.com/kb/en/gtid/",
                ));
            }
            if let Some(pv) = version(&primary.info.version)
                && from < pv
                && !p.info.replicas.is_empty()
            {
                out.push(f(
                    Severity::Blocker,
                    "version-skew",
                    format!(
                        "{} ({}) replicates from {} ({})",
                        p.server, p.info.version, primary.server, primary.info.version
                    ),
                    "upgrade the replica first: a replica must never be older than its primary",
                    "seeds/000 (always upgrade the replica first)",
                ));
            }
        }
        for (user, grants) in &p.replication_grants {
            let can = grants
                .iter()
                .any(|g| g.contains("REPLICATION SLAVE") || g.contains("ALL PRIVILEGES"));
            if !can {
                out.push(f(
                    Severity::Warning,
                    "replication-user",
                    if grants.is_empty() {
                        format!("{user} (its replication user) has no account here")
                    } else {
                        format!(
                            "{user} (its replication user) lacks REPLICATION SLAVE here: {}",
                            grants.join("; ")
                        )
                    },
                    "create it with REPLICATION SLAVE on every server: after the switchover the \
                     old primary replicates from this one with the same user",
                    "seeds/000 (phase 5: the old primary becomes a replica of the upgraded one)",
                ));
            }
        }
        if !p.compressed.is_empty() {
            out.push(f(
                Severity::Warning,
                "compressed-tables",
                format!("ROW_FORMAT=COMPRESSED: {}", p.compressed.join(", ")),
                "rebuild them with ROW_FORMAT=DYNAMIC (10.6.0–10.6.5 made them read-only by \
                 default; compression is deprecated)",
                "https://mariadb.com/kb/en/innodb-compressed-row-format/",
            ));
        }
        if !p.non_transactional.is_empty() {
            out.push(f(
                Severity::Warning,
                "non-transactional",
                format!(
                    "non-transactional tables: {}",
                    p.non_transactional.join(", ")
                ),
                "convert them to InnoDB: they are not crash-safe, and a replica stopped in the \
                 window can diverge on them",
                "https://mariadb.com/kb/en/converting-tables-from-myisam-to-innodb/",
            ));
        }
        let (at, source) = CLIENT_TLS;
        if crossed(at, from, to) && !p.have_ssl.eq_ignore_ascii_case("YES") {
            out.push(f(
                Severity::Warning,
                "client-tls",
                format!(
                    "have_ssl = {}",
                    if p.have_ssl.is_empty() {
                        "(none)"
                    } else {
                        &p.have_ssl
                    }
                ),
                "give the server a certificate, or pass --skip-ssl to 11.4 clients: from 11.4 the \
                 client verifies TLS by default and scripts without it fail",
                source,
            ));
        }
    }
    out.extend(collations(to, oldest, probes));
    if let Some(pr) = primary
        && !pr.admin_connections.is_empty()
    {
        let users: Vec<String> = pr
            .admin_connections
            .iter()
            .map(|(id, user)| format!("{user} (connection {id})"))
            .collect();
        out.push(Finding {
            severity: Severity::Warning,
            hazard: "admin-connections",
            servers: vec![pr.server.clone()],
            evidence: format!("SUPER / READ_ONLY ADMIN users connected: {}", users.join(", ")),
            fix: "connect monitoring and applications without SUPER or READ_ONLY ADMIN: at a \
                  switchover MaxScale kicks them off and blocks writes for another 500 ms"
                .into(),
            source: "https://mariadb.com/kb/en/mariadb-maxscale-2402-maxscale-2402-mariadb-monitor/#switchover".into(),
        });
    }
    merge(out)
}

/// What the host shows: options the target removed, set in the option file (each at its
/// line), a gone checksum algorithm there, an option file that cannot be read, and too
/// little free space under the datadir for what it holds.
fn host_findings(p: &Probe, h: &HostFacts, from: Version, to: Version) -> Vec<Finding> {
    let mut out = Vec::new();
    let f = |severity, hazard, evidence: String, fix: &str, source: &str| {
        seen(p, severity, hazard, evidence, fix, source)
    };
    if let Some(file) = &h.config {
        let set = server_options(&file.text);
        for (at, names, source) in REMOVED {
            if !crossed(*at, from, to) {
                continue;
            }
            for o in set.iter().filter(|o| names.contains(&o.name.as_str())) {
                out.push(f(
                    Severity::Blocker,
                    "removed-option",
                    format!(
                        "{}:{}: {} is set, and {}.{} removed it",
                        file.path, o.line, o.name, at.0, at.1
                    ),
                    "delete the line before the upgrade: the upgraded server refuses to start \
                     with an option it does not know",
                    source,
                ));
            }
        }
        let (at, gone, source) = CHECKSUMS_GONE;
        for o in set.iter().filter(|o| {
            crossed(at, from, to)
                && o.name == "innodb_checksum_algorithm"
                && gone.contains(&o.value.to_ascii_lowercase().as_str())
        }) {
            out.push(f(
                Severity::Blocker,
                "checksum-algorithm",
                format!(
                    "{}:{}: innodb_checksum_algorithm = {}",
                    file.path, o.line, o.value
                ),
                "set it to crc32 (or full_crc32) before the upgrade",
                source,
            ));
        }
    } else if let Some(e) = &h.config_error {
        out.push(f(
            Severity::Warning,
            "option-file",
            format!("the option file could not be read: {e}"),
            "name the server's option file in the inventory (`config = \"/etc/my.cnf\"`) and \
             make it readable over the server's transport",
            "the inventory",
        ));
    }
    if let Some(free) = h.disk_free_kib {
        let held = p.data_bytes / 1024;
        let (severity, fix) = if free < held {
            (
                Severity::Blocker,
                "free space first: a full backup of the data alone does not fit",
            )
        } else if free < held.saturating_mul(2) {
            (
                Severity::Warning,
                "free space: the backup and the upgrade's table rebuilds need room beside the data",
            )
        } else {
            return out;
        };
        out.push(f(
            severity,
            "disk-space",
            format!(
                "{} MiB free under {}, which holds {} MiB of tables",
                free / 1024,
                p.datadir,
                held / 1024
            ),
            fix,
            "seeds/000 (step 1.3: a mandatory full backup before any change)",
        ));
    }
    out
}

/// The uca1400 collation hazard: live when a server already runs 11.x with it as a default
/// while another runs a version that does not know it, expected when the target does.
fn collations(to: Version, oldest: Option<Version>, probes: &[Probe]) -> Vec<Finding> {
    let (since, known_from, source) = UCA1400;
    let Some(oldest) = oldest.filter(|o| *o < known_from) else {
        return Vec::new();
    };
    let live: Vec<&Probe> = probes
        .iter()
        .filter(|p| {
            p.character_set_collations.contains("uca1400") || p.collation_server.contains("uca1400")
        })
        .collect();
    let old: Vec<String> = probes
        .iter()
        .filter(|p| version(&p.info.version).is_some_and(|v| v < known_from))
        .map(|p| p.server.clone())
        .collect();
    let fix = "on the upgraded server, before it becomes primary: SET GLOBAL \
               character_set_collations = '' and collation_server = utf8mb4_general_ci (and in \
               its configuration)";
    if !live.is_empty() {
        return vec![Finding {
            severity: Severity::Blocker,
            hazard: "collation",
            servers: live.iter().map(|p| p.server.clone()).collect(),
            evidence: format!(
                "default collation utf8mb4_uca1400_ai_ci (id 2304, character_set_collations = \
                 '{}') while {} cannot read it: DDL written here stops their SQL thread",
                live[0].character_set_collations,
                old.join(", ")
            ),
            fix: fix.into(),
            source: source.into(),
        }];
    }
    if crossed(since, oldest, to) {
        return vec![Finding {
            severity: Severity::Warning,
            hazard: "collation",
            servers: old,
            evidence: format!(
                "{}.{} defaults utf8mb4 to utf8mb4_uca1400_ai_ci (id 2304), unknown to \
                 {}.{}: once an upgraded server is primary, its DDL stops the older ones",
                to.0, to.1, oldest.0, oldest.1
            ),
            fix: fix.into(),
            source: source.into(),
        }];
    }
    Vec::new()
}

/// One finding per hazard and evidence, naming every server it was seen on.
fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        match out
            .iter_mut()
            .find(|o| o.hazard == f.hazard && o.evidence == f.evidence)
        {
            Some(o) => o.servers.extend(f.servers),
            None => out.push(f),
        }
    }
    out.sort_by_key(|f| f.severity);
    out
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
