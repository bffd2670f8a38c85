//! The scan as an ARF 1.1 asset report collection that SCAP tools read (`oscap info`,
//! `oscap xccdf generate report`): the host as an asset, an XCCDF 1.2 Benchmark describing
//! the template's checks as the report request, and an XCCDF TestResult as the report.
//!
//! What oscap 1.3.7 needs, found by trying: `core:relationships` (without them it cannot
//! find the report's benchmark, and `oscap info` crashes), and the Benchmark itself (its
//! report lists rules by walking the Benchmark, not the TestResult). The Benchmark stands on
//! its own in the report request rather than inside a SCAP source data stream: a data
//! stream must name OVAL or OCIL check components (`oscap ds sds-validate` rejects one
//! without), and Bulwark's checks are neither.

use std::collections::HashSet;
use std::io;

use bulwark_core::{Severity, Status};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::model::{Finding, Report};
use crate::text::visible;
use crate::when;

const NS_ARF: &str = "http://scap.nist.gov/schema/asset-reporting-format/1.1";
const NS_CORE: &str = "http://scap.nist.gov/schema/reporting-core/1.1";
const NS_AI: &str = "http://scap.nist.gov/schema/asset-identification/1.1";
const NS_XCCDF: &str = "http://checklists.nist.gov/xccdf/1.2";
const NS_ARF_VOCAB: &str = "http://scap.nist.gov/specifications/arf/vocabulary/relationships/1.0#";
const NS_DC: &str = "http://purl.org/dc/elements/1.1/";

/// The reverse-DNS part of every XCCDF id we write (`xccdf_<namespace>_<kind>_<name>`); it
/// must not contain `_`.
const ID_NAMESPACE: &str = "com.bulwark";

const REQUEST_ID: &str = "request0";
const ASSET_ID: &str = "asset0";
const REPORT_ID: &str = "xccdf0";

/// Scoring systems of the TestResult's scores. The default model's score is what an XCCDF
/// tool would compute from these results; Bulwark's own scores (which leave errors and
/// waivers out, and weigh by severity) travel under systems of their own, so that no tool
/// mistakes one for the other.
pub const SCORE_XCCDF_DEFAULT: &str = "urn:xccdf:scoring:default";
pub const SCORE_BULWARK: &str = "urn:bulwark:scoring:plain";
pub const SCORE_BULWARK_WEIGHTED: &str = "urn:bulwark:scoring:weighted";

pub fn arf(report: &Report) -> String {
    let mut xml = Xml::new();
    write(&mut xml, report).expect("writing XML to memory cannot fail");
    String::from_utf8(xml.w.into_inner()).expect("every piece written is a &str")
}

/// The XCCDF result of a status. Exhaustive on purpose: a status added to core must be
/// mapped here before the crate compiles.
pub fn xccdf_result(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Error => "error",
        // Bulwark skips a check that does not apply to the host (platform, `only_if`).
        Status::Skip => "notapplicable",
        // A waiver accepts the risk; it does not make the host meet the rule. See `write_override`.
        Status::Waived => "fail",
        Status::NotChecked => "notchecked",
        Status::NotSelected => "notselected",
        Status::Informational => "informational",
    }
}

/// XCCDF severities stop at high; critical is written as high.
fn xccdf_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Info => "info",
    }
}

/// The identifier system of an ident, from its prefix; the URIs are the ones SSG and DISA
/// use, so that tools that group by system recognise them.
fn ident_system(ident: &str) -> &'static str {
    let upper = ident.to_ascii_uppercase();
    if upper.starts_with("CCE-") {
        "https://nvd.nist.gov/cce/index.cfm"
    } else if upper.starts_with("CCI-") {
        "http://cyber.mil/cci"
    } else if upper.starts_with("V-") || upper.starts_with("SV-") {
        "http://cyber.mil/legacy"
    } else if upper.starts_with("CVE-") {
        "http://cve.mitre.org"
    } else if upper.starts_with("CIS") {
        "https://www.cisecurity.org/cis-benchmarks"
    } else {
        "urn:bulwark:ident"
    }
}

/// A name cut to what XCCDF 1.2 ids allow after their prefix (an NCName: `[A-Za-z0-9_.-]`
/// is safe); anything else becomes `_`.
fn sanitize(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() { "_".into() } else { clean }
}

pub fn xccdf_id(kind: &str, raw: &str) -> String {
    format!("xccdf_{ID_NAMESPACE}_{kind}_{}", sanitize(raw))
}

