//! Where each `{{ … }}` sits in an SQL statement, and how its value is written there.
//!
//! A value may stand only inside a single-quoted string literal (`'{{ vars.x }}'`), where
//! it is escaped, or bare where it is a typed number: a server's port
//! (`MASTER_PORT={{ primary.port }}`). Anywhere else (bare code, a `"…"` string, a
//! `` `…` `` identifier, a comment, right after a backslash) `check` refuses it with a
//! suggestion, and rendering refuses it too.
//!
//! Escaping does not depend on `sql_mode`: a `'` is doubled (`''` reads as one quote with
//! and without `NO_BACKSLASH_ESCAPES`), and no backslash escape is ever written. A value
//! holding a backslash or a NUL cannot be written inside `'…'` so that both modes read the
//! same text (`\\` is one backslash in one and two in the other), so such a value is
//! refused before anything is sent, naming the reference, never the value. A statement is
//! also read once per mode (`NO_BACKSLASH_ESCAPES` and `ANSI_QUOTES`, on and off): a
//! template whose place changes with the mode (a backslash earlier in a string) is refused.

use std::ops::Range;

use super::template::{Context, MASK, Reference, Reveal, ServerField, Template, TemplateError};

/// What a template's place in the statement is, as MariaDB's lexer reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Inside `'…'`: any value, escaped.
    Literal,
    /// Outside any literal: only a port.
    Code,
    /// Inside `"…"`: a string by default, an identifier under `ANSI_QUOTES`.
    DoubleQuoted,
    /// Inside `` `…` ``.
    Identifier,
    /// In `-- …`, `# …` or `/* … */` (not `/*! … */`, which is code).
    Comment,
    /// Right after a backslash inside a string: the backslash would escape the value.
    Escaped,
}

/// A template in a place where its value cannot be written safely.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SqlContextError {
    pub message: String,
    pub help: String,
    /// The template's range inside the statement.
    pub range: Range<usize>,
}

/// Why a value cannot stand inside `'…'` the same under every `sql_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unwritable {
    #[error("a backslash")]
    Backslash,
    #[error("a NUL character")]
    Nul,
}

/// How the server's lexer may read a statement: with or without backslash escapes
/// (`NO_BACKSLASH_ESCAPES`), `"…"` as a string or an identifier (`ANSI_QUOTES`).
#[derive(Clone, Copy)]
struct Mode {
    backslash_escapes: bool,
    ansi_quotes: bool,
}

const MODES: [Mode; 4] = [
    Mode {
        backslash_escapes: true,
        ansi_quotes: false,
    },
    Mode {
        backslash_escapes: false,
        ansi_quotes: false,
    },
    Mode {
        backslash_escapes: true,
        ansi_quotes: true,
    },
    Mode {
        backslash_escapes: false,
        ansi_quotes: true,
    },
];

/// Every template of a statement that sits where it cannot be written safely.
pub fn check(t: &Template) -> Vec<SqlContextError> {
    let reads: Vec<Vec<Place>> = MODES.iter().map(|m| places(t, *m)).collect();
    t.references()
        .enumerate()
        .filter_map(|(k, (reference, range))| {
            let written = t.source.get(range.clone()).unwrap_or("{{ … }}");
            let seen: Vec<Option<Place>> = reads.iter().map(|r| r.get(k).copied()).collect();
            // A backslash right before a template is the clearer story: tell that one.
            let place = if seen.contains(&Some(Place::Escaped)) {
                Place::Escaped
            } else {
                seen[0].unwrap_or(Place::Code)
            };
            let same = place == Place::Escaped || seen.iter().all(|p| *p == Some(place));
            refusal(reference, written, place, same).map(|(message, help)| SqlContextError {
                message,
                help,
                range: range.clone(),
            })
        })
        .collect()
}

/// The inside of a `'…'` literal holding `value`, read the same under every `sql_mode`.
pub fn escape_literal(value: &str) -> Result<String, Unwritable> {
    if value.contains('\\') {
        return Err(Unwritable::Backslash);
    }
    if value.contains('\0') {
        return Err(Unwritable::Nul);
    }
    Ok(value.replace('\'', "''"))
}

