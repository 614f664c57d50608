//! Wire types of the report screens (By product, product details, By user,
//! user detail). Each carries the range it was computed for and the
//! [`ReportResult`]s that its charts and tables render.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::model::{RangeView, SeriesPoint};
use crate::report::ReportResult;
use crate::report::params::{ProductSort, TableOrder, UserTableQuery};

/// Rows per page of the user table.
pub const USERS_PER_PAGE: u32 = 50;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductsView {
    pub range: RangeView,
    pub order: TableOrder<ProductSort>,
    /// Dimension product; metrics tokens, users, user-days, last used.
    pub products: ReportResult,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRef {
    pub slug: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDetailView {
    pub range: RangeView,
    pub product: ProductRef,
    pub over_time: Vec<SeriesPoint>,
    /// The previous period's buckets, for the chart's comparison overlay
    /// (only when asked for).
    pub previous_over_time: Vec<SeriesPoint>,
    /// Dimension version; metrics tokens, charges.
    pub versions: ReportResult,
    /// Dimension user; metrics tokens, user-days; the top users.
    pub top_users: ReportResult,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersView {
    pub range: RangeView,
    pub table: UserTableQuery,
    /// Dimension user; metrics tokens, products, user-days (= days used), last used; one page.
    pub users: ReportResult,
    /// The top users by tokens, for the chart.
    pub top: ReportResult,
}

impl UsersView {
    pub fn pages(&self) -> u32 {
        (self.users.total_rows as u32).div_ceil(USERS_PER_PAGE).max(1)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductWeeks {
    pub product: ProductRef,
    /// Days used in each week of the range (gap-filled).
    pub weeks: Vec<SeriesPoint>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeLine {
    pub date: NaiveDate,
    pub product: String,
    pub version: String,
    pub feature: String,
    pub tokens: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetailView {
    pub range: RangeView,
    pub user: UserRef,
    pub tokens: i64,
    pub products: Vec<ProductWeeks>,
    /// Dimensions product, version; metric charges.
    pub versions: ReportResult,
    /// Newest first.
    pub charges: Vec<ChargeLine>,
}

/// A pack as the Balances screen lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackView {
    pub id: i64,
    /// What the pack holds after moves and adjustments.
    pub tokens: i64,
    /// What the pack was bought (or moved in) with.
    pub bought: i64,
    /// The vendor's order number.
    pub order_ref: String,
    /// Where moved-in tokens came from.
    pub note: String,
    /// Moved in from another team (not bought).
    pub moved_in: bool,
    pub purchased_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub used: i64,
    /// Unused tokens (0 once expired).
    pub remaining: i64,
    /// Tokens lost at expiry.
    pub expired_unused: i64,
    /// Days until expiry from the team's today (negative once expired).
    pub days_left: i64,
    pub active: bool,
}

impl PackView {
    /// "123 days left", "expired" or "not yet active".
    pub fn status(&self) -> String {
        if self.active {
            format!("{} days left", self.days_left)
        } else if self.days_left <= 0 {
            "expired".into()
        } else {
            "not yet active".into()
        }
    }
}

/// One team on the Balances screen (DESIGN §3.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamBalanceView {
    pub team: crate::domain::model::TeamRef,
    pub today: NaiveDate,
    pub balance: crate::domain::model::Balance,
    /// Run-out, days left and the colour of the balance.
    pub outlook: crate::domain::outlook::Outlook,
    pub packs: Vec<PackView>,
    /// Unused tokens of active packs that expire within 90 days.
    pub expiring_90: i64,
    pub tokens_90: i64,
    pub products_90: i64,
    pub users_90: i64,
    /// Token events of the last 90 days, newest first.
    pub events: Vec<crate::domain::model::TokenEvent>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastView {
    pub forecast: crate::domain::forecast::Forecast,
    pub outlook: crate::domain::outlook::Outlook,
}
