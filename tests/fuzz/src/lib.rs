//! The bodies of the fuzz targets in `server/fuzz/`, as plain functions:
//! cargo-fuzz calls them with coverage guidance, and `tests/tests/it/fuzz_smoke.rs` calls the
//! same functions on stable Rust with the checked-in seeds and a seeded mutator, bounded, in
//! CI. Each must never panic on any input; the asserts below are invariants whose failure is
//! a bug as real as a panic.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::Serialize;

use keyfall_api::actions::{DYNAMODB, STREAMS};
use keyfall_api::grpc::{convert, convert_back};
use keyfall_api::json::{decode_request, encode};
use keyfall_auth::checks::{Authorize, Check, Schemas};
use keyfall_auth::policy::{Policy, SimpleContext};
use keyfall_auth::sigv4::{self, verify, Scope, SignedRequest, SigningKeyCache};
use keyfall_auth::{Auth, AuthSettings, Caller, Principal};
use keyfall_types::command::Decode;
use keyfall_types::expr::{self, ExpressionInput};
use keyfall_types::model::{AttributeValue, Item, Number};
use keyfall_types::streams::{
    DescribeStreamInput, GetRecordsInput, GetShardIteratorInput, ListStreamsInput,
};
use keyfall_types::types::*;

/// Every action name the server knows, DynamoDB's then DynamoDB Streams'.
pub fn action_names() -> impl Iterator<Item = &'static str> {
    DYNAMODB.iter().chain(STREAMS).map(|a| a.name)
}

/// The action a selector byte picks (modulo the number of actions).
pub fn action_for(selector: u8) -> Option<&'static str> {
    let count = DYNAMODB.len() + STREAMS.len();
    action_names().nth(usize::from(selector) % count)
}

/// The selector byte of `action`, for writing seeds.
pub fn selector_of(action: &str) -> Option<u8> {
    action_names()
        .position(|a| a == action)
        .and_then(|i| u8::try_from(i).ok())
}

const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";

/// Table facts for the checks: `T` (`pk`, `sk`; index `byOwner` on `owner`, with a stream),
/// `H` (`id` only); every other table is unknown, as a table that does not exist.
pub struct FakeSchemas;

impl Schemas for FakeSchemas {
    fn key_names(&self, table: &str, index: Option<&str>) -> Option<(String, Option<String>)> {
        match (table, index) {
            ("T", None) => Some(("pk".into(), Some("sk".into()))),
            ("T", Some("byOwner")) => Some(("owner".into(), Some("sk".into()))),
            ("H", None) => Some(("id".into(), None)),
            _ => None,
        }
    }

    fn table_arn(&self, table: &str) -> String {
        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
    }

    fn stream_arn_of_iterator(&self, iterator: &str) -> Option<String> {
        let table = iterator.split('|').next().filter(|t| !t.is_empty())?;
        self.stream_arn(table)
    }

    fn stream_arn(&self, table: &str) -> Option<String> {
        (table == "T").then(|| format!("{}/stream/2026-01-01T00:00:00.000", self.table_arn(table)))
    }
}

