//! What a request offers to policy evaluation.
//!
//! A trait rather than a struct so the server can answer lookups from data it already holds for the
//! request instead of copying every condition key into a map first.

use std::collections::HashMap;

/// The request being authorised.
pub trait RequestContext {
    /// The action, e.g. `dynamodb:GetItem`.
    fn action(&self) -> &str;
    /// The resource ARN, e.g. `arn:aws:dynamodb:us-east-1:000000000000:table/Music`.
    fn resource(&self) -> &str;
    /// Values of a condition key. `key_lowercase` is already ASCII lower-cased (policies compile
    /// their keys lower-cased), so implementations store keys lower-cased and look up directly.
    /// `None` = key absent; a present key may have zero values.
    fn values(&self, key_lowercase: &str) -> Option<&[String]>;
    /// Whether the request has a value for this key that could not be computed (a Query
    /// whose key condition binds no single partition, an expression that does not parse).
    /// An unknown key never lets an Allow statement apply and always lets a Deny apply:
    /// what the policy layer cannot see is denied, never allowed.
    fn is_unknown(&self, _key_lowercase: &str) -> bool {
        false
    }
}

/// An owned [`RequestContext`] for tests and simple callers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleContext {
    pub action: String,
    pub resource: String,
    keys: HashMap<String, Vec<String>>,
}

impl SimpleContext {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        SimpleContext {
            action: action.into(),
            resource: resource.into(),
            keys: HashMap::new(),
        }
    }

    /// Sets (replacing) the values of `key`; the key is stored lower-cased. `&[]` = present, no values.
    pub fn with(mut self, key: &str, values: &[&str]) -> Self {
        self.set(key, values.iter().map(|v| (*v).to_owned()).collect());
        self
    }

    /// Sets (replacing) the values of `key`; the key is stored lower-cased.
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        self.keys.insert(key.to_ascii_lowercase(), values);
    }
}

impl RequestContext for SimpleContext {
    fn action(&self) -> &str {
        &self.action
    }

    fn resource(&self) -> &str {
        &self.resource
    }

    fn values(&self, key_lowercase: &str) -> Option<&[String]> {
        self.keys.get(key_lowercase).map(Vec::as_slice)
    }
}
