//! What markup does in the browser without a view of its own: listeners on
//! the document, installed once by `hydrate()`. A page the server renders
//! whole (`components::server_page`) arrives as HTML and has no views in the
//! browser, so its charts, team picker and confirmations work through these,
//! and pages that render themselves use the same ones.
//!
//! - Charts (`[data-drawing]`, the drawing's inputs as JSON): the SVG is drawn
//!   by the server only; [`fit_charts`] asks `POST /charts/svg` for it at the
//!   card's width when it is missing or drawn at another (as the page
//!   hydrates, when the window is resized, and when charts arrive in the
//!   document), and marks the chart `data-fitted`. The bar under the pointer
//!   or the focus gets a tooltip.
//! - Disclosures (`<details>`): Escape closes the team picker or a
//!   confirmation and gives the focus back to its button; a click outside
//!   closes the team picker; the arrow keys move between its teams.

use crate::components::chart::fit_width;
use leptos::prelude::{document, window};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Element, Event, FocusEvent, HtmlDetailsElement, HtmlElement, KeyboardEvent, MouseEvent};

/// Installs the listeners; `hydrate()` calls it once.
pub fn install() {
    listen("mousemove", |event: MouseEvent| chart_pointer(&event));
    // The pointer left the window.
    listen("mouseout", |event: MouseEvent| {
        if event.related_target().is_none() {
            hide_all_tooltips();
        }
    });
    listen("focusin", |event: FocusEvent| chart_focus(&event));
    listen("focusout", |event: FocusEvent| {
        if let Some(figure) = target(&event).and_then(|t| t.closest("figure.chart").ok().flatten()) {
            hide_tooltip(&figure);
        }
    });
    listen("keydown", |event: KeyboardEvent| disclosure_key(&event));
    listen("click", |event: MouseEvent| close_team_picker_unless_inside(&event));
    listen_on(&window(), "resize", |_: Event| fit_charts());
    draw_charts_as_they_arrive();
    fit_charts();
}

/// Charts a page puts in place later (built in the browser after a link,
/// or a server-rendered page swapped in) are drawn once they are in the
/// document: before, they have no width to be drawn at. A chart a page
/// rebuilt in place with other inputs (a new range) is drawn anew: the
/// page's view keeps the element and its old SVG.
fn draw_charts_as_they_arrive() {
    let callback = Closure::<dyn Fn(web_sys::js_sys::Array)>::new(|records: web_sys::js_sys::Array| {
        for record in records.iter().filter_map(|r| r.dyn_into::<web_sys::MutationRecord>().ok()) {
            if record.attribute_name().as_deref() == Some("data-drawing")
                && let Some(chart) = record.target().and_then(|t| t.dyn_into::<Element>().ok())
            {
                forget_drawing(&chart);
            }
        }
        let waiting = document().query_selector("[data-drawing]:not([data-fitted]):not([data-asked])");
        if waiting.ok().flatten().is_some() {
            fit_charts();
        }
    });
    let Ok(observer) = web_sys::MutationObserver::new(callback.as_ref().unchecked_ref()) else { return };
    callback.forget();
    let options = web_sys::MutationObserverInit::new();
    options.set_child_list(true);
    options.set_subtree(true);
    options.set_attribute_filter(&web_sys::js_sys::Array::of1(&"data-drawing".into()));
    if let Some(body) = document().body() {
        let _ = observer.observe_with_options(&body, &options);
    }
}

/// Listens to `kind` events on the document.
fn listen<E: JsCast + 'static>(kind: &str, handler: impl Fn(E) + 'static) {
    listen_on(&document(), kind, handler);
}

fn listen_on<E: JsCast + 'static>(target: &web_sys::EventTarget, kind: &str, handler: impl Fn(E) + 'static) {
    let closure = Closure::<dyn Fn(Event)>::new(move |event: Event| {
        if let Ok(event) = event.dyn_into::<E>() {
            handler(event);
        }
    });
    let _ = target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
    closure.forget();
}

fn target(event: &Event) -> Option<Element> {
    event.target().and_then(|t| t.dyn_into::<Element>().ok())
}

/// Draws every chart of the page that shows no SVG or one drawn at another
/// width than its card's.
fn fit_charts() {
    let Ok(charts) = document().query_selector_all("[data-drawing]") else { return };
    for i in 0..charts.length() {
        if let Some(chart) = charts.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
            fit(chart);
        }
    }
}