/// Identity policies with every DynamoDB condition key the checks compute, under the
/// operator families IAM users write for them.
const POLICIES: &[&str] = &[
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Action":["dynamodb:GetItem","dynamodb:BatchGetItem","dynamodb:Query","dynamodb:ConditionCheckItem"],
        "Resource":["arn:aws:dynamodb:*:*:table/T","arn:aws:dynamodb:*:*:table/T/index/*"],
        "Condition":{
            "ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${aws:username}","shared"]},
            "ForAllValues:StringLike":{"dynamodb:Attributes":["pk","sk","owner","a*"]},
            "StringEqualsIfExists":{"dynamodb:Select":["SPECIFIC_ATTRIBUTES","COUNT"]}}}]}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Action":["dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:BatchWriteItem"],
        "Resource":"arn:aws:dynamodb:us-east-1:000000000000:table/*",
        "Condition":{"StringEquals":{"dynamodb:LeadingKeys":"${aws:username}"},
            "StringNotEqualsIfExists":{"dynamodb:ReturnValues":["ALL_OLD","ALL_NEW"]},
            "Null":{"dynamodb:Attributes":"false"}}},
       {"Effect":"Deny","Action":"dynamodb:*","Resource":"*",
        "Condition":{"ForAnyValue:StringEquals":{"dynamodb:Attributes":["secret","password"]}}},
       {"Effect":"Deny","NotAction":["dynamodb:Describe*","dynamodb:List*"],"Resource":"*",
        "Condition":{"StringEquals":{"dynamodb:EnclosingOperation":"TransactWriteItems"},
            "ForAnyValue:StringLike":{"dynamodb:LeadingKeys":"admin*"}}}]}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:Scan","dynamodb:Describe*","dynamodb:List*",
        "dynamodb:GetRecords","dynamodb:GetShardIterator","dynamodb:*Table*","dynamodb:*Resource"],
        "NotResource":"arn:aws:dynamodb:*:*:table/Secret*",
        "Condition":{"StringEquals":{"dynamodb:Select":"SPECIFIC_ATTRIBUTES"},
            "ForAllValues:StringEquals":{"dynamodb:Attributes":["pk","sk"]},
            "StringLikeIfExists":{"dynamodb:ReturnConsumedCapacity":"*"},
            "Bool":{"aws:SecureTransport":"true"}}}]}"#,
];

fn parsed_policies() -> Vec<Arc<Policy>> {
    POLICIES
        .iter()
        .filter_map(|p| Policy::from_json_str(p).ok())
        .map(Arc::new)
        .collect()
}

fn auth() -> Auth {
    Auth::replica(AuthSettings {
        enforce: true,
        region: REGION.into(),
        account_id: ACCOUNT.into(),
        max_skew: Duration::from_secs(900),
    })
}

fn caller(policies: Vec<Arc<Policy>>) -> Caller {
    let principal = Principal::new(
        "alice".into(),
        "AIDAFUZZ".into(),
        format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        false,
        policies,
        vec![("team".into(), "blue".into())],
    );
    Caller {
        principal: Some(Arc::new(principal)),
        access_key_id: Some("AKIDFUZZ".into()),
        source_ip: Some(std::net::IpAddr::from([127, 0, 0, 1])),
        secure_transport: true,
    }
}

/// The checks of a request with its set-valued keys sorted, so two computations of one
/// request compare equal whatever order a map was iterated in.
fn normalized(mut checks: Vec<Check>) -> String {
    for c in &mut checks {
        if let Some(v) = &mut c.leading_keys {
            v.sort();
        }
        if let Some(v) = &mut c.attributes {
            v.sort();
        }
    }
    format!("{checks:?}")
}

