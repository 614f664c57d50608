//! Charts: drawn by plotters to SVG (on the server for first paint, in the
//! browser when the view changes). Over each bar lies an invisible hit area
//! carrying `data-key`, `data-value` and `data-label` — for the hover
//! tooltip, for `<title>` tooltips without JavaScript, and for tests — and,
//! where the bar drills down, wrapped in a link.

use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;
use tokenboard::domain::model::SeriesPoint;
use tokenboard::domain::range::{Granularity, date_span, month_label, short_date};
use tokenboard::report::ReportResult;

use crate::html::escape;

const WIDTH: u32 = 880;
const HEIGHT: u32 = 280;
const BAR: RGBColor = RGBColor(37, 99, 235);
const PARTIAL_BAR: RGBColor = RGBColor(147, 179, 245);

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// One bar of a category chart (products, users, versions).
#[derive(Clone, Debug, PartialEq)]
pub struct ChartBar {
    pub key: String,
    pub label: String,
    pub value: i64,
    /// Where clicking the bar drills down to.
    pub href: Option<String>,
}

impl ChartBar {
    /// One bar per row of a one-dimension report, valued by its first metric;
    /// `href` gives the drill-down link of a row key, if any.
    pub fn from_rows(result: &ReportResult, href: impl Fn(&str) -> Option<String>) -> Vec<ChartBar> {
        result
            .rows
            .iter()
            .map(|r| {
                let key = r.keys[0].key();
                ChartBar { label: r.keys[0].label(), value: r.values[0].count(), href: href(&key), key }
            })
            .collect()
    }
}

/// The invisible, labelled hit area over one bar.
struct Hit<'a> {
    corners: ((i32, i32), (i32, i32)),
    key: &'a str,
    value: i64,
    label: &'a str,
    unit: &'a str,
    href: Option<&'a str>,
    extra: String,
}

impl Hit<'_> {
    fn render(&self) -> String {
        let ((x0, y0), (x1, y1)) = self.corners;
        let label = escape(self.label);
        let rect = format!(
            r#"<rect class="hit" x="{x0}" y="{y0}" width="{}" height="{}" fill="transparent" data-key="{}" data-value="{}" data-label="{label}" data-unit="{}"{}><title>{label}: {} {}</title></rect>"#,
            (x1 - x0).max(1),
            (y1 - y0).max(1),
            escape(self.key),
            self.value,
            self.unit,
            self.extra,
            self.value,
            self.unit,
        );
        match self.href {
            Some(href) => format!(r#"<a href="{}">{rect}</a>"#, escape(href)),
            None => rect,
        }
    }
}

/// Draws with `draw` on an SVG canvas, then appends the hit areas it returns.
fn render_svg(
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<Vec<String>, Box<dyn std::error::Error>>,
) -> String {
    let mut svg = String::new();
    let hits = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let drawn = root.fill(&WHITE).map_err(Into::into).and_then(|()| draw(&root));
        let presented: DrawResult = root.present().map_err(Into::into);
        drawn.and_then(|hits| presented.map(|()| hits))
    };
    match (hits, svg.rfind("</svg>")) {
        (Ok(hits), Some(end)) => format!("{}<g class=\"hits\">{}</g></svg>", &svg[..end], hits.concat()),
        (Ok(_), None) => svg,
        (Err(e), _) => {
            format!(r#"<p class="chart-error">The chart could not be drawn: {}</p>"#, escape(&e.to_string()))
        }
    }
}

fn bucket_label(point: &SeriesPoint, granularity: Granularity) -> String {
    match granularity {
        // Not chrono's strftime: it would add its formatting machinery to the wasm.
        Granularity::Month => month_label(point.start),
        _ => short_date(point.start, false),
    }
}

/// A time series as vertical bars; partial buckets are drawn lighter.
pub fn series_svg(points: &[SeriesPoint], granularity: Granularity, unit: &str) -> String {
    render_svg(|root| {
        let n = points.len().max(1);
        let max = points.iter().map(|p| p.tokens).max().unwrap_or(0).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..n as f64, 0f64..max)?;
        let step = (n / 8).max(1);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(12) + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (*x - i as f64).abs() < 1e-9 && i < points.len() && i.is_multiple_of(step) {
                    bucket_label(&points[i], granularity)
                } else {
                    String::new()
                }
            })
            // Whole-number axes: small maxima (days in a week) get one label per unit.
            .y_labels((max.ceil() as usize + 1).clamp(2, 10))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc(unit)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        chart.draw_series(points.iter().enumerate().map(|(i, p)| {
            let color = if p.partial { PARTIAL_BAR } else { BAR };
            Rectangle::new([(i as f64 + 0.12, 0.0), (i as f64 + 0.88, p.tokens as f64)], color.filled())
        }))?;
        Ok(points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let partial = if p.partial { " (partial)" } else { "" };
                let key = p.start.to_string();
                Hit {
                    corners: (chart.backend_coord(&(i as f64, max)), chart.backend_coord(&(i as f64 + 1.0, 0.0))),
                    key: &key,
                    value: p.tokens,
                    label: &format!("{}{partial}", date_span(p.start, p.end)),
                    unit,
                    href: None,
                    extra: format!(r#" data-start="{}" data-end="{}""#, p.start, p.end),
                }
                .render()
            })
            .collect())
    })
}

