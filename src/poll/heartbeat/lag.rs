//! What a server's newest heartbeat says, and how to show it in a few characters.

use std::time::Duration;

/// How far in the future a heartbeat may be and still count as "no lag": two hosts' clocks
/// differ by a little. Beyond it the timestamp itself is wrong ([`HeartbeatLag::Skew`]).
pub const SKEW_TOLERANCE: Duration = Duration::from_secs(1);

/// What a server's newest heartbeat says, computed by the server itself
/// (`UTC_TIMESTAMP(6) - ts`, no clock of this machine involved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HeartbeatLag {
    /// The newest heartbeat is this old (one up to [`SKEW_TOLERANCE`] ahead counts as 0).
    Behind(Duration),
    /// The newest heartbeat is dated this far in the future: it was written in local time
    /// (pt-heartbeat without `--utc`) or by a host whose clock is ahead. The lag is unknown.
    Skew { ahead: Duration },
}

impl HeartbeatLag {
    /// From `UTC_TIMESTAMP(6) - ts` in microseconds (negative: the heartbeat is ahead).
    pub fn from_micros(micros: i64) -> Self {
        let magnitude = Duration::from_micros(micros.unsigned_abs());
        if micros >= 0 {
            HeartbeatLag::Behind(magnitude)
        } else if magnitude > SKEW_TOLERANCE {
            HeartbeatLag::Skew { ahead: magnitude }
        } else {
            HeartbeatLag::Behind(Duration::ZERO)
        }
    }

    /// The lag, when it is known (not for a skewed heartbeat).
    pub fn behind(self) -> Option<Duration> {
        match self {
            HeartbeatLag::Behind(d) => Some(d),
            HeartbeatLag::Skew { .. } => None,
        }
    }

    pub fn is_skew(self) -> bool {
        matches!(self, HeartbeatLag::Skew { .. })
    }

    /// At most 9 characters, always with a unit: `0.25s`, `18000s`, `27.8h`, `skew 9h`.
    pub fn short(self) -> String {
        match self {
            HeartbeatLag::Behind(d) => format_lag(d),
            HeartbeatLag::Skew { ahead } => format!("skew {}", format_coarse(ahead)),
        }
    }

    /// One line for a detail or a note: the lag, or what a skewed heartbeat means.
    pub fn describe(self) -> String {
        match self {
            HeartbeatLag::Behind(d) => format!("heartbeat lag {}", format_lag(d)),
            HeartbeatLag::Skew { ahead } => format!(
                "clock/TZ skew: heartbeat ts is {:.0} s ahead (is pt-heartbeat running with --utc?)",
                ahead.as_secs_f64()
            ),
        }
    }
}

/// A lag in at most 7 characters, always with its unit: `0.25s`, `999.99s`, `99999s`,
/// `27.8h`, `1157d`.
pub fn format_lag(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 999.995 {
        format!("{secs:.2}s")
    } else if d.as_secs() < 100_000 {
        format!("{}s", d.as_secs())
    } else if secs < 99.95 * 3600.0 {
        format!("{:.1}h", secs / 3600.0)
    } else {
        format!("{}d", d.as_secs() / 86_400)
    }
}

/// A duration in at most 4 characters with its unit, rounded down: `6s`, `15m`, `9h`, `41d`,
/// `27y`.
fn format_coarse(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..100 => format!("{s}s"),
        100..6_000 => format!("{}m", s / 60),
        6_000..360_000 => format!("{}h", s / 3600),
        360_000..86_400_000 => format!("{}d", s / 86_400),
        _ => format!("{}y", s / 31_557_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_heartbeat_ahead_by_more_than_a_second_is_skew_never_zero() {
        assert_eq!(
            HeartbeatLag::from_micros(250_000),
            HeartbeatLag::Behind(Duration::from_millis(250))
        );
        // Clocks of two hosts differ a little: up to 1 s ahead is "no lag".
        assert_eq!(
            HeartbeatLag::from_micros(-1_000_000),
            HeartbeatLag::Behind(Duration::ZERO)
        );
        // pt-heartbeat writing local time with TZ=Asia/Tokyo, the SQL thread 6 s behind.
        let tokyo = HeartbeatLag::from_micros(-(9 * 3600 - 6) * 1_000_000);
        assert_eq!(tokyo, HeartbeatLag::Skew { ahead: 32_394 * S });
        assert_eq!(tokyo.behind(), None);
        assert!(HeartbeatLag::from_micros(-1_000_001).is_skew());
        assert_eq!(
            HeartbeatLag::Skew { ahead: 6 * S }.describe(),
            "clock/TZ skew: heartbeat ts is 6 s ahead (is pt-heartbeat running with --utc?)"
        );
        assert_eq!(tokyo.short(), "skew 8h");
        assert_eq!(HeartbeatLag::Skew { ahead: 6 * S }.short(), "skew 6s");
    }

    #[test]
    fn the_lag_keeps_its_unit_at_any_size() {
        let cases = [
            (Duration::from_millis(20), "0.02s"),
            (Duration::from_millis(999_990), "999.99s"),
            (Duration::from_millis(999_996), "999s"),
            (18_000 * S + Duration::from_millis(350), "18000s"),
            (99_999 * S, "99999s"),
            (100_000 * S, "27.8h"),
            (359_000 * S, "99.7h"),
            (360_000 * S, "4d"),
            (u32::MAX * S, "49710d"),
        ];
        for (d, want) in cases {
            let got = HeartbeatLag::Behind(d).short();
            assert_eq!(got, want, "{d:?}");
            assert!(got.len() <= 9, "{got}");
        }
        for secs in [0, 99, 100, 5_999, 6_000, 359_999, 360_000, 86_400 * 9_999] {
            let got = HeartbeatLag::Skew { ahead: secs * S }.short();
            assert!(got.len() <= 9 && !got.ends_with(char::is_numeric), "{got}");
        }
    }
}
