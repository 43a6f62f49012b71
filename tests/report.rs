//! `flightdeck report`: change reports built from journals written with the real
//! `Journal` API: every step, the probe's figures, versions before and after, an HTML page
//! and an SVG chart that parse as XML (one point per sample), an unfinished session said
//! so at the top, no secret anywhere, and the CLI's files and exit codes.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use flightdeck::report::Report;
use flightdeck::session::journal::{
    Event, Journal, Outcome, ProbeReport, Record, ServerSample, SessionStart, Stream, sha256_hex,
};
use flightdeck::session::lock::format_rfc3339;
use flightdeck::session::mask::Masker;

mod common;

use common::xml::{parse_html, polylines_with_points};

/// Twenty characters, nothing a shell or SQL would escape.
const SECRET: &str = "Zq8vT3uLp0Wx5yRb7Kc2";
const SAMPLES: usize = 30;
const REAL_RUNBOOK: &str = "runbooks/mariadb-10.5-to-11.4-maxscale.toml";

fn s(v: &str) -> String {
    v.to_string()
}

fn header(runbook: &str, sha: String) -> SessionStart {
    let pins = BTreeMap::from([(s("original_primary"), s("server1"))]);
    SessionStart::new(
        Path::new(runbook),
        sha,
        Path::new("inventories/prod.toml"),
        sha256_hex(b"inventory"),
        pins,
    )
}

fn real_runbook_sha() -> String {
    flightdeck::runbook::load_checked(Path::new(REAL_RUNBOOK), None)
        .unwrap()
        .sha256()
}

fn sample(i: usize) -> Event {
    // server2 is upgraded during samples 8..12 (down), the switchover is at sample 20.
    let replica = |name: &str, hb: Option<u64>, up: bool| ServerSample {
        server: s(name),
        up,
        role: Some(s("replica")),
        io: up.then(|| s("Yes")),
        sql: up.then_some(true),
        sbm: hb.map(|ms| ms / 1000),
        hb_ms: hb,
        ..ServerSample::default()
    };
    let primary = |name: &str| ServerSample {
        server: s(name),
        up: true,
        role: Some(s("primary")),
        ..ServerSample::default()
    };
    let servers = if i < 20 {
        let down = (8..12).contains(&i);
        vec![
            primary("server1"),
            replica(
                "server2",
                (!down).then_some(100 + 300 * (i as u64 % 5)),
                !down,
            ),
        ]
    } else {
        vec![
            replica("server1", Some(2500 - 100 * (i as u64 - 20)), true),
            primary("server2"),
        ]
    };
    Event::Sample { servers }
}

fn gate(step: &str, condition: &str, holds: bool) -> Event {
    Event::Gate {
        step: s(step),
        condition: s(condition),
        holds,
        observed: vec![format!("{condition} → {holds}")],
    }
}

fn confirm(step: &str, typed: Option<&str>) -> Event {
    Event::Confirm {
        step: s(step),
        operator: s("alice"),
        typed: typed.map(s),
    }
}

fn start(step: &str, attempt: u32, server: &str, rendered: &str) -> Event {
    Event::StepStart {
        step: s(step),
        attempt,
        target_servers: vec![s(server)],
        rendered: s(rendered),
        primary: Some(s("server1")),
    }
}

fn out(step: &str, text: &str) -> Event {
    Event::Output {
        step: s(step),
        stream: Stream::Stdout,
        text: s(text),
    }
}

fn end(step: &str, attempt: u32, outcome: Outcome, detail: &str) -> Event {
    Event::StepEnd {
        step: s(step),
        attempt,
        outcome,
        detail: s(detail),
        exit_code: Some(0).filter(|_| outcome == Outcome::Succeeded),
        sql_errno: None,
    }
}

fn version(server: &str, v: &str) -> Event {
    Event::ServerVersion {
        server: s(server),
        version: s(v),
    }
}

