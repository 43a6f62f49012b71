//! `{{ … }}` templates in SQL, shell commands and manual instructions.
//!
//! A template is parsed once when the runbook loads, so an undefined variable or a
//! misspelled reference is an error in `check`, not a surprise in the change window.
//! Rendering escapes each value for where it lands: in a shell command, for the quoting
//! around it ([`shell`]: one word unquoted, escaped between double quotes, refused where no
//! quoting is safe); in SQL, the inside of a quoted string literal. Secrets render as `****`
//! unless the caller asks for the real value, which only executors do.

pub mod shell;

use std::ops::Range;

/// Where a rendered value lands, and so how it is escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// Free text shown to a person: inserted as is.
    None,
    /// A shell command: each value is quoted for where it sits ([`shell`]), so that it
    /// arrives as literal data; a template with a reference where that is impossible does
    /// not render.
    Shell,
    /// SQL: values are escaped for use inside a quoted string literal.
    SqlString,
}

/// Whether secrets are shown as `****` or revealed (only for what is sent to a server).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reveal {
    Masked,
    Secrets,
}

pub const MASK: &str = "****";

/// The subject naming the current member of a `for_each` phase.
pub const ITEM: &str = "item";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    Var(String),
    Secret(String),
    /// `SUBJECT.FIELD`: a fact about a server named by role, pin, name or `target`.
    Fact {
        subject: String,
        field: ServerField,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerField {
    Name,
    Host,
    Port,
    SshHost,
    MaxscaleName,
}

impl ServerField {
    const ALL: [(&'static str, ServerField); 5] = [
        ("name", ServerField::Name),
        ("host", ServerField::Host),
        ("port", ServerField::Port),
        ("ssh_host", ServerField::SshHost),
        ("maxscale_name", ServerField::MaxscaleName),
    ];

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, f)| *f)
    }

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A reference and its byte range inside the template source.
    Ref(Reference, Range<usize>),
}

/// A parsed template; `source` is the text as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub source: String,
    parts: Vec<Part>,
}

/// A template problem, at a byte range inside the template source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    pub range: Range<usize>,
}

/// A reference in a shell command where no quoting keeps its value literal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ShellError {
    pub message: String,
    /// What to write instead.
    pub help: String,
    pub range: Range<usize>,
}

/// What a template needs from the world to render.
pub trait Context {
    fn var(&self, name: &str) -> Option<String>;
    fn secret(&self, name: &str) -> Option<String>;
    fn fact(&self, subject: &str, field: ServerField) -> Option<String>;
}

impl Template {
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = 0;
        while let Some(open) = source[rest..].find("{{").map(|i| rest.saturating_add(i)) {
            if open > rest {
                parts.push(Part::Text(source[rest..open].to_string()));
            }
            let Some(close) = source[open..].find("}}").map(|i| open.saturating_add(i)) else {
                return Err(TemplateError {
                    message: "`{{` is never closed with `}}`".into(),
                    range: open..source.len(),
                });
            };
            let end = close.saturating_add("}}".len());
            let inside = &source[open.saturating_add("{{".len())..close];
            let range = open..end;
            let reference = parse_reference(inside.trim()).map_err(|message| TemplateError {
                message,
                range: range.clone(),
            })?;
            parts.push(Part::Ref(reference, range));
            rest = end;
        }
        if rest < source.len() {
            parts.push(Part::Text(source[rest..].to_string()));
        }
        Ok(Self {
            source: source.to_string(),
            parts,
        })
    }

    /// The same template with every reference to subject `from` naming `to` instead: a
    /// repetition binds `item` to its member. The value still goes through the escaping
    /// of where it sits when rendered, as any server fact does.
    pub fn bind_subject(&self, from: &str, to: &str) -> Template {
        let parts = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Ref(Reference::Fact { subject, field }, range) if subject == from => {
                    Part::Ref(
                        Reference::Fact {
                            subject: to.to_string(),
                            field: *field,
                        },
                        range.clone(),
                    )
                }
                other => other.clone(),
            })
            .collect();
        Template {
            source: self.source.clone(),
            parts,
        }
    }

    /// Every reference with its range in the source, for validation.
    pub fn references(&self) -> impl Iterator<Item = (&Reference, &Range<usize>)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Ref(r, range) => Some((r, range)),
            Part::Text(_) => None,
        })
    }

    /// Where each reference sits when this text is read as a shell command (in order), or
    /// the first reference that sits where no quoting is safe.
    pub fn shell_spots(&self) -> Result<Vec<shell::Spot>, ShellError> {
        shell::spots(&self.parts).map_err(|u| {
            let range = self
                .references()
                .nth(u.hole)
                .map_or(0..self.source.len(), |(_, r)| r.clone());
            let r = &self.source[range.clone()];
            ShellError {
                message: format!("`{r}` is {}", u.why.place()),
                help: u.why.help(r),
                range,
            }
        })
    }

    pub fn render(
        &self,
        ctx: &dyn Context,
        escape: Escape,
        reveal: Reveal,
    ) -> Result<String, TemplateError> {
        let spots = match escape {
            Escape::Shell => self.shell_spots().map_err(|e| TemplateError {
                message: format!("{}: {}", e.message, e.help),
                range: e.range,
            })?,
            Escape::None | Escape::SqlString => Vec::new(),
        };
        let mut out = String::with_capacity(self.source.len());
        let mut refs = 0_usize;
        for part in &self.parts {
            let (r, range) = match part {
                Part::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Part::Ref(r, range) => (r, range),
            };
            let index = refs;
            refs = refs.saturating_add(1);
            let fail = |what: String| TemplateError {
                message: what,
                range: range.clone(),
            };
            let missing = |what: String| fail(format!("{what} has no value"));
            let value = match r {
                Reference::Var(n) => ctx.var(n).ok_or_else(|| missing(format!("vars.{n}")))?,
                Reference::Secret(n) => match reveal {
                    // Masked text still says a secret stands there, never its value.
                    Reveal::Masked => {
                        out.push_str(MASK);
                        continue;
                    }
                    Reveal::Secrets => ctx
                        .secret(n)
                        .ok_or_else(|| missing(format!("secret.{n}")))?,
                },
                Reference::Fact { subject, field } => ctx
                    .fact(subject, *field)
                    .ok_or_else(|| missing(format!("{subject}.{}", field.as_str())))?,
            };
            match escape {
                Escape::None => out.push_str(&value),
                Escape::SqlString => out.push_str(&sql_string_escape(&value)),
                Escape::Shell => {
                    let spot = spots
                        .get(index)
                        .copied()
                        .ok_or_else(|| fail("cannot tell where this sits in the command".into()))?;
                    let written = shell::write(&value, spot).map_err(|why| {
                        fail(format!(
                            "the value of `{}` {why}",
                            &self.source[range.clone()]
                        ))
                    })?;
                    out.push_str(&written);
                }
            }
        }
        Ok(out)
    }
}

