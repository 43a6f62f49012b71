//! What changes between MariaDB versions that can break an upgrade, with where it is
//! written. Versions are (major, minor); a change "in" 10.6 bites an upgrade whose running
//! version is older than 10.6 and whose target is 10.6 or newer.

/// A major.minor version.
pub type Version = (u32, u32);

/// `10.5.29-MariaDB-0+deb11u1` → (10, 5); `11.4` → (11, 4).
pub fn version(text: &str) -> Option<Version> {
    let mut parts = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// Whether a change made in `at` lies on the way from `from` to `to`.
pub fn crossed(at: Version, from: Version, to: Version) -> bool {
    from < at && at <= to
}

const UPGRADE_10_6: &str = "https://mariadb.com/docs/server/server-management/install-and-upgrade-mariadb/upgrading/mariadb-community-server-upgrade-paths/upgrading-from-mariadb-10-5-to-mariadb-10-6";
const UPGRADE_10_11: &str = "https://mariadb.com/docs/server/server-management/install-and-upgrade-mariadb/upgrading/mariadb-community-server-upgrade-paths/upgrading-from-mariadb-10-6-to-mariadb-10-11";
const UPGRADE_11_4: &str = "https://mariadb.com/docs/server/server-management/install-and-upgrade-mariadb/upgrading/mariadb-community-server-upgrade-paths/upgrading-from-mariadb-10-11-to-mariadb-11-4";
const SEED_002: &str = "seeds/002 (binlog_format=STATEMENT during a replicas-first upgrade)";
const MAXSCALE_MONITOR: &str = "https://mariadb.com/kb/en/mariadb-maxscale-2402-maxscale-2402-mariadb-monitor/#required-grants";

/// Server variables removed in 10.6 (deprecated in 10.5): set in a configuration file, one
/// stops the upgraded server from starting. Each is absent from 10.11.19's
/// `mariadbd --verbose --help` (checked on this project's lab build).
pub const REMOVED_10_6: &[&str] = &[
    "innodb_adaptive_max_sleep_delay",
    "innodb_buffer_pool_instances",
    "innodb_commit_concurrency",
    "innodb_concurrency_tickets",
    "innodb_lock_schedule_algorithm",
    "innodb_log_checksums",
    "innodb_log_compressed_pages",
    "innodb_log_files_in_group",
    "innodb_log_optimize_ddl",
    "innodb_page_cleaners",
    "innodb_replication_delay",
    "innodb_scrub_log",
    "innodb_sync_array_size",
    "innodb_thread_concurrency",
    "innodb_thread_sleep_delay",
    "innodb_undo_logs",
];

/// Removed variables by the version that removed them, with the source.
pub const REMOVED: &[(Version, &[&str], &str)] = &[((10, 6), REMOVED_10_6, UPGRADE_10_6)];

/// `innodb_checksum_algorithm` values the target refuses.
pub const CHECKSUMS_GONE: (Version, &[&str], &str) = (
    (10, 6),
    &["innodb", "none", "strict_innodb", "strict_none"],
    UPGRADE_10_6,
);

/// Words that became reserved: a table or column of that name needs quoting everywhere.
pub const RESERVED: &[(&str, Version, &str)] = &[("OFFSET", (10, 6), UPGRADE_10_6)];

/// From 10.11 SUPER no longer includes READ_ONLY ADMIN: MaxScale's monitor needs it
/// granted by name to demote and promote.
pub const SUPER_SPLIT: (Version, &str) = ((10, 11), MAXSCALE_MONITOR);

/// From 11.4 the client verifies the server's TLS certificate by default.
pub const CLIENT_TLS: (Version, &str) = ((11, 4), UPGRADE_11_4);

/// From 11.4 (11.4.2) `character_set_collations` maps utf8mb4 to `utf8mb4_uca1400_ai_ci`
/// (id 2304), which servers before 10.10 do not know: DDL from an upgraded primary then
/// stops their SQL thread (`Character set '#2304' is not a compiled character set`).
pub const UCA1400: (Version, Version, &str) = ((11, 4), (10, 10), UCA1400_SOURCES);
const UCA1400_SOURCES: &str = "shared/mariadb-majors/README.md (a genuine 10.5 → 11.8 rolling \
     upgrade); https://github.com/MariaDB/mariadb-docker/issues/591 (the default changed in 11.4.2)";

pub const STATEMENT_FORMAT_SOURCE: &str = SEED_002;
pub const SPLIT_SOURCE: &str = UPGRADE_10_11;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_crossings() {
        assert_eq!(version("10.5.29-MariaDB-0+deb11u1-log"), Some((10, 5)));
        assert_eq!(version("11.4"), Some((11, 4)));
        assert_eq!(version("garbage"), None);
        assert!(crossed((10, 6), (10, 5), (11, 4)));
        assert!(!crossed((10, 6), (10, 6), (11, 4)), "already there");
        assert!(!crossed((11, 4), (10, 5), (10, 11)), "not reached");
    }
}
