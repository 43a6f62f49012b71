//! Tokens of the condition language, each with its byte range for error messages.
//!
//! `{{ vars.NAME }}` is read here, as a token: outside a string it is a string literal of
//! the var's value, inside `"…"` the value joins the string's text. Either way the value is
//! data: it is never read as condition text, so no value can add a term or end a string.

use std::collections::BTreeMap;
use std::iter::Peekable;
use std::ops::Range;
use std::str::CharIndices;

use super::condition::{CmpOp, ConditionError, Literal, Subject, error};
use super::template::{Reference, Template};

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident,
    Dot,
    LParen,
    RParen,
    Comma,
    Op(CmpOp),
    Str(String),
    Int(i64),
    End,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub text: String,
    pub range: Range<usize>,
}

pub struct Lexer<'a> {
    tokens: Vec<Token>,
    pos: usize,
    source: &'a str,
    /// Each template's range and what stands there for a reader (the value, quoted).
    filled: Vec<(Range<usize>, String)>,
}

impl<'a> Lexer<'a> {
    pub fn new(source: &'a str, vars: &BTreeMap<String, String>) -> Result<Self, ConditionError> {
        let mut filled = Vec::new();
        Ok(Self {
            tokens: tokenize(source, vars, &mut filled)?,
            pos: 0,
            source,
            filled,
        })
    }

    /// The condition as written, with each template replaced by its value (quoted and
    /// escaped as a string of the condition language), for the plan and the screen.
    pub fn shown(&self) -> String {
        let mut out = String::with_capacity(self.source.len());
        let mut rest = 0;
        for (range, text) in &self.filled {
            out.push_str(self.source.get(rest..range.start).unwrap_or(""));
            out.push_str(text);
            rest = range.end;
        }
        out.push_str(self.source.get(rest..).unwrap_or(""));
        out
    }

    /// Each template's range in the source and what `shown` puts there.
    pub fn filled(&self) -> &[(Range<usize>, String)] {
        &self.filled
    }

