//! Semi-synchronous replication as a server reports it: whether it is configured
//! (`rpl_semi_sync_*_enabled`), whether it is in force now (`Rpl_semi_sync_*_status`: a
//! primary whose replicas did not acknowledge within `rpl_semi_sync_master_timeout` falls
//! back to asynchronous replication and says OFF), how many replicas acknowledge, and how
//! many transactions committed with and without an acknowledgement.
//!
//! Read from information_schema rather than as `@@rpl_semi_sync_…`: a server without
//! semi-sync (before MariaDB 10.3 without the plugin, or another server) simply returns no
//! row for the name, where `SELECT @@name` would fail the whole poll. A missing name is
//! `None`, which the panes show as "—" and the gates as unknown.

use mysql_async::Row;

use super::rows::text_at;

/// The statement the poller adds to its batch every [`EVERY`] cycles. Both tables answer
/// in one result (name, value); the names are upper case in MariaDB.
pub const QUERY: &str = "SELECT VARIABLE_NAME, VARIABLE_VALUE \
     FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME IN \
     ('RPL_SEMI_SYNC_MASTER_ENABLED', 'RPL_SEMI_SYNC_MASTER_TIMEOUT', \
     'RPL_SEMI_SYNC_SLAVE_ENABLED') \
     UNION ALL SELECT VARIABLE_NAME, VARIABLE_VALUE \
     FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN \
     ('RPL_SEMI_SYNC_MASTER_STATUS', 'RPL_SEMI_SYNC_MASTER_CLIENTS', \
     'RPL_SEMI_SYNC_MASTER_NO_TX', 'RPL_SEMI_SYNC_MASTER_YES_TX', \
     'RPL_SEMI_SYNC_SLAVE_STATUS')";

/// Semi-sync is read on a connection's first cycle and then every this many cycles (once a
/// second at the default 250 ms). `GLOBAL_STATUS` sums every connection's counters on the
/// server, which is worth not doing four times a second on a busy primary; a fallback to
/// async shows within a second, which is as soon as a DBA can act on it.
pub const EVERY: u64 = 4;

/// What one server said about semi-sync; `None`: the server has no such variable.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SemiSync {
    /// `rpl_semi_sync_master_enabled`: configured to wait for an acknowledgement.
    pub master_enabled: Option<bool>,
    /// `Rpl_semi_sync_master_status`: waiting for acknowledgements now (OFF after a
    /// fallback to async, until a replica catches up again).
    pub master_status: Option<bool>,
    /// `Rpl_semi_sync_master_clients`: replicas connected with semi-sync.
    pub master_clients: Option<u64>,
    /// `Rpl_semi_sync_master_no_tx`: commits not acknowledged (async).
    pub master_no_tx: Option<u64>,
    /// `Rpl_semi_sync_master_yes_tx`: commits acknowledged by a replica.
    pub master_yes_tx: Option<u64>,
    /// `rpl_semi_sync_master_timeout` in milliseconds: how long a commit waits before the
    /// primary falls back to async.
    pub master_timeout_ms: Option<u64>,
    /// `rpl_semi_sync_slave_enabled`.
    pub slave_enabled: Option<bool>,
    /// `Rpl_semi_sync_slave_status`: this replica's IO thread acknowledges now.
    pub slave_status: Option<bool>,
}

impl SemiSync {
    /// From the rows of [`QUERY`]; names it does not know are ignored.
    pub fn from_rows(rows: &[Row]) -> Self {
        let mut s = SemiSync::default();
        for row in rows {
            let (Some(name), Some(value)) = (text_at(row, 0), text_at(row, 1)) else {
                continue;
            };
            s.set(&name, &value);
        }
        s
    }

    /// Records one (name, value) pair, the name in any case.
    pub fn set(&mut self, name: &str, value: &str) {
        let on = || Some(value.eq_ignore_ascii_case("ON") || value == "1");
        let num = || value.trim().parse().ok();
        match name.to_ascii_lowercase().as_str() {
            "rpl_semi_sync_master_enabled" => self.master_enabled = on(),
            "rpl_semi_sync_master_status" => self.master_status = on(),
            "rpl_semi_sync_master_clients" => self.master_clients = num(),
            "rpl_semi_sync_master_no_tx" => self.master_no_tx = num(),
            "rpl_semi_sync_master_yes_tx" => self.master_yes_tx = num(),
            "rpl_semi_sync_master_timeout" => self.master_timeout_ms = num(),
            "rpl_semi_sync_slave_enabled" => self.slave_enabled = on(),
            "rpl_semi_sync_slave_status" => self.slave_status = on(),
            _ => {}
        }
    }

    /// The primary side configured but not in force: commits no longer wait for a replica.
    pub fn fallen_back(&self) -> bool {
        self.master_enabled == Some(true) && self.master_status == Some(false)
    }

    /// Whether the server knows semi-sync at all (an old server without the plugin: no).
    pub fn known(&self) -> bool {
        self.master_enabled.is_some() || self.slave_enabled.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_case_and_missing_ones_stay_unknown() {
        let mut s = SemiSync::default();
        s.set("RPL_SEMI_SYNC_MASTER_ENABLED", "ON");
        s.set("Rpl_semi_sync_master_status", "OFF");
        s.set("rpl_semi_sync_master_clients", "2");
        s.set("RPL_SEMI_SYNC_MASTER_TIMEOUT", "10000");
        s.set("rpl_semi_sync_unheard_of", "ON");
        assert_eq!(s.master_enabled, Some(true));
        assert_eq!(s.master_status, Some(false));
        assert_eq!(s.master_clients, Some(2));
        assert_eq!(s.master_timeout_ms, Some(10_000));
        assert_eq!(s.slave_status, None);
        assert!(s.fallen_back());
        assert!(s.known());
        assert!(!SemiSync::default().known());
    }
}
