//! How the rows share the width: every column as wide as its widest cell (within limits),
//! the essentials first, and each cell cut with "…" rather than wrapped.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::tui::theme::Theme;

const NAME_MAX: usize = 12;
const ROLE: usize = 7;
const RO: usize = 2;
/// `IO✔ SQL✔`
const THREADS_MIN: usize = 8;
const LAG_MIN: usize = "lag 0s".len();
const GTID_MIN: usize = "behind 0".len();
/// The GTID column may shrink to this when room is short (the primary's position is cut).
const GTID_CUT: usize = 10;
/// Below this, the trailing error column is not worth showing.
const EXTRA_MIN: usize = 8;

/// Styled pieces of one column's text.
#[derive(Clone)]
pub(super) struct Cell(pub(super) Vec<(String, Style)>);

impl Cell {
    pub(super) fn one(text: impl Into<String>, style: Style) -> Self {
        Self(vec![(text.into(), style)])
    }

    fn len(&self) -> usize {
        self.0.iter().map(|(t, _)| t.chars().count()).sum()
    }

    /// Appends the cell cut to `width` (ending in "…" when cut), padded to it, and a space.
    fn put(&self, out: &mut Vec<Span<'static>>, width: usize) {
        let cut = self.len() > width;
        let mut room = if cut { width.saturating_sub(1) } else { width };
        let mut last = Style::default();
        for (text, style) in &self.0 {
            let piece: String = text.chars().take(room).collect();
            room -= piece.chars().count();
            last = *style;
            out.push(Span::styled(piece, *style));
        }
        if cut && width > 0 {
            out.push(Span::styled("…", last));
        }
        out.push(Span::raw(" ".repeat(width.saturating_sub(self.len()) + 1)));
    }

    /// Like [`Cell::put`], but a cut never ends on a separator (`detail · …`).
    fn put_trimmed(&self, out: &mut Vec<Span<'static>>, width: usize) {
        if self.len() <= width {
            return self.put(out, width);
        }
        let mut room = width.saturating_sub(1);
        let mut kept = Vec::new();
        for (text, style) in &self.0 {
            let piece: String = text.chars().take(room).collect();
            room -= piece.chars().count();
            kept.push((piece, *style));
        }
        while let Some((text, _)) = kept.last_mut() {
            let trimmed = text.trim_end_matches([' ', '·']).len();
            text.truncate(trimmed);
            if !text.is_empty() {
                break;
            }
            kept.pop();
        }
        let kept = Cell(kept);
        let pad = width.saturating_sub(kept.len() + 1);
        let last = self.0.last().map_or(Style::default(), |(_, s)| *s);
        out.extend(kept.0.into_iter().map(|(t, s)| Span::styled(t, s)));
        if width > 0 {
            out.push(Span::styled("…", last));
        }
        out.push(Span::raw(" ".repeat(pad + 1)));
    }
}

/// A column's text in a long form, and a shorter one for narrow areas.
#[derive(Clone)]
pub(super) struct Forms {
    pub(super) long: Cell,
    pub(super) short: Cell,
}

impl Forms {
    pub(super) fn both(cell: Cell) -> Self {
        Self {
            short: cell.clone(),
            long: cell,
        }
    }
}

pub(super) enum Body {
    Values {
        role: Cell,
        ro: Cell,
        threads: Cell,
        lag: Cell,
        hb: Option<Cell>,
        gtid: Forms,
    },
    /// One text across the value columns (why the last poll failed, or that none came
    /// yet), from the role column on when there is no role. The tail (how old that news
    /// is) follows it and always shows: the text is cut before it.
    Note {
        role: Option<Cell>,
        text: Cell,
        tail: Option<Cell>,
    },
}

pub(super) struct Row {
    pub(super) name: String,
    pub(super) body: Body,
    /// Short: without `Running`, which the absence of `Down` already says.
    pub(super) state: Forms,
    /// The replica's last error, shown when there is room.
    pub(super) extra: Option<Cell>,
}

struct Widths {
    name: usize,
    /// From the read_only column to the GTID column, separators included.
    before_gtid: usize,
    threads: usize,
    lag: usize,
    hb: Option<usize>,
    gtid: usize,
    state: usize,
    /// Every row's state in its short form, because one long form did not fit.
    state_short: bool,
    extra: usize,
}

/// The rows as lines `width` columns wide, their columns aligned.
pub(super) fn lines(rows: &[Row], width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let w = widths(rows, width);
    rows.iter().map(|r| line(r, &w, theme)).collect()
}

/// Where a note starts before the read_only column: in the role column without a role.
fn note_lead(role: Option<&Cell>) -> usize {
    if role.is_some() { 0 } else { ROLE + 1 }
}

