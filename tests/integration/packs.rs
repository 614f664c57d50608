//! Packs, moves and adjustments against a real database, on SQLite and
//! PostgreSQL: every change is audited and applied by the ledger; a move
//! changes both teams' Balances and Forecast by exactly the moved tokens.

use chrono::Days;
use tokenboard::Db;
use tokenboard::access::audit::{self, Actor};
use tokenboard::db_tests;
use tokenboard::domain::model::{Role, TokenEventKind};
use tokenboard::domain::packs::{self, PackInput};
use tokenboard::domain::teams::{NewTeam, Team, create_team};
use tokenboard::ingest::import::import_usage_csv;
use tokenboard::report::screens::{forecast, team_balance};

async fn team(db: &Db, slug: &str) -> Team {
    create_team(db, &NewTeam { slug: slug.into(), name: format!("Team {slug}"), time_zone: "UTC".into() })
        .await
        .unwrap()
}

async fn used_daily(db: &Db, team: &Team, tokens: i64) {
    let today = team.today();
    let mut csv = String::from("Email,Product,Usage date,Tokens used\n");
    for n in 1..=30 {
        csv.push_str(&format!("a@x.com,Revit,{},{tokens}\n", today - Days::new(n)));
    }
    import_usage_csv(db, team, csv.as_bytes()).await.unwrap();
}

async fn admin(db: &Db) -> Actor {
    let admin = tokenboard::access::accounts::upsert_admin(db, "primary@example.com", "long enough").await.unwrap();
    Actor::Admin { id: admin.id, email: admin.email }
}

async fn a_move_changes_both_teams_by_exactly_the_moved_tokens(db: &Db) {
    let (a, b) = (team(db, "alpha").await, team(db, "beta").await);
    let admin = admin(db).await;
    let today = a.today();
    let bought = today - Days::new(60);
    let source = packs::create_pack(
        db,
        &a,
        &PackInput { tokens: 5_000, purchased_on: bought, expires_on: None, order_ref: "PO-1".into() },
        &admin,
    )
    .await
    .unwrap();
    packs::add_pack(db, b.id, 300, bought, None).await.unwrap();
    used_daily(db, &a, 20).await;
    used_daily(db, &b, 20).await;
    let (a_before, b_before) =
        (team_balance(db, &a, Role::Primary).await.unwrap(), team_balance(db, &b, Role::Primary).await.unwrap());
    let (fa_before, fb_before) = (forecast(db, &a).await.unwrap(), forecast(db, &b).await.unwrap());

    let moved = packs::move_tokens(db, &a, &b, source.id, 1_200, &admin).await.unwrap();
    assert_eq!((moved.tokens, moved.expires_on), (1_200, source.expires_on), "the source pack's expiry");

    let (a_after, b_after) =
        (team_balance(db, &a, Role::Primary).await.unwrap(), team_balance(db, &b, Role::Primary).await.unwrap());
    assert_eq!(a_after.balance.available, a_before.balance.available - 1_200);
    assert_eq!(a_after.balance.total, a_before.balance.total - 1_200);
    assert_eq!(b_after.balance.available, b_before.balance.available + 1_200);
    assert_eq!(b_after.balance.total, b_before.balance.total + 1_200);
    let (fa_after, fb_after) = (forecast(db, &a).await.unwrap(), forecast(db, &b).await.unwrap());
    assert_eq!(fa_after.forecast.balance.available, fa_before.forecast.balance.available - 1_200);
    assert_eq!(fb_after.forecast.balance.available, fb_before.forecast.balance.available + 1_200);
    assert!(fb_after.forecast.run_out > fb_before.forecast.run_out, "beta now runs out later");
    assert!(a_after.events.iter().any(|e| e.kind == TokenEventKind::MoveOut && e.amount == -1_200));
    assert!(b_after.events.iter().any(|e| e.kind == TokenEventKind::MoveIn && e.amount == 1_200));
    for t in [&a, &b] {
        let log = audit::for_team(db, t.id, 5).await.unwrap();
        assert_eq!(log[0].action, "tokens-moved", "{}", t.slug);
    }

    let too_much = packs::move_tokens(db, &a, &b, source.id, 1_000_000, &admin).await;
    assert!(matches!(too_much, Err(tokenboard::Error::Invalid(_))), "{too_much:?}");
    assert_eq!(
        team_balance(db, &a, Role::Primary).await.unwrap().balance,
        a_after.balance,
        "a refused move changes nothing"
    );
}

