//! Accounts (issue 10) on SQLite and PostgreSQL: invitations hand out no
//! password but a single-use, expiring set-password link that never opens a
//! team its viewers do not administer; concurrent invitations yield at most
//! one usable link; sessions end after their idle time and lifetime and are
//! purged; a team keeps a primary admin under concurrent changes.

use chrono::{Duration, Utc};
use tokenboard::access::audit::Actor;
use tokenboard::access::password_links::{self, RedeemError};
use tokenboard::access::sessions::{self, SessionPolicy};
use tokenboard::access::{accounts, auth};
use tokenboard::domain::model::Role;
use tokenboard::domain::teams::{self, NewTeam, Team};
use tokenboard::{Db, access::team_admins, db_tests, notify::mail, on_db};

async fn team(db: &Db, slug: &str) -> Team {
    let new = NewTeam { slug: slug.into(), name: format!("Team {slug}"), time_zone: "UTC".into() };
    teams::create_team(db, &new).await.unwrap()
}

/// A primary admin of `team` and how they act.
async fn primary(db: &Db, team: &Team, email: &str) -> Actor {
    let admin = accounts::upsert_admin(db, email, "long enough").await.unwrap();
    auth::grant_role(db, team.id, admin.id, Role::Primary).await.unwrap();
    Actor::Admin { id: admin.id, email: admin.email }
}

/// Every set-password token the team's outbox shows its primaries (no SMTP).
async fn links_in_outbox(db: &Db, team: &Team) -> Vec<String> {
    mail::for_teams(db, &[team.id], &[team.id])
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| Some(m.body.split("token=").nth(1)?.split_whitespace().next()?.to_owned()))
        .collect()
}

async fn count(db: &Db, sql: &str) -> i64 {
    on_db!(db, |p| sqlx::query_scalar(sql).fetch_one(p).await.unwrap())
}

async fn a_set_password_link_works_once_and_expires(db: &Db) {
    let design = team(db, "design").await;
    let lead = primary(db, &design, "lead@example.com").await;
    team_admins::invite(db, &design, &lead, "new@example.com", Role::Secondary, "http://tb.test", false).await.unwrap();
    // The invited account has no password: nothing logs in as it yet.
    assert!(accounts::verify_login(db, "new@example.com", "!").await.unwrap().is_none());
    let [link] = links_in_outbox(db, &design).await.try_into().unwrap();
    let now = Utc::now();

    let short = password_links::redeem(db, &link, "short", now).await.unwrap_err();
    assert!(matches!(short, RedeemError::TooShort), "{short}");
    let expired = password_links::redeem(db, &link, "long enough", now + Duration::hours(73)).await.unwrap_err();
    assert!(matches!(expired, RedeemError::InvalidLink), "{expired}");
    let admin = password_links::redeem(db, &link, "long enough", now).await.unwrap();
    assert_eq!(admin.email, "new@example.com");
    assert!(accounts::verify_login(db, "new@example.com", "long enough").await.unwrap().is_some());
    let again = password_links::redeem(db, &link, "taken over!", now).await.unwrap_err();
    assert!(matches!(again, RedeemError::InvalidLink), "{again}");
    assert!(accounts::verify_login(db, "new@example.com", "taken over!").await.unwrap().is_none());

    // Inviting an existing account hands out nothing: its mail has no link.
    let other = team(db, "other").await;
    let boss = primary(db, &other, "boss@example.com").await;
    team_admins::invite(db, &other, &boss, "new@example.com", Role::Primary, "http://tb.test", false).await.unwrap();
    assert!(links_in_outbox(db, &other).await.is_empty());
}

/// Team A invites X, team B adds X: the link A's admins saw opens nothing,
/// neither X's account nor team B, whatever the order of A's later attempts.
async fn a_link_seen_by_one_team_never_opens_another(db: &Db) {
    let a = team(db, "a").await;
    let b = team(db, "b").await;
    let admin_a = primary(db, &a, "a@example.com").await;
    let admin_b = primary(db, &b, "b@example.com").await;
    team_admins::invite(db, &a, &admin_a, "x@example.com", Role::Secondary, "http://tb.test", false).await.unwrap();
    let seen_by_a = links_in_outbox(db, &a).await;
    assert_eq!(seen_by_a.len(), 1);
    team_admins::invite(db, &b, &admin_b, "x@example.com", Role::Primary, "http://tb.test", false).await.unwrap();
    for link in &seen_by_a {
        let refused = password_links::redeem(db, link, "attacker's pick", Utc::now()).await.unwrap_err();
        assert!(matches!(refused, RedeemError::InvalidLink), "{refused}");
    }
    assert!(accounts::verify_login(db, "x@example.com", "attacker's pick").await.unwrap().is_none());
    // Removing X from B again does not bring A's old link back.
    let x = accounts::admin_id_by_email(db, "x@example.com").await.unwrap().unwrap();
    team_admins::remove(db, &b, &admin_b, x).await.unwrap();
    for link in &seen_by_a {
        assert!(password_links::redeem(db, link, "attacker's pick", Utc::now()).await.is_err());
    }
    assert_eq!(count(db, "SELECT COUNT(*) FROM set_password_tokens").await, 0);
}

