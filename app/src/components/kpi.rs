//! A KPI tile. `data-kpi` and `data-value` (the raw number) are for machines.

use leptos::prelude::*;

/// 12345 -> "12,345".
pub fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 { format!("-{out}") } else { out }
}

/// A KPI tile: its label, the number, an optional note and an (i) that says
/// what the number counts (on hover and keyboard focus, without JavaScript).
#[component]
pub fn Kpi(
    name: &'static str,
    label: &'static str,
    value: i64,
    #[prop(optional, into)] note: Option<String>,
    /// What the number counts, shown by the ⓘ.
    #[prop(optional)]
    help: Option<&'static str>,
    /// "healthy", "low" or "critical": the balance colours.
    #[prop(optional)]
    tone: Option<&'static str>,
    /// Shown instead of the number (e.g. a date); `raw` is then its `data-value`.
    #[prop(optional, into)]
    text: Option<String>,
    #[prop(optional, into)] raw: Option<String>,
) -> impl IntoView {
    view! {
        <div class="kpi" data-kpi=name data-value=raw.unwrap_or_else(|| value.to_string()) data-tone=tone>
            <div class="kpi-label">{label}{help.map(|help| view! { <Help text=help/> })}</div>
            <div class="kpi-value">{text.unwrap_or_else(|| group_thousands(value))}</div>
            {note.map(|n| view! { <div class="kpi-note">{n}</div> })}
        </div>
    }
    // Erased: pages hold many tiles, and nested tile types overflow the compiler's depth limit.
    .into_any()
}

/// An (i) that explains the text next to it on hover and on focus.
#[component]
pub fn Help(text: &'static str) -> impl IntoView {
    view! {
        <span class="help">
            <button type="button" class="help-button" aria-label=format!("About this: {text}")>"i"</button>
            <span class="help-text" aria-hidden="true">{text}</span>
        </span>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::group_thousands(0), "0");
        assert_eq!(super::group_thousands(1234567), "1,234,567");
        assert_eq!(super::group_thousands(-1200), "-1,200");
    }
}
