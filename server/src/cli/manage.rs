//! The operator's commands on the data: teams, API keys,
//! admins and rollups.

use std::io::{BufRead, IsTerminal};

use anyhow::Result;
use tokenboard::access::audit::Actor;
use tokenboard::access::{accounts, api_keys, auth};
use tokenboard::domain::model::Role;
use tokenboard::domain::teams::{self, NewTeam};

use super::{AdminCommand, ApiKeyCommand, RollupsCommand, TeamCommand, UserCommand, open_db};
use crate::config::Config;

pub(super) async fn rollups(config: &Config, command: RollupsCommand) -> Result<()> {
    let RollupsCommand::Rebuild = command;
    let db = open_db(config).await?;
    let started = std::time::Instant::now();
    let teams = tokenboard::report::rollups::rebuild_all(&db).await?;
    println!("rebuilt the rollups of {teams} teams in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

pub(super) async fn team(config: &Config, command: TeamCommand) -> Result<()> {
    match command {
        TeamCommand::Set { team, personal_data, time_zone } => {
            let db = open_db(config).await?;
            let team = teams::team(&db, &team).await?;
            let mut settings = tokenboard::access::settings::load(&db, team.id).await?;
            if let Some(on_off) = personal_data {
                settings.personal_data = on_off == "on";
            }
            if let Some(zone) = time_zone {
                settings.time_zone = zone;
            }
            let files = tokenboard::export::job::ExportFiles::new(config.exports_dir())?;
            let changes =
                tokenboard::access::settings::update(&db, &files, &team, &Actor::CommandLine, &settings).await?;
            if changes.is_empty() {
                println!("{}: nothing to change", team.slug);
            }
            for change in changes {
                println!("{}: {change}", team.slug);
            }
            Ok(())
        }
        TeamCommand::Add { slug, name, time_zone } => {
            let db = open_db(config).await?;
            let team = teams::create_team(&db, &NewTeam { slug, name, time_zone }).await?;
            println!("added team {} ({}, {})", team.slug, team.name, team.time_zone);
            Ok(())
        }
        TeamCommand::List => {
            let db = open_db(config).await?;
            for team in teams::all_teams(&db).await? {
                println!("{}\t{}\t{}", team.slug, team.name, team.time_zone);
            }
            Ok(())
        }
    }
}

pub(super) async fn api_key(config: &Config, command: ApiKeyCommand) -> Result<()> {
    let ApiKeyCommand::Create { team, label } = command;
    let db = open_db(config).await?;
    let team = teams::team(&db, &team).await?;
    let key = api_keys::create_api_key(&db, team.id, &label).await?;
    println!("{key}");
    eprintln!("API key for {} created; it is shown only this once.", team.slug);
    Ok(())
}

pub(super) async fn admin(config: &Config, command: AdminCommand) -> Result<()> {
    let AdminCommand::Add { email, team, role } = command;
    let db = open_db(config).await?;
    let team = teams::team(&db, &team).await?;
    let role = Role::parse(&role).expect("clap checked the value");
    let password = read_password()?;
    let admin = accounts::upsert_admin(&db, &email, &password).await?;
    auth::grant_role(&db, team.id, admin.id, role).await?;
    println!("{} is now {} admin of {}", admin.email, role.as_str(), team.slug);
    Ok(())
}

fn read_password() -> Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(password)
}

pub(super) async fn user(config: &Config, command: UserCommand) -> Result<()> {
    let UserCommand::Erase { team, email } = command;
    let db = open_db(config).await?;
    let team = teams::team(&db, &team).await?;
    let user_id = tokenboard::access::erasure::user_by_email(&db, &team, &email).await?;
    let files = tokenboard::export::job::ExportFiles::new(config.exports_dir())?;
    let key = config.pseudonym_key()?;
    let erased =
        tokenboard::access::erasure::erase_user(&db, &files, &key, &team, user_id, &Actor::CommandLine).await?;
    println!(
        "{}: erased; the person is shown as {} from now on ({} stored exports deleted)",
        team.slug, erased.pseudonym, erased.exports_deleted
    );
    Ok(())
}
