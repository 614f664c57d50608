//! The one escaping rule for text that reaches HTML outside Leptos' own
//! escaped views: the chart SVG (set as inner HTML) and the `<title>`, which
//! `leptos_meta` 0.8.7 writes raw during SSR. Names come from imported files
//! and are shared across teams (the product catalogue), so they are data,
//! never markup (DESIGN §8).

use std::borrow::Cow;

/// Text made safe for an element body or a double-quoted attribute.
pub fn escape(text: &str) -> Cow<'_, str> {
    html_escape::encode_double_quoted_attribute(text)
}

/// The `<title>` text as it should leave the server: escaped during SSR, and
/// untouched in the browser, where `document.title` takes plain text.
pub fn title_text(text: String) -> String {
    if cfg!(feature = "ssr") { escape(&text).into_owned() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        let hostile = r#"</title><meta http-equiv="refresh" content="0;url=https://evil.example"> & 'x'"#;
        let escaped = escape(hostile);
        assert!(!escaped.contains('<') && !escaped.contains('>') && !escaped.contains('"'), "{escaped}");
        assert!(escaped.contains("&lt;/title&gt;") && escaped.contains("&amp;"), "{escaped}");
    }
}
