//! A journal that cannot be written: the session starts no step, says why on screen, and
//! goes on once the disk has room again. The journal lives on a 32 KiB tmpfs that the
//! test fills (mounting needs root, as CI runs).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use flightdeck::diag::SourceFile;
use flightdeck::inventory;
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook::check_text;
use flightdeck::session::driver::{CommandError, Driver};
use flightdeck::session::run::{Command, StepState};
use flightdeck::tui::run::app::RunApp;
use flightdeck::tui::run::view::{ViewContext, view};
use flightdeck::tui::theme::Theme;

mod common;

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path) -> Option<Tmpfs> {
        let ok = Process::new("mount")
            .args(["-t", "tmpfs", "-o", "size=32k", "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }

    /// Fills what is left with one file; returns its path.
    fn fill(&self) -> PathBuf {
        let filler = self.0.join("filler");
        let _ = Process::new("dd")
            .args(["if=/dev/zero", "bs=1k", "count=64"])
            .arg(format!("of={}", filler.display()))
            .status();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Process::new("umount").arg(&self.0).status();
    }
}

/// A step whose journaled `step_start` (its command, 5 KB) cannot fit in what is left of
/// the journal's last page: tmpfs allocates by the page.
fn runbook() -> String {
    let padding = "x".repeat(5000);
    RUNBOOK.replace("echo hello", &format!("echo hello # {padding}"))
}

const RUNBOOK: &str = r#"
[runbook]
name = "journal on a full disk"

[[phase]]
id = "p"
title = "one local step"

[[phase.step]]
id = "hello"
title = "say hello"
kind = "shell"
target = "db1"
command = "echo hello"
"#;

const INVENTORY: &str = common::LOCAL_DB1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_steps_from_starting_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(fs) = Tmpfs::mount(dir.path()) else {
        panic!("mounting a tmpfs needs root: run the tests as root, as CI does");
    };
    let inv = inventory::parse(&dir.path().join("inv.toml"), INVENTORY).expect("inventory");
    let loaded = check_text(SourceFile::new("rb.toml", runbook()), Some(&inv)).expect("runbook");
    let journal = fs.0.join("run.jsonl");
    let (mut d, mut inputs) = Driver::open(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("session opens");

    let filler = fs.fill();
    let run = || Command::Run {
        step: "hello".into(),
        typed: None,
        justification: None,
    };
    let refused = d.command(run(), Instant::now());
    assert!(
        matches!(&refused, Err(CommandError::JournalBroken(_))),
        "{refused:?}"
    );
    let StepState::Failed { detail } = d.core.run.state("hello").clone() else {
        panic!("not started: {:?}", d.core.run.state("hello"))
    };
    assert!(detail.starts_with("not started"), "{detail}");

    // The screen says so on top.
    d.publish();
    let session = d.view().clone();
    assert!(session.journal_broken.is_some());
    let app = RunApp::new(&session);
    let ctx = ViewContext {
        theme: Theme::PLAIN,
    };
    let text = common::draw(100, 30, |f| {
        view(&app, &session, &d.core.dash, &ctx, f, Instant::now())
    });
    assert!(text.contains("JOURNAL NOT WRITABLE"), "{text}");

    // Room again: the step runs, journaled.
    std::fs::remove_file(filler).expect("free the disk");
    d.command(run(), Instant::now())
        .expect("starts once the journal takes it");
    let begun = Instant::now();
    while !matches!(d.core.run.state("hello"), StepState::Succeeded { .. }) {
        assert!(begun.elapsed() < Duration::from_secs(60), "the step ends");
        if let Ok(Some(e)) =
            tokio::time::timeout(Duration::from_millis(250), inputs.exec_rx.recv()).await
        {
            d.exec(e, Instant::now()).expect("journal");
        }
    }
    d.finish("test over").await;
    let text = std::fs::read_to_string(&journal).expect("journal");
    assert!(text.contains("\"event\":\"step_end\""), "{text}");
    assert!(text.contains("hello"), "{text}");
}