/// Categories as horizontal bars, biggest first as given.
pub fn bars_svg(bars: &[ChartBar], unit: &str) -> String {
    render_svg(|root| {
        let n = bars.len().max(1);
        let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..max, 0f64..n as f64)?;
        // Row i is drawn from the top: its band is [n-i-1, n-i].
        let band = |i: usize| (n - i - 1) as f64;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| {
                let centre = y.fract();
                let row = n as f64 - y.floor() - 1.0;
                if (centre - 0.5).abs() < 1e-6 && row >= 0.0 && (row as usize) < bars.len() {
                    let label = &bars[row as usize].label;
                    if label.chars().count() > 26 {
                        format!("{}…", label.chars().take(25).collect::<String>())
                    } else {
                        label.clone()
                    }
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc(unit)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        chart.draw_series(
            bars.iter()
                .enumerate()
                .map(|(i, b)| Rectangle::new([(0.0, band(i) + 0.15), (b.value as f64, band(i) + 0.85)], BAR.filled())),
        )?;
        Ok(bars
            .iter()
            .enumerate()
            .map(|(i, b)| {
                Hit {
                    corners: (chart.backend_coord(&(0.0, band(i) + 1.0)), chart.backend_coord(&(max, band(i)))),
                    key: &b.key,
                    value: b.value,
                    label: &b.label,
                    unit,
                    href: b.href.as_deref(),
                    extra: String::new(),
                }
                .render()
            })
            .collect())
    })
}

/// A donut of used vs available tokens of the active packs.
pub fn donut_svg(used: i64, available: i64) -> String {
    const SIZE: u32 = 220;
    let mut svg = String::new();
    let drawn: DrawResult = (|| {
        let root = SVGBackend::with_string(&mut svg, (SIZE, SIZE)).into_drawing_area();
        root.fill(&WHITE)?;
        let centre = (SIZE as i32 / 2, SIZE as i32 / 2);
        let radius = SIZE as f64 * 0.42;
        let sizes = [used.max(0) as f64, available.max(0) as f64];
        if sizes.iter().sum::<f64>() > 0.0 {
            let colors = [BAR, RGBColor(203, 213, 225)];
            let labels = ["", ""];
            let mut pie = Pie::new(&centre, &radius, &sizes, &colors, &labels);
            pie.start_angle(-90.0);
            pie.donut_hole(radius * 0.6);
            root.draw(&pie)?;
        }
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => format!(r#"<p class="chart-error">The chart could not be drawn: {}</p>"#, escape(&e.to_string())),
    }
}

/// An SVG chart with a hover tooltip: "label: value unit".
#[component]
fn ChartFrame(svg: String, name: &'static str) -> impl IntoView {
    let tooltip = RwSignal::new(None::<(i32, i32, String)>);
    let on_move = move |ev: leptos::ev::MouseEvent| {
        use leptos::wasm_bindgen::JsCast;
        let hit = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            .filter(|el| el.has_attribute("data-value"));
        tooltip.set(hit.map(|el| {
            let attr = |name: &str| el.get_attribute(name).unwrap_or_default();
            (
                ev.offset_x(),
                ev.offset_y(),
                format!("{}: {} {}", attr("data-label"), attr("data-value"), attr("data-unit")),
            )
        }));
    };
    view! {
        <div class="chart" data-chart=name on:mousemove=on_move on:mouseleave=move |_| tooltip.set(None)>
            <div class="chart-svg" inner_html=svg></div>
            {move || tooltip.get().map(|(x, y, text)| view! {
                <div class="chart-tooltip" role="tooltip" style=format!("left:{}px;top:{}px", x + 12, y + 12)>{text}</div>
            })}
        </div>
    }
}

#[component]
pub fn SeriesChart(
    points: Vec<SeriesPoint>,
    granularity: Granularity,
    #[prop(default = "tokens")] unit: &'static str,
    #[prop(default = "tokens-over-time")] name: &'static str,
) -> impl IntoView {
    view! { <ChartFrame svg=series_svg(&points, granularity, unit) name/> }
}

#[component]
pub fn BarsChart(
    bars: Vec<ChartBar>,
    #[prop(default = "tokens")] unit: &'static str,
    name: &'static str,
) -> impl IntoView {
    view! { <ChartFrame svg=bars_svg(&bars, unit) name/> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bucket_gets_a_hit_area_with_its_value_and_dates() {
        let d = |s: &str| s.parse().unwrap();
        let points = vec![
            SeriesPoint { start: d("2026-11-04"), end: d("2026-11-08"), tokens: 120, partial: true },
            SeriesPoint { start: d("2026-11-09"), end: d("2026-11-15"), tokens: 0, partial: false },
        ];
        let svg = series_svg(&points, Granularity::Week, "tokens");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="hit""#).count(), 2);
        assert!(svg.contains(r#"data-value="120""#));
        assert!(svg.contains("<title>Nov 4 – Nov 8, 2026 (partial): 120 tokens</title>"));
        assert!(svg.contains(r#"data-start="2026-11-09" data-end="2026-11-15""#));
    }

    #[test]
    fn category_bars_link_to_their_drill_down() {
        let bars = vec![
            ChartBar {
                key: "revit".into(),
                label: "Revit".into(),
                value: 30,
                href: Some("/teams/t/products/revit".into()),
            },
            ChartBar { key: "maya".into(), label: "Maya & Co".into(), value: 7, href: None },
        ];
        let svg = bars_svg(&bars, "tokens");
        assert!(svg.contains(r#"<a href="/teams/t/products/revit"><rect class="hit""#));
        assert!(svg.contains(r#"data-key="maya" data-value="7" data-label="Maya &amp; Co""#));
        let top = svg.find(r#"data-key="revit""#).unwrap();
        assert!(top < svg.find(r#"data-key="maya""#).unwrap(), "rows keep their order");
    }
}
