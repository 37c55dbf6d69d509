//! Charts as SVG drawn on the server: stacked bars of open alerts by severity, bars of
//! new alerts per day, and horizontal bars of counts. Each severity has a colour and a
//! pattern (solid, diagonal, dots, lines, cross), every bar a `<title>` and a number, and
//! every chart its data as a table, so none depends on colour alone.

use crate::layout::count;
use crate::queries::SEVERITIES;
use maud::{Markup, html};

const WIDTH: u64 = 900;
const LABEL_W: u64 = 210;
const BAR_H: u64 = 16;
const GAP: u64 = 5;

/// The severity patterns, once per page (charts refer to them by id).
pub fn patterns() -> Markup {
    html! {
        svg class="defs" width="0" height="0" aria-hidden="true" focusable="false" {
            defs {
                @for s in SEVERITIES {
                    pattern id={ "pat-" (s) } patternUnits="userSpaceOnUse" width="6" height="6" {
                        rect width="6" height="6" class={ "bg-" (s) } {}
                        @match s {
                            "Medium" => path d="M0,6 L6,0" class="pat-line" {},
                            "Low" => circle cx="3" cy="3" r="1.3" class="pat-dot" {},
                            "Informational" => path d="M0,3 H6" class="pat-line" {},
                            "UnSpecified" => path d="M0,0 L6,6 M6,0 L0,6" class="pat-line" {},
                            _ => {},
                        }
                    }
                }
            }
        }
    }
}

/// The legend of the severity patterns.
fn legend() -> Markup {
    html! {
        svg class="chart legend" width=(WIDTH) height="22" role="img" aria-label="Legend" {
            @for (i, s) in SEVERITIES.iter().enumerate() {
                rect x=(i as u64 * 150) y="4" width="14" height="14" class={ "fill-" (s) } {}
                text x=(i as u64 * 150 + 20) y="16" { (s) }
            }
        }
    }
}

fn x_of(v: u64, max: u64, w: u64) -> u64 {
    (v * w).checked_div(max).unwrap_or(0)
}

/// The segments of one stacked bar: `(severity index, x, width)` of each non-zero count.
fn segments(counts: &[u64; 5], max: u64, area: u64) -> Vec<(usize, u64, u64)> {
    let mut x = LABEL_W;
    let mut out = Vec::new();
    for (j, n) in counts.iter().enumerate() {
        if *n > 0 {
            let w = x_of(*n, max, area).max(1);
            out.push((j, x, w));
            x += w;
        }
    }
    out
}

/// Horizontal stacked bars, one per `(label, counts by SEVERITIES)`.
pub fn stacked(id: &str, caption: &str, bars: &[(String, [u64; 5])]) -> Markup {
    let max = bars.iter().map(|(_, c)| c.iter().sum()).max().unwrap_or(0);
    let area = WIDTH - LABEL_W - 60;
    let h = bars.len() as u64 * (BAR_H + GAP) + 10;
    html! {
        figure class="chart" {
            figcaption { (caption) }
            (legend())
            svg id=(id) class="chart" width=(WIDTH) height=(h) role="img" aria-label=(caption) {
                @for (i, (label, counts)) in bars.iter().enumerate() {
                    @let y = i as u64 * (BAR_H + GAP) + 4;
                    @let total: u64 = counts.iter().sum();
                    @let segs = segments(counts, max, area);
                    text x=(LABEL_W - 8) y=(y + BAR_H - 4) text-anchor="end" { (label) }
                    @for (j, x, w) in &segs {
                        rect class={ "seg fill-" (SEVERITIES[*j]) } x=(x) y=(y) width=(w) height=(BAR_H)
                            data-severity=(SEVERITIES[*j]) data-count=(counts[*j]) {
                            title { (label) ": " (counts[*j]) " " (SEVERITIES[*j]) }
                        }
                    }
                    @let end = segs.last().map_or(LABEL_W, |(_, x, w)| x + w);
                    text x=(end + 6) y=(y + BAR_H - 4) { (count(total)) }
                }
                line class="axis" x1=(LABEL_W) y1="0" x2=(LABEL_W) y2=(h) {}
            }
            details class="data" {
                summary { "Data" }
                table {
                    thead { tr { th { "" } @for s in SEVERITIES { th class="num" { (s) } } th class="num" { "Total" } } }
                    tbody {
                        @for (label, c) in bars {
                            tr { td { (label) } @for n in c { td class="num" { (n) } } td class="num" { (c.iter().sum::<u64>()) } }
                        }
                    }
                }
            }
        }
    }
}

/// Vertical bars over days: `(YYYY-MM-DD, count)` in order.
pub fn daily(id: &str, caption: &str, days: &[(String, u64)]) -> Markup {
    let max = days.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let (left, top, height) = (50u64, 10u64, 180u64);
    let step = (WIDTH - left - 10) / (days.len().max(1) as u64);
    let bar_w = step.saturating_sub(4).max(2);
    let y_of = |n: u64| top + height - x_of(n, max, height);
    html! {
        figure class="chart" {
            figcaption { (caption) }
            svg id=(id) class="chart" width=(WIDTH) height=(top + height + 40) role="img" aria-label=(caption) {
                @for tick in [0, max / 2, max] {
                    line class="grid" x1=(left) x2=(WIDTH - 10) y1=(y_of(tick)) y2=(y_of(tick)) {}
                    text x=(left - 6) y=(y_of(tick) + 4) text-anchor="end" { (count(tick)) }
                }
                @for (i, (day, n)) in days.iter().enumerate() {
                    @let x = left + i as u64 * step + 2;
                    rect class="bar" x=(x) y=(y_of(*n)) width=(bar_w) height=(x_of(*n, max, height))
                        data-day=(day) data-count=(n) {
                        title { (day) ": " (n) " new alerts" }
                    }
                    @if i % 5 == 0 || i + 1 == days.len() {
                        text x=(x + bar_w / 2) y=(top + height + 16) text-anchor="middle" { (day.get(5..).unwrap_or(day)) }
                    }
                }
                line class="axis" x1=(left) y1=(top + height) x2=(WIDTH - 10) y2=(top + height) {}
            }
            details class="data" {
                summary { "Data" }
                table {
                    thead { tr { th { "Day" } th class="num" { "New alerts" } } }
                    tbody { @for (d, n) in days { tr { td { (d) } td class="num" { (n) } } } }
                }
            }
        }
    }
}

/// Horizontal bars of `(label, count)`.
pub fn bars(id: &str, caption: &str, items: &[(String, u64)]) -> Markup {
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let area = WIDTH - LABEL_W - 60;
    let h = items.len() as u64 * (BAR_H + GAP) + 10;
    html! {
        figure class="chart" {
            figcaption { (caption) }
            svg id=(id) class="chart" width=(WIDTH) height=(h) role="img" aria-label=(caption) {
                @for (i, (label, n)) in items.iter().enumerate() {
                    @let y = i as u64 * (BAR_H + GAP) + 4;
                    @let w = x_of(*n, max, area).max(1);
                    text x=(LABEL_W - 8) y=(y + BAR_H - 4) text-anchor="end" { (label) }
                    rect class="bar" x=(LABEL_W) y=(y) width=(w) height=(BAR_H) data-count=(n) {
                        title { (label) ": " (n) }
                    }
                    text x=(LABEL_W + w + 6) y=(y + BAR_H - 4) { (count(*n)) }
                }
                line class="axis" x1=(LABEL_W) y1="0" x2=(LABEL_W) y2=(h) {}
            }
        }
    }
}
