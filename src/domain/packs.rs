//! Token packs, moves between teams and manual adjustments (DESIGN §1, §5),
//! and the team's ledger over them. Every change an admin makes is audited
//! in its transaction; the ledger (`domain::ledger`) applies them.

use chrono::{Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::access::audit::{Actor, AuditAction, record_in};
use crate::db::{Db, on_db};
use crate::domain::ledger::{EntryKind, Ledger, LedgerEntry, Pack, PackOrigin};
use crate::domain::teams::{CHANGE_LEDGER, Team};
use crate::domain::values::{MAX_TOKENS_PER_CHARGE, MIN_DATE, check_text, max_date};
use crate::error::{Error, Result};

/// Packs last one year unless told otherwise.
pub fn default_expiry(purchased_on: NaiveDate) -> NaiveDate {
    purchased_on.checked_add_months(Months::new(12)).unwrap_or(NaiveDate::MAX)
}

/// The longest order reference or adjustment reason kept.
pub const MAX_NOTE_CHARS: usize = 200;

/// A pack as an admin enters or corrects it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackInput {
    pub tokens: i64,
    pub purchased_on: NaiveDate,
    /// One year after the purchase when `None`.
    pub expires_on: Option<NaiveDate>,
    pub order_ref: String,
}

impl PackInput {
    fn validate(&self) -> Result<NaiveDate> {
        let latest = max_date(Utc::now().date_naive());
        for (what, date) in [("purchase date", Some(self.purchased_on)), ("expiry", self.expires_on)] {
            if let Some(date) = date.filter(|d| *d < MIN_DATE || *d > latest) {
                return Err(Error::Invalid(format!("{what} {date} is outside {MIN_DATE} to {latest}")));
            }
        }
        if self.tokens <= 0 || self.tokens > MAX_TOKENS_PER_CHARGE * 1000 {
            return Err(Error::Invalid(format!("a pack must hold a positive number of tokens, not {}", self.tokens)));
        }
        let expires_on = self.expires_on.unwrap_or_else(|| default_expiry(self.purchased_on));
        if expires_on <= self.purchased_on {
            return Err(Error::Invalid(format!(
                "a pack must expire after its purchase ({expires_on} is not after {})",
                self.purchased_on
            )));
        }
        check_text("order reference", &self.order_ref, MAX_NOTE_CHARS).map_err(Error::Invalid)?;
        Ok(expires_on)
    }
}

/// A pack as the Packs page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRecord {
    pub pack: Pack,
    pub order_ref: String,
    /// Where moved-in tokens came from.
    pub note: String,
}

/// Adds a pack without an audit record (the demo generator and tests).
pub async fn add_pack(
    db: &Db,
    team_id: i64,
    tokens: i64,
    purchased_on: NaiveDate,
    expires_on: Option<NaiveDate>,
) -> Result<Pack> {
    let input = PackInput { tokens, purchased_on, expires_on, order_ref: String::new() };
    insert_pack(db, team_id, &input, None).await
}

/// Adds a pack bought by the team, audited.
pub async fn create_pack(db: &Db, team: &Team, input: &PackInput, actor: &Actor) -> Result<Pack> {
    insert_pack(db, team.id, input, Some(actor)).await
}

/// A move out or an adjustment. Binds: team, day, kind, amount, pack, note, time.
const INSERT_EVENT: &str = "INSERT INTO token_events (team_id, occurred_on, kind, amount, pack_id, note, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

const INSERT_PACK: &str = "INSERT INTO token_packs
    (team_id, tokens, purchased_on, expires_on, created_at, order_ref, origin, note)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

async fn insert_pack(db: &Db, team_id: i64, input: &PackInput, actor: Option<&Actor>) -> Result<Pack> {
    let expires_on = input.validate()?;
    let now = Utc::now();
    let id = on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        sqlx::query(CHANGE_LEDGER).bind(team_id).execute(&mut *tx).await?;
        let id: i64 = sqlx::query_scalar(INSERT_PACK)
            .bind(team_id)
            .bind(input.tokens)
            .bind(input.purchased_on)
            .bind(expires_on)
            .bind(now)
            .bind(input.order_ref.trim())
            .bind("purchase")
            .bind("")
            .fetch_one(&mut *tx)
            .await?;
        if let Some(actor) = actor {
            let detail = format!(
                "pack #{id} added: {} tokens, {} to {}{}",
                input.tokens,
                input.purchased_on,
                expires_on,
                order_note(&input.order_ref)
            );
            record_in!(&mut *tx, Some(team_id), actor, AuditAction::PackAdded, detail, now)?;
        }
        tx.commit().await?;
        id
    });
    Ok(Pack::bought(id, input.tokens, input.purchased_on, expires_on))
}

