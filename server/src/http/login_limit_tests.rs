//! The login limit under attack (issue 10 item 4), through the real router on
//! SQLite and PostgreSQL: parallel guesses cannot overtake it, and an
//! attacker's lockout does not reach the admin at another address.

use axum::body::Body;
use axum::http::{HeaderName, Request, header};
use tower::ServiceExt;

use tokenboard::access::login_limits::MAX_FAILURES_PER_ACCOUNT;
use tokenboard::{Db, access::accounts, db_tests};

use super::tests::{audit_actions, config, login_from, router};

const ATTACKER: [u8; 4] = [203, 0, 113, 66];
const ADMIN: [u8; 4] = [198, 51, 100, 7];

/// Where a login answer sends the browser, and whether it started a session.
async fn outcome(router: &axum::Router, request: Request<Body>) -> (String, bool) {
    let response = router.clone().oneshot(request).await.unwrap();
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    (location, response.headers().contains_key(header::SET_COOKIE))
}

async fn checked_passwords(db: &Db, email: &str) -> usize {
    audit_actions(db).await.iter().filter(|(actor, action)| actor == email && action == "login-failed").count()
}

/// 60 wrong passwords at once reach the password check at most the limit's
/// number of times (the old check-then-record let 58 through); the right
/// password is then refused from that address but not from the admin's own.
async fn parallel_guesses_cannot_overtake_the_limit_nor_lock_out_the_admin(db: &Db) {
    accounts::upsert_admin(db, "admin@example.com", "right password").await.unwrap();
    let router = router(db, &config(4096));
    let guesses =
        (0..60).map(|n| outcome(&router, login_from("admin@example.com", &format!("guess{n}"), ATTACKER, None)));
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers.iter().filter(|(location, _)| location.contains("error=credentials")).count();
    let refused = answers.iter().filter(|(location, _)| location.contains("error=locked")).count();
    assert_eq!(checked + refused, 60, "{answers:?}");
    assert!((1..=MAX_FAILURES_PER_ACCOUNT as usize).contains(&checked), "{checked} guesses reached argon2");
    assert_eq!(checked_passwords(db, "admin@example.com").await, checked, "every checked guess is audited");

    let (location, session) =
        outcome(&router, login_from("admin@example.com", "right%20password", ATTACKER, None)).await;
    assert!(location.contains("error=locked") && !session, "{location}");
    // A forwarded-for header is not trusted unless the operator said so.
    let mut spoofed = login_from("admin@example.com", "right%20password", ATTACKER, None);
    spoofed.headers_mut().insert("x-forwarded-for", "192.0.2.1".parse().unwrap());
    let (location, session) = outcome(&router, spoofed).await;
    assert!(location.contains("error=locked") && !session, "{location}");

    let (location, session) = outcome(&router, login_from("admin@example.com", "right%20password", ADMIN, None)).await;
    assert_eq!((location.as_str(), session), ("/balances", true), "the admin logs in from their own address");
}

/// Behind a proxy (TOKENBOARD_TRUSTED_PROXY_HEADER), the right-most entry —
/// the one the proxy appended — keys the limit: a client cannot choose its
/// key by sending its own header, and clients behind one proxy are apart.
async fn behind_a_proxy_the_appended_address_keys_the_limit(db: &Db) {
    accounts::upsert_admin(db, "admin@example.com", "right password").await.unwrap();
    let mut config = config(4096);
    config.trusted_proxy_header = Some(HeaderName::from_static("x-forwarded-for"));
    let router = router(db, &config);
    let proxy = [10, 0, 0, 1];
    let via_proxy = |password: &str, forwarded: &str| {
        let mut request = login_from("admin@example.com", password, proxy, None);
        request.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
        request
    };
    for n in 0..MAX_FAILURES_PER_ACCOUNT {
        // The attacker varies the entries it controls; the proxy's stays last.
        outcome(&router, via_proxy(&format!("guess{n}"), &format!("192.0.2.{n}, 203.0.113.66"))).await;
    }
    let (location, _) = outcome(&router, via_proxy("right%20password", "203.0.113.66")).await;
    assert!(location.contains("error=locked"), "{location}");
    let (location, session) = outcome(&router, via_proxy("right%20password", "203.0.113.66, 198.51.100.7")).await;
    assert_eq!((location.as_str(), session), ("/balances", true), "another client behind the same proxy");
}

db_tests!(
    parallel_guesses_cannot_overtake_the_limit_nor_lock_out_the_admin,
    behind_a_proxy_the_appended_address_keys_the_limit,
);
