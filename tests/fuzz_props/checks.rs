//! The properties themselves, shared by the proptest suite (`tests/fuzz_props.rs`) and the
//! cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, which include this file by path), so both
//! fuzzers hold the parsers to the same promises. Each check returns the broken promise
//! as text; a panic inside a parser is the other way to fail.

use std::collections::BTreeMap;

use flightdeck::diag::{Diagnostics, SourceFile};
use flightdeck::inventory::{self, Inventory};
use flightdeck::maxscale::{
    CommandResult, Document, MaxscaleMonitor, MaxscaleServer, ResponseBody,
};
use flightdeck::poll::GtidPos;
use flightdeck::runbook::check_text;
use flightdeck::runbook::condition::{Condition, Fact};
use flightdeck::runbook::eval::{FactSource, FactValue, evaluate};
use flightdeck::runbook::roles::RoleError;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub type Verdict = Result<(), String>;

/// The name every fuzzed file is loaded under, so locations can be checked as text.
pub const FILE: &str = "fuzz.toml";

/// How many diagnostics of one file are rendered with their excerpt.
const RENDERED: usize = 8;

/// Every diagnostic names a line and column that exist in `text` (one past the end of a
/// line, or the line after the last, is where "expected more" errors point), has a
/// message, and the first [`RENDERED`] render with their excerpt.
pub fn diagnostics_inside(text: &str, diags: &Diagnostics) -> Verdict {
    if diags.is_empty() {
        return Err("a rejected file with no diagnostic".into());
    }
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, e) in diags.errors.iter().enumerate() {
        let Some(line) = lines.get(e.line.wrapping_sub(1)) else {
            return Err(format!("{}: line {} of {}", e.message, e.line, lines.len()));
        };
        let width = line.chars().count() + 1;
        if e.column == 0 || e.column > width {
            return Err(format!("{}: column {} of {width}", e.message, e.column));
        }
        if e.message.trim().is_empty() {
            return Err(format!("empty message at {}", e.location()));
        }
        if e.location() != format!("{FILE}:{}:{}", e.line, e.column) {
            return Err(format!("location {} is not file:line:col", e.location()));
        }
        // miette reads each excerpt from the file's start: rendering hundreds of errors of
        // a mangled 40 KB file made the fuzzer run 3 inputs a second. A few show whether
        // spans render; every error's place is checked above.
        if i >= RENDERED {
            continue;
        }
        let rendered = e.render(false);
        if !rendered.contains(&e.location()) {
            return Err(format!("the rendering lacks {}: {rendered}", e.location()));
        }
    }
    Ok(())
}

/// A runbook's text loads, or is refused with diagnostics inside it.
pub fn runbook_text(text: &str, inventory: Option<&Inventory>) -> Verdict {
    match check_text(SourceFile::new(FILE, text), inventory) {
        Ok(loaded) => {
            // What the plan and the cockpit read off a loaded runbook.
            let _ = format!("{:?}", loaded.runbook);
            Ok(())
        }
        Err(diags) => diagnostics_inside(text, &diags),
    }
}

/// An inventory's text loads, or is refused with diagnostics inside it.
pub fn inventory_text(text: &str) -> Verdict {
    match inventory::parse(std::path::Path::new(FILE), text) {
        Ok(inv) => {
            let _ = format!("{:?}", inv.servers);
            Ok(())
        }
        Err(diags) => diagnostics_inside(text, &diags),
    }
}

/// Facts for evaluating any condition: every subject but `nobody` names servers, and each
/// fact has a value chosen from the server's and the fact's names, unknown included.
pub struct FuzzFacts;

impl FactSource for FuzzFacts {
    fn resolve(&self, subject: &str) -> Result<Vec<String>, RoleError> {
        match subject {
            "nobody" => Err(RoleError::Unknown(subject.to_owned())),
            "none" => Ok(Vec::new()),
            "replicas" => Ok(vec!["server2".into(), "server3".into()]),
            other => Ok(vec![other.to_owned()]),
        }
    }

