//! The charges an import wrote into days that held none of its team's
//! charges, handed to the usage index after the import's commit: the next
//! refresh lays them over the index as a recent layer instead of reading
//! the days back and copying the index (for the reference team's new day,
//! 14,752 charges, the read and the copy were most of the first view after
//! an import).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use chrono::NaiveDate;

use super::patch::Window;
use super::{UsageIndex, day_number, reachable_part};
use crate::db::{Db, DbIdentity};

/// The most charges an import hands over (about 32 bytes each); a bigger
/// import leaves its days to the patch's read, or to a rebuild.
pub const MAX_HANDED_CHARGES: usize = 200_000;

/// Every charge of days `first..=last` of a team at data version
/// `version`, where the version before held none in those days.
pub struct ImportedDays {
    pub version: i64,
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// (user id, product id, day, tokens); a key may come more than once
    /// (summed, as one import's rows of one key are).
    pub charges: Vec<(i64, i64, NaiveDate, i64)>,
}

/// The last handover per (database, team), until a patch takes it.
static HANDED: LazyLock<Mutex<Handovers>> = LazyLock::new(Default::default);

/// By (database, team): the database (to drop a closed one's) and the days.
type Handovers = HashMap<(usize, i64), (DbIdentity, ImportedDays)>;

/// Keeps `days` for the team's next index patch, in place of any earlier
/// handover of the team. Called by the import after its commit.
pub fn hand_over(db: &Db, team_id: i64, mut days: ImportedDays) {
    days.charges.shrink_to_fit();
    if let Ok(mut handed) = HANDED.lock() {
        // Handovers of databases no longer open would only hold memory.
        handed.retain(|_, (db, _)| db.is_open());
        handed.insert((db.identity().key(), team_id), (db.identity(), days));
    }
}

/// The team's handover, when it brings an index at `from` to exactly
/// `version` (taken either way: a later patch cannot use it).
pub(super) fn take(db: &Db, team_id: i64, from: i64, version: i64) -> Option<ImportedDays> {
    let (_, days) = HANDED.lock().ok()?.remove(&(db.identity().key(), team_id))?;
    (days.version == version && from + 1 == version).then_some(days)
}

/// Drops the team's handover when an index at `version` or later makes it
/// useless (a build, or a patch that read the days back): it would
/// otherwise be held until the team's next import.
pub(super) fn discard_up_to(db: &Db, team_id: i64, version: i64) {
    if let Ok(mut handed) = HANDED.lock() {
        let key = (db.identity().key(), team_id);
        if handed.get(&key).is_some_and(|(_, days)| days.version <= version) {
            handed.remove(&key);
        }
    }
}

impl ImportedDays {
    /// These days as the window that brings `index` to their version;
    /// `None` when they name a user or product the index does not know
    /// (then the patch reads).
    pub(super) fn window_for(self, index: &UsageIndex) -> Option<Window> {
        // Only days a range can reach are indexed (as at a build).
        let days = reachable_part(self.first, self.last);
        let mut charges = self.charges;
        charges.retain(|c| days.is_some_and(|(first, last)| first <= c.2 && c.2 <= last));
        // By user id, as the index's users are ordered: one walk finds their ordinals.
        charges.sort_unstable_by_key(|c| c.0);
        let (mut ordinal, mut known_products) = (0, Vec::new());
        let mut window_charges = Vec::with_capacity(charges.len());
        for (user_id, product_id, day, tokens) in charges {
            while index.users.get(ordinal).is_some_and(|u| u.id < user_id) {
                ordinal += 1;
            }
            if index.users.get(ordinal)?.id != user_id {
                return None;
            }
            if !known_products.contains(&product_id) {
                index.products.contains_key(&product_id).then_some(())?;
                known_products.push(product_id);
            }
            window_charges.push((ordinal as u32, product_id, day_number(day), tokens));
        }
        let (first, last) = Window::day_numbers(days);
        Some(Window {
            first,
            last,
            charges: window_charges,
            new_users: Vec::new(),
            products: index.products.clone(),
            touched: None,
        })
    }
}