fn probe() -> Event {
    Event::Probe(ProbeReport {
        step: s("p5-switchover"),
        attempt: 1,
        router: s("127.0.0.1:4006"),
        duration_s: 6.2,
        writes_ok: 58,
        writes_failed: 31,
        write_unavailable_s: 1.58,
        reads_ok: 60,
        reads_failed: 2,
        read_unavailable_s: 0.42,
        first_error: Some(s(
            "ERROR 1290 (HY000): The MariaDB server is running with the --read-only option",
        )),
    })
}

/// A change window, in journal order; it stops after `p5-switchover` starts when `crash`.
fn window(crash: bool) -> Vec<Event> {
    let mut e = vec![
        version("server1", "10.5.27-MariaDB-log"),
        version("server2", "10.5.27-MariaDB-log"),
    ];
    let mut samples = (0..SAMPLES).map(sample);
    let mut take = |e: &mut Vec<Event>, n: usize| e.extend(samples.by_ref().take(n));
    take(&mut e, 2);
    e.extend([
        gate("p1-version-primary", "primary.up", true),
        confirm("p1-version-primary", None),
        start("p1-version-primary", 1, "server1", "SELECT VERSION();"),
        out("p1-version-primary", "10.5.27-MariaDB-log\n"),
        end("p1-version-primary", 1, Outcome::Succeeded, ""),
        gate("p1-backup", "primary.up", true),
        confirm("p1-backup", None),
        start(
            "p1-backup",
            1,
            "server1",
            &format!("mysqldump --password={SECRET} --all-databases"),
        ),
    ]);
    take(&mut e, 3);
    let dump: String = (1..=40)
        .map(|i| format!("-- dumping table app.t{i}\n"))
        .collect();
    e.extend([
        out("p1-backup", &format!("connecting with {SECRET}\n")),
        out("p1-backup", &dump),
        end("p1-backup", 1, Outcome::Succeeded, "exit 0"),
        Event::Note {
            operator: s("bob"),
            text: format!("backup checked, restore key is {SECRET}"),
        },
        gate("p3-stop-service", "replica.lag < 5s", false),
        Event::Override {
            step: s("p3-stop-service"),
            justification: format!("lag is a reporting query, not {SECRET}"),
            failed_gates: vec![s("replica.lag < 5s")],
        },
        confirm("p3-stop-service", Some("server2")),
        start("p3-stop-service", 1, "server2", "systemctl stop mariadb"),
        end("p3-stop-service", 1, Outcome::Failed, "exit 1: unit busy"),
        start("p3-stop-service", 2, "server2", "systemctl stop mariadb"),
        end("p3-stop-service", 2, Outcome::Succeeded, ""),
    ]);
    take(&mut e, 10);
    e.extend([
        version("server2", "11.4.4-MariaDB-log"),
        Event::Skip {
            step: s("p3-selinux"),
            reason: s("SELinux is disabled on these hosts"),
        },
    ]);
    take(&mut e, 5);
    e.extend([
        gate("p5-switchover", "replica.gtid_behind == 0", true),
        confirm("p5-switchover", Some("server2")),
        Event::Approval {
            step: s("p5-switchover"),
            driver: s("alice"),
            approver: s("bob"),
            typed: s("server2"),
        },
        start(
            "p5-switchover",
            1,
            "server2",
            "POST /v1/maxscale/modules/mariadbmon/switchover?MariaDB-Monitor&server2\n(maxctrl: maxctrl call command mariadbmon switchover MariaDB-Monitor server2)",
        ),
    ]);
    if crash {
        return e;
    }
    e.extend([
        probe(),
        end(
            "p5-switchover",
            1,
            Outcome::Succeeded,
            "server2 is the primary",
        ),
    ]);
    take(&mut e, 10);
    e.extend([
        version("server1", "11.4.4-MariaDB-log"),
        Event::Complete {
            operator: s("alice"),
            duration_s: 30.0,
            skipped: vec![s("p3-selinux")],
            overridden: vec![s("p3-stop-service")],
            retried: vec![s("p3-stop-service")],
            verified: vec![],
        },
    ]);
    e
}