    fn fact(&self, server: &str, fact: Fact) -> FactValue {
        let pick = server.len() % 4;
        if pick == 3 {
            return FactValue::Unknown("down".into());
        }
        match fact {
            Fact::Up | Fact::IoRunning | Fact::SqlRunning | Fact::ReadOnly => {
                FactValue::Bool(pick == 0)
            }
            Fact::SecondsBehind | Fact::ServerId => FactValue::Int(pick as i64 - 1),
            _ => FactValue::Text(format!("{server} 11.4.5-MariaDB Master, Running")),
        }
    }

    fn caught_up(&self, replica: &str, primary: &str) -> Result<bool, String> {
        match (replica.len() + primary.len()) % 3 {
            0 => Ok(true),
            1 => Ok(false),
            _ => Err("no gtid_binlog_pos".into()),
        }
    }

    fn succeeded(&self, step_id: &str) -> bool {
        step_id.len() % 2 == 0
    }
}

/// The vars a fuzzed condition may name: `v` is the fuzzer's, the others as the shipped
/// runbooks use them.
pub fn condition_vars(v: &str) -> BTreeMap<String, String> {
    [
        ("v".to_owned(), v.to_owned()),
        ("from_version".to_owned(), "10.5".to_owned()),
        ("to_version".to_owned(), "11.4".to_owned()),
    ]
    .into()
}

/// A condition parses, or is refused with a range inside its text; a parsed one names
/// places inside its text and evaluates to a verdict with at least one observed fact.
pub fn condition_text(source: &str, v: &str) -> Verdict {
    let inside = |r: &std::ops::Range<usize>| {
        r.start <= r.end
            && r.end <= source.len()
            && source.is_char_boundary(r.start)
            && source.is_char_boundary(r.end)
    };
    match Condition::parse_with_vars(source, 0..source.len(), &condition_vars(v)) {
        Err(e) => {
            if !inside(&e.range) {
                return Err(format!(
                    "error range {:?} outside {} bytes",
                    e.range,
                    source.len()
                ));
            }
            if e.message.trim().is_empty() {
                return Err("empty condition error".into());
            }
            Ok(())
        }
        Ok(c) => {
            for s in c.subjects().into_iter().chain(c.step_refs()) {
                if !inside(&s.range) {
                    return Err(format!("`{}` at {:?} outside the text", s.name, s.range));
                }
            }
            let _ = c.to_string();
            let verdict = evaluate(&c, &FuzzFacts);
            if verdict.observed.is_empty() {
                return Err(format!("`{source}` evaluated with nothing observed"));
            }
            Ok(())
        }
    }
}

/// An input of the condition target: the condition, then NUL and the value of `vars.v`.
pub fn split_condition_input(text: &str) -> (&str, &str) {
    text.split_once('\0').unwrap_or((text, ""))
}

/// A parsed position prints as MariaDB writes it and reads back the same, and compares
/// with itself as "caught up, nothing errant".
pub fn gtid_round_trip(pos: &GtidPos) -> Verdict {
    let printed = pos.to_string();
    let back: GtidPos = printed
        .parse()
        .map_err(|e| format!("{printed} does not read back: {e}"))?;
    if &back != pos {
        return Err(format!("{printed} reads back as {back:?}, not {pos:?}"));
    }
    if !pos.has_reached(pos) {
        return Err(format!("{printed} has not reached itself"));
    }
    if !pos.errant_against(pos).is_empty() {
        return Err(format!("{printed} is errant against itself"));
    }
    Ok(())
}

/// Any text: a position or an error naming the text, never a panic.
pub fn gtid_text(text: &str) -> Verdict {
    match text.parse::<GtidPos>() {
        Ok(pos) => gtid_round_trip(&pos),
        Err(e) if e.0 != text => Err(format!("the error names {:?}, not {text:?}", e.0)),
        Err(_) => Ok(()),
    }
}

