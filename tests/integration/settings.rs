//! Team settings and the audit log on SQLite and PostgreSQL: a change is
//! saved and audited in one step, bad input changes nothing, and the log
//! names who did what.

use tokenboard::Db;
use tokenboard::access::audit::{self, Actor};
use tokenboard::access::settings::{self, SettingsInput};
use tokenboard::db_tests;
use tokenboard::domain::teams::{self, NewTeam, Team};
use tokenboard::export::job::ExportFiles;

async fn team(db: &Db) -> Team {
    let new = NewTeam { slug: "design".into(), name: "Design".into(), time_zone: "UTC".into() };
    teams::create_team(db, &new).await.unwrap()
}

fn form(time_zone: &str, personal_data: &str) -> SettingsInput {
    SettingsInput {
        time_zone: time_zone.into(),
        personal_data: personal_data.into(),
        low_balance_percents: "25, 10".into(),
        expiry_horizon_days: "45".into(),
        alert_recipients: "ops@example.com".into(),
        alert_webhook_url: "https://hooks.example.com/t/secret".into(),
        schedule_recipient_domains: String::new(),
        stale_after_days: "7".into(),
    }
}

/// Where exports of a test would live (settings delete some).
fn export_files() -> (tempfile::TempDir, ExportFiles) {
    let dir = tempfile::tempdir().unwrap();
    let files = ExportFiles::new(dir.path()).unwrap();
    (dir, files)
}

async fn a_settings_change_is_saved_and_audited(db: &Db) {
    let team = team(db).await;
    let admin = tokenboard::access::accounts::upsert_admin(db, "lead@example.com", "long enough").await.unwrap();
    let actor = Actor::Admin { id: admin.id, email: admin.email.clone() };
    let wanted = form("Europe/Berlin", "off").validate().unwrap();
    let (_dir, files) = export_files();

    let changes = settings::update(db, &files, &team, &actor, &wanted).await.unwrap();
    assert_eq!(changes.len(), 7, "{changes:?}");
    assert_eq!(settings::load(db, team.id).await.unwrap(), wanted);
    let reloaded = teams::team(db, "design").await.unwrap();
    assert!(!reloaded.personal_data);
    assert_eq!(reloaded.time_zone, "Europe/Berlin");

    let log = audit::for_team(db, team.id, 100).await.unwrap();
    assert_eq!(log.len(), 7);
    assert!(log.iter().all(|e| e.actor == "lead@example.com"));
    let details: Vec<&str> = log.iter().map(|e| e.detail.as_str()).collect();
    assert!(details.contains(&"time zone: UTC → Europe/Berlin"), "{details:?}");
    assert!(details.contains(&"low balance alerts: 20 → 25,10"), "{details:?}");
    assert!(details.contains(&"stale data after days: 3 → 7"), "{details:?}");
    assert!(log.iter().any(|e| e.action == "personal-data" && e.detail == "personal data off"));
    // The webhook URL may carry a secret: the log says it changed, not what it is.
    assert!(details.iter().all(|d| !d.contains("secret")), "{details:?}");

    // Saving the same again changes and audits nothing.
    assert!(settings::update(db, &files, &team, &actor, &wanted).await.unwrap().is_empty());
    assert_eq!(audit::for_team(db, team.id, 100).await.unwrap().len(), 7);
}

async fn a_bad_time_zone_changes_nothing(db: &Db) {
    let team = team(db).await;
    let before = settings::load(db, team.id).await.unwrap();
    let bad = form("Mars/Olympus", "off").validate().unwrap();
    let (_dir, files) = export_files();
    let error = settings::update(db, &files, &team, &Actor::CommandLine, &bad).await.unwrap_err();
    assert!(error.to_string().contains("unknown time zone \"Mars/Olympus\""), "{error}");
    assert_eq!(settings::load(db, team.id).await.unwrap(), before);
    assert!(audit::for_team(db, team.id, 100).await.unwrap().is_empty());
}

