//! The confirmation in front of every destructive action: the button opens
//! a small dialog that asks the question and holds the real form. It is a
//! `<details>`, so it works without JavaScript too; Escape closes it
//! (`crate::behaviours`).

use leptos::prelude::*;

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
    let name = question.clone();
    view! {
        <details class=format!("confirm {class}")>
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
