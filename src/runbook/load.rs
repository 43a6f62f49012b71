//! Reading a runbook file into the validated model, collecting every error.
//!
//! The document is parsed once into a spanned tree; each top-level table, each phase and
//! each step is then deserialized on its own, so one bad step does not hide the others.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::condition::Condition;
use super::model::{Meta, Note, NoteKind, Phase, Runbook};
use super::raw::{RawMeta, RawNote, RawPhase, RawPins, RawSecrets, RawStep, RawVars};
use super::step::convert_step;
use crate::diag::{Diagnostics, SourceError, SourceFile};

const TOP_LEVEL: [&str; 5] = ["runbook", "vars", "secrets", "pins", "phase"];

/// Loads a runbook: the model of everything that could be read, and every error found.
///
/// Only a TOML syntax error stops it early; otherwise a bad step is left out of the model
/// and reported, so that validation can still look at the rest.
/// `overrides` are the inventory's `[vars]`, which win over the runbook's own.
pub fn load(
    file: &SourceFile,
    overrides: &BTreeMap<String, String>,
) -> Result<(Runbook, Diagnostics), Diagnostics> {
    // A recovered tree after a syntax error would only add confusing follow-ups.
    let root = crate::diag::parse_document(file)?;
    let root_span = root.span();
    let mut reader = Reader {
        file,
        diags: Diagnostics::default(),
        vars: BTreeMap::new(),
    };
    let mut meta = None;
    let mut runbook = Runbook {
        meta: Meta::default(),
        vars: Default::default(),
        secrets: Default::default(),
        pins: Default::default(),
        phases: Vec::new(),
    };
    let mut phases_value = None;
    for (key, value) in root.into_inner() {
        match key.get_ref().as_ref() {
            "runbook" => meta = reader.de::<RawMeta>(value),
            "vars" => runbook.vars = reader.de::<RawVars>(value).unwrap_or_default(),
            "secrets" => runbook.secrets = reader.de::<RawSecrets>(value).unwrap_or_default(),
            "pins" => {
                let pins = reader.de::<RawPins>(value).unwrap_or_default();
                runbook.pins = pins.into_iter().map(|(k, v)| (k, located(v))).collect();
            }
            "phase" => phases_value = Some(value),
            other => reader.error(
                key.span(),
                format!("unknown top-level table `{other}`"),
                Some(format!("expected one of: {}", TOP_LEVEL.join(", "))),
            ),
        }
    }
    match meta {
        Some(m) => runbook.meta = convert_meta(m),
        None if reader.diags.is_empty() => reader.error(
            root_span.start..root_span.start,
            "missing `[runbook]` table".into(),
            Some("a runbook starts with [runbook] and at least `name = \"…\"`".into()),
        ),
        None => {}
    }
    // Conditions inside the phases may fill in vars: read them first.
    reader.vars = runbook.vars.clone();
    reader.vars.extend(overrides.clone());
    match phases_value {
        Some(v) => runbook.phases = reader.phases(v),
        None => reader.error(
            root_span.start..root_span.start,
            "the runbook has no `[[phase]]`".into(),
            None,
        ),
    }
    reader.check_unique_ids(&runbook);
    runbook.default_probes();
    Ok((runbook, reader.diags))
}

pub(super) struct Reader<'f> {
    pub file: &'f SourceFile,
    pub diags: Diagnostics,
    /// The runbook's vars with the inventory's overrides, for conditions.
    pub vars: BTreeMap<String, String>,
}

