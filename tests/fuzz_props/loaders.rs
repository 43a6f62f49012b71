//! Runbook and inventory loaders: any text loads or is refused with diagnostics that name a
//! real file:line:col, and so does every edit an operator's editor could make to the
//! shipped files.

use std::path::Path;
use std::sync::LazyLock;

use flightdeck::inventory::{self, Inventory};
use proptest::prelude::*;

use crate::checks::{self, FILE};
use crate::{LOADER_CASES, config};

/// The shipped runbooks. Edited, the lab's (which extends the production runbook) loads
/// under the fuzzed name, where its base is not found: edits then exercise the overlay's
/// own reading up to that error, which must still point inside it.
const RUNBOOKS: [&str; 3] = [
    include_str!("../../runbooks/mariadb-10.5-to-11.4-maxscale.toml"),
    include_str!("../../runbooks/lab-rolling-upgrade.toml"),
    include_str!("../../runbooks/mysql-5.6-replication-upgrade.toml"),
];
const SHIPPED: [&str; 3] = [
    "runbooks/mariadb-10.5-to-11.4-maxscale.toml",
    "runbooks/lab-rolling-upgrade.toml",
    "runbooks/mysql-5.6-replication-upgrade.toml",
];

const INVENTORIES: [&str; 4] = [
    include_str!("../../runbooks/inventory.example.toml"),
    include_str!("../fixtures/pair.toml"),
    include_str!("../../fuzz/seeds/inventory/lab.toml"),
    include_str!("../../fuzz/seeds/inventory/local_pair.toml"),
];

/// The loopback pair inventory, to validate runbooks against servers and roles.
static PAIR: LazyLock<Inventory> = LazyLock::new(|| {
    inventory::parse(Path::new("pair.toml"), INVENTORIES[1]).expect("the pair fixture loads")
});

/// Pieces of the runbook and inventory formats, to build text the TOML parser accepts
/// often enough that validation runs.
const FRAGMENTS: [&str; 24] = [
    "[runbook]\n",
    "name = \"r\"\n",
    "roles = [\"primary\", \"replica\"]\n",
    "[vars]\n",
    "[[phase]]\n",
    "id = \"p1\"\n",
    "title = \"t\"\n",
    "[[phase.step]]\n",
    "kind = \"check\"\n",
    "kind = \"sql\"\n",
    "kind = \"shell\"\n",
    "condition = 'primary.up and (not replica.read_only'\n",
    "sql = \"SELECT '{{ vars.x }}'\"\n",
    "command = \"echo {{ vars.x }}\"\n",
    "on = \"replica\"\n",
    "timeout = \"10s\"\n",
    "gates = [\"succeeded(p1)\"]\n",
    "[[server]]\n",
    "name = \"db1\"\n",
    "role = \"primary\"\n",
    "mysql = { host = \"127.0.0.1\", port = 3306 }\n",
    "transport = \"local\"\n",
    "password = { env = \"X\" }\n",
    "[maxscale]\nurl = \"http://127.0.0.1:8989\"\n",
];

/// Text from anywhere: any string, TOML punctuation soup, fragments of the formats in any
/// order, and deep nesting of arrays and inline tables.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\[\\]{}=\"'a-z0-9 .,\n#\\\\_-]{0,200}",
        prop::collection::vec(prop::sample::select(FRAGMENTS.to_vec()), 0..24)
            .prop_map(|parts| parts.concat()),
        (1usize..4000).prop_map(|n| format!("a = {}{}", "[".repeat(n), "]".repeat(n))),
        (1usize..4000).prop_map(|n| format!("a = {}1{}", "{ b = ".repeat(n), " }".repeat(n))),
    ]
}

/// What an operator's editor could do to a file.
#[derive(Clone, Debug)]
enum Edit {
    InsertChar(usize, char),
    DeleteChar(usize),
    ReplaceChar(usize, char),
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let chars = prop_oneof![
        prop::sample::select(vec![
            '"', '\'', '[', ']', '{', '}', '=', ',', '.', '\n', '#', '\\', ' ', '\t', '\r', 'x',
            '1', '-', 'é', '\0', '\u{feff}',
        ]),
        any::<char>(),
    ];
    prop_oneof![
        (any::<usize>(), chars.clone()).prop_map(|(i, c)| Edit::InsertChar(i, c)),
        any::<usize>().prop_map(Edit::DeleteChar),
        (any::<usize>(), chars).prop_map(|(i, c)| Edit::ReplaceChar(i, c)),
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<&str> = text.split('\n').collect();
    let (nc, nl) = (chars.len().max(1), lines.len());
    match *edit {
        Edit::InsertChar(i, c) => chars.insert(i % (chars.len() + 1), c),
        Edit::DeleteChar(i) if !chars.is_empty() => drop(chars.remove(i % nc)),
        Edit::ReplaceChar(i, c) if !chars.is_empty() => chars[i % nc] = c,
        Edit::DeleteChar(_) | Edit::ReplaceChar(..) => {}
        Edit::DeleteLine(i) => drop(lines.remove(i % nl)),
        Edit::DuplicateLine(i) => lines.insert(i % nl, lines[i % nl]),
        Edit::SwapLines(a, b) => lines.swap(a % nl, b % nl),
    }
    match edit {
        Edit::InsertChar(..) | Edit::DeleteChar(_) | Edit::ReplaceChar(..) => {
            chars.into_iter().collect()
        }
        _ => lines.join("\n"),
    }
}

fn edited(seeds: &'static [&'static str]) -> impl Strategy<Value = String> {
    (0..seeds.len(), prop::collection::vec(edit(), 1..6)).prop_map(move |(which, edits)| {
        edits
            .iter()
            .fold(seeds[which].to_owned(), |t, e| apply(&t, e))
    })
}

proptest! {
    #![proptest_config(config(LOADER_CASES))]

    #[test]
    fn any_text_as_a_runbook_loads_or_errs_inside_it(text in any_text()) {
        prop_assert_eq!(checks::runbook_text(&text, None), Ok(()));
        prop_assert_eq!(checks::runbook_text(&text, Some(&PAIR)), Ok(()));
    }

    #[test]
    fn any_text_as_an_inventory_loads_or_errs_inside_it(text in any_text()) {
        prop_assert_eq!(checks::inventory_text(&text), Ok(()));
    }

    #[test]
    fn edited_runbooks_load_or_err_inside_them(text in edited(&RUNBOOKS)) {
        prop_assert_eq!(checks::runbook_text(&text, Some(&PAIR)), Ok(()));
    }

    #[test]
    fn edited_inventories_load_or_err_inside_them(text in edited(&INVENTORIES)) {
        prop_assert_eq!(checks::inventory_text(&text), Ok(()));
    }
}

#[test]
fn the_shipped_files_load_clean() {
    // Under their own names, so that the lab runbook finds the one it extends.
    for (path, text) in SHIPPED.iter().zip(RUNBOOKS) {
        let loaded = flightdeck::runbook::check_text(
            flightdeck::diag::SourceFile::new(*path, text),
            Some(&PAIR),
        );
        assert!(
            loaded.is_ok(),
            "{}",
            loaded.err().map(|d| d.to_string()).unwrap_or_default()
        );
    }
    for text in INVENTORIES {
        assert_eq!(checks::inventory_text(text), Ok(()));
        assert!(inventory::parse(Path::new(FILE), text).is_ok());
    }
}
