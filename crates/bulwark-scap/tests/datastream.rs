//! The data stream reader and profile resolution on hand-written fixtures
//! (tests/fixtures/): what is read from a small valid data stream, what each profile selects,
//! and the clear errors for bad input (DTDs, entities, bombs, the wrong document, broken XML).

use std::path::Path;

use bulwark_scap::{
    DataStream, EvalTarget, Piece, ResolvedProfile, ScapError, Severity, ValueOrigin,
    read_datastream,
};

const PREFIX: &str = "xccdf_com.example.bulwark_";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn small() -> DataStream {
    read_datastream(&fixture("small-ds.xml")).expect("small-ds.xml reads")
}

fn resolve(profile: &str) -> ResolvedProfile {
    small().benchmarks()[0]
        .resolve_profile(&format!("{PREFIX}profile_{profile}"))
        .unwrap()
}

/// The selected rules' ids without the common prefix, in the order resolved.
fn short_ids(profile: &ResolvedProfile) -> Vec<&str> {
    profile
        .rules
        .iter()
        .map(|r| r.id.strip_prefix(&format!("{PREFIX}rule_")).unwrap())
        .collect()
}

#[test]
fn reads_the_collection_and_its_streams() {
    let ds = small();
    assert_eq!(
        ds.collection_id(),
        "scap_com.example.bulwark_collection_small"
    );
    let stream = &ds.streams()[0];
    assert_eq!(stream.id, "scap_com.example.bulwark_datastream_small");
    assert_eq!(stream.scap_version.as_deref(), Some("1.3"));
    assert_eq!(
        stream.checklists[0].id,
        "scap_com.example.bulwark_cref_small-xccdf.xml"
    );
    assert_eq!(
        stream.checklists[0].href,
        "#scap_com.example.bulwark_comp_small-xccdf.xml"
    );
    assert_eq!(
        stream.checks[0].id,
        "scap_com.example.bulwark_cref_small-oval.xml"
    );
    assert_eq!(stream.dictionaries.len(), 1);
    assert_eq!(
        ds.eval_target(&format!("{PREFIX}benchmark_small")),
        Some(EvalTarget {
            datastream_id: "scap_com.example.bulwark_datastream_small".into(),
            xccdf_id: "scap_com.example.bulwark_cref_small-xccdf.xml".into(),
        })
    );
    assert_eq!(ds.eval_target("xccdf_no_such_benchmark"), None);
    let cpes: Vec<(&str, Option<&str>)> = ds
        .cpe_dictionary()
        .iter()
        .map(|c| (c.name.as_str(), c.title.as_deref()))
        .collect();
    assert_eq!(
        cpes,
        [
            (
                "cpe:/o:canonical:ubuntu_linux:22.04::~~lts~~~",
                Some("Ubuntu 22.04 LTS")
            ),
            ("cpe:/o:debian:debian_linux:12", Some("Debian 12")),
        ]
    );
}

#[test]
fn the_digest_is_the_sha256_of_the_bytes() {
    let tiny = r#"<ds:data-stream-collection xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2" id="c"><ds:component id="comp"><x:Benchmark xmlns:x="http://checklists.nist.gov/xccdf/1.2" id="b"/></ds:component></ds:data-stream-collection>"#;
    // As `sha256sum` prints it.
    assert_eq!(
        read_datastream(tiny.as_bytes()).unwrap().digest(),
        "b367f349b7fae375ffaa831e5b6b3953df4a15640cbabaaced9640f62b8c7d30"
    );
    let with_newline = format!("{tiny}\n");
    assert_ne!(
        read_datastream(with_newline.as_bytes()).unwrap().digest(),
        read_datastream(tiny.as_bytes()).unwrap().digest()
    );
}

