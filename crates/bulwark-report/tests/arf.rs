//! The ARF output without oscap: well-formed XML 1.0 whatever the scan holds (parsed back
//! with quick-xml), values that read back exactly, and the ids and results it writes.

mod common;

use bulwark_core::{Severity, Status};
use bulwark_report::{Report, arf};
use common::{HOSTILE, finding, report};
use proptest::prelude::*;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

/// XML 1.0's Char production.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || ('\u{20}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}'
}

/// What the tests read from a document.
#[derive(Default)]
struct Doc {
    /// `(element, text)` of every element with non-blank text, in document order.
    texts: Vec<(String, String)>,
    /// `(element, attribute, value)`, in document order.
    attrs: Vec<(String, String, String)>,
}

impl Doc {
    fn texts_of(&self, element: &str) -> Vec<&str> {
        self.texts
            .iter()
            .filter(|(e, _)| e == element)
            .map(|(_, t)| t.as_str())
            .collect()
    }

    fn attrs_of(&self, element: &str, attribute: &str) -> Vec<&str> {
        self.attrs
            .iter()
            .filter(|(e, a, _)| e == element && a == attribute)
            .map(|(_, _, v)| v.as_str())
            .collect()
    }

    /// idref → result of every rule-result.
    fn results(&self) -> Vec<(&str, &str)> {
        let idrefs = self.attrs_of("xccdf:rule-result", "idref");
        let results = self.texts_of("xccdf:result");
        assert_eq!(idrefs.len(), results.len());
        idrefs.into_iter().zip(results).collect()
    }
}

/// Parses the whole document with quick-xml (end tags must match their start), after
/// checking that every character is one XML 1.0 allows (quick-xml does not check that).
fn parse(xml: &str) -> Doc {
    if let Some(c) = xml.chars().find(|c| !xml_char(*c)) {
        panic!("{c:?} is not allowed in XML 1.0");
    }
    let mut reader = Reader::from_str(xml);
    let mut doc = Doc::default();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let attributes = |doc: &mut Doc, e: &quick_xml::events::BytesStart| {
        let name = e.name().as_ref().to_string();
        for a in e.attributes() {
            let a = a.expect("well-formed attribute");
            doc.attrs.push((
                name.clone(),
                a.key.as_ref().to_string(),
                a.normalized_value(XmlVersion::Explicit1_0)
                    .expect("escaped value")
                    .into_owned(),
            ));
        }
        name
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                stack.push(attributes(&mut doc, &e));
                text.clear();
            }
            Event::Empty(e) => {
                attributes(&mut doc, &e);
            }
            Event::End(_) => {
                let name = stack.pop().expect("balanced");
                if !text.trim().is_empty() {
                    doc.texts.push((name, std::mem::take(&mut text)));
                }
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                Some(c) => text.push(c),
                None => text.push_str(resolve_predefined_entity(&r).expect("a predefined entity")),
            },
            Event::DocType(_) => panic!("no DTD"),
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "elements left open: {stack:?}");
    doc
}

#[test]
fn well_formed_and_values_read_back() {
    let doc = parse(&arf(&report()));
    assert!(doc.texts_of("xccdf:title").contains(&HOSTILE));
    assert!(doc.texts_of("xccdf:description").contains(&HOSTILE));
    assert!(
        doc.texts_of("xccdf:message")
            .contains(&format!("actual: {HOSTILE}").as_str())
    );
    // Evidence with control characters is kept, written visibly.
    assert!(
        doc.texts_of("xccdf:message")
            .contains(&r"actual: ciphers: aes128-cbc\u{1b}[0m\u{0}")
    );
}

#[test]
fn rule_ids_and_results() {
    use Severity::*;
    use Status::*;
    // (check id, status, rule id written, XCCDF result)
    let cases = [
        (
            "ssh-root-login",
            Fail,
            "xccdf_com.bulwark_rule_ssh-root-login",
            "fail",
        ),
        (
            "cis.5.2.1",
            Pass,
            "xccdf_com.bulwark_rule_cis.5.2.1",
            "pass",
        ),
        (
            "broken probe",
            Error,
            "xccdf_com.bulwark_rule_broken_probe_2",
            "error",
        ),
        (
            "broken_probe",
            Skip,
            "xccdf_com.bulwark_rule_broken_probe",
            "notapplicable",
        ),
        (
            "telnet:server",
            Waived,
            "xccdf_com.bulwark_rule_telnet_server",
            "fail",
        ),
        ("ü/é", Pass, "xccdf_com.bulwark_rule____", "pass"),
        ("", Fail, "xccdf_com.bulwark_rule__", "fail"),
    ];
    let r = Report {
        findings: cases
            .iter()
            .map(|(id, status, _, _)| finding(id, Medium, *status))
            .collect(),
        ..report()
    };
    let doc = parse(&arf(&r));
    let expected: Vec<(&str, &str)> = cases.iter().map(|(_, _, id, res)| (*id, *res)).collect();
    assert_eq!(doc.results(), expected);
    // Every rule-result names a Rule of the Benchmark.
    assert_eq!(
        doc.attrs_of("xccdf:Rule", "id"),
        cases.iter().map(|c| c.2).collect::<Vec<_>>()
    );
}

