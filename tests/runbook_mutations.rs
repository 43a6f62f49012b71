//! Random damage to a real runbook yields diagnostics that point inside the file, never a
//! panic.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use flightdeck::diag::SourceFile;
use flightdeck::runbook::check_text;
use proptest::prelude::*;

const SEED_000: &str = include_str!("../runbooks/mariadb-10.5-to-11.4-maxscale.toml");

/// What an operator's editor could do to a file.
#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    DeleteChar(usize),
    InsertChar(usize, char),
    SwapLines(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let text_chars = prop::sample::select(vec![
        '"', '\'', '[', ']', '{', '}', '=', ',', '.', '\n', '#', 'x', '1', ' ', '\\', 'é',
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::DeleteChar),
        (any::<usize>(), text_chars).prop_map(|(i, c)| Mutation::InsertChar(i, c)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let chars: Vec<char> = text.chars().collect();
    match *m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => lines.insert(i % n, lines[i % n]),
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::DeleteChar(i) => {
            let i = i % chars.len();
            return chars[..i].iter().chain(&chars[i + 1..]).collect();
        }
        Mutation::InsertChar(i, c) => {
            let i = i % chars.len();
            let mut out: String = chars[..i].iter().collect();
            out.push(c);
            out.extend(&chars[i..]);
            return out;
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn mutated_runbooks_give_errors_inside_the_file(ms in prop::collection::vec(mutation(), 1..4)) {
        let mut text = SEED_000.to_string();
        for m in &ms {
            text = apply(&text, m);
        }
        let line_count = text.lines().count().max(1);
        if let Err(diags) = check_text(SourceFile::new("m.toml", text.clone()), None) {
            prop_assert!(!diags.is_empty());
            for e in &diags.errors {
                prop_assert!(e.line >= 1 && e.line <= line_count + 1, "line {} of {}", e.line, line_count);
                prop_assert!(e.column >= 1);
                prop_assert!(!e.message.is_empty());
                // Rendering the excerpt must not panic either.
                let _ = e.render(false);
            }
        }
    }
}

#[test]
fn removing_a_required_field_is_an_error() {
    let text = SEED_000.replacen("title = ", "# title = ", 1);
    let err = check_text(SourceFile::new("m.toml", text), None).unwrap_err();
    assert!(
        err.errors
            .iter()
            .any(|e| e.message.contains("missing field `title`")),
        "{err}"
    );
}
