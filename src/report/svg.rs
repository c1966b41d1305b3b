//! Two small SVG charts for the report, written by hand so the report needs
//! nothing but a browser: lines over a numeric x axis, and per category the
//! multi-task and baseline values with their mean ± standard deviation.

use std::fmt::Write as _;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 250.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 70.0;
/// Tableau 10: distinct, and readable by most colour-blind readers.
const COLOURS: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

pub fn colour(i: usize) -> &'static str {
    COLOURS[i % COLOURS.len()]
}

/// One line of a line chart.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    pub colour: &'static str,
}

/// One category of an interval chart: each model's value per seed.
pub struct Group {
    pub label: String,
    pub mtl: Vec<f64>,
    pub stl: Vec<f64>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// About five round tick values covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    ticks_at_least(lo, hi, 0.0)
}

/// Round ticks no closer than `min_step` (1 for epochs and steps).
fn ticks_at_least(lo: f64, hi: f64, min_step: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON * hi.abs().max(1.0));
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag)
        .max(min_step);
    let first = (lo / step).ceil() * step;
    (0..)
        .map(|i| first + i as f64 * step)
        .take_while(|t| *t <= hi + step * 1e-9)
        .collect()
}

fn label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else {
        // Enough decimals to tell the ticks apart, no trailing zeros.
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The drawing area and the value ranges mapped onto it.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn new(x: (f64, f64), y: (f64, f64)) -> Frame {
        let pad = |(lo, hi): (f64, f64)| {
            if hi > lo {
                (lo, hi)
            } else {
                (lo - 0.5 * lo.abs().max(1.0), hi + 0.5 * hi.abs().max(1.0))
            }
        };
        // A margin above and below, so no mark sits on the frame.
        let (lo, hi) = pad(y);
        let margin = 0.05 * (hi - lo);
        Frame {
            x: pad(x),
            y: (lo - margin, hi + margin),
        }
    }
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }
}

fn open(out: &mut String, title: &str, x_label: &str, y_label: &str) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="20" text-anchor="middle" font-size="14">{}</text>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        escape(title)
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 12.0,
        escape(x_label)
    );
    let _ = writeln!(
        out,
        r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>"#,
        (TOP + HEIGHT - BOTTOM) / 2.0,
        (TOP + HEIGHT - BOTTOM) / 2.0,
        escape(y_label)
    );
}

fn y_axis(out: &mut String, f: &Frame) {
    let marks: Vec<(f64, String)> = ticks(f.y.0, f.y.1)
        .into_iter()
        .map(|t| (t, label(t)))
        .collect();
    y_axis_at(out, f, &marks);
}

/// Grid lines and labels at the given (position, label) marks.
fn y_axis_at(out: &mut String, f: &Frame, marks: &[(f64, String)]) {
    for (t, text) in marks {
        let y = f.py(*t);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            text
        );
    }
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
        WIDTH - LEFT - RIGHT,
        HEIGHT - TOP - BOTTOM
    );
}

fn legend(out: &mut String, entries: &[(&str, &str, bool)]) {
    for (i, (name, colour, dashed)) in entries.iter().enumerate() {
        // Long names (several swept values) are cut to fit the margin.
        let name: String = if name.chars().count() > 36 {
            name.chars().take(35).chain(['…']).collect()
        } else {
            name.to_string()
        };
        let y = TOP + 10.0 + 18.0 * i as f64;
        let x = WIDTH - RIGHT + 12.0;
        let dash = if *dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"<line x1="{x}" x2="{}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
            x + 22.0,
            x + 28.0,
            y + 4.0,
            escape(&name)
        );
    }
}

fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// 1, 2 and 5 times the powers of ten in `[lo, hi]` (both > 0), as marks
/// on a log10 axis.
fn log_marks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let mut marks = Vec::new();
    for decade in lo.log10().floor() as i32..=hi.log10().ceil() as i32 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(decade);
            if v >= lo && v <= hi {
                marks.push((v.log10(), label(v)));
            }
        }
    }
    marks
}

/// Lines over a numeric x axis (epochs, steps). When the values are positive
/// and span more than a factor of 10 (a loss falling from its first epoch),
/// the y axis is logarithmic, so the later epochs stay readable.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let mut out = String::new();
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (Some(xr), Some(yr)) = (range(all().map(|p| p.0)), range(all().map(|p| p.1))) else {
        open(&mut out, title, x_label, y_label);
        out.push_str("<text x=\"200\" y=\"180\">no data</text>\n</svg>\n");
        return out;
    };
    let log = yr.0 > 0.0 && yr.1 / yr.0 > 10.0;
    let y_of = |y: f64| if log { y.log10() } else { y };
    if log {
        open(&mut out, title, x_label, &format!("{y_label} (log scale)"));
    } else {
        open(&mut out, title, x_label, y_label);
    }
    let f = Frame::new(xr, (y_of(yr.0), y_of(yr.1)));
    if log {
        let marks = log_marks(10f64.powf(f.y.0), 10f64.powf(f.y.1));
        y_axis_at(&mut out, &f, &marks);
    } else {
        y_axis(&mut out, &f);
    }
    let whole = all().all(|p| p.0.fract() == 0.0);
    for t in ticks_at_least(f.x.0, f.x.1, if whole { 1.0 } else { 0.0 }) {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            f.px(t),
            HEIGHT - BOTTOM + 16.0,
            label(t)
        );
    }
    for s in series {
        let path: Vec<String> = s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y_of(*y).is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", f.px(x), f.py(y_of(y))))
            .collect();
        let dash = if s.dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
            path.join(" "),
            s.colour
        );
    }
    let entries: Vec<(&str, &str, bool)> = series
        .iter()
        .map(|s| (s.name.as_str(), s.colour, s.dashed))
        .collect();
    legend(&mut out, &entries);
    out.push_str("</svg>\n");
    out
}

