//! One module per section of the navigation. Handlers gather through the API's handlers (or
//! the store with the caller's scope, as those handlers do) and render a template.

pub mod audit;
pub mod dashboard;
pub mod exceptions;
pub mod export;
pub mod hosts;
pub mod jobs;
pub mod login;
pub mod policies;
pub mod provisioning;
pub mod scans;
pub mod settings;
pub mod templates;
pub mod trends;

use crate::web::charts::Point;
use bulwark_store::Trends;

/// One point per day of the period, oldest first; days without scans have no value.
pub fn daily_points(trends: &Trends, now: i64) -> Vec<Point> {
    (0..trends.days)
        .rev()
        .map(|back| {
            let date = crate::web::fmt::day(&(now - back * 86_400));
            let day = trends.daily.iter().find(|d| d.date == date);
            Point {
                value: day.and_then(|d| d.average_score),
                note: day.map_or_else(String::new, |d| {
                    format!(
                        "({} scan{})",
                        d.scan_count,
                        if d.scan_count == 1 { "" } else { "s" }
                    )
                }),
                label: date,
            }
        })
        .collect()
}
