//! The scan behind [`super::spots`]: the command read the way `sh` reads it, with each
//! reference a hole, recording the quoting around each hole.

mod heredoc;

use super::reread::reread;
use super::{Spot, Unsafe, Why};
use heredoc::Heredoc;

pub(super) fn spots(toks: &[Tok]) -> Result<Vec<Spot>, Unsafe> {
    let mut scan = Scan {
        toks,
        i: 0,
        spots: Vec::new(),
        heredocs: Vec::new(),
        forbid: None,
        unsure: None,
        quote_next: false,
        word: String::new(),
        command: Vec::new(),
        depth: 0,
    };
    scan.unquoted(false)?;
    Ok(scan.spots)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok {
    C(char),
    Hole,
}

use Tok::C;

/// Nesting beyond this is not followed: later references are refused.
const MAX_DEPTH: usize = 64;

struct Scan<'a> {
    toks: &'a [Tok],
    i: usize,
    spots: Vec<Spot>,
    /// Delimiters of here-documents whose bodies start after the next newline.
    heredocs: Vec<Heredoc>,
    /// Inside backticks, `${ … }` or `$(( … ))`: every reference is refused for this.
    forbid: Option<Why>,
    unsure: Option<&'static str>,
    /// The next reference follows `$NAME` in a word: it must be quoted.
    quote_next: bool,
    /// The current word of the innermost command so far (quoted parts left out), and the
    /// words of its simple command before it.
    word: String,
    command: Vec<String>,
    depth: usize,
}

type Step = Result<(), Unsafe>;

