//! The lag chart: replication lag per server across the window, from the journal's
//! once-a-second `sample` events, with the steps marked where they started.
//!
//! **One point per sample.** Each server that had a known lag at least once gets one line
//! whose polyline has exactly one point per journaled sample, so the chart never hides
//! or invents a moment. Where its lag is not known (the server was down, stopped
//! replicating or did not answer; or it was absent from the sample) the point is drawn
//! at 0 and that stretch is shaded in the server's colour: a flat line over a shaded band
//! means "unknown", not "no lag". While a server is the primary its point is 0 and is not
//! shaded: a primary is not behind itself. The lag is [`ServerSample::lag_ms`] (heartbeat,
//! else Seconds_Behind_Master).
//!
//! **Markers.** Every step start is a short tick on the time axis; a switchover or other
//! MaxScale step, a step the write probe measured, and the first step of each phase (when
//! the runbook file is at hand) get a full-height line with their id above the plot.
//! Labels closer than a few pixels to the previous one are left out, to stay legible.
//!
//! Text is laid out by plotters' naive font estimate (no font files are read): the SVG
//! carries `<text>` elements with `font-family="sans-serif"` that the viewer renders.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{RunbookInfo, StepReport};
use crate::session::clock::parse_rfc3339;
use crate::session::journal::{Event, Record, ServerSample};

/// A server's lag at one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LagPoint {
    Known {
        ms: u64,
    },
    /// It was the primary: drawn at 0, not shaded.
    Primary,
    /// Not known at that moment: drawn at 0 and shaded.
    Unknown,
}

/// One server's line: one point per sample.
#[derive(Clone, Debug, PartialEq)]
pub struct LagSeries {
    pub server: String,
    pub points: Vec<LagPoint>,
}

/// A step start on the time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// Seconds since the session's start.
    pub t: f64,
    pub step: String,
    /// A switchover, MaxScale, probed or phase-opening step: a full line and a label.
    pub major: bool,
}

/// What the chart draws.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LagData {
    /// Each sample's time, in seconds since the session's start, in journal order.
    pub times: Vec<f64>,
    pub series: Vec<LagSeries>,
    pub markers: Vec<Marker>,
}

impl LagData {
    /// The samples of `events` (the session started at `started`) and the step starts.
    pub fn from_journal(
        events: &[Record],
        started: &str,
        steps: &[StepReport],
        runbook: Option<&RunbookInfo>,
    ) -> LagData {
        let origin = parse_rfc3339(started);
        let since = |ts: &str| -> f64 {
            match (origin, parse_rfc3339(ts)) {
                (Some(a), Some(b)) => b.duration_since(a).map_or(0.0, |d| d.as_secs_f64()),
                _ => 0.0,
            }
        };
        let samples: Vec<(f64, &[ServerSample])> = events
            .iter()
            .filter_map(|r| match &r.event {
                Event::Sample { servers } => Some((since(&r.ts), servers.as_slice())),
                _ => None,
            })
            .collect();
        let mut names: Vec<&str> = Vec::new();
        for s in samples.iter().flat_map(|(_, servers)| servers.iter()) {
            if s.lag_ms().is_some() && !names.contains(&s.server.as_str()) {
                names.push(&s.server);
            }
        }
        let series = names
            .into_iter()
            .map(|name| LagSeries {
                server: name.to_string(),
                points: samples
                    .iter()
                    .map(|(_, servers)| point(servers.iter().find(|s| s.server == name)))
                    .collect(),
            })
            .collect();
        let phase_openers: Vec<&str> = runbook
            .map(|rb| {
                rb.phases
                    .iter()
                    .filter_map(|(_, ids)| ids.first())
                    .map(String::as_str)
                    .collect()
            })
            .unwrap_or_default();
        let markers = steps
            .iter()
            .filter_map(|s| {
                let first = s.attempts.first()?;
                let major = s.kind == Some("maxscale")
                    || s.attempts.iter().any(|a| {
                        a.probe.is_some()
                            || a.rendered.contains("maxctrl")
                            || a.rendered.contains("switchover")
                    })
                    || phase_openers.contains(&s.id.as_str());
                Some(Marker {
                    t: since(&first.started),
                    step: s.id.clone(),
                    major,
                })
            })
            .collect();
        LagData {
            times: samples.iter().map(|(t, _)| *t).collect(),
            series,
            markers,
        }
    }
}