/// Drops the SVG `chart` shows and what was asked for it: its inputs changed.
fn forget_drawing(chart: &Element) {
    let _ = chart.remove_attribute("data-fitted");
    let _ = chart.remove_attribute("data-asked");
    if let Ok(Some(holder)) = chart.query_selector(".chart-svg") {
        holder.set_inner_html("");
    }
}

fn fit(chart: Element) {
    // A figure is drawn at its card's width; a donut has one size (0: the server's).
    let resizable = chart.class_list().contains("chart");
    let wanted = if resizable { fit_width(chart.client_width()) } else { 0 };
    let holder = chart.query_selector(".chart-svg").ok().flatten().unwrap_or_else(|| chart.clone());
    if drawn_width(&holder).is_some_and(|w| !resizable || w.abs_diff(wanted) <= 4) {
        let _ = chart.set_attribute("data-fitted", "true");
        return;
    }
    let asked = wanted.to_string();
    if chart.get_attribute("data-asked").as_deref() == Some(asked.as_str()) {
        return;
    }
    let _ = chart.set_attribute("data-asked", &asked);
    let _ = chart.remove_attribute("data-fitted");
    let Some(drawing) = chart.get_attribute("data-drawing") else { return };
    // wasm_bindgen_futures, not leptos: this may run before the app has hydrated.
    wasm_bindgen_futures::spawn_local(async move {
        // A failed drawing leaves the chart as it was (its numbers are in the
        // hidden table), to be asked for again at the next occasion.
        let Some(svg) = drawn_by_server(&drawing, wanted).await else {
            let _ = chart.remove_attribute("data-asked");
            return;
        };
        // A later resize may have asked for another width meanwhile.
        if chart.get_attribute("data-asked").as_deref() == Some(asked.as_str()) {
            holder.set_inner_html(&svg);
            let _ = chart.set_attribute("data-fitted", "true");
        }
    });
}

/// The width the SVG in `holder` (a chart's `.chart-svg`, a donut) was drawn at.
fn drawn_width(holder: &Element) -> Option<u32> {
    let svg = holder.query_selector(":scope > svg").ok().flatten()?;
    svg.get_attribute("width")?.parse().ok()
}

/// The SVG of `drawing` (JSON) at `width`, from `POST /charts/svg`.
async fn drawn_by_server(drawing: &str, width: u32) -> Option<String> {
    use wasm_bindgen_futures::JsFuture;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&drawing.into());
    let headers = web_sys::Headers::new().ok()?;
    headers.set("content-type", "application/json").ok()?;
    init.set_headers(&headers);
    let url = format!("/charts/svg?width={width}");
    let response = JsFuture::from(window().fetch_with_str_and_init(&url, &init)).await.ok()?;
    let response = response.dyn_into::<web_sys::Response>().ok()?;
    if !response.ok() {
        return None;
    }
    JsFuture::from(response.text().ok()?).await.ok()?.as_string()
}

/// The tooltip of the bar under the pointer ("label: value unit").
fn chart_pointer(event: &MouseEvent) {
    let Some(element) = target(event) else { return };
    let Some(figure) = element.closest("figure.chart").ok().flatten() else {
        hide_all_tooltips();
        return;
    };
    if element.has_attribute("data-value") {
        show_tooltip(&figure, &element, event.offset_x(), event.offset_y());
    } else {
        hide_tooltip(&figure);
    }
}

/// The tooltip of a bar's link reached with the keyboard.
fn chart_focus(event: &FocusEvent) {
    let Some(link) = target(event) else { return };
    let Some(figure) = link.closest("figure.chart").ok().flatten() else { return };
    let Some(hit) = link.query_selector(".hit").ok().flatten() else { return };
    // The SVG is drawn at the card's width, so its coordinates are the card's pixels.
    let number = |name: &str| hit.get_attribute(name).and_then(|v| v.parse::<i32>().ok()).unwrap_or(0);
    let (x, y) = (number("x") + number("width") / 2, number("y") + number("height") / 3);
    show_tooltip(&figure, &hit, x, y);
}