impl Scan<'_> {
    fn peek(&self) -> Option<Tok> {
        self.toks.get(self.i).copied()
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.peek();
        if t.is_some() {
            self.skip();
        }
        t
    }

    /// Steps over the next token.
    fn skip(&mut self) {
        self.i = self.i.saturating_add(1);
    }

    /// Steps over the next token if it is `t`.
    fn eat(&mut self, t: Tok) -> bool {
        let next_is_t = self.peek() == Some(t);
        if next_is_t {
            self.skip();
        }
        next_is_t
    }

    fn reject(&self, why: Why) -> Unsafe {
        Unsafe {
            hole: self.spots.len(),
            why: self.forbid.unwrap_or(why),
        }
    }

    fn hole(&mut self, spot: Spot) -> Step {
        if let Some(why) = self.forbid {
            return Err(self.reject(why));
        }
        if let Some(what) = self.unsure {
            return Err(self.reject(Why::Unsure(what)));
        }
        if let Some(what) = reread(&self.command, &self.word) {
            return Err(self.reject(Why::Reread(what)));
        }
        self.spots.push(spot);
        Ok(())
    }

    /// Runs `f` with references refused for `why` (unless an outer reason already holds).
    fn nested(&mut self, why: Option<Why>, f: impl FnOnce(&mut Self) -> Step) -> Step {
        if self.depth >= MAX_DEPTH {
            self.unsure = Some("nesting deeper than 64 levels");
            let rest = self
                .toks
                .get(self.i..)
                .is_some_and(|rest| rest.contains(&Tok::Hole));
            self.i = self.toks.len();
            return if rest {
                Err(self.reject(Why::Unsure("nesting deeper than 64 levels")))
            } else {
                Ok(())
            };
        }
        let saved = self.forbid;
        self.forbid = self.forbid.or(why);
        self.depth = self.depth.saturating_add(1);
        let result = f(self);
        self.depth = self.depth.saturating_sub(1);
        self.forbid = saved;
        result
    }

    /// Commands: the whole text, or the inside of `$( … )` up to its closing parenthesis.
    fn unquoted(&mut self, in_subst: bool) -> Step {
        let outer = (
            std::mem::take(&mut self.word),
            std::mem::take(&mut self.command),
        );
        let result = self.commands(in_subst);
        (self.word, self.command) = outer;
        result
    }

    fn commands(&mut self, in_subst: bool) -> Step {
        let mut word_start = true;
        let mut parens = 0u32;
        let mut prev = None;
        while let Some(t) = self.next() {
            let C(c) = t else {
                let after_name = std::mem::take(&mut self.quote_next);
                self.hole(Spot::Word {
                    bare_ok: prev != Some(C('~')) && !after_name,
                })?;
                word_start = false;
                self.word.push('\0');
                prev = Some(t);
                continue;
            };
            let starts = word_start;
            if matches!(
                c,
                ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'
            ) {
                if in_subst && self.word == "case" {
                    self.unsure.get_or_insert("`case` inside `$( … )`");
                }
                let word = std::mem::take(&mut self.word);
                if matches!(c, ' ' | '\t') {
                    if !word.is_empty() {
                        self.command.push(word);
                    }
                } else {
                    self.command.clear(); // a new simple command (or a redirection)
                }
                word_start = true;
            } else {
                self.word.push(c);
                word_start = false;
            }
            match c {
                '\\' => match self.next() {
                    Some(Tok::Hole) => return Err(self.reject(Why::Backslash)),
                    Some(C('\n')) => word_start = starts,
                    _ => {}
                },
                '\'' => self.single()?,
                '"' => self.double()?,
                '`' => self.backticks()?,
                '$' => self.dollar(false)?,
                '#' if starts => self.comment()?,
                '\n' => self.heredoc_bodies()?,
                // `(( … ))`, bash's arithmetic command (or two subshells: refused alike).
                '(' if starts && self.peek() == Some(C('(')) => {
                    self.skip();
                    self.nested(Some(Why::Arithmetic), |s| s.arithmetic())?;
                }
                '(' if in_subst => parens = parens.saturating_add(1),
                ')' if in_subst => match parens.checked_sub(1) {
                    Some(p) => parens = p,
                    None => return Ok(()),
                },
                '<' if self.peek() == Some(C('<')) => {
                    self.skip();
                    // `<<<` is a here-string: its word is a word like any other.
                    if !self.eat(C('<')) {
                        self.heredoc_delimiter()?;
                    }
                }
                _ => {}
            }
            prev = Some(t);
        }
        Ok(())
    }

    fn single(&mut self) -> Step {
        while let Some(t) = self.next() {
            match t {
                Tok::Hole => return Err(self.reject(Why::SingleQuotes)),
                C('\'') => return Ok(()),
                C(_) => {}
            }
        }
        Ok(())
    }

    fn double(&mut self) -> Step {
        while let Some(t) = self.next() {
            match t {
                Tok::Hole => self.hole(Spot::DoubleQuoted)?,
                C('"') => return Ok(()),
                C('\\') => {
                    if self.next() == Some(Tok::Hole) {
                        return Err(self.reject(Why::Backslash));
                    }
                }
                C('`') => self.backticks()?,
                C('$') => self.dollar(true)?,
                C(_) => {}
            }
        }
        Ok(())
    }

    fn backticks(&mut self) -> Step {
        self.nested(Some(Why::Backticks), |s| {
            while let Some(t) = s.next() {
                match t {
                    Tok::Hole => return Err(s.reject(Why::Backticks)),
                    C('`') => return Ok(()),
                    C('\\') => {
                        if s.next() == Some(Tok::Hole) {
                            return Err(s.reject(Why::Backticks));
                        }
                    }
                    C(_) => {}
                }
            }
            Ok(())
        })
    }

    /// After a `$`: a substitution, `$'…'`, or a plain parameter name.
    fn dollar(&mut self, in_double: bool) -> Step {
        match self.peek() {
            Some(Tok::Hole) => Err(self.reject(Why::Dollar)),
            Some(C('(')) => {
                self.skip();
                if self.eat(C('(')) {
                    self.nested(Some(Why::Arithmetic), |s| s.arithmetic())
                } else {
                    self.nested(None, |s| s.unquoted(true))
                }
            }
            Some(C('{')) => {
                self.skip();
                self.nested(Some(Why::Parameter), |s| s.parameter(in_double))
            }
            // `$NAME` then the value: its first characters would lengthen the name.
            Some(C(c)) if c == '_' || c.is_ascii_alphabetic() => {
                while matches!(self.peek(), Some(C(c)) if c == '_' || c.is_ascii_alphanumeric()) {
                    self.skip();
                }
                if self.peek() == Some(Tok::Hole) {
                    if in_double {
                        return Err(self.reject(Why::AfterName));
                    }
                    self.quote_next = true; // `$NAME'value'`: the quote ends the name
                }
                Ok(())
            }
            Some(C('\'')) if !in_double => {
                // bash reads `$'…'` with backslash escapes, dash as `$` and `'…'`.
                self.skip();
                self.single()?;
                self.unsure.get_or_insert("`$'…'`");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn parameter(&mut self, in_double: bool) -> Step {
        let mut braces = 1u32;
        while let Some(t) = self.next() {
            match t {
                Tok::Hole => return Err(self.reject(Why::Parameter)),
                C('}') => match braces.checked_sub(1) {
                    Some(0) | None => return Ok(()),
                    Some(b) => braces = b,
                },
                C('{') => braces = braces.saturating_add(1),
                C('\\') => {
                    if self.next() == Some(Tok::Hole) {
                        return Err(self.reject(Why::Parameter));
                    }
                }
                C('\'') if in_double => {
                    self.unsure.get_or_insert("a `'` inside `\"${ … }\"`");
                }
                C('\'') => self.single()?,
                C('"') => self.double()?,
                C('`') => self.backticks()?,
                C('$') => self.dollar(in_double)?,
                C(_) => {}
            }
        }
        Ok(())
    }

    /// After `$((` or `((`: up to the parenthesis that closes the first.
    fn arithmetic(&mut self) -> Step {
        let mut parens = 2u32;
        while let Some(t) = self.next() {
            match t {
                Tok::Hole => return Err(self.reject(Why::Arithmetic)),
                C('(') => parens = parens.saturating_add(1),
                C(')') => match parens.checked_sub(1) {
                    Some(0) | None => return Ok(()),
                    Some(p) => parens = p,
                },
                C('\'') => self.single()?,
                C('"') => self.double()?,
                C('`') => self.backticks()?,
                C('$') => self.dollar(false)?,
                C(_) => {}
            }
        }
        Ok(())
    }

    /// A `#` comment, up to (not including) its newline.
    fn comment(&mut self) -> Step {
        while let Some(t) = self.peek() {
            match t {
                C('\n') => return Ok(()),
                Tok::Hole => return Err(self.reject(Why::Comment)),
                C(_) => self.skip(),
            }
        }
        Ok(())
    }
}