/// What the proxy does with a JSON body it forwards: decode with the server's types,
/// authorize, re-encode. The server decodes the re-encoded body and authorizes it again;
/// both must see the same request.
fn json_checks<T>(action: &'static str, body: &[u8]) -> Option<(T, Vec<Check>)>
where
    T: DeserializeOwned + Serialize + Decode + Clone,
    T::Command: Authorize,
{
    let input: T = decode_request(body).ok()?;
    let checks = checks_of_decoded(&input, action);
    let again = encode(&input).and_then(|bytes| decode_request::<T>(&bytes));
    assert!(
        again.is_ok(),
        "{action}: the re-encoded input of a decoded request does not decode: {:?}",
        again.as_ref().err()
    );
    let again = again.ok()?;
    let checks_again = checks_of_decoded(&again, action);
    assert_eq!(
        normalized(checks.clone()),
        normalized(checks_again),
        "{action}: a re-encoded request asks for other permissions"
    );
    Some((input, checks))
}

/// The checks of a request as the server computes them: on the command it decodes into.
fn checks_of_decoded<T: Decode + Clone>(input: &T, action: &'static str) -> Vec<Check>
where
    T::Command: Authorize,
{
    input.clone().decode().checks(action, &FakeSchemas)
}

/// The item actions: the proxy converts the decoded input to protobuf (`convert_back`) and
/// its gRPC service converts it back (`convert`) before authorizing and forwarding; the
/// checks must not change on the way.
macro_rules! via_grpc {
    ($action:expr, $body:expr, $ty:ty, $back:path, $fwd:path) => {{
        decode_request::<$ty>($body).ok().map(|input| {
            let checks = checks_of_decoded(&input, $action);
            if let Ok(again) = $fwd($back(input)) {
                assert_eq!(
                    normalized(checks.clone()),
                    normalized(checks_of_decoded(&again, $action)),
                    "{}: the protobuf form of a request asks for other permissions",
                    $action
                );
            }
            checks
        })
    }};
}

fn plain<T>(action: &'static str, body: &[u8]) -> Option<Vec<Check>>
where
    T: DeserializeOwned + Serialize + Decode + Clone,
    T::Command: Authorize,
{
    json_checks::<T>(action, body).map(|(_, checks)| checks)
}

/// The checks of `body` decoded as the input of `action`, as the server and keyfall-dax
/// decode it; `None` when the body does not decode or the action takes no input we model.
pub fn checks_of(action: &str, body: &[u8]) -> Option<Vec<Check>> {
    match action {
        "GetItem" => via_grpc!(
            "dynamodb:GetItem",
            body,
            GetItemInput,
            convert_back::get_item,
            convert::get_item
        ),
        "PutItem" => via_grpc!(
            "dynamodb:PutItem",
            body,
            PutItemInput,
            convert_back::put_item,
            convert::put_item
        ),
        "UpdateItem" => via_grpc!(
            "dynamodb:UpdateItem",
            body,
            UpdateItemInput,
            convert_back::update_item,
            convert::update_item
        ),
        "DeleteItem" => via_grpc!(
            "dynamodb:DeleteItem",
            body,
            DeleteItemInput,
            convert_back::delete_item,
            convert::delete_item
        ),
        "Query" => via_grpc!(
            "dynamodb:Query",
            body,
            QueryInput,
            convert_back::query,
            convert::query
        ),
        "Scan" => via_grpc!(
            "dynamodb:Scan",
            body,
            ScanInput,
            convert_back::scan,
            convert::scan
        ),
        "BatchGetItem" => via_grpc!(
            "dynamodb:BatchGetItem",
            body,
            BatchGetItemInput,
            convert_back::batch_get,
            convert::batch_get
        ),
        "BatchWriteItem" => via_grpc!(
            "dynamodb:BatchWriteItem",
            body,
            BatchWriteItemInput,
            convert_back::batch_write,
            convert::batch_write
        ),
        "TransactWriteItems" => via_grpc!(
            "dynamodb:TransactWriteItems",
            body,
            TransactWriteItemsInput,
            convert_back::transact_write,
            convert::transact_write
        ),
        "TransactGetItems" => via_grpc!(
            "dynamodb:TransactGetItems",
            body,
            TransactGetItemsInput,
            convert_back::transact_get,
            convert::transact_get
        ),
        "CreateTable" => plain::<CreateTableInput>("dynamodb:CreateTable", body),
        "UpdateTable" => plain::<UpdateTableInput>("dynamodb:UpdateTable", body),
        "DeleteTable" => plain::<TableNameInput>("dynamodb:DeleteTable", body),
        "DescribeTable" => plain::<TableNameInput>("dynamodb:DescribeTable", body),
        "DescribeTimeToLive" => plain::<TableNameInput>("dynamodb:DescribeTimeToLive", body),
        "UpdateTimeToLive" => plain::<UpdateTimeToLiveInput>("dynamodb:UpdateTimeToLive", body),
        "ListTables" => plain::<ListTablesInput>("dynamodb:ListTables", body),
        "TagResource" => plain::<TagResourceInput>("dynamodb:TagResource", body),
        "UntagResource" => plain::<UntagResourceInput>("dynamodb:UntagResource", body),
        "ListTagsOfResource" => {
            plain::<ListTagsOfResourceInput>("dynamodb:ListTagsOfResource", body)
        }
        "ListStreams" => plain::<ListStreamsInput>("dynamodb:ListStreams", body),
        "DescribeStream" => plain::<DescribeStreamInput>("dynamodb:DescribeStream", body),
        "GetShardIterator" => plain::<GetShardIteratorInput>("dynamodb:GetShardIterator", body),
        "GetRecords" => plain::<GetRecordsInput>("dynamodb:GetRecords", body),
        _ => None,
    }
}

/// Target `json_action`: the first byte picks an `X-Amz-Target` action, the rest is its
/// body. A body that decodes has its checks computed and evaluated by policies with
/// condition keys (`LeadingKeys`, `Attributes`, `Select`...).
pub fn json_action(data: &[u8]) {
    static STATE: OnceLock<(Auth, Caller)> = OnceLock::new();
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let Some(action) = action_for(selector) else {
        return;
    };
    let Some(checks) = checks_of(action, body) else {
        return;
    };
    let (auth, caller) = STATE.get_or_init(|| (auth(), caller(parsed_policies())));
    let _ = auth.authorize(caller, &checks);
}

/// The fixed clock of [`sigv4_policy`]: 2026-11-23T12:00:00Z.
fn fuzz_now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_435_200)
}

const AMZ_DATE: &str = "20261123T120000Z";
const SCOPE_DATE: &str = "20261123";
const SECRET: &str = "fuzzsecretfuzzsecretfuzzsecretfuzzsecret";

/// The `Authorization` header a correct SigV4 signer sends for `req`.
fn authorization_for(req: &SignedRequest<'_>, signed_headers: &str) -> String {
    let canonical = sigv4::canonical_request(req, signed_headers);
    let scope = format!("{SCOPE_DATE}/{REGION}/dynamodb/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{AMZ_DATE}\n{scope}\n{}",
        sigv4::sha256_hex(canonical.as_bytes())
    );
    let key = aws_sigv4::sign::v4::generate_signing_key(SECRET, fuzz_now(), REGION, "dynamodb");
    let signature =
        aws_sigv4::sign::v4::calculate_signature(key.as_ref(), string_to_sign.as_bytes());
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

/// Target `sigv4_policy`: `policy \0 flags action body`. The policy text (when it parses)
/// is the caller's only policy; the request is `POST /` with `X-Amz-Target` naming the
/// action, signed correctly (flag bit 0 clear; then it must verify, and with its body
/// changed after signing it must not) or carrying the bytes after the body's first `\n` as
/// its `Authorization` header. A verified request is decoded, its checks computed and
/// evaluated by the policy.
pub fn sigv4_policy(data: &[u8]) {
    let (policy_text, rest) = match data.iter().position(|&b| b == 0) {
        Some(at) => (data.get(..at), data.get(at + 1..)),
        None => (Some(data), None),
    };
    let policy = policy_text
        .and_then(|t| std::str::from_utf8(t).ok())
        .and_then(|t| Policy::from_json_str(t).ok());
    let Some([flags, selector, body @ ..]) = rest else {
        return;
    };
    let Some(action) = action_for(*selector) else {
        return;
    };
    let (flags, body) = (*flags, body);
    let prefix = if STREAMS.iter().any(|a| a.name == action) && flags & 8 == 0 {
        "DynamoDBStreams_20120810"
    } else {
        "DynamoDB_20120810"
    };
    let mut headers = http::HeaderMap::new();
    headers.insert("host", http::HeaderValue::from_static("localhost:8000"));
    headers.insert("x-amz-date", http::HeaderValue::from_static(AMZ_DATE));
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(target) = http::HeaderValue::from_str(&format!("{prefix}.{action}")) {
        headers.insert("x-amz-target", target);
    }
    let signed_headers = if flags & 4 == 0 {
        "content-type;host;x-amz-date;x-amz-target"
    } else {
        "host;x-amz-date;x-amz-target"
    };
    let forged = flags & 1 != 0;
    let (body, header) = if forged {
        match body.iter().position(|&b| b == b'\n') {
            Some(at) => (
                body.get(..at).unwrap_or_default(),
                String::from_utf8_lossy(body.get(at + 1..).unwrap_or_default()).into_owned(),
            ),
            None => (body, String::new()),
        }
    } else {
        let req = SignedRequest::post(&headers, body);
        (body, authorization_for(&req, signed_headers))
    };
    if let Ok(v) = http::HeaderValue::from_str(&header) {
        headers.insert(http::header::AUTHORIZATION, v);
    }
    let scope = Scope {
        region: REGION.into(),
        service: "dynamodb",
        also: &[],
        max_skew: Duration::from_secs(900),
    };
    let keys = SigningKeyCache::default();
    let secret_for = |k: &str| (k == "AKIDFUZZ").then_some(SECRET);
    let req = SignedRequest::post(&headers, body);
    let verified = verify(&req, &scope, &keys, fuzz_now(), secret_for);
    if forged {
        if verified.is_err() {
            return;
        }
    } else {
        assert!(
            verified.is_ok(),
            "a correctly signed request is refused: {verified:?}"
        );
        if flags & 2 != 0 {
            // The same signature over a different body must not verify.
            let mut tampered = body.to_vec();
            match tampered.first_mut() {
                Some(b) => *b ^= 1,
                None => tampered.push(b' '),
            }
            let tampered = SignedRequest {
                body: &tampered,
                ..req
            };
            assert!(
                verify(&tampered, &scope, &keys, fuzz_now(), secret_for).is_err(),
                "a signature verified for a body it does not cover"
            );
        }
    }
    let Some(checks) = checks_of(action, body) else {
        return;
    };
    static AUTH: OnceLock<Auth> = OnceLock::new();
    let auth = AUTH.get_or_init(auth);
    let caller = caller(
        policy
            .map(Arc::new)
            .into_iter()
            .chain(parsed_policies())
            .collect(),
    );
    let _ = auth.authorize(&caller, &checks);
    // The same checks, seen through the simple context a policy test would build.
    if let Some(policy) = caller.principal.as_ref().and_then(|p| p.policies.first()) {
        for c in &checks {
            let mut ctx = SimpleContext::new(c.action, c.resource.clone())
                .with("aws:username", &["alice"])
                .with("aws:securetransport", &["true"]);
            if let Some(k) = &c.leading_keys {
                ctx.set("dynamodb:LeadingKeys", k.clone());
            }
            if let Some(a) = &c.attributes {
                ctx.set("dynamodb:Attributes", a.clone());
            }
            if let Some(s) = &c.select {
                ctx.set("dynamodb:Select", vec![s.clone()]);
            }
            let _ = policy.evaluate(&ctx);
        }
    }
}

/// Target `http_wire`: the HTTP layer's parsers. Bytes up to the first NUL are a header
/// value, used as both `Content-Encoding` and `Accept-Encoding`; the rest is a body to
/// inflate. Inflating never yields more than the 16 MB bound, and what inflates decodes
/// (or fails to) as a request without panicking.
pub fn http_wire(data: &[u8]) {
    use http::{header, HeaderMap, HeaderValue};
    use keyfall_api::json::wire::{accepted_encoding, inflate_blocking, InflateError};
    let (value, body) = match data.iter().position(|b| *b == 0) {
        Some(i) => (
            data.get(..i).unwrap_or_default(),
            data.get(i + 1..).unwrap_or_default(),
        ),
        None => (data, &[][..]),
    };
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_ENCODING, value.clone());
    headers.insert(header::ACCEPT_ENCODING, value);
    let _ = accepted_encoding(&headers);
    match inflate_blocking(&headers, bytes::Bytes::copy_from_slice(body)) {
        Ok(plain) => {
            assert!(plain.len() <= keyfall_api::json::MAX_BODY_BYTES);
            let _ = decode_request::<PutItemInput>(&plain);
        }
        Err(InflateError::TooLarge | InflateError::Bad(_)) => {}
    }
}

/// Target `json_request`: any bytes as the body of the item actions and CreateTable.
pub fn json_request(data: &[u8]) {
    let _ = decode_request::<PutItemInput>(data);
    let _ = decode_request::<UpdateItemInput>(data);
    let _ = decode_request::<GetItemInput>(data);
    let _ = decode_request::<CreateTableInput>(data);
}

/// Target `expr_parse`: any text as any expression kind; parsing and evaluation.
pub fn expr_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let names: HashMap<String, String> = [
        ("#a".to_string(), "a".to_string()),
        ("#b".to_string(), "b".to_string()),
    ]
    .into();
    let values: HashMap<String, AttributeValue> = [
        (
            ":n".to_string(),
            AttributeValue::N(Number::parse("1").unwrap_or_else(|_| Number::zero())),
        ),
        (":s".to_string(), AttributeValue::S("x".into())),
        (
            ":l".to_string(),
            AttributeValue::L(vec![AttributeValue::Null]),
        ),
    ]
    .into();
    let item: Item = [
        (
            "a".to_string(),
            AttributeValue::L(vec![AttributeValue::S("x".into())]),
        ),
        ("b".to_string(), AttributeValue::N(Number::zero())),
    ]
    .into();
    for kind in 0..4 {
        let mut input = ExpressionInput {
            names: Some(&names),
            values: Some(&values),
            ..Default::default()
        };
        match kind {
            0 => input.condition = Some(text),
            1 => input.update = Some(text),
            2 => input.projection = Some(text),
            _ => input.key_condition = Some(text),
        }
        if let Ok(parsed) = expr::parse(&input) {
            if let Some(c) = &parsed.condition {
                let _ = c.evaluate(&item);
            }
            if let Some(u) = &parsed.update {
                let _ = u.apply(&mut item.clone());
            }
            if let Some(p) = &parsed.projection {
                let _ = p.apply(&item);
            }
        }
    }
}

