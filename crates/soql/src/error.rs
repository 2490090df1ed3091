//! Errors, each with the Salesforce `errorCode` the REST API reports for it.

use std::slice;

/// Why a query was refused. [`SoqlError::code`] gives the Salesforce error
/// code, `Display` the message to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoqlError {
    /// The text is not a query of the supported grammar (`MALFORMED_QUERY`).
    /// `line` counts from 1, `column` from 0 (as Salesforce reports them).
    #[error("line {line}:{column} {message}")]
    Syntax {
        line: u32,
        column: u32,
        message: String,
    },
    /// The query parses but breaks a rule of SOQL, e.g. a field that is neither
    /// grouped nor aggregated (`MALFORMED_QUERY`).
    #[error("{message}")]
    Malformed {
        message: String,
        fields: Vec<String>,
    },
    /// The FROM object does not exist (`INVALID_TYPE`).
    #[error("sObject type '{object}' is not supported.")]
    UnknownObject { object: String },
    /// A field or relationship does not exist or cannot be used so (`INVALID_FIELD`).
    #[error("{message}")]
    InvalidField { field: String, message: String },
    /// A value does not fit its field, or the operator does not apply to the
    /// field's type (`INVALID_QUERY_FILTER_OPERATOR`).
    #[error("{message}")]
    FilterOperator { field: String, message: String },
    /// A number outside what SOQL allows, e.g. OFFSET over 2000
    /// (`NUMBER_OUTSIDE_VALID_RANGE`).
    #[error("{message}")]
    OutOfRange { message: String },
}

impl SoqlError {
    /// The Salesforce `errorCode`.
    pub fn code(&self) -> &'static str {
        match self {
            SoqlError::Syntax { .. } | SoqlError::Malformed { .. } => "MALFORMED_QUERY",
            SoqlError::UnknownObject { .. } => "INVALID_TYPE",
            SoqlError::InvalidField { .. } => "INVALID_FIELD",
            SoqlError::FilterOperator { .. } => "INVALID_QUERY_FILTER_OPERATOR",
            SoqlError::OutOfRange { .. } => "NUMBER_OUTSIDE_VALID_RANGE",
        }
    }

    /// The offending field names, as written in the query (Salesforce's `fields`).
    pub fn fields(&self) -> &[String] {
        match self {
            SoqlError::Malformed { fields, .. } => fields,
            SoqlError::InvalidField { field, .. } | SoqlError::FilterOperator { field, .. } => {
                slice::from_ref(field)
            }
            SoqlError::Syntax { .. }
            | SoqlError::UnknownObject { .. }
            | SoqlError::OutOfRange { .. } => &[],
        }
    }

    pub(crate) fn syntax(line: u32, column: u32, message: impl Into<String>) -> SoqlError {
        SoqlError::Syntax {
            line,
            column,
            message: message.into(),
        }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> SoqlError {
        SoqlError::Malformed {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub(crate) fn malformed_field(field: &str, message: impl Into<String>) -> SoqlError {
        SoqlError::Malformed {
            message: message.into(),
            fields: vec![field.to_string()],
        }
    }

    pub(crate) fn invalid_field(field: &str, message: impl Into<String>) -> SoqlError {
        SoqlError::InvalidField {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn filter(field: &str, message: impl Into<String>) -> SoqlError {
        SoqlError::FilterOperator {
            field: field.to_string(),
            message: message.into(),
        }
    }
}