/// Per category, the multi-task and the baseline values: one dot per seed,
/// a bar from mean − std to mean + std and a tick at the mean.
pub fn interval_chart(title: &str, y_label: &str, groups: &[Group]) -> String {
    let mut out = String::new();
    open(&mut out, title, "", y_label);
    let spread = |v: &[f64]| -> Vec<f64> {
        let (Some(m), s) = (super::mean(v), super::sample_std(v)) else {
            return Vec::new();
        };
        let s = s.unwrap_or(0.0);
        vec![m - s, m + s]
    };
    let values = groups.iter().flat_map(|g| {
        g.mtl
            .iter()
            .chain(&g.stl)
            .copied()
            .chain(spread(&g.mtl))
            .chain(spread(&g.stl))
    });
    let Some(yr) = range(values) else {
        out.push_str("<text x=\"200\" y=\"180\">no data</text>\n</svg>\n");
        return out;
    };
    let f = Frame::new((0.0, groups.len() as f64), yr);
    y_axis(&mut out, &f);
    let models = [("multi-task", colour(0)), ("single-task", colour(1))];
    for (i, g) in groups.iter().enumerate() {
        let centre = f.px(i as f64 + 0.5);
        // One line per swept value (`a=1, b=2` → two lines), so labels do not collide.
        for (line, part) in g.label.split(", ").enumerate() {
            let _ = writeln!(
                out,
                r#"<text x="{centre:.1}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
                HEIGHT - BOTTOM + 16.0 + 13.0 * line as f64,
                escape(part)
            );
        }
        for (k, (v, (_, col))) in [&g.mtl, &g.stl].into_iter().zip(models).enumerate() {
            let x = centre + if k == 0 { -12.0 } else { 12.0 };
            if let Some(m) = super::mean(v) {
                let s = super::sample_std(v).unwrap_or(0.0);
                let _ = writeln!(
                    out,
                    r#"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="{col}" stroke-width="2"/><line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{col}" stroke-width="3"/>"#,
                    f.py(m - s),
                    f.py(m + s),
                    x - 7.0,
                    x + 7.0,
                    f.py(m),
                    f.py(m)
                );
            }
            for &y in v.iter().filter(|y| y.is_finite()) {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{col}" fill-opacity="0.5"/>"#,
                    x + 5.0,
                    f.py(y)
                );
            }
        }
    }
    let entries: Vec<(&str, &str, bool)> = models.iter().map(|(n, c)| (*n, *c, false)).collect();
    legend(&mut out, &entries);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let labels = |lo, hi| ticks(lo, hi).into_iter().map(label).collect::<Vec<_>>();
        assert_eq!(labels(0.0, 1.0), ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
        assert_eq!(
            labels(0.93, 0.98),
            ["0.93", "0.94", "0.95", "0.96", "0.97", "0.98"]
        );
        assert_eq!(labels(-3.0, 12.0), ["-2.5", "0", "2.5", "5", "7.5", "10"]);
        assert_eq!(label(25000.0), "25000");
    }

    #[test]
    fn charts_are_well_formed_svg() {
        let line = line_chart(
            "loss",
            "epoch",
            "loss",
            &[Series {
                name: "a<b".into(),
                points: vec![(1.0, 0.5), (2.0, 0.25)],
                dashed: true,
                colour: colour(0),
            }],
        );
        assert!(line.starts_with("<svg") && line.trim_end().ends_with("</svg>"));
        assert!(line.contains("a&lt;b") && line.contains("stroke-dasharray"));
        assert!(!line.contains("log scale"));
        // A loss from 2 down to 0.05 (a factor of 40): log axis with 1-2-5 marks.
        let falling = Series {
            name: "loss".into(),
            points: vec![(1.0, 2.0), (2.0, 0.2), (3.0, 0.05)],
            dashed: false,
            colour: colour(1),
        };
        let log = line_chart("loss", "epoch", "loss", &[falling]);
        assert!(log.contains("loss (log scale)"));
        let marks: Vec<String> = log_marks(0.05, 2.0).into_iter().map(|(_, l)| l).collect();
        assert_eq!(marks, ["0.05", "0.1", "0.2", "0.5", "1", "2"]);
        let bars = interval_chart(
            "acc",
            "accuracy",
            &[Group {
                label: "fixed".into(),
                mtl: vec![0.9, 0.92],
                stl: vec![0.91],
            }],
        );
        assert_eq!(bars.matches("<circle").count(), 3);
        assert!(interval_chart("x", "y", &[]).contains("no data"));
    }
}
