//! Here-documents: the delimiter after `<<`, and the bodies that follow the next newline.
//! A reference in either is refused: a body is not quoted, and a line of a value equal to
//! the delimiter would end it.

use super::Tok::{self, C};
use super::{Scan, Step};
use crate::runbook::template::shell::Why;

pub(super) struct Heredoc {
    delimiter: String,
    strip_tabs: bool,
}

impl Scan<'_> {
    /// After `<<` or `<<-`: the delimiter word, its quotes removed.
    pub(super) fn heredoc_delimiter(&mut self) -> Step {
        let strip_tabs = self.eat(C('-'));
        while matches!(self.peek(), Some(C(' ' | '\t'))) {
            self.skip();
        }
        let mut delimiter = String::new();
        while let Some(t) = self.peek() {
            let C(c) = t else {
                return Err(self.reject(Why::HereDelimiter));
            };
            if " \t\n;&|<>()".contains(c) {
                break;
            }
            self.skip();
            match c {
                '\'' | '"' => loop {
                    match self.next() {
                        None => break,
                        Some(Tok::Hole) => return Err(self.reject(Why::HereDelimiter)),
                        Some(C(q)) if q == c => break,
                        Some(C(q)) => delimiter.push(q),
                    }
                },
                '\\' => match self.next() {
                    Some(Tok::Hole) => return Err(self.reject(Why::HereDelimiter)),
                    Some(C(q)) => delimiter.push(q),
                    None => {}
                },
                c => delimiter.push(c),
            }
        }
        if !delimiter.is_empty() {
            self.heredocs.push(Heredoc {
                delimiter,
                strip_tabs,
            });
        }
        Ok(())
    }

    /// After a newline that ends a command line: the bodies of pending here-documents.
    pub(super) fn heredoc_bodies(&mut self) -> Step {
        for doc in std::mem::take(&mut self.heredocs) {
            loop {
                let mut line = String::new();
                loop {
                    match self.next() {
                        None => return Ok(()),
                        Some(Tok::Hole) => return Err(self.reject(Why::HereDocument)),
                        Some(C('\n')) => break,
                        Some(C(c)) => line.push(c),
                    }
                }
                let text = if doc.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    &line
                };
                if text == doc.delimiter {
                    break;
                }
                if line.ends_with('\\') {
                    self.unsure
                        .get_or_insert("a here-document line that ends with a backslash");
                }
            }
        }
        Ok(())
    }
}