fn widths(rows: &[Row], total: usize) -> Widths {
    let values = || {
        rows.iter().filter_map(|r| match &r.body {
            Body::Values {
                threads,
                lag,
                hb,
                gtid,
                ..
            } => Some((threads, lag, hb, gtid)),
            Body::Note { .. } => None,
        })
    };
    // Minimums keep the columns still while values come and go.
    let name = widest(rows.iter().map(|r| r.name.chars().count())).min(NAME_MAX);
    let threads = widest(values().map(|v| v.0.len())).max(THREADS_MIN);
    let lag = widest(values().map(|v| v.1.len())).max(LAG_MIN);
    let hb = values()
        .any(|v| v.2.is_some())
        .then(|| widest(values().map(|v| v.2.as_ref().map_or(4, Cell::len))));
    // A note spans the columns up to the state; whatever it needs beyond, the GTID
    // column gets when there is room.
    let before_gtid = RO + 1 + threads + 1 + lag + 1 + hb.map_or(0, |h| h + 1);
    let notes = rows.iter().filter_map(|r| match &r.body {
        Body::Note { role, text, tail } => Some(
            (text.len() + tail.as_ref().map_or(0, Cell::len))
                .saturating_sub(note_lead(role.as_ref())),
        ),
        Body::Values { .. } => None,
    });
    let gtid_need = widest(values().map(|v| v.3.long.len()))
        .max(GTID_MIN)
        .max(widest(notes).saturating_sub(before_gtid));
    let gtid_min = widest(values().map(|v| v.3.short.len().min(GTID_CUT)));
    let state_need = widest(rows.iter().map(|r| r.state.long.len()));
    let state_min = widest(rows.iter().map(|r| r.state.short.len()));
    let fixed = name + 1 + ROLE + 1 + before_gtid;
    let rest = total.saturating_sub(fixed);
    // The GTID column's essentials first, then the whole state, then the primary's
    // whole position; when the whole state does not fit, its short form.
    let gtid_room = rest.saturating_sub(state_need + 1);
    let (gtid, state) = if gtid_room >= gtid_min {
        (gtid_room.min(gtid_need), state_need)
    } else {
        let state = state_min.min(rest.saturating_sub(gtid_min + 1));
        let gtid = rest.saturating_sub(state + 1).min(gtid_need).max(gtid_min);
        (gtid, state)
    };
    Widths {
        name,
        before_gtid,
        threads,
        lag,
        hb,
        gtid,
        state,
        state_short: state < state_need,
        extra: rest.saturating_sub(gtid + 1 + state + 1),
    }
}

fn line(r: &Row, w: &Widths, theme: &Theme) -> Line<'static> {
    let mut out = Vec::new();
    Cell::one(r.name.clone(), Style::default()).put(&mut out, w.name);
    match &r.body {
        Body::Values {
            role,
            ro,
            threads,
            lag,
            hb,
            gtid,
        } => {
            role.put(&mut out, ROLE);
            ro.put(&mut out, RO);
            threads.put(&mut out, w.threads);
            lag.put(&mut out, w.lag);
            if let Some(hw) = w.hb {
                let none = Cell::one("hb -", theme.dim());
                hb.as_ref().unwrap_or(&none).put(&mut out, hw);
            }
            let g = if gtid.long.len() <= w.gtid {
                &gtid.long
            } else {
                &gtid.short
            };
            g.put(&mut out, w.gtid);
        }
        Body::Note { role, text, tail } => {
            if let Some(role) = role {
                role.put(&mut out, ROLE);
            }
            let span = note_lead(role.as_ref()) + w.before_gtid + w.gtid;
            note(&mut out, text, tail.as_ref(), span);
        }
    }
    let state = if w.state_short {
        &r.state.short
    } else {
        &r.state.long
    };
    state.put(&mut out, w.state);
    if let Some(extra) = r.extra.as_ref().filter(|_| w.extra >= EXTRA_MIN) {
        extra.put(&mut out, w.extra);
    }
    Line::from(out)
}

/// A note and its tail in `span` columns (and a space): the text cut before the tail.
fn note(out: &mut Vec<Span<'static>>, text: &Cell, tail: Option<&Cell>, span: usize) {
    let Some(tail) = tail else {
        return text.put(out, span);
    };
    if text.len() + tail.len() <= span {
        let mut both = text.clone();
        both.0.extend(tail.0.iter().cloned());
        return both.put(out, span);
    }
    // The cut text, a space, then the tail; with no room for any text, the tail alone.
    match span.checked_sub(tail.len() + 1).filter(|room| *room > 0) {
        Some(room) => {
            text.put_trimmed(out, room);
            tail.put(out, tail.len());
        }
        None => tail.put(out, span),
    }
}

fn widest(lens: impl Iterator<Item = usize>) -> usize {
    lens.max().unwrap_or(1)
}
