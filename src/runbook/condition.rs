//! The condition language of gates, `wait` and `check` steps.
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | call | test
//! call    := "succeeded" "(" STEP_ID ")" | "caught_up" "(" SUBJECT "," SUBJECT ")"
//! test    := fact [OP literal]          -- a bare fact must be boolean
//! fact    := SUBJECT "." FIELD | "maxscale" "(" SUBJECT ")" "." "state"
//! OP      := == != < <= > >= contains starts_with matches
//! ```
//! Parsing checks names and types, so a misspelled fact is a `check` error with a column.

use std::fmt;
use std::ops::Range;

use super::lexer::{Lexer, Tok};

/// A parsed condition and the text it came from.
#[derive(Clone, Debug)]
pub struct Condition {
    pub source: String,
    /// Where the condition's string stands in the runbook file.
    pub span: Range<usize>,
    pub expr: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Test {
        fact: FactRef,
        cmp: Option<(CmpOp, Literal)>,
    },
    /// The replica has applied everything in the primary's `gtid_binlog_pos`, per domain.
    CaughtUp {
        replica: Subject,
        primary: Subject,
    },
    Succeeded(Subject),
}

/// A name as written, with its range inside the condition text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    pub range: Range<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FactRef {
    pub subject: Subject,
    pub fact: Fact,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    Up,
    IoRunning,
    SqlRunning,
    ReadOnly,
    SecondsBehind,
    ServerId,
    Version,
    BinlogFormat,
    GtidBinlogPos,
    GtidCurrentPos,
    GtidSlavePos,
    LastError,
    /// `maxscale(S).state`
    MaxscaleState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactType {
    Bool,
    Int,
    Text,
}

const SERVER_FACTS: [(&str, Fact, FactType); 12] = [
    ("up", Fact::Up, FactType::Bool),
    ("io_running", Fact::IoRunning, FactType::Bool),
    ("sql_running", Fact::SqlRunning, FactType::Bool),
    ("read_only", Fact::ReadOnly, FactType::Bool),
    ("seconds_behind", Fact::SecondsBehind, FactType::Int),
    ("server_id", Fact::ServerId, FactType::Int),
    ("version", Fact::Version, FactType::Text),
    ("binlog_format", Fact::BinlogFormat, FactType::Text),
    ("gtid_binlog_pos", Fact::GtidBinlogPos, FactType::Text),
    ("gtid_current_pos", Fact::GtidCurrentPos, FactType::Text),
    ("gtid_slave_pos", Fact::GtidSlavePos, FactType::Text),
    ("last_error", Fact::LastError, FactType::Text),
];

impl Fact {
    pub fn name(self) -> &'static str {
        if self == Fact::MaxscaleState {
            return "state";
        }
        SERVER_FACTS
            .iter()
            .find(|(_, f, _)| *f == self)
            .map_or("?", |(n, _, _)| n)
    }

    pub fn ty(self) -> FactType {
        if self == Fact::MaxscaleState {
            return FactType::Text;
        }
        SERVER_FACTS
            .iter()
            .find(|(_, f, _)| *f == self)
            .map_or(FactType::Text, |(_, _, t)| *t)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    StartsWith,
    Matches,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "contains",
            CmpOp::StartsWith => "starts_with",
            CmpOp::Matches => "matches",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Int(i64),
    Text(String),
    Bool(bool),
}

/// A parse error at a byte range inside the condition text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConditionError {
    pub message: String,
    pub range: Range<usize>,
}

pub(super) fn error(message: impl Into<String>, range: Range<usize>) -> ConditionError {
    ConditionError {
        message: message.into(),
        range,
    }
}

impl Condition {
    pub fn parse(source: &str, span: Range<usize>) -> Result<Self, ConditionError> {
        let mut parser = Parser {
            lexer: Lexer::new(source)?,
        };
        let expr = parser.expr()?;
        let next = parser.lexer.peek();
        if next.tok != Tok::End {
            return Err(error(
                format!("unexpected `{}` after the condition", next.text),
                next.range.clone(),
            ));
        }
        Ok(Self {
            source: source.to_string(),
            span,
            expr,
        })
    }

    /// Every server subject named, with its range (for inventory checks).
    pub fn subjects(&self) -> Vec<&Subject> {
        let mut out = Vec::new();
        self.expr.visit(&mut |e| match e {
            Expr::Test { fact, .. } => out.push(&fact.subject),
            Expr::CaughtUp { replica, primary } => {
                out.push(replica);
                out.push(primary);
            }
            _ => {}
        });
        out
    }

    /// Every step id named in `succeeded(…)`.
    pub fn step_refs(&self) -> Vec<&Subject> {
        let mut out = Vec::new();
        self.expr.visit(&mut |e| {
            if let Expr::Succeeded(s) = e {
                out.push(s);
            }
        });
        out
    }
}

impl Expr {
    fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Or(xs) | Expr::And(xs) => xs.iter().for_each(|x| x.visit(f)),
            Expr::Not(x) => x.visit(f),
            _ => {}
        }
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
}

