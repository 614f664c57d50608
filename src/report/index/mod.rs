//! An in-memory usage index per team: for every user and product, the sorted
//! days of use with prefix sums of tokens; for every user, the sorted days of
//! any use. Any range then answers per-user and per-product questions with
//! binary searches — exact distinct users, tokens, days used, last use —
//! instead of a scan of the charges.
//!
//! The index is built from the charges once and reused until the team's
//! `data_version` (bumped by every import, in its transaction) changes, so
//! several app servers each keep a correct copy.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use futures_util::TryStreamExt;

use crate::db::{Db, on_db};
use crate::domain::values::MIN_DATE;
use crate::error::{Error, Result};
use crate::report::{DimensionValue, Metric, MetricValue};

mod answer;
mod cache;
mod changes;
mod imported;
mod patch;

pub use answer::try_answer;
#[cfg(feature = "test-support")]
pub use cache::{cached_version, settled};
pub use cache::{refresh_in_background, resident_bytes, warm};
pub use imported::{ImportedDays, MAX_HANDED_CHARGES, hand_over};

#[derive(Clone, Debug)]
struct IndexedUser {
    id: i64,
    first_name: String,
    last_name: String,
    email: String,
    /// What "sort by name" compares.
    sort_name: String,
}

impl IndexedUser {
    fn heap_bytes(&self) -> usize {
        self.first_name.capacity() + self.last_name.capacity() + self.email.capacity() + self.sort_name.capacity()
    }
}

/// Days are counted from 1970-01-01.
fn day_number(date: NaiveDate) -> i64 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days()
}

fn day_date(day: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date") + chrono::Days::new(day as u64)
}

impl UsageIndex {
    /// The memory its tables hold (for `/metrics`).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.users.capacity() * size_of::<IndexedUser>()
            + self.users.iter().map(|u| u.heap_bytes()).sum::<usize>()
            + self.base.heap_bytes()
            + self.recent.as_ref().map_or(0, |r| r.layer.heap_bytes())
            + self.products.iter().map(|(_, (a, b))| size_of::<i64>() + a.capacity() + b.capacity()).sum::<usize>()
    }
}

impl Layer {
    fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        (self.user_groups.capacity() + self.group_entries.capacity() + self.user_day_start.capacity())
            * size_of::<usize>()
            + self.group_product.capacity() * size_of::<i64>()
            + (self.entry_day.capacity() + self.user_days.capacity()) * size_of::<u16>()
            + self.entry_cumulative.capacity() * size_of::<u64>()
    }
}

pub struct UsageIndex {
    version: i64,
    /// Built from every charge, patched or layered from an older index, or
    /// compacted from a layered one.
    origin: Origin,
    /// Ordered by id; shared with the index it was patched from when no
    /// user was added (a patch then copies no names).
    users: Arc<Vec<IndexedUser>>,
    /// Every user's days of use but those of `recent`; shared with the
    /// index it was layered on.
    base: Arc<Layer>,
    /// Days an import wrote where `base` holds none, kept apart until
    /// [`UsageIndex::compacted`] merges them in: answering from both layers
    /// right after an import spares the first view a copy of `base`.
    recent: Option<Recent>,
    /// slug and name by product id.
    products: HashMap<i64, (String, String)>,
}

/// Days of use by user and product, with prefix sums of tokens; user
/// ordinals are those of the index's `users`.
pub(super) struct Layer {
    /// Groups (user × product) of user `u`: `user_groups[u]..user_groups[u + 1]`.
    user_groups: Vec<usize>,
    group_product: Vec<i64>,
    /// Entries of group `g`: `group_entries[g]..group_entries[g + 1]`, sorted by day.
    group_entries: Vec<usize>,
    /// Days as offsets from `epoch`: two bytes an entry keeps the index small
    /// enough for the cache, which is what its speed depends on.
    entry_day: Vec<u16>,
    /// Tokens of the group's entries up to and including this one (64 bits:
    /// a few charges at the import's maximum pass `u32::MAX`).
    entry_cumulative: Vec<u64>,
    /// Distinct days of user `u`: `user_days[user_day_start[u]..user_day_start[u + 1]]`.
    user_day_start: Vec<usize>,
    user_days: Vec<u16>,
    /// The first day of use (day number since 1970); a recent layer shares its base's.
    epoch: i64,
}

