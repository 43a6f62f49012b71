//! Reading back the journal's timestamps (`2026-11-01T09:30:00.123Z`, as
//! [`format_rfc3339`] writes them), so a resumed session knows when it began, and the
//! calendar arithmetic both need.
//!
//! [`format_rfc3339`]: crate::session::lock::format_rfc3339

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time a journal timestamp names; `None` for anything not in that form.
pub fn parse_rfc3339(ts: &str) -> Option<SystemTime> {
    let ts = ts.strip_suffix('Z')?;
    let (date, time) = ts.split_once('T')?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(str::parse::<u64>);
    let (h, m, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let millis: u64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    let days = days_from_civil(year, month, day)?;
    let secs = [h.checked_mul(3_600)?, m.checked_mul(60)?, s]
        .into_iter()
        .try_fold(days.checked_mul(86_400)?, u64::checked_add)?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs).checked_add(Duration::from_millis(millis))?)
}

/// Howard Hinnant's days_from_civil, the inverse of [`civil_from_days`]: the days from
/// 1970-01-01 to a date; `None` before it. Checked throughout, as the year is whatever a
/// journal holds.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<u64> {
    // Years begin on March 1 here, so a leap day ends one.
    let y = year.checked_sub(i64::from(month <= 2))?;
    let (era, yoe) = (y.div_euclid(400), y.rem_euclid(400));
    let mp = month.checked_add(9)? % 12;
    let doy = (mp.checked_mul(153)?.checked_add(2)? / 5)
        .checked_add(day)?
        .checked_sub(1)?;
    let doe = yoe
        .checked_mul(365)?
        .checked_add(yoe / 4)?
        .checked_sub(yoe / 100)?
        .checked_add(doy)?;
    let days = era
        .checked_mul(146_097)?
        .checked_add(doe)?
        .checked_sub(719_468)?;
    u64::try_from(days).ok()
}

/// Howard Hinnant's civil_from_days: the date (year, month, day) `days` after 1970-01-01.
/// `None` never happens for a day a `SystemTime` can name; the steps are checked all the
/// same.
pub(crate) fn civil_from_days(days: u64) -> Option<(i64, i64, i64)> {
    let z = i64::try_from(days).ok()?.checked_add(719_468)?;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = doe
        .checked_sub(doe / 1_460)?
        .checked_add(doe / 36_524)?
        .checked_sub(doe / 146_096)?
        / 365;
    let doy = doe.checked_sub(
        yoe.checked_mul(365)?
            .checked_add(yoe / 4)?
            .checked_sub(yoe / 100)?,
    )?;
    let mp = doy.checked_mul(5)?.checked_add(2)? / 153;
    let day = doy
        .checked_sub(mp.checked_mul(153)?.checked_add(2)? / 5)?
        .checked_add(1)?;
    let month = if mp < 10 {
        mp.checked_add(3)?
    } else {
        mp.checked_sub(9)?
    };
    let year = era
        .checked_mul(400)?
        .checked_add(yoe)?
        .checked_add(i64::from(month <= 2))?;
    Some((year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::lock::format_rfc3339;

    #[test]
    fn reads_back_what_the_journal_writes() {
        for secs in [0, 951_782_400, 1_795_000_123, 4_102_444_799] {
            let t = UNIX_EPOCH + Duration::from_millis(secs * 1000 + 457);
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        }
    }

    #[test]
    fn refuses_what_is_not_a_journal_timestamp() {
        let huge = "9223372036854775807-12-31T23:59:59.999Z";
        for bad in [
            "",
            "2026-11-01",
            "2026-13-01T00:00:00.000Z",
            "yesterday",
            huge,
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
