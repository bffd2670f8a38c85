//! Charts drawn on the server as SVG: a score line over days (trends, a host's history) and
//! bars of counts (risk distribution). The geometry is computed here; askama writes the SVG,
//! escaping every label.

use askama::Template;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// One x position of a line chart; `value` is a score 0–100, absent where nothing was
/// measured (the line breaks there rather than inventing a value).
pub struct Point {
    pub label: String,
    pub value: Option<f64>,
    /// Shown when hovering the point.
    pub note: String,
}

struct Dot {
    x: f64,
    y: f64,
    title: String,
}

struct Tick {
    pos: f64,
    label: String,
}

#[derive(Template)]
#[template(path = "chart_line.svg", escape = "html")]
struct LineChart<'a> {
    title: &'a str,
    width: f64,
    height: f64,
    left: f64,
    right_edge: f64,
    bottom_edge: f64,
    y_ticks: Vec<Tick>,
    x_ticks: Vec<Tick>,
    segments: Vec<String>,
    areas: Vec<String>,
    dots: Vec<Dot>,
    threshold: Option<f64>,
}

fn y_of(score: f64) -> f64 {
    let plot = HEIGHT - TOP - BOTTOM;
    TOP + plot * (1.0 - score.clamp(0.0, 100.0) / 100.0)
}

fn x_of(index: usize, count: usize) -> f64 {
    let plot = WIDTH - LEFT - RIGHT;
    if count <= 1 {
        LEFT + plot / 2.0
    } else {
        LEFT + plot * index as f64 / (count - 1) as f64
    }
}

/// A score line; `None` when no point has a value (the page shows an empty state instead).
pub fn score_line(title: &str, points: &[Point], threshold: Option<f64>) -> Option<String> {
    if points.iter().all(|p| p.value.is_none()) {
        return None;
    }
    let n = points.len();
    let mut segments = Vec::new();
    let mut areas = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    let mut dots = Vec::new();
    let mut close = |run: &mut Vec<(f64, f64)>| {
        if run.is_empty() {
            return;
        }
        let path: Vec<String> = run
            .iter()
            .enumerate()
            .map(|(i, (x, y))| format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }))
            .collect();
        let base = y_of(0.0);
        let (first, last) = (run[0].0, run[run.len() - 1].0);
        segments.push(path.join(" "));
        areas.push(format!(
            "{} L{last:.1},{base:.1} L{first:.1},{base:.1} Z",
            path.join(" ")
        ));
        run.clear();
    };
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some(v) => {
                let (x, y) = (x_of(i, n), y_of(v));
                run.push((x, y));
                dots.push(Dot {
                    x,
                    y,
                    title: format!("{}: {v:.1} {}", p.label, p.note).trim().to_owned(),
                });
            }
            None => close(&mut run),
        }
    }
    close(&mut run);
    let y_ticks = [0.0, 25.0, 50.0, 75.0, 100.0]
        .into_iter()
        .map(|v| Tick {
            pos: y_of(v),
            label: format!("{v:.0}"),
        })
        .collect();
    // First, middle and last labels: enough to read the period without crowding.
    let mut x_ticks: Vec<Tick> = [0, n / 2, n.saturating_sub(1)]
        .into_iter()
        .map(|i| Tick {
            pos: x_of(i, n),
            label: points[i].label.clone(),
        })
        .collect();
    x_ticks.dedup_by(|a, b| a.label == b.label);
    let chart = LineChart {
        title,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right_edge: WIDTH - RIGHT,
        bottom_edge: y_of(0.0),
        y_ticks,
        x_ticks,
        segments,
        areas,
        dots,
        threshold: threshold.map(y_of),
    };
    chart.render().ok()
}

struct Bar {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    class: String,
    label: String,
    count: i64,
}

#[derive(Template)]
#[template(path = "chart_bars.svg", escape = "html")]
struct BarChart<'a> {
    title: &'a str,
    width: f64,
    height: f64,
    baseline: f64,
    bars: Vec<Bar>,
}

/// Vertical bars of counts, one per key (`class_prefix` + key styles each bar).
pub fn count_bars(title: &str, buckets: &[(String, i64)], class_prefix: &str) -> Option<String> {
    if buckets.iter().all(|(_, c)| *c == 0) {
        return None;
    }
    let (width, height) = (360.0, 180.0);
    let baseline = height - 24.0;
    let max = buckets.iter().map(|(_, c)| *c).max().unwrap_or(1).max(1) as f64;
    let slot = (width - 16.0) / buckets.len() as f64;
    let bars = buckets
        .iter()
        .enumerate()
        .map(|(i, (key, count))| {
            let h = (baseline - 20.0) * *count as f64 / max;
            Bar {
                x: 8.0 + slot * i as f64 + slot * 0.2,
                y: baseline - h,
                width: slot * 0.6,
                height: h,
                class: format!("{class_prefix}{key}"),
                label: key.clone(),
                count: *count,
            }
        })
        .collect();
    BarChart {
        title,
        width,
        height,
        baseline,
        bars,
    }
    .render()
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[Option<f64>]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                label: format!("day {i}"),
                value: *v,
                note: String::new(),
            })
            .collect()
    }

    #[test]
    fn a_line_breaks_where_nothing_was_measured() {
        let svg = score_line(
            "t",
            &points(&[Some(100.0), Some(50.0), None, Some(0.0)]),
            None,
        )
        .unwrap();
        assert_eq!(svg.matches("class=\"chart-line\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("class=\"chart-point\"").count(), 3);
        // 100 is at the top of the plot, 0 on its baseline.
        assert!(svg.contains(&format!("M{LEFT:.1},{TOP:.1}")), "{svg}");
        assert!(svg.contains(&format!("M{:.1},{:.1}", WIDTH - RIGHT, HEIGHT - BOTTOM)));
    }

    #[test]
    fn nothing_measured_draws_nothing() {
        assert!(score_line("t", &points(&[None, None]), None).is_none());
        assert!(count_bars("t", &[("low".into(), 0)], "chart-bar-").is_none());
    }

    #[test]
    fn labels_are_escaped() {
        let mut p = points(&[Some(1.0)]);
        p[0].label = "<script>".into();
        let svg = score_line("t", &p, Some(80.0)).unwrap();
        assert!(!svg.contains("<script>") && svg.contains("script"));
        assert!(svg.contains("chart-threshold"));
        let bars = count_bars("t", &[("<b>".into(), 3)], "chart-bar-").unwrap();
        assert!(!bars.contains("<b>"));
    }

    #[test]
    fn bars_are_as_tall_as_their_share_of_the_largest() {
        let svg = count_bars("t", &[("low".into(), 4), ("high".into(), 2)], "chart-bar-").unwrap();
        assert!(svg.contains("class=\"chart-bar chart-bar-low\""), "{svg}");
        assert!(
            svg.contains("height=\"136.0\"") && svg.contains("height=\"68.0\""),
            "{svg}"
        );
    }
}