fn parse_reference(inner: &str) -> Result<Reference, String> {
    // `{{ item }}`: the current member's name in a for_each phase (bound on expansion).
    if inner == ITEM {
        return Ok(Reference::Fact {
            subject: ITEM.to_string(),
            field: ServerField::Name,
        });
    }
    let Some((head, tail)) = inner.split_once('.') else {
        return Err(format!(
            "`{{{{ {inner} }}}}` is not a reference: write vars.NAME, secret.NAME, SUBJECT.FIELD or item"
        ));
    };
    let valid_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !valid_name(head) || !valid_name(tail) {
        return Err(format!("`{inner}` is not a valid reference name"));
    }
    match head {
        "vars" | "var" => Ok(Reference::Var(tail.to_string())),
        "secret" | "secrets" => Ok(Reference::Secret(tail.to_string())),
        subject => match ServerField::parse(tail) {
            Some(field) => Ok(Reference::Fact {
                subject: subject.to_string(),
                field,
            }),
            None => Err(format!(
                "`{tail}` is not a server field; known: name, host, port, ssh_host, maxscale_name"
            )),
        },
    }
}

/// Escapes for the inside of a `'…'` SQL literal (backslash and quote, as MariaDB reads them).
pub fn sql_string_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '\'' => out.push_str("''"),
            '\0' => out.push_str(r"\0"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ctx;
    impl Context for Ctx {
        fn var(&self, name: &str) -> Option<String> {
            (name == "dir").then(|| "/root/my backup".to_string())
        }
        fn secret(&self, _: &str) -> Option<String> {
            Some("s3cr'et".to_string())
        }
        fn fact(&self, subject: &str, field: ServerField) -> Option<String> {
            (subject == "primary" && field == ServerField::Host).then(|| "127.0.0.1".into())
        }
    }

    #[test]
    fn shell_values_become_one_word() {
        let t = Template::parse("mkdir -p {{ vars.dir }} && echo {{secret.p}}").unwrap();
        let shown = t.render(&Ctx, Escape::Shell, Reveal::Masked).unwrap();
        assert_eq!(shown, "mkdir -p '/root/my backup' && echo ****");
        let sent = t.render(&Ctx, Escape::Shell, Reveal::Secrets).unwrap();
        assert_eq!(sent, r"mkdir -p '/root/my backup' && echo 's3cr'\''et'");
    }

    #[test]
    fn sql_values_are_escaped_inside_literals() {
        let t =
            Template::parse("MASTER_HOST='{{ primary.host }}', MASTER_PASSWORD='{{ secret.p }}'")
                .unwrap();
        let sent = t.render(&Ctx, Escape::SqlString, Reveal::Secrets).unwrap();
        assert_eq!(sent, "MASTER_HOST='127.0.0.1', MASTER_PASSWORD='s3cr''et'");
    }

    #[test]
    fn bad_references_name_their_range() {
        let err = Template::parse("SELECT {{ primary.hostname }}").unwrap_err();
        assert_eq!(err.range, 7..29);
        assert!(err.message.contains("not a server field"));
        let err = Template::parse("echo {{ vars.x").unwrap_err();
        assert_eq!(err.range, 5..14);
    }
}
