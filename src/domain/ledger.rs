//! The consumption order (DESIGN §1), as a pure simulation: given the packs
//! and the tokens charged per day, which pack paid for what, what expired
//! unused, what was overdrawn, and today's balance.
//!
//! Rules: a pack is usable from `purchased_on` up to the day before
//! `expires_on`; on `expires_on` its unused tokens are lost. A day's charges
//! draw from the usable pack with the earliest expiry, among equal expiries the
//! smallest pack first, and may span packs. What no pack covers is overdraft;
//! the next pack purchased repays it before anything else.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::model::{Balance, TokenEvent, TokenEventKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pack {
    pub id: i64,
    pub tokens: i64,
    pub purchased_on: NaiveDate,
    pub expires_on: NaiveDate,
}

impl Pack {
    pub fn is_active_on(&self, date: NaiveDate) -> bool {
        self.purchased_on <= date && date < self.expires_on
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackState {
    pub pack: Pack,
    /// Tokens drawn from this pack so far.
    pub used: i64,
    /// Tokens lost when the pack expired (0 while it is active).
    pub expired_unused: i64,
}

impl PackState {
    pub fn remaining(&self) -> i64 {
        self.pack.tokens - self.used - self.expired_unused
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    /// Packs in consumption order.
    pub packs: Vec<PackState>,
    /// Charges not covered by any pack and not yet repaid.
    pub overdraft: i64,
    /// Purchases, expirations and overdrafts in date order.
    pub events: Vec<TokenEvent>,
    /// The day the simulation ran through (included).
    pub through: NaiveDate,
    /// What paid for each day's charges, in date order: exports name the pack
    /// of every charge from it.
    pub day_draws: Vec<DayDraw>,
}

/// The packs (in consumption order) that paid for one day's charges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayDraw {
    pub date: NaiveDate,
    pub parts: Vec<DrawPart>,
}

/// Tokens of a day's charges paid by one pack, or (`pack_id: None`) overdrawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrawPart {
    pub pack_id: Option<i64>,
    pub tokens: i64,
}

impl Ledger {
    /// Runs the consumption order over `daily_usage` (any order, one or more
    /// entries per date) up to and including `through`.
    pub fn simulate(packs: &[Pack], daily_usage: &[(NaiveDate, i64)], through: NaiveDate) -> Ledger {
        let mut states: Vec<PackState> = packs
            .iter()
            .filter(|p| p.purchased_on <= through)
            .map(|&pack| PackState { pack, used: 0, expired_unused: 0 })
            .collect();
        states.sort_by_key(|s| (s.pack.expires_on, s.pack.tokens, s.pack.id));

        let mut usage: Vec<(NaiveDate, i64)> =
            daily_usage.iter().copied().filter(|(d, t)| *d <= through && *t > 0).collect();
        usage.sort_unstable();

        let mut dates: Vec<NaiveDate> = states
            .iter()
            .flat_map(|s| [s.pack.purchased_on, s.pack.expires_on])
            .chain(usage.iter().map(|(d, _)| *d))
            .filter(|d| *d <= through)
            .collect();
        dates.sort_unstable();
        dates.dedup();

        let mut ledger = Ledger { packs: states, overdraft: 0, events: Vec::new(), through, day_draws: Vec::new() };
        let mut next_usage = 0;
        for date in dates {
            ledger.expire_packs(date);
            let purchased = ledger.record_purchases(date);
            if purchased && ledger.overdraft > 0 {
                ledger.overdraft = ledger.draw(date, ledger.overdraft);
            }
            let mut day_total = 0;
            while next_usage < usage.len() && usage[next_usage].0 == date {
                day_total += usage[next_usage].1;
                next_usage += 1;
            }
            if day_total > 0 {
                let mut parts = Vec::new();
                let uncovered = ledger.draw_parts(date, day_total, &mut parts);
                if uncovered > 0 {
                    parts.push(DrawPart { pack_id: None, tokens: uncovered });
                    ledger.overdraft += uncovered;
                    ledger.events.push(TokenEvent {
                        date,
                        kind: TokenEventKind::Overdraft,
                        amount: -uncovered,
                        pack_id: None,
                    });
                }
                ledger.day_draws.push(DayDraw { date, parts });
            }
        }
        ledger
    }

