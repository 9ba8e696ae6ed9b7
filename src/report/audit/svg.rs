//! Inline SVG charts for the HTML audit: horizontal bars, stacked by series when there are
//! several. Plain SVG 1.1 with every text escaped; no scripts, no external references.

use std::fmt::Write as _;

/// Escape text for HTML and XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// One bar: its label and its segments (value, colour, what the segment is).
pub struct Bar {
    pub label: String,
    pub segments: Vec<(u64, &'static str, String)>,
}

const LABEL_W: u32 = 260;
const BAR_W: u32 = 440;
const ROW_H: u32 = 22;

/// A horizontal bar chart, `title` as its accessible name, a legend of `legend` (name, colour).
pub fn bars(title: &str, rows: &[Bar], legend: &[(&str, &'static str)]) -> String {
    let max = rows
        .iter()
        .map(|r| r.segments.iter().map(|s| s.0).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let legend_h = if legend.is_empty() { 0 } else { ROW_H };
    let height = legend_h + ROW_H * rows.len().max(1) as u32 + 6;
    let width = LABEL_W + BAR_W + 60;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\"><title>{}</title>",
        esc(title)
    );
    let mut x = 0;
    for (name, colour) in legend {
        let _ = write!(
            o,
            "<rect x=\"{x}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{}\" y=\"15\">{}</text>",
            x + 16,
            esc(name)
        );
        x += 24 + 8 * name.len() as u32;
    }
    if rows.is_empty() {
        let _ = write!(
            o,
            "<text x=\"0\" y=\"{}\">nothing to show</text>",
            legend_h + 15
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = legend_h + ROW_H * i as u32;
        let label: String = row.label.chars().take(40).collect();
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL_W - 6,
            y + 15,
            esc(&label)
        );
        let mut x = LABEL_W;
        let mut total = 0;
        for (v, colour, what) in &row.segments {
            let w = (*v as f64 / max as f64 * BAR_W as f64).round() as u32;
            if w > 0 {
                let _ = write!(
                    o,
                    "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"{colour}\"><title>{}: {v}</title></rect>",
                    y + 3,
                    ROW_H - 6,
                    esc(what)
                );
            }
            x += w;
            total += v;
        }
        let _ = write!(o, "<text x=\"{}\" y=\"{}\">{total}</text>", x + 6, y + 15);
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc("<a href=\"x\">&'\u{7}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\u{FFFD}"
        );
    }

    #[test]
    fn bars_scale_to_the_longest_and_escape_labels() {
        let svg = bars(
            "t",
            &[
                Bar {
                    label: "<evil>".into(),
                    segments: vec![(2, "#000", "a".into())],
                },
                Bar {
                    label: "b".into(),
                    segments: vec![(1, "#000", "a".into()), (3, "#111", "c".into())],
                },
            ],
            &[("a", "#000")],
        );
        assert!(svg.contains("&lt;evil&gt;") && !svg.contains("<evil>"));
        assert!(
            svg.contains("width=\"330\"") && svg.contains("width=\"220\""),
            "{svg}"
        );
    }
}
