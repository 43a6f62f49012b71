//! The recursive-descent parser of conditions (grammar in `condition.rs`), with names and
//! types checked as it goes and nesting capped at [`MAX_DEPTH`].

use super::condition::{
    CmpOp, ConditionError, Expr, Fact, FactRef, FactType, Literal, MAX_DEPTH, Pattern,
    SERVER_FACTS, error,
};
use super::lexer::{Lexer, Tok};

pub(super) struct Parser<'a> {
    lexer: Lexer<'a>,
    /// `not`s and parentheses open around the current term.
    depth: usize,
}

impl<'a> Parser<'a> {
    pub fn new(lexer: Lexer<'a>) -> Self {
        Self { lexer, depth: 0 }
    }

    /// The whole condition: one expression and nothing after it.
    pub fn condition(mut self) -> Result<Expr, ConditionError> {
        let expr = self.expr()?;
        let next = self.lexer.peek();
        if next.tok != Tok::End {
            return Err(error(
                format!("unexpected `{}` after the condition", next.text),
                next.range.clone(),
            ));
        }
        Ok(expr)
    }

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
        let opener = self.lexer.peek();
        let nests = opener.tok == Tok::LParen || (opener.tok == Tok::Ident && opener.text == "not");
        if nests {
            if self.depth >= MAX_DEPTH {
                return Err(error(
                    format!("the condition nests `not` and parentheses more than {MAX_DEPTH} deep"),
                    opener.range.clone(),
                )
                .help("split it into several gates, or simplify it"));
            }
            self.depth = self.depth.saturating_add(1);
            let inner = self.nested();
            self.depth = self.depth.saturating_sub(1);
            return inner;
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

    /// `not X` or `( X )`, one level deeper.
    fn nested(&mut self) -> Result<Expr, ConditionError> {
        if self.lexer.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.lexer.expect(Tok::LParen, "`(`")?;
        let inner = self.expr()?;
        self.lexer.expect(Tok::RParen, "`)`")?;
        Ok(inner)
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
        let (value, written, value_range) = self.lexer.literal()?;
        let ty = fact.fact.ty();
        let ok = match (&value, op) {
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
                    written
                ),
                op_range.start..self.lexer.last_end(),
            ));
        }
        let value = match (op, value) {
            (CmpOp::Matches, Literal::Text(re)) => match Pattern::new(&re) {
                Ok(p) => Literal::Pattern(p),
                Err(e) => {
                    return Err(error(
                        format!("invalid regular expression: {e}"),
                        value_range,
                    ));
                }
            },
            (_, value) => value,
        };
        Ok(Expr::Test {
            fact,
            cmp: Some((op, value)),
        })
    }
}