fn order_note(order_ref: &str) -> String {
    if order_ref.trim().is_empty() { String::new() } else { format!(", order {:?}", order_ref.trim()) }
}

/// Corrects a pack entered by mistake (tokens, dates, order reference), audited.
pub async fn edit_pack(db: &Db, team: &Team, pack_id: i64, input: &PackInput, actor: &Actor) -> Result<Pack> {
    let expires_on = input.validate()?;
    let before = bought_pack(db, team.id, pack_id).await?;
    let now = Utc::now();
    on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        sqlx::query(CHANGE_LEDGER).bind(team.id).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE token_packs SET tokens = $3, purchased_on = $4, expires_on = $5, order_ref = $6
             WHERE team_id = $1 AND id = $2 AND voided_at IS NULL",
        )
        .bind(team.id)
        .bind(pack_id)
        .bind(input.tokens)
        .bind(input.purchased_on)
        .bind(expires_on)
        .bind(input.order_ref.trim())
        .execute(&mut *tx)
        .await?;
        let detail = format!(
            "pack #{pack_id} corrected: {} → {} tokens, {}–{} → {}–{}{}",
            before.pack.tokens,
            input.tokens,
            before.pack.purchased_on,
            before.pack.expires_on,
            input.purchased_on,
            expires_on,
            order_note(&input.order_ref)
        );
        record_in!(&mut *tx, Some(team.id), actor, AuditAction::PackChanged, detail, now)?;
        tx.commit().await?;
    });
    Ok(Pack { tokens: input.tokens, purchased_on: input.purchased_on, expires_on, ..before.pack })
}

/// Voids a pack entered by mistake: it leaves the ledger; audited.
pub async fn void_pack(db: &Db, team: &Team, pack_id: i64, actor: &Actor) -> Result<()> {
    let before = bought_pack(db, team.id, pack_id).await?;
    let now = Utc::now();
    on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        // Under the team's lock: a move from this pack cannot slip in between.
        sqlx::query(CHANGE_LEDGER).bind(team.id).execute(&mut *tx).await?;
        let moves: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM token_events WHERE team_id = $1 AND pack_id = $2")
            .bind(team.id)
            .bind(pack_id)
            .fetch_one(&mut *tx)
            .await?;
        if moves > 0 {
            return Err(Error::Invalid(format!(
                "pack #{pack_id} has moves or adjustments: correct it, or move the tokens back, instead of voiding it"
            )));
        }
        sqlx::query("UPDATE token_packs SET voided_at = $3 WHERE team_id = $1 AND id = $2 AND voided_at IS NULL")
            .bind(team.id)
            .bind(pack_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let detail = format!(
            "pack #{pack_id} voided ({} tokens, {} to {})",
            before.pack.tokens, before.pack.purchased_on, before.pack.expires_on
        );
        record_in!(&mut *tx, Some(team.id), actor, AuditAction::PackVoided, detail, now)?;
        tx.commit().await?;
    });
    Ok(())
}

type PackRow = (i64, i64, NaiveDate, NaiveDate, String, String, String);

const SELECT_PACKS: &str = "SELECT id, tokens, purchased_on, expires_on, origin, order_ref, note FROM token_packs
    WHERE team_id = $1 AND voided_at IS NULL";

fn pack_record((id, tokens, purchased_on, expires_on, origin, order_ref, note): PackRow) -> PackRecord {
    let origin = if origin == "move" { PackOrigin::MoveIn } else { PackOrigin::Purchase };
    PackRecord { pack: Pack { id, tokens, purchased_on, expires_on, origin }, order_ref, note }
}

/// The team's packs (voided ones left out), oldest first.
pub async fn pack_records(db: &Db, team_id: i64) -> Result<Vec<PackRecord>> {
    let sql = format!("{SELECT_PACKS} ORDER BY id");
    let rows: Vec<PackRow> = on_db!(db, |pool| sqlx::query_as(&sql).bind(team_id).fetch_all(pool).await?);
    Ok(rows.into_iter().map(pack_record).collect())
}

/// A pack the team bought: the one kind an admin may correct or void (moved-in
/// tokens go back by a move).
async fn bought_pack(db: &Db, team_id: i64, pack_id: i64) -> Result<PackRecord> {
    let sql = format!("{SELECT_PACKS} AND id = $2");
    let row: Option<PackRow> =
        on_db!(db, |pool| sqlx::query_as(&sql).bind(team_id).bind(pack_id).fetch_optional(pool).await?);
    let record = row.map(pack_record).ok_or_else(|| Error::NotFound(format!("pack #{pack_id}")))?;
    if record.pack.origin == PackOrigin::MoveIn {
        return Err(Error::Invalid(format!(
            "pack #{pack_id} was moved in from another team: move tokens back instead"
        )));
    }
    Ok(record)
}

