//! Lines that never wrap: spans cut to a width with "…", a tail (an age, a mark) that a
//! cut never removes, and long texts (a replica's last error) wrapped by hand so a pane
//! knows how many lines each row takes. Widths are counted in characters.

use std::time::Instant;

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::fmt_age;

/// Characters in a run of spans.
pub fn width_of(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| s.content.chars().count()).sum()
}

/// Cuts `spans` to `width` characters, ending in "…" when something was cut.
pub fn cut(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    if width_of(&spans) <= width {
        return spans;
    }
    let mut room = width.saturating_sub(1);
    let mut out = Vec::new();
    let mut last = Style::default();
    for span in spans {
        if room == 0 {
            break;
        }
        let piece: String = span.content.chars().take(room).collect();
        room -= piece.chars().count();
        last = span.style;
        out.push(Span::styled(piece, span.style));
    }
    // A cut never ends on padding or a separator.
    while let Some(span) = out.last_mut() {
        let trimmed = span.content.trim_end_matches([' ', '·']).to_string();
        if trimmed.is_empty() {
            out.pop();
        } else {
            span.content = trimmed.into();
            break;
        }
    }
    if width > 0 {
        out.push(Span::styled("…", last));
    }
    out
}

/// One line of at most `width` characters: `body` cut as needed, then a space and `tail`,
/// which always shows (cut itself only when it alone is wider than the line).
pub fn fit(body: Vec<Span<'static>>, tail: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let tail_len = width_of(&tail);
    if tail_len == 0 {
        return Line::from(cut(body, width));
    }
    if tail_len + 1 >= width {
        return Line::from(cut(tail, width));
    }
    let body = trim_end(body);
    let room = width - tail_len - 1;
    let mut spans = cut(body, room);
    spans.push(Span::raw(" "));
    spans.extend(tail);
    Line::from(spans)
}

/// Drops trailing blanks (column padding) so a tail follows the last value.
fn trim_end(mut spans: Vec<Span<'static>>) -> Vec<Span<'static>> {
    while let Some(span) = spans.last_mut() {
        let trimmed = span.content.trim_end().to_string();
        if trimmed.is_empty() {
            spans.pop();
        } else {
            span.content = trimmed.into();
            break;
        }
    }
    spans
}

/// `text` wrapped at `width` characters, between words where it can: the first line
/// after `first`, the others after as many spaces, all in `style`.
pub fn wrap(text: &str, first: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    let indent = first.chars().count();
    let room = width.saturating_sub(indent).max(1);
    wrap_words(text, room)
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let lead = if i == 0 {
                first.to_string()
            } else {
                " ".repeat(indent)
            };
            Line::from(vec![Span::raw(lead), Span::styled(chunk, style)])
        })
        .collect()
}

/// Greedy word wrap at `room` characters; a word longer than a line is split.
fn wrap_words(text: &str, room: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let len = line.chars().count();
            let need = if len == 0 {
                word.len()
            } else {
                len + 1 + word.len()
            };
            if need <= room {
                if len > 0 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if len > 0 {
                out.push(std::mem::take(&mut line));
                continue;
            }
            out.push(word[..room].iter().collect());
            word.drain(..room);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// `last known 4.2s`: how old the facts on a row are, once they are not live.
pub fn last_known(at: Option<Instant>, now: Instant) -> String {
    match at {
        Some(t) => format!("last known {}", fmt_age(now.saturating_duration_since(t))),
        None => "last known".to_string(),
    }
}

/// Every span of a row in one style (a row of last known values).
pub fn restyle(spans: Vec<Span<'static>>, style: Style) -> Vec<Span<'static>> {
    spans
        .into_iter()
        .map(|s| Span::styled(s.content, style))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_cut_line_keeps_its_tail() {
        let body = vec![Span::raw("server2    "), Span::raw("a long reason · ")];
        let tail = vec![Span::raw("0.2s ago")];
        assert_eq!(
            text(&fit(body.clone(), tail.clone(), 40)),
            "server2    a long reason · 0.2s ago"
        );
        assert_eq!(text(&fit(body, tail, 22)), "server2    a… 0.2s ago");
    }

    #[test]
    fn wrapping_indents_the_continuation() {
        let lines = wrap("abcdefgh", "  └ ", 8, Style::default());
        let got: Vec<String> = lines.iter().map(text).collect();
        assert_eq!(got, ["  └ abcd", "    efgh"]);
        let lines = wrap("Duplicate entry '1' for key", "  └ ", 18, Style::default());
        let got: Vec<String> = lines.iter().map(text).collect();
        assert_eq!(got, ["  └ Duplicate", "    entry '1' for", "    key"]);
    }
}
