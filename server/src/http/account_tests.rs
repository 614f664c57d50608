//! Accounts through the real router (issue 10), on SQLite and PostgreSQL:
//! the two-team invitation takeover fails, an invitation answers the same
//! for new and existing addresses, the set-password link logs its owner in
//! once, and a password change needs the current one and ends the other
//! sessions.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use tokenboard::access::{accounts, auth};
use tokenboard::domain::model::Role;
use tokenboard::{Db, db_tests};

use super::tests::{call_screen, config, router, team};
use crate::config::Config;
use crate::jobs::mailer::SmtpMailer;
use crate::jobs::tests::start_smtp_sink;

async fn call(db: &Db, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    call_with(db, &config(4096), request).await
}

async fn call_with(db: &Db, config: &Config, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = router(db, config).oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn form(path: &str, cookie: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

/// A server function called as the app calls it.
fn server_fn(endpoint: &str, cookie: &str, body: &str) -> Request<Body> {
    let mut request = form(&format!("/api/{endpoint}"), Some(cookie), body);
    request.headers_mut().insert(header::ACCEPT, "application/json".parse().unwrap());
    request
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path).header(header::ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).unwrap()
}

fn location(headers: &HeaderMap) -> &str {
    headers.get(header::LOCATION).map_or("", |l| l.to_str().unwrap())
}

fn session(headers: &HeaderMap) -> Option<String> {
    let cookie = headers.get(header::SET_COOKIE)?.to_str().unwrap();
    cookie.starts_with("tokenboard_session=").then(|| cookie.split(';').next().unwrap().to_owned())
}

async fn login(db: &Db, email: &str, password: &str) -> Option<String> {
    let body = format!("email={email}&password={}&next=/", password.replace(' ', "%20"));
    let (_, headers, _) = call(db, form("/login", None, &body)).await;
    session(&headers).filter(|_| !location(&headers).contains("error="))
}

/// A primary admin of `slug`'s team, logged in.
async fn primary_of(db: &Db, slug: &str, email: &str) -> String {
    let team = team(db, slug).await;
    let admin = accounts::upsert_admin(db, email, "long enough").await.unwrap();
    auth::grant_role(db, team.id, admin.id, Role::Primary).await.unwrap();
    login(db, email, "long enough").await.unwrap()
}

/// The outbox as `cookie`'s admin sees it.
async fn outbox_of(db: &Db, cookie: &str) -> app::api::admin::OutboxScreen {
    let mut request = server_fn("outbox", cookie, "{}");
    request.headers_mut().insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    let (status, screen) = call_screen(db, request).await;
    assert_eq!(status, StatusCode::OK, "{screen:?}");
    screen.unwrap()
}

/// The set-password tokens in the outbox as `cookie`'s admin sees it.
async fn links_seen(db: &Db, cookie: &str) -> Vec<String> {
    format!("{:?}", outbox_of(db, cookie).await)
        .split("token=")
        .skip(1)
        .map(|rest| rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
        .filter(|token: &String| !token.is_empty())
        .collect()
}

async fn invite(db: &Db, cookie: &str, team: &str, email: &str, role: &str) -> (StatusCode, String) {
    let body = format!("team={team}&email={}&role={role}", email.replace('@', "%40"));
    let (status, _, body) = call(db, server_fn("admin_invite", cookie, &body)).await;
    (status, body)
}

/// Issue 10 item 1: team A's primary invites X, team B's primary adds X as
/// primary. Whatever A's admin saw (the answer, the outbox) neither logs in
/// as X nor opens team B. On the old code the answer held X's password.
async fn the_two_team_invitation_takeover_fails(db: &Db) {
    let alice = primary_of(db, "team-a", "alice@a.example").await;
    let bob = primary_of(db, "team-b", "bob@b.example").await;

    let (status, answer) = invite(db, &alice, "team-a", "x@example.com", "secondary").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer, serde_json::json!({ "email": "x@example.com" }), "no password in the answer");
    let seen_by_alice = links_seen(db, &alice).await;
    assert_eq!(seen_by_alice.len(), 1, "without SMTP the inviter sees the link to pass on");

    let (status, answer) = invite(db, &bob, "team-b", "x@example.com", "primary").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(links_seen(db, &bob).await.is_empty(), "adding an existing account hands out nothing");

    for link in &seen_by_alice {
        let (_, headers, _) =
            call(db, form("/set-password", None, &format!("token={link}&password=alice%27s%20pick"))).await;
        assert_eq!(location(&headers), "/set-password?error=link");
        assert!(session(&headers).is_none(), "the link logs nobody in");
    }
    assert!(login(db, "x@example.com", "alice's pick").await.is_none());
    let (status, _, _) = call(db, get("/teams/team-b/settings", Some(&alice))).await;
    assert_ne!(status, StatusCode::OK);
}

/// Issue 10 item 1, one step reordered: without SMTP, team A's primary
/// reads X's link in the outbox and sets X's password himself, then team B
/// adds X as primary. Gaining team B voids the password A's admin chose and
/// ends his sessions as X; the operator sets X's password. On the old code
/// A's admin logged in as X and opened team B's settings.
async fn a_password_team_a_set_for_x_does_not_open_team_b(db: &Db) {
    let alice = primary_of(db, "team-a", "alice@a.example").await;
    let bob = primary_of(db, "team-b", "bob@b.example").await;
    invite(db, &alice, "team-a", "x@example.com", "secondary").await;
    let [link] = links_seen(db, &alice).await.try_into().unwrap();
    let (_, headers, _) =
        call(db, form("/set-password", None, &format!("token={link}&password=alice%27s%20pick"))).await;
    assert_eq!(location(&headers), "/", "the link still works for whoever holds it");
    let as_x = session(&headers).unwrap();

    let (status, answer) = invite(db, &bob, "team-b", "x@example.com", "primary").await;
    assert_eq!((status, answer.as_str()), (StatusCode::OK, r#"{"email":"x@example.com"}"#));
    assert!(links_seen(db, &bob).await.is_empty(), "without SMTP nobody gets a link to pass on");
    assert!(login(db, "x@example.com", "alice's pick").await.is_none());
    assert!(call(db, get("/teams/team-b/settings", Some(&as_x))).await.0.is_redirection(), "sessions ended");
    assert!(call(db, get("/teams/team-a/summary", Some(&as_x))).await.0.is_redirection());

    // The operator (`tokenboard admin`) gives X a password only X knows.
    accounts::upsert_admin(db, "x@example.com", "x's own choice").await.unwrap();
    let x = login(db, "x@example.com", "x's own choice").await.unwrap();
    assert_eq!(call(db, get("/teams/team-b/settings", Some(&x))).await.0, StatusCode::OK);
    let team_c = team(db, "team-c").await;
    let x_id = accounts::admin_id_by_email(db, "x@example.com").await.unwrap().unwrap();
    auth::grant_role(db, team_c.id, x_id, Role::Secondary).await.unwrap();
    assert!(login(db, "x@example.com", "x's own choice").await.is_some(), "the operator's password stays");
}

/// The same sequence once the server has SMTP: team B's invitation voids the
/// password A's admin chose and mails X a fresh link, which X alone sees and
/// which sets a password that opens both teams (and stays when a third adds X).
async fn with_smtp_x_sets_a_password_by_mail_and_reaches_both_teams(db: &Db) {
    let alice = primary_of(db, "team-a", "alice@a.example").await;
    invite(db, &alice, "team-a", "x@example.com", "secondary").await;
    let [link] = links_seen(db, &alice).await.try_into().unwrap();
    call(db, form("/set-password", None, &format!("token={link}&password=alice%27s%20pick"))).await;
    assert!(login(db, "x@example.com", "alice's pick").await.is_some());

    let (smtp, received) = start_smtp_sink();
    let mut with_smtp = config(4096);
    with_smtp.smtp_url = Some(format!("smtp://{smtp}"));
    let mailer = SmtpMailer::new(&format!("smtp://{smtp}"), &with_smtp.mail_from).unwrap();
    let bob = primary_of(db, "team-b", "bob@b.example").await;
    let body = "team=team-b&email=x%40example.com&role=primary";
    let (status, _, answer) = call_with(db, &with_smtp, server_fn("admin_invite", &bob, body)).await;
    assert_eq!((status, answer.as_str()), (StatusCode::OK, r#"{"email":"x@example.com"}"#));
    assert!(login(db, "x@example.com", "alice's pick").await.is_none());
    assert_eq!(mailer.deliver_outbox(db).await.unwrap(), 2, "the old invitation and the new one");

    let mails = received.lock().unwrap().clone();
    let mail = mails.iter().rfind(|m| m.to == ["x@example.com"]).unwrap();
    let (_, encoded) = mail.data.split_once("\r\n\r\n").unwrap();
    let text =
        String::from_utf8(quoted_printable::decode(encoded, quoted_printable::ParseMode::Robust).unwrap()).unwrap();
    let token = text.split("set-password?token=").nth(1).expect("a fresh link").split_whitespace().next().unwrap();
    let (_, headers, _) =
        call_with(db, &with_smtp, form("/set-password", None, &format!("token={token}&password=x%27s%20own%20choice")))
            .await;
    assert_eq!(location(&headers), "/");
    let x = login(db, "x@example.com", "x's own choice").await.unwrap();
    assert_eq!(call(db, get("/teams/team-a/summary", Some(&x))).await.0, StatusCode::OK);
    assert_eq!(call(db, get("/teams/team-b/settings", Some(&x))).await.0, StatusCode::OK);

    let carol = primary_of(db, "team-c", "carol@c.example").await;
    let body = "team=team-c&email=x%40example.com&role=secondary";
    assert_eq!(call_with(db, &with_smtp, server_fn("admin_invite", &carol, body)).await.0, StatusCode::OK);
    assert!(login(db, "x@example.com", "x's own choice").await.is_some(), "a password only X knows stays");
}

/// Issue 10 item 1: the answer does not tell whether the address had an account.
async fn an_invitation_answers_the_same_for_new_and_existing_addresses(db: &Db) {
    let alice = primary_of(db, "team-a", "alice@a.example").await;
    let elsewhere = team(db, "team-c").await;
    let known = accounts::upsert_admin(db, "known@example.com", "long enough").await.unwrap();
    auth::grant_role(db, elsewhere.id, known.id, Role::Secondary).await.unwrap();

    let (status_known, known) = invite(db, &alice, "team-a", "known@example.com", "secondary").await;
    let (status_new, new) = invite(db, &alice, "team-a", "new@example.com", "secondary").await;
    assert_eq!((status_known, status_new), (StatusCode::OK, StatusCode::OK));
    assert_eq!(known.replace("known@", "new@"), new);
}

/// The link sets the password once, logs its owner in, and is refused after;
/// a secondary admin of the team never sees it in the outbox.
async fn the_set_password_link_logs_its_owner_in_once(db: &Db) {
    let alice = primary_of(db, "team-a", "alice@a.example").await;
    invite(db, &alice, "team-a", "sam@example.com", "secondary").await;
    let [link] = links_seen(db, &alice).await.try_into().unwrap();
    invite(db, &alice, "team-a", "x@example.com", "secondary").await;
    assert_eq!(links_seen(db, &alice).await.len(), 2);

    let (status, _, page) = call(db, get(&format!("/set-password?token={link}"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"action="/set-password""#) && page.contains(&link), "a plain form carries the token");

    let (_, headers, _) = call(db, form("/set-password", None, &format!("token={link}&password=short"))).await;
    assert_eq!(location(&headers), format!("/set-password?error=short&token={link}"));
    let (_, headers, _) = call(db, form("/set-password", None, &format!("token={link}&password=sam%27s%20own"))).await;
    assert_eq!(location(&headers), "/");
    let sam = session(&headers).expect("logged in");
    assert_eq!(call(db, get("/teams/team-a/summary", Some(&sam))).await.0, StatusCode::OK);
    let outbox = outbox_of(db, &sam).await;
    // The outbox is the primaries' (it shows primary-only settings too).
    assert!(outbox.mails.is_empty() && !format!("{outbox:?}").contains("set-password"), "{outbox:?}");
    assert!(links_seen(db, &sam).await.is_empty(), "a secondary sees no set-password link");

    let (_, headers, _) = call(db, form("/set-password", None, &format!("token={link}&password=another%20one"))).await;
    assert_eq!(location(&headers), "/set-password?error=link");
    assert!(login(db, "sam@example.com", "another one").await.is_none());
    assert!(login(db, "sam@example.com", "sam's own").await.is_some());
}

/// Issue 10 item 10: a password change needs the current password and ends
/// the account's other sessions, keeping this one.
async fn a_password_change_keeps_this_session_and_ends_the_others(db: &Db) {
    let here = primary_of(db, "mine", "me@example.com").await;
    let laptop = login(db, "me@example.com", "long enough").await.unwrap();
    let (status, _, page) = call(db, get("/account", Some(&here))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"action="/account/password""#), "{page:.500}");
    let (_, headers, _) = call(db, form("/account/password", None, "current_password=x&new_password=y")).await;
    assert!(location(&headers).starts_with("/login?next="));

    let change = |current: &str, new: &str| format!("current_password={current}&new_password={new}");
    let (_, headers, _) = call(db, form("/account/password", Some(&here), &change("guess", "brand%20new"))).await;
    assert_eq!(location(&headers), "/account?error=current");
    let (_, headers, _) = call(db, form("/account/password", Some(&here), &change("long%20enough", "short"))).await;
    assert_eq!(location(&headers), "/account?error=short");
    assert_eq!(call(db, get("/teams/mine/summary", Some(&laptop))).await.0, StatusCode::OK, "nothing changed");

    let (_, headers, _) =
        call(db, form("/account/password", Some(&here), &change("long%20enough", "brand%20new"))).await;
    assert_eq!(location(&headers), "/account?done=password");
    assert_eq!(call(db, get("/teams/mine/summary", Some(&here))).await.0, StatusCode::OK);
    assert!(call(db, get("/teams/mine/summary", Some(&laptop))).await.0.is_redirection());
    assert!(login(db, "me@example.com", "long enough").await.is_none());
    assert!(login(db, "me@example.com", "brand new").await.is_some());
}

/// A stolen session cannot guess the current password faster than the login
/// page allows: the change counts under the same limit.
async fn guessing_the_current_password_is_limited_like_a_login(db: &Db) {
    let here = primary_of(db, "mine", "me@example.com").await;
    let change = |current: &str| format!("current_password={current}&new_password=brand%20new");
    let mut checked = 0;
    for n in 0..20 {
        let (_, headers, _) = call(db, form("/account/password", Some(&here), &change(&format!("guess{n}")))).await;
        match location(&headers) {
            "/account?error=current" => checked += 1,
            other => assert_eq!(other, "/account?error=locked", "guess {n}"),
        }
    }
    // The same progressive delay and cap as the login page.
    assert!(
        (1..=tokenboard::access::login_limits::MAX_FAILURES_PER_ACCOUNT).contains(&checked),
        "{checked} guesses checked"
    );
    let (_, headers, _) = call(db, form("/account/password", Some(&here), &change("long%20enough"))).await;
    assert_eq!(location(&headers), "/account?error=locked");
    assert!(login(db, "me@example.com", "brand new").await.is_none(), "nothing changed");
}

db_tests!(
    guessing_the_current_password_is_limited_like_a_login,
    the_two_team_invitation_takeover_fails,
    a_password_team_a_set_for_x_does_not_open_team_b,
    with_smtp_x_sets_a_password_by_mail_and_reaches_both_teams,
    an_invitation_answers_the_same_for_new_and_existing_addresses,
    the_set_password_link_logs_its_owner_in_once,
    a_password_change_keeps_this_session_and_ends_the_others,
);