#[test]
fn reads_the_benchmark() {
    let ds = small();
    let benchmark = &ds.benchmarks()[0];
    assert_eq!(benchmark.id, format!("{PREFIX}benchmark_small"));
    assert_eq!(
        benchmark.component_id,
        "scap_com.example.bulwark_comp_small-xccdf.xml"
    );
    assert_eq!(benchmark.title, "Small Benchmark for Ubuntu & Debian");
    assert_eq!(benchmark.version.as_deref(), Some("1.2.3"));
    assert_eq!(
        benchmark.status.as_deref(),
        Some("accepted"),
        "the latest status"
    );
    assert_eq!(
        benchmark.render(&benchmark.description),
        "A benchmark with just enough in it.\nSee the guide (https://example.org/guide)."
    );
    // `#debian_family` expands into the CPE names its logical tests mention.
    assert_eq!(
        benchmark.platforms,
        [
            "cpe:/o:canonical:ubuntu_linux:22.04::~~lts~~~",
            "cpe:/o:debian:debian_linux:12"
        ]
    );
    assert_eq!(benchmark.cpe_platforms[0].id, "debian_family");
    assert_eq!(
        benchmark.cpe_platforms[0].title.as_deref(),
        Some("Debian family")
    );

    let profiles: Vec<(&str, &str, Option<&str>)> = benchmark
        .profiles()
        .iter()
        .map(|p| (p.id.as_str(), p.title.as_str(), p.extends.as_deref()))
        .collect();
    let base = format!("{PREFIX}profile_base");
    assert_eq!(
        profiles,
        [
            (base.as_str(), "Base", None),
            (
                format!("{PREFIX}profile_strict").as_str(),
                "Strict",
                Some(base.as_str())
            ),
            (format!("{PREFIX}profile_no_ssh").as_str(), "No SSH", None),
        ]
    );

    let groups: Vec<(&str, Option<usize>, bool)> = benchmark
        .groups()
        .iter()
        .map(|g| (g.title.as_str(), g.parent, g.selected))
        .collect();
    assert_eq!(
        groups,
        [
            ("System Settings", None, true),
            ("Account and Access Control", Some(0), true),
            ("System Accounting with auditd", Some(0), false),
            ("Services", None, true),
            ("SSH Server", Some(3), true),
        ]
    );
    assert_eq!(benchmark.rules().len(), 6);
    assert_eq!(benchmark.values().len(), 2);
}