pub async fn packs(db: &Db, team_id: i64) -> Result<Vec<Pack>> {
    Ok(pack_records(db, team_id).await?.into_iter().map(|r| r.pack).collect())
}

/// The team's moves out and adjustments, as the ledger applies them.
pub async fn entries(db: &Db, team_id: i64) -> Result<Vec<LedgerEntry>> {
    let sql = "SELECT occurred_on, kind, amount, pack_id FROM token_events WHERE team_id = $1 ORDER BY id";
    let rows = on_db!(db, |pool| sqlx::query_as::<_, (NaiveDate, String, i64, Option<i64>)>(sql)
        .bind(team_id)
        .fetch_all(pool)
        .await?);
    rows.into_iter()
        .map(|(date, kind, amount, pack_id)| {
            let kind = match (kind.as_str(), pack_id) {
                ("move_out", Some(pack_id)) => EntryKind::MoveOut { pack_id },
                ("adjustment", Some(pack_id)) if amount > 0 => EntryKind::Credit { pack_id },
                ("adjustment", None) if amount < 0 => EntryKind::Debit,
                _ => return Err(Error::Corrupt(format!("token event {kind} {amount} {pack_id:?}"))),
            };
            Ok(LedgerEntry { date, amount: amount.abs(), kind })
        })
        .collect()
}

/// Tokens charged per day, from the daily rollup.
pub async fn daily_usage(db: &Db, team_id: i64, through: NaiveDate) -> Result<Vec<(NaiveDate, i64)>> {
    let sql = "SELECT usage_date, tokens FROM daily_usage WHERE team_id = $1 AND usage_date <= $2 ORDER BY usage_date";
    Ok(on_db!(db, |pool| sqlx::query_as::<_, (NaiveDate, i64)>(sql)
        .bind(team_id)
        .bind(through)
        .fetch_all(pool)
        .await?))
}

/// The team's ledger through `through` (usually the team's today).
pub async fn ledger(db: &Db, team_id: i64, through: NaiveDate) -> Result<Ledger> {
    let packs = packs(db, team_id).await?;
    let entries = entries(db, team_id).await?;
    let usage = daily_usage(db, team_id, through).await?;
    Ok(Ledger::simulate(&packs, &entries, &usage, through))
}

/// A team's ledger through today and its outlook (run-out, colour), from
/// one read of its packs, moves and daily usage, which it keeps for a full
/// forecast.
#[derive(Clone, Debug)]
pub struct BalanceState {
    pub packs: Vec<Pack>,
    pub entries: Vec<LedgerEntry>,
    /// Tokens per day through today.
    pub usage: Vec<(NaiveDate, i64)>,
    pub ledger: Ledger,
    /// The day the balance runs out at the recent pace, if it does.
    pub run_out: Option<NaiveDate>,
    pub outlook: crate::domain::outlook::Outlook,
    /// The team's first day with usage: how far back comparisons are covered.
    pub first_usage: Option<NaiveDate>,
}

pub async fn balance_state(db: &Db, team_id: i64, today: NaiveDate) -> Result<BalanceState> {
    let state = ledger_state(db, team_id, today).await?;
    state.with_outlook(db, team_id, today).await
}

/// [`balance_state`] without the outlook: what only the team's charges,
/// packs, moves and adjustments decide (the outlook also reads its alert
/// settings), so it can be kept while their versions stand.
pub async fn ledger_state(db: &Db, team_id: i64, today: NaiveDate) -> Result<BalanceState> {
    let packs = packs(db, team_id).await?;
    let entries = entries(db, team_id).await?;
    let usage = daily_usage(db, team_id, today).await?;
    let ledger = Ledger::simulate(&packs, &entries, &usage, today);
    let run_out = crate::domain::forecast::run_out(&packs, &entries, &usage, today, ledger.balance().available);
    let first_usage = usage.first().map(|(day, _)| *day);
    let outlook = crate::domain::outlook::Outlook::new(ledger.balance(), run_out, today, &[]);
    Ok(BalanceState { packs, entries, usage, ledger, run_out, outlook, first_usage })
}

impl BalanceState {
    /// The outlook under the team's current alert thresholds.
    pub async fn with_outlook(mut self, db: &Db, team_id: i64, today: NaiveDate) -> Result<BalanceState> {
        let percents = crate::domain::outlook::alert_percents(db, team_id).await?;
        self.outlook = crate::domain::outlook::Outlook::new(self.ledger.balance(), self.run_out, today, &percents);
        Ok(self)
    }
}