/// The statement with each value written for its place; secrets as `****` unless revealed.
/// Refuses what `check` refuses, and a value `escape_literal` cannot write.
pub fn render(t: &Template, ctx: &dyn Context, reveal: Reveal) -> Result<String, TemplateError> {
    let fail = |message: String, range: &Range<usize>| TemplateError {
        message,
        range: range.clone(),
    };
    if let Some(e) = check(t).into_iter().next() {
        return Err(fail(e.message, &e.range));
    }
    let mut out = String::with_capacity(t.source.len());
    let mut rest = 0;
    for ((reference, range), place) in t.references().zip(places(t, MODES[0])) {
        let written = t.source.get(range.clone()).unwrap_or("{{ … }}");
        out.push_str(t.source.get(rest..range.start).unwrap_or(""));
        rest = range.end;
        let value = match reference {
            Reference::Secret(_) if reveal == Reveal::Masked => {
                out.push_str(MASK);
                continue;
            }
            Reference::Var(n) => ctx.var(n),
            Reference::Secret(n) => ctx.secret(n),
            Reference::Fact { subject, field } => ctx.fact(subject, *field),
        };
        let Some(value) = value else {
            return Err(fail(format!("{written} has no value"), range));
        };
        match place {
            Place::Literal => match escape_literal(&value) {
                Ok(v) => out.push_str(&v),
                Err(why) => {
                    return Err(fail(
                        format!(
                            "the value of {written} holds {why}, which MariaDB reads differently \
                             with and without sql_mode NO_BACKSLASH_ESCAPES: not sent"
                        ),
                        range,
                    ));
                }
            },
            _ if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                out.push_str(&value);
            }
            _ => return Err(fail(format!("{written} is not a number"), range)),
        }
    }
    out.push_str(t.source.get(rest..).unwrap_or(""));
    Ok(out)
}

/// Why a template may not stand where it does (message, help), or `None` when it may.
fn refusal(
    reference: &Reference,
    written: &str,
    place: Place,
    same_in_every_mode: bool,
) -> Option<(String, String)> {
    let quoted = format!("'{written}'");
    if !same_in_every_mode {
        return Some((
            format!(
                "{written} is read in a different place depending on sql_mode \
                 (NO_BACKSLASH_ESCAPES, ANSI_QUOTES): a backslash in a string before it"
            ),
            "write no backslash in the strings of this statement".into(),
        ));
    }
    let (what, help) = match place {
        Place::Literal => return None,
        Place::Code
            if matches!(
                reference,
                Reference::Fact {
                    field: ServerField::Port,
                    ..
                }
            ) =>
        {
            return None;
        }
        Place::Code => (
            "outside a quoted string literal".to_string(),
            format!(
                "write it inside single quotes, as {quoted}; only a port \
                 ({{{{ SUBJECT.port }}}}) may stand bare, as a number"
            ),
        ),
        Place::DoubleQuoted => (
            "inside a \"…\" string, which names an identifier under sql_mode ANSI_QUOTES"
                .to_string(),
            format!("use single quotes: {quoted}"),
        ),
        Place::Identifier => (
            "inside a `…` identifier: a value cannot name a table, column or database".to_string(),
            "write the name itself in the runbook, or compare with the value as a string \
             literal"
                .into(),
        ),
        Place::Comment => (
            "inside a comment, which a value holding a line break or */ would end".to_string(),
            "take it out of the comment".into(),
        ),
        Place::Escaped => (
            "right after a backslash, which would escape the value's first character".to_string(),
            "remove the backslash before it".into(),
        ),
    };
    Some((format!("{written} is {what}"), help))
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Code,
    Single,
    Double,
    Backtick,
    LineComment,
    BlockComment,
}

