//! The JSON report: a snapshot of the whole document for the sample scan, and the summary's
//! arithmetic on small cases.

mod common;

use bulwark_core::{Severity, Status};
use bulwark_report::{JsonReport, Report, json};
use common::{finding, report};

#[test]
fn sample_report() {
    insta::assert_json_snapshot!(json(&report()));
}

#[test]
fn summary_counts_every_status_and_severity() {
    use Severity::*;
    use Status::*;
    // (findings, expected by_status as pass/fail/error/skip/waived)
    type Case<'a> = (&'a [(Severity, Status)], [u64; 5]);
    let cases: [Case; 4] = [
        (&[], [0, 0, 0, 0, 0]),
        (&[(High, Pass)], [1, 0, 0, 0, 0]),
        (&[(High, Fail), (Low, Fail), (Info, Skip)], [0, 2, 0, 1, 0]),
        (
            &[(Critical, Waived), (Critical, Error), (Medium, Pass)],
            [1, 0, 1, 0, 1],
        ),
    ];
    for (findings, expected) in cases {
        let r = Report {
            findings: findings
                .iter()
                .enumerate()
                .map(|(i, (sev, st))| finding(&format!("c{i}"), *sev, *st))
                .collect(),
            ..report()
        };
        let v = json(&r);
        let by_status = &v["summary"]["by_status"];
        let got: Vec<u64> = ["pass", "fail", "error", "skip", "waived"]
            .iter()
            .map(|s| by_status[s].as_u64().unwrap())
            .collect();
        assert_eq!(got, expected, "{findings:?}");
        assert_eq!(v["summary"]["total"], findings.len());
        // Every severity row is present with every status, so consumers see one shape.
        for severity in ["critical", "high", "medium", "low", "info"] {
            let row = &v["summary"]["by_severity"][severity];
            assert_eq!(
                row.as_object().unwrap().len(),
                Status::ALL.len(),
                "{severity}"
            );
        }
    }
}

#[test]
fn passing_follows_the_threshold() {
    for (score, threshold, passing) in [
        (Some(80.0), 80.0, true),
        (Some(79.99), 80.0, false),
        (None, 0.0, false),
    ] {
        let mut r = report();
        r.scan.score = score;
        r.scan.passing_threshold = threshold;
        assert_eq!(
            json(&r)["summary"]["passing"],
            passing,
            "{score:?} vs {threshold}"
        );
    }
}

#[test]
fn the_document_reads_back_and_has_a_schema() {
    let r = report();
    let back: JsonReport = serde_json::from_value(json(&r)).unwrap();
    assert_eq!(back.scan, r.scan);
    assert_eq!(back.findings, r.findings);
    let schema = serde_json::to_value(schemars::schema_for!(JsonReport)).unwrap();
    assert!(schema["properties"]["summary"].is_object(), "{schema}");
}
