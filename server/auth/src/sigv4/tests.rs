//! Requests signed by the AWS SDK's own signer verify; every tampering or malformed part
//! is refused with AWS's error name, in AWS's order.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use http::HeaderMap;

use super::{verify, Scope, SignedRequest};
use crate::AuthError;

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const BODY: &[u8] = br#"{"TableName":"Music"}"#;

fn scope() -> Scope {
    Scope {
        region: "us-east-1".into(),
        service: "dynamodb",
        also: &[],
        max_skew: Duration::from_secs(15 * 60),
    }
}

/// Signs a JSON-API request at `at` the way the SDKs do, returning its headers.
fn signed_headers(at: SystemTime, region: &str, secret: &str, body: &[u8]) -> HeaderMap {
    let identity: Identity =
        aws_credential_types::Credentials::new(KEY, secret, None, None, "test").into();
    let params = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("dynamodb")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let mut req = http::Request::builder()
        .method("POST")
        .uri("http://localhost:8000/")
        .header("host", "localhost:8000")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.DescribeTable")
        .body(())
        .unwrap();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    let signable = SignableRequest::new(
        "POST",
        "http://localhost:8000/",
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut req);
    req.headers().clone()
}

fn check(headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<String, AuthError> {
    check_with(
        &super::SigningKeyCache::default(),
        SECRET,
        headers,
        body,
        now,
    )
}

/// Verifies a JSON-API request with `keys` as the key cache and `secret` as KEY's secret.
fn check_with(
    keys: &super::SigningKeyCache,
    secret: &'static str,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<String, AuthError> {
    let req = SignedRequest::post(headers, body);
    verify(&req, &scope(), keys, now, |k| (k == KEY).then_some(secret))
}

fn kind(r: Result<String, AuthError>) -> String {
    match r {
        Ok(k) => format!("ok {k}"),
        Err(e) => format!("{}: {}", e.type_name(), e),
    }
}

#[test]
fn sdk_signed_requests_verify_and_tampering_is_refused() {
    let now = SystemTime::now();
    let good = signed_headers(now, "us-east-1", SECRET, BODY);
    assert_eq!(kind(check(&good, BODY, now)), "ok AKIDEXAMPLE");

    let mut cases: Vec<(&str, HeaderMap, &[u8], SystemTime, &str)> = vec![
        (
            "body tampered after signing",
            good.clone(),
            br#"{"TableName":"Other"}"#,
            now,
            "InvalidSignatureException: The request signature we calculated does not match",
        ),
        (
            "wrong secret",
            signed_headers(now, "us-east-1", "nope", BODY),
            BODY,
            now,
            "InvalidSignatureException: The request signature",
        ),
        (
            "expired",
            good.clone(),
            BODY,
            now + Duration::from_secs(16 * 60),
            "InvalidSignatureException: Signature expired: ",
        ),
        (
            "future",
            good.clone(),
            BODY,
            now - Duration::from_secs(16 * 60),
            "InvalidSignatureException: Signature not yet current: ",
        ),
        (
            "within skew",
            good.clone(),
            BODY,
            now + Duration::from_secs(14 * 60),
            "ok",
        ),
        (
            "wrong region",
            signed_headers(now, "eu-west-1", SECRET, BODY),
            BODY,
            now,
            "InvalidSignatureException: Credential should be scoped to a valid region",
        ),
    ];
    let mut no_auth = good.clone();
    no_auth.remove("authorization");
    cases.push((
        "no authorization",
        no_auth,
        BODY,
        now,
        "MissingAuthenticationTokenException: Request is missing Authentication Token",
    ));

    let auth = good["authorization"].to_str().unwrap().to_string();
    let with_auth = |v: String| {
        let mut h = good.clone();
        h.insert("authorization", v.parse().unwrap());
        h
    };
    cases.push((
        "unknown key",
        with_auth(auth.replace(KEY, "AKIDUNKNOWN")),
        BODY,
        now,
        "UnrecognizedClientException: The security token included in the request is invalid.",
    ));
    cases.push((
        "no signature",
        with_auth(auth.split(", Signature=").next().unwrap().to_string()),
        BODY,
        now,
        "IncompleteSignatureException: Authorization header requires 'Signature' parameter.",
    ));
    cases.push((
        "bad credential",
        with_auth(auth.replace("/us-east-1/", "/")),
        BODY,
        now,
        "IncompleteSignatureException: Credential must have exactly 5 slash-delimited elements",
    ));
    cases.push((
        "credential with six elements",
        with_auth(auth.replace("/us-east-1/", "/us-east-1/extra/")),
        BODY,
        now,
        "IncompleteSignatureException: Credential must have exactly 5 slash-delimited elements",
    ));
    cases.push((
        "other algorithm",
        with_auth(auth.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")),
        BODY,
        now,
        "IncompleteSignatureException: Unsupported AWS 'algorithm'",
    ));
    cases.push((
        "host unsigned",
        with_auth(auth.replace("host;", "")),
        BODY,
        now,
        "IncompleteSignatureException: 'Host' or ':authority' must be a 'SignedHeader'",
    ));
    // An unknown key that is also expired reports the expiry: the date is checked first.
    cases.push((
        "unknown and expired",
        with_auth(auth.replace(KEY, "AKIDUNKNOWN")),
        BODY,
        now + Duration::from_secs(3600),
        "InvalidSignatureException: Signature expired",
    ));
    let mut unsigned_amz = good.clone();
    unsigned_amz.insert("x-amz-meta", "x".parse().unwrap());
    cases.push((
        "unsigned x-amz header",
        unsigned_amz,
        BODY,
        now,
        "InvalidSignatureException: Header 'x-amz-meta' must be signed",
    ));
    let mut changed_target = good.clone();
    changed_target.insert(
        "x-amz-target",
        "DynamoDB_20120810.DeleteTable".parse().unwrap(),
    );
    cases.push((
        "signed header changed",
        changed_target,
        BODY,
        now,
        "InvalidSignatureException: The request signature",
    ));
    let mut token = good.clone();
    token.insert("x-amz-security-token", "t".parse().unwrap());
    cases.push((
        "session token unsigned",
        token,
        BODY,
        now,
        "InvalidSignatureException: Header 'x-amz-security-token'",
    ));

    for (name, headers, body, at, want) in cases {
        let got = kind(check(&headers, body, at));
        assert!(got.starts_with(want), "{name}: got {got:?}, want {want:?}");
    }
}

#[test]
fn expiry_message_has_aws_shape() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let headers = signed_headers(now - Duration::from_secs(3600), "us-east-1", SECRET, BODY);
    let msg = check(&headers, BODY, now).unwrap_err().to_string();
    assert_eq!(
        msg,
        "Signature expired: 20231114T211320Z is now earlier than 20231114T215820Z (20231114T221320Z - 15 min.)"
    );
}

#[test]
fn canonical_request_of_the_aws_example() {
    // The "get-vanilla-query-order-key-case" case of the AWS SigV4 test suite.
    let mut headers = HeaderMap::new();
    headers.insert("host", "example.amazonaws.com".parse().unwrap());
    headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
    let req = SignedRequest {
        method: "GET",
        path: "/",
        query: "Param2=value2&Param1=value1",
        headers: &headers,
        authority: None,
        body: b"",
    };
    let canonical = super::canonical_request(&req, "host;x-amz-date");
    assert_eq!(
        canonical,
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn amz_dates_are_read_in_iso_basic_format_only() {
    for (text, want) in [
        ("20150830T123600Z", Some(1_440_938_160)),
        ("20240229T235959Z", Some(1_709_251_199)),
        ("19700101T000000Z", Some(0)),
        ("20230229T000000Z", None), // not a leap year
        ("20151330T000000Z", None),
        ("20150830T246000Z", None),
        ("20150830T123660Z", None),
        ("20150830T123600", None),
        ("20150830T123600ZZ", None),
        ("2015083OT123600Z", None),
        ("+0150830T123600Z", None),
        ("20150830 123600Z", None),
        ("2015-08-30T12:36", None),
        ("", None),
    ] {
        let got = super::parse_amz_date(text).map(|t| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(u64::MAX)
        });
        assert_eq!(got, want, "{text:?}");
    }
}

#[test]
fn a_cached_signing_key_is_not_used_for_another_secret_or_day() {
    let keys = super::SigningKeyCache::default();
    let now = SystemTime::now();
    let verify_with = |headers: &HeaderMap, secret: &'static str, at: SystemTime| {
        kind(check_with(&keys, secret, headers, BODY, at))
    };
    let old = signed_headers(now, "us-east-1", SECRET, BODY);
    assert_eq!(verify_with(&old, SECRET, now), "ok AKIDEXAMPLE");
    // The secret was rotated: the old signature fails, one with the new secret passes.
    assert!(verify_with(&old, "rotated", now).starts_with("InvalidSignatureException"));
    let new = signed_headers(now, "us-east-1", "rotated", BODY);
    assert_eq!(verify_with(&new, "rotated", now), "ok AKIDEXAMPLE");
    assert!(verify_with(&new, SECRET, now).starts_with("InvalidSignatureException"));
    // A request of the next day derives that day's key.
    let tomorrow = now + Duration::from_secs(86_400);
    let next = signed_headers(tomorrow, "us-east-1", SECRET, BODY);
    assert_eq!(verify_with(&next, SECRET, tomorrow), "ok AKIDEXAMPLE");
    assert_eq!(verify_with(&old, SECRET, now), "ok AKIDEXAMPLE");
}