#[test]
fn waiver_is_an_override_that_keeps_the_failure() {
    let doc = parse(&arf(&report()));
    assert_eq!(
        doc.attrs_of("xccdf:override", "authority"),
        ["alice@example.com"]
    );
    assert_eq!(
        doc.attrs_of("xccdf:override", "time"),
        ["2026-01-05T10:01:02Z"]
    );
    assert_eq!(doc.texts_of("xccdf:old-result"), ["fail"]);
    assert_eq!(doc.texts_of("xccdf:new-result"), ["fail"]);
    assert_eq!(
        doc.texts_of("xccdf:remark"),
        ["Waived by alice@example.com: exception EX-12: legacy device, until 2026-06-30"]
    );
    assert!(
        doc.results()
            .contains(&("xccdf_com.bulwark_rule_waived-high", "fail"))
    );
}

#[test]
fn scores() {
    // (plain, weighted) → score elements by system
    let doc = parse(&arf(&report()));
    assert_eq!(
        doc.attrs_of("xccdf:score", "system"),
        [
            "urn:xccdf:scoring:default",
            "urn:bulwark:scoring:plain",
            "urn:bulwark:scoring:weighted"
        ]
    );
    assert_eq!(doc.attrs_of("xccdf:score", "maximum"), ["100.000000"; 3]);
    // XCCDF's default model: SSH group 2 of 7 scored rules pass (the skip is left out,
    // error and waived count as failures), Cryptography 1 of 2: (28.571429 + 50) / 2.
    assert_eq!(
        doc.texts_of("xccdf:score"),
        ["39.285714", "42.860000", "42.420000"]
    );

    let mut r = report();
    r.scan.score = None;
    r.scan.weighted_score = None;
    r.findings = vec![finding("n/a", Severity::Low, Status::Skip)];
    let doc = parse(&arf(&r));
    assert_eq!(
        doc.attrs_of("xccdf:score", "system"),
        ["urn:xccdf:scoring:default"]
    );
    assert_eq!(doc.texts_of("xccdf:score"), ["0.000000"]);
}

#[test]
fn severities_and_idents() {
    let doc = parse(&arf(&report()));
    let severity = |id: &str| {
        let rules = doc.attrs_of("xccdf:Rule", "id");
        let at = rules.iter().position(|r| *r == id).unwrap();
        doc.attrs_of("xccdf:Rule", "severity")[at].to_string()
    };
    // XCCDF has no critical.
    assert_eq!(severity("xccdf_com.bulwark_rule_fail-critical"), "high");
    assert_eq!(severity("xccdf_com.bulwark_rule_skip-info"), "info");
    assert_eq!(
        doc.attrs_of("xccdf:ident", "system"),
        [
            "https://nvd.nist.gov/cce/index.cfm",
            "http://cyber.mil/legacy",
            "https://nvd.nist.gov/cce/index.cfm",
            "http://cyber.mil/legacy"
        ],
        "in the Rule and again in its rule-result"
    );
}

#[test]
fn asset_names() {
    // (hostname, fqdn written, hostname written)
    let cases: [(&str, Option<&str>, Option<&str>); 4] = [
        (
            "web-01.example.com",
            Some("web-01.example.com"),
            Some("web-01"),
        ),
        ("WEB01", None, Some("WEB01")),
        ("web 01", None, None),
        ("", None, None),
    ];
    for (hostname, fqdn, short) in cases {
        let mut r = report();
        r.scan.hostname = hostname.into();
        let doc = parse(&arf(&r));
        assert_eq!(
            doc.texts_of("ai:fqdn").first().copied(),
            fqdn,
            "{hostname:?}"
        );
        assert_eq!(
            doc.texts_of("ai:hostname").first().copied(),
            short,
            "{hostname:?}"
        );
        assert_eq!(doc.attrs_of("ai:synthetic-id", "id"), ["host-7"]);
    }
}

proptest! {
    #[test]
    fn any_text_makes_a_well_formed_document(
        title in any::<String>(),
        actual in any::<String>(),
        hostname in any::<String>(),
        check_id in any::<String>(),
        waived_by in any::<String>(),
    ) {
        let mut r = report();
        r.scan.hostname = hostname;
        r.findings[3].title = title.clone();
        r.findings[3].actual = Some(actual);
        r.findings[3].check_id = check_id;
        r.findings[3].waived_by = Some(waived_by);
        let doc = parse(&arf(&r));
        let printable = |c: char| {
            (!c.is_control() || matches!(c, '\t' | '\n' | '\r'))
                && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
        };
        if title.chars().all(printable) && !title.trim().is_empty() {
            // Text without control characters reads back exactly (a carriage return too:
            // it is written as a character reference, which XML does not normalize).
            prop_assert!(doc.texts_of("xccdf:title").contains(&title.as_str()));
        }
    }
}
