//! The server's drawing of every chart, with plotters: the SVG of a
//! [`Drawing`], kept for pages that ask for the same again. Server-only, so
//! the wasm carries none of it.

use std::sync::Arc;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use tokenboard::domain::model::SeriesPoint;
use tokenboard::domain::range::{Granularity, date_span, month_label, short_date};

use super::{ChartBar, Drawing, SeriesExtras, fit_width, stack_color};
use crate::components::kpi::group_thousands;
use crate::html::escape;

const BAR: RGBColor = RGBColor(37, 99, 235);
const PARTIAL_BAR: RGBColor = RGBColor(147, 179, 245);
/// The previous period's line: darker than every bar colour.
const PREVIOUS: RGBColor = RGBColor(17, 24, 39);
const AXIS_TEXT: RGBColor = RGBColor(75, 85, 99);
/// Chart text stays readable on phones: the SVG is drawn at the card's own
/// width, so sizes are real pixels. plotters writes 1/1.24 of the size it is
/// given (15 → 12.1 px).
const FONT_PX: u32 = 15;

type DrawResult = Result<(), Box<dyn std::error::Error>>;

impl Drawing {
    /// The chart's SVG; `None` when there is nothing to draw. Kept from an
    /// earlier page that drew the same (admins ask for the same views again
    /// and again, and drawing is a large part of a page's work).
    pub fn svg(&self) -> Option<String> {
        use std::sync::LazyLock;
        /// Bytes of SVG kept in all.
        const MAX_BYTES: u64 = 32 << 20;
        static DRAWN: LazyLock<moka::sync::Cache<Drawing, Option<Arc<str>>>> = LazyLock::new(|| {
            moka::sync::Cache::builder()
                .max_capacity(MAX_BYTES)
                // The inputs count too: a browser may send large ones that draw nothing.
                .weigher(|drawing: &Drawing, svg: &Option<Arc<str>>| {
                    let bytes = drawing.input_bytes() + svg.as_ref().map_or(0, |s| s.len());
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .time_to_idle(std::time::Duration::from_secs(15 * 60))
                .build()
        });
        let draw = || match self {
            Drawing::Series { points, granularity, unit, extras, width } => {
                draw_series(points, *granularity, unit, extras, *width)
            }
            Drawing::Bars { bars, unit, width } => draw_bars(bars, unit, *width),
            Drawing::Donut { used, available } => Some(draw_donut(*used, *available)),
        };
        DRAWN.get_with_by_ref(self, || draw().map(Arc::from)).map(|svg| svg.to_string())
    }
}

/// Longest text of a chart (a label, a key, a link) in bytes.
const MAX_TEXT: usize = 2_000;
/// Most bars of a category chart.
const MAX_BARS: usize = 1_000;

fn texts_fit<'a>(mut texts: impl Iterator<Item = &'a str>) -> bool {
    texts.all(|t| t.len() <= MAX_TEXT)
}

/// A link of a bar goes to a page of this site: a path, not a URL.
fn links_here<'a>(mut hrefs: impl Iterator<Item = &'a str>) -> bool {
    hrefs.all(|href| href.starts_with('/') && !href.starts_with("//") && !href.contains('\\'))
}

impl Drawing {
    /// About the bytes the inputs take in memory.
    fn input_bytes(&self) -> usize {
        const POINT: usize = std::mem::size_of::<SeriesPoint>();
        match self {
            Drawing::Series { points, unit, extras, .. } => {
                (points.len() + extras.previous.as_ref().map_or(0, Vec::len)) * POINT
                    + unit.len()
                    + extras.drill.as_ref().map_or(0, String::len)
                    + extras.segment_href.as_ref().map_or(0, String::len)
                    + extras.stacked.iter().map(|p| p.key.len() + p.label.len() + p.tokens.len() * 8).sum::<usize>()
            }
            Drawing::Bars { bars, unit, .. } => {
                unit.len()
                    + bars
                        .iter()
                        .map(|b| b.key.len() + b.label.len() + b.href.as_ref().map_or(0, String::len) + 16)
                        .sum::<usize>()
            }
            Drawing::Donut { .. } => 16,
        }
    }

