//! The tokens-over-time bar chart: drawn by plotters to SVG (on the server for
//! first paint, in the browser when the view changes), with one invisible hit
//! area per bucket that carries the bucket's dates and exact value — for the
//! hover tooltip, for `<title>` tooltips without JavaScript, and for tests.

use leptos::prelude::*;
use plotters::prelude::*;
use tokenboard::model::SeriesPoint;
use tokenboard::range::{Granularity, date_span, short_date};

const WIDTH: u32 = 880;
const HEIGHT: u32 = 280;
const BAR: RGBColor = RGBColor(37, 99, 235);
const PARTIAL_BAR: RGBColor = RGBColor(147, 179, 245);

fn bucket_label(point: &SeriesPoint, granularity: Granularity) -> String {
    match granularity {
        Granularity::Month => point.start.format("%b %Y").to_string(),
        _ => short_date(point.start, false),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Renders the chart as a standalone SVG document.
pub fn tokens_over_time_svg(points: &[SeriesPoint], granularity: Granularity) -> String {
    let mut svg = String::new();
    let mut hits = String::new();
    let result: Result<(), Box<dyn std::error::Error>> = (|| {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = points.len().max(1);
        let max = points.iter().map(|p| p.tokens).max().unwrap_or(0).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(&root)
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
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc("tokens")
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        chart.draw_series(points.iter().enumerate().map(|(i, p)| {
            let color = if p.partial { PARTIAL_BAR } else { BAR };
            Rectangle::new([(i as f64 + 0.12, 0.0), (i as f64 + 0.88, p.tokens as f64)], color.filled())
        }))?;
        for (i, p) in points.iter().enumerate() {
            let (x0, y0) = chart.backend_coord(&(i as f64, max));
            let (x1, y1) = chart.backend_coord(&(i as f64 + 1.0, 0.0));
            let dates = date_span(p.start, p.end);
            let partial = if p.partial { " (partial)" } else { "" };
            // The same text as the hover tooltip: "Nov 4 – Nov 8, 2026 (partial): 120 tokens".
            let label = escape(&format!("{dates}{partial}"));
            hits.push_str(&format!(
                r#"<rect class="hit" x="{x0}" y="{y0}" width="{}" height="{}" fill="transparent" data-key="{}" data-start="{}" data-end="{}" data-value="{}" data-label="{label}"><title>{label}: {} tokens</title></rect>"#,
                (x1 - x0).max(1),
                (y1 - y0).max(1),
                p.start,
                p.start,
                p.end,
                p.tokens,
                p.tokens,
            ));
        }
        root.present()?;
        Ok(())
    })();
    if let Err(e) = result {
        return format!(r#"<p class="chart-error">The chart could not be drawn: {}</p>"#, escape(&e.to_string()));
    }
    match svg.rfind("</svg>") {
        Some(end) => format!("{}<g class=\"hits\">{hits}</g></svg>", &svg[..end]),
        None => svg,
    }
}

/// The chart with a hover tooltip showing the bucket's dates and exact value.
#[component]
pub fn TokensChart(points: Vec<SeriesPoint>, granularity: Granularity) -> impl IntoView {
    let svg = tokens_over_time_svg(&points, granularity);
    let tooltip = RwSignal::new(None::<(i32, i32, String)>);
    let on_move = move |ev: leptos::ev::MouseEvent| {
        use leptos::wasm_bindgen::JsCast;
        let hit = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            .filter(|el| el.has_attribute("data-value"));
        tooltip.set(hit.map(|el| {
            let label = el.get_attribute("data-label").unwrap_or_default();
            let value = el.get_attribute("data-value").unwrap_or_default();
            (ev.offset_x(), ev.offset_y(), format!("{label}: {value} tokens"))
        }));
    };
    view! {
        <div class="chart" data-chart="tokens-over-time" on:mousemove=on_move on:mouseleave=move |_| tooltip.set(None)>
            <div class="chart-svg" inner_html=svg></div>
            {move || tooltip.get().map(|(x, y, text)| view! {
                <div class="chart-tooltip" role="tooltip" style=format!("left:{}px;top:{}px", x + 12, y + 12)>{text}</div>
            })}
        </div>
    }
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
        let svg = tokens_over_time_svg(&points, Granularity::Week);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="hit""#).count(), 2);
        assert!(svg.contains(r#"data-value="120""#));
        assert!(svg.contains("Nov 4 – Nov 8, 2026 (partial): 120 tokens"));
        assert!(svg.contains(r#"data-start="2026-11-09" data-end="2026-11-15" data-value="0""#));
    }
}