impl Reader<'_> {
    pub fn error(&mut self, span: Range<usize>, message: String, help: Option<String>) {
        let mut e = SourceError::new(self.file, span, message);
        if let Some(h) = help {
            e = e.help(h);
        }
        self.diags.push(e);
    }

    pub fn de<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'_>>) -> Option<T> {
        crate::diag::deserialize_at(self.file, value, &mut self.diags)
    }

    fn phases(&mut self, value: Spanned<DeValue<'_>>) -> Vec<Phase> {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.error(
                span,
                "`phase` must be an array of tables: [[phase]]".into(),
                None,
            );
            return Vec::new();
        };
        let mut phases = Vec::new();
        for item in items {
            let span = item.span();
            let DeValue::Table(table) = item.into_inner() else {
                self.error(span, "a phase must be a table".into(), None);
                continue;
            };
            // The steps are read one by one, so take them out of the phase's own fields.
            let mut own = DeTable::new();
            let mut steps = None;
            for (k, v) in table {
                if k.get_ref() == "step" {
                    steps = Some(v);
                } else {
                    own.insert(k, v);
                }
            }
            let raw = self.de::<RawPhase>(Spanned::new(span.clone(), DeValue::Table(own)));
            // A phase with a bad field still has its steps read, so that gates naming them
            // do not report them missing.
            let steps = match steps {
                Some(v) => self.steps(v),
                None => Vec::new(),
            };
            let Some(raw) = raw else {
                phases.push(Phase {
                    id: String::new(),
                    title: String::new(),
                    why: None,
                    notes: Vec::new(),
                    steps,
                    repeat: None,
                    repetition: None,
                });
                continue;
            };
            // `@` marks the copies of a for_each phase (`stop@server3`): a written id
            // holding one could meet a copy.
            if raw.id.get_ref().contains('@') {
                self.error(
                    raw.id.span(),
                    format!("phase id `{}` holds `@`", raw.id.get_ref()),
                    Some("`@` marks the copies of a for_each phase; choose another id".into()),
                );
            }
            let repeat = super::repeat::for_each(self, raw.for_each, raw.order);
            phases.push(Phase {
                id: raw.id.into_inner(),
                title: raw.title,
                why: raw.why,
                notes: self.notes(raw.notes),
                steps,
                repeat,
                repetition: None,
            });
        }
        phases
    }

    fn steps(&mut self, value: Spanned<DeValue<'_>>) -> Vec<super::model::Step> {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.error(
                span,
                "`step` must be an array of tables: [[phase.step]]".into(),
                None,
            );
            return Vec::new();
        };
        let mut steps = Vec::new();
        for item in items {
            if let Some(step) = self
                .de::<RawStep>(item)
                .and_then(|raw| convert_step(self, raw))
            {
                steps.push(step);
            }
        }
        steps
    }

    pub fn notes(&mut self, raw: Vec<Spanned<RawNote>>) -> Vec<Note> {
        raw.into_iter()
            .filter_map(|n| {
                let n = n.into_inner();
                let kind = match n.kind.get_ref().as_str() {
                    "note" => NoteKind::Note,
                    "tip" => NoteKind::Tip,
                    "warning" => NoteKind::Warning,
                    other => {
                        self.error(
                            n.kind.span(),
                            format!("unknown note kind `{other}`"),
                            Some("expected one of: note, tip, warning".into()),
                        );
                        return None;
                    }
                };
                Some(Note { kind, text: n.text })
            })
            .collect()
    }

    fn check_unique_ids(&mut self, runbook: &Runbook) {
        let mut seen: HashMap<&str, Range<usize>> = HashMap::new();
        for (_, step) in runbook.steps() {
            if let Some(first) = seen.get(step.id.value.as_str()) {
                let (line, _) = self.file.line_col(first.start);
                self.error(
                    step.id.span.clone(),
                    format!("duplicate step id `{}`", step.id.value),
                    Some(format!(
                        "first used on line {line}; step ids must be unique"
                    )),
                );
            } else {
                seen.insert(&step.id.value, step.id.span.clone());
            }
        }
        let mut phase_ids: HashMap<&str, ()> = HashMap::new();
        for phase in &runbook.phases {
            if phase_ids.insert(&phase.id, ()).is_some() {
                let span = phase_span(self.file, &phase.id);
                self.error(span, format!("duplicate phase id `{}`", phase.id), None);
            }
        }
    }
}