fn point(sample: Option<&ServerSample>) -> LagPoint {
    match sample {
        Some(s) => match s.lag_ms() {
            Some(ms) => LagPoint::Known { ms },
            None if s.role.as_deref() == Some("primary") => LagPoint::Primary,
            None => LagPoint::Unknown,
        },
        None => LagPoint::Unknown,
    }
}

const WIDTH: u32 = 960;
const HEIGHT: u32 = 440;
/// Room above the plot for the markers' labels.
const LABEL_BAND: u32 = 120;
/// The longest marker label, in characters.
const LABEL_CHARS: usize = 20;
const FONT: &str = "sans-serif";
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// The chart as an SVG document; `None` when no sample was journaled.
pub fn svg(data: &LagData) -> Result<Option<String>, String> {
    if data.times.is_empty() {
        return Ok(None);
    }
    let mut out = String::new();
    draw(data, &mut out).map_err(|e| e.to_string())?;
    Ok(Some(out))
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(data: &LagData, out: &mut String) -> DrawResult {
    let x_max = data
        .times
        .iter()
        .chain(data.markers.iter().map(|m| &m.t))
        .fold(1.0_f64, |a, &b| a.max(b));
    let known_max_ms = data
        .series
        .iter()
        .flat_map(|s| &s.points)
        .filter_map(|p| match p {
            LagPoint::Known { ms } => Some(*ms),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let y_max = (known_max_ms as f64 / 1000.0 * 1.15).max(1.0);

    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .margin_top(LABEL_BAND)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    let clock = |t: &f64| clock(*t);
    let seconds = |v: &f64| {
        if y_max < 10.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.0}")
        }
    };
    chart
        .configure_mesh()
        .max_light_lines(1)
        .light_line_style(RGBColor(0xf2, 0xf2, 0xf2))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .x_labels(10)
        .y_labels(6)
        .x_label_formatter(&clock)
        .y_label_formatter(&seconds)
        .x_desc("time since the session started (m:ss)")
        .y_desc("replication lag (s)")
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()?;

    shade_unknown(&mut chart, data, x_max, y_max)?;
    draw_markers(&mut chart, &root, data, y_max)?;
    for (i, s) in data.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points = data.times.iter().zip(&s.points).map(|(&t, p)| match p {
            LagPoint::Known { ms } => (t, *ms as f64 / 1000.0),
            LagPoint::Primary | LagPoint::Unknown => (t, 0.0),
        });
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(s.server.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xbb, 0xbb, 0xbb))
        .label_font((FONT, 12))
        .draw()?;
    root.present()?;
    Ok(())
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Shades, per server, the stretches where its lag was unknown.
fn shade_unknown(chart: &mut Chart<'_, '_>, data: &LagData, x_max: f64, y_max: f64) -> DrawResult {
    let half = typical_interval(&data.times) / 2.0;
    for (i, s) in data.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()].mix(0.12).filled();
        let mut runs: Vec<(f64, f64)> = Vec::new();
        for (&t, p) in data.times.iter().zip(&s.points) {
            if *p != LagPoint::Unknown {
                continue;
            }
            let (a, b) = ((t - half).max(0.0), (t + half).min(x_max));
            match runs.last_mut() {
                Some(last) if a <= last.1 + 1e-9 => last.1 = b,
                _ => runs.push((a, b)),
            }
        }
        chart.draw_series(
            runs.into_iter()
                .map(|(a, b)| Rectangle::new([(a, 0.0), (b, y_max)], colour)),
        )?;
    }
    Ok(())
}

/// The median time between samples (1 s when there are fewer than two).
fn typical_interval(times: &[f64]) -> f64 {
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|g| *g > 0.0)
        .collect();
    gaps.sort_by(f64::total_cmp);
    gaps.get(gaps.len() / 2).copied().unwrap_or(1.0)
}

