//! Every file of the fuzz seed corpora (`fuzz/seeds/TARGET/`) through its target's check.
//! An input a fuzzer found, copied there, is a regression test from then on.

use std::path::{Path, PathBuf};

use crate::checks;

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// Runs `check` on each seed that is text (the targets skip other bytes too).
fn each_text_seed(target: &str, check: impl Fn(&str) -> checks::Verdict) {
    for (path, bytes) in seeds(target) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            assert_eq!(check(text), Ok(()), "{}", path.display());
        }
    }
}

#[test]
fn runbook_seeds() {
    each_text_seed("runbook", |t| checks::runbook_text(t, None));
}

#[test]
fn inventory_seeds() {
    each_text_seed("inventory", checks::inventory_text);
}

#[test]
fn condition_seeds() {
    each_text_seed("condition", |t| {
        let (source, v) = checks::split_condition_input(t);
        checks::condition_text(source, v)
    });
}

#[test]
fn gtid_seeds() {
    each_text_seed("gtid", checks::gtid_text);
}

#[test]
fn maxscale_json_seeds() {
    for (path, bytes) in seeds("maxscale_json") {
        assert_eq!(checks::maxscale_json(&bytes), Ok(()), "{}", path.display());
    }
}