/// A role granted from the command line or the demo (`auth::grant_role`)
/// voids, like an invitation, a password team A's admins may have set through
/// the link they saw, and ends its sessions; the operator's password stays.
async fn a_role_from_the_command_line_voids_a_password_another_team_knows(db: &Db) {
    let a = team(db, "a").await;
    let b = team(db, "b").await;
    let admin_a = primary(db, &a, "a@example.com").await;
    team_admins::invite(db, &a, &admin_a, "x@example.com", Role::Secondary, "http://tb.test", false).await.unwrap();
    let [link] = links_in_outbox(db, &a).await.try_into().unwrap();
    let x = password_links::redeem(db, &link, "attacker's pick", Utc::now()).await.unwrap();
    let policy = SessionPolicy::default();
    let session = sessions::create_session(db, x.id, &policy).await.unwrap();

    auth::grant_role(db, a.id, x.id, Role::Primary).await.unwrap();
    assert!(accounts::verify_login(db, "x@example.com", "attacker's pick").await.unwrap().is_some(), "same team");
    auth::grant_role(db, b.id, x.id, Role::Secondary).await.unwrap();
    assert!(accounts::verify_login(db, "x@example.com", "attacker's pick").await.unwrap().is_none());
    assert!(sessions::session_admin(db, &session, &policy, Utc::now()).await.unwrap().is_none());

    accounts::upsert_admin(db, "x@example.com", "the operator's pick").await.unwrap();
    let c = team(db, "c").await;
    auth::grant_role(db, c.id, x.id, Role::Secondary).await.unwrap();
    assert!(accounts::verify_login(db, "x@example.com", "the operator's pick").await.unwrap().is_some());
}

/// Five invitations of one new address from each of two teams at once: one
/// account, and no link that works (the account is in both teams, so a link
/// either team saw would open the other). From one team only: one account
/// and exactly one working link.
async fn concurrent_invitations_yield_at_most_one_usable_link(db: &Db) {
    let a = team(db, "a").await;
    let b = team(db, "b").await;
    let admin_a = primary(db, &a, "a@example.com").await;
    let admin_b = primary(db, &b, "b@example.com").await;
    let invite_all = |email: &'static str, teams: Vec<(Team, Actor)>| {
        let db = db.clone();
        async move {
            let mut tasks = Vec::new();
            for _ in 0..5 {
                for (team, actor) in &teams {
                    let (db, team, actor) = (db.clone(), team.clone(), actor.clone());
                    tasks.push(tokio::spawn(async move {
                        team_admins::invite(&db, &team, &actor, email, Role::Primary, "http://tb.test", false).await
                    }));
                }
            }
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.unwrap());
            }
            answers
        }
    };

    let answers = invite_all("y@example.com", vec![(a.clone(), admin_a.clone()), (b.clone(), admin_b.clone())]).await;
    assert!(answers.iter().any(Result::is_ok), "{answers:?}");
    assert_eq!(count(db, "SELECT COUNT(*) FROM admins WHERE email = 'y@example.com'").await, 1);
    let mut links = links_in_outbox(db, &a).await;
    links.extend(links_in_outbox(db, &b).await);
    for link in &links {
        assert!(password_links::redeem(db, link, "long enough", Utc::now()).await.is_err(), "a usable link");
    }

    invite_all("z@example.com", vec![(a.clone(), admin_a.clone())]).await;
    let links: Vec<String> =
        links_in_outbox(db, &a).await.into_iter().filter(|l| !links.contains(l)).collect::<Vec<_>>();
    assert!(!links.is_empty());
    let mut usable = 0;
    for link in &links {
        usable += usize::from(password_links::redeem(db, link, "long enough", Utc::now()).await.is_ok());
    }
    assert_eq!(usable, 1, "{} links, {usable} usable", links.len());
    assert!(links_in_outbox(db, &b).await.iter().all(|l| !links.contains(l)), "B never sees A's links");
}