/// Ticks for every step start; a line and a label above the plot for the major ones.
fn draw_markers(
    chart: &mut Chart<'_, '_>,
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    data: &LagData,
    y_max: f64,
) -> DrawResult {
    let grey = RGBColor(0x88, 0x88, 0x88);
    let tick = y_max * 0.04;
    for m in &data.markers {
        let top = if m.major { y_max } else { tick };
        let style = if m.major {
            grey.mix(0.7).stroke_width(1)
        } else {
            grey.stroke_width(1)
        };
        chart.draw_series(std::iter::once(PathElement::new(
            [(m.t, 0.0), (m.t, top)],
            style,
        )))?;
    }
    let label = (FONT, 11)
        .into_font()
        .transform(FontTransform::Rotate270)
        .color(&RGBColor(0x33, 0x33, 0x33))
        .pos(Pos::new(HPos::Left, VPos::Center));
    let mut last_x: Option<i32> = None;
    for m in data.markers.iter().filter(|m| m.major) {
        let (x, y) = chart.backend_coord(&(m.t, y_max));
        if last_x.is_some_and(|l| x.saturating_sub(l) < 13) {
            continue;
        }
        last_x = Some(x);
        root.draw(&Text::new(
            shorten(&m.step),
            (x, y.saturating_sub(4)),
            &label,
        ))?;
    }
    Ok(())
}

fn shorten(id: &str) -> String {
    if id.chars().count() <= LABEL_CHARS {
        return id.to_string();
    }
    let mut s: String = id.chars().take(LABEL_CHARS.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// `m:ss`, or `h:mm:ss` past an hour.
pub fn clock(t: f64) -> String {
    let secs = t.max(0.0).round() as u64;
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, event: Event) -> Record {
        Record {
            seq,
            ts: format!("2026-11-01T09:30:{:02}.000Z", seq),
            event,
        }
    }

    fn sample(server: &str, role: &str, hb_ms: Option<u64>) -> ServerSample {
        ServerSample {
            server: server.to_string(),
            up: hb_ms.is_some() || role == "primary",
            role: Some(role.to_string()),
            hb_ms,
            ..ServerSample::default()
        }
    }

    #[test]
    fn every_server_with_a_lag_gets_one_point_per_sample() {
        let events = [
            record(
                1,
                Event::Sample {
                    servers: vec![
                        sample("db1", "primary", None),
                        sample("db2", "replica", Some(40)),
                    ],
                },
            ),
            record(
                2,
                Event::Sample {
                    servers: vec![
                        sample("db1", "primary", None),
                        sample("db2", "replica", None),
                    ],
                },
            ),
            record(
                3,
                Event::Sample {
                    servers: vec![sample("db1", "primary", None)],
                },
            ),
            record(
                4,
                Event::Sample {
                    servers: vec![
                        sample("db1", "replica", Some(1500)),
                        sample("db2", "primary", None),
                    ],
                },
            ),
        ];
        let lag = LagData::from_journal(&events, "2026-11-01T09:30:00.000Z", &[], None);
        assert_eq!(lag.times, [1.0, 2.0, 3.0, 4.0]);
        let db2 = lag
            .series
            .iter()
            .find(|s| s.server == "db2")
            .map(|s| s.points.clone());
        assert_eq!(
            db2,
            Some(vec![
                LagPoint::Known { ms: 40 },
                LagPoint::Unknown,
                LagPoint::Unknown,
                LagPoint::Primary
            ])
        );
        assert_eq!(lag.series.len(), 2);
        assert!(lag.series.iter().all(|s| s.points.len() == 4));
        let drawn = svg(&lag).ok().flatten().unwrap_or_default();
        assert!(drawn.starts_with("<svg"), "{drawn}");
        assert_eq!(svg(&LagData::default()), Ok(None));
    }

    #[test]
    fn clock_labels() {
        assert_eq!(clock(0.4), "0:00");
        assert_eq!(clock(75.0), "1:15");
        assert_eq!(clock(3725.0), "1:02:05");
    }
}
