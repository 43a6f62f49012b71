//! One line of a MySQL option file, read as MariaDB's `mysys/my_default.c` reads it
//! (`search_default_file_with_ext`, `remove_end_comment`, `get_argument`). Its quirks are
//! kept on purpose, each checked against `my_print_defaults` 10.11 (tests/option_files.rs):
//! the point is the value the `mariadb` client gets, not a tidier one.
//!
//! Everything is bytes: an option file need not be UTF-8, and the client trims bytes, not
//! characters.

/// `fgets(buff, sizeof(buff) - 1)` with a 4096-byte buffer: a longer line is read in
/// pieces, each parsed as a line of its own.
pub const MAX_LINE: usize = 4094;

/// White space as the client sees it: `my_isspace` of latin1, which counts 0xA0 (latin1's
/// no-break space) too. In UTF-8 that byte ends characters such as `à` (C3 A0), so an
/// unquoted value ending in one loses half a character, as it does for the client.
pub fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    &s[start..]
}

fn trim_end(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&b| !is_space(b)).map_or(0, |i| i + 1);
    &s[..end]
}

/// The lines as `fgets` returns them (up to and including `\n`, at most [`MAX_LINE`]
/// bytes), each cut at a NUL byte, where the C string ends.
pub fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let limit = rest.len().min(MAX_LINE);
        let len = rest[..limit]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(limit, |i| i + 1);
        let (line, tail) = rest.split_at(len);
        rest = tail;
        Some(line.split(|&b| b == 0).next().unwrap_or(line))
    })
}

/// What one line is.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Empty, or a comment: `#` or `;` first.
    Blank,
    /// A `!` line, with what follows the `!` (see [`directive`]).
    Directive(&'a [u8]),
    /// `[name]`: the name without trailing white space; what follows `]` is ignored.
    Group(&'a [u8]),
    /// `[` without `]`: fatal for the client.
    UnclosedGroup,
    /// `name` or `name = value`, the value unquoted and unescaped. Never shown whole: it
    /// may be a password.
    Option {
        name: &'a [u8],
        value: Option<Vec<u8>>,
    },
}

pub fn classify(line: &[u8]) -> Line<'_> {
    let line = trim_start(line);
    match line.first() {
        None | Some(b'#') | Some(b';') => Line::Blank,
        Some(b'!') => Line::Directive(&line[1..]),
        Some(b'[') => {
            let name = &line[1..];
            match name.iter().position(|&b| b == b']') {
                // Leading white space stays: `[ client]` is not `[client]` for the client.
                Some(end) => Line::Group(trim_end(&name[..end])),
                None => Line::UnclosedGroup,
            }
        }
        Some(_) => option(line),
    }
}

fn option(line: &[u8]) -> Line<'_> {
    let line = &line[..comment_start(line)];
    match line.iter().position(|&b| b == b'=') {
        None => Line::Option {
            name: trim_end(line),
            value: None,
        },
        Some(eq) => Line::Option {
            name: trim_end(&line[..eq]),
            value: Some(value(&line[eq + 1..])),
        },
    }
}

/// `remove_end_comment`: a `#` outside quotes ends the line, wherever it is (`ab#cd` is
/// `ab`). Quotes open anywhere, name included, and a backslash escapes a quote only inside
/// quotes.
fn comment_start(line: &[u8]) -> usize {
    let mut quote = None;
    let mut escape = false;
    for (i, &b) in line.iter().enumerate() {
        if (b == b'\'' || b == b'"') && !escape {
            match quote {
                None => quote = Some(b),
                Some(q) if q == b => quote = None,
                Some(_) => {}
            }
        }
        if quote.is_none() && b == b'#' {
            return i;
        }
        escape = quote.is_some() && b == b'\\' && !escape;
    }
    line.len()
}

/// A value: trimmed, one pair of matching quotes around it removed, then the escapes
/// `\n \t \r \b \s \" \' \\` replaced, quoted or not. An unknown escape keeps its
/// backslash (`\q` stays `\q`), and so does a backslash at the end.
fn value(raw: &[u8]) -> Vec<u8> {
    let v = trim_end(trim_start(raw));
    let v = match v {
        [q @ (b'"' | b'\''), inner @ .., last] if q == last => inner,
        _ => v,
    };
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' && i + 1 < v.len() {
            i += 1;
            match v[i] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'b' => out.push(0x08),
                b's' => out.push(b' '),
                c @ (b'"' | b'\'' | b'\\') => out.push(c),
                other => out.extend([b'\\', other]),
            }
        } else {
            out.push(v[i]);
        }
        i += 1;
    }
    out
}