/// Unique XCCDF ids for names that may collide once sanitized ("a b" and "a_b"). Names that
/// need no change are placed first, so that they keep their own id; the others get a
/// numbered suffix when theirs is taken.
fn unique_ids(kind: &str, names: &[&str]) -> Vec<String> {
    let mut ids = vec![String::new(); names.len()];
    let mut used = HashSet::new();
    let clean_first = names
        .iter()
        .enumerate()
        .filter(|(_, n)| sanitize(n) == **n)
        .chain(names.iter().enumerate().filter(|(_, n)| sanitize(n) != **n));
    for (i, name) in clean_first {
        let base = xccdf_id(kind, name);
        let mut id = base.clone();
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}_{n}");
            n += 1;
        }
        ids[i] = id;
    }
    ids
}

/// A writer whose every text and attribute value goes through `text::visible` and quick-xml's
/// escaping, so that no scan value can break the document.
struct Xml {
    w: Writer<Vec<u8>>,
}

impl Xml {
    fn new() -> Xml {
        Xml {
            w: Writer::new_with_indent(Vec::new(), b' ', 2),
        }
    }

    fn tag<'a>(name: &'a str, attrs: &[(&str, &str)]) -> BytesStart<'a> {
        let mut start = BytesStart::new(name);
        for (k, v) in attrs {
            start.push_attribute((*k, visible(v).as_ref()));
        }
        start
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.w.write_event(Event::Start(Self::tag(name, attrs)))
    }

    fn end(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.w.write_event(Event::Empty(Self::tag(name, attrs)))
    }

    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> io::Result<()> {
        self.start(name, attrs)?;
        self.w
            .write_event(Event::Text(BytesText::new(visible(text).as_ref())))?;
        self.end(name)
    }
}

/// One XCCDF Group per category, in the order categories first appear.
struct Group<'a> {
    id: String,
    title: &'a str,
    rules: Vec<Rule<'a>>,
}

struct Rule<'a> {
    id: String,
    finding: &'a Finding,
}

struct Layout<'a> {
    benchmark_id: String,
    groups: Vec<Group<'a>>,
}

impl<'a> Layout<'a> {
    fn of(report: &'a Report) -> Layout<'a> {
        let check_ids: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.check_id.as_str())
            .collect();
        let rule_ids = unique_ids("rule", &check_ids);
        let mut categories: Vec<&str> = Vec::new();
        for f in &report.findings {
            let category = category(f);
            if !categories.contains(&category) {
                categories.push(category);
            }
        }
        let mut groups: Vec<Group> = unique_ids("group", &categories)
            .into_iter()
            .zip(&categories)
            .map(|(id, title)| Group {
                id,
                title,
                rules: Vec::new(),
            })
            .collect();
        for (id, finding) in rule_ids.into_iter().zip(&report.findings) {
            let at = categories
                .iter()
                .position(|c| *c == category(finding))
                .expect("every category was collected");
            groups[at].rules.push(Rule { id, finding });
        }
        Layout {
            benchmark_id: xccdf_id("benchmark", &report.scan.template_id),
            groups,
        }
    }
}

fn category(f: &Finding) -> &str {
    if f.category.trim().is_empty() {
        "uncategorized"
    } else {
        &f.category
    }
}

/// The XCCDF 1.2 default scoring model (spec §7.3.2) over the Benchmark written here: rules
/// of weight 1 in one group of weight 1 per category; notapplicable results are left out,
/// error and fail count as 0, pass as 100; a group's score is the mean of its scored rules
/// and the Benchmark's the mean of its scored groups. This is not Bulwark's score (which
/// leaves errors and waivers out); that is written under its own scoring system.
fn xccdf_default_score(layout: &Layout) -> f64 {
    let group_scores: Vec<f64> = layout
        .groups
        .iter()
        .filter_map(|group| {
            let scored: Vec<bool> = group
                .rules
                .iter()
                .filter_map(|rule| match xccdf_result(rule.finding.status) {
                    "pass" | "fixed" => Some(true),
                    "notapplicable" | "notchecked" | "informational" | "notselected" => None,
                    _ => Some(false),
                })
                .collect();
            (!scored.is_empty())
                .then(|| 100.0 * scored.iter().filter(|p| **p).count() as f64 / scored.len() as f64)
        })
        .collect();
    if group_scores.is_empty() {
        0.0
    } else {
        group_scores.iter().sum::<f64>() / group_scores.len() as f64
    }
}

fn score_text(score: f64) -> String {
    format!("{score:.6}")
}

