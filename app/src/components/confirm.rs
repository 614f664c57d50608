//! The confirmation in front of every destructive action: the button opens
//! a small dialog that asks the question and holds the real form. It is a
//! `<details>`, so it works without JavaScript too; Escape closes it.

use leptos::prelude::*;

/// Closes a `<details>` (a confirmation, the team picker); with
/// `return_focus` the focus goes back to its summary, the button that
/// opened it.
pub fn close_details(details: &leptos::web_sys::HtmlDetailsElement, return_focus: bool) {
    details.set_open(false);
    if return_focus && let Ok(Some(summary)) = details.query_selector("summary") {
        use leptos::wasm_bindgen::JsCast;
        if let Ok(summary) = summary.dyn_into::<leptos::web_sys::HtmlElement>() {
            let _ = summary.focus();
        }
    }
}

#[component]
pub fn Confirm(
    /// The button that opens the question, e.g. "Revoke".
    label: &'static str,
    /// What will happen, asked as a question.
    #[prop(into)]
    question: String,
    #[prop(optional)] class: &'static str,
    /// The form that does it.
    children: Children,
) -> impl IntoView {
    let details = NodeRef::<leptos::html::Details>::new();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape"
            && let Some(details) = details.get_untracked()
        {
            close_details(&details, true);
        }
    };
    let name = question.clone();
    view! {
        <details class=format!("confirm {class}") node_ref=details on:keydown=on_key>
            <summary data-confirm=label>{label}</summary>
            <div class="confirm-panel" role="dialog" aria-label=name>
                <p>{question}</p>
                {children()}
            </div>
        </details>
    }
    // Erased: rows holding several of these nest too deep for the compiler otherwise.
    .into_any()
}
