//! A report result as a table: dimension columns, then metric columns —
//! the breakdown exports render exactly what their screen shows.

use super::ExportInput;
use crate::error::Result;
use crate::export::writers::{Cell, TableSink};
use crate::report::privacy::ShownUser;
use crate::report::{Dimension, DimensionValue, Metric, MetricValue, ReportResult};

/// Column titles of a report's dimensions.
fn dimension_columns(dimension: Dimension) -> &'static [&'static str] {
    match dimension {
        Dimension::Time => &["Period start", "Period end"],
        Dimension::Product => &["Product"],
        Dimension::ProductVersion => &["Product version"],
        Dimension::User => &["First name", "Last name", "Email"],
        Dimension::Feature => &["Feature"],
    }
}

fn metric_column(metric: Metric) -> &'static str {
    match metric {
        Metric::Tokens => "Tokens used",
        Metric::Charges => "Charges",
        Metric::Users => "Users",
        Metric::UserDays => "Days used",
        Metric::Products => "Products",
        Metric::LastUsed => "Last used",
    }
}

/// A [`ReportResult`] as a table: dimension columns, then metric columns.
pub(super) fn report_table(result: &ReportResult, input: &ExportInput, sink: &mut dyn TableSink) -> Result<u64> {
    let mut columns: Vec<&str> = result.dimensions.iter().flat_map(|d| dimension_columns(*d)).copied().collect();
    columns.extend(result.metrics.iter().map(|m| metric_column(*m)));
    sink.header(&columns)?;
    for row in &result.rows {
        let mut shown: Vec<ShownUser> = Vec::new();
        for key in &row.keys {
            if let DimensionValue::User { id, first_name, last_name, email } = key {
                shown.push(input.privacy.show(*id, first_name.clone(), last_name.clone(), email.clone()));
            }
        }
        let mut users = shown.iter();
        let mut cells: Vec<Cell<'_>> = Vec::with_capacity(columns.len());
        for key in &row.keys {
            match key {
                DimensionValue::Bucket { start, end, .. } => cells.extend([Cell::Date(*start), Cell::Date(*end)]),
                DimensionValue::Product { name, .. } => cells.push(Cell::Text(name)),
                DimensionValue::Version(text) | DimensionValue::Feature(text) => cells.push(Cell::Text(text)),
                DimensionValue::User { .. } => {
                    let user = users.next().expect("one shown user per user key");
                    cells.extend([Cell::Text(&user.first_name), Cell::Text(&user.last_name), Cell::Text(&user.email)]);
                }
            }
        }
        for value in &row.values {
            cells.push(match value {
                MetricValue::Count(n) => Cell::Int(*n),
                MetricValue::Date(Some(date)) => Cell::Date(*date),
                MetricValue::Date(None) => Cell::Empty,
            });
        }
        sink.row(&cells)?;
    }
    Ok(result.rows.len() as u64)
}