/// What a `!` line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Directive<'a> {
    Include(&'a [u8]),
    IncludeDir(&'a [u8]),
    /// `!include` or `!includedir` with nothing after it (by the client's count): fatal.
    Empty(&'static str),
    /// Any other `!` line: the client ignores it.
    Other,
}

/// `rest` is what follows the `!`. The keyword must be followed by white space.
pub fn directive(rest: &[u8]) -> Directive<'_> {
    let rest = trim_start(rest);
    let keyword = |kw: &[u8]| {
        rest.strip_prefix(kw)
            .filter(|after| after.first().is_some_and(|&b| is_space(b)))
    };
    if let Some(after) = keyword(b"includedir") {
        argument(after).map_or(Directive::Empty("!includedir"), Directive::IncludeDir)
    } else if let Some(after) = keyword(b"include") {
        argument(after).map_or(Directive::Empty("!include"), Directive::Include)
    } else {
        Directive::Other
    }
}

/// `get_argument`, with its off-by-one: trailing white space is trimmed from the line's
/// last byte but one, on the assumption that the last is `\n`. So on a last line without
/// a newline the argument loses its final byte (`!include /a.cnf` reads `/a.cn`, which is
/// usually missing and so skipped), and a one-byte argument there is no argument.
fn argument(after: &[u8]) -> Option<&[u8]> {
    let arg = trim_start(after);
    let mut end = arg.len().checked_sub(1)?;
    while end >= 1 && is_space(arg[end - 1]) {
        end -= 1;
    }
    (end > 0).then(|| &arg[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(line: &str) -> (String, Option<String>) {
        match classify(line.as_bytes()) {
            Line::Option { name, value } => (
                String::from_utf8_lossy(name).into_owned(),
                value.map(|v| String::from_utf8_lossy(&v).into_owned()),
            ),
            other => panic!("{line:?} is {other:?}"),
        }
    }

    #[test]
    fn comments_blank_lines_and_groups() {
        for blank in ["", "\n", "  \t\n", "# c\n", "  ; c\n"] {
            assert_eq!(classify(blank.as_bytes()), Line::Blank, "{blank:?}");
        }
        assert_eq!(classify(b"[client]\n"), Line::Group(b"client"));
        assert_eq!(classify(b"  [client ] junk\n"), Line::Group(b"client"));
        assert_eq!(classify(b"[ client]\n"), Line::Group(b" client"));
        assert_eq!(classify(b"[client\n"), Line::UnclosedGroup);
        assert_eq!(classify(b"!include x\n"), Line::Directive(b"include x\n"));
    }

    #[test]
    fn names_and_values_are_trimmed_and_a_bare_name_has_no_value() {
        assert_eq!(
            opt("  user \t=  dba  \r\n"),
            ("user".into(), Some("dba".into()))
        );
        assert_eq!(
            opt("pass word = v\n"),
            ("pass word".into(), Some("v".into()))
        );
        assert_eq!(opt("password\n"), ("password".into(), None));
        assert_eq!(opt("password =\n"), ("password".into(), Some("".into())));
        assert_eq!(opt("k = a = b\n"), ("k".into(), Some("a = b".into())));
        let (_, v) = opt("password=caf\u{e0}\n");
        assert_eq!(v.as_deref(), Some("caf\u{fffd}"), "0xA0 trimmed as space");
    }

    #[test]
    fn a_hash_outside_quotes_ends_the_line() {
        assert_eq!(opt("password=ab#cd\n").1.as_deref(), Some("ab"));
        assert_eq!(opt("user = \"x y\" # c\n").1.as_deref(), Some("x y"));
        assert_eq!(opt("socket='a#b'\n").1.as_deref(), Some("a#b"));
        assert_eq!(opt("p=x\"#\"y#z\n").1.as_deref(), Some("x\"#\"y"));
        assert_eq!(opt("p=\"a\\\"#b\"\n").1.as_deref(), Some("a\"#b"));
        // Outside quotes a backslash does not escape the quote, which then opens one.
        assert_eq!(opt("p=a\\\"#b\n").1.as_deref(), Some("a\"#b"));
        assert_eq!(opt("skip-ssl # no TLS\n"), ("skip-ssl".into(), None));
    }

    #[test]
    fn quotes_and_escapes() {
        let v = |line: &str| opt(line).1.unwrap_or_default();
        assert_eq!(v("p='it''s'\n"), "it''s");
        assert_eq!(v("p=\"a\"b\"\n"), "a\"b");
        assert_eq!(v("p=\"\n"), "\"");
        assert_eq!(v("p=''\n"), "");
        assert_eq!(v("p=\"mixed'\n"), "\"mixed'");
        assert_eq!(v("p=\\n\\t\\r\\b\\s\\\"\\'\\\\\n"), "\n\t\r\u{8} \"'\\");
        assert_eq!(
            v("p=a\\qb\\\n"),
            "a\\qb\\",
            "unknown and final escapes kept"
        );
        assert_eq!(v("p=\"\\s\"\n"), " ");
    }

    #[test]
    fn directives_need_white_space_after_the_keyword() {
        assert_eq!(
            directive(b"include /a.cnf\n"),
            Directive::Include(b"/a.cnf")
        );
        assert_eq!(
            directive(b"  includedir  /d/ \r\n"),
            Directive::IncludeDir(b"/d/")
        );
        assert_eq!(directive(b"includex y\n"), Directive::Other);
        assert_eq!(directive(b"foo\n"), Directive::Other);
        assert_eq!(directive(b"include\n"), Directive::Empty("!include"));
        assert_eq!(directive(b"include   \n"), Directive::Empty("!include"));
        assert_eq!(directive(b"includedir \n"), Directive::Empty("!includedir"));
    }

    #[test]
    fn a_last_line_without_newline_loses_its_last_byte() {
        assert_eq!(directive(b"include /a.cnf"), Directive::Include(b"/a.cn"));
        assert_eq!(directive(b"include x"), Directive::Empty("!include"));
        assert_eq!(
            directive(b"include /a.cnf \n"),
            Directive::Include(b"/a.cnf")
        );
    }

    #[test]
    fn long_lines_are_read_in_pieces_and_cut_at_nul() {
        let long = format!("user={}\nhost=h", "x".repeat(5000));
        let got: Vec<usize> = lines(long.as_bytes()).map(<[u8]>::len).collect();
        assert_eq!(got, [MAX_LINE, 5005 - MAX_LINE + 1, 6]);
        let got: Vec<&[u8]> = lines(b"a=1\0b\nc\n").collect();
        assert_eq!(got, [&b"a=1"[..], b"c\n"]);
    }
}
