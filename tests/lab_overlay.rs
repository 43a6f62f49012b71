//! One runbook, two inventories: the lab rehearses the production runbook file itself.
//! `runbooks/lab-rolling-upgrade.toml` extends it and replaces only host-level steps
//! (shell, manual, note). Every sql, maxscale, wait and check step the lab runs is the
//! production one; every production shell step is replaced (the lab never runs a
//! production host command on the bastion); `plan` names each override; and an override
//! that reaches further is refused at its file:line:col.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use flightdeck::diag::SourceFile;
use flightdeck::inventory::{self, Inventory};
use flightdeck::runbook::overlay::HOST_LEVEL;
use flightdeck::runbook::{self, Loaded, check_text, plan};

mod common;

const PRODUCTION: &str = "runbooks/mariadb-10.5-to-11.4-maxscale.toml";
const LAB: &str = "runbooks/lab-rolling-upgrade.toml";

/// A lab-like pair whose `[vars]` say what the lab inventory says: both runbooks then see
/// the same values, so any difference is one of the steps themselves.
fn inventory() -> Inventory {
    inventory_with("")
}

/// The same with `more` after the pair: further servers, `[roles]`.
fn inventory_with(more: &str) -> Inventory {
    let text = format!(
        "[vars]\nfrom_version = \"10.11.18\"\nto_version = \"10.11.19\"\nlab_dir = \"/tmp/lab\"\n\
         backup_dir = \"/tmp/lab/backup\"\nrepl_user = \"repl\"\nflightdeck = \"/usr/bin/flightdeck\"\n\
         [secrets]\nrepl_password = {{ env = \"REPL\" }}\n{}{more}",
        common::LOCAL_PAIR
            .replace("db1", "server1")
            .replace("db2", "server2")
    );
    inventory::parse(Path::new("lab.toml"), &text).expect("inventory")
}

/// A primary and two replicas, server3 the candidate.
const THIRD: &str = "\n[[server]]\nname = \"server3\"\nrole = \"replica\"\n\
                     mysql = { host = \"127.0.0.1\", port = 3308 }\ntransport = \"local\"\n\n\
                     [roles]\ncandidate = \"server3\"\n";

fn load(path: &str, inv: &Inventory) -> Loaded {
    runbook::load_checked(Path::new(path), Some(inv)).unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

#[test]
fn the_lab_runs_every_sql_maxscale_wait_and_check_step_as_written_for_production() {
    // On the pair, phases 2–4 (11 overridden steps) run once; on three servers twice.
    same_steps_but_the_host_level_ones(&inventory(), 19);
    same_steps_but_the_host_level_ones(&inventory_with(THIRD), 19 + 11);
}

/// An override of a step inside a `for_each` block replaces every copy of it: overrides
/// apply to the runbook as written, before the block is written out per member.
#[test]
fn an_override_inside_a_repeated_block_applies_to_every_member() {
    let inv = inventory_with(THIRD);
    let lab = load(LAB, &inv);
    for member in ["server2", "server3"] {
        let id = format!("p3-stop-service@{member}");
        let step = lab
            .runbook
            .steps()
            .map(|(_, s)| s)
            .find(|s| s.id.value == id)
            .unwrap_or_else(|| panic!("{id}"));
        assert!(step.overridden.is_some(), "{id}");
        let flightdeck::runbook::Action::Shell { command, .. } = &step.action else {
            panic!("{id} is a shell step");
        };
        assert!(
            command.source.contains("lab --dir"),
            "{id}: {}",
            command.source
        );
        assert_eq!(step.target.as_ref().map(|t| t.value.as_str()), Some(member));
    }
}

fn same_steps_but_the_host_level_ones(inv: &Inventory, overrides: usize) {
    let inv = inv.clone();
    let production = load(PRODUCTION, &inv);
    let lab = load(LAB, &inv);
    assert!(
        lab.base.is_some(),
        "the lab runbook extends the production one"
    );
    let phases = |l: &Loaded| -> Vec<(String, Vec<String>)> {
        l.runbook
            .phases
            .iter()
            .map(|p| {
                (
                    p.id.clone(),
                    p.steps.iter().map(|s| s.id.value.clone()).collect(),
                )
            })
            .collect()
    };
    assert_eq!(
        phases(&lab),
        phases(&production),
        "the same phases and steps, in order"
    );
    assert_eq!(lab.runbook.pins, production.runbook.pins);
    assert_eq!(lab.runbook.secrets, production.runbook.secrets);

    let mut replaced = Vec::new();
    for ((_, p), (_, l)) in production.runbook.steps().zip(lab.runbook.steps()) {
        let id = &p.id.value;
        if HOST_LEVEL.contains(&p.action.kind()) {
            if let Some(o) = &l.overridden {
                assert!(HOST_LEVEL.contains(&l.action.kind()), "{id}");
                assert_eq!(o.base_kind, p.action.kind(), "{id}");
                replaced.push(id.clone());
            }
            // A production shell command never runs on the lab's bastion.
            if p.action.kind() == "shell" {
                assert!(
                    l.overridden.is_some(),
                    "{id}: the lab runs a production shell step"
                );
            }
            continue;
        }
        assert!(l.overridden.is_none(), "{id}");
        assert_eq!(
            format!(
                "{:?}",
                (
                    &p.title,
                    &p.target,
                    &p.gates,
                    &p.action,
                    &p.timeout,
                    &p.rollback
                )
            ),
            format!(
                "{:?}",
                (
                    &l.title,
                    &l.target,
                    &l.gates,
                    &l.action,
                    &l.timeout,
                    &l.rollback
                )
            ),
            "{id} differs between production and the lab"
        );
    }
    assert_eq!(replaced.len(), overrides, "{replaced:?}");

    // The plan says which steps the lab replaces, and from where.
    let text = plan::render_text(&plan::resolve(&lab, &inv));
    assert!(
        text.contains(&format!("FILE      {LAB} (extends {PRODUCTION})")),
        "{text}"
    );
    let backup: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("] p1-backup"))
        .take_while(|l| !l.is_empty())
        .collect();
    let backup = backup.join("\n");
    assert!(
        backup.contains(&format!(
            "override: replaces the shell step at {PRODUCTION}:"
        )),
        "{backup}"
    );
    assert_eq!(
        text.matches("override: replaces").count(),
        overrides,
        "each override once (per member in a block)"
    );
}