    fn expire_packs(&mut self, date: NaiveDate) {
        for state in self.packs.iter_mut().filter(|s| s.pack.expires_on == date) {
            let lost = state.remaining();
            state.expired_unused = lost;
            if lost > 0 {
                self.events.push(TokenEvent {
                    date,
                    kind: TokenEventKind::Expiration,
                    amount: -lost,
                    pack_id: Some(state.pack.id),
                });
            }
        }
    }

    fn record_purchases(&mut self, date: NaiveDate) -> bool {
        let mut any = false;
        for state in self.packs.iter().filter(|s| s.pack.purchased_on == date) {
            any = true;
            self.events.push(TokenEvent {
                date,
                kind: TokenEventKind::Purchase,
                amount: state.pack.tokens,
                pack_id: Some(state.pack.id),
            });
        }
        any
    }

    /// Draws `amount` tokens on `date` in consumption order; returns what no
    /// active pack could cover.
    fn draw(&mut self, date: NaiveDate, amount: i64) -> i64 {
        self.draw_parts(date, amount, &mut Vec::new())
    }

    /// [`Ledger::draw`], noting in `parts` which pack paid how much.
    fn draw_parts(&mut self, date: NaiveDate, mut amount: i64, parts: &mut Vec<DrawPart>) -> i64 {
        for state in self.packs.iter_mut().filter(|s| s.pack.is_active_on(date)) {
            if amount == 0 {
                break;
            }
            let take = state.remaining().min(amount);
            if take > 0 {
                parts.push(DrawPart { pack_id: Some(state.pack.id), tokens: take });
            }
            state.used += take;
            amount -= take;
        }
        amount
    }

    /// Balance of the packs active on `through` (expired packs excluded).
    pub fn balance(&self) -> Balance {
        let active = self.packs.iter().filter(|s| s.pack.is_active_on(self.through));
        let (total, used) = active.fold((0, 0), |(t, u), s| (t + s.pack.tokens, u + s.used));
        let used = used + self.overdraft;
        Balance { available: total - used, used, total, overdraft: self.overdraft }
    }

