//! The consumption order (DESIGN §1), as a pure simulation: given the packs
//! and the tokens charged per day, which pack paid for what, what expired
//! unused, what was overdrawn, and today's balance.
//!
//! Rules: a pack is usable from `purchased_on` up to the day before
//! `expires_on`; on `expires_on` its unused tokens are lost. A day's charges
//! draw from the usable pack with the earliest expiry, among equal expiries the
//! smallest pack first, and may span packs. What no pack covers is overdraft;
//! the next pack purchased repays it before anything else, and the charges
//! that overdrew are then paid by that pack. Moves out of a pack and manual
//! adjustments apply on their day, before that day's charges: a move or a
//! credit changes one pack, a debit draws in the consumption order.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::model::{Balance, TokenEvent, TokenEventKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pack {
    pub id: i64,
    pub tokens: i64,
    pub purchased_on: NaiveDate,
    pub expires_on: NaiveDate,
    /// Bought, or moved in from another team (with its source pack's expiry).
    #[serde(default)]
    pub origin: PackOrigin,
}

/// How a pack's tokens came to the team.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PackOrigin {
    #[default]
    Purchase,
    MoveIn,
}

/// A manual ledger entry on a day (DESIGN §1 token events).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub date: NaiveDate,
    /// Tokens, > 0.
    pub amount: i64,
    pub kind: EntryKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    /// Tokens moved from this pack to another team.
    MoveOut { pack_id: i64 },
    /// A manual adjustment adding tokens to this pack.
    Credit { pack_id: i64 },
    /// A manual adjustment removing tokens, in the consumption order.
    Debit,
}

impl Pack {
    /// A pack bought on `purchased_on`.
    pub fn bought(id: i64, tokens: i64, purchased_on: NaiveDate, expires_on: NaiveDate) -> Pack {
        Pack { id, tokens, purchased_on, expires_on, origin: PackOrigin::Purchase }
    }