/// A recent layer and the days it covers (day numbers, inclusive), where
/// the base layer holds no entry (`UsageIndex::layered` checks).
pub(super) struct Recent {
    first: i64,
    last: i64,
    layer: Layer,
}

/// How an index came to be (for `/metrics` and the tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Build,
    /// Patched with the changed days, read back.
    Patch,
    /// The charges an import handed over ([`hand_over`]), layered on the
    /// older index.
    ImportedDays,
    /// A layered index merged into one layer.
    Compacted,
}

/// What one user (or one product) did in a range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Stats {
    tokens: i64,
    users: i64,
    products: i64,
    /// Distinct (user, day) pairs.
    user_days: i64,
    last_day: Option<i64>,
}

impl Stats {
    fn value(&self, metric: Metric) -> MetricValue {
        match metric {
            Metric::Tokens => MetricValue::Count(self.tokens),
            Metric::Users => MetricValue::Count(self.users),
            Metric::Products => MetricValue::Count(self.products),
            Metric::UserDays => MetricValue::Count(self.user_days),
            Metric::LastUsed => MetricValue::Date(self.last_day.map(day_date)),
            Metric::Charges => unreachable!("charges are not indexed"),
        }
    }

    fn add(&mut self, other: Stats) {
        self.tokens += other.tokens;
        self.users += other.users;
        self.products += other.products;
        self.user_days += other.user_days;
        self.last_day = self.last_day.max(other.last_day);
    }
}

/// The partition point of `pred` (true for a prefix) within `days[..end]`,
/// searched from the end by galloping: report ranges mostly end today and
/// start near a group's beginning, so this touches a group's two ends only,
/// where a plain binary search would miss the cache at every step.
fn partition_from_end(days: &[u16], end: usize, pred: impl Fn(u16) -> bool) -> usize {
    let (mut right, mut step) = (end, 1);
    while right > 0 {
        let probe = right.saturating_sub(step);
        if pred(days[probe]) {
            return probe + 1 + days[probe + 1..right].partition_point(|d| pred(*d));
        }
        right = probe;
        step *= 2;
    }
    0
}

/// Entries of `days` (sorted) within `from..=to`, as an index range.
fn within(days: &[u16], from: u16, to: u16) -> (usize, usize) {
    let hi = partition_from_end(days, days.len(), |d| d <= to);
    let lo = if days.first().is_some_and(|d| *d >= from) { 0 } else { partition_from_end(days, hi, |d| d < from) };
    (lo, hi.max(lo))
}

/// The days an index holds: those a range can reach (from 2000-01-01, as
/// many as the two-byte offsets hold). A row outside, written by hand, must
/// not break the team's reports.
fn reachable_days() -> (NaiveDate, NaiveDate) {
    (MIN_DATE, MIN_DATE + chrono::Days::new(u16::MAX.into()))
}

/// The part of days `first..=last` an index holds ([`reachable_days`]), if any.
fn reachable_part(first: NaiveDate, last: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let (min, max) = reachable_days();
    Some((first.max(min), last.min(max))).filter(|(f, l)| f <= l)
}

/// Whose charges to read.
#[derive(Clone, Copy, Debug)]
enum Users {
    All,
    /// Those listed in `usage_change_users` for data versions after this one.
    ListedSince(i64),
}

impl Users {
    /// The query of these users' charges between `$2` and `$3`, and the
    /// version to bind as `$4` when it has one.
    fn charges_query(self) -> (&'static str, Option<i64>) {
        match self {
            Users::All => (CHARGES_BETWEEN, None),
            Users::ListedSince(version) => (CHARGES_OF_LISTED_USERS_BETWEEN, Some(version)),
        }
    }
}

const CHARGES_BETWEEN: &str = "SELECT user_id, product_id, usage_date, tokens FROM usage_charges
     WHERE team_id = $1 AND usage_date >= $2 AND usage_date <= $3";

/// Through `usage_charges_by_user`: a few users' days, not the whole team's.
const CHARGES_OF_LISTED_USERS_BETWEEN: &str = "SELECT user_id, product_id, usage_date, tokens FROM usage_charges
     WHERE team_id = $1 AND usage_date >= $2 AND usage_date <= $3
       AND user_id IN (SELECT user_id FROM usage_change_users WHERE team_id = $1 AND data_version > $4)";