/// Moves `amount` tokens of pack `pack_id` of `from` to `to`, today: the
/// source pack holds that much less, `to` gets a pack of `amount` with the
/// source pack's expiry. Both teams' audit logs record it.
pub async fn move_tokens(db: &Db, from: &Team, to: &Team, pack_id: i64, amount: i64, actor: &Actor) -> Result<Pack> {
    if from.id == to.id {
        return Err(Error::Invalid("tokens move between two different teams".into()));
    }
    if amount <= 0 {
        return Err(Error::Invalid(format!("move a positive number of tokens, not {amount}")));
    }
    let today = from.today();
    let now = Utc::now();
    let id = on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        // Checked under the teams' locks: two moves cannot both take the last
        // tokens. Both teams, in id order, so two opposite moves cannot deadlock.
        for id in [from.id.min(to.id), from.id.max(to.id)] {
            sqlx::query(CHANGE_LEDGER).bind(id).execute(&mut *tx).await?;
        }
        let ledger = ledger(db, from.id, today).await?;
        let source = ledger.pack(pack_id).ok_or_else(|| Error::NotFound(format!("pack #{pack_id}")))?;
        if !source.pack.is_active_on(today) {
            return Err(Error::Invalid(format!("pack #{pack_id} is not active today: only active tokens move")));
        }
        if amount > source.remaining() {
            return Err(Error::Invalid(format!(
                "pack #{pack_id} has {} tokens left; {amount} cannot move",
                source.remaining()
            )));
        }
        let arrives_on = to.today().min(source.pack.expires_on.pred_opt().expect("far from the minimum"));
        let expires_on = source.pack.expires_on;
        sqlx::query(INSERT_EVENT)
            .bind(from.id)
            .bind(today)
            .bind("move_out")
            .bind(-amount)
            .bind(pack_id)
            .bind(format!("to {}", to.name))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(INSERT_PACK)
            .bind(to.id)
            .bind(amount)
            .bind(arrives_on)
            .bind(expires_on)
            .bind(now)
            .bind("")
            .bind("move")
            .bind(format!("from {} (pack #{pack_id})", from.name))
            .fetch_one(&mut *tx)
            .await?;
        let detail = format!("{amount} tokens moved from pack #{pack_id} to {} (pack #{id})", to.name);
        record_in!(&mut *tx, Some(from.id), actor, AuditAction::TokensMoved, detail, now)?;
        let detail = format!("{amount} tokens moved in from {} (pack #{pack_id}) as pack #{id}", from.name);
        record_in!(&mut *tx, Some(to.id), actor, AuditAction::TokensMoved, detail, now)?;
        tx.commit().await?;
        (id, arrives_on, expires_on)
    });
    let (id, purchased_on, expires_on) = id;
    Ok(Pack { id, tokens: amount, purchased_on, expires_on, origin: PackOrigin::MoveIn })
}

/// Records a manual adjustment today: `amount` > 0 adds tokens to pack
/// `pack_id` (default: the active pack that expires last), < 0 removes
/// tokens in the consumption order. `reason` is required and audited.
pub async fn adjust_tokens(
    db: &Db,
    team: &Team,
    amount: i64,
    pack_id: Option<i64>,
    reason: &str,
    actor: &Actor,
) -> Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::Invalid("an adjustment needs a reason".into()));
    }
    check_text("reason", reason, MAX_NOTE_CHARS).map_err(Error::Invalid)?;
    if amount == 0 || amount.abs() > MAX_TOKENS_PER_CHARGE {
        return Err(Error::Invalid(format!("adjust by a non-zero number of tokens up to {MAX_TOKENS_PER_CHARGE}")));
    }
    let today = team.today();
    let now = Utc::now();
    on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        // Checked under the team's lock, like a move.
        sqlx::query(CHANGE_LEDGER).bind(team.id).execute(&mut *tx).await?;
        let ledger = ledger(db, team.id, today).await?;
        let pack_id = if amount > 0 {
            let active = ledger.packs.iter().filter(|s| s.pack.is_active_on(today));
            let pack = match pack_id {
                Some(id) => active.into_iter().find(|s| s.pack.id == id),
                None => active.max_by_key(|s| (s.pack.expires_on, s.pack.id)),
            };
            let pack =
                pack.ok_or_else(|| Error::Invalid("tokens are added to an active pack: add a pack first".into()))?;
            Some(pack.pack.id)
        } else {
            let available = ledger.balance().available;
            if -amount > available {
                let removed = -amount;
                return Err(Error::Invalid(format!(
                    "only {available} tokens are available; {removed} cannot be removed"
                )));
            }
            None
        };
        sqlx::query(INSERT_EVENT)
            .bind(team.id)
            .bind(today)
            .bind("adjustment")
            .bind(amount)
            .bind(pack_id)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let target = pack_id.map(|id| format!(" (pack #{id})")).unwrap_or_default();
        let detail = format!("adjustment {amount:+} tokens{target}: {reason}");
        record_in!(&mut *tx, Some(team.id), actor, AuditAction::TokensAdjusted, detail, now)?;
        tx.commit().await?;
    });
    Ok(())
}
