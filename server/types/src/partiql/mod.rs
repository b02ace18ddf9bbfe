//! DynamoDB's PartiQL: `SELECT`, `INSERT`, `UPDATE`, `DELETE` (and a transaction's
//! `EXISTS`), parsed by a hand-written parser (`lexer`, `parser`: the PartiQL reference
//! implementation's Rust parser reads queries only, without DML or `?` parameters), bound
//! to the request's parameters (`bind`), and planned onto the engine's own commands and
//! expression trees (`plan`): no second evaluator.
//!
//! Decoding needs no table; planning needs the key schema of the table or index the
//! statement names, so the engine plans when it runs the statement, and authorization
//! plans the same statement with the same schema to ask IAM about what will run.

pub mod ast;
mod bind;
mod error;
mod lexer;
pub mod multi;
mod parser;
pub mod plan;
mod reserved;

pub use ast::Statement;
pub use error::SyntaxError;
pub use multi::{BatchExecuteStatement, ExecuteTransaction};
pub use plan::{plan, KeyNames, Plan};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::command::{required, Access, Decode, Demand, Invalid, ReturnCapacity};
use crate::error::{Error, Result};
use crate::model::{AttributeValue, Item};
use crate::types::ExecuteStatementInput;

/// DynamoDB's bound on a statement's length.
pub const MAX_STATEMENT_LENGTH: usize = 8192;

/// Parses `src` and binds `params` to its `?`s.
pub fn parse(src: &str, params: &[AttributeValue]) -> Result<Statement> {
    if src.is_empty() || src.chars().count() > MAX_STATEMENT_LENGTH {
        let constraint = if src.is_empty() {
            "Member must have length greater than or equal to 1".to_string()
        } else {
            format!("Member must have length less than or equal to {MAX_STATEMENT_LENGTH}")
        };
        return Err(Error::validation(format!(
            "1 validation error detected: Value at 'statement' failed to satisfy constraint: {constraint}"
        )));
    }
    let (mut statement, count) = parser::parse(src)?;
    bind::bind(&mut statement, count, params)?;
    Ok(statement)
}

/// ExecuteStatement, decoded.
#[derive(Debug, Clone)]
pub struct ExecuteStatement {
    /// The statement with its parameters bound.
    pub statement: Statement,
    pub consistent: bool,
    pub limit: Option<usize>,
    /// Where a previous page stopped.
    pub next: Option<NextToken>,
    pub capacity: ReturnCapacity,
    /// `ReturnValuesOnConditionCheckFailure` is `ALL_OLD`.
    pub item_on_failure: bool,
}

impl ExecuteStatement {
    /// A digest of the bound statement, which its NextTokens carry: a token is good only
    /// for the statement and parameters that made it.
    pub fn fingerprint(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(format!("{:?}", self.statement).as_bytes())
    }

    /// The token that resumes this statement at `query`, after `key`.
    pub fn next_token(&self, query: usize, key: Option<Item>) -> String {
        NextToken {
            query,
            key,
            request: self.fingerprint(),
        }
        .encode()
    }
}

/// Where a SELECT's previous page stopped: which of its queries (one per partition an
/// `IN` names), after which key, for which request. Opaque to clients: base64 of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextToken {
    #[serde(rename = "q", default)]
    pub query: usize,
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Item>,
    #[serde(rename = "h", default)]
    pub request: u64,
}

impl NextToken {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(token: &str) -> Result<NextToken> {
        let invalid = || Error::validation("Invalid NextToken");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

impl Decode for ExecuteStatementInput {
    type Command = ExecuteStatement;

    fn demands(c: &ExecuteStatement, demand: &mut dyn FnMut(Demand<'_>)) {
        let (table, index) = c.statement.source();
        let access = if c.statement.is_read() {
            Access::Read
        } else {
            Access::Write
        };
        demand(Demand {
            table,
            index,
            access,
            key: None,
        });
    }

    fn decode(self) -> Result<ExecuteStatement, Invalid> {
        let src =
            required(&self.statement, "statement").map_err(|e| Invalid::new(e, None, None))?;
        let statement = parse(src, self.parameters.as_deref().unwrap_or_default())
            .map_err(|e| Invalid::new(e, None, None))?;
        let table = statement.table().to_string();
        let rest = || -> Result<ExecuteStatement> {
            let mut cmd = ExecuteStatement {
                consistent: self.consistent_read.unwrap_or(false),
                limit: crate::command::parse_limit(self.limit)?,
                next: None,
                capacity: ReturnCapacity::parse(self.return_consumed_capacity.as_deref())?,
                item_on_failure: crate::command::parse_return_on_failure(
                    self.return_values_on_condition_check_failure.as_deref(),
                )?,
                statement: statement.clone(),
            };
            if let Some(t) = &self.next_token {
                let next = NextToken::decode(t)?;
                if next.request != cmd.fingerprint() {
                    return Err(Error::validation("NextToken does not match request"));
                }
                cmd.next = Some(next);
            }
            Ok(cmd)
        };
        rest().map_err(|e| Invalid::new(e, Some(table), None))
    }
}

#[cfg(test)]
mod tests;

/// A SELECT's row from a whole item: each selected path's value under its last name (`a.b.c`
/// as `c`, `m.k[0]` as `k[0]`), as DynamoDB names PartiQL's columns; paths the item lacks
/// are left out. `None` (`SELECT *`) is the item itself.
pub fn row(item: Item, paths: Option<&[crate::expr::DocumentPath]>) -> Item {
    use crate::expr::PathElement;
    let Some(paths) = paths else {
        return item;
    };
    let mut out = Item::new();
    for path in paths {
        let Some(v) = crate::expr::resolve(&item, path) else {
            continue;
        };
        let last_attr = path
            .0
            .iter()
            .rposition(|e| matches!(e, PathElement::Attr(_)))
            .unwrap_or(0);
        let mut name = String::new();
        for e in path.0.iter().skip(last_attr) {
            match e {
                PathElement::Attr(a) => name.push_str(a),
                PathElement::Index(i) => name.push_str(&format!("[{i}]")),
            }
        }
        out.insert(name, v.clone());
    }
    out
}