/// Best effort place of a phase id (phases keep no span of their own).
fn phase_span(file: &SourceFile, id: &str) -> Range<usize> {
    let needle = format!("\"{id}\"");
    match file.text.rmatch_indices(&needle).next() {
        Some((i, _)) => i..i.saturating_add(needle.len()),
        None => 0..0,
    }
}

fn convert_meta(m: RawMeta) -> Meta {
    Meta {
        name: m.name,
        description: m.description,
        from_version: m.from_version,
        to_version: m.to_version,
        roles: m.roles.into_iter().map(located).collect(),
        servers: m.servers.into_iter().map(located).collect(),
        source: m.source,
    }
}

pub(super) fn located<T>(s: Spanned<T>) -> super::model::Located<T> {
    let span = s.span();
    super::model::Located::new(s.into_inner(), span)
}

/// A condition of a gate, `wait` or `check`. Its `{{ vars.NAME }}` enter as literal values
/// (never as condition text), and an error points at its place in the file.
pub(super) fn condition(r: &mut Reader<'_>, s: &Spanned<String>) -> Option<Condition> {
    let span = s.span();
    match Condition::parse_with_vars(s.get_ref(), span.clone(), &r.vars) {
        Ok(c) => Some(c),
        Err(e) => {
            let start = value_offset(r.file, &span, e.range.start);
            let end = value_offset(r.file, &span, e.range.end).max(start);
            r.error(start..end, format!("condition: {}", e.message), e.help);
            None
        }
    }
}

/// The file offset of byte `at` of a string value's decoded text: escapes (`\"`, `\\`,
/// `\u…`) and a `"""` string's line-ending backslash are walked over, so a column is right
/// after them too.
pub(super) fn value_offset(file: &SourceFile, span: &Range<usize>, at: usize) -> usize {
    let start = content_start(file, span);
    let raw = file.text.get(start..span.end).unwrap_or("");
    let basic = file
        .text
        .get(span.clone())
        .is_some_and(|t| t.starts_with('"'));
    if !basic {
        return start.saturating_add(at);
    }
    let mut chars = raw.char_indices().peekable();
    let mut decoded = 0;
    while let Some((i, c)) = chars.next() {
        if decoded >= at {
            return start.saturating_add(i);
        }
        if c != '\\' {
            decoded = decoded.saturating_add(c.len_utf8());
            continue;
        }
        match chars.next() {
            Some((_, 'u')) => skip_escape(&mut chars, 4, &mut decoded),
            Some((_, 'U')) => skip_escape(&mut chars, 8, &mut decoded),
            // A line-ending backslash: the line break and the next line's indent vanish.
            Some((_, w)) if w.is_whitespace() => {
                while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            }
            Some(_) => decoded = decoded.saturating_add(1),
            None => {}
        }
    }
    start.saturating_add(raw.len().min(at))
}

fn skip_escape(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    digits: usize,
    decoded: &mut usize,
) {
    let hex: String = (0..digits)
        .filter_map(|_| chars.next().map(|(_, c)| c))
        .collect();
    let len = u32::from_str_radix(&hex, 16)
        .ok()
        .and_then(char::from_u32)
        .map_or(1, char::len_utf8);
    *decoded = decoded.saturating_add(len);
}

/// `range` of a value's text as a range of the file, the text starting at `by`.
pub(super) fn shift(range: &Range<usize>, by: usize) -> Range<usize> {
    by.saturating_add(range.start)..by.saturating_add(range.end)
}

/// Byte offset of a string value's first character, after its opening quotes.
///
/// Exact for strings without escapes before the offset, which is what runbooks hold.
pub(super) fn content_start(file: &SourceFile, span: &Range<usize>) -> usize {
    let raw = file.text.get(span.clone()).unwrap_or("");
    let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        // The three quotes, and a line break right after them (not part of the string).
        let after = &raw[3..];
        if after.starts_with("\r\n") {
            5
        } else if after.starts_with('\n') {
            4
        } else {
            3
        }
    } else if raw.starts_with('"') || raw.starts_with('\'') {
        1
    } else {
        0
    };
    span.start.saturating_add(quote)
}
