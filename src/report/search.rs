//! The user search (DESIGN §3.4), one rule for every place that applies it:
//! the usage index, the SQL compiler and the exports. A user is found when
//! the trimmed, lower-cased text is part of their e-mail or of "first last";
//! `%` and `_` are plain characters, never wildcards.

/// A non-blank user search, normalised once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSearch {
    needle: String,
}

/// The escape character of [`UserSearch::like_pattern`]; the SQL says
/// `LIKE $n ESCAPE '\'`, which SQLite and PostgreSQL read alike.
pub const LIKE_ESCAPE: char = '\\';

impl UserSearch {
    /// `None` for a blank search (which finds everyone).
    pub fn new(text: &str) -> Option<UserSearch> {
        let needle = text.trim().to_lowercase();
        (!needle.is_empty()).then_some(UserSearch { needle })
    }

    pub fn matches(&self, first_name: &str, last_name: &str, email: &str) -> bool {
        email.to_lowercase().contains(&self.needle)
            || format!("{first_name} {last_name}").to_lowercase().contains(&self.needle)
    }

    /// The `LIKE` pattern of this search: `%`, `_` and the escape character
    /// itself match only themselves.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.needle.len() + 2);
        pattern.push('%');
        for c in self.needle.chars() {
            if matches!(c, '%' | '_' | LIKE_ESCAPE) {
                pattern.push(LIKE_ESCAPE);
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_plain_characters() {
        let search = UserSearch::new("  John_Doe ").unwrap();
        assert!(search.matches("", "", "john_doe@example.com"));
        assert!(!search.matches("John", "Xdoe", "johnxdoe@example.com"));
        assert_eq!(search.like_pattern(), "%john\\_doe%");
        assert_eq!(UserSearch::new("50%").unwrap().like_pattern(), "%50\\%%");
        assert_eq!(UserSearch::new("a\\b").unwrap().like_pattern(), "%a\\\\b%");
    }

    #[test]
    fn a_blank_search_is_none() {
        assert_eq!(UserSearch::new("   "), None);
        assert!(UserSearch::new("Ann Lee").unwrap().matches("ann", "lee", "x@y"));
    }
}
