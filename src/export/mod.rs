//! Exports (DESIGN §4): what can be exported and how a view names its
//! export. With feature `ssr`: the table writers (CSV, XLSX), the row sources
//! of each report, the export history and the job that writes a file.
//!
//! May import `report` (an export renders its screen's own result),
//! `domain`, `access`, `db`. A file and its view never disagree.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::range::RangeQuery;

#[cfg(feature = "ssr")]
pub mod history;
#[cfg(feature = "ssr")]
pub mod job;
#[cfg(feature = "ssr")]
pub mod sources;
#[cfg(feature = "ssr")]
pub mod writer_thread;
#[cfg(feature = "ssr")]
pub mod writers;

/// Days an export (file and record) is kept.
pub const RETENTION_DAYS: i64 = 14;

/// What an export contains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ExportReport {
    /// One row per charge.
    TokenUsage,
    /// One row per user and product: first and last day used, days used.
    SeatUsage,
    /// The Summary tab: one row per time bucket.
    Summary,
    /// The By product table.
    ByProduct,
    /// A product's details: its users.
    Product,
    /// The By user table, every page.
    ByUser,
    /// A user's details: the charge log.
    User,
}

impl ExportReport {
    pub const ALL: [ExportReport; 7] = [
        ExportReport::TokenUsage,
        ExportReport::SeatUsage,
        ExportReport::Summary,
        ExportReport::ByProduct,
        ExportReport::Product,
        ExportReport::ByUser,
        ExportReport::User,
    ];

    /// Reports a schedule can send: those that need no product or user.
    pub const SCHEDULABLE: [ExportReport; 5] = [
        ExportReport::TokenUsage,
        ExportReport::SeatUsage,
        ExportReport::Summary,
        ExportReport::ByProduct,
        ExportReport::ByUser,
    ];

    /// The name in URLs and file names.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<ExportReport> {
        s.parse().ok()
    }

    pub fn title(self) -> &'static str {
        match self {
            ExportReport::TokenUsage => "Token usage",
            ExportReport::SeatUsage => "Seat usage",
            ExportReport::Summary => "Summary",
            ExportReport::ByProduct => "By product",
            ExportReport::Product => "Product details",
            ExportReport::ByUser => "By user",
            ExportReport::User => "User details",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 2] = [ExportFormat::Csv, ExportFormat::Xlsx];

    /// The file extension, which is also the name in URLs and the database.
    pub fn extension(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<ExportFormat> {
        s.parse().ok()
    }

    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Csv => "CSV",
            ExportFormat::Xlsx => "Excel",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// The URL query of an export: the view's range and filters, as the view's
/// own URL has them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<String>,
    /// Product slug (product details, or a filter on the charge exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Team user id (user details, or a filter on the charge exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<i64>,
    /// The user table's search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// The table's sort column and direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// `about=1`: the CSV starts with a `#` line saying what it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

impl ExportParams {
    /// Whether the CSV carries its `#` "about" line (`about=1` or `about=true`).
    pub fn about(&self) -> bool {
        matches!(self.about.as_deref(), Some("1" | "true" | "yes"))
    }

    pub fn range_query(&self) -> RangeQuery {
        RangeQuery {
            range: self.range.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            granularity: self.granularity.clone(),
        }
    }

    /// The value of `key` in this query, as the view's URL has it.
    pub fn get(&self, key: &str) -> Option<String> {
        self.pairs().into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The URL query pairs (empty values left out).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let text = [
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("granularity", &self.granularity),
            ("product", &self.product),
        ];
        let mut pairs: Vec<(&'static str, String)> =
            text.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))).collect();
        if let Some(user) = self.user {
            pairs.push(("user", user.to_string()));
        }
        for (k, v) in [("q", &self.q), ("sort", &self.sort), ("dir", &self.dir), ("about", &self.about)] {
            if let Some(v) = v {
                pairs.push((k, v.clone()));
            }
        }
        pairs.retain(|(_, v)| !v.is_empty());
        pairs
    }
}

