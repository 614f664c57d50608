//! Charts: drawn by plotters to SVG (on the server for first paint, again in
//! the browser at the container's width). Over each bar lies an invisible
//! hit area carrying `data-key`, `data-value` and `data-label` — for the
//! tooltip, for `<title>` tooltips without JavaScript, and for tests — and,
//! where the bar drills down, wrapped in a link (which makes it focusable).
//! Every chart also carries its numbers as a visually hidden table.

use std::sync::Arc;

use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use tokenboard::domain::model::{ProductSeries, SeriesPoint};
use tokenboard::domain::range::{Granularity, date_span, month_label, short_date};
use tokenboard::report::ReportResult;

use crate::components::kpi::group_thousands;
use crate::html::escape;

/// The width drawn on the server, before the browser measures the card.
const WIDTH: u32 = 880;
const BAR: RGBColor = RGBColor(37, 99, 235);
const PARTIAL_BAR: RGBColor = RGBColor(147, 179, 245);
/// The previous period's line: darker than every bar colour.
const PREVIOUS: RGBColor = RGBColor(17, 24, 39);
const AXIS_TEXT: RGBColor = RGBColor(75, 85, 99);
/// One colour per stacked product, in turn; "Other products" is grey.
pub const STACK_COLORS: [RGBColor; 8] = [
    RGBColor(37, 99, 235),
    RGBColor(22, 163, 74),
    RGBColor(217, 119, 6),
    RGBColor(147, 51, 234),
    RGBColor(220, 38, 38),
    RGBColor(8, 145, 178),
    RGBColor(202, 138, 4),
    RGBColor(219, 39, 119),
];
const OTHER_PRODUCTS: RGBColor = RGBColor(107, 114, 128);

/// The colour of the `i`-th stacked product.
fn stack_color(i: usize, product: &ProductSeries) -> RGBColor {
    if product.key.is_empty() { OTHER_PRODUCTS } else { STACK_COLORS[i % STACK_COLORS.len()] }
}
/// Chart text stays readable on phones: the SVG is drawn at the card's own
/// width, so sizes are real pixels. plotters writes 1/1.24 of the size it is
/// given (15 → 12.1 px).
const FONT_PX: u32 = 15;

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// One bar of a category chart (products, users, versions).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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

/// What a time-series chart draws besides its bars.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SeriesExtras {
    /// The previous period's buckets, drawn as a line over the bars.
    pub previous: Option<Vec<SeriesPoint>>,
    /// The bars split by product (stacked), aligned with the points.
    pub stacked: Vec<ProductSeries>,
    /// The drill-down link of a bucket: `{from}` and `{to}` are replaced by its dates.
    pub drill: Option<String>,
    /// The link of a stacked product's segment: `{product}` is replaced by its key.
    pub segment_href: Option<String>,
}

impl SeriesExtras {
    fn drill_href(&self, point: &SeriesPoint) -> Option<String> {
        self.drill.as_ref().map(|template| {
            template.replace("{from}", &point.start.to_string()).replace("{to}", &point.end.to_string())
        })
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
            self.unit,
            self.extra,
            group_thousands(self.value),
            self.unit,
            escape(&self.note),
        );
        match self.href {
            Some(href) => format!(r#"<a href="{}">{rect}</a>"#, escape(href)),
            None => rect,
        }
    }
}

/// Everything a chart is drawn from: the same inputs draw the same SVG.
#[derive(Hash, PartialEq, Eq)]
enum Drawing {
    Series { points: Vec<SeriesPoint>, granularity: Granularity, unit: String, extras: SeriesExtras, width: u32 },
    Bars { bars: Vec<ChartBar>, unit: String, width: u32 },
    Donut { used: i64, available: i64 },
}