/// The place of each template in order, as MariaDB's lexer reads the statement in `mode`.
/// A template is one opaque token that is neither a quote nor a space.
fn places(t: &Template, mode: Mode) -> Vec<Place> {
    let src = t.source.as_bytes();
    let refs: Vec<Range<usize>> = t.references().map(|(_, r)| r.clone()).collect();
    // The byte `ahead` bytes after `i`.
    let at = |i: usize, ahead: usize| -> Option<u8> {
        let j = i.checked_add(ahead)?;
        if refs.iter().any(|r| r.start == j) {
            None // a template: not a quote, not a space
        } else {
            src.get(j).copied()
        }
    };
    let mut out = Vec::with_capacity(refs.len());
    let mut state = State::Code;
    let mut i = 0;
    while i < src.len() {
        if let Some(r) = refs.iter().find(|r| r.start == i) {
            out.push(match state {
                State::Code => Place::Code,
                State::Single => Place::Literal,
                State::Double => Place::DoubleQuoted,
                State::Backtick => Place::Identifier,
                State::LineComment | State::BlockComment => Place::Comment,
            });
            i = r.end;
            continue;
        }
        let c = src[i];
        let next = at(i, 1);
        let (new_state, step) = match state {
            State::Code => match (c, next) {
                (b'\'', _) => (State::Single, 1),
                (b'"', _) => (State::Double, 1),
                (b'`', _) => (State::Backtick, 1),
                (b'#', _) => (State::LineComment, 1),
                (b'-', Some(b'-'))
                    if i.saturating_add(2) == src.len() || at(i, 2).is_some_and(|b| b <= b' ') =>
                {
                    (State::LineComment, 2)
                }
                // `/*! … */` and `/*M! … */` are executed: their inside is code.
                (b'/', Some(b'*'))
                    if at(i, 2) == Some(b'!')
                        || (at(i, 2) == Some(b'M') && at(i, 3) == Some(b'!')) =>
                {
                    (State::Code, 2)
                }
                (b'/', Some(b'*')) => (State::BlockComment, 2),
                _ => (State::Code, 1),
            },
            State::Single | State::Double | State::Backtick => {
                let quote = match state {
                    State::Single => b'\'',
                    State::Double => b'"',
                    _ => b'`',
                };
                if c == quote && next == Some(quote) {
                    (state, 2)
                } else if c == quote {
                    (State::Code, 1)
                } else if c == b'\\'
                    && mode.backslash_escapes
                    && (state == State::Single || (state == State::Double && !mode.ansi_quotes))
                {
                    let after = i.saturating_add(1);
                    if next.is_none() && after < src.len() {
                        out.push(Place::Escaped);
                        // The template after it is accounted for: skip it whole.
                        let end = refs
                            .iter()
                            .find(|r| r.start == after)
                            .map_or(after.saturating_add(1), |r| r.end);
                        (state, end.saturating_sub(i))
                    } else {
                        (state, 2)
                    }
                } else {
                    (state, 1)
                }
            }
            State::LineComment if c == b'\n' => (State::Code, 1),
            State::BlockComment if c == b'*' && next == Some(b'/') => (State::Code, 2),
            State::LineComment | State::BlockComment => (state, 1),
        };
        state = new_state;
        i = i.saturating_add(step);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str) -> Vec<String> {
        let t = Template::parse(sql).expect("template parses");
        check(&t).into_iter().map(|e| e.message).collect()
    }

    #[test]
    fn literals_and_ports_pass() {
        for ok in [
            "SET @x = '{{ vars.x }}'",
            "CHANGE MASTER TO MASTER_HOST='{{ primary.host }}', MASTER_PORT={{ primary.port }}",
            "SELECT 'it''s {{ vars.x }}', \"a\" -- a comment",
            "SELECT /*! '{{ vars.x }}' */ 1",
            "SELECT 'a' '{{ vars.x }}'",
        ] {
            assert_eq!(refused(ok), Vec::<String>::new(), "{ok}");
        }
    }

    #[test]
    fn every_other_place_is_refused() {
        for (bad, what) in [
            ("SELECT {{ vars.x }}", "outside a quoted string literal"),
            ("SELECT 'a'{{ vars.x }}'", "outside a quoted string literal"),
            ("SELECT \"{{ vars.x }}\"", "inside a \"…\" string"),
            ("SELECT `{{ vars.x }}`", "inside a `…` identifier"),
            ("SELECT 1 -- {{ vars.x }}", "inside a comment"),
            ("SELECT 1 # '{{ vars.x }}'", "inside a comment"),
            ("SELECT /* '{{ vars.x }}' */ 1", "inside a comment"),
            ("SELECT 'a\\{{ vars.x }}'", "right after a backslash"),
            ("SELECT 'a\\' , {{ vars.x }} '", "different place"),
            ("SELECT \"a\\\" x\" '{{ vars.x }}'", "different place"),
            (
                "SELECT {{ target.host }}",
                "outside a quoted string literal",
            ),
        ] {
            let got = refused(bad);
            assert_eq!(got.len(), 1, "{bad}: {got:?}");
            assert!(got[0].contains(what), "{bad}: {got:?}");
        }
    }

    #[test]
    fn escaping_doubles_quotes_and_refuses_backslashes() {
        assert_eq!(
            escape_literal("x'; DROP TABLE t; --").as_deref(),
            Ok("x''; DROP TABLE t; --")
        );
        assert_eq!(escape_literal("a\\'b"), Err(Unwritable::Backslash));
        assert_eq!(escape_literal("a\0b"), Err(Unwritable::Nul));
    }
}