/// Target `auth_parse`: any text as a policy document (parsed and evaluated), and as an
/// `Authorization` header and date (verified).
pub fn auth_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = Policy::from_json_str(text) {
        let ctx = SimpleContext::new(
            "dynamodb:GetItem",
            "arn:aws:dynamodb:us-east-1:000000000000:table/T",
        )
        .with("aws:username", &["alice"])
        .with("dynamodb:leadingkeys", &["alice", "bob"])
        .with("aws:sourceip", &["127.0.0.1"])
        .with("aws:currenttime", &["2026-11-23T12:00:00Z"]);
        let _ = policy.evaluate(&ctx);
    }
    let (auth, date) = text.split_once('\n').unwrap_or((text, AMZ_DATE));
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(auth) {
        headers.insert("authorization", v);
    }
    if let Ok(v) = http::HeaderValue::from_str(date) {
        headers.insert("x-amz-date", v);
    }
    headers.insert("host", http::HeaderValue::from_static("localhost"));
    let req = SignedRequest {
        method: "POST",
        path: "/",
        query: date,
        headers: &headers,
        authority: None,
        body: data,
    };
    let scope = Scope {
        region: REGION.into(),
        service: "dynamodb",
        also: &[],
        max_skew: Duration::from_secs(900),
    };
    let _ = verify(
        &req,
        &scope,
        &SigningKeyCache::default(),
        fuzz_now(),
        |_| Some("secret"),
    );
}

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Target `partiql`: any text as a PartiQL statement (the first line; the lines after it
/// are parameters in DynamoDB JSON), down the whole statement path: parsed and bound,
/// planned on the fake schemas' tables, authorized with the server's checks, and the plan's
/// trees evaluated, applied and projected on an item. Nothing may panic, and a statement
/// that plans must plan the same way twice (authorization and the engine each plan it).
pub fn partiql(data: &[u8]) {
    use keyfall_types::partiql::{self, ExecuteStatement, Plan};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let source = lines.next().unwrap_or_default();
    let params: Vec<AttributeValue> = lines
        .filter_map(|l| serde_json::from_str::<AttributeValue>(l).ok())
        .collect();
    let Ok(statement) = partiql::parse(source, &params) else {
        return;
    };
    let cmd = ExecuteStatement {
        statement,
        consistent: false,
        limit: None,
        next: None,
        capacity: keyfall_types::command::ReturnCapacity::None,
        item_on_failure: false,
    };
    let _ = cmd.checks("dynamodb:ExecuteStatement", &FakeSchemas);
    let item: Item = [
        ("pk".to_string(), AttributeValue::S("a".into())),
        ("sk".to_string(), AttributeValue::N(Number::zero())),
        (
            "l".to_string(),
            AttributeValue::L(vec![AttributeValue::S("x".into()), AttributeValue::Null]),
        ),
        ("n".to_string(), AttributeValue::N(Number::zero())),
    ]
    .into();
    for keys in [
        Some(("pk".to_string(), Some("sk".to_string()))),
        Some(("id".to_string(), None)),
        None,
    ] {
        let first = partiql::plan(&cmd, keys.clone());
        let again = partiql::plan(&cmd, keys);
        assert_eq!(
            format!("{first:?}"),
            format!("{again:?}"),
            "one statement, two plans"
        );
        let Ok(plan) = first else {
            continue;
        };
        let (condition, update) = match &plan {
            Plan::Get(_) => (None, None),
            Plan::Query { queries, .. } => {
                for q in queries {
                    let _ = q.key_condition.evaluate(&item);
                }
                (queries.first().and_then(|q| q.page.filter.clone()), None)
            }
            Plan::Scan(s) => (s.page.filter.clone(), None),
            Plan::Put(p) => (p.condition.clone(), None),
            Plan::Update(u) => (u.condition.clone(), u.update.clone()),
            Plan::Delete(d) => (d.condition.clone(), None),
            Plan::Check { condition, .. } => (Some(condition.clone()), None),
        };
        if let Some(c) = condition {
            let _ = c.evaluate(&item);
        }
        if let Some(u) = update {
            let _ = u.apply(&mut item.clone());
        }
        if let keyfall_types::partiql::Statement::Select(s) = &cmd.statement {
            let _ = partiql::row(item.clone(), s.projection.as_deref());
        }
    }
}

/// Every target by name, for the bounded runs.
/// Any bytes as an import's object, in each format: parsing never panics, and every item
/// DynamoDB JSON or Ion yields survives a trip through the other format unchanged.
pub fn import_lines(data: &[u8]) {
    use keyfall_types::transfer::{self, csv_rows, ion, Format};
    let (selector, body) = match data.split_first() {
        Some((s, b)) => (*s, b),
        None => return,
    };
    let items: Vec<Item> = match selector % 3 {
        0 => body
            .split(|b| *b == b'\n')
            .filter_map(|line| transfer::parse_json_line(line).ok())
            .collect(),
        1 => match ion::parse_items(body) {
            Ok(items) => items.into_iter().flatten().collect(),
            Err(_) => Vec::new(),
        },
        _ => {
            let types = [("pk".to_string(), keyfall_types::model::ScalarType::S)].into();
            let _ = csv_rows::parse(body, b',', None, &types);
            Vec::new()
        }
    };
    for item in items {
        let mut json = Vec::new();
        let mut text = Vec::new();
        if transfer::item_line(Format::DynamoDbJson, &item, &mut json).is_err()
            || transfer::item_line(Format::Ion, &item, &mut text).is_err()
        {
            continue;
        }
        let from_json = transfer::parse_json_line(json.strip_suffix(b"\n").unwrap_or(&json));
        assert_eq!(
            from_json.as_ref().ok(),
            Some(&item),
            "DynamoDB JSON round trip"
        );
        let from_ion = ion::parse_items(&text)
            .ok()
            .and_then(|mut v| v.pop())
            .and_then(Result::ok);
        assert_eq!(
            from_ion.as_ref(),
            Some(&item),
            "Ion round trip of {}",
            String::from_utf8_lossy(&text)
        );
    }
}

pub const TARGETS: &[(&str, Target)] = &[
    ("http_wire", http_wire),
    ("json_action", json_action),
    ("sigv4_policy", sigv4_policy),
    ("json_request", json_request),
    ("expr_parse", expr_parse),
    ("auth_parse", auth_parse),
    ("import_lines", import_lines),
    ("partiql", partiql),
];