/// Where the one-click export of `report` for team `slug` downloads from
/// (without the query).
pub fn export_path(slug: &str, report: ExportReport, format: ExportFormat) -> String {
    format!("/teams/{slug}/export/{}.{}", report.as_str(), format.extension())
}

/// `tokenboard_design-team_token-usage_2026-08-28_2026-11-27.xlsx`; a detail
/// view names its product (`product-revit`) or user (`user-42`, the id: a
/// name would leak while personal data is off).
pub fn file_name(
    slug: &str,
    report: ExportReport,
    params: &ExportParams,
    from: NaiveDate,
    to: NaiveDate,
    format: ExportFormat,
) -> String {
    let subject = match (report, &params.product, params.user) {
        // Slugs are URL-safe already; the filter keeps the header's file name plain whatever was asked.
        (ExportReport::Product, Some(product), _) => {
            let safe: String =
                product.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).take(60).collect();
            format!("-{safe}")
        }
        (ExportReport::User, _, Some(user)) => format!("-{user}"),
        _ => String::new(),
    };
    let report = match report {
        ExportReport::TokenUsage => "token-usage",
        ExportReport::SeatUsage => "seat-usage",
        ExportReport::Summary => "summary",
        ExportReport::ByProduct => "usage-by-product",
        ExportReport::Product => "product",
        ExportReport::ByUser => "usage-by-user",
        ExportReport::User => "user",
    };
    format!("tokenboard_{slug}_{report}{subject}_{from}_{to}.{}", format.extension())
}

/// Where an export stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ExportStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<ExportStatus> {
        s.parse().ok()
    }
}

/// One line of the export history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRecord {
    pub id: i64,
    pub team_id: i64,
    /// Who asked for it (None: a schedule, or an admin since removed).
    pub admin_email: Option<String>,
    pub schedule_id: Option<i64>,
    pub report: ExportReport,
    pub format: ExportFormat,
    pub query: String,
    pub range_from: NaiveDate,
    pub range_to: NaiveDate,
    pub file_name: String,
    pub status: ExportStatus,
    pub rows_expected: Option<i64>,
    pub rows_written: i64,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    /// Times a worker started it; each attempt writes its own temp file.
    pub attempts: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl ExportRecord {
    /// 0–100 for the progress bar.
    pub fn percent(&self) -> u8 {
        match (self.status, self.rows_expected) {
            (ExportStatus::Done, _) => 100,
            (_, Some(expected)) if expected > 0 => ((self.rows_written * 100 / expected).clamp(0, 99)) as u8,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_say_team_report_and_dates() {
        let from = NaiveDate::from_ymd_opt(2026, 8, 28).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(
            file_name("design-team", ExportReport::TokenUsage, &ExportParams::default(), from, to, ExportFormat::Xlsx),
            "tokenboard_design-team_token-usage_2026-08-28_2026-11-27.xlsx"
        );
        let revit = ExportParams { product: Some("revit".into()), ..ExportParams::default() };
        assert_eq!(
            file_name("t", ExportReport::Product, &revit, from, to, ExportFormat::Csv),
            "tokenboard_t_product-revit_2026-08-28_2026-11-27.csv"
        );
        let user = ExportParams { user: Some(42), ..ExportParams::default() };
        assert_eq!(
            file_name("t", ExportReport::User, &user, from, to, ExportFormat::Xlsx),
            "tokenboard_t_user-42_2026-08-28_2026-11-27.xlsx"
        );
        assert_eq!(export_path("t", ExportReport::SeatUsage, ExportFormat::Csv), "/teams/t/export/seat-usage.csv");
    }

    #[test]
    fn reports_and_formats_round_trip_their_names() {
        for report in ExportReport::ALL {
            assert_eq!(ExportReport::parse(report.as_str()), Some(report));
        }
        for format in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(format.extension()), Some(format));
        }
    }
}
