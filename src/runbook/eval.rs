//! Evaluating a condition against live facts, saying what was observed.
//!
//! Logic is three-valued: an unknown fact (a server that is down, a NULL
//! `Seconds_Behind_Master`) makes its test unknown, `not unknown` is still unknown, and a
//! condition holds only when it is known to be true. A gate that cannot be checked does
//! not open.
//!
//! Each observed line carries a mark saying whether that fact is as the condition needs it
//! (✔), is not (✘), or is unknown (?). Under `not` the need is inverted: in
//! `not (primary.read_only)`, `✔ server1.read_only = false` is the fact that lets the gate
//! hold. The line itself states the fact as observed, never its negation.

use super::condition::{CmpOp, Condition, Expr, Fact, FactRef, Literal};
use super::roles::RoleError;

/// A fact's value now.
#[derive(Clone, Debug, PartialEq)]
pub enum FactValue {
    Bool(bool),
    Int(i64),
    Text(String),
    /// Not known, and why (server down, NULL, no MaxScale).
    Unknown(String),
}

impl std::fmt::Display for FactValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FactValue::Bool(b) => write!(f, "{b}"),
            FactValue::Int(i) => write!(f, "{i}"),
            FactValue::Text(s) => write!(f, "{s:?}"),
            FactValue::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// Where live facts come from: the pollers' snapshots and the session's step results.
pub trait FactSource {
    /// The servers a subject names now.
    fn resolve(&self, subject: &str) -> Result<Vec<String>, RoleError>;
    fn fact(&self, server: &str, fact: Fact) -> FactValue;
    /// Has `replica` applied everything in `primary`'s `gtid_binlog_pos`? With what was seen.
    fn caught_up(&self, replica: &str, primary: &str) -> Result<bool, String>;
    fn succeeded(&self, step_id: &str) -> bool;
}

/// The outcome of a condition, with one line per fact looked at.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub holds: bool,
    pub observed: Vec<String>,
}

pub fn evaluate(c: &Condition, facts: &dyn FactSource) -> Evaluation {
    let mut observed = Vec::new();
    let holds = eval(&c.expr, facts, Polarity::Holds, &mut observed) == Some(true);
    Evaluation { holds, observed }
}

/// Kleene's three-valued logic: `None` is unknown.
type Truth = Option<bool>;

fn and(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// What the whole condition needs of a sub-expression: to hold, or (under an odd number
/// of `not`s) to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Polarity {
    Holds,
    Fails,
}

impl Polarity {
    fn flip(self) -> Self {
        match self {
            Polarity::Holds => Polarity::Fails,
            Polarity::Fails => Polarity::Holds,
        }
    }

    /// ✔ when a sub-expression's truth is what the condition needs, ✘ when not, ? unknown.
    fn mark(self, truth: Truth) -> &'static str {
        match truth.map(|t| t == (self == Polarity::Holds)) {
            Some(true) => "✔",
            Some(false) => "✘",
            None => "?",
        }
    }
}

