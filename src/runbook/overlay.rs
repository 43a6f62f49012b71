//! A runbook that extends another: `[runbook] extends = "BASE.toml"`, its own `[vars]`, and
//! `[[override]]` tables that replace host-level steps of the base by id.
//!
//! The lab rehearses the production runbook itself this way: only what touches the host
//! (services, packages, repositories, SELinux) may differ, so an `sql`, `maxscale`, `wait`
//! or `check` step runs in the lab exactly as written for production. An override may
//! replace a `shell`, `manual` or `note` step, by a step of one of those kinds; anything
//! else is refused where it is written. Phases, gates, pins and secrets all come from the
//! base; errors point into the file they are in.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::load::{Reader, load};
use super::model::{Overridden, Runbook};
use super::raw::{RawStep, RawVars};
use super::step::convert_step;
use crate::diag::{Diagnostics, SourceError, SourceFile};

/// Step kinds that act on the host itself and so may differ between a lab and production.
pub const HOST_LEVEL: [&str; 3] = ["shell", "manual", "note"];

/// `[runbook]` of a runbook that extends another.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOverlayMeta {
    /// The runbook this one extends, relative to this file: its phases, steps, gates,
    /// pins and secrets are this runbook's.
    #[schemars(with = "String")]
    extends: Spanned<String>,
    /// This runbook's name (default: the base's).
    name: Option<String>,
    /// What this runbook does (default: the base's).
    description: Option<String>,
    /// The document it encodes (default: the base's).
    source: Option<String>,
    /// The version upgraded from (default: `vars.from_version`, else the base's).
    from_version: Option<String>,
    /// The version upgraded to (default: `vars.to_version`, else the base's).
    to_version: Option<String>,
}

/// Whether the runbook extends another (`[runbook] extends`). A file that does not parse
/// says no: the ordinary loader reports its syntax errors.
pub fn extends_another(file: &SourceFile) -> bool {
    toml::from_str::<toml::Table>(&file.text)
        .ok()
        .and_then(|doc| doc.get("runbook")?.get("extends").cloned())
        .is_some()
}

/// The base runbook with the overlay's vars and overrides applied, the base file, and
/// every error (each in its own file).
pub fn load_overlay(
    overlay: &SourceFile,
    inventory_vars: &BTreeMap<String, String>,
) -> Result<(Runbook, SourceFile), Diagnostics> {
    let root = crate::diag::parse_document(overlay)?;
    let mut diags = Diagnostics::default();
    let mut meta = None;
    let mut vars = RawVars::new();
    let mut overrides = None;
    for (key, value) in root.into_inner() {
        match key.get_ref().as_ref() {
            "runbook" => {
                meta = crate::diag::deserialize_at::<RawOverlayMeta>(overlay, value, &mut diags)
            }
            "vars" => {
                vars = crate::diag::deserialize_at(overlay, value, &mut diags).unwrap_or_default()
            }
            "override" => overrides = Some(value),
            other => diags.push(
                SourceError::new(
                    overlay,
                    key.span(),
                    format!("`{other}` has no place in a runbook that extends another"),
                )
                .help(
                    "it holds [runbook] (extends, name, description), [vars] and \
                     [[override]]; phases, steps, secrets and pins come from the base",
                ),
            ),
        }
    }
    let Some(meta) = meta else {
        return Err(diags);
    };
    let base_path = overlay.path.parent().map_or_else(
        || PathBuf::from(meta.extends.get_ref()),
        |d| d.join(meta.extends.get_ref()),
    );
    let base = match SourceFile::read(&base_path) {
        Ok(b) => b,
        Err(e) => {
            diags.push(SourceError::new(
                overlay,
                meta.extends.span(),
                format!("cannot read the runbook this one extends: {e}"),
            ));
            return Err(diags);
        }
    };
    // The base's vars, then the overlay's, then the inventory's: the last word wins.
    let mut merged = vars.clone();
    merged.extend(inventory_vars.clone());
    let (mut runbook, base_diags) = load(&base, &merged)?;
    diags.extend(base_diags);
    runbook.vars.extend(vars);
    if let Some(name) = meta.name {
        runbook.meta.name = name;
    }
    if meta.description.is_some() {
        runbook.meta.description = meta.description;
    }
    if meta.source.is_some() {
        runbook.meta.source = meta.source;
    }
    let mut vars_for_conditions = runbook.vars.clone();
    vars_for_conditions.extend(inventory_vars.clone());
    // The versions rehearsed are the overlay's, else its vars' (a lab's builds), not the
    // base's production versions.
    runbook.meta.from_version = meta
        .from_version
        .or_else(|| vars_for_conditions.get("from_version").cloned())
        .or(runbook.meta.from_version);
    runbook.meta.to_version = meta
        .to_version
        .or_else(|| vars_for_conditions.get("to_version").cloned())
        .or(runbook.meta.to_version);
    let mut reader = Reader {
        file: overlay,
        diags: Diagnostics::default(),
        vars: vars_for_conditions,
    };
    if let Some(value) = overrides {
        apply(&mut reader, &mut runbook, &base, value);
    }
    diags.extend(reader.diags);
    if diags.is_empty() {
        Ok((runbook, base))
    } else {
        Err(diags)
    }
}

