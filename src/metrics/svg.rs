//! Charts drawn as inline SVG on the server: no script, no external file, readable by
//! screen readers through a title and always shown beside a table of the same numbers.

use std::fmt::Write;

use tera::escape_html as esc;

/// A progress bar of `value` toward `target` (both in the same unit, `target` > 0); the
/// bar is full at the target or beyond.
pub fn progress(title: &str, value: f64, target: f64) -> String {
    let share = if target > 0.0 {
        (value / target).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let w = 300.0;
    let filled = share * w;
    let class = if share >= 1.0 { "bar-ok" } else { "bar" };
    format!(
        "<svg class=\"chart progress\" viewBox=\"0 0 {w} 16\" width=\"100%\" height=\"16\" role=\"img\" \
         aria-label=\"{t}\"><title>{t}</title><rect class=\"track\" x=\"0\" y=\"0\" width=\"{w}\" height=\"16\" rx=\"3\"/>\
         <rect class=\"{class}\" x=\"0\" y=\"0\" width=\"{filled:.1}\" height=\"16\" rx=\"3\"/></svg>",
        t = esc(title)
    )
}

/// Horizontal bars of shares (0..=1) with their labels and an optional target line.
pub fn share_bars(title: &str, rows: &[(String, Option<f64>)], target: Option<f64>) -> String {
    // Highest share first, rows without data last; labels in full.
    let mut rows: Vec<&(String, Option<f64>)> = rows.iter().collect();
    rows.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    let longest = rows.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(4) as f64;
    let label_w = (longest * 12.5 + 12.0).max(80.0);
    let bar_w = 260.0;
    let row_h = 22.0;
    let h = row_h * rows.len().max(1) as f64 + 24.0;
    let width = label_w + bar_w + 60.0;
    let mut s = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {h}\" width=\"100%\" role=\"img\" aria-label=\"{t}\">\
         <title>{t}</title>",
        t = esc(title)
    );
    for (i, (label, rate)) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let _ = write!(
            s,
            "<text x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" class=\"label\">{l}</text>\
             <rect class=\"track\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{bar_w}\" height=\"14\"/>",
            x = label_w - 6.0,
            ty = y + 12.0,
            l = esc(label)
        );
        if let Some(r) = rate {
            let meets = target.is_none_or(|t| *r >= t);
            let _ = write!(
                s,
                "<rect class=\"{c}\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"14\"/>\
                 <text x=\"{tx:.1}\" y=\"{ty:.1}\" class=\"value\">{p:.1}%</text>",
                c = if meets { "bar-ok" } else { "bar" },
                bw = r.clamp(0.0, 1.0) * bar_w,
                tx = label_w + bar_w + 4.0,
                ty = y + 12.0,
                p = r * 100.0
            );
        }
    }
    if let Some(t) = target {
        let x = label_w + t.clamp(0.0, 1.0) * bar_w;
        let _ = write!(
            s,
            "<line class=\"target\" x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{y2:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\" class=\"label\">目标 {p:.0}%</text>",
            y2 = h - 18.0,
            ty = h - 4.0,
            p = t * 100.0
        );
    }
    s.push_str("</svg>");
    s
}

/// A column chart of counts by period (e.g. finished cases per month).
pub fn columns(title: &str, points: &[(String, i64)]) -> String {
    let n = points.len().max(1) as f64;
    let plot_h = 120.0;
    let col_w = (420.0 / n).min(40.0);
    let width = col_w * n + 20.0;
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let mut s = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width:.1} {h}\" width=\"100%\" role=\"img\" aria-label=\"{t}\">\
         <title>{t}</title>",
        h = plot_h + 36.0,
        t = esc(title)
    );
    for (i, (label, v)) in points.iter().enumerate() {
        let bh = *v as f64 / max * plot_h;
        let x = 10.0 + i as f64 * col_w;
        let _ = write!(
            s,
            "<rect class=\"bar-ok\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bh:.1}\"/>\
             <text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" class=\"label\">{l}</text>",
            y = 14.0 + plot_h - bh,
            w = col_w * 0.7,
            cx = x + col_w * 0.35,
            ly = plot_h + 30.0,
            l = esc(label.get(5..).unwrap_or(label))
        );
    }
    s.push_str("</svg>");
    s
}