/// Comparing two positions domain by domain: `a` has reached `b` exactly when in every
/// domain of `b` its sequence is at least `b`'s; `a` is errant against `b` in exactly the
/// domains where it is ahead of `b` or `b` has nothing.
pub fn gtid_compare(a: &GtidPos, b: &GtidPos) -> Verdict {
    let seq = |p: &GtidPos, d: u32| p.domain(d).map_or(0, |g| g.sequence);
    let reached = b.0.keys().all(|d| seq(a, *d) >= seq(b, *d));
    if a.has_reached(b) != reached {
        return Err(format!("{a} has_reached {b}: {}", a.has_reached(b)));
    }
    for d in b.0.keys() {
        if a.behind_in(b, *d) != seq(b, *d).saturating_sub(seq(a, *d)) {
            return Err(format!("{a} behind {b} in domain {d}"));
        }
    }
    let errant: Vec<u32> =
        a.0.iter()
            .filter(|(d, g)| b.domain(**d).is_none_or(|p| g.sequence > p.sequence))
            .map(|(d, _)| *d)
            .collect();
    if a.errant_against(b) != errant {
        return Err(format!("{a} errant against {b}: {:?}", a.errant_against(b)));
    }
    // Reaching each other means the same sequence in every domain (a missing one is 0).
    let mutual = a.has_reached(b) && b.has_reached(a);
    let same =
        a.0.keys()
            .chain(b.0.keys())
            .all(|d| seq(a, *d) == seq(b, *d));
    if mutual != same {
        return Err(format!(
            "{a} and {b}: reach each other {mutual}, same sequences {same}"
        ));
    }
    Ok(())
}

/// A body decodes as `T` or is refused; a decoded one serializes (as the lab endpoint
/// serves it) and decodes back to the same value.
fn decodes_as<T>(bytes: &[u8], what: &str) -> Result<Option<T>, String>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let Ok(value) = serde_json::from_slice::<T>(bytes) else {
        return Ok(None);
    };
    let served =
        serde_json::to_vec(&value).map_err(|e| format!("{what} does not serialize: {e}"))?;
    let again: T = serde_json::from_slice(&served)
        .map_err(|e| format!("{what} as served does not decode: {e}"))?;
    let (before, after) = (serde_json::to_value(&value), serde_json::to_value(&again));
    if again != value && !matches!((&before, &after), (Ok(b), Ok(a)) if same_json(b, a)) {
        return Err(format!(
            "{what} changes when served and read back: {value:?} → {again:?}"
        ));
    }
    Ok(Some(value))
}

/// Equal JSON, but for the last digit of a float: serde_json (without its
/// `float_roundtrip` feature) may read a printed float back one unit in the last place off.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => {
                x == y || (x - y).abs() <= x.abs().max(y.abs()) * 1e-15
            }
            _ => x == y,
        },
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| same_json(x, y)))
        }
        _ => a == b,
    }
}

/// Any bytes as each MaxScale document flightdeck reads: a value or an error, and what the
/// pollers and executors then ask of the value answers without a panic.
pub fn maxscale_json(bytes: &[u8]) -> Verdict {
    if let Some(doc) = decodes_as::<Document<Vec<MaxscaleServer>>>(bytes, "servers")? {
        for s in &doc.data {
            let _ = (s.state().master, s.endpoint());
        }
    }
    if let Some(doc) = decodes_as::<Document<MaxscaleServer>>(bytes, "server")? {
        let _ = (doc.data.state().other.len(), doc.data.endpoint());
    }
    if let Some(doc) = decodes_as::<Document<MaxscaleMonitor>>(bytes, "monitor")? {
        let _ = (doc.data.master(), doc.data.diagnostics());
    }
    if let Some(doc) = decodes_as::<Document<Vec<MaxscaleMonitor>>>(bytes, "monitors")? {
        let _ = doc.data.iter().map(MaxscaleMonitor::master).count();
    }
    if let Some(body) = decodes_as::<ResponseBody>(bytes, "response body")? {
        let result = CommandResult::from_body(&body);
        let _ = (result.is_finished(), body.messages());
    }
    Ok(())
}
