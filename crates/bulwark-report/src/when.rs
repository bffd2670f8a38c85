//! Scan times as the outputs write them: RFC 3339 for machines (XCCDF's xsd:dateTime accepts
//! it), a shorter UTC form for people.

use time::OffsetDateTime;
use time::macros::format_description;

pub(crate) fn human(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("unix time {unix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(human(1_767_607_200), "2026-01-05 10:00:00 UTC");
        assert_eq!(human(i64::MAX), format!("unix time {}", i64::MAX));
    }
}