    /// The drawing at `width` (made one a card can have), or what makes it
    /// larger than any page draws: drawing is the server's work, and a
    /// browser sends what it asks to have drawn, so its size is bounded.
    pub fn at_card_width(self, width: u32) -> Result<Drawing, &'static str> {
        use tokenboard::domain::range::MAX_BUCKETS;
        use tokenboard::report::summary::STACKED_PRODUCTS;
        match &self {
            Drawing::Series { points, unit, extras, .. } => {
                let buckets = points.len();
                if buckets > MAX_BUCKETS || extras.previous.as_ref().is_some_and(|p| p.len() > MAX_BUCKETS) {
                    return Err("more buckets than a range has");
                }
                if extras.stacked.len() > STACKED_PRODUCTS + 1
                    || extras.stacked.iter().any(|p| p.tokens.len() > buckets)
                {
                    return Err("more products than a stacked chart shows");
                }
                let texts = [unit.as_str()]
                    .into_iter()
                    .chain(extras.drill.as_deref())
                    .chain(extras.segment_href.as_deref())
                    .chain(extras.stacked.iter().flat_map(|p| [p.key.as_str(), p.label.as_str()]));
                if !texts_fit(texts) {
                    return Err("a text longer than a page writes");
                }
                if !links_here(extras.drill.iter().chain(&extras.segment_href).map(String::as_str)) {
                    return Err("a link that leaves the site");
                }
            }
            Drawing::Bars { bars, unit, .. } => {
                if bars.len() > MAX_BARS {
                    return Err("more bars than a page draws");
                }
                let texts = [unit.as_str()].into_iter().chain(
                    bars.iter().flat_map(|b| [b.key.as_str(), b.label.as_str()].into_iter().chain(b.href.as_deref())),
                );
                if !texts_fit(texts) {
                    return Err("a text longer than a page writes");
                }
                if !links_here(bars.iter().filter_map(|b| b.href.as_deref())) {
                    return Err("a link that leaves the site");
                }
            }
            Drawing::Donut { .. } => {}
        }
        Ok(self.at_width(fit_width(i32::try_from(width).unwrap_or(i32::MAX))))
    }
}

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// The drill-down link of a bucket.
fn drill_href(extras: &SeriesExtras, point: &SeriesPoint) -> Option<String> {
    extras
        .drill
        .as_ref()
        .map(|template| template.replace("{from}", &point.start.to_string()).replace("{to}", &point.end.to_string()))
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
    /// Appended to the `<title>`, e.g. the previous period's value.
    note: String,
}

impl Hit<'_> {
    fn render(&self) -> String {
        let ((x0, y0), (x1, y1)) = self.corners;
        let label = escape(self.label);
        let rect = format!(
            r#"<rect class="hit" x="{x0}" y="{y0}" width="{}" height="{}" fill="transparent" data-key="{}" data-value="{}" data-label="{label}" data-unit="{}"{}><title>{label}: {} {}{}</title></rect>"#,
            (x1 - x0).max(1),
            (y1 - y0).max(1),
            escape(self.key),
            self.value,
            escape(self.unit),
            self.extra,
            group_thousands(self.value),
            escape(self.unit),
            escape(&self.note),
        );
        match self.href {
            Some(href) => format!(r#"<a href="{}">{rect}</a>"#, escape(href)),
            None => rect,
        }
    }
}

fn font() -> TextStyle<'static> {
    ("sans-serif", FONT_PX).into_font().color(&AXIS_TEXT)
}

