//! `POST /charts/svg`: a logged-in admin gets the drawing at a card's width,
//! its text escaped; a drawing larger than any page draws, or no drawing at
//! all, is refused. (That nobody else is served is in `authz_matrix.rs`.)

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use tokenboard::access::accounts;
use tokenboard::{Db, db_tests};

use super::tests::{call, login_request, session_of};

fn post_chart(cookie: &str, width: u32, drawing: &str) -> Request<Body> {
    Request::post(format!("/charts/svg?width={width}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(drawing.to_owned()))
        .unwrap()
}

fn bars(count: usize, label: &str) -> String {
    let bars: Vec<_> = (0..count)
        .map(|i| json!({ "key": format!("p{i}"), "label": label, "value": 10 + i as i64, "href": null }))
        .collect();
    json!({ "Bars": { "bars": bars, "unit": "tokens", "width": 880 } }).to_string()
}

async fn a_chart_is_drawn_at_the_width_asked_and_bounded(db: &Db) {
    accounts::upsert_admin(db, "ann@example.com", "long enough").await.unwrap();
    let (_, headers, _) = call(db, login_request("ann@example.com", "long%20enough", "/")).await;
    let cookie = session_of(&headers);

    let (status, headers, svg) = call(db, post_chart(&cookie, 500, &bars(3, "<script>alert(1)</script> & Co"))).await;
    assert_eq!(status, StatusCode::OK, "{svg}");
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml; charset=utf-8");
    assert!(svg.starts_with("<svg") && svg.contains(r#"width="500""#), "{svg:.200}");
    assert_eq!(svg.matches(r#"class="hit""#).count(), 3);
    assert!(!svg.contains("<script>"), "labels stay text");
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"), "{svg}");

    // A card is never wider than 1400 px nor narrower than 280.
    let (_, _, svg) = call(db, post_chart(&cookie, 90_000, &bars(3, "Revit"))).await;
    assert!(svg.contains(r#"width="1400""#), "{svg:.200}");
    let (_, _, svg) = call(db, post_chart(&cookie, 1, &bars(3, "Revit"))).await;
    assert!(svg.contains(r#"width="280""#), "{svg:.200}");

    // Nothing to draw: an empty answer.
    let (status, _, svg) = call(db, post_chart(&cookie, 500, &bars(0, "Revit"))).await;
    assert_eq!((status, svg.as_str()), (StatusCode::OK, ""));

    // Larger than any page draws, or not a drawing: refused with the reason.
    let (status, _, message) = call(db, post_chart(&cookie, 500, &bars(1_001, "Revit"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("more bars than a page draws"), "{message}");
    let (status, _, message) = call(db, post_chart(&cookie, 500, &bars(2, &"x".repeat(2_001)))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
    let away = json!({ "Bars": { "bars": [{ "key": "k", "label": "l", "value": 1, "href": "javascript:alert(1)" }],
                                 "unit": "tokens", "width": 880 } });
    let (status, _, message) = call(db, post_chart(&cookie, 500, &away.to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("a link that leaves the site"), "{message}");
    let (status, _, message) = call(db, post_chart(&cookie, 500, r#"{"Pie": {}}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("not a chart's drawing"), "{message}");

    // Without a session: nothing is drawn.
    let anonymous = Request::post("/charts/svg?width=500")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(bars(3, "Revit")))
        .unwrap();
    let (status, _, body) = call(db, anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.contains("<svg"));
}

db_tests!(a_chart_is_drawn_at_the_width_asked_and_bounded);