/// Writes `events` to a new journal at `path` through the real `Journal` (masking the
/// secret), then restamps it one second a line with a fixed header, so it is
/// deterministic.
fn write_journal(path: &Path, runbook: &str, sha: String, events: &[Event]) {
    let mut journal = Journal::create(path, header(runbook, sha), Masker::new([SECRET])).unwrap();
    for event in events {
        journal.append(event).unwrap();
    }
    journal.close().unwrap();
    restamp(path);
}

fn restamp(path: &Path) {
    let base = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let mut r: Record = serde_json::from_str(line).unwrap();
        r.ts = format_rfc3339(base + std::time::Duration::from_millis(r.seq * 1000 + 250));
        if let Event::SessionStart(h) = &mut r.event {
            (h.operator, h.host, h.pid) = (s("alice"), s("bastion1"), 4242);
            h.flightdeck_version = s("0.1.0");
        }
        out.push_str(&serde_json::to_string(&r).unwrap());
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_finished_window_reports_every_step_probe_version_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("window.jsonl");
    write_journal(&path, REAL_RUNBOOK, real_runbook_sha(), &window(false));
    let journal_text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !journal_text.contains(SECRET),
        "the journal itself is masked"
    );

    let report = Report::from_journal(&path).unwrap();
    assert!(report.finished());
    assert_eq!(report.unfinished(), None);
    let md = report.markdown(Some("window-lag.svg"));
    let html = report.html().unwrap();
    let svg = report.chart_svg().unwrap().unwrap();

    for step in [
        "p1-version-primary",
        "p1-backup",
        "p3-stop-service",
        "p3-selinux",
        "p5-switchover",
    ] {
        assert!(md.contains(step), "{step} in markdown");
        assert!(html.contains(step), "{step} in html");
    }
    // Titles and phases from the runbook file, whose digest matches.
    assert!(md.contains("Take a full backup on the primary"));
    assert!(html.contains("Upgrade the replica"));
    // The probe's figures: writes and reads unavailable.
    for text in [&md, &html] {
        assert!(text.contains("1.58 s"), "write unavailability");
        assert!(text.contains("0.42 s"), "read unavailability");
        assert!(text.contains("31 of 89"), "failed writes");
        assert!(text.contains("10.5.27-MariaDB-log") && text.contains("11.4.4-MariaDB-log"));
        assert!(
            text.contains("lag is a reporting query"),
            "override justification"
        );
        assert!(
            text.contains("SELinux is disabled on these hosts"),
            "skip reason"
        );
        assert!(!text.contains(SECRET), "no secret");
        assert!(text.contains("****"), "masked where the secret was");
    }
    assert!(md.contains("| server1 | 10.5.27-MariaDB-log | **11.4.4-MariaDB-log** |"));
    assert!(md.contains("![Replication lag across the window](window-lag.svg)"));
    assert!(
        md.contains("… 31 lines left out …"),
        "bounded output excerpt"
    );
    assert!(!svg.contains(SECRET));

    // The HTML parses as XML; its inline chart has one point per sample per server.
    let doc = parse_html(&html);
    let inline = doc.descendants().find(|n| n.has_tag_name("svg")).unwrap();
    assert_eq!(polylines_with_points(inline), vec![SAMPLES, SAMPLES]);
    assert!(doc.descendants().all(|n| !n.has_tag_name("script")));
    assert!(
        doc.descendants()
            .filter_map(|n| n.attribute("src").or(n.attribute("href")))
            .all(|link| link.starts_with('#')),
        "nothing fetched"
    );
    // So does the chart on its own; the switchover is labelled above the plot.
    let chart = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(
        polylines_with_points(chart.root_element()),
        vec![SAMPLES, SAMPLES]
    );
    let labels: Vec<&str> = chart
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    assert!(labels.contains(&"p5-switchover"), "{labels:?}");
    assert!(
        labels.contains(&"server1") && labels.contains(&"server2"),
        "legend"
    );
}