/// The SVG of `drawing`: on the server, kept from an earlier page that drew
/// the same (admins ask for the same views again and again, and drawing is
/// a large part of a page's work); in the browser, drawn.
fn drawn(drawing: Drawing, draw: impl FnOnce() -> Option<String>) -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        use std::sync::LazyLock;
        /// Bytes of SVG kept in all.
        const MAX_BYTES: u64 = 32 << 20;
        static DRAWN: LazyLock<moka::sync::Cache<Drawing, Option<Arc<str>>>> = LazyLock::new(|| {
            moka::sync::Cache::builder()
                .max_capacity(MAX_BYTES)
                .weigher(|_, svg: &Option<Arc<str>>| {
                    svg.as_ref().map_or(1, |s| u32::try_from(s.len()).unwrap_or(u32::MAX))
                })
                .time_to_idle(std::time::Duration::from_secs(15 * 60))
                .build()
        });
        DRAWN.get_with(drawing, || draw().map(Arc::from)).map(|svg| svg.to_string())
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = drawing;
        draw()
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
pub fn series_svg(
    points: &[SeriesPoint],
    granularity: Granularity,
    unit: &str,
    extras: &SeriesExtras,
    width: u32,
) -> Option<String> {
    let drawing =
        Drawing::Series { points: points.to_vec(), granularity, unit: unit.to_owned(), extras: extras.clone(), width };
    drawn(drawing, || draw_series(points, granularity, unit, extras, width))
}

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
                let color = stack_color(k, product);
                chart.draw_series(product.tokens.iter().enumerate().filter(|(_, t)| **t != 0).map(|(i, t)| {
                    let (bottom, top) = (base[i], base[i] + t);
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
            let href = extras.drill_href(p);
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
            let (bottom, top) = (base[i], base[i] + tokens);
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
pub fn bars_svg(bars: &[ChartBar], unit: &str, width: u32) -> Option<String> {
    let drawing = Drawing::Bars { bars: bars.to_vec(), unit: unit.to_owned(), width };
    drawn(drawing, || draw_bars(bars, unit, width))
}

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
pub fn donut_svg(used: i64, available: i64) -> String {
    drawn(Drawing::Donut { used, available }, || Some(draw_donut(used, available))).unwrap_or_default()
}

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

/// The donut with its text alternative.
#[component]
pub fn Donut(used: i64, available: i64) -> impl IntoView {
    let text = format!("{} tokens used, {} available", group_thousands(used), group_thousands(available));
    view! {
        <div class="donut" role="img" aria-label=text data-used=used.to_string() data-available=available.to_string()
            inner_html=donut_svg(used, available)></div>
    }
}

/// The width to draw at for a card `client_width` pixels wide.
#[cfg(feature = "hydrate")]
fn fit_width(client_width: i32) -> u32 {
    client_width.clamp(280, 1400) as u32
}

/// A chart drawn at its card's width, with a tooltip on hover and focus
/// ("label: value unit"), its numbers as a hidden table, and "No usage in
/// this range" when `draw` has nothing to draw.
#[component]
fn ChartFrame(
    name: &'static str,
    caption: String,
    draw: Arc<dyn Fn(u32) -> Option<String> + Send + Sync>,
    /// (label, value) of each bar, for the hidden table.
    rows: Vec<(String, String)>,
    /// Nothing to draw: say so instead.
    empty: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let width = RwSignal::new(WIDTH);
    let frame = NodeRef::<leptos::html::Figure>::new();
    #[cfg(feature = "hydrate")]
    {
        let measure = move || {
            if let Some(el) = frame.get_untracked() {
                let fitted = fit_width(el.client_width());
                if fitted.abs_diff(width.get_untracked()) > 4 {
                    width.set(fitted);
                }
            }
        };
        Effect::new(move |_| {
            frame.track();
            measure();
        });
        let listener = window_event_listener(leptos::ev::resize, move |_| measure());
        on_cleanup(move || listener.remove());
    }
    let tooltip = RwSignal::new(None::<(i32, i32, bool, String)>);
    // Shows the tooltip of a hit area at (x, y) in the chart's pixels; it
    // opens to the left in the right half, so it never leaves the chart.
    let show = move |el: Option<leptos::web_sys::Element>, x: i32, y: i32| {
        tooltip.set(el.filter(|el| el.has_attribute("data-value")).map(|el| {
            let attr = |name: &str| el.get_attribute(name).unwrap_or_default();
            let value = attr("data-value").parse::<i64>().map(group_thousands).unwrap_or_default();
            let previous = attr("data-previous")
                .parse::<i64>()
                .map(|p| format!(" (previous period: {})", group_thousands(p)))
                .unwrap_or_default();
            let flip = x > width.get_untracked() as i32 / 2;
            (x, y, flip, format!("{}: {} {}{previous}", attr("data-label"), value, attr("data-unit")))
        }));
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        use leptos::wasm_bindgen::JsCast;
        let target = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok());
        show(target, ev.offset_x(), ev.offset_y());
    };
    let on_focus = move |ev: leptos::ev::FocusEvent| {
        use leptos::wasm_bindgen::JsCast;
        let link = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok());
        let Some(hit) = link.as_ref().and_then(|l| l.query_selector(".hit").ok().flatten()) else { return };
        // The SVG is drawn at the card's width, so its coordinates are the card's pixels.
        let number = |name: &str| hit.get_attribute(name).and_then(|v| v.parse::<i32>().ok()).unwrap_or(0);
        let (x, y) = (number("x") + number("width") / 2, number("y") + number("height") / 3);
        show(Some(hit), x, y);
    };
    let svg = move || draw(width.get());
    // In a hidden div, not a hidden table: a table's cells overflow its box and would widen the page.
    let table = view! {
        <div class="visually-hidden">
            <table class="chart-data">
                <caption>{caption.clone()}</caption>
                <tbody>{rows.into_iter().map(|(label, value)| view! { <tr><th scope="row">{label}</th><td>{value}</td></tr> }).collect_view()}</tbody>
            </table>
        </div>
    };
    view! {
        <figure class="chart" data-chart=name node_ref=frame aria-label=caption
            on:mousemove=on_move on:mouseleave=move |_| tooltip.set(None)
            on:focusin=on_focus on:focusout=move |_| tooltip.set(None)>
            {if empty {
                view! { <p class="chart-empty" data-empty="true">"No usage in this range"</p> }.into_any()
            } else {
                view! { <div class="chart-svg" inner_html=move || svg().unwrap_or_default()></div> }.into_any()
            }}
            {move || tooltip.get().map(|(x, y, flip, text)| view! {
                <div class="chart-tooltip" class:flip=flip role="tooltip"
                    style=format!("left:{}px;top:{}px", if flip { x - 12 } else { x + 12 }, y + 12)>{text}</div>
            })}
            {children.map(|legend| legend())}
            {table}
        </figure>
    }
}

/// A time series; `extras` adds the previous period, a split by product or
/// drill-down links.
#[component]
pub fn SeriesChart(
    points: Vec<SeriesPoint>,
    granularity: Granularity,
    #[prop(default = "tokens")] unit: &'static str,
    #[prop(default = "tokens-over-time")] name: &'static str,
    #[prop(optional)] extras: SeriesExtras,
) -> impl IntoView {
    let rows = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let previous = extras.previous.as_ref().and_then(|prev| prev.get(i));
            let value = match previous {
                Some(b) => format!("{} (previous period: {})", group_thousands(p.tokens), group_thousands(b.tokens)),
                None => group_thousands(p.tokens),
            };
            (date_span(p.start, p.end), value)
        })
        .collect();
    let caption = format!("{} per {}", capitalise(unit), granularity.as_str());
    let legend = legend(&extras);
    let empty = points.iter().all(|p| p.tokens == 0);
    let draw = Arc::new(move |width| series_svg(&points, granularity, unit, &extras, width));
    view! { <ChartFrame name caption draw rows empty>{legend}</ChartFrame> }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The key of a stacked or compared chart (HTML: names stay text).
