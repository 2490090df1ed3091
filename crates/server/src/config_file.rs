//! Administration files (routing, flows): one YAML or JSON document, read
//! whole with the place of any mistake, written back in either format.

use crate::error::ApiError;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The largest configuration file accepted.
pub const MAX_FILE: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Reads a file (JSON when it starts with `{`, else YAML); a mistake is
/// `code` with its line and column. `what` names the file in messages.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], what: &str, code: &'static str) -> Result<T, ApiError> {
    if bytes.len() > MAX_FILE {
        return Err(ApiError::new("EXCEEDED_MAX_SIZE_REQUEST", format!("the {what} is {} bytes; at most {MAX_FILE}", bytes.len())));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ApiError::new(code, format!("the file is not UTF-8 text: {e}")))?;
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| ApiError::new(code, format!("line {} column {}: {e}", e.line(), e.column())))
    } else {
        yaml_serde::from_str(text).map_err(|e| {
            let at = e.location().map(|l| format!("line {} column {}: ", l.line(), l.column())).unwrap_or_default();
            ApiError::new(code, format!("{at}{e}"))
        })
    }
}

pub fn render<T: Serialize>(file: &T, format: Format) -> Result<String, ApiError> {
    match format {
        Format::Json => serde_json::to_string_pretty(file).map_err(ApiError::ours),
        Format::Yaml => yaml_serde::to_string(file).map_err(ApiError::ours),
    }
}

/// `?format=yaml|json&dryRun=true` of the `GET/PUT …/config` endpoints.
#[derive(Deserialize)]
pub(crate) struct FormatQuery {
    pub format: Option<String>,
    #[serde(rename = "dryRun")]
    pub dry_run: Option<bool>,
}

/// A `GET …/config` answer: the file in the asked format (JSON by default).
pub(crate) fn download<T: Serialize>(file: &T, format: Option<&str>) -> Result<Response, ApiError> {
    let format = match format {
        None => Format::Json,
        Some(f) => Format::parse(f).ok_or_else(|| ApiError::new("INVALID_FIELD", "format is yaml or json"))?,
    };
    let ty = if format == Format::Yaml { "application/yaml" } else { "application/json" };
    Ok(([(header::CONTENT_TYPE, ty)], render(file, format)?).into_response())
}