#[test]
fn a_crashed_window_says_so_at_the_top_and_marks_the_step_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.jsonl");
    write_journal(&path, "gone.toml", sha256_hex(b"gone"), &window(true));

    let report = Report::from_journal(&path).unwrap();
    assert!(!report.finished());
    let banner = report.unfinished().unwrap();
    assert!(
        banner.starts_with("This session is not finished"),
        "{banner}"
    );
    assert!(banner.contains("p5-switchover"), "{banner}");
    assert!(banner.contains("UNKNOWN"), "{banner}");

    let md = report.markdown(None);
    let top: String = md.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(top.contains("This session is not finished"), "{top}");
    assert!(md.contains("outcome UNKNOWN (no step_end"), "{md}");
    assert!(
        md.contains("`flightdeck report JOURNAL -o report.md`"),
        "how to get the chart"
    );
    assert!(md.contains("No write-availability probe was configured"));
    assert!(md.contains("Step titles are not shown"));

    let html = report.html().unwrap();
    let doc = parse_html(&html);
    let first_block = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("sub"))
        .and_then(|n| n.next_sibling_element())
        .unwrap();
    assert_eq!(first_block.attribute("class"), Some("banner"));
    assert!(html.contains("no write-availability probe was configured"));
    assert!(!html.contains(SECRET) && !md.contains(SECRET));

    // Resumed after the crash: the attempt died with its process.
    let mut journal = Journal::open_append(&path, Masker::new([SECRET])).unwrap();
    journal
        .append(&Event::Verified {
            step: s("p5-switchover"),
            operator: s("alice"),
            reason: s("maxctrl list servers shows server2 as Master"),
        })
        .unwrap();
    journal.close().unwrap();
    let md = Report::from_journal(&path).unwrap().markdown(None);
    assert!(md.contains("the session crashed while it ran"), "{md}");
    assert!(md.contains("verified done by hand: maxctrl list servers shows server2 as Master"));
    assert!(md.contains("No step's outcome is unknown"), "{md}");
}

#[test]
fn the_markdown_report_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("window.jsonl");
    write_journal(
        &path,
        "runbooks/moved-away.toml",
        sha256_hex(b"old"),
        &window(false),
    );
    let md = Report::from_journal(&path)
        .unwrap()
        .markdown(Some("window-lag.svg"))
        .replace(&path.display().to_string(), "JOURNAL");
    insta::assert_snapshot!(md);
}

fn flightdeck(args: &[&str], dir: &Path) -> std::process::Output {
    Command::cargo_bin("flightdeck")
        .expect("binary is built")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_cli_writes_markdown_with_its_chart_and_html_and_refuses_a_bad_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("window.jsonl");
    write_journal(&path, "gone.toml", sha256_hex(b"gone"), &window(false));

    let done = flightdeck(&["report", "window.jsonl", "-o", "report.md"], dir.path());
    assert!(done.status.success(), "{done:?}");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("](report-lag.svg)"));
    let svg = std::fs::read_to_string(dir.path().join("report-lag.svg")).unwrap();
    roxmltree::Document::parse(&svg).unwrap();

    let html = flightdeck(&["report", "window.jsonl", "--format", "html"], dir.path());
    assert!(html.status.success(), "{html:?}");
    parse_html(std::str::from_utf8(&html.stdout).unwrap());

    let missing = flightdeck(&["report", "nope.jsonl"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.jsonl"));

    std::fs::write(dir.path().join("bad.jsonl"), "not json\n").unwrap();
    let corrupt = flightdeck(&["report", "bad.jsonl"], dir.path());
    assert_eq!(corrupt.status.code(), Some(2));
    let err = String::from_utf8_lossy(&corrupt.stderr);
    assert!(err.contains("bad.jsonl:1"), "{err}");
}