fn write(xml: &mut Xml, report: &Report) -> io::Result<()> {
    let layout = Layout::of(report);
    xml.w
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    xml.start(
        "arf:asset-report-collection",
        &[
            ("xmlns:arf", NS_ARF),
            ("xmlns:core", NS_CORE),
            ("xmlns:ai", NS_AI),
            ("xmlns:xccdf", NS_XCCDF),
        ],
    )?;

    xml.start("core:relationships", &[("xmlns:arfvocab", NS_ARF_VOCAB)])?;
    for (kind, object) in [
        ("arfvocab:createdFor", REQUEST_ID),
        ("arfvocab:isAbout", ASSET_ID),
    ] {
        xml.start(
            "core:relationship",
            &[("type", kind), ("subject", REPORT_ID)],
        )?;
        xml.leaf("core:ref", &[], object)?;
        xml.end("core:relationship")?;
    }
    xml.end("core:relationships")?;

    xml.start("arf:report-requests", &[])?;
    xml.start("arf:report-request", &[("id", REQUEST_ID)])?;
    xml.start("arf:content", &[])?;
    write_benchmark(xml, report, &layout)?;
    xml.end("arf:content")?;
    xml.end("arf:report-request")?;
    xml.end("arf:report-requests")?;

    write_asset(xml, report)?;

    xml.start("arf:reports", &[])?;
    xml.start("arf:report", &[("id", REPORT_ID)])?;
    xml.start("arf:content", &[])?;
    write_test_result(xml, report, &layout)?;
    xml.end("arf:content")?;
    xml.end("arf:report")?;
    xml.end("arf:reports")?;

    xml.end("arf:asset-report-collection")
}