fn legend(extras: &SeriesExtras) -> Option<AnyView> {
    if extras.stacked.is_empty() && extras.previous.is_none() {
        return None;
    }
    let products = extras
        .stacked
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let c = stack_color(i, p);
            view! {
                <li data-product=p.key.clone()>
                    <span class="swatch" style=format!("background:rgb({},{},{})", c.0, c.1, c.2)></span>{p.label.clone()}
                </li>
            }
        })
        .collect_view();
    let previous = extras
        .previous
        .is_some()
        .then(|| view! { <li class="previous"><span class="swatch line"></span>"Previous period"</li> });
    Some(view! { <ul class="chart-legend">{products}{previous}</ul> }.into_any())
}

/// Whether a chart option of the URL (`compare=previous`, `stack=product`)
/// is on, and the link that flips it, keeping the range and other options.
pub fn chart_option(key: &'static str, value: &'static str) -> (bool, String) {
    use crate::components::layout::{CHART_KEYS, RANGE_KEYS, kept_query, query_string};
    let options = kept_query(&[CHART_KEYS]);
    let on = options.iter().any(|(k, v)| *k == key && v == value);
    let mut pairs = kept_query(&[RANGE_KEYS]);
    pairs.extend(options.into_iter().filter(|(k, _)| *k != key));
    if !on {
        pairs.push((key, value.to_owned()));
    }
    // "?" and not "": an empty link would keep the current query, option and all.
    let query = query_string(&pairs);
    (on, if query.is_empty() { "?".to_owned() } else { query })
}

