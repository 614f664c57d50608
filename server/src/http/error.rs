//! The error of the plain routes (exports, the usage API); server functions
//! and pages have `app::error::AppError`. Your fault or ours: a caller's
//! mistake answers its 4xx with its message; a server fault answers 500 with
//! a generic message naming the request id, its detail going to the log.

use app::pages::login::login_url;
use axum::Json;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// What a server fault says when its route has no words of its own.
const SERVER_FAULT: &str = "something went wrong on the server";

#[derive(Debug)]
pub enum HttpError {
    /// Not logged in: the browser is sent to log in, then back to the URL.
    LogIn { next: String },
    /// The caller's mistake: answered with its status and message.
    User { status: StatusCode, message: String },
    /// A server fault: `detail` goes to the log, the caller sees `shown`
    /// and the request id.
    Fault { detail: String, shown: &'static str },
}

impl HttpError {
    pub fn user(status: StatusCode, message: impl Into<String>) -> HttpError {
        HttpError::User { status, message: message.into() }
    }

    pub fn fault(detail: impl std::fmt::Display) -> HttpError {
        HttpError::Fault { detail: detail.to_string(), shown: SERVER_FAULT }
    }

    /// The same error, a fault told in the words of its route ("the export
    /// failed on the server"); a caller's mistake keeps its message.
    pub fn told_as(self, shown: &'static str) -> HttpError {
        match self {
            HttpError::Fault { detail, .. } => HttpError::Fault { detail, shown },
            other => other,
        }
    }

    /// The status and the text the caller sees; a fault is logged here, in
    /// the request's span.
    fn shown(self) -> (StatusCode, String) {
        match self {
            HttpError::LogIn { .. } => (StatusCode::UNAUTHORIZED, "please log in".to_owned()),
            HttpError::User { status, message } => (status, message),
            HttpError::Fault { detail, shown } => {
                tracing::error!(error = %detail, "request failed on the server");
                (StatusCode::INTERNAL_SERVER_ERROR, format!("{shown} (request id {})", request_id()))
            }
        }
    }

    /// The usage API's form of the answer: `{"error": "…"}`.
    pub fn into_json_response(self) -> Response {
        let (status, message) = self.shown();
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if let HttpError::LogIn { next } = &self {
            return Redirect::to(&login_url(next, None)).into_response();
        }
        let (status, message) = self.shown();
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
    }
}

/// Whose fault: [`tokenboard::Error::status`] decides.
impl From<tokenboard::Error> for HttpError {
    fn from(e: tokenboard::Error) -> HttpError {
        match StatusCode::from_u16(e.status()) {
            Ok(status) if e.is_user_error() => HttpError::user(status, e.to_string()),
            _ => HttpError::fault(e),
        }
    }
}

tokio::task_local! {
    /// The request id (`x-request-id`) of the request being answered.
    static REQUEST_ID: String;
}

fn request_id() -> String {
    REQUEST_ID.try_with(String::clone).unwrap_or_else(|_| "-".to_owned())
}

/// Makes the request's id known to the errors its handler answers with.
/// Runs inside the layer that sets the id.
pub async fn with_request_id(request: Request, next: Next) -> Response {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    REQUEST_ID.scope(id, next.run(request)).await
}
