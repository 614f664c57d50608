//! An import's keys as it writes them — a file's rows summed per natural
//! key — and what is summed from them on the way: the product and version
//! rollups of days that held none of the team's charges, so that those days
//! get their rollups without the charges (or staged keys) being read back
//! and sorted. A day whose tally cannot be trusted is named instead and
//! aggregated in SQL: its people came out of order, or (on SQLite, whose
//! new days report it) a key came into it twice, summed into one charge.
//! PostgreSQL's staging sums a repeated key silently (but for a first
//! import's fold, which names the day): the writer counts the keys, and
//! such a repeat leaves every rollup to SQL.

use std::collections::BTreeSet;

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

/// The product and version rollups of the keys written, per day and
/// product. People are counted without a set: a chunk's keys come sorted,
/// so a day's product meets its people in ascending id, and a file in day
/// and person order continues that order into the next chunk. A person is
/// counted when their id passes the last one counted; an id below it (a
/// file in another order) makes the day unsure.
#[derive(Default)]
pub(super) struct RollupTally {
    sums: HashMap<(NaiveDate, i64), ProductSum>,
    unsure: BTreeSet<NaiveDate>,
}

struct ProductSum {
    tokens: i64,
    charges: i64,
    user_days: i64,
    last_user: i64,
    /// Each version's tokens and charges.
    versions: Vec<(String, i64, i64)>,
}

/// A row of `daily_product_usage`: day, product, tokens, charges, user days.
pub(super) type ProductRollupRow = (NaiveDate, i64, i64, i64, i64);
/// A row of `daily_version_usage`: day, product, version, tokens, charges.
pub(super) type VersionRollupRow<'a> = (NaiveDate, i64, &'a str, i64, i64);

impl RollupTally {
    /// Adds keys given in key order, each counted as one charge.
    pub(super) fn add(&mut self, keys: &[StagedKey<'_>]) {
        for &((day, product_id, user_id, _), (version, tokens)) in keys {
            let sum = self.sums.entry((day, product_id)).or_insert(ProductSum {
                tokens: 0,
                charges: 0,
                user_days: 0,
                last_user: i64::MIN,
                versions: Vec::new(),
            });
            if user_id < sum.last_user {
                self.unsure.insert(day);
            } else if user_id > sum.last_user {
                (sum.user_days, sum.last_user) = (sum.user_days + 1, user_id);
            }
            (sum.tokens, sum.charges) = (sum.tokens + tokens, sum.charges + 1);
            match sum.versions.iter_mut().find(|v| v.0 == version) {
                Some(v) => (v.1, v.2) = (v.1 + tokens, v.2 + 1),
                None => sum.versions.push((version.to_owned(), tokens, 1)),
            }
        }
    }

    /// A key came into `day` again and was summed into its charge: the
    /// day's charges (and perhaps versions) are not what was added up.
    pub(super) fn mark_unsure(&mut self, day: NaiveDate) {
        self.unsure.insert(day);
    }

    /// The days to aggregate in SQL instead, in order.
    pub(super) fn unsure_days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.unsure.iter().copied()
    }

    fn sure(&self) -> impl Iterator<Item = (&(NaiveDate, i64), &ProductSum)> {
        self.sums.iter().filter(|((day, _), _)| !self.unsure.contains(day))
    }

    pub(super) fn product_rows(&self) -> Vec<ProductRollupRow> {
        self.sure().map(|(&(day, product_id), s)| (day, product_id, s.tokens, s.charges, s.user_days)).collect()
    }

    pub(super) fn version_rows(&self) -> Vec<VersionRollupRow<'_>> {
        let rows = self.sure().flat_map(|(&(day, product_id), s)| {
            s.versions
                .iter()
                .map(move |(version, tokens, charges)| (day, product_id, version.as_str(), *tokens, *charges))
        });
        rows.collect()
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
        let mut tally = RollupTally::default();
        // Person 7's two features straddle the chunks; person 9 follows.
        tally.add(&[((day(1), 1, 5, ""), ("", 10)), ((day(1), 1, 7, "a"), ("", 1))]);
        tally.add(&[((day(1), 1, 7, "b"), ("v2", 2)), ((day(1), 1, 9, ""), ("", 4)), ((day(2), 1, 5, ""), ("", 3))]);
        let mut products = tally.product_rows();
        products.sort_unstable();
        assert_eq!(products, vec![(day(1), 1, 17, 4, 3), (day(2), 1, 3, 1, 1)]);
        let mut versions = tally.version_rows();
        versions.sort_unstable();
        assert_eq!(versions, vec![(day(1), 1, "", 15, 3), (day(1), 1, "v2", 2, 1), (day(2), 1, "", 3, 1)]);
        assert_eq!(tally.unsure_days().count(), 0);
    }

    #[test]
    fn a_day_whose_people_come_out_of_order_or_whose_key_came_twice_is_left_to_sql() {
        let mut tally = RollupTally::default();
        tally.add(&[((day(1), 1, 9, ""), ("", 1)), ((day(2), 1, 9, ""), ("", 1)), ((day(3), 1, 1, ""), ("", 1))]);
        // Person 5 after person 9 on day 1's product: counting on would need every person seen.
        tally.add(&[((day(1), 1, 5, ""), ("", 1)), ((day(2), 2, 5, ""), ("", 1))]);
        tally.mark_unsure(day(3));
        assert_eq!(tally.unsure_days().collect::<Vec<_>>(), [day(1), day(3)]);
        // Another day's product keeps its own order.
        let mut products = tally.product_rows();
        products.sort_unstable();
        assert_eq!(products, vec![(day(2), 1, 1, 1, 1), (day(2), 2, 1, 1, 1)]);
        assert!(tally.version_rows().iter().all(|row| row.0 == day(2)));
    }
}