    pub fn pack(&self, id: i64) -> Option<&PackState> {
        self.packs.iter().find(|s| s.pack.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn pack(id: i64, tokens: i64, purchased: &str, expires: &str) -> Pack {
        Pack { id, tokens, purchased_on: d(purchased), expires_on: d(expires) }
    }

    #[test]
    fn equal_expiries_draw_from_the_smallest_pack_first() {
        let packs = [pack(1, 500, "2026-01-01", "2027-01-01"), pack(2, 100, "2026-01-01", "2027-01-01")];
        let ledger = Ledger::simulate(&packs, &[(d("2026-02-01"), 60)], d("2026-03-01"));
        assert_eq!(ledger.pack(2).unwrap().used, 60);
        assert_eq!(ledger.pack(1).unwrap().used, 0);
    }

    #[test]
    fn earliest_expiry_goes_first_even_when_bigger() {
        let packs = [pack(1, 100, "2026-01-01", "2027-06-01"), pack(2, 900, "2025-06-01", "2026-06-01")];
        let ledger = Ledger::simulate(&packs, &[(d("2026-02-01"), 50)], d("2026-03-01"));
        assert_eq!((ledger.pack(2).unwrap().used, ledger.pack(1).unwrap().used), (50, 0));
    }

    #[test]
    fn a_charge_spans_two_packs() {
        let packs = [pack(1, 100, "2026-01-01", "2027-01-01"), pack(2, 30, "2026-01-01", "2027-01-01")];
        let ledger = Ledger::simulate(&packs, &[(d("2026-02-01"), 45)], d("2026-03-01"));
        assert_eq!(ledger.pack(2).unwrap().used, 30);
        assert_eq!(ledger.pack(1).unwrap().used, 15);
        assert_eq!(ledger.balance(), Balance { available: 85, used: 45, total: 130, overdraft: 0 });
    }

    #[test]
    fn expired_packs_lose_their_rest_and_leave_the_balance() {
        let packs = [pack(1, 100, "2025-01-10", "2026-01-10"), pack(2, 200, "2026-01-01", "2027-01-01")];
        let usage = [(d("2025-06-01"), 40), (d("2026-01-05"), 10), (d("2026-02-01"), 25)];
        let ledger = Ledger::simulate(&packs, &usage, d("2026-03-01"));
        let old = ledger.pack(1).unwrap();
        assert_eq!((old.used, old.expired_unused), (50, 50));
        assert!(ledger.events.iter().any(|e| e.kind == TokenEventKind::Expiration && e.amount == -50));
        assert_eq!(ledger.balance(), Balance { available: 175, used: 25, total: 200, overdraft: 0 });
    }

    #[test]
    fn the_expiry_day_itself_no_longer_draws_from_the_pack() {
        let packs = [pack(1, 100, "2025-01-10", "2026-01-10"), pack(2, 200, "2026-01-01", "2027-01-01")];
        let ledger = Ledger::simulate(&packs, &[(d("2026-01-10"), 10)], d("2026-01-10"));
        assert_eq!((ledger.pack(1).unwrap().used, ledger.pack(2).unwrap().used), (0, 10));
    }

    #[test]
    fn overdraft_is_negative_balance_and_repaid_by_the_next_purchase() {
        let packs = [pack(1, 50, "2026-01-01", "2027-01-01"), pack(2, 100, "2026-03-01", "2027-03-01")];
        let usage = [(d("2026-02-01"), 80)];
        let before = Ledger::simulate(&packs, &usage, d("2026-02-15"));
        assert_eq!(before.balance(), Balance { available: -30, used: 80, total: 50, overdraft: 30 });
        assert!(before.events.iter().any(|e| e.kind == TokenEventKind::Overdraft && e.amount == -30));
        let after = Ledger::simulate(&packs, &usage, d("2026-03-02"));
        assert_eq!(after.balance(), Balance { available: 70, used: 80, total: 150, overdraft: 0 });
        assert_eq!(after.pack(2).unwrap().used, 30);
    }

    #[test]
    fn day_draws_name_the_packs_that_paid_in_consumption_order() {
        let packs = [pack(1, 50, "2026-01-01", "2027-01-01"), pack(2, 100, "2026-01-01", "2027-02-01")];
        let usage = [(d("2026-02-01"), 40), (d("2026-02-02"), 30), (d("2026-02-03"), 100)];
        let ledger = Ledger::simulate(&packs, &usage, d("2026-03-01"));
        let parts = |i: usize| -> Vec<(Option<i64>, i64)> {
            ledger.day_draws[i].parts.iter().map(|p| (p.pack_id, p.tokens)).collect()
        };
        assert_eq!(parts(0), [(Some(1), 40)]);
        assert_eq!(parts(1), [(Some(1), 10), (Some(2), 20)]);
        assert_eq!(parts(2), [(Some(2), 80), (None, 20)]);
    }

    #[test]
    fn usage_before_any_pack_and_future_usage() {
        let packs = [pack(1, 50, "2026-01-01", "2027-01-01")];
        let usage = [(d("2026-05-01"), 10), (d("2026-12-01"), 999)];
        let ledger = Ledger::simulate(&packs, &usage, d("2026-06-01"));
        assert_eq!(ledger.balance().used, 10, "usage after `through` is not counted");
    }
}
