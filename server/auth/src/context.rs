//! The request context a policy is evaluated against: global `aws:*` keys from the caller
//! and the clock, DynamoDB keys from the [`Check`].

use std::slice;

use super::policy::RequestContext;
use super::{Caller, Check, Principal};

pub(super) struct EvalContext<'a> {
    check: &'a Check,
    principal: &'a Principal,
    source_ip: Option<String>,
    secure: String,
    now: [String; 2],
    enclosing: Option<String>,
}

impl<'a> EvalContext<'a> {
    pub fn new(check: &'a Check, caller: &Caller, principal: &'a Principal) -> Self {
        let now = time::OffsetDateTime::now_utc();
        let iso = now
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        EvalContext {
            check,
            principal,
            source_ip: caller.source_ip.map(|ip| ip.to_string()),
            secure: caller.secure_transport.to_string(),
            now: [iso, now.unix_timestamp().to_string()],
            enclosing: check.enclosing_operation.map(str::to_string),
        }
    }
}

fn one(s: &String) -> Option<&[String]> {
    Some(slice::from_ref(s))
}

impl RequestContext for EvalContext<'_> {
    fn action(&self) -> &str {
        self.check.action
    }

    fn resource(&self) -> &str {
        &self.check.resource
    }

    fn values(&self, key: &str) -> Option<&[String]> {
        let c = self.check;
        match key {
            "dynamodb:leadingkeys" => c.leading_keys.as_deref(),
            "dynamodb:attributes" => c.attributes.as_deref(),
            "dynamodb:select" => c.select.as_ref().and_then(one),
            "dynamodb:returnvalues" => c.return_values.as_ref().and_then(one),
            "dynamodb:returnconsumedcapacity" => c.return_consumed_capacity.as_ref().and_then(one),
            "dynamodb:enclosingoperation" => self.enclosing.as_ref().and_then(one),
            "dynamodb:fulltablescan" => c.full_table_scan.as_ref().and_then(one),
            "aws:sourceip" => self.source_ip.as_ref().and_then(one),
            "aws:securetransport" => one(&self.secure),
            "aws:currenttime" => one(&self.now[0]),
            "aws:epochtime" => one(&self.now[1]),
            "aws:requestedregion" => None,
            other => self.principal.context_values(other),
        }
    }

    fn is_unknown(&self, key: &str) -> bool {
        match key {
            "dynamodb:leadingkeys" => self.check.leading_keys_unknown,
            "dynamodb:attributes" => self.check.attributes_unknown,
            _ => false,
        }
    }
}

impl Principal {
    /// Builds a principal with its `aws:*` identity keys precomputed, so evaluation reads
    /// them without allocating.
    pub fn new(
        name: String,
        user_id: String,
        arn: String,
        root: bool,
        policies: Vec<std::sync::Arc<super::policy::Policy>>,
        tags: Vec<(String, String)>,
    ) -> Principal {
        let mut keys = vec![
            ("aws:username".to_string(), vec![name.clone()]),
            ("aws:userid".to_string(), vec![user_id.clone()]),
            ("aws:principalarn".to_string(), vec![arn.clone()]),
            (
                "aws:principaltype".to_string(),
                vec![if root { "Account" } else { "User" }.to_string()],
            ),
        ];
        for (k, v) in &tags {
            keys.push((
                format!("aws:principaltag/{}", k.to_ascii_lowercase()),
                vec![v.clone()],
            ));
        }
        if !tags.is_empty() {
            keys.push((
                "aws:principaltagkeys".to_string(),
                tags.iter().map(|(k, _)| k.clone()).collect(),
            ));
        }
        Principal {
            name,
            user_id,
            arn,
            root,
            policies,
            tags,
            keys,
        }
    }

    fn context_values(&self, key: &str) -> Option<&[String]> {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}
