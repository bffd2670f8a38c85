//! Scan times as the outputs write them: RFC 3339 for machines (XCCDF's xsd:dateTime accepts
//! it), a shorter UTC form for people.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// `None` for seconds outside what RFC 3339 can write (before year 0 or after 9999).
pub(crate) fn rfc3339(unix: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
}

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
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            rfc3339(1_767_607_200).as_deref(),
            Some("2026-01-05T10:00:00Z")
        );
        assert_eq!(rfc3339(i64::MAX), None);
        assert_eq!(human(1_767_607_200), "2026-01-05 10:00:00 UTC");
        assert_eq!(human(i64::MAX), format!("unix time {}", i64::MAX));
    }
}
