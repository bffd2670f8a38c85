//! SCAP end to end with real processes and the real scanner: a data stream imported through
//! the API, bound to a policy, scanned by `bulwark-agent` with `oscap-chroot` on an Ubuntu
//! 22.04 fixture root; the server's per-rule results must agree rule by rule with oscap's own
//! report of the ARF it wrote for that run, and the scan's reports download in every format.
//! Needs root (oscap-chroot's probes call chroot) and the Debian packages openscap-scanner
//! and openscap-utils; `BULWARK_SKIP_SCAP=1` skips it where they cannot be had.

mod support;

#[path = "../../bulwark-scap/tests/common/mod.rs"]
mod scap_common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use bulwark_core::template::TestCase;
use bulwark_engine::fixture::FixtureRoot;
use serde_json::{Value, json};
use support::{agent_binary, bulwark, eventually, field, serve};

/// A small data stream with real OVAL checks giving pass, fail, notapplicable, notchecked and
/// error (bulwark-scap's fixture).
const SMALL: (&str, &str) = (
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bulwark-scap/tests/fixtures/arf-source-ds.xml"
    ),
    "xccdf_com.example.bulwark_profile_all",
);
/// The SCAP Security Guide's Ubuntu 22.04 data stream and its CIS Level 1 Server profile
/// (Debian package ssg-debderived): 189 rules, a 15 MB ARF.
const SSG_CIS: (&str, &str) = (
    "/usr/share/xml/scap/ssg/content/ssg-ubuntu2204-ds.xml",
    "xccdf_org.ssgproject.content_profile_cis_level1_server",
);

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ubuntu_root() -> FixtureRoot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/hosts/ubuntu2204.yaml");
    let case: TestCase = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let root = FixtureRoot::new(&case).unwrap();
    // SSG-style platform checks read lsb-release to recognise Ubuntu.
    std::fs::write(
        root.path().join("etc/lsb-release"),
        "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n",
    )
    .unwrap();
    root
}

/// `(rule id, result)` rows of oscap's own HTML report of an ARF (it leaves notselected out).
fn oscaps_view(arf: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("arf.xml");
    std::fs::write(&file, arf).unwrap();
    let html = scap_common::run_ok(
        "oscap",
        &["xccdf", "generate", "report", file.to_str().unwrap()],
        "openscap-scanner",
    )
    .expect("oscap reads the ARF");
    scap_common::report_results(&html)
}

/// The XCCDF result a Bulwark status stands for, as oscap's report spells it.
fn xccdf_spelling(status: &str) -> &str {
    match status {
        "skip" => "notapplicable",
        "not_checked" => "notchecked",
        "not_selected" => "notselected",
        other => other,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_data_stream_scanned_by_oscap_agrees_with_oscap() {
    scan_agrees_with_oscap(SMALL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssg_cis_level1_scanned_by_oscap_agrees_with_oscap() {
    if scap_common::ssg_file("ssg-ubuntu2204-ds.xml", "ssg-debderived").is_none() {
        return;
    }
    scan_agrees_with_oscap(SSG_CIS).await;
}

/// Imports `profile` of the data stream at `file`, scans the Ubuntu fixture root through an
/// agent, and compares the server's results with oscap's own report of the run's ARF.
async fn scan_agrees_with_oscap((file, profile): (&str, &str)) {
    if scap_common::skipping() {
        return;
    }
    assert!(
        scap_common::is_root(),
        "oscap-chroot must run as root (its probes call chroot(2)); run as root or set BULWARK_SKIP_SCAP=1"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/bulwark.db", dir.path().display());
    let admin = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["admin", "--database-url", db.as_str()];
        all.extend_from_slice(args);
        bulwark(&all, stdin)
    };
    let org = admin(&["org", "create", "--name", "Acme"], None);
    let org_id = field(&org, "org_id");
    admin(
        &["user", "create", "--username", "root", "--role", "admin"],
        Some("a long enough password\n"),
    );
    let token = field(
        &admin(&["token", "create", "--user", "root"], None),
        "token",
    );
    let (_server, url) = serve(&db);
    let http = reqwest::Client::new();
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{url}{path}"))
            .bearer_auth(&token)
    };

    let datastream = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let file_name = Path::new(file).file_name().unwrap().to_str().unwrap();
    let imported: Value = api(
        reqwest::Method::POST,
        &format!("/api/v1/compliance/templates/import-scap?profile={profile}&org_id={org_id}&file_name={file_name}"),
    )
    .header("content-type", "application/xml")
    .body(datastream)
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let template_id = imported["template"]["id"]
        .as_str()
        .expect("imported")
        .to_owned();

    let root = ubuntu_root();
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let config = agent_dir.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "server_url = {url:?}\norg_secret = {:?}\nstate_dir = {:?}\nroot = {:?}\n",
            field(&org, "enrollment_secret"),
            agent_dir.join("state").display().to_string(),
            root.path().display().to_string()
        ),
    )
    .unwrap();
    let _agent = Agent(
        Command::new(agent_binary())
            .args(["run", "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(agent_dir.join("agent.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let host: Value = eventually(60, "the agent's host to be online", || async {
        let hosts: Value = api(reqwest::Method::GET, "/api/v1/hosts?status=online")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        hosts.as_array()?.first().cloned()
    })
    .await;
    let policy: Value = api(reqwest::Method::POST, "/api/v1/compliance/policies")
        .json(
            &json!({"org_id": org_id, "name": "SCAP", "os_type": "linux",
                      "template_id": template_id, "scan_interval_hours": 24}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scan: Value = api(reqwest::Method::POST, "/api/v1/compliance/scans")
        .json(&json!({"policy_id": policy["id"], "host_id": host["id"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scan_id = scan["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{scan}"))
        .to_owned();
    let done: Value = eventually(300, "the oscap scan to complete", || async {
        let s: Value = api(
            reqwest::Method::GET,
            &format!("/api/v1/compliance/scans/{scan_id}"),
        )
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
        assert_ne!(s["status"], "failed", "the scan failed: {s}");
        (s["status"] == "completed").then_some(s)
    })
    .await;
    assert!(done["score"].is_number(), "{done}");

    let results: Value = api(
        reqwest::Method::GET,
        &format!("/api/v1/compliance/scans/{scan_id}/results"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let report = |format: &str| {
        api(
            reqwest::Method::GET,
            &format!("/api/v1/compliance/scans/{scan_id}/report?format={format}"),
        )
    };
    let arf = report("arf").send().await.unwrap().text().await.unwrap();
    let oscap = oscaps_view(&arf);
    assert!(!oscap.is_empty(), "oscap's report lists rules");
    let mut ours: Vec<(String, String)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["check_id"].as_str().unwrap().to_owned(),
                xccdf_spelling(r["status"].as_str().unwrap()).to_owned(),
            )
        })
        .filter(|(_, status)| status != "notselected")
        .collect();
    // Results are listed failures first; oscap lists rules by id.
    ours.sort();
    let mut oscap_sorted = oscap.clone();
    oscap_sorted.sort();
    assert_eq!(ours, oscap_sorted, "every rule as oscap itself reports it");
    let statuses: Vec<&str> = ours.iter().map(|(_, s)| s.as_str()).collect();
    assert!(
        statuses.contains(&"pass") && statuses.contains(&"fail"),
        "{statuses:?}"
    );

    for (format, marker) in [("html", "<html"), ("json", "\"findings\"")] {
        let res = report(format).send().await.unwrap();
        assert_eq!(res.status(), 200, "{format}");
        assert!(res.text().await.unwrap().contains(marker), "{format}");
    }
}