/// Shows `hit`'s tooltip at (x, y) in the chart's pixels; it opens to the
/// left in the right half, so it never leaves the chart.
fn show_tooltip(figure: &Element, hit: &Element, x: i32, y: i32) {
    use crate::components::kpi::group_thousands;
    let attr = |name: &str| hit.get_attribute(name).unwrap_or_default();
    let value = attr("data-value").parse::<i64>().map(group_thousands).unwrap_or_default();
    let previous = attr("data-previous")
        .parse::<i64>()
        .map(|p| format!(" (previous period: {})", group_thousands(p)))
        .unwrap_or_default();
    let text = format!("{}: {} {}{previous}", attr("data-label"), value, attr("data-unit"));
    let width = figure
        .query_selector(".chart-svg")
        .ok()
        .flatten()
        .and_then(|holder| drawn_width(&holder))
        .map_or_else(|| figure.client_width(), |w| w as i32);
    let flip = x > width / 2;
    let Some(tooltip) = figure.query_selector(".chart-tooltip").ok().flatten().or_else(|| {
        let tooltip = document().create_element("div").ok()?;
        let _ = tooltip.set_attribute("role", "tooltip");
        figure.append_child(&tooltip).ok()?;
        Some(tooltip)
    }) else {
        return;
    };
    tooltip.set_class_name(if flip { "chart-tooltip flip" } else { "chart-tooltip" });
    let _ = tooltip.set_attribute("style", &format!("left:{}px;top:{}px", if flip { x - 12 } else { x + 12 }, y + 12));
    tooltip.set_text_content(Some(&text));
}

fn hide_tooltip(figure: &Element) {
    if let Ok(Some(tooltip)) = figure.query_selector(".chart-tooltip") {
        tooltip.remove();
    }
}

fn hide_all_tooltips() {
    if let Ok(tooltips) = document().query_selector_all(".chart-tooltip") {
        for i in 0..tooltips.length() {
            if let Some(tooltip) = tooltips.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                tooltip.remove();
            }
        }
    }
}

/// Escape closes the team picker or a confirmation around the focus; the
/// arrow keys move between the picker's teams.
fn disclosure_key(event: &KeyboardEvent) {
    let Some(element) = target(event) else { return };
    let Some(details) = element
        .closest("details.team-picker, details.confirm")
        .ok()
        .flatten()
        .and_then(|d| d.dyn_into::<HtmlDetailsElement>().ok())
    else {
        return;
    };
    let picker = details.class_list().contains("team-picker");
    match event.key().as_str() {
        "Escape" if details.open() => {
            event.prevent_default();
            close_details(&details, true);
        }
        key @ ("ArrowDown" | "ArrowUp") if picker => {
            event.prevent_default();
            move_focus(&details, key == "ArrowDown");
        }
        _ => {}
    }
}

/// A click outside the open team picker closes it, and so does a click on
/// one of its teams.
fn close_team_picker_unless_inside(event: &MouseEvent) {
    let Ok(Some(open)) = document().query_selector("details.team-picker[open]") else { return };
    let Ok(picker) = open.dyn_into::<HtmlDetailsElement>() else { return };
    let clicked = target(event);
    let inside = clicked.as_ref().is_some_and(|t| picker.contains(Some(t)));
    let on_a_team = clicked.is_some_and(|t| t.closest("a").ok().flatten().is_some());
    if !inside || on_a_team {
        close_details(&picker, false);
    }
}

/// Closes a `<details>`; with `return_focus` the focus goes back to its
/// summary, the button that opened it.
fn close_details(details: &HtmlDetailsElement, return_focus: bool) {
    details.set_open(false);
    if return_focus
        && let Ok(Some(summary)) = details.query_selector("summary")
        && let Ok(summary) = summary.dyn_into::<HtmlElement>()
    {
        let _ = summary.focus();
    }
}

/// Moves the keyboard focus to the next (or previous) team of the picker,
/// opening it, wrapping around at either end.
fn move_focus(picker: &HtmlDetailsElement, forward: bool) {
    picker.set_open(true);
    let Ok(Some(list)) = picker.query_selector("ul") else { return };
    let end = |list: &Element| if forward { list.first_element_child() } else { list.last_element_child() };
    // The item of the focused team, if the focus is on one.
    let item = document().active_element().filter(|a| list.contains(Some(a))).and_then(|a| a.parent_element());
    let next = match item {
        Some(item) => {
            let sibling = if forward { item.next_element_sibling() } else { item.previous_element_sibling() };
            sibling.or_else(|| end(&list))
        }
        None => end(&list),
    };
    if let Some(link) = next.and_then(|li| li.first_element_child()).and_then(|a| a.dyn_into::<HtmlElement>().ok()) {
        let _ = link.focus();
    }
}
