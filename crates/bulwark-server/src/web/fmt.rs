//! How numbers and times read on the pages (UTC, like the API).

use chrono::{DateTime, Utc};

pub fn when(unix: &i64) -> String {
    DateTime::<Utc>::from_timestamp(*unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub fn day(unix: &i64) -> String {
    DateTime::<Utc>::from_timestamp(*unix, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// "just now", "5 min ago", "3 h ago", "2 days ago".
pub fn ago(unix: &i64) -> String {
    let secs = bulwark_store::now() - unix;
    match secs {
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s if s < 2 * 86_400 => "yesterday".into(),
        s => format!("{} days ago", s / 86_400),
    }
}

pub fn ago_or(unix: &Option<i64>, never: &str) -> String {
    unix.as_ref().map_or_else(|| never.to_owned(), ago)
}

pub fn score(score: &Option<f64>) -> String {
    score.map_or_else(|| "—".into(), |s| format!("{s:.1}"))
}

pub fn percent(value: &Option<f64>) -> String {
    value.map_or_else(|| "—".into(), |s| format!("{s:.1}%"))
}

/// The colour band of a score: ≥ 80 good, ≥ 60 warning, else bad.
pub fn score_class(score: &Option<f64>) -> &'static str {
    match score {
        Some(s) if *s >= 80.0 => "score-good",
        Some(s) if *s >= 60.0 => "score-warn",
        Some(_) => "score-bad",
        None => "score-none",
    }
}

pub fn duration(started: &Option<i64>, completed: &Option<i64>) -> String {
    match (started, completed) {
        (Some(s), Some(c)) if c >= s => match c - s {
            d if d < 60 => format!("{d} s"),
            d if d < 3600 => format!("{} min {} s", d / 60, d % 60),
            d => format!("{} h {} min", d / 3600, (d % 3600) / 60),
        },
        _ => "—".into(),
    }
}

/// A result status as words ("not checked").
pub fn status(status: &bulwark_core::Status) -> String {
    status.as_str().replace('_', " ")
}

/// The first eight characters of an id, as the scan list shows them.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_banded_at_80_and_60() {
        for (s, class) in [
            (Some(100.0), "score-good"),
            (Some(80.0), "score-good"),
            (Some(79.9), "score-warn"),
            (Some(60.0), "score-warn"),
            (Some(59.9), "score-bad"),
            (None, "score-none"),
        ] {
            assert_eq!(score_class(&s), class, "{s:?}");
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(&Some(10), &Some(52)), "42 s");
        assert_eq!(duration(&Some(0), &Some(125)), "2 min 5 s");
        assert_eq!(duration(&Some(0), &Some(7260)), "2 h 1 min");
        assert_eq!(duration(&None, &Some(1)), "—");
        assert_eq!(short("0123456789"), "01234567");
    }
}