/// Draws with `draw` on an SVG canvas, then appends the hit areas it returns.
fn render_svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<Vec<String>, Box<dyn std::error::Error>>,
) -> String {
    let mut svg = String::new();
    let hits = {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
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

fn bucket_label(start: chrono::NaiveDate, granularity: Granularity) -> String {
    match granularity {
        // Not chrono's strftime: it would add its formatting machinery to the wasm.
        Granularity::Month => month_label(start),
        _ => short_date(start, false),
    }
}

/// Whole-number axis labels with thousands separators.
fn axis_number(value: &f64) -> String {
    group_thousands(value.round() as i64)
}

/// How many buckets one date label covers so that labels never collide.
fn label_step(buckets: usize, plot_width: u32, granularity: Granularity) -> usize {
    let label_px = if granularity == Granularity::Month { 58 } else { 52 };
    let fits = (plot_width as usize / label_px).max(1);
    buckets.div_ceil(fits).max(1)
}

fn chart_height(width: u32) -> u32 {
    if width < 520 { 240 } else { 280 }
}

/// A time series as vertical bars (partial buckets lighter, or stacked by
/// product), with the previous period as a line when given. `None` when
/// the range holds no usage.
fn draw_series(
    points: &[SeriesPoint],
    granularity: Granularity,
    unit: &str,
    extras: &SeriesExtras,
    width: u32,
) -> Option<String> {
    if points.iter().all(|p| p.tokens == 0) {
        return None;
    }
    let previous = extras.previous.as_deref().unwrap_or(&[]);
    Some(render_svg((width, chart_height(width)), |root| {
        let n = points.len().max(1);
        let highest = points.iter().chain(previous.iter().take(n)).map(|p| p.tokens).max().unwrap_or(0);
        let max = highest.max(1) as f64 * 1.1;
        let y_label_width = 14 + 8 * group_thousands(max.ceil() as i64).len() as u32;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(24)
            .y_label_area_size(y_label_width)
            .build_cartesian_2d(0f64..n as f64, 0f64..max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            // Whole-number axes: small maxima (days in a week) get one label per unit.
            .y_labels((max.ceil() as usize + 1).clamp(2, 8))
            .y_label_formatter(&axis_number)
            .y_label_style(font())
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(229, 231, 235))
            .draw()?;
        // Date labels centred under every `step`-th bar.
        let plot_width = width.saturating_sub(y_label_width + 24);
        let step = label_step(n, plot_width, granularity);
        for (i, point) in points.iter().enumerate().step_by(step) {
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let style = font().pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(bucket_label(point.start, granularity), (x, y + 6), style))?;
        }
        if extras.stacked.is_empty() {
            chart.draw_series(points.iter().enumerate().map(|(i, p)| {
                let color = if p.partial { PARTIAL_BAR } else { BAR };
                Rectangle::new([(i as f64 + 0.12, 0.0), (i as f64 + 0.88, p.tokens as f64)], color.filled())
            }))?;
        } else {
            let mut base = vec![0i64; points.len()];
            for (k, product) in extras.stacked.iter().enumerate() {
                let color = rgb(stack_color(k, product));
                chart.draw_series(product.tokens.iter().enumerate().filter(|(_, t)| **t != 0).map(|(i, t)| {
                    let (bottom, top) = (base[i], base[i].saturating_add(*t));
                    base[i] = top;
                    Rectangle::new([(i as f64 + 0.12, bottom as f64), (i as f64 + 0.88, top as f64)], color.filled())
                }))?;
            }
        }
        if !previous.is_empty() {
            let line: Vec<(f64, f64)> =
                previous.iter().take(n).enumerate().map(|(i, p)| (i as f64 + 0.5, p.tokens as f64)).collect();
            chart.draw_series(std::iter::once(PathElement::new(line.clone(), PREVIOUS.stroke_width(2))))?;
            chart.draw_series(line.iter().map(|&at| Circle::new(at, 3, PREVIOUS.filled())))?;
        }
        let segments = segment_hits(&chart, points, extras, unit);
        let buckets = points.iter().enumerate().map(|(i, p)| {
            let partial = if p.partial { " (partial)" } else { "" };
            let key = p.start.to_string();
            let before = previous.get(i);
            let href = drill_href(extras, p);
            Hit {
                corners: (chart.backend_coord(&(i as f64, max)), chart.backend_coord(&(i as f64 + 1.0, 0.0))),
                key: &key,
                value: p.tokens,
                label: &format!("{}{partial}", date_span(p.start, p.end)),
                unit,
                href: href.as_deref(),
                extra: format!(
                    r#" data-start="{}" data-end="{}"{}"#,
                    p.start,
                    p.end,
                    before.map(|b| format!(r#" data-previous="{}""#, b.tokens)).unwrap_or_default()
                ),
                note: before.map(|b| format!(" (previous period: {})", group_thousands(b.tokens))).unwrap_or_default(),
            }
            .render()
        });
        // Bucket areas first: a product's segment lies on top of its bucket.
        Ok(buckets.chain(segments).collect())
    }))
}

/// The hit area of each stacked product's segment, linking to the product
/// (`extras.segment_href`); class `segment`, so `.hit` stays one per bucket.
fn segment_hits<DB: DrawingBackend>(
    chart: &ChartContext<
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    points: &[SeriesPoint],
    extras: &SeriesExtras,
    unit: &str,
) -> Vec<String> {
    let mut base = vec![0i64; points.len()];
    let mut hits = Vec::new();
    for product in &extras.stacked {
        for (i, &tokens) in product.tokens.iter().enumerate().filter(|(_, t)| **t != 0) {
            let (bottom, top) = (base[i], base[i].saturating_add(tokens));
            base[i] = top;
            let label = format!("{} · {}", product.label, date_span(points[i].start, points[i].end));
            let href = extras
                .segment_href
                .as_ref()
                .filter(|_| !product.key.is_empty())
                .map(|t| t.replace("{product}", &product.key));
            let hit = Hit {
                corners: (
                    chart.backend_coord(&(i as f64 + 0.12, top as f64)),
                    chart.backend_coord(&(i as f64 + 0.88, bottom as f64)),
                ),
                key: &product.key,
                value: tokens,
                label: &label,
                unit,
                href: href.as_deref(),
                extra: String::new(),
                note: String::new(),
            };
            hits.push(hit.render().replacen(r#"class="hit""#, r#"class="segment""#, 1));
        }
    }
    hits
}

/// Categories as horizontal bars, biggest first as given. `None` when there
/// is nothing to draw.
fn draw_bars(bars: &[ChartBar], unit: &str, width: u32) -> Option<String> {
    if bars.is_empty() {
        return None;
    }
    let label_chars = if width < 520 { 14 } else { 26 };
    let label_area = if width < 520 { 110 } else { 190 };
    Some(render_svg((width, chart_height(width)), |root| {
        let n = bars.len();
        let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(label_area)
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
                    if label.chars().count() > label_chars {
                        format!("{}…", label.chars().take(label_chars - 1).collect::<String>())
                    } else {
                        label.clone()
                    }
                } else {
                    String::new()
                }
            })
            .x_labels(if width < 520 { 4 } else { 8 })
            .x_label_formatter(&axis_number)
            .label_style(font())
            .x_desc(unit)
            .axis_desc_style(font())
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(229, 231, 235))
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
                    note: String::new(),
                }
                .render()
            })
            .collect())
    }))
}