impl Parser<'_> {
    fn expr(&mut self) -> Result<Expr, ConditionError> {
        let mut terms = vec![self.and()?];
        while self.lexer.eat_word("or") {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut terms = vec![self.unary()?];
        while self.lexer.eat_word("and") {
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        if self.lexer.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.lexer.eat(Tok::LParen) {
            let inner = self.expr()?;
            self.lexer.expect(Tok::RParen, "`)`")?;
            return Ok(inner);
        }
        let name = self
            .lexer
            .ident("a fact, `succeeded(…)` or `caught_up(…)`")?;
        match name.name.as_str() {
            "succeeded" => {
                self.lexer.expect(Tok::LParen, "`(` after succeeded")?;
                let step = self.lexer.ident("a step id")?;
                self.lexer.expect(Tok::RParen, "`)`")?;
                Ok(Expr::Succeeded(step))
            }
            "caught_up" => {
                self.lexer.expect(Tok::LParen, "`(` after caught_up")?;
                let replica = self.lexer.ident("a replica")?;
                self.lexer
                    .expect(Tok::Comma, "`,` between the replica and the primary")?;
                let primary = self.lexer.ident("a primary")?;
                self.lexer.expect(Tok::RParen, "`)`")?;
                Ok(Expr::CaughtUp { replica, primary })
            }
            "maxscale" => {
                self.lexer.expect(Tok::LParen, "`(` after maxscale")?;
                let subject = self.lexer.ident("a server")?;
                self.lexer.expect(Tok::RParen, "`)`")?;
                self.lexer.expect(Tok::Dot, "`.state`")?;
                let field = self.lexer.ident("`state`")?;
                if field.name != "state" {
                    return Err(error("maxscale(…) has one fact: `state`", field.range));
                }
                self.test(FactRef {
                    subject,
                    fact: Fact::MaxscaleState,
                })
            }
            _ => {
                self.lexer
                    .expect(Tok::Dot, "`.` and a fact, as in `replica.io_running`")?;
                let field = self.lexer.ident("a fact")?;
                let Some((_, fact, _)) = SERVER_FACTS.iter().find(|(n, _, _)| *n == field.name)
                else {
                    let known: Vec<&str> = SERVER_FACTS.iter().map(|(n, _, _)| *n).collect();
                    return Err(error(
                        format!("unknown fact `{}`; known: {}", field.name, known.join(", ")),
                        field.range,
                    ));
                };
                self.test(FactRef {
                    subject: name,
                    fact: *fact,
                })
            }
        }
    }

    /// An optional comparison after a fact, type-checked against the fact.
    fn test(&mut self, fact: FactRef) -> Result<Expr, ConditionError> {
        let start = fact.subject.range.start;
        let Some((op, op_range)) = self.lexer.cmp_op() else {
            if fact.fact.ty() != FactType::Bool {
                return Err(error(
                    format!(
                        "`{}` is not true or false: compare it, e.g. `{} == …`",
                        fact.fact.name(),
                        fact.fact.name()
                    ),
                    start..self.lexer.last_end(),
                ));
            }
            return Ok(Expr::Test { fact, cmp: None });
        };
        let value = self.lexer.literal()?;
        let ty = fact.fact.ty();
        let ok = match (&value.0, op) {
            (Literal::Bool(_), CmpOp::Eq | CmpOp::Ne) => ty == FactType::Bool,
            (Literal::Int(_), CmpOp::Contains | CmpOp::StartsWith | CmpOp::Matches) => false,
            (Literal::Int(_), _) => ty == FactType::Int,
            (Literal::Text(_), CmpOp::Eq | CmpOp::Ne) => ty == FactType::Text,
            (Literal::Text(_), CmpOp::Contains | CmpOp::StartsWith | CmpOp::Matches) => {
                ty == FactType::Text
            }
            _ => false,
        };
        if !ok {
            return Err(error(
                format!(
                    "`{}` cannot be compared with `{} {}`",
                    fact.fact.name(),
                    op.as_str(),
                    value.1
                ),
                op_range.start..self.lexer.last_end(),
            ));
        }
        if let (CmpOp::Matches, Literal::Text(re)) = (op, &value.0)
            && let Err(e) = regex::Regex::new(re)
        {
            return Err(error(format!("invalid regular expression: {e}"), op_range));
        }
        Ok(Expr::Test {
            fact,
            cmp: Some((op, value.0)),
        })
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Text(s) => write!(f, "{s:?}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.source.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Condition, ConditionError> {
        Condition::parse(s, 0..0)
    }

    #[test]
    fn parses_the_documented_forms() {
        for ok in [
            "replica.io_running and replica.sql_running and replica.seconds_behind <= 0",
            "caught_up(replica, primary)",
            "replica.version starts_with \"11.4\"",
            "maxscale(server2).state contains \"Maintenance\"",
            "succeeded(p1-backup)",
            "not (primary.read_only) or primary.up",
            "primary.binlog_format != \"STATEMENT\"",
            "replica.version matches \"^11\\\\.4\"",
        ] {
            parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let c = parse("a.up or b.up and not c.up").unwrap();
        let Expr::Or(terms) = c.expr else {
            panic!("top level should be or")
        };
        assert!(matches!(terms[1], Expr::And(_)));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse("replica.io_runing").unwrap_err();
        assert_eq!(e.range, 8..17);
        assert!(e.message.starts_with("unknown fact `io_runing`"));

        let e = parse("replica.seconds_behind").unwrap_err();
        assert!(e.message.contains("is not true or false"));

        let e = parse("replica.version <= 3").unwrap_err();
        assert_eq!(e.range.start, 16);

        let e = parse("replica.up and").unwrap_err();
        assert!(e.message.contains("expected"), "{}", e.message);

        let e = parse("caught_up(replica primary)").unwrap_err();
        assert_eq!(e.range, 18..25);
    }
}