/// A read-only rusqlite connection of its own on the SQLite file: the
/// biggest reads of the app (every charge of a team) come straight from
/// SQLite on a blocking thread, ten times faster than sqlx's stream.
fn open_read_only(file: &std::path::Path) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    Ok(rusqlite::Connection::open_with_flags(file, flags)?)
}

/// Hands (user id, product, day number, tokens) of every charge of `team_id`
/// between `from` and `to` to `keep`; with `Users::ListedSince(v)`, only the
/// charges of users the changes after data version `v` list.
fn charges_between(
    connection: &rusqlite::Connection,
    team_id: i64,
    from: NaiveDate,
    to: NaiveDate,
    users: Users,
    mut keep: impl FnMut(i64, i64, i64, i64),
) -> Result<()> {
    let (sql, since) = users.charges_query();
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = match since {
        None => statement.query(rusqlite::params![team_id, from.to_string(), to.to_string()])?,
        Some(since) => statement.query(rusqlite::params![team_id, from.to_string(), to.to_string(), since])?,
    };
    // A date repeats across the rows: parse each one once.
    let mut days: HashMap<[u8; 10], i64> = HashMap::new();
    while let Some(row) = rows.next()? {
        let text = row.get_ref(2)?.as_str().map_err(|e| Error::Corrupt(format!("usage date: {e}")))?;
        let key: [u8; 10] = text.as_bytes().try_into().map_err(|_| Error::Corrupt(format!("usage date {text:?}")))?;
        let day = match days.get(&key) {
            Some(&day) => day,
            None => {
                let date =
                    text.parse::<NaiveDate>().map_err(|e| Error::Corrupt(format!("usage date {text:?}: {e}")))?;
                *days.entry(key).or_insert(day_number(date))
            }
        };
        keep(row.get(0)?, row.get(1)?, day, row.get(3)?);
    }
    Ok(())
}

impl From<changes::UserRow> for IndexedUser {
    fn from((id, first_name, last_name, email): changes::UserRow) -> IndexedUser {
        IndexedUser {
            sort_name: format!("{last_name} {first_name} {email}").to_lowercase(),
            id,
            first_name,
            last_name,
            email,
        }
    }
}

impl UsageIndex {
    async fn load(db: &Db, team_id: i64, version: i64) -> Result<UsageIndex> {
        let users: Vec<changes::UserRow> = on_db!(db, |pool| sqlx::query_as(
            "SELECT id, first_name, last_name, email FROM team_users WHERE team_id = $1 ORDER BY id"
        )
        .bind(team_id)
        .fetch_all(pool)
        .await?);
        let products: Vec<(i64, String, String)> =
            on_db!(db, |pool| sqlx::query_as("SELECT id, slug, name FROM products").fetch_all(pool).await?);
        let ordinal: HashMap<i64, u32> = users.iter().enumerate().map(|(i, u)| (u.0, i as u32)).collect();

        // (user ordinal, product, day, tokens), one per charge.
        let (first_day, last_day) = reachable_days();
        let mut entries: Vec<(u32, i64, i64, i64)> = match db.file() {
            Some(file) => {
                let ordinal = ordinal.clone();
                tokio::task::spawn_blocking(move || -> Result<_> {
                    let mut entries = Vec::new();
                    charges_between(
                        &open_read_only(&file)?,
                        team_id,
                        first_day,
                        last_day,
                        Users::All,
                        |user, product, day, tokens| {
                            if let Some(&u) = ordinal.get(&user) {
                                entries.push((u, product, day, tokens));
                            }
                        },
                    )?;
                    Ok(entries)
                })
                .await??
            }
            None => {
                let mut entries = Vec::new();
                on_db!(db, |pool| {
                    let mut rows = sqlx::query_as::<_, (i64, i64, NaiveDate, i64)>(CHARGES_BETWEEN)
                        .bind(team_id)
                        .bind(first_day)
                        .bind(last_day)
                        .fetch(pool);
                    while let Some((user, product, date, tokens)) = rows.try_next().await? {
                        if let Some(&u) = ordinal.get(&user) {
                            entries.push((u, product, day_number(date), tokens));
                        }
                    }
                });
                entries
            }
        };
        entries.sort_unstable();
        // Every day is within u16::MAX of the first (filtered above).
        let epoch = entries.iter().map(|e| e.2).min().unwrap_or(0);
        Ok(UsageIndex {
            version,
            origin: Origin::Build,
            base: Arc::new(Layer::from_sorted(users.len(), epoch, &entries)),
            recent: None,
            users: Arc::new(users.into_iter().map(IndexedUser::from).collect()),
            products: products.into_iter().map(|(id, slug, name)| (id, (slug, name))).collect(),
        })
    }

