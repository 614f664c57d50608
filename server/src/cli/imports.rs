//! `tokenboard import usage|list|undo`: a usage file into a team (with a
//! progress bar once it takes more than a second), the team's import
//! history, and taking an import back.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tokenboard::access::audit::Actor;
use tokenboard::domain::teams;
use tokenboard::ingest::import::{
    DateFormat, ImportError, ImportRequest, ImportStatus, import_usage_file, list_imports, undo_import,
};

use super::{ImportCommand, open_db};
use crate::config::Config;

/// Imports listed by `import list`.
const LISTED_IMPORTS: i64 = 100;

pub(super) async fn run(config: &Config, command: ImportCommand) -> Result<()> {
    match command {
        ImportCommand::Usage { team, date_format, file } => {
            let date_format = match date_format.as_deref() {
                None => None,
                Some(text) => Some(DateFormat::parse(text).with_context(|| {
                    format!("unknown --date-format {text:?}: use YYYY-MM-DD, M/D/YYYY or D/M/YYYY")
                })?),
            };
            let size = std::fs::metadata(&file).with_context(|| format!("cannot read {}", file.display()))?.len();
            let db = open_db(config).await?;
            let team = teams::team(&db, &team).await?;
            let file_name = file.file_name().map_or("file".into(), |n| n.to_string_lossy().into_owned());
            let erased_key = Some(config.pseudonym_key().context("cannot read the server's secret")?);
            let request = ImportRequest { date_format, erased_key, ..ImportRequest::command_line(&file_name) };
            let bar = progress_bar(size);
            let result = import_usage_file(&db, &team, &file, &request, &mut |progress| match progress.bytes {
                Some(bytes) => bar.set_position(bytes),
                None => bar.set_message(format!("{} rows", progress.rows)),
            })
            .await;
            bar.finish_and_clear();
            match result {
                Ok(outcome) => {
                    println!(
                        "{}: import {}: {} rows, {} inserted, {} updated (corrections), {} unchanged, {} new users",
                        file.display(),
                        outcome.import_id.unwrap_or_default(),
                        outcome.rows,
                        outcome.inserted,
                        outcome.updated,
                        outcome.unchanged,
                        outcome.new_users
                    );
                    if !outcome.new_products.is_empty() {
                        println!("new products: {}", outcome.new_products.join(", "));
                    }
                    Ok(())
                }
                Err(ImportError::Rejected(errors, _)) => {
                    for e in &errors {
                        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
                    }
                    bail!("{} was rejected; nothing was imported", file.display())
                }
                Err(e) => Err(e.into()),
            }
        }
        ImportCommand::List { team } => {
            let db = open_db(config).await?;
            let team = teams::team(&db, &team).await?;
            println!("id\twhen (UTC)\tsource\tby\tfile\tstatus\trows\tinserted\tupdated\tunchanged\tdays");
            for import in list_imports(&db, team.id, LISTED_IMPORTS).await? {
                let status = match (&import.undone, import.status) {
                    (Some(undone), _) => format!("undone {}", undone.at.format("%Y-%m-%d %H:%M")),
                    (None, ImportStatus::Rejected) => format!("rejected ({} bad lines)", import.errors.len()),
                    (None, ImportStatus::Done) if import.overwritten() > 0 => {
                        format!("done ({} rows overwritten later)", import.overwritten())
                    }
                    (None, ImportStatus::Done) => "done".into(),
                };
                let days = match (import.first_day, import.last_day) {
                    (Some(first), Some(last)) => format!("{first}..{last}"),
                    _ => "-".into(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{status}\t{}\t{}\t{}\t{}\t{days}",
                    import.id,
                    import.created_at.format("%Y-%m-%d %H:%M"),
                    import.source.title(),
                    import.actor,
                    import.file_name,
                    import.rows,
                    import.inserted,
                    import.updated,
                    import.unchanged,
                );
            }
            Ok(())
        }
        ImportCommand::Undo { team, import_id } => {
            let db = open_db(config).await?;
            let team = teams::team(&db, &team).await?;
            let outcome = undo_import(&db, team.id, import_id, &Actor::CommandLine).await?;
            println!(
                "import {import_id} undone: {} charges removed, {} restored to their previous tokens, \
                 {} kept (a later import overwrote them)",
                outcome.removed, outcome.restored, outcome.kept
            );
            Ok(())
        }
    }
}

/// A byte bar that appears only when the import takes more than a second
/// (and only on a terminal: indicatif hides it elsewhere).
fn progress_bar(size: u64) -> ProgressBar {
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} importing [{bar:40}] {bytes}/{total_bytes} {msg} ({eta})")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    let shown = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        if !shown.is_finished() {
            shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(200));
        }
    });
    bar
}
