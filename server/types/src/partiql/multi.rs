//! BatchExecuteStatement and ExecuteTransaction as commands: each statement parsed and
//! bound on its own, with DynamoDB's request-wide rules (counts, reads and writes not mixed,
//! no RETURNING in a transaction) checked here, before anything runs.

use super::{parse, ExecuteStatement, Statement};
use crate::command::{required, Decode, Invalid, ReturnCapacity};
use crate::error::{Error, Result};
use crate::types::{BatchExecuteStatementInput, ExecuteTransactionInput};

/// DynamoDB's bounds on the statements of one request.
pub const MAX_BATCH_STATEMENTS: usize = 25;
pub const MAX_TRANSACTION_STATEMENTS: usize = 100;

/// BatchExecuteStatement, decoded: each statement, or why it did not parse (that
/// statement's `ValidationError`; the others still run).
#[derive(Debug)]
pub struct BatchExecuteStatement {
    pub statements: Vec<std::result::Result<ExecuteStatement, Error>>,
    pub capacity: ReturnCapacity,
}

/// ExecuteTransaction, decoded.
#[derive(Debug)]
pub struct ExecuteTransaction {
    pub statements: Vec<ExecuteStatement>,
    pub capacity: ReturnCapacity,
    /// ClientRequestToken, as received.
    pub token: Option<String>,
    /// A digest of the statements and parameters: a token reused for others is refused.
    pub fingerprint: u64,
}

impl ExecuteTransaction {
    /// All reads (SELECTs), rather than writes.
    pub fn is_read(&self) -> bool {
        self.statements.iter().all(|s| s.statement.is_read())
    }
}

fn count_error(member: &str, n: usize, max: usize) -> Error {
    let constraint = if n == 0 {
        "greater than or equal to 1".to_string()
    } else {
        format!("less than or equal to {max}")
    };
    Error::validation(format!(
        "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length {constraint}"
    ))
}

/// One statement of a multi-statement request, with nothing but its own options.
fn statement(
    src: &Option<String>,
    params: &Option<Vec<crate::model::AttributeValue>>,
    consistent: Option<bool>,
    on_failure: Option<&str>,
) -> Result<ExecuteStatement> {
    let src = required(src, "statement")?;
    Ok(ExecuteStatement {
        statement: parse(src, params.as_deref().unwrap_or_default())?,
        consistent: consistent.unwrap_or(false),
        limit: None,
        next: None,
        capacity: ReturnCapacity::None,
        item_on_failure: crate::command::parse_return_on_failure(on_failure)?,
    })
}

impl Decode for BatchExecuteStatementInput {
    type Command = BatchExecuteStatement;

    fn decode(self) -> Result<BatchExecuteStatement, Invalid> {
        let invalid = |e| Invalid::new(e, None, None);
        let requests = required(&self.statements, "statements").map_err(invalid)?;
        if requests.is_empty() || requests.len() > MAX_BATCH_STATEMENTS {
            return Err(invalid(count_error(
                "statements",
                requests.len(),
                MAX_BATCH_STATEMENTS,
            )));
        }
        let capacity =
            ReturnCapacity::parse(self.return_consumed_capacity.as_deref()).map_err(invalid)?;
        let statements: Vec<_> = requests
            .iter()
            .map(|r| {
                statement(
                    &r.statement,
                    &r.parameters,
                    r.consistent_read,
                    r.return_values_on_condition_check_failure.as_deref(),
                )
            })
            .collect();
        let parsed = || statements.iter().filter_map(|s| s.as_ref().ok());
        if parsed().any(|s| s.statement.is_read()) && parsed().any(|s| !s.statement.is_read()) {
            return Err(invalid(Error::validation(
                "Read and write requests together in the same batch is not supported.",
            )));
        }
        Ok(BatchExecuteStatement {
            statements,
            capacity,
        })
    }
}

impl Decode for ExecuteTransactionInput {
    type Command = ExecuteTransaction;

    fn decode(self) -> Result<ExecuteTransaction, Invalid> {
        let invalid = |e| Invalid::new(e, None, None);
        let requests =
            required(&self.transact_statements, "transactStatements").map_err(invalid)?;
        if requests.is_empty() || requests.len() > MAX_TRANSACTION_STATEMENTS {
            return Err(invalid(count_error(
                "transactStatements",
                requests.len(),
                MAX_TRANSACTION_STATEMENTS,
            )));
        }
        let capacity =
            ReturnCapacity::parse(self.return_consumed_capacity.as_deref()).map_err(invalid)?;
        let mut statements = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            let s = statement(
                &r.statement,
                &r.parameters,
                None,
                r.return_values_on_condition_check_failure.as_deref(),
            )
            .map_err(|e| invalid(in_statement(i, e)))?;
            let returning = match &s.statement {
                Statement::Update(u) => u.returning.is_some(),
                Statement::Delete(d) => d.returning.is_some(),
                _ => false,
            };
            if returning {
                return Err(invalid(in_statement(
                    i,
                    Error::validation("RETURNING clause is not supported in ExecuteTransaction."),
                )));
            }
            statements.push(s);
        }
        let reads = statements.iter().filter(|s| s.statement.is_read()).count();
        if reads != 0 && reads != statements.len() {
            return Err(invalid(Error::validation(
                "ExecuteTransaction API does not support both read and write operations in the same request.",
            )));
        }
        Ok(ExecuteTransaction {
            fingerprint: fingerprint(requests),
            statements,
            capacity,
            token: self.client_request_token,
        })
    }
}

/// A validation error of one statement of a transaction, as DynamoDB words it.
pub fn in_statement(i: usize, e: Error) -> Error {
    match e {
        Error::Validation(m) => {
            Error::validation(format!("Validation failed in TransactStatements[{i}]: {m}"))
        }
        other => other,
    }
}

fn fingerprint(requests: &[crate::types::ParameterizedStatement]) -> u64 {
    let text = serde_json::to_string(requests).unwrap_or_default();
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}