    pub fn is_active_on(&self, date: NaiveDate) -> bool {
        self.purchased_on <= date && date < self.expires_on
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackState {
    pub pack: Pack,
    /// Tokens drawn from this pack by charges so far.
    pub used: i64,
    /// Tokens lost when the pack expired (0 while it is active).
    pub expired_unused: i64,
    /// Tokens added by manual adjustments.
    #[serde(default)]
    pub credited: i64,
    /// Tokens moved out to other teams or removed by manual adjustments.
    #[serde(default)]
    pub removed: i64,
}

impl PackState {
    /// What the pack holds after moves and adjustments.
    pub fn tokens(&self) -> i64 {
        self.pack.tokens + self.credited - self.removed
    }

    pub fn remaining(&self) -> i64 {
        self.tokens() - self.used - self.expired_unused
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
    /// entries per date) and the manual `entries` up to and including `through`.
    pub fn simulate(
        packs: &[Pack],
        entries: &[LedgerEntry],
        daily_usage: &[(NaiveDate, i64)],
        through: NaiveDate,
    ) -> Ledger {
        let mut states: Vec<PackState> = packs
            .iter()
            .filter(|p| p.purchased_on <= through)
            .map(|&pack| PackState { pack, used: 0, expired_unused: 0, credited: 0, removed: 0 })
            .collect();
        states.sort_by_key(|s| (s.pack.expires_on, s.pack.tokens, s.pack.id));

        let mut usage: Vec<(NaiveDate, i64)> =
            daily_usage.iter().copied().filter(|(d, t)| *d <= through && *t > 0).collect();
        usage.sort_unstable();

        let mut dates: Vec<NaiveDate> = states
            .iter()
            .flat_map(|s| [s.pack.purchased_on, s.pack.expires_on])
            .chain(usage.iter().map(|(d, _)| *d))
            .chain(entries.iter().map(|e| e.date))
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
                let mut repaid = Vec::new();
                ledger.overdraft = ledger.draw_parts(date, ledger.overdraft, &mut repaid);
                ledger.attribute_repayment(&repaid);
            }
            for entry in entries.iter().filter(|e| e.date == date) {
                ledger.apply(entry);
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
            let lost = state.remaining().max(0);
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
            let kind = match state.pack.origin {
                PackOrigin::Purchase => TokenEventKind::Purchase,
                PackOrigin::MoveIn => TokenEventKind::MoveIn,
            };
            self.events.push(TokenEvent { date, kind, amount: state.pack.tokens, pack_id: Some(state.pack.id) });
        }
        any
    }

    /// The charges that overdrew, oldest first, are paid by the packs of
    /// `repaid` (in their order): their parts take those packs' ids.
    fn attribute_repayment(&mut self, repaid: &[DrawPart]) {
        let mut payments = repaid.iter().copied().filter(|p| p.tokens > 0);
        let Some(mut payment) = payments.next() else { return };
        for day in &mut self.day_draws {
            let mut i = 0;
            while i < day.parts.len() {
                if day.parts[i].pack_id.is_none() {
                    let take = day.parts[i].tokens.min(payment.tokens);
                    if take == day.parts[i].tokens {
                        day.parts[i].pack_id = payment.pack_id;
                    } else {
                        day.parts[i].tokens -= take;
                        day.parts.insert(i, DrawPart { pack_id: payment.pack_id, tokens: take });
                    }
                    payment.tokens -= take;
                    if payment.tokens == 0 {
                        match payments.next() {
                            Some(next) => payment = next,
                            None => return,
                        }
                    }
                }
                i += 1;
            }
        }
    }

    /// A move or an adjustment on its day.
    fn apply(&mut self, entry: &LedgerEntry) {
        let (date, amount) = (entry.date, entry.amount);
        match entry.kind {
            EntryKind::MoveOut { pack_id } => {
                if let Some(state) = self.packs.iter_mut().find(|s| s.pack.id == pack_id) {
                    state.removed += amount;
                }
                let event = TokenEvent { date, kind: TokenEventKind::MoveOut, amount: -amount, pack_id: Some(pack_id) };
                self.events.push(event);
            }
            EntryKind::Credit { pack_id } => {
                if let Some(state) = self.packs.iter_mut().find(|s| s.pack.id == pack_id) {
                    state.credited += amount;
                }
                let event = TokenEvent { date, kind: TokenEventKind::Adjustment, amount, pack_id: Some(pack_id) };
                self.events.push(event);
            }
            EntryKind::Debit => {
                // A debit is refused beyond what is available; should usage
                // imported later for earlier days leave less, the rest lapses
                // (it is not usage, so no pack repays it).
                let mut left = amount;
                for state in self.packs.iter_mut().filter(|s| s.pack.is_active_on(date)) {
                    let take = state.remaining().min(left).max(0);
                    state.removed += take;
                    left -= take;
                }
                let event = TokenEvent { date, kind: TokenEventKind::Adjustment, amount: -amount, pack_id: None };
                self.events.push(event);
            }
        }
    }

    /// [`Ledger::draw`], noting in `parts` which pack paid how much.
    fn draw_parts(&mut self, date: NaiveDate, mut amount: i64, parts: &mut Vec<DrawPart>) -> i64 {
        for state in self.packs.iter_mut().filter(|s| s.pack.is_active_on(date)) {
            if amount == 0 {
                break;
            }
            // A pack that gave more away than it held (a move, then usage
            // imported for earlier days) pays nothing more.
            let take = state.remaining().min(amount).max(0);
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
        let (total, used) = active.fold((0, 0), |(t, u), s| (t + s.tokens(), u + s.used));
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
        Pack::bought(id, tokens, d(purchased), d(expires))
    }

    #[test]
    fn equal_expiries_draw_from_the_smallest_pack_first() {
        let packs = [pack(1, 500, "2026-01-01", "2027-01-01"), pack(2, 100, "2026-01-01", "2027-01-01")];
        let ledger = Ledger::simulate(&packs, &[], &[(d("2026-02-01"), 60)], d("2026-03-01"));
        assert_eq!(ledger.pack(2).unwrap().used, 60);
        assert_eq!(ledger.pack(1).unwrap().used, 0);
    }

    #[test]
    fn earliest_expiry_goes_first_even_when_bigger() {
        let packs = [pack(1, 100, "2026-01-01", "2027-06-01"), pack(2, 900, "2025-06-01", "2026-06-01")];
        let ledger = Ledger::simulate(&packs, &[], &[(d("2026-02-01"), 50)], d("2026-03-01"));
        assert_eq!((ledger.pack(2).unwrap().used, ledger.pack(1).unwrap().used), (50, 0));
    }

    #[test]
    fn a_charge_spans_two_packs() {
        let packs = [pack(1, 100, "2026-01-01", "2027-01-01"), pack(2, 30, "2026-01-01", "2027-01-01")];
        let ledger = Ledger::simulate(&packs, &[], &[(d("2026-02-01"), 45)], d("2026-03-01"));
        assert_eq!(ledger.pack(2).unwrap().used, 30);
        assert_eq!(ledger.pack(1).unwrap().used, 15);
        assert_eq!(ledger.balance(), Balance { available: 85, used: 45, total: 130, overdraft: 0 });
    }

    #[test]
    fn expired_packs_lose_their_rest_and_leave_the_balance() {
        let packs = [pack(1, 100, "2025-01-10", "2026-01-10"), pack(2, 200, "2026-01-01", "2027-01-01")];
        let usage = [(d("2025-06-01"), 40), (d("2026-01-05"), 10), (d("2026-02-01"), 25)];
        let ledger = Ledger::simulate(&packs, &[], &usage, d("2026-03-01"));
        let old = ledger.pack(1).unwrap();
        assert_eq!((old.used, old.expired_unused), (50, 50));
        assert!(ledger.events.iter().any(|e| e.kind == TokenEventKind::Expiration && e.amount == -50));
        assert_eq!(ledger.balance(), Balance { available: 175, used: 25, total: 200, overdraft: 0 });
    }

    #[test]
    fn the_expiry_day_itself_no_longer_draws_from_the_pack() {
        let packs = [pack(1, 100, "2025-01-10", "2026-01-10"), pack(2, 200, "2026-01-01", "2027-01-01")];
        let ledger = Ledger::simulate(&packs, &[], &[(d("2026-01-10"), 10)], d("2026-01-10"));
        assert_eq!((ledger.pack(1).unwrap().used, ledger.pack(2).unwrap().used), (0, 10));
    }

    #[test]
    fn overdraft_is_negative_balance_and_repaid_by_the_next_purchase() {
        let packs = [pack(1, 50, "2026-01-01", "2027-01-01"), pack(2, 100, "2026-03-01", "2027-03-01")];
        let usage = [(d("2026-02-01"), 80)];
        let before = Ledger::simulate(&packs, &[], &usage, d("2026-02-15"));
        assert_eq!(before.balance(), Balance { available: -30, used: 80, total: 50, overdraft: 30 });
        assert!(before.events.iter().any(|e| e.kind == TokenEventKind::Overdraft && e.amount == -30));
        let after = Ledger::simulate(&packs, &[], &usage, d("2026-03-02"));
        assert_eq!(after.balance(), Balance { available: 70, used: 80, total: 150, overdraft: 0 });
        assert_eq!(after.pack(2).unwrap().used, 30);
    }

    #[test]
    fn day_draws_name_the_packs_that_paid_in_consumption_order() {
        let packs = [pack(1, 50, "2026-01-01", "2027-01-01"), pack(2, 100, "2026-01-01", "2027-02-01")];
        let usage = [(d("2026-02-01"), 40), (d("2026-02-02"), 30), (d("2026-02-03"), 100)];
        let ledger = Ledger::simulate(&packs, &[], &usage, d("2026-03-01"));
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
        let ledger = Ledger::simulate(&packs, &[], &usage, d("2026-06-01"));
        assert_eq!(ledger.balance().used, 10, "usage after `through` is not counted");
    }

    #[test]
    fn a_repaid_overdraft_is_paid_by_the_pack_that_repaid_it() {
        let packs = [pack(1, 50, "2026-01-01", "2027-01-01"), pack(2, 100, "2026-03-01", "2027-03-01")];
        let usage = [(d("2026-02-01"), 80), (d("2026-02-02"), 10)];
        let ledger = Ledger::simulate(&packs, &[], &usage, d("2026-03-02"));
        let parts = |i: usize| -> Vec<(Option<i64>, i64)> {
            ledger.day_draws[i].parts.iter().map(|p| (p.pack_id, p.tokens)).collect()
        };
        assert_eq!(parts(0), [(Some(1), 50), (Some(2), 30)]);
        assert_eq!(parts(1), [(Some(2), 10)]);
        let paid_by = |id: i64| -> i64 {
            ledger.day_draws.iter().flat_map(|d| &d.parts).filter(|p| p.pack_id == Some(id)).map(|p| p.tokens).sum()
        };
        assert_eq!((paid_by(1), paid_by(2)), (ledger.pack(1).unwrap().used, ledger.pack(2).unwrap().used));
    }

    #[test]
    fn a_partly_repaid_overdraft_keeps_the_rest_overdrawn() {
        let packs = [pack(1, 20, "2026-03-01", "2027-03-01")];
        let ledger = Ledger::simulate(&packs, &[], &[(d("2026-02-01"), 50)], d("2026-03-02"));
        let parts: Vec<_> = ledger.day_draws[0].parts.iter().map(|p| (p.pack_id, p.tokens)).collect();
        assert_eq!(parts, [(Some(1), 20), (None, 30)]);
        assert_eq!(ledger.overdraft, 30);
    }

    #[test]
    fn moves_and_adjustments_change_packs_on_their_day() {
        let packs = [pack(1, 100, "2026-01-01", "2027-01-01"), pack(2, 100, "2026-01-01", "2027-06-01")];
        let entries = [
            LedgerEntry { date: d("2026-02-01"), amount: 30, kind: EntryKind::MoveOut { pack_id: 2 } },
            LedgerEntry { date: d("2026-02-01"), amount: 5, kind: EntryKind::Credit { pack_id: 1 } },
            LedgerEntry { date: d("2026-02-02"), amount: 20, kind: EntryKind::Debit },
        ];
        let ledger = Ledger::simulate(&packs, &entries, &[(d("2026-02-03"), 10)], d("2026-03-01"));
        let (first, second) = (ledger.pack(1).unwrap(), ledger.pack(2).unwrap());
        assert_eq!((first.tokens(), first.used, first.remaining()), (85, 10, 75), "credit 5, debit 20, charge 10");
        assert_eq!((second.tokens(), second.remaining()), (70, 70), "30 moved out");
        assert_eq!(ledger.balance(), Balance { available: 145, used: 10, total: 155, overdraft: 0 });
        let kinds: Vec<_> = ledger.events.iter().map(|e| (e.kind, e.amount)).collect();
        assert!(kinds.contains(&(TokenEventKind::MoveOut, -30)) && kinds.contains(&(TokenEventKind::Adjustment, -20)));
    }

    #[test]
    fn a_moved_in_pack_shows_as_a_move() {
        let packs = [Pack { origin: PackOrigin::MoveIn, ..pack(7, 40, "2026-02-01", "2027-01-01") }];
        let ledger = Ledger::simulate(&packs, &[], &[], d("2026-03-01"));
        assert_eq!(ledger.events[0].kind, TokenEventKind::MoveIn);
        assert_eq!(ledger.balance().total, 40);
    }

    #[test]
    fn a_pack_that_gave_more_than_it_holds_pays_nothing_more() {
        // 800 moved out on Mar 1; usage of February imported afterwards takes 500 of the 1000.
        let packs = [pack(1, 1000, "2026-01-01", "2027-01-01"), pack(2, 1000, "2026-01-01", "2027-06-01")];
        let entries = [LedgerEntry { date: d("2026-03-01"), amount: 800, kind: EntryKind::MoveOut { pack_id: 1 } }];
        let usage = [(d("2026-02-20"), 500), (d("2026-03-02"), 100)];
        let ledger = Ledger::simulate(&packs, &entries, &usage, d("2026-03-05"));
        assert_eq!((ledger.pack(1).unwrap().used, ledger.pack(2).unwrap().used), (500, 100));
        let paid: Vec<_> = ledger.day_draws[1].parts.iter().map(|p| (p.pack_id, p.tokens)).collect();
        assert_eq!(paid, [(Some(2), 100)], "no negative draw from pack 1");
    }
}