/// A chip that switches a chart option on or off (a plain link).
#[component]
pub fn ChartToggle(key: &'static str, value: &'static str, label: &'static str) -> impl IntoView {
    let (on, href) = chart_option(key, value);
    view! {
        <a class="chip small" class:active=on href=href data-toggle=key>{if on { "✓ " } else { "" }}{label}</a>
    }
}

/// The drill-down link of a time bucket on `path`: its own dates (shown by
/// day), keeping the chart options.
pub fn bucket_drill(path: &str) -> String {
    use crate::components::layout::{CHART_KEYS, kept_query};
    let mut query = String::from("range=custom&from={from}&to={to}");
    for (key, value) in kept_query(&[CHART_KEYS]) {
        let value = percent_encoding::utf8_percent_encode(&value, crate::components::layout::QUERY_VALUE);
        query.push_str(&format!("&{key}={value}"));
    }
    format!("{path}?{query}")
}

#[component]
pub fn BarsChart(
    bars: Vec<ChartBar>,
    #[prop(default = "tokens")] unit: &'static str,
    name: &'static str,
) -> impl IntoView {
    let rows = bars.iter().map(|b| (b.label.clone(), group_thousands(b.value))).collect();
    let caption = format!("{} by {}", capitalise(unit), name.replace('-', " "));
    let empty = bars.is_empty();
    let draw = Arc::new(move |width| bars_svg(&bars, unit, width));
    view! { <ChartFrame name caption draw rows empty/> }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_bucket_gets_a_hit_area_with_its_value_and_dates() {
        let points = vec![
            SeriesPoint { start: d("2026-11-04"), end: d("2026-11-08"), tokens: 1200, partial: true },
            SeriesPoint { start: d("2026-11-09"), end: d("2026-11-15"), tokens: 0, partial: false },
        ];
        let svg = series_svg(&points, Granularity::Week, "tokens", &SeriesExtras::default(), WIDTH).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="hit""#).count(), 2);
        assert!(svg.contains(r#"data-value="1200""#));
        assert!(svg.contains("<title>Nov 4 – Nov 8, 2026 (partial): 1,200 tokens</title>"));
        assert!(svg.contains(r#"data-start="2026-11-09" data-end="2026-11-15""#));
    }

    #[test]
    fn a_range_without_usage_draws_nothing() {
        let points = vec![SeriesPoint { start: d("2026-11-04"), end: d("2026-11-04"), tokens: 0, partial: false }];
        assert_eq!(series_svg(&points, Granularity::Day, "tokens", &SeriesExtras::default(), WIDTH), None);
        assert_eq!(bars_svg(&[], "tokens", WIDTH), None);
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
        let svg = series_svg(&points, Granularity::Day, "tokens", &SeriesExtras::default(), WIDTH).unwrap();
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
        let svg = series_svg(&points, Granularity::Week, "tokens", &extras, WIDTH).unwrap();
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
        let svg = bars_svg(&bars, "tokens", WIDTH).unwrap();
        assert!(svg.contains(r#"<a href="/teams/t/products/revit"><rect class="hit""#));
        assert!(svg.contains(r#"data-key="maya" data-value="7" data-label="Maya &amp; Co""#));
        let top = svg.find(r#"data-key="revit""#).unwrap();
        assert!(top < svg.find(r#"data-key="maya""#).unwrap(), "rows keep their order");
    }
}
