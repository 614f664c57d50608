//! Wire types: what server functions return and the browser renders.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::range::{Granularity, RangePreset};

/// What replaces a team user's name and e-mail when the team's personal data
/// is off (DESIGN §3.7); the e-mail column then shows the hashed user id.
pub const PERSONAL_DATA_MASK: &str = "*****";

/// The shortest password an admin may choose (checked on the server; the
/// forms say so in the browser too).
pub const MIN_PASSWORD_LEN: usize = 8;

/// An admin's role on one team. `Primary` may do everything `Secondary` may.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    Secondary,
    Primary,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Role> {
        s.parse().ok()
    }

    /// True when this role grants what `required` asks for.
    pub fn satisfies(self, required: Role) -> bool {
        self >= required
    }
}

/// A team as the team picker shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRef {
    pub slug: String,
    pub name: String,
    pub role: Role,
}

/// Today's balance of active packs (DESIGN §1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Unused tokens of active packs minus any outstanding overdraft.
    pub available: i64,
    /// Tokens consumed from active packs plus outstanding overdraft.
    pub used: i64,
    /// Tokens of active packs; always `available + used`.
    pub total: i64,
    /// Charges not covered by any pack and not yet repaid by a later purchase.
    pub overdraft: i64,
}

/// Its `&'static str` ("purchase", "movein") keys the event's table row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "lowercase")]
pub enum TokenEventKind {
    Purchase,
    Expiration,
    Overdraft,
    MoveIn,
    MoveOut,
    Adjustment,
}

impl TokenEventKind {
    pub fn label(self) -> &'static str {
        match self {
            TokenEventKind::Purchase => "Purchase",
            TokenEventKind::Expiration => "Expired unused",
            TokenEventKind::Overdraft => "Overdraft",
            TokenEventKind::MoveIn => "Moved in",
            TokenEventKind::MoveOut => "Moved out",
            TokenEventKind::Adjustment => "Adjustment",
        }
    }
}

/// One line of the token-event ledger. `amount` is signed: purchases add,
/// expirations and overdrafts take away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEvent {
    pub date: NaiveDate,
    pub kind: TokenEventKind,
    pub amount: i64,
    pub pack_id: Option<i64>,
}

/// One bucket of a gap-filled time series.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub tokens: i64,
    /// The bucket is cut by the range (e.g. a week that starts before `from`).
    pub partial: bool,
}

/// One product's tokens per bucket, aligned with a time series (Summary's
/// stacked chart); an empty `key` is the sum of the remaining products.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProductSeries {
    pub key: String,
    pub label: String,
    pub tokens: Vec<i64>,
}

impl ProductSeries {
    pub fn total(&self) -> i64 {
        self.tokens.iter().sum()
    }
}

/// The range a view was computed for, with its label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeView {
    pub preset: RangePreset,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    /// Granularities the user may switch to (≤ 400 buckets).
    pub allowed_granularities: Vec<Granularity>,
    pub label: String,
}

impl From<&crate::domain::range::ResolvedRange> for RangeView {
    fn from(range: &crate::domain::range::ResolvedRange) -> Self {
        RangeView {
            preset: range.preset,
            from: range.from,
            to: range.to,
            granularity: range.granularity,
            allowed_granularities: range.allowed_granularities(),
            label: range.label(),
        }
    }
}

impl RangeView {
    /// The URL parameters that select this range again.
    pub fn url_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("range", self.preset.as_str().to_owned())];
        if self.preset == RangePreset::Custom {
            pairs.push(("from", self.from.to_string()));
            pairs.push(("to", self.to.to_string()));
        }
        pairs
    }

    /// The URL query that selects this range again ("?range=3m", or custom
    /// dates); the values are URL-safe as they are.
    pub fn query(&self) -> String {
        let pairs: Vec<String> = self.url_pairs().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("?{}", pairs.join("&"))
    }

    /// "30" for a 30-day range: used in "vs previous 30 days".
    pub fn days_label(&self) -> String {
        ((self.to - self.from).num_days() + 1).to_string()
    }
}

/// Everything the Summary tab shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryView {
    pub team: TeamRef,
    pub time_zone: String,
    pub today: NaiveDate,
    pub balance: Balance,
    /// Run-out, days left and the colour of the balance.
    pub outlook: crate::domain::outlook::Outlook,
    pub tokens_today: i64,
    /// Token events of the last 90 days, newest first.
    pub events: Vec<TokenEvent>,
    pub range: RangeView,
    pub range_tokens: i64,
    pub range_products: i64,
    pub range_users: i64,
    /// Tokens used in the period of equal length just before the range.
    pub previous_range_tokens: i64,
    /// Products and users of that previous period.
    pub previous_range_products: i64,
    pub previous_range_users: i64,
    /// The data reaches back over the whole previous period: only then is
    /// a change against it shown.
    pub previous_covered: bool,
    /// The previous period's buckets, for the chart's comparison overlay
    /// (only when asked for).
    pub previous_series: Vec<SeriesPoint>,
    /// The range's buckets split by product (only when asked for).
    pub stacked: Vec<ProductSeries>,
    pub series: Vec<SeriesPoint>,
}

impl SummaryView {
    /// Change of `now` vs `before` in percent, `None` when `before` is zero.
    pub fn change_percent(now: i64, before: i64) -> Option<f64> {
        (before > 0).then(|| (now - before) as f64 * 100.0 / before as f64)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::range::{RangePreset, RangeQuery};

    use super::RangeView;

    #[test]
    fn a_range_view_links_back_to_itself() {
        let today = "2026-11-27".parse().unwrap();
        let preset = RangeView::from(&RangeQuery::preset(RangePreset::Months3).resolve(today).unwrap());
        assert_eq!(preset.query(), "?range=3m");
        let custom = RangeView::from(
            &RangeQuery::custom("2026-05-04".parse().unwrap(), "2026-06-14".parse().unwrap()).resolve(today).unwrap(),
        );
        assert_eq!(custom.query(), "?range=custom&from=2026-05-04&to=2026-06-14");
    }
}