async fn sessions_end_after_idle_time_and_lifetime_and_are_purged(db: &Db) {
    let admin = accounts::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    let policy = SessionPolicy { idle: Duration::hours(12), max_age: Duration::days(14) };
    let start = Utc::now();
    let idle = sessions::create_session(db, admin.id, &policy).await.unwrap();
    let busy = sessions::create_session(db, admin.id, &policy).await.unwrap();
    let alive = |token: &str, at| {
        let (db, token) = (db.clone(), token.to_owned());
        async move { sessions::session_admin(&db, &token, &policy, at).await.unwrap().is_some() }
    };
    // Use within the idle time keeps a session alive; 12 h without use ends it.
    assert!(alive(&idle, start + Duration::hours(11)).await);
    assert!(alive(&idle, start + Duration::hours(22)).await);
    assert!(!alive(&idle, start + Duration::hours(34) + Duration::minutes(1)).await);
    // However busy, a session ends 14 days after login.
    let mut at = start;
    while at < start + Duration::days(14) - Duration::hours(10) {
        at += Duration::hours(10);
        assert!(alive(&busy, at).await, "alive at {}", at - start);
    }
    assert!(!alive(&busy, start + Duration::days(14) + Duration::seconds(1)).await);

    // The purge deletes exactly the ended sessions: 35 h in, the idle one.
    let purged = sessions::purge_sessions(db, &policy, start + Duration::hours(35)).await.unwrap();
    assert_eq!(purged, 1);
    assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 1);
    assert_eq!(sessions::purge_sessions(db, &policy, start + Duration::days(15)).await.unwrap(), 1);
    assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 0);
}

async fn a_password_change_needs_the_current_one_and_ends_other_sessions(db: &Db) {
    let admin = accounts::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    let policy = SessionPolicy::default();
    let here = sessions::create_session(db, admin.id, &policy).await.unwrap();
    let elsewhere = sessions::create_session(db, admin.id, &policy).await.unwrap();
    let wrong = accounts::change_password(db, &admin, "guess", "new password", &here).await.unwrap_err();
    assert!(matches!(wrong, accounts::PasswordChangeError::WrongCurrent), "{wrong}");
    let short = accounts::change_password(db, &admin, "long enough", "short", &here).await.unwrap_err();
    assert!(matches!(short, accounts::PasswordChangeError::TooShort), "{short}");
    assert!(sessions::session_admin(db, &elsewhere, &policy, Utc::now()).await.unwrap().is_some(), "nothing changed");

    accounts::change_password(db, &admin, "long enough", "new password", &here).await.unwrap();
    assert!(accounts::verify_login(db, "me@example.com", "new password").await.unwrap().is_some());
    assert!(accounts::verify_login(db, "me@example.com", "long enough").await.unwrap().is_none());
    assert!(sessions::session_admin(db, &here, &policy, Utc::now()).await.unwrap().is_some());
    assert!(sessions::session_admin(db, &elsewhere, &policy, Utc::now()).await.unwrap().is_none());
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'password-changed' AND team_id IS NULL").await,
        1
    );
}

/// Two primaries demote or remove each other at the same moment, many times
/// over: every time exactly one primary is left.
async fn concurrent_changes_leave_exactly_one_primary(db: &Db) {
    let design = team(db, "design").await;
    let one = primary(db, &design, "one@example.com").await;
    let two = primary(db, &design, "two@example.com").await;
    let (one_id, two_id) = (one.admin_id().unwrap(), two.admin_id().unwrap());
    for round in 0..12 {
        auth::grant_role(db, design.id, one_id, Role::Primary).await.unwrap();
        auth::grant_role(db, design.id, two_id, Role::Primary).await.unwrap();
        let change = |actor: Actor, target: i64| {
            let (db, design) = (db.clone(), design.clone());
            tokio::spawn(async move {
                if round % 2 == 0 {
                    team_admins::set_role(&db, &design, &actor, target, Role::Secondary).await
                } else {
                    team_admins::remove(&db, &design, &actor, target).await
                }
            })
        };
        let (first, second) = (change(one.clone(), two_id), change(two.clone(), one_id));
        let outcomes = [first.await.unwrap(), second.await.unwrap()];
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "round {round}: {outcomes:?}");
        let primaries = team_admins::list(db, design.id).await.unwrap();
        assert_eq!(primaries.iter().filter(|a| a.role == Role::Primary).count(), 1, "round {round}");
    }
}

db_tests!(
    a_set_password_link_works_once_and_expires,
    a_link_seen_by_one_team_never_opens_another,
    a_role_from_the_command_line_voids_a_password_another_team_knows,
    concurrent_invitations_yield_at_most_one_usable_link,
    sessions_end_after_idle_time_and_lifetime_and_are_purged,
    a_password_change_needs_the_current_one_and_ends_other_sessions,
    concurrent_changes_leave_exactly_one_primary,
);
