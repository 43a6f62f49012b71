//! Binding a condition to one repetition of a `for_each` block: `item` becomes the
//! member's server name and `succeeded(ID)` names the step copies it means (see
//! `super::expand`). The expression is rewritten in place, never parsed again from text,
//! so a server name (which an inventory may spell with any character) is data, as a var
//! is; `shown` is rebuilt so that the plan and the screen say what is evaluated.

use std::ops::Range;

use super::condition::{Condition, Expr, Subject};
use super::template::ITEM;

impl Condition {
    /// The condition for member `item` (`None` outside a block), with each step id of
    /// `succeeded(…)` replaced by the ids `steps` gives for it: one (the same member's
    /// copy), or several (every copy; all must have succeeded).
    pub fn bind(&self, item: Option<&str>, steps: &dyn Fn(&str) -> Vec<String>) -> Condition {
        let mut edits = Vec::new();
        let expr = bind_expr(self.expr.clone(), &self.source, item, steps, &mut edits);
        edits.extend(self.fills.iter().cloned());
        edits.sort_by_key(|(range, _)| range.start);
        let mut shown = String::with_capacity(self.source.len());
        let mut rest = 0;
        for (range, text) in &edits {
            // Edits never overlap (each is one token or one call); skip one that would.
            if range.start < rest {
                continue;
            }
            shown.push_str(self.source.get(rest..range.start).unwrap_or(""));
            shown.push_str(text);
            rest = range.end;
        }
        shown.push_str(self.source.get(rest..).unwrap_or(""));
        Condition {
            source: self.source.clone(),
            shown,
            span: self.span.clone(),
            expr,
            fills: Vec::new(),
        }
    }
}

fn bind_expr(
    e: Expr,
    source: &str,
    item: Option<&str>,
    steps: &dyn Fn(&str) -> Vec<String>,
    edits: &mut Vec<(Range<usize>, String)>,
) -> Expr {
    let subject = |s: Subject, edits: &mut Vec<(Range<usize>, String)>| match item {
        Some(member) if s.name == ITEM => {
            edits.push((s.range.clone(), member.to_string()));
            Subject {
                name: member.to_string(),
                range: s.range,
            }
        }
        _ => s,
    };
    match e {
        Expr::Or(xs) => Expr::Or(
            xs.into_iter()
                .map(|x| bind_expr(x, source, item, steps, edits))
                .collect(),
        ),
        Expr::And(xs) => Expr::And(
            xs.into_iter()
                .map(|x| bind_expr(x, source, item, steps, edits))
                .collect(),
        ),
        Expr::Not(x) => Expr::Not(Box::new(bind_expr(*x, source, item, steps, edits))),
        Expr::Test { mut fact, cmp } => {
            fact.subject = subject(fact.subject, edits);
            Expr::Test { fact, cmp }
        }
        Expr::CaughtUp { replica, primary } => Expr::CaughtUp {
            replica: subject(replica, edits),
            primary: subject(primary, edits),
        },
        Expr::Succeeded(s) => {
            let ids = steps(&s.name);
            match ids.as_slice() {
                [one] if *one == s.name => Expr::Succeeded(s),
                [one] => {
                    edits.push((s.range.clone(), one.clone()));
                    Expr::Succeeded(Subject {
                        name: one.clone(),
                        range: s.range,
                    })
                }
                _ => {
                    let call = call_range(source, &s.range);
                    let each: Vec<String> = ids.iter().map(|i| format!("succeeded({i})")).collect();
                    let text = match &call {
                        Some(_) => format!("({})", each.join(" and ")),
                        None => ids.join(" and "),
                    };
                    edits.push((call.unwrap_or(s.range.clone()), text));
                    Expr::And(
                        ids.into_iter()
                            .map(|name| {
                                Expr::Succeeded(Subject {
                                    name,
                                    range: s.range.clone(),
                                })
                            })
                            .collect(),
                    )
                }
            }
        }
    }
}

/// The range of the whole `succeeded ( ID )` call around the id at `id`, if the text is
/// as the parser read it.
fn call_range(source: &str, id: &Range<usize>) -> Option<Range<usize>> {
    let before = source.get(..id.start)?.trim_end();
    let before = before.strip_suffix('(')?.trim_end();
    let start = before.strip_suffix("succeeded")?.len();
    let after = source.get(id.end..)?;
    let close = after.len().checked_sub(after.trim_start().len())?;
    after.get(close..)?.starts_with(')').then_some(())?;
    let end = id.end.checked_add(close)?.checked_add(1)?;
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse(s: &str) -> Condition {
        let vars = BTreeMap::from([("v".to_string(), "11.4".to_string())]);
        Condition::parse_with_vars(s, 0..0, &vars).unwrap()
    }

    #[test]
    fn item_becomes_the_member_in_the_expression_and_the_text() {
        let c = parse("item.io_running and item.version starts_with {{ vars.v }}");
        let b = c.bind(Some("server3"), &|id| vec![id.to_string()]);
        assert_eq!(
            b.to_string(),
            "server3.io_running and server3.version starts_with \"11.4\""
        );
        let names: Vec<&str> = b.subjects().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["server3", "server3"]);
    }

    #[test]
    fn succeeded_names_the_copies() {
        let c = parse("not succeeded( stop ) or succeeded(up)");
        let b = c.bind(None, &|id| match id {
            "stop" => vec!["stop@a".into(), "stop@b".into()],
            _ => vec!["up@a".into()],
        });
        assert_eq!(
            b.to_string(),
            "not (succeeded(stop@a) and succeeded(stop@b)) or succeeded(up@a)"
        );
        let ids: Vec<&str> = b.step_refs().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(ids, ["stop@a", "stop@b", "up@a"]);
    }
}
