//! Policy parse errors. They name the statement (by index, plus Sid when it has one) and the field,
//! because these messages are shown to whoever wrote the policy and must point at the mistake.

/// A policy document that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}{message}")]
pub struct PolicyError {
    /// `Statement[1] (Sid "ReadOnly"): `, or empty for document-level errors.
    location: String,
    statement: Option<usize>,
    message: String,
}

impl PolicyError {
    pub(crate) fn document(message: impl Into<String>) -> Self {
        PolicyError {
            location: String::new(),
            statement: None,
            message: message.into(),
        }
    }

    pub(crate) fn statement(index: usize, sid: Option<&str>, message: impl Into<String>) -> Self {
        let location = match sid {
            Some(sid) if !sid.is_empty() => format!("Statement[{index}] (Sid {sid:?}): "),
            _ => format!("Statement[{index}]: "),
        };
        PolicyError {
            location,
            statement: Some(index),
            message: message.into(),
        }
    }

    /// Index of the offending statement, if the error is inside one.
    pub fn statement_index(&self) -> Option<usize> {
        self.statement
    }

    /// The message without the statement prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}
