//! flightdeck's one shell-quoting module: where each `{{ … }}` of a shell command sits, and
//! how its value is written there so that it stays literal data.
//!
//! The command is scanned the way `sh` reads it, each reference a hole in the text:
//! - in an unquoted word, the value becomes single-quoted (`'…'`, each `'` as `'\''`), or
//!   stays bare when it is plainly inert ([`word`]) and nothing before it (`~`, `$NAME`)
//!   would read it;
//! - between double quotes, `\`, `"`, `$` and the backtick are escaped ([`in_double_quotes`]);
//! - anywhere else no quoting is safe and the reference is refused ([`Why`]): in an argument
//!   that a command reads again as code (`eval`, `sh -c`, `ssh`, `mysql -e`), inside single
//!   quotes or backticks, `${ … }` or `$(( … ))`, a here-document, a `#` comment, right
//!   after a backslash or a `$`, or after `"$NAME` (whose name it would lengthen). Where the
//!   scan cannot be sure how `sh` reads the text (`case` inside `$( … )`, `$'…'`), every
//!   later reference is refused too.

use super::Part;

mod reread;
mod scan;

/// Where a reference sits, and so how its value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spot {
    /// Unquoted, in a word. `bare_ok` is false right after a `~` or a `$NAME`, where a bare
    /// value would be read as a login name or lengthen the name.
    Word { bare_ok: bool },
    /// Between double quotes.
    DoubleQuoted,
}

/// Why a reference cannot be quoted where it sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    SingleQuotes,
    Backticks,
    Parameter,
    Arithmetic,
    HereDocument,
    HereDelimiter,
    Comment,
    Backslash,
    Dollar,
    /// Right after `$NAME` between double quotes.
    AfterName,
    /// An argument that a command reads again as code (`eval`, `sh -c`, `ssh`, `mysql -e`…).
    Reread(&'static str),
    /// A construct before it that this scan does not follow.
    Unsure(&'static str),
}

impl Why {
    /// Where the reference is, completing "`{{ x }}` is …".
    pub fn place(self) -> String {
        match self {
            Why::SingleQuotes => "inside single quotes, which nothing inside them can escape".into(),
            Why::Backticks => "inside backticks `…`, whose text the shell reads twice".into(),
            Why::Parameter => "inside `${ … }`".into(),
            Why::Arithmetic => "inside `$(( … ))`, which evaluates its text as an expression".into(),
            Why::HereDocument => "inside a here-document, whose text is not quoted (and a line equal to its delimiter would end it)".into(),
            Why::HereDelimiter => "a here-document's delimiter".into(),
            Why::Comment => "in a `#` comment, which a newline in the value would end".into(),
            Why::Backslash => "right after a backslash, which would escape the quote around the value".into(),
            Why::Dollar => "right after `$`, where the value would be read as a parameter or a command substitution".into(),
            Why::AfterName => "right after a `$NAME`, whose name the value would lengthen".into(),
            Why::Reread(what) => format!(
                "in an argument that {what} reads again as code, where quoting for this shell does not hold"
            ),
            Why::Unsure(what) => format!("after {what}, where flightdeck cannot follow the shell's quoting"),
        }
    }

    /// What to write instead; `r` is the reference as written.
    pub fn help(self, r: &str) -> String {
        match self {
            Why::SingleQuotes => format!(
                "write it outside the quotes ('…'{r}'…') or between double quotes; if the quoted text is a script for another shell (sh -c, su -c, ssh), pass the value as an argument: sh -c '… \"$1\"' sh {r}"
            ),
            Why::Backticks => {
                "use $( … ) instead: inside it a value is quoted as anywhere else".into()
            }
            Why::Parameter => {
                format!("set a variable on a line before: v={r} — and use \"${{v…}}\"")
            }
            Why::Arithmetic => format!(
                "check that the value is a number first: n={r}; case $n in ''|*[!0-9]*) exit 1;; esac — then use $((n …))"
            ),
            Why::HereDocument => format!(
                "set a variable on a line before the here-document, v={r}, and write $v in it (with an unquoted delimiter, <<EOF; what $v holds is not read again) — or pipe the value: printf '%s\\n' {r} | command"
            ),
            Why::HereDelimiter => "write the delimiter literally".into(),
            Why::Comment => "take it out of the comment".into(),
            Why::Backslash => "remove the backslash, or put a space before the reference".into(),
            Why::Dollar => {
                format!("remove the `$`; to use the value as a variable, set one first: v={r}")
            }
            Why::AfterName => format!("write the name in braces: ${{NAME}}{r}"),
            Why::Reread("`mysql -e`") => {
                "SQL belongs in a `sql` step, where values are escaped for SQL".into()
            }
            Why::Reread("`ssh`") => "a shell step already runs on its target over SSH: give the step that target instead".into(),
            Why::Reread(_) => format!(
                "pass the value as an argument of its own and refer to it: sh -c '… \"$1\"' sh {r}"
            ),
            Why::Unsure(_) => format!(
                "move the reference before it, or set a variable first: v={r} — and use \"$v\""
            ),
        }
    }
}

/// A reference that sits where no quoting is safe: the `hole`-th reference of the template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsafe {
    pub hole: usize,
    pub why: Why,
}

/// One shell word holding exactly `value`: bare when it is made of letters, digits and
/// `_./:@%+-` and has at least one character other than a letter, digit or `_` (so it can
/// never read as a keyword, an assignment or a redirection's number), else single-quoted.
pub fn word(value: &str) -> String {
    let inert = |c: char| c.is_ascii_alphanumeric() || "_./:@%+-".contains(c);
    let bare = value.chars().all(inert)
        && value
            .chars()
            .any(|c| !c.is_ascii_alphanumeric() && c != '_');
    if bare {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// `value` escaped for the inside of `"…"`: `\`, `"`, `$` and the backtick get a backslash.
pub fn in_double_quotes(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `value` written for `spot`. A NUL byte cannot be part of a shell argument: refused.
pub fn write(value: &str, spot: Spot) -> Result<String, &'static str> {
    if value.contains('\0') {
        return Err("contains a NUL byte, which no shell argument can hold");
    }
    Ok(match spot {
        Spot::Word { bare_ok: true } => word(value),
        Spot::Word { bare_ok: false } => format!("'{}'", value.replace('\'', r"'\''")),
        Spot::DoubleQuoted => in_double_quotes(value),
    })
}

/// Where each reference of `parts` sits, in order, or the first one that is unsafe.
pub(super) fn spots(parts: &[Part]) -> Result<Vec<Spot>, Unsafe> {
    let mut toks = Vec::new();
    for part in parts {
        match part {
            Part::Text(t) => toks.extend(t.chars().map(scan::Tok::C)),
            Part::Ref(..) => toks.push(scan::Tok::Hole),
        }
    }
    scan::spots(&toks)
}

#[cfg(test)]
mod tests;
