//! Charts drawn on the server as SVG: nothing is fetched from elsewhere, the
//! console shows them inline and they print. Every text is XML-escaped.

use crate::{Chart, Table};
use dialtone_model::Value;
use std::fmt::Write;

const PALETTE: [&str; 8] = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
const WIDTH: f64 = 640.0;

/// XML-escapes text for an SVG text node or attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) if f.is_finite() => *f,
        _ => 0.0,
    }
}

fn label(v: &Value) -> String {
    let s = crate::render::cell(v);
    let s = s.strip_prefix('\'').unwrap_or(&s).to_string();
    if s.chars().count() > 24 { format!("{}…", s.chars().take(23).collect::<String>()) } else { s }
}

/// The numeric series a chart stacks: count columns (seconds for presence).
fn series(t: &Table) -> Vec<usize> {
    let counts: Vec<usize> = (1..t.columns.len()).filter(|&i| t.columns[i].unit == "count").collect();
    if counts.is_empty() { (1..t.columns.len()).filter(|&i| t.columns[i].unit == "seconds").collect() } else { counts }
}

/// A "nice" axis maximum at or above `max`.
fn nice(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|&v| v >= max).unwrap_or(10.0 * mag)
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 { format!("{}", x as i64) } else { format!("{x:.1}") }
}

/// The report's chart, or `None` when it has none (tiles, tables) or no rows.
pub fn chart(t: &Table) -> Option<String> {
    let cols = series(t);
    if t.rows.is_empty() || cols.is_empty() {
        return None;
    }
    match t.chart {
        Chart::Columns => Some(columns(t, &cols)),
        Chart::Bars | Chart::Stacked => Some(bars(t, &cols)),
        Chart::Tiles | Chart::Table => None,
    }
}

fn open(out: &mut String, height: f64, title: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{}" font-family="system-ui, sans-serif" font-size="11">"#,
        escape(title)
    );
    let _ = write!(out, "<title>{}</title>", escape(title));
}

fn legend(out: &mut String, t: &Table, cols: &[usize], y: f64) {
    if cols.len() < 2 {
        return;
    }
    let mut x = 50.0;
    for (k, &c) in cols.iter().enumerate() {
        let _ = write!(out, r#"<rect x="{x}" y="{}" width="10" height="10" fill="{}"/>"#, y - 9.0, PALETTE[k % PALETTE.len()]);
        let name = escape(&t.columns[c].label);
        let _ = write!(out, r#"<text x="{}" y="{y}">{name}</text>"#, x + 14.0);
        x += 24.0 + 7.0 * t.columns[c].label.chars().count() as f64;
    }
}

/// Vertical stacked columns along the rows (days, hours).
fn columns(t: &Table, cols: &[usize]) -> String {
    let height = 260.0;
    let (left, top, bottom) = (50.0, 24.0, 210.0);
    let plot_w = WIDTH - left - 10.0;
    let totals: Vec<f64> = t.rows.iter().map(|r| cols.iter().map(|&c| number(&r[c])).sum()).collect();
    let max = nice(totals.iter().cloned().fold(0.0, f64::max));
    let n = t.rows.len() as f64;
    let step = plot_w / n;
    let bar = (step * 0.8).max(1.0);
    let mut out = String::new();
    open(&mut out, height, t.title);
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = bottom - (bottom - top) * k as f64 / 4.0;
        let _ = write!(out, r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#e5e7eb"/><text x="{}" y="{}" text-anchor="end">{}</text>"##, WIDTH - 10.0, left - 4.0, y + 4.0, fmt_num(v));
    }
    let every = (n / 12.0).ceil().max(1.0) as usize;
    for (i, r) in t.rows.iter().enumerate() {
        let x = left + step * i as f64 + (step - bar) / 2.0;
        let mut y = bottom;
        for (k, &c) in cols.iter().enumerate() {
            let h = (bottom - top) * number(&r[c]) / max;
            if h > 0.0 {
                y -= h;
                let _ = write!(
                    out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"><title>{}: {} {}</title></rect>"#,
                    PALETTE[k % PALETTE.len()],
                    escape(&label(&r[0])),
                    fmt_num(number(&r[c])),
                    escape(&t.columns[c].label)
                );
            }
        }
        if i % every == 0 {
            let _ = write!(out, r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#, x + bar / 2.0, bottom + 14.0, escape(&label(&r[0])));
        }
    }
    legend(&mut out, t, cols, height - 12.0);
    out.push_str("</svg>");
    out
}

/// Horizontal bars (stacked when several series), one per row.
fn bars(t: &Table, cols: &[usize]) -> String {
    let row_h = 22.0;
    let (left, top) = (170.0, 10.0);
    let legend_h = if cols.len() > 1 { 24.0 } else { 0.0 };
    let height = top + row_h * t.rows.len() as f64 + 10.0 + legend_h;
    let plot_w = WIDTH - left - 60.0;
    let totals: Vec<f64> = t.rows.iter().map(|r| cols.iter().map(|&c| number(&r[c])).sum()).collect();
    let max = nice(totals.iter().cloned().fold(0.0, f64::max));
    let mut out = String::new();
    open(&mut out, height, t.title);
    for (i, r) in t.rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, left - 6.0, y + 14.0, escape(&label(&r[0])));
        let mut x = left;
        for (k, &c) in cols.iter().enumerate() {
            let w = plot_w * number(&r[c]) / max;
            if w > 0.0 {
                let _ = write!(
                    out,
                    r#"<rect x="{x:.1}" y="{}" width="{w:.1}" height="{}" fill="{}"><title>{}: {} {}</title></rect>"#,
                    y + 3.0,
                    row_h - 6.0,
                    PALETTE[k % PALETTE.len()],
                    escape(&label(&r[0])),
                    fmt_num(number(&r[c])),
                    escape(&t.columns[c].label)
                );
                x += w;
            }
        }
        let _ = write!(out, r#"<text x="{:.1}" y="{}">{}</text>"#, x + 4.0, y + 14.0, fmt_num(totals[i]));
    }
    legend(&mut out, t, cols, height - 8.0);
    out.push_str("</svg>");
    out
}