#[test]
fn reads_a_rule_in_full() {
    let ds = small();
    let benchmark = &ds.benchmarks()[0];
    let rule = benchmark.rule(&format!("{PREFIX}rule_max_days")).unwrap();
    assert!(!rule.selected);
    assert_eq!(rule.severity, Severity::Medium);
    assert_eq!(rule.title, "Set Password Maximum Age");
    assert_eq!(
        benchmark.render(&rule.description),
        "Edit /etc/login.defs\nand add or correct the following line:\n\nPASS_MAX_DAYS 90\n\nThe profile requirement is 90 days <= 365."
    );
    let value_id = format!("{PREFIX}value_max_days");
    assert_eq!(
        rule.description.substitutions().collect::<Vec<_>>(),
        [value_id.as_str(), value_id.as_str()]
    );
    assert_eq!(
        benchmark.render(&rule.rationale),
        "Passwords that never change\n\n- leak\n- get guessed"
    );
    assert_eq!(
        benchmark.render(&rule.fixtexts[0]),
        "Set PASS_MAX_DAYS to 90."
    );
    assert_eq!(
        rule.fixes[0].system.as_deref(),
        Some("urn:xccdf:fix:script:sh")
    );
    assert_eq!(rule.fixes[0].id.as_deref(), Some("max_days"));
    assert_eq!(rule.fixes[0].disruption.as_deref(), Some("low"));
    assert!(rule.fixes[0].reboot);
    assert_eq!(
        benchmark.render(&rule.fixes[0].text),
        "var='90'\ngrep -q ^PASS_MAX_DAYS /etc/login.defs && sed -i \"s/^PASS_MAX_DAYS.*/PASS_MAX_DAYS $var/\" /etc/login.defs\n"
    );
    assert_eq!(rule.cces().collect::<Vec<_>>(), ["CCE-80647-8"]);
    assert_eq!(rule.idents[1].system, "http://cyber.mil/legacy");
    assert_eq!(rule.idents[1].id, "SV-1234");
    let references: Vec<(Option<&str>, &str)> = rule
        .references
        .iter()
        .map(|r| (r.href.as_deref(), r.text.as_str()))
        .collect();
    assert_eq!(
        references,
        [
            (
                Some("https://www.cisecurity.org/benchmark/ubuntu_linux/"),
                "5.4.1.1"
            ),
            (Some("https://public.cyber.mil/stigs/cci/"), "CCI-000199"),
        ]
    );
    let oval = rule.oval_check().unwrap();
    assert_eq!(oval.href, "small-oval.xml");
    assert_eq!(oval.name.as_deref(), Some("oval:com.example.bulwark:def:1"));
    assert_eq!(rule.checks[0].exports[0].value_id, value_id);
    assert_eq!(
        rule.checks[0].exports[0].export_name,
        "oval:com.example.bulwark:var:1"
    );
    let path: Vec<&str> = benchmark
        .group_path(rule.group)
        .iter()
        .map(|g| g.title.as_str())
        .collect();
    assert_eq!(path, ["System Settings", "Account and Access Control"]);

    let min_days = benchmark.rule(&format!("{PREFIX}rule_min_days")).unwrap();
    assert!(
        min_days.selected,
        "selected is true when the attribute is absent"
    );
    let telnet = benchmark.rule(&format!("{PREFIX}rule_no_telnet")).unwrap();
    assert_eq!(telnet.title, "Remove telnet <server>", "CDATA is text");
    assert_eq!(telnet.severity, Severity::Unknown);
    let root_login = benchmark
        .rule(&format!("{PREFIX}rule_ssh_root_login"))
        .unwrap();
    assert_eq!(
        benchmark.render(&root_login.description),
        "Set PermitRootLogin no in /etc/ssh/sshd_config."
    );
}

