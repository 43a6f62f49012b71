//! Source-span diagnostics for files the operator wrote (runbooks, inventories).
//!
//! Every problem found in a file becomes a [`SourceError`] naming the file, the line and
//! the column, and carrying the offending excerpt; [`Diagnostics`] collects all of them so
//! `check` can print every error at once instead of stopping at the first.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};

/// A file's text, shared by all diagnostics about it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    /// Reads a file, with the path in the error.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReadError {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self::new(path, text))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }
}

/// A file could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {source}", path.display())]
pub struct ReadError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// One problem at one place in a file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
pub struct SourceError {
    pub message: String,
    #[source_code]
    source_code: NamedSource<Arc<str>>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    #[help]
    pub help: Option<String>,
    /// 1-based line and column of the span's start.
    pub line: usize,
    pub column: usize,
    pub path: PathBuf,
}

impl SourceError {
    pub fn new(file: &SourceFile, span: Range<usize>, message: impl Into<String>) -> Self {
        let (line, column) = file.line_col(span.start);
        let len = span.end.saturating_sub(span.start);
        Self {
            message: message.into(),
            source_code: NamedSource::new(file.path.display().to_string(), file.text.clone()),
            span: (span.start, len).into(),
            label: "here".to_string(),
            help: None,
            line,
            column,
            path: file.path.clone(),
        }
    }

    /// As [`SourceError::new`], for a span that holds a secret: the excerpt shows it as
    /// `*` (quotes kept, every byte kept in place so positions hold).
    pub fn redacted(file: &SourceFile, span: Range<usize>, message: impl Into<String>) -> Self {
        let mut e = Self::new(file, span.clone(), message);
        let text = file.text.as_ref();
        if let Some(secret) = text.get(span.clone()) {
            let masked: String = secret
                .chars()
                .map(|c| match c {
                    '"' | '\'' => c.to_string(),
                    _ => "*".repeat(c.len_utf8()),
                })
                .collect();
            let mut shown = text.to_string();
            shown.replace_range(span, &masked);
            e.source_code = NamedSource::new(file.path.display().to_string(), Arc::from(shown));
        }
        e
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `path:line:column`, the way compilers name a place.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.path.display(), self.line, self.column)
    }

    /// A one-line header followed by the excerpt with the span underlined.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let mut out = format!("error: {}: {}\n", self.location(), self.message);
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_context_lines(1)
            .with_width(100);
        let mut report = String::new();
        if handler.render_report(&mut report, self).is_err() {
            out.push_str("  (excerpt could not be rendered)\n");
            return out;
        }
        // The header line already says the message; keep miette's excerpt and help.
        let excerpt = report
            .lines()
            .skip_while(|l| !l.contains("╭─["))
            .collect::<Vec<_>>()
            .join("\n");
        out.push_str(&excerpt);
        out.push('\n');
        out
    }
}

/// All problems found in one or more files.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<SourceError>,
}

impl Diagnostics {
    /// Adds an error, unless the same message is already recorded at the same place: two
    /// checks reaching the same problem report it once.
    pub fn push(&mut self, error: SourceError) {
        let same = |e: &SourceError| {
            (&e.path, e.line, e.column, &e.message)
                == (&error.path, error.line, error.column, &error.message)
        };
        if !self.errors.iter().any(same) {
            self.errors.push(error);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        for e in other.errors {
            self.push(e);
        }
    }

    /// Errors in file order, each rendered with its excerpt.
    pub fn render(&self, color: bool) -> String {
        let mut sorted: Vec<&SourceError> = self.errors.iter().collect();
        sorted.sort_by_key(|e| (e.path.clone(), e.line, e.column));
        sorted.iter().map(|e| e.render(color)).collect()
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.errors {
            writeln!(f, "{}: {}", e.location(), e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Deserializes one spanned TOML value, recording a failure at its place.
///
/// Used to read a document piece by piece, so that one bad table does not hide errors in
/// the next.
pub fn deserialize_at<T: serde::de::DeserializeOwned>(
    file: &SourceFile,
    value: toml::Spanned<toml::de::DeValue<'_>>,
    diags: &mut Diagnostics,
) -> Option<T> {
    let fallback = value.span();
    match T::deserialize(toml::de::ValueDeserializer::from(value)) {
        Ok(t) => Some(t),
        Err(e) => {
            let span = e.span().unwrap_or(fallback);
            diags.push(SourceError::new(file, span, e.message().trim().to_string()));
            None
        }
    }
}

/// Parses a TOML document into a spanned tree, or every syntax error in it.
pub fn parse_document<'a>(
    file: &'a SourceFile,
) -> Result<toml::Spanned<toml::de::DeTable<'a>>, Diagnostics> {
    let (root, syntax) = toml::de::DeTable::parse_recoverable(&file.text);
    if syntax.is_empty() {
        return Ok(root);
    }
    let mut diags = Diagnostics::default();
    for e in &syntax {
        let span = e.span().unwrap_or(0..0);
        diags.push(SourceError::new(file, span, e.message().trim()).label("TOML syntax"));
    }
    Err(diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_error_at_the_same_place_is_kept_once() {
        let file = SourceFile::new("r.toml", "[[phase]]\nid = \"\"\n");
        let mut d = Diagnostics::default();
        d.push(SourceError::new(&file, 15..17, "duplicate phase id ``"));
        let mut more = Diagnostics::default();
        more.push(SourceError::new(&file, 15..17, "duplicate phase id ``"));
        more.push(SourceError::new(&file, 15..17, "another problem"));
        more.push(SourceError::new(&file, 0..1, "duplicate phase id ``"));
        d.extend(more);
        assert_eq!(d.len(), 3);
        assert_eq!(
            d.render(false)
                .matches("error: r.toml:2:6: duplicate")
                .count(),
            1
        );
    }
}
