//! The AWS IAM identity-policy language: parse, compile and evaluate policy documents with IAM's
//! semantics (explicit Deny wins, then Allow, else implicit deny; NotAction / NotResource; condition
//! operators with `IfExists` and `ForAllValues` / `ForAnyValue`; policy variables).
//!
//! Everything that can be decided from the document alone is done once in [`Policy::parse`]
//! (lower-cased action patterns and condition keys, typed numbers / dates / CIDRs / ARN parts,
//! pre-split variable templates), because evaluation runs on every request and should be a handful
//! of comparisons, not re-interpretation of JSON.
//!
//! Layout: `document` reads the JSON, `statement` decides whether a statement applies,
//! `condition` / `operator` implement condition blocks, `variables` policy variables,
//! `wildcard` `*`/`?` globbing, and `numeric`, `date`, `ip`, `arn` the typed comparisons.

mod arn;
mod condition;
mod context;
mod date;
mod document;
mod error;
mod ip;
mod numeric;
mod operator;
mod statement;
mod variables;
mod wildcard;

#[cfg(test)]
mod tests;

pub use context::{RequestContext, SimpleContext};
pub use error::PolicyError;

use statement::{Effect, Statement};

/// A parsed, compiled identity policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

impl Policy {
    /// Parses a policy document (already JSON-decoded). Errors name the statement (by Sid when it has
    /// one, else its index) and the field, e.g.
    /// `Statement[1] (Sid "ReadOnly"): Effect must be "Allow" or "Deny", got "allow"`.
    pub fn parse(doc: &serde_json::Value) -> Result<Policy, PolicyError> {
        document::parse_document(doc)
    }

    /// Parses a policy document from JSON text.
    pub fn from_json_str(s: &str) -> Result<Policy, PolicyError> {
        let doc: serde_json::Value = serde_json::from_str(s).map_err(|e| {
            PolicyError::document(format!("policy document is not valid JSON: {e}"))
        })?;
        Policy::parse(&doc)
    }

    /// This policy's verdict on its own (see [`evaluate`] for combining several).
    pub fn evaluate(&self, ctx: &dyn RequestContext) -> Decision {
        evaluate([self], ctx)
    }

    /// Number of statements (a document with an empty statement list allows nothing).
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }
}

/// The outcome of evaluating a request against a principal's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A Deny statement applied; no Allow can override it.
    ExplicitDeny,
    /// No statement allowed the request.
    ImplicitDeny,
}

/// IAM evaluation across a user's policies: an explicit Deny in any statement wins, else any Allow,
/// else implicit deny. Returns as soon as a Deny applies.
pub fn evaluate<'a>(
    policies: impl IntoIterator<Item = &'a Policy>,
    ctx: &dyn RequestContext,
) -> Decision {
    let mut allowed = false;
    for policy in policies {
        for statement in &policy.statements {
            match statement.effect {
                Effect::Deny => {
                    if statement.applies(ctx) {
                        return Decision::ExplicitDeny;
                    }
                }
                // Once allowed, further Allow statements cannot change the outcome; skip them.
                Effect::Allow => {
                    if !allowed && statement.applies(ctx) {
                        allowed = true;
                    }
                }
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}