/// Reads each `[[override]]` as a step whose id is its `step`, and puts it in place of
/// that step of the base.
fn apply(
    reader: &mut Reader<'_>,
    runbook: &mut Runbook,
    base: &SourceFile,
    value: Spanned<DeValue<'_>>,
) {
    let span = value.span();
    let DeValue::Array(items) = value.into_inner() else {
        reader.error(
            span,
            "`override` must be an array of tables: [[override]]".into(),
            None,
        );
        return;
    };
    let mut seen: BTreeMap<String, Range<usize>> = BTreeMap::new();
    for item in items {
        let span = item.span();
        let DeValue::Table(table) = item.into_inner() else {
            reader.error(span, "an override must be a table".into(), None);
            continue;
        };
        let Some((step_span, id, table)) = as_step(reader, span.clone(), table) else {
            continue;
        };
        if let Some(first) = seen.insert(id.clone(), step_span.clone()) {
            let (line, _) = reader.file.line_col(first.start);
            reader.error(
                step_span,
                format!("step `{id}` is overridden twice"),
                Some(format!("the first override is on line {line}")),
            );
            continue;
        }
        let Some(base_step) = runbook
            .steps()
            .find(|(_, s)| s.id.value == id)
            .map(|(_, s)| s)
        else {
            reader.error(
                step_span,
                format!("no step `{id}` in {}", base.path.display()),
                Some("an override names the id of a step of the runbook it extends".into()),
            );
            continue;
        };
        let base_kind = base_step.action.kind();
        let (base_line, _) = base.line_col(base_step.id.span.start);
        if !HOST_LEVEL.contains(&base_kind) {
            reader.error(
                step_span,
                format!(
                    "`{id}` is a {base_kind} step ({}:{base_line}): it runs in the lab exactly \
                     as written for production",
                    base.path.display()
                ),
                Some(
                    "only shell, manual and note steps, which act on the host, may be overridden"
                        .into(),
                ),
            );
            continue;
        }
        let before = reader.diags.len();
        let Some(mut step) = reader
            .de::<RawStep>(Spanned::new(span.clone(), DeValue::Table(table)))
            .and_then(|raw| convert_step(reader, raw))
        else {
            continue;
        };
        let kind = step.action.kind();
        if !HOST_LEVEL.contains(&kind) {
            reader.error(
                step_span,
                format!("an override is a shell, manual or note step, not {kind}"),
                None,
            );
            continue;
        }
        if reader.diags.len() > before {
            continue;
        }
        step.overridden = Some(Overridden {
            base_kind,
            base: base.path.clone(),
            base_line,
            file: reader.file.path.clone(),
        });
        for phase in &mut runbook.phases {
            for slot in &mut phase.steps {
                if slot.id.value == id {
                    *slot = step.clone();
                }
            }
        }
    }
    runbook.default_probes();
}

/// The override's table with its `step` turned into the step's `id`.
fn as_step<'a>(
    reader: &mut Reader<'_>,
    span: Range<usize>,
    table: DeTable<'a>,
) -> Option<(Range<usize>, String, DeTable<'a>)> {
    let mut out = DeTable::new();
    let mut step = None;
    for (k, v) in table {
        if k.get_ref() == "id" {
            reader.error(
                k.span(),
                "an override names its step with `step`, not `id`".into(),
                None,
            );
            return None;
        }
        if k.get_ref() == "step" {
            step = Some((k, v));
        } else {
            out.insert(k, v);
        }
    }
    let Some((key, value)) = step else {
        reader.error(
            span.start..span.start,
            "an [[override]] names the step it replaces: step = \"ID\"".into(),
            None,
        );
        return None;
    };
    let value_span = value.span();
    let DeValue::String(id) = value.get_ref() else {
        reader.error(value_span, "`step` is a step id (a string)".into(), None);
        return None;
    };
    let id = id.to_string();
    out.insert(Spanned::new(key.span(), Cow::Borrowed("id")), value);
    Some((value_span, id, out))
}