/// A line of shares (0..=1) over months, drawn to be read: a y axis with 0–100% and grid
/// lines, each month's value above its point, month names below, the target as a dashed
/// line with its label, and a gap where a month has no data. With `partial`, the last month
/// is not over yet: its point is hollow, the line to it dashed, and its label says so
/// (e.g. "截至8日").
pub fn share_line(
    title: &str,
    points: &[(String, Option<f64>)],
    target: Option<f64>,
    partial: Option<&str>,
) -> String {
    let (left, top, plot_h, step) = (44.0, 24.0, 160.0, 64.0);
    let width = left + step * points.len().max(1) as f64 + 16.0;
    let height = top + plot_h + 44.0;
    let y_of = |r: f64| top + (1.0 - r.clamp(0.0, 1.0)) * plot_h;
    let x_of = |i: usize| left + step * (i as f64 + 0.5);
    let mut s = format!(
        "<svg class=\"chart line-chart\" viewBox=\"0 0 {width:.1} {height:.1}\" width=\"100%\" role=\"img\" \
         aria-label=\"{t}\"><title>{t}</title>",
        t = esc(title)
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = y_of(tick);
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{left}\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{lx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" class=\"axis\">{p:.0}%</text>",
            x2 = width - 12.0,
            lx = left - 6.0,
            ty = y + 4.0,
            p = tick * 100.0
        );
    }
    if let Some(t) = target {
        let y = y_of(t);
        let _ = write!(
            s,
            "<line class=\"target\" x1=\"{left}\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{x2:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" class=\"label\">目标 {p:.0}%</text>",
            x2 = width - 12.0,
            ty = y - 4.0,
            p = t * 100.0
        );
    }
    let last = points.len().saturating_sub(1);
    let mut path = String::new();
    let mut prev: Option<(f64, f64)> = None;
    for (i, (label, rate)) in points.iter().enumerate() {
        let x = x_of(i);
        let open = partial.is_some() && i == last;
        match rate {
            Some(r) => {
                let y = y_of(*r);
                if open {
                    // The month still running: joined by a dashed line, drawn hollow.
                    if let Some((px, py)) = prev {
                        let _ = write!(
                            s,
                            "<line class=\"line partial\" x1=\"{px:.1}\" y1=\"{py:.1}\" x2=\"{x:.1}\" y2=\"{y:.1}\"/>"
                        );
                    }
                } else {
                    let _ = write!(path, "{}{x:.1},{y:.1} ", if path.is_empty() { "M" } else { "L" });
                }
                let _ = write!(
                    s,
                    "<circle class=\"dot{c}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\"/>\
                     <text x=\"{x:.1}\" y=\"{vy:.1}\" text-anchor=\"middle\" class=\"value\">{p:.1}%</text>",
                    c = if open { " partial" } else { "" },
                    vy = y - 9.0,
                    p = r * 100.0
                );
                prev = Some((x, y));
            }
            None => {
                if !path.is_empty() {
                    let _ = write!(s, "<path class=\"line\" d=\"{}\"/>", path.trim_end());
                    path.clear();
                }
                prev = None;
            }
        }
        let month = label
            .get(5..)
            .and_then(|m| m.parse::<u32>().ok())
            .map_or_else(|| label.clone(), |m| format!("{m}月"));
        let _ = write!(
            s,
            "<text x=\"{x:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" class=\"label\">{l}</text>",
            ly = top + plot_h + 18.0,
            l = esc(&month)
        );
        if let (true, Some(note)) = (open, partial) {
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" class=\"axis\">{n}</text>",
                ly = top + plot_h + 34.0,
                n = esc(note)
            );
        }
    }
    if !path.is_empty() {
        let _ = write!(s, "<path class=\"line\" d=\"{}\"/>", path.trim_end());
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_scale_to_the_value() {
        let svg = share_bars(
            "占比",
            &[("<b>&".into(), Some(0.5)), ("空".into(), None)],
            Some(0.6),
        );
        assert!(svg.contains("&lt;b&gt;&amp;"), "{svg}");
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("width=\"130.0\""), "half of 260: {svg}");
        assert!(
            svg.find("&lt;b&gt;").unwrap_or(usize::MAX) < svg.find("空").unwrap_or(0),
            "a row with data before one without"
        );
        assert!(svg.contains("目标 60%"));
        let p = progress("进度", 20.0, 40.0);
        assert!(p.contains("width=\"150.0\""), "{p}");
        assert!(progress("进度", 80.0, 40.0).contains("bar-ok"));
        let l = share_line(
            "趋势",
            &[
                ("2026-01".into(), Some(1.0)),
                ("2026-02".into(), None),
                ("2026-03".into(), Some(0.0)),
            ],
            Some(0.6),
            None,
        );
        assert_eq!(l.matches("<path").count(), 2, "a gap splits the line: {l}");
        assert!(
            l.contains(">100.0%</text>") && l.contains(">3月</text>") && l.contains(">75%</text>"),
            "values, months and an axis: {l}"
        );
        let partial = share_line(
            "趋势",
            &[("2026-11".into(), Some(0.5)), ("2026-12".into(), Some(0.7))],
            None,
            Some("截至8日"),
        );
        assert!(
            partial.contains("dot partial") && partial.contains("截至8日"),
            "{partial}"
        );
        assert!(!columns("办件量", &[("2026-01".into(), 3)]).contains("NaN"));
    }
}