    fn epoch(&self) -> i64 {
        self.base.epoch
    }

    /// The day numbers its two-byte offsets reach.
    fn reach(&self) -> std::ops::RangeInclusive<i64> {
        self.epoch()..=self.epoch() + i64::from(u16::MAX)
    }

    /// `from..=to` (day numbers) as offsets from the epoch; `None` when no
    /// day of use can fall inside.
    fn offsets(&self, from: i64, to: i64) -> Option<(u16, u16)> {
        let (epoch, last) = self.reach().into_inner();
        if to < epoch || from > last || from > to {
            return None;
        }
        Some(((from.max(epoch) - epoch) as u16, (to.min(last) - epoch) as u16))
    }

    /// Calls `each` with the product and stats of every product user `u`
    /// used within `from..=to` (offsets), in product order; with `only`,
    /// of that product alone. A product the user used in both layers is
    /// one group of both (their days never overlap).
    #[inline]
    fn for_each_product_used(&self, u: usize, from: u16, to: u16, only: Option<i64>, mut each: impl FnMut(i64, Stats)) {
        let base = &*self.base;
        // No recent layer (every view but those right after an import): the
        // plain walk, kept apart from the merge below on the hot path.
        let Some(recent) = &self.recent else {
            for g in base.groups(u) {
                let product = base.group_product[g];
                if only.is_none_or(|p| p == product) {
                    let s = base.group_stats(g, from, to);
                    if s.users > 0 {
                        each(product, s);
                    }
                }
            }
            return;
        };
        let recent = &recent.layer;
        let (mut g, mut h) = (base.groups(u), recent.groups(u));
        loop {
            let in_base = g.clone().next().map(|g| base.group_product[g]);
            let in_recent = h.clone().next().map(|h| recent.group_product[h]);
            let product = match (in_base, in_recent) {
                (None, None) => break,
                (Some(p), None) | (None, Some(p)) => p,
                (Some(a), Some(b)) => a.min(b),
            };
            let (in_base, in_recent) = (in_base == Some(product), in_recent == Some(product));
            let base_group = if in_base { g.next() } else { None };
            let recent_group = if in_recent { h.next() } else { None };
            if only.is_some_and(|p| p != product) {
                continue;
            }
            let mut s = Stats::default();
            if let Some(group) = base_group {
                s.add(base.group_stats(group, from, to));
            }
            if let Some(group) = recent_group {
                s.add(recent.group_stats(group, from, to));
            }
            if s.users > 0 {
                each(product, Stats { users: 1, products: 1, ..s });
            }
        }
    }

    /// How many distinct days user `u` used anything within `from..=to` (offsets).
    fn days_used(&self, u: usize, from: u16, to: u16) -> i64 {
        let count = |layer: &Layer| {
            let (lo, hi) = within(layer.days_of(u), from, to);
            (hi - lo) as i64
        };
        count(&self.base) + self.recent.as_ref().map_or(0, |r| count(&r.layer))
    }

    fn product_value(&self, id: i64) -> DimensionValue {
        let (slug, name) = self.products.get(&id).cloned().unwrap_or_default();
        DimensionValue::Product { slug, name }
    }

    fn user_value(&self, u: usize) -> DimensionValue {
        let user = &self.users[u];
        DimensionValue::User {
            id: user.id,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email: user.email.clone(),
        }
    }
}