fn eval(e: &Expr, facts: &dyn FactSource, need: Polarity, seen: &mut Vec<String>) -> Truth {
    match e {
        // No short-circuit: the operator sees every fact, not just the first false one.
        Expr::Or(xs) => xs
            .iter()
            .map(|x| eval(x, facts, need, seen))
            .fold(Some(false), or),
        Expr::And(xs) => xs
            .iter()
            .map(|x| eval(x, facts, need, seen))
            .fold(Some(true), and),
        Expr::Not(x) => eval(x, facts, need.flip(), seen).map(|b| !b),
        Expr::Succeeded(step) => {
            let ok = facts.succeeded(&step.name);
            seen.push(format!(
                "{} step {} {}",
                need.mark(Some(ok)),
                step.name,
                if ok { "succeeded" } else { "has not succeeded" }
            ));
            Some(ok)
        }
        Expr::CaughtUp { replica, primary } => {
            let pairs = facts.resolve(&replica.name).and_then(|rs| {
                facts
                    .resolve(&primary.name)
                    .and_then(|ps| ps.first().cloned().ok_or(RoleError::NoPrimary))
                    .map(|p| (rs, p))
            });
            match pairs {
                Err(e) => {
                    seen.push(format!(
                        "? caught_up({}, {}): {e}",
                        replica.name, primary.name
                    ));
                    None
                }
                // No replica at all (`replicas` with every server primary): nothing was
                // checked, so the gate must not open on an empty "all of them".
                Ok((replicas, _)) if replicas.is_empty() => {
                    seen.push(format!("? {}: no such server now", replica.name));
                    None
                }
                Ok((replicas, p)) => replicas
                    .iter()
                    .map(|r| match facts.caught_up(r, &p) {
                        Ok(ok) => {
                            let word = if ok { "has applied" } else { "has NOT applied" };
                            let mark = need.mark(Some(ok));
                            seen.push(format!("{mark} {r} {word} {p}'s gtid_binlog_pos"));
                            Some(ok)
                        }
                        Err(why) => {
                            seen.push(format!("? caught_up({r}, {p}): unknown ({why})"));
                            None
                        }
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .fold(Some(true), and),
            }
        }
        Expr::Test { fact, cmp } => test(fact, cmp.as_ref(), facts, need, seen),
    }
}

/// A fact test holds for a subject naming several servers only if it holds for each.
fn test(
    fact: &FactRef,
    cmp: Option<&(CmpOp, Literal)>,
    facts: &dyn FactSource,
    need: Polarity,
    seen: &mut Vec<String>,
) -> Truth {
    let servers = match facts.resolve(&fact.subject.name) {
        Ok(s) if !s.is_empty() => s,
        Ok(_) => {
            seen.push(format!("? {}: no such server now", fact.subject.name));
            return None;
        }
        Err(e) => {
            seen.push(format!("? {}: {e}", fact.subject.name));
            return None;
        }
    };
    // Every server is looked at (and shown), so collect before combining.
    let results: Vec<Truth> = servers
        .iter()
        .map(|server| {
            let value = facts.fact(server, fact.fact);
            let ok = compare(&value, cmp);
            let name = if fact.fact == Fact::MaxscaleState {
                format!("maxscale({server}).state")
            } else {
                format!("{server}.{}", fact.fact.name())
            };
            seen.push(format!("{} {name} = {value}", need.mark(ok)));
            ok
        })
        .collect();
    results.into_iter().fold(Some(true), and)
}

fn compare(value: &FactValue, cmp: Option<&(CmpOp, Literal)>) -> Truth {
    if let FactValue::Unknown(_) = value {
        return None;
    }
    let Some((op, lit)) = cmp else {
        return Some(matches!(value, FactValue::Bool(true)));
    };
    Some(match (value, lit) {
        (FactValue::Bool(v), Literal::Bool(l)) => match op {
            CmpOp::Eq => v == l,
            CmpOp::Ne => v != l,
            _ => false,
        },
        (FactValue::Int(v), Literal::Int(l)) => match op {
            CmpOp::Eq => v == l,
            CmpOp::Ne => v != l,
            CmpOp::Lt => v < l,
            CmpOp::Le => v <= l,
            CmpOp::Gt => v > l,
            CmpOp::Ge => v >= l,
            _ => false,
        },
        (FactValue::Text(v), Literal::Text(l)) => match op {
            CmpOp::Eq => v == l,
            CmpOp::Ne => v != l,
            CmpOp::Contains => v.contains(l.as_str()),
            CmpOp::StartsWith => v.starts_with(l.as_str()),
            _ => false,
        },
        // Compiled once, when the runbook was read.
        (FactValue::Text(v), Literal::Pattern(p)) => *op == CmpOp::Matches && p.is_match(v),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lab;
    impl FactSource for Lab {
        fn resolve(&self, subject: &str) -> Result<Vec<String>, RoleError> {
            match subject {
                "primary" => Ok(vec!["db1".into()]),
                "replica" => Ok(vec!["db2".into()]),
                "all" => Ok(vec!["db1".into(), "db2".into()]),
                "replicas_of_one_server" => Ok(Vec::new()),
                s => Err(RoleError::Unknown(s.into())),
            }
        }
        fn fact(&self, server: &str, fact: Fact) -> FactValue {
            match (server, fact) {
                ("db2", Fact::SecondsBehind) => FactValue::Unknown("NULL".into()),
                (_, Fact::Version) if server == "db1" => FactValue::Text("11.4.4-MariaDB".into()),
                (_, Fact::Version) => FactValue::Text("10.5.27-MariaDB".into()),
                (_, Fact::Up) => FactValue::Bool(true),
                _ => FactValue::Unknown("not polled".into()),
            }
        }
        fn caught_up(&self, _: &str, _: &str) -> Result<bool, String> {
            Ok(true)
        }
        fn succeeded(&self, id: &str) -> bool {
            id == "backup"
        }
    }

    fn eval(src: &str) -> Evaluation {
        evaluate(&Condition::parse(src, 0..0).unwrap(), &Lab)
    }

    #[test]
    fn unknown_facts_never_hold() {
        assert!(!eval("replica.seconds_behind <= 0").holds);
        assert!(!eval("not (replica.seconds_behind > 0)").holds);
        assert!(eval("replica.seconds_behind > 0 or replica.up").holds);
    }

    #[test]
    fn groups_hold_only_when_every_server_does() {
        let e = eval("all.version starts_with \"11.4\"");
        assert!(!e.holds);
        assert_eq!(
            e.observed,
            [
                "✔ db1.version = \"11.4.4-MariaDB\"",
                "✘ db2.version = \"10.5.27-MariaDB\""
            ]
        );
        assert!(eval("all.up and succeeded(backup) and caught_up(replica, primary)").holds);
    }

    #[test]
    fn marks_under_not_say_whether_the_fact_is_as_the_gate_needs() {
        // db2 runs 10.5, so `not (… starts_with "11.4")` holds: its fact gets ✔, not ✘.
        let e = eval("not (replica.version starts_with \"11.4\")");
        assert!(e.holds);
        assert_eq!(e.observed, ["✔ db2.version = \"10.5.27-MariaDB\""]);

        let e = eval("not (primary.version starts_with \"11.4\")");
        assert!(!e.holds);
        assert_eq!(e.observed, ["✘ db1.version = \"11.4.4-MariaDB\""]);

        // Two `not`s cancel; an unknown fact stays unknown either way.
        let e = eval("not not replica.up and not (replica.seconds_behind > 0)");
        assert!(!e.holds);
        assert_eq!(
            e.observed,
            ["✔ db2.up = true", "? db2.seconds_behind = unknown (NULL)"]
        );

        let e = eval("not succeeded(p9) and not caught_up(replica, primary)");
        assert!(!e.holds);
        assert_eq!(
            e.observed,
            [
                "✔ step p9 has not succeeded",
                "✘ db2 has applied db1's gtid_binlog_pos"
            ]
        );
    }

    /// Found by `tests/fuzz_props.rs`: `caught_up(none, primary)`, with `none` naming no
    /// server, held with nothing observed.
    #[test]
    fn caught_up_of_no_replicas_is_unknown_not_true() {
        for src in [
            "caught_up(replicas_of_one_server, primary)",
            "not (not (caught_up(replicas_of_one_server, primary)))",
        ] {
            let e = eval(src);
            assert!(!e.holds, "{src}");
            assert_eq!(e.observed, ["? replicas_of_one_server: no such server now"]);
        }
    }
}