/// Whether a name fits the Asset Identification schema's hostname type
/// (`[\w\-]+(\.[\w\-]+)*`); one that does not is left out rather than making the
/// collection invalid (the TestResult's target still names the host).
fn fits_hostname_type(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

fn write_asset(xml: &mut Xml, report: &Report) -> io::Result<()> {
    let scan = &report.scan;
    xml.start("arf:assets", &[])?;
    xml.start("arf:asset", &[("id", ASSET_ID)])?;
    xml.start("ai:computing-device", &[])?;
    xml.empty(
        "ai:synthetic-id",
        &[("resource", "urn:bulwark:host"), ("id", &scan.host_id)],
    )?;
    if fits_hostname_type(&scan.hostname) {
        // A dotted name is a fully qualified one; its first label is the host name.
        if let Some((short, _)) = scan.hostname.split_once('.') {
            xml.leaf("ai:fqdn", &[], &scan.hostname)?;
            xml.leaf("ai:hostname", &[], short)?;
        } else {
            xml.leaf("ai:hostname", &[], &scan.hostname)?;
        }
    }
    xml.end("ai:computing-device")?;
    xml.end("arf:asset")?;
    xml.end("arf:assets")
}

fn write_benchmark(xml: &mut Xml, report: &Report, layout: &Layout) -> io::Result<()> {
    let scan = &report.scan;
    // The namespace is declared again here, as oscap does, so that the Benchmark can be cut
    // out of the collection and still be a document of its own.
    xml.start(
        "xccdf:Benchmark",
        &[
            ("xmlns:xccdf", NS_XCCDF),
            ("id", &layout.benchmark_id),
            ("resolved", "true"),
            ("xml:lang", "en-US"),
        ],
    )?;
    xml.leaf("xccdf:status", &[], "accepted")?;
    xml.leaf("xccdf:title", &[], &scan.template_name)?;
    xml.leaf(
        "xccdf:description",
        &[],
        &format!(
            "Bulwark template {} (framework {}), as evaluated on {}.",
            scan.template_id, scan.framework, scan.hostname
        ),
    )?;
    // The report carries no template revision.
    xml.leaf("xccdf:version", &[], "1")?;
    xml.start("xccdf:metadata", &[("xmlns:dc", NS_DC)])?;
    xml.leaf("dc:publisher", &[], "Bulwark")?;
    xml.leaf("dc:source", &[], &scan.template_id)?;
    xml.end("xccdf:metadata")?;
    for group in &layout.groups {
        xml.start("xccdf:Group", &[("id", &group.id)])?;
        xml.leaf("xccdf:title", &[], group.title)?;
        for rule in &group.rules {
            write_rule(xml, &rule.id, rule.finding)?;
        }
        xml.end("xccdf:Group")?;
    }
    xml.end("xccdf:Benchmark")
}

fn write_rule(xml: &mut Xml, rule_id: &str, f: &Finding) -> io::Result<()> {
    xml.start(
        "xccdf:Rule",
        &[
            ("id", rule_id),
            ("severity", xccdf_severity(f.severity)),
            ("selected", "true"),
        ],
    )?;
    xml.leaf("xccdf:title", &[], &f.title)?;
    if !f.description.is_empty() {
        xml.leaf("xccdf:description", &[], &f.description)?;
    }
    for r in &f.references {
        if r.starts_with("https://") || r.starts_with("http://") {
            xml.leaf("xccdf:reference", &[("href", r)], r)?;
        } else {
            xml.leaf("xccdf:reference", &[], r)?;
        }
    }
    if !f.rationale.is_empty() {
        xml.leaf("xccdf:rationale", &[], &f.rationale)?;
    }
    for ident in &f.idents {
        xml.leaf("xccdf:ident", &[("system", ident_system(ident))], ident)?;
    }
    if !f.remediation.is_empty() {
        xml.leaf("xccdf:fixtext", &[], &f.remediation)?;
    }
    if let Some(script) = &f.remediation_script {
        // No `system`: a script's language is not recorded, and a wrong one would invite a
        // tool to run it with the wrong interpreter.
        xml.leaf("xccdf:fix", &[], script)?;
    }
    xml.end("xccdf:Rule")
}

fn write_test_result(xml: &mut Xml, report: &Report, layout: &Layout) -> io::Result<()> {
    let scan = &report.scan;
    // end-time is required; a completion time RFC 3339 cannot write (past year 9999) is
    // not one a server records, so the epoch stands in rather than an invalid document.
    let end = when::rfc3339(scan.completed_at).unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    let start = scan.started_at.and_then(when::rfc3339);
    let test_system = format!("cpe:/a:bulwark:bulwark:{}", env!("CARGO_PKG_VERSION"));
    let id = xccdf_id("testresult", &scan.id);
    let mut attrs = vec![("xmlns:xccdf", NS_XCCDF), ("id", id.as_str())];
    if let Some(start) = &start {
        attrs.push(("start-time", start));
    }
    attrs.extend([
        ("end-time", end.as_str()),
        ("version", "1"),
        ("test-system", test_system.as_str()),
    ]);
    xml.start("xccdf:TestResult", &attrs)?;
    let href = format!("#{REQUEST_ID}");
    xml.empty(
        "xccdf:benchmark",
        &[("href", &href), ("id", &layout.benchmark_id)],
    )?;
    xml.leaf(
        "xccdf:title",
        &[],
        &format!("Bulwark scan {} of {}", scan.id, scan.hostname),
    )?;
    xml.leaf("xccdf:target", &[], &scan.hostname)?;

    xml.start("xccdf:target-facts", &[])?;
    let mut facts = vec![
        ("urn:xccdf:fact:scanner:name", "Bulwark"),
        ("urn:xccdf:fact:scanner:version", env!("CARGO_PKG_VERSION")),
        ("urn:xccdf:fact:asset:identifier:host_name", &scan.hostname),
        ("urn:bulwark:fact:host_id", &scan.host_id),
        ("urn:bulwark:fact:os", &scan.os),
        ("urn:bulwark:fact:engine", &scan.engine),
        ("urn:bulwark:fact:template_id", &scan.template_id),
        ("urn:bulwark:fact:framework", &scan.framework),
    ];
    if let Some(risk) = scan.risk {
        facts.push(("urn:bulwark:fact:risk", risk.as_str()));
    }
    if let Some(policy) = &scan.policy_id {
        facts.push(("urn:bulwark:fact:policy_id", policy));
    }
    if let Some(policy) = &scan.policy_name {
        facts.push(("urn:bulwark:fact:policy_name", policy));
    }
    for (name, value) in facts {
        xml.leaf("xccdf:fact", &[("name", name), ("type", "string")], value)?;
    }
    xml.end("xccdf:target-facts")?;
    xml.empty(
        "xccdf:target-id-ref",
        &[("system", NS_AI), ("name", ASSET_ID), ("href", "")],
    )?;

    for rule in layout.groups.iter().flat_map(|g| &g.rules) {
        write_rule_result(xml, &rule.id, rule.finding, &end)?;
    }

    let maximum = score_text(100.0);
    xml.leaf(
        "xccdf:score",
        &[("system", SCORE_XCCDF_DEFAULT), ("maximum", &maximum)],
        &score_text(xccdf_default_score(layout)),
    )?;
    for (system, score) in [
        (SCORE_BULWARK, scan.score),
        (SCORE_BULWARK_WEIGHTED, scan.weighted_score),
    ] {
        if let Some(score) = score {
            xml.leaf(
                "xccdf:score",
                &[("system", system), ("maximum", &maximum)],
                &score_text(score),
            )?;
        }
    }
    xml.end("xccdf:TestResult")
}

fn write_rule_result(xml: &mut Xml, rule_id: &str, f: &Finding, time: &str) -> io::Result<()> {
    xml.start(
        "xccdf:rule-result",
        &[
            ("idref", rule_id),
            ("severity", xccdf_severity(f.severity)),
            ("time", time),
        ],
    )?;
    xml.leaf("xccdf:result", &[], xccdf_result(f.status))?;
    if f.status == Status::Waived {
        write_override(xml, f, time)?;
    }
    for ident in &f.idents {
        xml.leaf("xccdf:ident", &[("system", ident_system(ident))], ident)?;
    }
    let reason_severity = if f.status == Status::Error {
        "error"
    } else {
        "info"
    };
    if let Some(reason) = &f.reason {
        xml.leaf("xccdf:message", &[("severity", reason_severity)], reason)?;
    }
    if let Some(actual) = &f.actual {
        xml.leaf(
            "xccdf:message",
            &[("severity", "info")],
            &format!("actual: {actual}"),
        )?;
    }
    xml.leaf(
        "xccdf:message",
        &[("severity", "info")],
        &format!("expected: {}", f.expected),
    )?;
    xml.end("xccdf:rule-result")
}

/// A waiver as XCCDF records a person's decision about a result. The result stays `fail`,
/// and so does the override's new-result: the schema requires `result` to equal
/// new-result whenever old and new differ, and allows them to be equal "if an authority
/// wished to make a remark on the result without changing it" — which is what a waiver is.
/// An accepted risk is not a met rule, and a SCAP tool reading `pass` would count the host
/// compliant with it. The override's time is the scan's completion, when the server applied
/// the exception.
fn write_override(xml: &mut Xml, f: &Finding, time: &str) -> io::Result<()> {
    let authority = f.waived_by.as_deref().unwrap_or("unknown");
    xml.start(
        "xccdf:override",
        &[("time", time), ("authority", authority)],
    )?;
    xml.leaf("xccdf:old-result", &[], "fail")?;
    xml.leaf("xccdf:new-result", &[], "fail")?;
    let remark = match &f.reason {
        Some(reason) => format!("Waived by {authority}: {reason}"),
        None => format!("Waived by {authority}"),
    };
    xml.leaf("xccdf:remark", &[], &remark)?;
    xml.end("xccdf:override")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sanitized_and_unique() {
        assert_eq!(
            xccdf_id("rule", "ssh.root-login_1"),
            "xccdf_com.bulwark_rule_ssh.root-login_1"
        );
        assert_eq!(
            xccdf_id("rule", "5.2.1 (ssh) é"),
            "xccdf_com.bulwark_rule_5.2.1__ssh___"
        );
        assert_eq!(xccdf_id("rule", ""), "xccdf_com.bulwark_rule__");
        // The clean "a_b" keeps its id although "a b" comes first.
        assert_eq!(
            unique_ids("rule", &["a b", "a_b", "a:b", "a_b_2"]),
            [
                "xccdf_com.bulwark_rule_a_b_3",
                "xccdf_com.bulwark_rule_a_b",
                "xccdf_com.bulwark_rule_a_b_4",
                "xccdf_com.bulwark_rule_a_b_2",
            ]
        );
    }

    #[test]
    fn ident_systems() {
        for (ident, system) in [
            ("CCE-80647-8", "https://nvd.nist.gov/cce/index.cfm"),
            ("CCI-000366", "http://cyber.mil/cci"),
            ("V-238201", "http://cyber.mil/legacy"),
            ("SV-238201r653793_rule", "http://cyber.mil/legacy"),
            ("CIS 5.2.1", "https://www.cisecurity.org/cis-benchmarks"),
            ("something", "urn:bulwark:ident"),
        ] {
            assert_eq!(ident_system(ident), system, "{ident}");
        }
    }

    #[test]
    fn hostname_type() {
        for (name, fits) in [
            ("web-01", true),
            ("web-01.example.com", true),
            ("WIN_SRV", true),
            ("", false),
            ("web 01", false),
            ("a..b", false),
            (".a", false),
        ] {
            assert_eq!(fits_hostname_type(name), fits, "{name:?}");
        }
    }
}
