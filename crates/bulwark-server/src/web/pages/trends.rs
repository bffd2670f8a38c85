//! Trends: the average score per day over 1 to 365 days, for all policies or one.

use askama::Template;
use axum::extract::State;
use bulwark_store::{Policy, Trends};

use super::daily_points;
use crate::AppState;
use crate::api::reports::{self, TrendsQuery};
use crate::auth::Caller;
use crate::body::Params;
use crate::error::AppError;
use crate::web::charts;
use crate::web::fmt;
use crate::web::page::{Chrome, OrErrorPage, PageResult, render_html};

#[derive(Template)]
#[template(path = "trends.html")]
struct TrendsPage {
    chrome: Chrome,
    trends: Trends,
    chart: Option<String>,
    policies: Vec<Policy>,
    policy_id: String,
}

pub async fn page(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    q: Result<Params<TrendsQuery>, AppError>,
) -> PageResult {
    let Params(q) = q.or_page(&chrome)?;
    let policy_id = q.policy_id.clone().unwrap_or_default();
    let trends = reports::trends(State(s.clone()), caller.clone(), Params(q))
        .await
        .or_page(&chrome)?
        .0;
    let policies = s
        .store
        .list_policies(&caller.scope)
        .await
        .or_page(&chrome)?;
    let threshold = policies
        .iter()
        .find(|p| p.id == policy_id)
        .map(|p| p.passing_threshold);
    let points = daily_points(&trends, bulwark_store::now());
    let title = format!("Average score per day, last {} days", trends.days);
    let chart = charts::score_line(&title, &points, threshold);
    Ok(render_html(&TrendsPage {
        chrome,
        trends,
        chart,
        policies,
        policy_id,
    }))
}
