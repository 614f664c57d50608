//! An import's keys as it writes them — a file's rows summed per natural
//! key — and what is summed from them on the way: the rollups of days that
//! held none of the team's charges, so that those days get their rollups
//! without the charges (or staged keys) being read back and sorted. The
//! tallies are those days' rollups only when no key came twice (each key is
//! then one charge: the writer counts them); otherwise the rollups are
//! aggregated in SQL.

use chrono::NaiveDate;
use foldhash::HashMap;

/// A chunk's keys summed per key, in key order: (day, product, user,
/// feature) and (version, tokens).
pub(super) type StagedKey<'a> = ((NaiveDate, i64, i64, &'a str), (&'a str, i64));

/// A day's text as sqlx writes a date, made once a day: keys come ordered by day.
#[derive(Default)]
pub(super) struct DayText(Option<NaiveDate>, String);

impl DayText {
    pub(super) fn of(&mut self, day: NaiveDate) -> &str {
        if self.0 != Some(day) {
            *self = DayText(Some(day), day.format("%F").to_string());
        }
        &self.1
    }
}

/// The version rollup: (day, product) → (version, tokens, charges).
#[derive(Default)]
pub(super) struct VersionTally(HashMap<(NaiveDate, i64), Vec<VersionSum>>);

/// A version's tokens and charges.
type VersionSum = (String, i64, i64);

impl VersionTally {
    pub(super) fn add(&mut self, keys: &[StagedKey<'_>]) {
        for &((day, product_id, _, _), (version, tokens)) in keys {
            let versions = self.0.entry((day, product_id)).or_default();
            match versions.iter_mut().find(|v| v.0 == version) {
                Some(v) => (v.1, v.2) = (v.1 + tokens, v.2 + 1),
                None => versions.push((version.to_owned(), tokens, 1)),
            }
        }
    }

    /// (day, product, version, tokens, charges).
    pub(super) fn rows(&self) -> Vec<(NaiveDate, i64, &str, i64, i64)> {
        let rows = self.0.iter().flat_map(|(&(day, product_id), versions)| {
            versions
                .iter()
                .map(move |(version, tokens, charges)| (day, product_id, version.as_str(), *tokens, *charges))
        });
        rows.collect()
    }
}

/// The product rollup: (day, product) → tokens, charges and the people who
/// used it that day. People are counted without a set: a chunk's keys come
/// sorted, so a day's product meets its people in ascending id, and a file in
/// day and person order continues that order into the next chunk. A person
/// is counted when their id passes the last one counted; an id below it
/// (a file in another order) ends the tally.
#[derive(Default)]
pub(super) struct ProductTally(HashMap<(NaiveDate, i64), ProductSum>);

#[derive(Clone, Copy)]
struct ProductSum {
    tokens: i64,
    charges: i64,
    user_days: i64,
    last_user: i64,
}

/// A row of `daily_product_usage`: day, product, tokens, charges, user days.
pub(super) type ProductRollupRow = (NaiveDate, i64, i64, i64, i64);

impl ProductTally {
    /// Adds keys given in key order; answers `false` when a day's product
    /// met a person out of order, after which the tally no longer holds.
    #[must_use]
    pub(super) fn add(&mut self, keys: &[StagedKey<'_>]) -> bool {
        for &((day, product_id, user_id, _), (_, tokens)) in keys {
            let sum = self.0.entry((day, product_id)).or_insert(ProductSum {
                tokens: 0,
                charges: 0,
                user_days: 0,
                last_user: i64::MIN,
            });
            if user_id < sum.last_user {
                return false;
            }
            if user_id > sum.last_user {
                (sum.user_days, sum.last_user) = (sum.user_days + 1, user_id);
            }
            (sum.tokens, sum.charges) = (sum.tokens + tokens, sum.charges + 1);
        }
        true
    }

    pub(super) fn rows(&self) -> Vec<ProductRollupRow> {
        self.0.iter().map(|(&(day, product_id), s)| (day, product_id, s.tokens, s.charges, s.user_days)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn a_person_with_several_features_is_one_user_day_across_chunks() {
        let mut tally = ProductTally::default();
        // Person 7's two features straddle the chunks; person 9 follows.
        assert!(tally.add(&[((day(1), 1, 5, ""), ("", 10)), ((day(1), 1, 7, "a"), ("", 1))]));
        assert!(tally.add(&[
            ((day(1), 1, 7, "b"), ("", 2)),
            ((day(1), 1, 9, ""), ("", 4)),
            ((day(2), 1, 5, ""), ("", 3))
        ]));
        let mut rows = tally.rows();
        rows.sort_unstable();
        assert_eq!(rows, vec![(day(1), 1, 17, 4, 3), (day(2), 1, 3, 1, 1)]);
    }

    #[test]
    fn a_person_out_of_order_ends_the_tally() {
        let mut tally = ProductTally::default();
        assert!(tally.add(&[((day(1), 1, 9, ""), ("", 1))]));
        // Person 5 after person 9 on the same day's product: counting on
        // would need every person seen, so the tally gives up.
        assert!(!tally.add(&[((day(1), 1, 5, ""), ("", 1))]));
        // Another day's product keeps its own order.
        let mut other = ProductTally::default();
        assert!(other.add(&[((day(1), 1, 9, ""), ("", 1))]));
        assert!(other.add(&[((day(1), 2, 5, ""), ("", 1))]));
    }
}
