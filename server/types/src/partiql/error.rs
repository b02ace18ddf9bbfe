//! PartiQL's errors: a statement that does not parse, and the ones DynamoDB answers for
//! statements that parse but that it will not run. All are ValidationExceptions, worded as
//! DynamoDB words them.

use crate::error::Error;

/// A statement that does not parse: what was wrong (DynamoDB's wording: its parser's
/// message; empty for what its lexer refuses), and where (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub detail: String,
    /// DynamoDB answers a few constructs its parser accepts but it does not (aliases) with
    /// their own message, outside the "wasn't well formed" envelope.
    pub plain: bool,
}

impl SyntaxError {
    pub fn at(line: usize, column: usize, detail: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line,
            column,
            detail: detail.into(),
            plain: false,
        }
    }
}

/// DynamoDB names the problem but not where it is (its parser's position stays inside);
/// the message is DynamoDB's, word for word, so clients matching on it keep working.
impl From<SyntaxError> for Error {
    fn from(e: SyntaxError) -> Error {
        if e.plain {
            return Error::validation(e.detail);
        }
        Error::validation(format!(
            "Statement wasn't well formed, can't be processed: {}",
            e.detail
        ))
    }
}

/// A ValidationException with DynamoDB's message.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::validation(message)
}
