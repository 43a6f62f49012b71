//! Durations a runbook writes (`timeout = "30m"`), parsed by humantime and bounded, so
//! that no later `Instant + timeout` can overflow.

use std::time::Duration;

/// The longest timeout a step may have.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Why a duration was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}` is not a duration")]
    Malformed(String),
    #[error("`{0}` is longer than the 24h a timeout may be")]
    TooLong(String),
}

/// `500ms`, `30s`, `5m`, `1h`, `1m30s`, `1h 30m` (humantime's syntax), at most 24h.
pub fn parse_bounded(s: &str) -> Result<Duration, DurationError> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        Ok(_) | Err(humantime::DurationError::NumberOverflow) => {
            Err(DurationError::TooLong(s.to_string()))
        }
        Err(_) => Err(DurationError::Malformed(s.to_string())),
    }
}

/// The same, for callers that only need to know whether it is one.
pub fn parse_duration(s: &str) -> Option<Duration> {
    parse_bounded(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_units_and_their_combinations_parse() {
        let cases = [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h", Duration::from_secs(3600)),
            ("1m30s", Duration::from_secs(90)),
            ("1h 30m", Duration::from_secs(5400)),
            (" 2m ", Duration::from_secs(120)),
            ("24h", MAX_DURATION),
        ];
        for (text, want) in cases {
            assert_eq!(parse_bounded(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn longer_than_a_day_is_refused_even_when_it_would_overflow() {
        for text in [
            "24h 1ms",
            "25h",
            "2 days",
            "18446744073709551615s",
            "18446744073709551616s",
            "99999999999999999999h",
        ] {
            assert_eq!(
                parse_bounded(text),
                Err(DurationError::TooLong(text.into())),
                "{text}"
            );
        }
    }

    #[test]
    fn text_that_is_no_duration_is_refused() {
        for text in ["", "30", "5x", "-5s", "m", "30 minutes please"] {
            assert_eq!(
                parse_bounded(text),
                Err(DurationError::Malformed(text.into())),
                "{text}"
            );
        }
    }
}