async fn packs_are_added_corrected_voided_and_adjusted_with_an_audit_trail(db: &Db) {
    let t = team(db, "design").await;
    let admin = admin(db).await;
    let today = t.today();
    let input =
        PackInput { tokens: 1_000, purchased_on: today - Days::new(10), expires_on: None, order_ref: "PO-7".into() };
    let pack = packs::create_pack(db, &t, &input, &admin).await.unwrap();
    let wrong = packs::create_pack(db, &t, &PackInput { tokens: 99, ..input.clone() }, &admin).await.unwrap();
    used_daily(db, &t, 5).await;
    let total = |b: &tokenboard::report::views::TeamBalanceView| b.balance.total;
    assert_eq!(total(&team_balance(db, &t, Role::Primary).await.unwrap()), 1_099);

    packs::edit_pack(db, &t, pack.id, &PackInput { tokens: 1_500, ..input.clone() }, &admin).await.unwrap();
    packs::void_pack(db, &t, wrong.id, &admin).await.unwrap();
    let balance = team_balance(db, &t, Role::Primary).await.unwrap();
    assert_eq!(total(&balance), 1_500);
    assert_eq!(balance.balance.used, 150);

    packs::adjust_tokens(db, &t, 40, None, "goodwill credit", &admin).await.unwrap();
    packs::adjust_tokens(db, &t, -90, None, "vendor correction", &admin).await.unwrap();
    let balance = team_balance(db, &t, Role::Primary).await.unwrap();
    assert_eq!((balance.balance.total, balance.balance.available), (1_450, 1_300));
    let adjustments: Vec<i64> =
        balance.events.iter().filter(|e| e.kind == TokenEventKind::Adjustment).map(|e| e.amount).collect();
    assert_eq!(adjustments.iter().sum::<i64>(), -50);
    // Balances are kept per version of the team's charges and packs: a
    // pack added with no import since shows at once, on every screen.
    packs::create_pack(db, &t, &PackInput { tokens: 10, ..input.clone() }, &admin).await.unwrap();
    assert_eq!(team_balance(db, &t, Role::Primary).await.unwrap().balance.total, 1_460);
    assert_eq!(forecast(db, &t).await.unwrap().forecast.balance.total, 1_460);

    let actions: Vec<String> = audit::for_team(db, t.id, 10).await.unwrap().into_iter().map(|e| e.action).collect();
    for action in ["pack-added", "pack-changed", "pack-voided", "tokens-adjusted"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
    let no_reason = packs::adjust_tokens(db, &t, 5, None, "  ", &admin).await;
    assert!(matches!(no_reason, Err(tokenboard::Error::Invalid(_))));
    let bad_dates =
        packs::create_pack(db, &t, &PackInput { expires_on: Some(input.purchased_on), ..input.clone() }, &admin).await;
    assert!(matches!(bad_dates, Err(tokenboard::Error::Invalid(_))));
    let other = team(db, "other").await;
    let foreign = packs::void_pack(db, &other, pack.id, &admin).await;
    assert!(matches!(foreign, Err(tokenboard::Error::NotFound(_))), "another team's pack does not exist for it");
}

/// Two moves that together ask for more than the pack holds: one wins.
async fn parallel_moves_cannot_take_the_same_tokens_twice(db: &Db) {
    let (a, b) = (team(db, "alpha").await, team(db, "beta").await);
    let admin = admin(db).await;
    let source = packs::add_pack(db, a.id, 1_000, a.today() - Days::new(5), None).await.unwrap();
    let (first, second) = tokio::join!(
        packs::move_tokens(db, &a, &b, source.id, 700, &admin),
        packs::move_tokens(db, &a, &b, source.id, 700, &admin),
    );
    assert_eq!(usize::from(first.is_ok()) + usize::from(second.is_ok()), 1, "{first:?} {second:?}");
    let balance = team_balance(db, &a, Role::Primary).await.unwrap().balance;
    assert_eq!((balance.total, balance.available), (300, 300));
}

db_tests!(
    parallel_moves_cannot_take_the_same_tokens_twice,
    a_move_changes_both_teams_by_exactly_the_moved_tokens,
    packs_are_added_corrected_voided_and_adjusted_with_an_audit_trail,
);
