//! Scores of a scan: the plain score of the first seed (passed / evaluable), the
//! severity-weighted score and risk level of the second, and counts by status and severity.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::outcome::Status;
use crate::template::Severity;

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Counts {
    pub pass: u32,
    pub fail: u32,
    pub error: u32,
    pub skip: u32,
    pub waived: u32,
    /// SCAP's not-checked, not-selected and informational results: counted in the total,
    /// never in the score.
    #[serde(default)]
    pub not_checked: u32,
    #[serde(default)]
    pub not_selected: u32,
    #[serde(default)]
    pub informational: u32,
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::Skip => self.skip += 1,
            Status::Waived => self.waived += 1,
            Status::NotChecked => self.not_checked += 1,
            Status::NotSelected => self.not_selected += 1,
            Status::Informational => self.informational += 1,
        }
    }

    pub fn total(&self) -> u32 {
        self.pass
            + self.fail
            + self.error
            + self.skip
            + self.waived
            + self.not_checked
            + self.not_selected
            + self.informational
    }

    /// Checks that count in the score: passed and failed; every other status is left out.
    pub fn evaluable(&self) -> u32 {
        self.pass + self.fail
    }
}

crate::text_enum! {
    /// How exposed a scan shows its host to be, from its failures; ordered least first.
    pub enum Risk as "risk" {
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreSummary {
    /// passed / evaluable × 100; `None` when nothing was evaluable.
    pub score: Option<f64>,
    /// Sum of weights of passed checks / sum of weights of evaluable checks × 100.
    pub weighted_score: Option<f64>,
    pub risk: Risk,
    pub counts: Counts,
    pub by_severity: BTreeMap<Severity, Counts>,
}

impl ScoreSummary {
    pub fn from_results(results: impl IntoIterator<Item = (Severity, Status)>) -> Self {
        let mut counts = Counts::default();
        let mut by_severity: BTreeMap<Severity, Counts> = BTreeMap::new();
        let (mut passed_weight, mut evaluable_weight) = (0u64, 0u64);
        for (severity, status) in results {
            counts.add(status);
            by_severity.entry(severity).or_default().add(status);
            let w = u64::from(severity.weight());
            match status {
                Status::Pass => {
                    passed_weight += w;
                    evaluable_weight += w;
                }
                Status::Fail => evaluable_weight += w,
                _ => {}
            }
        }
        let score = percent(u64::from(counts.pass), u64::from(counts.evaluable()));
        let weighted_score = percent(passed_weight, evaluable_weight);
        let failed = |s: Severity| by_severity.get(&s).map_or(0, |c| c.fail);
        let risk = if failed(Severity::Critical) > 0 {
            Risk::Critical
        } else if failed(Severity::High) > 2 {
            Risk::High
        } else if failed(Severity::High) >= 1 || failed(Severity::Medium) >= 5 {
            Risk::Medium
        } else {
            Risk::Low
        };
        ScoreSummary {
            score,
            weighted_score,
            risk,
            counts,
            by_severity,
        }
    }

    /// Whether the scan meets a passing threshold (a scan with nothing evaluable does not).
    pub fn meets(&self, threshold: f64) -> bool {
        self.score.is_some_and(|s| s >= threshold)
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    // Rounded to two decimals so that stored and displayed scores agree.
    (whole > 0).then(|| (part as f64 * 10000.0 / whole as f64).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn summary(results: &[(Severity, Status)]) -> ScoreSummary {
        ScoreSummary::from_results(results.iter().copied())
    }

    #[test]
    fn seed_examples() {
        use Severity::*;
        use Status::*;
        // 3 passed of 4 evaluable; skip, error and waived are excluded.
        let s = summary(&[
            (Low, Pass),
            (Low, Pass),
            (Low, Pass),
            (Low, Fail),
            (Low, Skip),
            (Low, Error),
            (Low, Waived),
        ]);
        assert_eq!(s.score, Some(75.0));
        // Weighted: passed high (5) of high + critical (15).
        let s = summary(&[(High, Pass), (Critical, Fail)]);
        assert_eq!(s.weighted_score, Some(33.33));
        assert_eq!(s.score, Some(50.0));
        assert_eq!(summary(&[(Info, Pass)]).weighted_score, None);
        assert_eq!(summary(&[(Low, Skip)]).score, None);
        assert!(!summary(&[(Low, Skip)]).meets(0.0));
    }

    #[test]
    fn risk_levels() {
        use Severity::*;
        use Status::*;
        let cases: Vec<(Vec<(Severity, Status)>, Risk)> = vec![
            (vec![(Critical, Fail)], Risk::Critical),
            (vec![(High, Fail); 3], Risk::High),
            (vec![(High, Fail); 2], Risk::Medium),
            (vec![(Medium, Fail); 5], Risk::Medium),
            (vec![(Medium, Fail); 4], Risk::Low),
            (vec![(Critical, Waived), (Critical, Pass)], Risk::Low),
        ];
        for (results, want) in cases {
            assert_eq!(summary(&results).risk, want, "{results:?}");
        }
    }

    fn severity() -> impl Strategy<Value = Severity> {
        prop::sample::select(Severity::ALL.to_vec())
    }
    fn status() -> impl Strategy<Value = Status> {
        prop::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn scores_stay_in_range(results in prop::collection::vec((severity(), status()), 0..200)) {
            let s = summary(&results);
            for v in [s.score, s.weighted_score].into_iter().flatten() {
                prop_assert!((0.0..=100.0).contains(&v));
            }
            prop_assert_eq!(s.counts.total() as usize, results.len());
        }

        #[test]
        fn waiving_a_failure_never_hurts(
            results in prop::collection::vec((severity(), status()), 1..100),
            pick in any::<prop::sample::Index>(),
        ) {
            let before = summary(&results);
            let mut waived = results.clone();
            let i = pick.index(waived.len());
            if waived[i].1 == Status::Fail {
                waived[i].1 = Status::Waived;
            }
            let after = summary(&waived);
            prop_assert!(after.counts.fail <= before.counts.fail);
            prop_assert!(after.risk <= before.risk);
            if let (Some(a), Some(b)) = (after.score, before.score) {
                prop_assert!(a >= b);
            }
        }
    }
}
