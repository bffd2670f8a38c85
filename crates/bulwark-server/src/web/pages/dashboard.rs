//! The compliance dashboard: the posture at a glance and where to act first.

use askama::Template;
use axum::extract::State;
use bulwark_store::Dashboard;

use super::daily_points;
use crate::AppState;
use crate::api::reports::{self, DashboardQuery, TrendsQuery};
use crate::auth::Caller;
use crate::body::Params;
use crate::web::page::{Chrome, OrErrorPage, PageResult, render_html};
use crate::web::{charts, fmt};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    d: Dashboard,
    trend_chart: Option<String>,
    risk_chart: Option<String>,
}

pub async fn page(State(s): State<AppState>, caller: Caller, chrome: Chrome) -> PageResult {
    let query = DashboardQuery { org_id: None };
    let d = reports::dashboard(State(s.clone()), caller.clone(), Params(query))
        .await
        .or_page(&chrome)?
        .0;
    let trends = reports::trends(
        State(s),
        caller,
        Params(TrendsQuery {
            days: Some(30),
            policy_id: None,
        }),
    )
    .await
    .or_page(&chrome)?
    .0;
    let points = daily_points(&trends, bulwark_store::now());
    let trend_chart = charts::score_line("Average score per day, last 30 days", &points, None);
    let risks: Vec<(String, i64)> = ["low", "medium", "high", "critical"]
        .iter()
        .map(|level| {
            let count = d
                .risk_distribution
                .iter()
                .find(|b| b.key == *level)
                .map_or(0, |b| b.count);
            (level.to_string(), count)
        })
        .collect();
    let risk_chart = charts::count_bars("Hosts by risk level", &risks, "chart-bar-");
    Ok(render_html(&DashboardPage {
        chrome,
        d,
        trend_chart,
        risk_chart,
    }))
}