    pub fn peek(&self) -> &Token {
        // tokenize always ends with End, and pos never passes it.
        &self.tokens[self.pos.min(self.tokens.len().saturating_sub(1))]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.pos = self.pos.saturating_add(1);
        }
        t
    }

    /// End of the last consumed token.
    pub fn last_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|last| self.tokens.get(last))
            .map_or(0, |t| t.range.end)
    }

    pub fn eat(&mut self, tok: Tok) -> bool {
        if self.peek().tok == tok {
            self.bump();
            true
        } else {
            false
        }
    }

    pub fn eat_word(&mut self, word: &str) -> bool {
        let t = self.peek();
        if t.tok == Tok::Ident && t.text == word {
            self.bump();
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, tok: Tok, what: &str) -> Result<(), ConditionError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    pub fn ident(&mut self, what: &str) -> Result<Subject, ConditionError> {
        let t = self.peek();
        if t.tok == Tok::Ident && !matches!(t.text.as_str(), "and" | "or" | "not") {
            let t = self.bump();
            Ok(Subject {
                name: t.text,
                range: t.range,
            })
        } else {
            Err(self.unexpected(what))
        }
    }

    pub fn cmp_op(&mut self) -> Option<(CmpOp, Range<usize>)> {
        let t = self.peek();
        let op = match (&t.tok, t.text.as_str()) {
            (Tok::Op(op), _) => *op,
            (Tok::Ident, "contains") => CmpOp::Contains,
            (Tok::Ident, "starts_with") => CmpOp::StartsWith,
            (Tok::Ident, "matches") => CmpOp::Matches,
            _ => return None,
        };
        let t = self.bump();
        Some((op, t.range))
    }

    /// A literal, how it was written and where.
    pub fn literal(&mut self) -> Result<(Literal, String, Range<usize>), ConditionError> {
        let t = self.peek().clone();
        let lit = match &t.tok {
            Tok::Str(s) => Literal::Text(s.clone()),
            Tok::Int(i) => Literal::Int(*i),
            Tok::Ident if t.text == "true" => Literal::Bool(true),
            Tok::Ident if t.text == "false" => Literal::Bool(false),
            _ => return Err(self.unexpected("a value: a number, \"text\", true or false")),
        };
        self.bump();
        Ok((lit, t.text, t.range))
    }

    fn unexpected(&self, what: &str) -> ConditionError {
        let t = self.peek();
        if t.tok == Tok::End {
            error(
                format!("expected {what}, but the condition ends"),
                self.source.len()..self.source.len(),
            )
        } else {
            error(
                format!("expected {what}, found `{}`", t.text),
                t.range.clone(),
            )
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn tokenize(
    source: &str,
    vars: &BTreeMap<String, String>,
    filled: &mut Vec<(Range<usize>, String)>,
) -> Result<Vec<Token>, ConditionError> {
    let mut tokens = Vec::new();
    let mut chars = source.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if source[start..].starts_with("{{") {
            let (value, range) = var_at(source, start, vars)?;
            skip_to(&mut chars, range.end);
            filled.push((range.clone(), format!("\"{}\"", escaped(&value))));
            tokens.push(Token {
                tok: Tok::Str(value),
                text: source[range.clone()].to_string(),
                range,
            });
            continue;
        }
        let single = match c {
            '.' => Some(Tok::Dot),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = single {
            chars.next();
            tokens.push(token(tok, source, start..offset(&mut chars, source)));
            continue;
        }
        if "=!<>".contains(c) {
            chars.next();
            let two = chars.next_if(|&(_, n)| n == '=').is_some();
            let end = offset(&mut chars, source);
            let op = match (c, two) {
                ('=', true) => CmpOp::Eq,
                ('!', true) => CmpOp::Ne,
                ('<', false) => CmpOp::Lt,
                ('<', true) => CmpOp::Le,
                ('>', false) => CmpOp::Gt,
                ('>', true) => CmpOp::Ge,
                _ => {
                    return Err(error(
                        format!("`{}` is not an operator; use ==", &source[start..end]),
                        start..end,
                    ));
                }
            };
            tokens.push(token(Tok::Op(op), source, start..end));
            continue;
        }
        if c == '"' {
            chars.next();
            let mut value = String::new();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(offset(&mut chars, source));
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, e)) => value.push(e),
                        None => break,
                    },
                    '{' if source[i..].starts_with("{{") => {
                        let (v, range) = var_at(source, i, vars)?;
                        skip_to(&mut chars, range.end);
                        filled.push((range, escaped(&v)));
                        value.push_str(&v);
                    }
                    c => value.push(c),
                }
            }
            let Some(end) = end else {
                return Err(error("string is never closed", start..source.len()));
            };
            tokens.push(token(Tok::Str(value), source, start..end));
            continue;
        }
        if is_word_char(c) {
            while chars.next_if(|&(_, c)| is_word_char(c)).is_some() {}
            let end = offset(&mut chars, source);
            let text = &source[start..end];
            let tok = if text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                match text.parse::<i64>() {
                    Ok(i) => Tok::Int(i),
                    Err(_) => Tok::Ident,
                }
            } else {
                Tok::Ident
            };
            tokens.push(token(tok, source, start..end));
            continue;
        }
        chars.next();
        let end = offset(&mut chars, source);
        return Err(error(format!("unexpected character `{c}`"), start..end));
    }
    tokens.push(token(Tok::End, source, source.len()..source.len()));
    Ok(tokens)
}

/// The `{{ vars.NAME }}` opening at `open`: the var's value and the template's range.
fn var_at(
    source: &str,
    open: usize,
    vars: &BTreeMap<String, String>,
) -> Result<(String, Range<usize>), ConditionError> {
    let Some(close) = source[open..].find("}}") else {
        return Err(error("`{{` is never closed with `}}`", open..source.len()));
    };
    let end = open.saturating_add(close).saturating_add("}}".len());
    let range = open..end;
    let template = Template::parse(&source[range.clone()])
        .map_err(|e| error(format!("template: {}", e.message), range.clone()))?;
    match template.references().next() {
        Some((Reference::Var(name), _)) => match vars.get(name) {
            Some(value) => Ok((value.clone(), range)),
            None => Err(error(format!("undefined variable `vars.{name}`"), range)
                .help(format!("define it in [vars]: {name} = \"…\""))),
        },
        _ => Err(error(
            "only `{{ vars.NAME }}` can be filled into a condition",
            range,
        )
        .help(
            "facts are read by the condition itself: write e.g. `primary.version`, not a \
             template (in a for_each phase, the current member is the subject `item`: \
             `item.io_running`)",
        )),
    }
}

fn skip_to(chars: &mut Peekable<CharIndices<'_>>, end: usize) {
    while chars.next_if(|&(i, _)| i < end).is_some() {}
}

/// Where the next character starts: the end of what `chars` has read.
fn offset(chars: &mut Peekable<CharIndices<'_>>, source: &str) -> usize {
    chars.peek().map_or(source.len(), |&(i, _)| i)
}

/// A value written as the inside of a condition string.
fn escaped(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn token(tok: Tok, source: &str, range: Range<usize>) -> Token {
    Token {
        tok,
        text: source[range.clone()].to_string(),
        range,
    }
}