async fn primary_admins_manage_admins_but_never_the_last_primary(db: &Db) {
    use tokenboard::access::team_admins;
    use tokenboard::domain::model::Role;
    let team = team(db).await;
    let lead = tokenboard::access::accounts::upsert_admin(db, "lead@example.com", "long enough").await.unwrap();
    tokenboard::access::auth::grant_role(db, team.id, lead.id, Role::Primary).await.unwrap();
    let actor = Actor::Admin { id: lead.id, email: lead.email.clone() };

    let invited = team_admins::invite(db, &team, &actor, " New@Example.com ", Role::Secondary, "http://tb.test", false)
        .await
        .unwrap();
    assert_eq!(invited.email, "new@example.com");
    // No password is handed out: the new admin sets one through the mailed link.
    let mails = tokenboard::notify::mail::for_teams(db, &[team.id], &[team.id]).await.unwrap();
    let token = mails[0].body.split("token=").nth(1).unwrap().split_whitespace().next().unwrap();
    let now = chrono::Utc::now();
    let new = tokenboard::access::password_links::redeem(db, token, "chosen by new", now).await.unwrap();
    assert!(
        tokenboard::access::accounts::verify_login(db, "new@example.com", "chosen by new").await.unwrap().is_some()
    );
    let again = team_admins::invite(db, &team, &actor, "new@example.com", Role::Primary, "", false).await.unwrap_err();
    assert!(again.to_string().contains("already an admin"), "{again}");
    assert!(team_admins::invite(db, &team, &actor, "not an address", Role::Primary, "", false).await.is_err());

    let last = team_admins::set_role(db, &team, &actor, lead.id, Role::Secondary).await.unwrap_err();
    assert!(last.to_string().contains("at least one primary"), "{last}");
    let last = team_admins::remove(db, &team, &actor, lead.id).await.unwrap_err();
    assert!(last.to_string().contains("last primary"), "{last}");

    team_admins::set_role(db, &team, &actor, new.id, Role::Primary).await.unwrap();
    team_admins::remove(db, &team, &actor, lead.id).await.unwrap();
    let admins = team_admins::list(db, team.id).await.unwrap();
    assert_eq!(
        admins.iter().map(|a| (a.email.as_str(), a.role)).collect::<Vec<_>>(),
        [("new@example.com", Role::Primary)]
    );

    // The admin changes (the new admin's own "password-set" is in the log too).
    let log: Vec<String> = audit::for_team(db, team.id, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "admin-changed")
        .map(|e| e.detail)
        .collect();
    assert_eq!(
        log,
        ["removed lead@example.com", "new@example.com is now primary", "invited new@example.com as secondary"]
    );
}

async fn the_audit_log_pages_through_every_row_to_the_oldest(db: &Db) {
    use tokenboard::access::audit::{AUDIT_PAGE_ROWS, AuditAction, AuditCursor};
    let team = team(db).await;
    let other =
        teams::create_team(db, &NewTeam { slug: "other".into(), name: "Other".into(), time_zone: "UTC".into() })
            .await
            .unwrap();
    for i in 0..1200 {
        audit::record(db, Some(team.id), &Actor::CommandLine, AuditAction::SettingChanged, &format!("row {i}"))
            .await
            .unwrap();
        if i % 100 == 0 {
            audit::record(db, Some(other.id), &Actor::CommandLine, AuditAction::SettingChanged, "elsewhere")
                .await
                .unwrap();
        }
    }

    // Next, Next, … from the newest page reaches the oldest row, each row once.
    let mut seen = Vec::new();
    let mut cursor = AuditCursor::Newest;
    let mut pages = Vec::new();
    loop {
        let page = audit::page(db, team.id, cursor, AUDIT_PAGE_ROWS).await.unwrap();
        assert!(page.entries.len() as i64 <= AUDIT_PAGE_ROWS);
        assert_eq!(page.newer.is_some(), !seen.is_empty(), "only the first page has no Previous");
        seen.extend(page.entries.iter().map(|e| e.detail.clone()));
        pages.push(page.entries.iter().map(|e| e.id).collect::<Vec<_>>());
        match page.older {
            Some(id) => cursor = AuditCursor::Before(id),
            None => break,
        }
    }
    let expected: Vec<String> = (0..1200).rev().map(|i| format!("row {i}")).collect();
    assert_eq!(seen, expected, "newest first, every row of the team, no other team's");
    assert_eq!(pages.len(), 12);

    // Previous, Previous, … from the oldest page comes back to the newest.
    let mut back = vec![pages.last().unwrap().clone()];
    let mut cursor = AuditCursor::After(*back[0].first().unwrap());
    loop {
        let page = audit::page(db, team.id, cursor, AUDIT_PAGE_ROWS).await.unwrap();
        back.push(page.entries.iter().map(|e| e.id).collect());
        match page.newer {
            Some(id) => cursor = AuditCursor::After(id),
            None => break,
        }
    }
    back.reverse();
    assert_eq!(back, pages);
}

db_tests!(
    the_audit_log_pages_through_every_row_to_the_oldest,
    a_settings_change_is_saved_and_audited,
    a_bad_time_zone_changes_nothing,
    primary_admins_manage_admins_but_never_the_last_primary,
);
