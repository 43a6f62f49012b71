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
//!
//! `{{ vars.NAME }}` may stand where a literal does, or inside a `"…"` string: the lexer
//! turns it into a string value, so a var can change what a literal says but never what
//! the condition is (no var can add `or primary.up`). Nesting of `not` and parentheses is
//! capped at [`MAX_DEPTH`]; the regular expression of `matches` is compiled here, once.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use super::cond_parse::Parser;
use super::lexer::Lexer;

/// How deeply `not` and parentheses may nest.
pub const MAX_DEPTH: usize = 32;

/// A parsed condition and the text it came from.
#[derive(Clone, Debug)]
pub struct Condition {
    /// The condition as written, templates and all.
    pub source: String,
    /// As written, with each var's value in place (quoted as a string), for display.
    pub shown: String,
    /// Where the condition's string stands in the runbook file.
    pub span: Range<usize>,
    pub expr: Expr,
    /// Each var's range in `source` and the text `shown` has there, so that `shown` can
    /// be written again when a repetition binds `item` (see `super::bind`).
    pub(super) fills: Vec<(Range<usize>, String)>,
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
    /// Semi-sync in force in the server's own direction: a server that replicates (has a
    /// replication connection) acknowledges (`Rpl_semi_sync_slave_status`), one that does
    /// not (a primary) waits for acknowledgements (`Rpl_semi_sync_master_status`).
    SemiSync,
    /// `Rpl_semi_sync_master_status`, whatever the server's place in the topology (for
    /// an intermediate primary of a chain).
    SemiSyncMaster,
    /// `Rpl_semi_sync_slave_status`.
    SemiSyncSlave,
    /// `Rpl_semi_sync_master_clients`: replicas acknowledging this server's commits.
    SemiSyncClients,
    /// `maxscale(S).state`
    MaxscaleState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactType {
    Bool,
    Int,
    Text,
}

pub(super) const SERVER_FACTS: [(&str, Fact, FactType); 16] = [
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
    ("semi_sync", Fact::SemiSync, FactType::Bool),
    ("semi_sync_master", Fact::SemiSyncMaster, FactType::Bool),
    ("semi_sync_slave", Fact::SemiSyncSlave, FactType::Bool),
    ("semi_sync_clients", Fact::SemiSyncClients, FactType::Int),
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
    /// The right side of `matches`, compiled when the runbook is read.
    Pattern(Pattern),
}

/// A compiled regular expression; equal when written the same.
#[derive(Clone, Debug)]
pub struct Pattern(regex::Regex);

/// Bound on a compiled pattern (a var may supply it): far above any sensible version regex.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

impl Pattern {
    /// Compiles `source`; the error is the regex crate's last line (what is wrong).
    pub fn new(source: &str) -> Result<Self, String> {
        regex::RegexBuilder::new(source)
            .size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map(Self)
            .map_err(|e| {
                let text = e.to_string();
                let last = text.lines().last().unwrap_or_default().trim();
                last.strip_prefix("error: ").unwrap_or(last).to_string()
            })
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// A parse error at a byte range inside the condition text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConditionError {
    pub message: String,
    pub range: Range<usize>,
    /// What to write instead, when there is a clear fix.
    pub help: Option<String>,
}

pub(super) fn error(message: impl Into<String>, range: Range<usize>) -> ConditionError {
    ConditionError {
        message: message.into(),
        range,
        help: None,
    }
}

impl ConditionError {
    pub(super) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl Condition {
    /// A condition without vars (a template in it is an undefined variable).
    pub fn parse(source: &str, span: Range<usize>) -> Result<Self, ConditionError> {
        Self::parse_with_vars(source, span, &BTreeMap::new())
    }

    /// A condition whose `{{ vars.NAME }}` take their values from `vars`, as literals.
    pub fn parse_with_vars(
        source: &str,
        span: Range<usize>,
        vars: &BTreeMap<String, String>,
    ) -> Result<Self, ConditionError> {
        let lexer = Lexer::new(source, vars)?;
        let shown = lexer.shown();
        let fills = lexer.filled().to_vec();
        let expr = Parser::new(lexer).condition()?;
        Ok(Self {
            source: source.to_string(),
            shown,
            span,
            expr,
            fills,
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

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Text(s) => write!(f, "{s:?}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Pattern(p) => write!(f, "{:?}", p.as_str()),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown.trim())
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
            "primary.semi_sync_clients >= 1 and replica.semi_sync",
            "primary.semi_sync and not (server2.semi_sync_master) or server3.semi_sync_slave",
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