impl Layer {
    /// The layer of `entries` (user ordinal, product, day number, tokens),
    /// sorted, for `users` users; every day lies within `u16::MAX` of `epoch`.
    fn from_sorted(users: usize, epoch: i64, entries: &[(u32, i64, i64, i64)]) -> Layer {
        let mut layer = Layer {
            user_groups: Vec::with_capacity(users + 1),
            group_product: Vec::new(),
            group_entries: vec![0],
            entry_day: Vec::with_capacity(entries.len()),
            entry_cumulative: Vec::with_capacity(entries.len()),
            user_day_start: Vec::with_capacity(users + 1),
            user_days: Vec::new(),
            epoch,
        };
        layer.user_groups.push(0);
        layer.user_day_start.push(0);
        let mut next = 0;
        for user in 0..users as u32 {
            let mut days_of_user = Vec::new();
            while next < entries.len() && entries[next].0 == user {
                let product = entries[next].1;
                while next < entries.len() && entries[next].0 == user && entries[next].1 == product {
                    let (_, _, day, tokens) = entries[next];
                    let day = (day - epoch) as u16;
                    let tokens = u64::try_from(tokens).unwrap_or(0);
                    let group_start = *layer.group_entries.last().expect("not empty");
                    let in_group = layer.entry_day.len() > group_start;
                    // Several charges on one day (different features) are one day of use.
                    if in_group && layer.entry_day.last() == Some(&day) {
                        *layer.entry_cumulative.last_mut().expect("not empty") += tokens;
                    } else {
                        let before = if in_group { *layer.entry_cumulative.last().expect("not empty") } else { 0 };
                        layer.entry_day.push(day);
                        layer.entry_cumulative.push(before + tokens);
                        days_of_user.push(day);
                    }
                    next += 1;
                }
                layer.group_product.push(product);
                layer.group_entries.push(layer.entry_day.len());
            }
            layer.user_groups.push(layer.group_product.len());
            days_of_user.sort_unstable();
            days_of_user.dedup();
            layer.user_days.extend(days_of_user);
            layer.user_day_start.push(layer.user_days.len());
        }
        layer
    }

    /// (user ordinal, product, day number, tokens) of every entry, in order:
    /// what [`Layer::from_sorted`] would build this layer from.
    fn entries(&self) -> Vec<(u32, i64, i64, i64)> {
        let mut entries = Vec::with_capacity(self.entry_day.len());
        for u in 0..self.user_groups.len() - 1 {
            for g in self.groups(u) {
                let mut before = 0;
                for e in self.group_entries[g]..self.group_entries[g + 1] {
                    let day = self.epoch + i64::from(self.entry_day[e]);
                    entries.push((u as u32, self.group_product[g], day, (self.entry_cumulative[e] - before) as i64));
                    before = self.entry_cumulative[e];
                }
            }
        }
        entries
    }

    fn groups(&self, user: usize) -> std::ops::Range<usize> {
        self.user_groups[user]..self.user_groups[user + 1]
    }

    /// The days user `u` used anything, sorted.
    fn days_of(&self, u: usize) -> &[u16] {
        &self.user_days[self.user_day_start[u]..self.user_day_start[u + 1]]
    }

    /// Tokens, days and last day of group `g` within `from..=to` (offsets).
    fn group_stats(&self, g: usize, from: u16, to: u16) -> Stats {
        let (start, end) = (self.group_entries[g], self.group_entries[g + 1]);
        let (lo, hi) = within(&self.entry_day[start..end], from, to);
        if lo == hi {
            return Stats::default();
        }
        let before = if lo > 0 { self.entry_cumulative[start + lo - 1] } else { 0 };
        Stats {
            tokens: (self.entry_cumulative[start + hi - 1] - before) as i64,
            users: 1,
            products: 1,
            user_days: (hi - lo) as i64,
            last_day: Some(self.epoch + self.entry_day[start + hi - 1] as i64),
        }
    }
}

/// Everything an index says, independent of how it is laid out: users,
/// products, (user id, product, day, tokens) per day of use, and the days of
/// use per user.
#[cfg(feature = "test-support")]
#[derive(Debug, PartialEq, Eq)]
struct Contents {
    users: Vec<(i64, String, String, String, String)>,
    products: std::collections::BTreeMap<i64, (String, String)>,
    days: Vec<(i64, i64, i64, u64)>,
    user_days: Vec<(i64, i64)>,
}

