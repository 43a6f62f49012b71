//! What the journal records of the window itself rather than of the steps: a compact
//! sample of every server once a second, each server's version when first seen and when
//! it changes, and what the write-availability probe measured while a step ran. The
//! change report draws its lag chart and version table from these.

use serde::{Deserialize, Serialize};

/// One server in a once-a-second sample. `None` is "not known at that moment" (the
/// server did not answer, or the fact does not apply, e.g. lag on a primary).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerSample {
    pub server: String,
    /// Whether its last poll succeeded and is fresh.
    pub up: bool,
    /// `primary`, `replica`, or what MaxScale says when it is neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The IO thread (`Yes`, `No`, `Connecting`), for a replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<String>,
    /// Whether the SQL thread runs, for a replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<bool>,
    /// Seconds_Behind_Master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbm: Option<u64>,
    /// Heartbeat lag in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hb_ms: Option<u64>,
    /// Transactions behind the primary, summed over GTID domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid_behind: Option<u64>,
    /// MaxScale's state for it (`Master, Running`), when MaxScale answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mxs: Option<String>,
}

impl ServerSample {
    /// The lag the chart draws, in milliseconds: heartbeat lag where there is one, else
    /// Seconds_Behind_Master.
    pub fn lag_ms(&self) -> Option<u64> {
        self.hb_ms
            .or_else(|| self.sbm.map(|s| s.saturating_mul(1000)))
    }
}

/// What the write-availability probe measured while one step attempt ran. Writes and
/// reads go through the router only. Unavailability is the time between two successful
/// statements that had a failure, or a stall longer than [`STALL`], between them (and
/// from the last success to the end, when the step ended while failing).
///
/// [`STALL`]: crate::exec::probe::STALL
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    pub step: String,
    pub attempt: u32,
    /// `host:port` of the router written through.
    pub router: String,
    /// How long the probe ran.
    pub duration_s: f64,
    pub writes_ok: u64,
    pub writes_failed: u64,
    pub write_unavailable_s: f64,
    pub reads_ok: u64,
    pub reads_failed: u64,
    pub read_unavailable_s: f64,
    /// The first error, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl ProbeReport {
    /// The header's few words: `writes unavailable 1.58 s (31 failed)`.
    pub fn short(&self) -> String {
        if self.writes_failed == 0 && self.write_unavailable_s == 0.0 {
            return "writes available throughout".into();
        }
        format!(
            "writes unavailable {:.2} s ({} failed)",
            self.write_unavailable_s, self.writes_failed
        )
    }

    /// The line the cockpit and the record show: `writes unavailable 1.58 s (31 failed
    /// attempts, first error: …)`.
    pub fn summary(&self) -> String {
        if self.writes_failed == 0 && self.write_unavailable_s == 0.0 {
            return format!(
                "writes available throughout ({} writes in {:.1} s through {})",
                self.writes_ok, self.duration_s, self.router
            );
        }
        let mut s = format!(
            "writes unavailable {:.2} s ({} failed attempt{}",
            self.write_unavailable_s,
            self.writes_failed,
            if self.writes_failed == 1 { "" } else { "s" }
        );
        if let Some(e) = &self.first_error {
            s.push_str(", first error: ");
            s.push_str(e);
        }
        s.push(')');
        if self.read_unavailable_s > 0.0 {
            s.push_str(&format!(
                "; reads unavailable {:.2} s",
                self.read_unavailable_s
            ));
        }
        s
    }
}