/// A donut of used vs available tokens of the active packs.
fn draw_donut(used: i64, available: i64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::components::chart::WIDTH;

    fn d(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    fn series(points: &[SeriesPoint], granularity: Granularity, extras: &SeriesExtras) -> Option<String> {
        let drawing = Drawing::Series {
            points: points.to_vec(),
            granularity,
            unit: "tokens".into(),
            extras: extras.clone(),
            width: WIDTH,
        };
        drawing.svg()
    }

    #[test]
    fn every_bucket_gets_a_hit_area_with_its_value_and_dates() {
        let points = vec![
            SeriesPoint { start: d("2026-11-04"), end: d("2026-11-08"), tokens: 1200, partial: true },
            SeriesPoint { start: d("2026-11-09"), end: d("2026-11-15"), tokens: 0, partial: false },
        ];
        let svg = series(&points, Granularity::Week, &SeriesExtras::default()).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="hit""#).count(), 2);
        assert!(svg.contains(r#"data-value="1200""#));
        assert!(svg.contains("<title>Nov 4 – Nov 8, 2026 (partial): 1,200 tokens</title>"));
        assert!(svg.contains(r#"data-start="2026-11-09" data-end="2026-11-15""#));
    }

    #[test]
    fn a_range_without_usage_draws_nothing() {
        let points = vec![SeriesPoint { start: d("2026-11-04"), end: d("2026-11-04"), tokens: 0, partial: false }];
        assert_eq!(series(&points, Granularity::Day, &SeriesExtras::default()), None);
        assert_eq!(Drawing::Bars { bars: Vec::new(), unit: "tokens".into(), width: WIDTH }.svg(), None);
    }

    #[test]
    fn date_labels_never_crowd_and_every_range_gets_several() {
        // 30 days on a desktop card: a label every few days, at least five.
        let step = label_step(30, 780, Granularity::Day);
        assert!((2..=3).contains(&step), "{step}");
        assert!(30 / step >= 5);
        // A phone: fewer labels, never overlapping (52 px each).
        let step = label_step(30, 300, Granularity::Day);
        assert!(300 / 52 >= 30_usize.div_ceil(step), "{step}");
        assert_eq!(label_step(13, 780, Granularity::Month), 1);
    }

    #[test]
    fn thirty_days_show_a_date_label_every_few_bars_with_separators_on_the_axis() {
        let start = d("2026-10-31");
        let points: Vec<SeriesPoint> = (0..30)
            .map(|i| {
                let day = start + chrono::Days::new(i);
                SeriesPoint { start: day, end: day, tokens: 12_000 + i as i64, partial: false }
            })
            .collect();
        let svg = series(&points, Granularity::Day, &SeriesExtras::default()).unwrap();
        // plotters writes a text's content on its own line.
        let labels =
            points.iter().filter(|p| svg.contains(&format!(">\n{}\n</text>", short_date(p.start, false)))).count();
        assert!(labels >= 8, "{labels} date labels");
        assert!(svg.contains("\n12,000\n") || svg.contains("\n10,000\n"), "thousands separators on the axis");
        assert!(svg.contains(r#"font-size="12.09"#), "12 px text");
    }

    #[test]
    fn buckets_drill_into_their_range_and_carry_the_previous_period() {
        let points = vec![SeriesPoint { start: d("2026-11-02"), end: d("2026-11-08"), tokens: 5, partial: false }];
        let extras = SeriesExtras {
            previous: Some(vec![SeriesPoint {
                start: d("2026-10-26"),
                end: d("2026-11-01"),
                tokens: 7,
                partial: false,
            }]),
            stacked: Vec::new(),
            drill: Some("/teams/t/summary?range=custom&from={from}&to={to}".into()),
            ..SeriesExtras::default()
        };
        let svg = series(&points, Granularity::Week, &extras).unwrap();
        assert!(svg.contains(r#"<a href="/teams/t/summary?range=custom&amp;from=2026-11-02&amp;to=2026-11-08">"#));
        assert!(svg.contains(r#"data-previous="7""#));
        assert!(svg.contains("(previous period: 7)</title>"));
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
        let svg = Drawing::Bars { bars, unit: "tokens".into(), width: WIDTH }.svg().unwrap();
        assert!(svg.contains(r#"<a href="/teams/t/products/revit"><rect class="hit""#));
        assert!(svg.contains(r#"data-key="maya" data-value="7" data-label="Maya &amp; Co""#));
        let top = svg.find(r#"data-key="revit""#).unwrap();
        assert!(top < svg.find(r#"data-key="maya""#).unwrap(), "rows keep their order");
    }
}