#[cfg(feature = "test-support")]
impl UsageIndex {
    fn contents(&self) -> Contents {
        let layers: Vec<&Layer> = std::iter::once(&*self.base).chain(self.recent.as_ref().map(|r| &r.layer)).collect();
        let mut entries: Vec<_> = layers.iter().flat_map(|layer| layer.entries()).collect();
        entries.sort_unstable();
        // Each layer's own days of use, unmerged: a day in both would show twice.
        let mut user_days: Vec<(u32, i64)> = Vec::new();
        for layer in &layers {
            for u in 0..self.users.len() {
                user_days.extend(layer.days_of(u).iter().map(|d| (u as u32, layer.epoch + i64::from(*d))));
            }
        }
        user_days.sort_unstable();
        Contents {
            users: self
                .users
                .iter()
                .map(|u| (u.id, u.first_name.clone(), u.last_name.clone(), u.email.clone(), u.sort_name.clone()))
                .collect(),
            products: self.products.iter().map(|(id, p)| (*id, p.clone())).collect(),
            days: entries
                .iter()
                .map(|&(u, product, day, tokens)| (self.users[u as usize].id, product, day, tokens as u64))
                .collect(),
            user_days: user_days.iter().map(|&(u, day)| (self.users[u as usize].id, day)).collect(),
        }
    }
}

/// The team's index as the reports would use it now (patched when the change
/// log allowed) and whether it says exactly what one built from every
/// charge says, and answers as that one does per user, per product and in
/// totals, over every day, the first and last weeks of use and the recent
/// layer's days; panics with the first difference otherwise.
#[cfg(feature = "test-support")]
pub async fn assert_equals_a_fresh_build(db: &Db, team_id: i64) -> Origin {
    use crate::report::{Dimension, Direction, Filter, OrderBy, ReportQuery};
    let current = cache::index_of(db, team_id).await.expect("the current index");
    let fresh = UsageIndex::load(db, team_id, current.version).await.expect("a fresh index");
    let (current_contents, fresh_contents) = (current.contents(), fresh.contents());
    assert_eq!(current_contents.users, fresh_contents.users, "users");
    assert_eq!(current_contents.products, fresh_contents.products, "products");
    if let Some(i) = (0..current_contents.days.len().max(fresh_contents.days.len()))
        .find(|&i| current_contents.days.get(i) != fresh_contents.days.get(i))
    {
        panic!("day {i}: {:?} (current) vs {:?} (fresh)", current_contents.days.get(i), fresh_contents.days.get(i));
    }
    assert_eq!(current_contents.user_days, fresh_contents.user_days, "days of use");

    let mut ranges = vec![reachable_days()];
    let days = fresh_contents.days.iter().map(|d| d.2);
    if let (Some(first), Some(last)) = (days.clone().min(), days.max()) {
        ranges.push((day_date(first), day_date(first + 6)));
        ranges.push((day_date(last - 6), day_date(last)));
    }
    if let Some(recent) = current.recent.as_ref().filter(|r| r.first <= r.last) {
        ranges.push((day_date(recent.first - 3), day_date(recent.last + 3)));
    }
    let metrics = [Metric::Tokens, Metric::Users, Metric::Products, Metric::UserDays, Metric::LastUsed];
    for (from, to) in ranges {
        let range = crate::domain::range::ResolvedRange {
            preset: crate::domain::range::RangePreset::Custom,
            from,
            to,
            granularity: crate::domain::range::Granularity::Day,
        };
        let totals = ReportQuery::totals(team_id, range, &metrics);
        let by_user = totals.clone().by(Dimension::User);
        let mut queries = vec![
            totals.clone(),
            by_user.clone(),
            by_user.clone().order(OrderBy::Metric(Metric::Tokens), Direction::Desc).page(10, 5),
            totals.clone().by(Dimension::Product),
        ];
        for (slug, _) in fresh_contents.products.values() {
            queries.push(by_user.clone().filter(Filter::Product(slug.clone())));
        }
        for q in &queries {
            let answer = answer::answer(&current, q);
            assert!(answer.is_some(), "the index answers {q:?}");
            assert_eq!(answer, answer::answer(&fresh, q), "{q:?}");
        }
    }
    current.origin
}

#[cfg(test)]
mod tests {
    use super::within;

    #[test]
    fn within_finds_the_same_range_as_a_binary_search() {
        let days: Vec<u16> = vec![3, 5, 5, 8, 13, 21, 34, 55, 89];
        for from in 0..95 {
            for to in from..95 {
                let expected = (days.partition_point(|d| *d < from), days.partition_point(|d| *d <= to));
                assert_eq!(within(&days, from, to), expected, "{from}..={to}");
            }
        }
        assert_eq!(within(&[], 1, 5), (0, 0));
    }
}
