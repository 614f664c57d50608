//! Forecast (DESIGN §3.6): the burn rate of recent usage projected forward
//! through the consumption order — when the tokens run out, which tokens
//! expire unused, and what to buy to cover the next months.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::ledger::{Ledger, LedgerEntry, Pack};
use crate::domain::model::TokenEventKind;

/// Months ahead for which a purchase recommendation is made.
pub const COVER_MONTHS: [u32; 3] = [3, 6, 12];
/// Purchases are recommended in whole hundreds of tokens.
const PURCHASE_UNIT: i64 = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub today: NaiveDate,
    /// Today's balance, from the same simulation.
    pub balance: crate::domain::model::Balance,
    /// Average tokens per day over the last 30 and 90 days (today included).
    pub burn_30: f64,
    pub burn_90: f64,
    /// The burn rate projected (the 30-day rate: the most recent behaviour).
    pub projected_burn: f64,
    /// The first day the active packs no longer cover the projected use.
    pub run_out: Option<NaiveDate>,
    /// Tokens that expire unused in the next 12 months if use goes on as projected.
    pub expiring_unused: i64,
    /// (date, tokens) of each projected expiration.
    pub expirations: Vec<(NaiveDate, i64)>,
    /// (months, tokens): the purchase that covers the projected use for that many months.
    pub purchase_needed: Vec<(u32, i64)>,
}

/// Splits `rate` per day into whole tokens whose running sum stays within one
/// token of `rate × days`.
fn projected_usage(today: NaiveDate, until: NaiveDate, rate: f64) -> Vec<(NaiveDate, i64)> {
    let mut out = Vec::new();
    let (mut day, mut i) = (today.succ_opt().expect("far from the maximum"), 0u32);
    while day <= until {
        let tokens = ((i + 1) as f64 * rate).round() as i64 - (i as f64 * rate).round() as i64;
        out.push((day, tokens));
        day = day.succ_opt().expect("far from the maximum");
        i += 1;
    }
    out
}

fn round_up(tokens: i64) -> i64 {
    (tokens + PURCHASE_UNIT - 1) / PURCHASE_UNIT * PURCHASE_UNIT
}

/// Tokens per day over the `days` days through `today` (today included).
fn burn(history: &[(NaiveDate, i64)], today: NaiveDate, days: u64) -> f64 {
    let from = today - Days::new(days - 1);
    history.iter().filter(|(d, _)| *d >= from && *d <= today).map(|(_, t)| t).sum::<i64>() as f64 / days as f64
}

/// `history` through `today`, then `rate` tokens a day for 12 months.
fn projected_history(history: &[(NaiveDate, i64)], today: NaiveDate, rate: f64) -> Vec<(NaiveDate, i64)> {
    let mut usage: Vec<(NaiveDate, i64)> = history.iter().copied().filter(|(d, _)| *d <= today).collect();
    usage.extend(projected_usage(today, today + Months::new(12), rate));
    usage
}

/// The first day the active packs no longer cover the projected use: today
/// when nothing is left, else the first projected overdraft of the year.
fn first_run_out(available: i64, year: &Ledger, today: NaiveDate, rate: f64) -> Option<NaiveDate> {
    if available <= 0 && rate > 0.0 {
        return Some(today);
    }
    year.events.iter().find(|e| e.kind == TokenEventKind::Overdraft && e.date > today).map(|e| e.date)
}

/// Only the projected run-out of [`forecast`] (Summary and Balances show it
/// on every load): one simulation instead of five. `available` is today's.
pub fn run_out(
    packs: &[Pack],
    entries: &[LedgerEntry],
    history: &[(NaiveDate, i64)],
    today: NaiveDate,
    available: i64,
) -> Option<NaiveDate> {
    let rate = burn(history, today, 30);
    let year = Ledger::simulate(packs, entries, &projected_history(history, today, rate), today + Months::new(12));
    first_run_out(available, &year, today, rate)
}

/// Projects `history` (tokens per day through `today`) forward, over the
/// packs and the moves and adjustments of `entries`.
pub fn forecast(packs: &[Pack], entries: &[LedgerEntry], history: &[(NaiveDate, i64)], today: NaiveDate) -> Forecast {
    let burn_30 = burn(history, today, 30);
    let burn_90 = burn(history, today, 90);
    let projected_burn = burn_30;

    let horizon = today + Months::new(12);
    let usage = projected_history(history, today, projected_burn);
    let year = Ledger::simulate(packs, entries, &usage, horizon);
    let future = |kind| year.events.iter().filter(move |e| e.kind == kind && e.date > today);
    let now = Ledger::simulate(packs, entries, &usage, today);
    let balance = now.balance();
    let run_out = first_run_out(balance.available, &year, today, projected_burn);
    let expirations: Vec<(NaiveDate, i64)> = future(TokenEventKind::Expiration).map(|e| (e.date, -e.amount)).collect();
    let purchase_needed = COVER_MONTHS
        .iter()
        .map(|&months| {
            let until = today + Months::new(months);
            (months, round_up(Ledger::simulate(packs, entries, &usage, until).overdraft))
        })
        .collect();
    Forecast {
        today,
        balance,
        burn_30,
        burn_90,
        projected_burn,
        run_out,
        expiring_unused: expirations.iter().map(|(_, t)| t).sum(),
        expirations,
        purchase_needed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn runs_out_when_the_packs_are_used_up_and_recommends_the_gap() {
        let today = d("2026-06-30");
        // 10 tokens a day for the last 90 days; 1,000 tokens left in a pack valid until 2027.
        let history: Vec<_> = (0..90).map(|i| (today - Days::new(i), 10)).collect();
        let packs = [Pack::bought(1, 1900, d("2026-01-01"), d("2027-01-01"))];
        let f = forecast(&packs, &[], &history, today);
        assert_eq!((f.burn_30, f.burn_90), (10.0, 10.0));
        // 900 used: 1,000 left lasts 100 more days.
        assert_eq!(f.run_out, Some(today + Days::new(101)));
        // 3 months: 92 days × 10 = 920 < 1,000, nothing to buy; 6 months: 184 days, 840 short → 900.
        assert_eq!(f.purchase_needed[0], (3, 0));
        assert_eq!(f.purchase_needed[1], (6, 900));
        assert_eq!(f.expiring_unused, 0);
    }

    #[test]
    fn tokens_that_outlast_their_pack_are_forecast_to_expire() {
        let today = d("2026-06-30");
        let history: Vec<_> = (0..30).map(|i| (today - Days::new(i), 2)).collect();
        let packs = [Pack::bought(1, 500, d("2025-08-01"), d("2026-08-01"))];
        let f = forecast(&packs, &[], &history, today);
        // 440 left today; July (31 days × 2 = 62) is still drawn from it; 378 expire on Aug 1.
        assert_eq!(f.expirations, vec![(d("2026-08-01"), 378)]);
        assert_eq!(f.expiring_unused, 378);
        assert_eq!(f.run_out, Some(d("2026-08-01")));
    }
}
