//! Charts: plotters SVG drawn on the server only ([`draw`]), so neither
//! plotters nor the drawing code is in the wasm. A page renders its charts
//! at [`WIDTH`] on the server and writes each chart's inputs into
//! `data-drawing`; in the browser `crate::behaviours` asks the server for the
//! SVG again at the card's width (`POST /charts/svg`), draws a chart a page
//! built in the browser, and shows the tooltips. Over each bar lies an
//! invisible hit area carrying `data-key`, `data-value` and `data-label` — for
//! the tooltip, for `<title>` tooltips without JavaScript, and for tests —
//! and, where the bar drills down, wrapped in a link (which makes it
//! focusable). Every chart also carries its numbers as a visually hidden
//! table.

#[cfg(feature = "ssr")]
pub mod draw;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tokenboard::domain::model::{ProductSeries, SeriesPoint};
use tokenboard::domain::range::{Granularity, date_span};
use tokenboard::report::ReportResult;

use crate::components::kpi::group_thousands;

/// The width drawn on the server, before the browser measures the card.
pub const WIDTH: u32 = 880;
/// One colour per stacked product, in turn; "Other products" is grey.
pub const STACK_COLORS: [(u8, u8, u8); 8] = [
    (37, 99, 235),
    (22, 163, 74),
    (217, 119, 6),
    (147, 51, 234),
    (220, 38, 38),
    (8, 145, 178),
    (202, 138, 4),
    (219, 39, 119),
];
const OTHER_PRODUCTS: (u8, u8, u8) = (107, 114, 128);

/// The colour of the `i`-th stacked product, in the chart and its legend.
pub fn stack_color(i: usize, product: &ProductSeries) -> (u8, u8, u8) {
    if product.key.is_empty() { OTHER_PRODUCTS } else { STACK_COLORS[i % STACK_COLORS.len()] }
}

/// One bar of a category chart (products, users, versions).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Everything a chart is drawn from: the same inputs draw the same SVG. The
/// browser sends it to the server to have the chart drawn at another width.
#[derive(Clone, Debug, Hash, PartialEq, Eq, Serialize, Deserialize)]
pub enum Drawing {
    Series { points: Vec<SeriesPoint>, granularity: Granularity, unit: String, extras: SeriesExtras, width: u32 },
    Bars { bars: Vec<ChartBar>, unit: String, width: u32 },
    Donut { used: i64, available: i64 },
}

impl Drawing {
    /// The same chart at `width` pixels (a donut has one size).
    pub fn at_width(mut self, to: u32) -> Drawing {
        if let Drawing::Series { width, .. } | Drawing::Bars { width, .. } = &mut self {
            *width = to;
        }
        self
    }

    /// The SVG as the server renders the page; the browser has none until it asks.
    fn first_svg(&self) -> Option<String> {
        #[cfg(feature = "ssr")]
        return self.svg();
        #[cfg(not(feature = "ssr"))]
        None
    }

    /// The inputs as `data-drawing` carries them to `POST /charts/svg`. Names
    /// come from imported files: `<`, `>` and `&` are written as JSON escapes,
    /// so not even the attribute holds markup (they occur only in strings).
    fn json(&self) -> String {
        leptos::serde_json::to_string(self)
            .unwrap_or_default()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }
}

/// The donut with its text alternative.
#[component]
pub fn Donut(used: i64, available: i64) -> impl IntoView {
    let text = format!("{} tokens used, {} available", group_thousands(used), group_thousands(available));
    let drawing = Drawing::Donut { used, available };
    view! {
        <div class="donut" role="img" aria-label=text data-used=used.to_string() data-available=available.to_string()
            data-drawing=drawing.json() inner_html=drawing.first_svg().unwrap_or_default()></div>
    }
}

/// The width to draw at for a card `client_width` pixels wide.
pub fn fit_width(client_width: i32) -> u32 {
    client_width.clamp(280, 1400) as u32
}

/// A chart drawn at its card's width (`crate::behaviours`: the tooltip on
/// hover and focus, "label: value unit", and the redrawing), its numbers as a
/// hidden table, and "No usage in this range" when there is nothing to draw.
#[component]
fn ChartFrame(
    name: &'static str,
    caption: String,
    drawing: Drawing,
    /// (label, value) of each bar, for the hidden table.
    rows: Vec<(String, String)>,
    /// Nothing to draw: say so instead.
    empty: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
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
        <figure class="chart" data-chart=name aria-label=caption
            data-drawing=(!empty).then(|| drawing.json()) data-fitted=empty.then_some("true")>
            {if empty {
                view! { <p class="chart-empty" data-empty="true">"No usage in this range"</p> }.into_any()
            } else {
                view! { <div class="chart-svg" inner_html=drawing.first_svg().unwrap_or_default()></div> }.into_any()
            }}
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
    let drawing = Drawing::Series { points, granularity, unit: unit.to_owned(), extras, width: WIDTH };
    view! { <ChartFrame name caption drawing rows empty>{legend}</ChartFrame> }
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
    let drawing = Drawing::Bars { bars, unit: unit.to_owned(), width: WIDTH };
    view! { <ChartFrame name caption drawing rows empty/> }
}
