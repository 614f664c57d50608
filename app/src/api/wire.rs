//! How screens cross the wire. A screen's server function answers in
//! postcard ([`Answer`]), and its resource carries the server's answer into
//! the page in postcard ([`PageData`]). In JSON every screen type had a
//! parser of its own in the wasm, a fifth of the app's code; postcard's are
//! a fraction of that. Requests and error answers stay JSON.
//!
//! An answer starts with the build's wire version (16 hex digits,
//! `build.rs`); the page's data needs none (the page and its wasm are of one
//! build). Postcard reads fields by position:
//! a tab opened before a deploy would read a newer server's answer wrongly
//! or not at all, where JSON ignored a field it did not know. With the
//! version first, such an answer is refused as from another build, and the
//! page reloads into the new one (`crate::reload_into_new_build`).

use leptos::prelude::Resource;
use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// This build's wire version.
pub const VERSION: &str = env!("TOKENBOARD_WIRE_VERSION");
/// What a refused answer's error says (the client reloads on it).
pub const OTHER_BUILD: &str = "the server runs another build";

/// How a resource carries a screen from the server's render into the page.
pub type PageData = leptos::server::codee::binary::PostcardCodec;

/// A screen's data, loaded by `fetcher` (its server function) whenever
/// `source` changes, and carried from the server's render into the page.
#[track_caller]
pub fn screen_resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<Result<T, AppError>, PageData>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// A server function's answer as `output = api::wire::Answer`.
pub type Answer = Post<WireEncoding>;

pub struct WireEncoding;

impl ContentType for WireEncoding {
    const CONTENT_TYPE: &'static str = "application/x-postcard";
}

impl FormatType for WireEncoding {
    const FORMAT_TYPE: Format = Format::Binary;
}

impl<T: Serialize> Encodes<T> for WireEncoding {
    type Error = postcard::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        postcard::to_extend(value, VERSION.as_bytes().to_vec()).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for WireEncoding {
    type Error = String;

    fn decode(bytes: Bytes) -> Result<T, String> {
        read(&bytes)
    }
}

/// An answer of this build, read.
pub fn read<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    read_as(bytes, VERSION)
}

/// `bytes` read as an answer of the build whose wire version is `version`.
fn read_as<T: DeserializeOwned>(bytes: &[u8], version: &str) -> Result<T, String> {
    let body = bytes.strip_prefix(version.as_bytes()).ok_or_else(|| OTHER_BUILD.to_owned())?;
    postcard::from_bytes(body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_of_another_build_is_refused_as_such() {
        let answer = <WireEncoding as Encodes<(String, i64)>>::encode(&("Ada".to_owned(), 7)).unwrap();
        assert_eq!(VERSION.len(), 16);
        assert!(answer.starts_with(VERSION.as_bytes()));
        assert_eq!(read_as::<(String, i64)>(&answer, VERSION), Ok(("Ada".to_owned(), 7)));
        let other = "0123456789abcdef";
        assert_ne!(other, VERSION);
        assert_eq!(read_as::<(String, i64)>(&answer, other), Err(OTHER_BUILD.to_owned()));
        // Postcard alone would have read a shifted layout without a word:
        assert_eq!(postcard::from_bytes::<(i64, i64)>(&answer[16..]).map(|(a, _)| a).ok(), Some(-2));
    }
}