#[test]
fn reads_values_with_their_options() {
    let ds = small();
    let value = ds.benchmarks()[0]
        .value(&format!("{PREFIX}value_max_days"))
        .unwrap();
    assert_eq!(value.value_type, "number");
    assert_eq!(value.default.as_deref(), Some("90"));
    let options: Vec<(&str, &str)> = value
        .options
        .iter()
        .map(|o| (o.selector.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(options, [("60", "60"), ("180", "180")]);
    assert_eq!(value.value_for(Some("60")), Some("60"));
    assert_eq!(value.value_for(Some("nope")), Some("90"));
    assert_eq!(value.value_for(None), Some("90"));
}

#[test]
fn profiles_select_rules_through_the_group_tree() {
    // Checked against `oscap xccdf generate guide --profile ..` on the same fixture.
    let cases: [(&str, &[&str]); 3] = [
        // Its own selects, plus min_days (selected by default); auditd_installed is selected
        // by default but its group is not.
        (
            "base",
            &["max_days", "min_days", "ssh_root_login", "no_telnet"],
        ),
        // Base's selects, then its own: the audit group on, telnet off, ciphers on.
        (
            "strict",
            &[
                "max_days",
                "min_days",
                "auditd_installed",
                "ssh_root_login",
                "ssh_ciphers",
            ],
        ),
        // A selected rule inside a deselected group stays out.
        ("no_ssh", &["min_days"]),
    ];
    for (profile, expected) in cases {
        assert_eq!(short_ids(&resolve(profile)), expected, "profile {profile}");
    }
}

#[test]
fn resolved_rules_read_with_the_profiles_values() {
    let cases = [
        (
            "base",
            "180",
            ValueOrigin::Selector {
                selector: "180".into(),
                matched: true,
            },
        ),
        (
            "strict",
            "60",
            ValueOrigin::Selector {
                selector: "60".into(),
                matched: true,
            },
        ),
        (
            "no_ssh",
            "90",
            ValueOrigin::Selector {
                selector: "no-such-selector".into(),
                matched: false,
            },
        ),
    ];
    for (profile, days, origin) in cases {
        let resolved = resolve(profile);
        let max_days = resolved
            .values
            .iter()
            .find(|v| v.id == format!("{PREFIX}value_max_days"))
            .unwrap_or_else(|| panic!("{profile}: max_days is refined, so it is listed"));
        assert_eq!(max_days.value, days, "{profile}");
        assert_eq!(max_days.origin, origin, "{profile}");
        if let Some(rule) = resolved.rules.iter().find(|r| r.id.ends_with("max_days")) {
            assert!(
                rule.description
                    .contains(&format!("PASS_MAX_DAYS {days}\n"))
            );
            assert_eq!(
                rule.fixtext.as_deref(),
                Some(format!("Set PASS_MAX_DAYS to {days}.").as_str())
            );
            assert!(rule.fixes[0].text.starts_with(&format!("var='{days}'\n")));
        }
    }

    let strict = resolve("strict");
    assert_eq!(strict.title, "Strict");
    let ciphers = strict
        .values
        .iter()
        .find(|v| v.id.ends_with("ssh_ciphers"))
        .unwrap();
    assert_eq!(
        (ciphers.value.as_str(), &ciphers.origin),
        ("aes256-ctr", &ValueOrigin::Set)
    );
    let rule = strict
        .rules
        .iter()
        .find(|r| r.id.ends_with("ssh_ciphers"))
        .unwrap();
    assert_eq!(rule.description, "Ciphers aes256-ctr.");
    assert_eq!(rule.category(), Some("Services"));
    let groups: Vec<&str> = rule.groups.iter().map(|g| g.title.as_str()).collect();
    assert_eq!(groups, ["Services", "SSH Server"]);
    let min_days = strict
        .rules
        .iter()
        .find(|r| r.id.ends_with("min_days"))
        .unwrap();
    assert_eq!(min_days.severity, Severity::High, "refine-rule raises it");

    // Base selects no rule that uses the ciphers value and does not set it.
    assert!(
        !resolve("base")
            .values
            .iter()
            .any(|v| v.id.ends_with("ssh_ciphers"))
    );
}

#[test]
fn unknown_profiles_list_the_available_ones() {
    let ds = small();
    let error = ds.benchmarks()[0].resolve_profile("cis").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "unknown profile \"cis\"; available profiles: {PREFIX}profile_base, {PREFIX}profile_strict, {PREFIX}profile_no_ssh"
        )
    );
}

/// A data stream around a benchmark body, for the cases a fixture file would be overkill for.
fn with_benchmark(body: &str) -> String {
    format!(
        r#"<ds:data-stream-collection xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2" id="c">
  <ds:component id="comp" timestamp="2026-01-05T10:00:00">
    <x:Benchmark xmlns:x="http://checklists.nist.gov/xccdf/1.2" id="b">
{body}
    </x:Benchmark>
  </ds:component>
</ds:data-stream-collection>"#
    )
}

#[test]
fn extends_chains_must_end() {
    let cases = [
        (
            r#"<x:Profile id="a" extends="b"><x:title>A</x:title></x:Profile>"#,
            "profile \"a\" extends \"b\", which is not a profile of this benchmark",
        ),
        (
            r#"<x:Profile id="a" extends="b"><x:title>A</x:title></x:Profile>
               <x:Profile id="b" extends="c"><x:title>B</x:title></x:Profile>
               <x:Profile id="c" extends="a"><x:title>C</x:title></x:Profile>"#,
            "profile \"a\" extends itself through a -> b -> c -> a",
        ),
    ];
    for (body, expected) in cases {
        let ds = read_datastream(with_benchmark(body).as_bytes()).unwrap();
        let error = ds.benchmarks()[0].resolve_profile("a").unwrap_err();
        assert_eq!(error.to_string(), expected);
    }
}

