//! Any text as a policy document, and any bytes as an Authorization header and date:
//! parsing, evaluation and signature verification must never panic.
#![no_main]

use std::time::SystemTime;

use keyfall_server::auth::policy::{Policy, SimpleContext};
use keyfall_server::auth::sigv4::{verify, Scope, SignedRequest, SigningKeyCache};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(policy) = Policy::from_json_str(text) {
        let ctx = SimpleContext::new("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:000000000000:table/T")
            .with("aws:username", &["alice"])
            .with("dynamodb:leadingkeys", &["alice", "bob"])
            .with("aws:sourceip", &["127.0.0.1"])
            .with("aws:currenttime", &["2026-11-23T12:00:00Z"]);
        let _ = policy.evaluate(&ctx);
    }
    let (auth, date) = text.split_once('\n').unwrap_or((text, "20261123T120000Z"));
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(auth) {
        headers.insert("authorization", v);
    }
    if let Ok(v) = http::HeaderValue::from_str(date) {
        headers.insert("x-amz-date", v);
    }
    headers.insert("host", http::HeaderValue::from_static("localhost"));
    let req = SignedRequest { method: "POST", path: "/", query: date, headers: &headers, authority: None, body: data };
    let scope = Scope { region: "us-east-1".into(), service: "dynamodb", max_skew: std::time::Duration::from_secs(900) };
    let _ = verify(&req, &scope, &SigningKeyCache::default(), SystemTime::now(), |_| Some("secret"));
});
