//! Times as the store writes them (`YYYYMMDDTHHMMSS.mmmZ`, UTC, sorting as text sorts) and the
//! `--since` value of `gauntlet summarize`: a date (`2026-12-07`), a UTC time
//! (`2026-12-07T18:30:00Z`, or the store's own stamp form) or a duration back from now (`36h`,
//! `90m`, `2d`, `600s`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::artifacts::utc_stamp;

/// A `--since` value that is none of the accepted forms.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected --since as a date (2026-12-07), a UTC time (2026-12-07T18:30:00Z) or a duration \
     (36h, 90m, 2d, 600s), found {0:?}"
)]
pub struct BadSince(String);

/// The earliest store stamp `since` admits, `now` being the present.
pub fn since_stamp(since: &str, now: SystemTime) -> Result<String, BadSince> {
    let bad = || BadSince(since.to_string());
    let text = since.trim();
    if let Some(seconds) = duration_seconds(text) {
        let back = now
            .checked_sub(Duration::from_secs(seconds))
            .unwrap_or(UNIX_EPOCH);
        return Ok(utc_stamp(back));
    }
    let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    let well_formed = text
        .chars()
        .all(|c| c.is_ascii_digit() || "-:TZ. ".contains(c));
    if !well_formed || !(digits.len() == 8 || digits.len() >= 12) {
        return Err(bad());
    }
    let mut time = digits[8..].to_string();
    time.truncate(6);
    while time.len() < 6 {
        time.push('0');
    }
    let stamp = format!("{}T{time}.000Z", &digits[..8]);
    stamp_seconds(&stamp).ok_or_else(bad)?;
    Ok(stamp)
}

/// `36h`, `90m`, `2d`, `600s` in seconds.
fn duration_seconds(text: &str) -> Option<u64> {
    let unit = text.chars().last()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let number: u64 = text[..text.len() - 1].parse().ok()?;
    number.checked_mul(scale)
}

/// Seconds since the epoch of a store stamp (`None` when it is not one).
pub fn stamp_seconds(stamp: &str) -> Option<f64> {
    let b = stamp.as_bytes();
    if b.len() < 15 || b[8] != b'T' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> { stamp.get(range)?.parse().ok() };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    if !valid {
        return None;
    }
    let millis = stamp
        .get(16..19)
        .and_then(|m| m.parse::<i64>().ok())
        .unwrap_or(0);
    let days = days_from_civil(year, month as u32, day as u32);
    Some((days * 86_400 + hour * 3_600 + minute * 60 + second) as f64 + millis as f64 / 1e3)
}

/// The UTC date `YYYY-MM-DD` of a time: what the trend file calls a night.
pub fn night_of(time: SystemTime) -> String {
    let stamp = utc_stamp(time);
    format!("{}-{}-{}", &stamp[0..4], &stamp[4..6], &stamp[6..8])
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_through_seconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_000_000_123);
        let stamp = utc_stamp(t);
        assert_eq!(stamp_seconds(&stamp), Some(1_795_000_000.123));
        assert_eq!(stamp_seconds("19700101T000000.000Z"), Some(0.0));
        assert_eq!(stamp_seconds("not a stamp"), None);
        assert_eq!(night_of(t), "2026-11-18");
    }

    #[test]
    fn since_takes_dates_times_and_durations() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(
            since_stamp("2026-12-07", now).unwrap(),
            "20261207T000000.000Z"
        );
        assert_eq!(
            since_stamp("2026-12-07T18:30:05Z", now).unwrap(),
            "20261207T183005.000Z"
        );
        assert_eq!(
            since_stamp("20261207T1830", now).unwrap(),
            "20261207T183000.000Z"
        );
        assert_eq!(
            since_stamp("2h", now).unwrap(),
            utc_stamp(now - Duration::from_secs(7_200))
        );
        assert_eq!(
            since_stamp("1d", now).unwrap(),
            utc_stamp(now - Duration::from_secs(86_400))
        );
        for bad in ["yesterday", "2026-13-01", "12h ago", "", "5x", "2026-12"] {
            assert!(since_stamp(bad, now).is_err(), "{bad}");
        }
    }
}
