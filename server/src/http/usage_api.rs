//! `POST /api/v1/teams/{team}/usage`: a CSV body in the token-usage export
//! format, authorised by a team API key (`Authorization: Bearer tb_…`).
//! 200 `{rows, inserted, duplicates, new_products, new_users}`, or 422
//! `{errors: [{line, message}]}` with nothing written.
//!
//! The key is checked before a byte of the body is read: an unauthenticated
//! upload costs one database lookup, not its size in memory.

use app::session::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokenboard::access::api_keys;
use tokenboard::access::auth::AccessError;
use tokenboard::ingest::import::{ImportError, import_usage_csv};

use super::error::HttpError;

pub async fn import_usage(State(state): State<AppState>, Path(team): Path<String>, request: Request) -> Response {
    import(state, team, request).await.unwrap_or_else(HttpError::into_json_response)
}

async fn import(state: AppState, team: String, request: Request) -> Result<Response, HttpError> {
    let Some(key) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        let message = "an API key is required: Authorization: Bearer <key>";
        return Err(HttpError::user(StatusCode::UNAUTHORIZED, message));
    };
    let team = match api_keys::authorize_api_key(&state.db, key, &team).await {
        Ok(team) => team,
        Err(AccessError::Internal(e)) => return Err(HttpError::fault(e)),
        Err(_) => return Err(HttpError::user(StatusCode::NOT_FOUND, "no such team for this API key")),
    };
    // Within the route's DefaultBodyLimit (TOKENBOARD_MAX_UPLOAD_BYTES): 413 past it.
    let body = match Bytes::from_request(request, &state).await {
        Ok(body) => body,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    match import_usage_csv(&state.db, &team, &body).await {
        Ok(outcome) => {
            tracing::info!(
                team_id = team.id,
                inserted = outcome.inserted,
                duplicates = outcome.duplicates,
                "usage imported via API"
            );
            Ok((StatusCode::OK, Json(outcome)).into_response())
        }
        Err(ImportError::Rejected(errors)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "errors": errors }))).into_response())
        }
        Err(ImportError::Database(e)) => {
            Err(HttpError::from(e).told_as("the import failed on the server; nothing was written"))
        }
    }
}