#[test]
fn a_select_may_name_a_cluster() {
    let body = r#"<x:Profile id="p"><x:title>P</x:title><x:select idref="ssh" selected="true"/></x:Profile>
        <x:Rule id="r1" selected="false" cluster-id="ssh"><x:title>1</x:title></x:Rule>
        <x:Rule id="r2" selected="false"><x:title>2</x:title></x:Rule>
        <x:Rule id="r3" selected="false" cluster-id="ssh"><x:title>3</x:title></x:Rule>"#;
    let ds = read_datastream(with_benchmark(body).as_bytes()).unwrap();
    let ids: Vec<String> = ds.benchmarks()[0]
        .resolve_profile("p")
        .unwrap()
        .rules
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["r1", "r3"]);
}

#[test]
fn sub_holes_survive_serialization() {
    let ds = small();
    let json = serde_json::to_string(&ds).unwrap();
    let back: DataStream = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ds);
    let rule = back.benchmarks()[0]
        .rule(&format!("{PREFIX}rule_ssh_ciphers"))
        .unwrap();
    assert_eq!(
        rule.description.pieces[1],
        Piece::Sub(format!("{PREFIX}value_ssh_ciphers"))
    );
}

fn refused(input: &[u8]) -> String {
    match read_datastream(input) {
        Ok(_) => panic!("read without an error"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let cases = [
        ("dtd.xml", "DTDs are refused (line 3)"),
        ("billion-laughs.xml", "DTDs are refused (line 2)"),
        ("external-entity.xml", "DTDs are refused (line 3)"),
        (
            "undeclared-entity.xml",
            "entity &lol9; is refused (line 5): only the predefined XML entities and character references are expanded",
        ),
        (
            "not-a-datastream.xml",
            "not an SCAP source data stream: the root element is <xccdf:Benchmark>, expected ds:data-stream-collection",
        ),
        (
            "rule-without-id.xml",
            "<xccdf:Rule> (line 8) has no id attribute",
        ),
    ];
    for (file, expected) in cases {
        assert_eq!(refused(&fixture(file)), expected, "{file}");
    }
}

#[test]
fn malformed_xml_names_its_line() {
    let message = refused(&fixture("malformed.xml"));
    assert!(
        message.starts_with("malformed XML (line 10): "),
        "{message}"
    );
    assert!(message.contains("titel"), "{message}");
}

#[test]
fn odd_input_is_refused_with_a_clear_error() {
    let ds_open = r#"<ds:data-stream-collection xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2" id="c">"#;
    let deep = format!(
        "{ds_open}\n<ds:component id=\"x\">{}",
        "<a>".repeat(100_000)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"".to_vec(),
            "malformed XML (line 1): the document has no root element",
        ),
        (
            b"   \n  ".to_vec(),
            "malformed XML (line 2): the document has no root element",
        ),
        (
            b"<html><body/></html>".to_vec(),
            "not an SCAP source data stream: the root element is <html>, expected ds:data-stream-collection",
        ),
        (
            br#"<data-stream-collection id="c"/>"#.to_vec(),
            "not an SCAP source data stream: the root element is <data-stream-collection>, expected ds:data-stream-collection",
        ),
        (
            format!("{ds_open}\n</ds:data-stream-collection>").into_bytes(),
            "the data stream holds no XCCDF 1.2 benchmark",
        ),
        (
            format!("{ds_open}\n<ds:component id=\"x\">").into_bytes(),
            "malformed XML (line 2): the document ends with 2 element(s) still open",
        ),
        (
            deep.into_bytes(),
            "malformed XML (line 2): elements nested deeper than 256 levels",
        ),
        (
            format!("{ds_open}</ds:data-stream-collection>\n<again/>").into_bytes(),
            "malformed XML (line 2): content after the root element",
        ),
        (b"<a>\n\xff</a>".to_vec(), "input is not UTF-8 (line 2)"),
        (
            with_benchmark(r#"<x:Rule id="r" severity="severe"/>"#).into_bytes(),
            "invalid severity of <x:Rule> \"severe\" (line 4)",
        ),
        (
            with_benchmark(r#"<x:Rule id="r" selected="yes"/>"#).into_bytes(),
            "invalid selected attribute of <x:Rule> \"yes\" (line 4)",
        ),
        (
            with_benchmark(r#"<x:Rule id="&bomb;"/>"#).into_bytes(),
            "entity &bomb; is refused (line 4): only the predefined XML entities and character references are expanded",
        ),
        (
            with_benchmark(r#"<x:Profile id="p"><x:select idref="r"/></x:Profile>"#).into_bytes(),
            "<x:select> (line 4) has no selected attribute",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            refused(&input),
            expected,
            "for {:?}",
            String::from_utf8_lossy(&input[..input.len().min(120)])
        );
    }
}

#[test]
fn other_errors_are_scap_errors_too() {
    let error = read_datastream(b"<a/>").unwrap_err();
    assert!(matches!(error, ScapError::NotADataStream { .. }));
}

#[test]
fn no_input_makes_the_reader_panic() {
    // Every truncation of a valid data stream, and stray end tags: errors, never panics.
    let whole = fixture("small-ds.xml");
    for end in (0..whole.len()).step_by(5) {
        let _ = read_datastream(&whole[..end]);
    }
    for input in [
        "</a>",
        "<a></a></b>",
        "</ds:data-stream-collection>",
        "<a><b></a></b>",
    ] {
        assert!(read_datastream(input.as_bytes()).is_err(), "{input}");
    }
}

/// A file of thousands of profiles, or of a long `extends` chain, is refused while it is read,
/// in time proportional to its size rather than to the cube of its profile count.
#[test]
fn profile_counts_and_chains_are_bounded() {
    let chain = |n: usize| {
        (0..n)
            .map(|i| match i {
                0 => r#"<x:Profile id="p0"><x:title>P</x:title></x:Profile>"#.to_owned(),
                i => format!(
                    r#"<x:Profile id="p{i}" extends="p{}"><x:title>P</x:title></x:Profile>"#,
                    i - 1
                ),
            })
            .collect::<String>()
    };
    let started = std::time::Instant::now();
    let error = read_datastream(with_benchmark(&chain(6000)).as_bytes())
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(error.contains("more than 500 profiles"), "{error}");
    let error = read_datastream(with_benchmark(&chain(40)).as_bytes())
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(error.contains("chain of more than 32 profiles"), "{error}");
    // Within the bounds, every profile of a 32-long chain resolves.
    let ds = read_datastream(with_benchmark(&chain(32)).as_bytes()).unwrap();
    let benchmark = &ds.benchmarks()[0];
    for i in 0..32 {
        benchmark.resolve_profile(&format!("p{i}")).unwrap();
    }
    println!(
        "6000 chained profiles refused and 40 checked in {:?}",
        started.elapsed()
    );
}

/// A template made of a profile keeps each rule's shell fix with the data stream's own
/// judgement of it: how disruptive it is and whether it needs a reboot.
#[test]
fn a_profile_template_keeps_the_fix_with_its_disruption_and_reboot() {
    let template =
        bulwark_scap::profile_template(&small(), &format!("{PREFIX}profile_base"), "small-ds.xml")
            .unwrap();
    let check = template
        .checks
        .iter()
        .find(|c| c.id == format!("{PREFIX}rule_max_days"))
        .unwrap();
    let fix = &check.remediation;
    assert!(fix.script.as_deref().unwrap().contains("PASS_MAX_DAYS"));
    assert_eq!(fix.disruption, Some(bulwark_core::Disruption::Low));
    assert!(fix.reboot);
}