/// An overlay of the production runbook with `body` after its header, checked.
fn overlay(body: &str) -> String {
    let file = SourceFile::new(
        "runbooks/overlay.toml",
        format!("[runbook]\nextends = \"mariadb-10.5-to-11.4-maxscale.toml\"\n{body}"),
    );
    match check_text(file, Some(&inventory())) {
        Ok(_) => String::new(),
        Err(d) => d.render(false),
    }
}

#[test]
fn an_override_that_reaches_past_the_host_is_refused_where_it_is_written() {
    assert_eq!(
        overlay(""),
        "",
        "an overlay with no override is the production runbook"
    );

    let sql = overlay(
        "\n[[override]]\nstep = \"p1-version-primary\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"\n",
    );
    assert!(sql.contains("runbooks/overlay.toml:5:8"), "{sql}");
    assert!(
        sql.contains(
            "`p1-version-primary` is a sql step (runbooks/mariadb-10.5-to-11.4-maxscale.toml:"
        ),
        "{sql}"
    );
    assert!(
        sql.contains("runs in the lab exactly as written for production"),
        "{sql}"
    );

    let into_sql = overlay(
        "\n[[override]]\nstep = \"p1-backup\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"primary\"\n\
         sql = \"SELECT 1\"\n",
    );
    assert!(
        into_sql.contains("an override is a shell, manual or note step, not sql"),
        "{into_sql}"
    );

    let unknown = overlay(
        "\n[[override]]\nstep = \"p9-nothing\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"\n",
    );
    assert!(unknown.contains("runbooks/overlay.toml:5:8: no step `p9-nothing` in runbooks/mariadb-10.5-to-11.4-maxscale.toml"), "{unknown}");

    // An error inside an override points into the overlay, not the production file.
    let bad = overlay(
        "\n[[override]]\nstep = \"p1-backup\"\ntitle = \"t\"\nkind = \"shell\"\ntarget = \"nobody\"\n\
         command = \"true\"\n",
    );
    assert!(bad.contains("runbooks/overlay.toml:8:"), "{bad}");
    assert!(bad.contains("nobody"), "{bad}");

    let phases = overlay("\n[[phase]]\nid = \"x\"\ntitle = \"x\"\n");
    assert!(
        phases.contains("`phase` has no place in a runbook that extends another"),
        "{phases}"
    );
    let missing = SourceFile::new(
        "runbooks/overlay.toml",
        "[runbook]\nextends = \"nope.toml\"\n",
    );
    let d = check_text(missing, None).unwrap_err().render(false);
    assert!(
        d.contains("runbooks/overlay.toml:2:11: cannot read the runbook this one extends"),
        "{d}"
    );
}
