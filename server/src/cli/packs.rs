//! `tokenboard packs list|add|edit|void` and `tokenboard tokens move|adjust`:
//! the same operations as the Packs page, audited as the command line.

use anyhow::Result;
use tokenboard::access::audit::Actor;
use tokenboard::domain::packs;
use tokenboard::domain::teams;

use super::{PacksCommand, TokensCommand, open_db};
use crate::config::Config;

pub(super) async fn packs(config: &Config, command: PacksCommand) -> Result<()> {
    let db = open_db(config).await?;
    let actor = Actor::CommandLine;
    match command {
        PacksCommand::List { team } => {
            let team = teams::team(&db, &team).await?;
            let ledger = packs::ledger(&db, team.id, team.today()).await?;
            let records = packs::pack_records(&db, team.id).await?;
            println!("pack\ttokens\tpurchased\texpires\tused\tremaining\texpired unused\torder\tnote");
            for record in records {
                let Some(state) = ledger.pack(record.pack.id) else { continue };
                println!(
                    "#{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    record.pack.id,
                    state.tokens(),
                    record.pack.purchased_on,
                    record.pack.expires_on,
                    state.used,
                    state.remaining(),
                    state.expired_unused,
                    record.order_ref,
                    record.note
                );
            }
            let balance = ledger.balance();
            println!("balance: {} available of {} ({} used)", balance.available, balance.total, balance.used);
        }
        PacksCommand::Add { team, pack } => {
            let team = teams::team(&db, &team).await?;
            let pack = packs::create_pack(&db, &team, &pack.into(), &actor).await?;
            println!(
                "added pack #{} to {}: {} tokens, {} – {}",
                pack.id, team.slug, pack.tokens, pack.purchased_on, pack.expires_on
            );
        }
        PacksCommand::Edit { team, pack_id, pack } => {
            let team = teams::team(&db, &team).await?;
            let pack = packs::edit_pack(&db, &team, pack_id, &pack.into(), &actor).await?;
            println!("pack #{} is now {} tokens, {} – {}", pack.id, pack.tokens, pack.purchased_on, pack.expires_on);
        }
        PacksCommand::Void { team, pack } => {
            let team = teams::team(&db, &team).await?;
            packs::void_pack(&db, &team, pack, &actor).await?;
            println!("pack #{pack} of {} voided", team.slug);
        }
    }
    Ok(())
}

pub(super) async fn tokens(config: &Config, command: TokensCommand) -> Result<()> {
    let db = open_db(config).await?;
    let actor = Actor::CommandLine;
    match command {
        TokensCommand::Move { from, to, pack, tokens } => {
            let (from, to) = (teams::team(&db, &from).await?, teams::team(&db, &to).await?);
            let moved = packs::move_tokens(&db, &from, &to, pack, tokens, &actor).await?;
            println!(
                "moved {tokens} tokens from {} pack #{pack} to {} as pack #{} (expires {})",
                from.slug, to.slug, moved.id, moved.expires_on
            );
        }
        TokensCommand::Adjust { team, tokens, pack, reason } => {
            let team = teams::team(&db, &team).await?;
            packs::adjust_tokens(&db, &team, tokens, pack, &reason, &actor).await?;
            println!("{}: adjusted by {tokens:+} tokens ({reason})", team.slug);
        }
    }
    Ok(())
}
