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

#[component]
pub fn Kpi(
    name: &'static str,
    label: &'static str,
    value: i64,
    #[prop(optional)] alert: bool,
    #[prop(optional, into)] note: Option<String>,
) -> impl IntoView {
    view! {
        <div class="kpi" class:alert=alert data-kpi=name data-value=value.to_string()>
            <div class="kpi-label">{label}</div>
            <div class="kpi-value">{group_thousands(value)}</div>
            {note.map(|n| view! { <div class="kpi-note">{n}</div> })}
        </div>
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
