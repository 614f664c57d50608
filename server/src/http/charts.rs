//! `POST /charts/svg?width=N`: a chart's SVG at a card's width. Charts are
//! drawn on the server only (`app::components::chart::draw`), so a page in
//! the browser sends a chart's inputs (its `data-drawing`) to have it drawn
//! again at its card's width. Any logged-in admin may ask: it draws what it
//! is sent, bounded in size, and reads no data.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use app::components::chart::{Drawing, WIDTH};
use app::session::{AppState, admin_from_jar};

use super::error::HttpError;

#[derive(Deserialize)]
pub struct Width {
    /// Absent: the width a page is drawn at on the server.
    width: Option<u32>,
}

pub async fn svg(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(Width { width }): Query<Width>,
    body: Bytes,
) -> Result<Response, HttpError> {
    // Who asks first: nobody else's drawing is even read.
    if admin_from_jar(&state, &jar).await.map_err(HttpError::fault)?.is_none() {
        return Err(HttpError::user(StatusCode::UNAUTHORIZED, "please log in"));
    }
    let drawing: Drawing = serde_json::from_slice(&body)
        .map_err(|e| HttpError::user(StatusCode::BAD_REQUEST, format!("not a chart's drawing: {e}")))?;
    let drawing = drawing
        .at_card_width(width.unwrap_or(WIDTH))
        .map_err(|what| HttpError::user(StatusCode::BAD_REQUEST, format!("the chart is too large: {what}")))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    // Nothing to draw (no usage) is an empty answer: the chart says so itself.
    Ok((headers, drawing.svg().unwrap_or_default()).into_response())
}
