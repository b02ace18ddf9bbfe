//! Server-side SigV4 verification, shared by the JSON API and the gRPC layer.
//!
//! The canonical request is rebuilt from the request's own `SignedHeaders` and a body hash
//! the server computes (DynamoDB clients do not send `x-amz-content-sha256`). Checks run
//! in AWS's order: a missing or malformed `Authorization` first, then the date window and
//! the credential scope, then the access key, then the signature itself.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::AuthError;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Everything of a request that its signature covers, independent of the HTTP stack.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as it appears on the wire (still percent-encoded).
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    /// HTTP/2 carries the host in `:authority`; it stands in for a missing `host` header.
    pub authority: Option<&'a str>,
    /// The body as received; its hash is computed here, never taken from the client.
    pub body: &'a [u8],
}

impl<'a> SignedRequest<'a> {
    /// A POST to `/` with no query, as the AWS SDKs send every DynamoDB JSON request.
    pub fn post(headers: &'a HeaderMap, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers,
            authority: None,
            body,
        }
    }
}

/// What the verifier checks a credential scope against.
#[derive(Debug, Clone)]
pub struct Scope {
    pub region: String,
    pub service: &'static str,
    /// Other services a request may be scoped to: the APIs served beside DynamoDB's on the
    /// same port (Application Auto Scaling's `application-autoscaling`).
    pub also: &'static [&'static str],
    /// How far `X-Amz-Date` may be from the server's clock, either way.
    pub max_skew: Duration,
}

/// The `Authorization` header, split into its parts.
struct Authorization<'a> {
    access_key_id: &'a str,
    scope_date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    /// `SignedHeaders` as sent (`host;x-amz-date`), split where used: no allocation.
    signed_headers: &'a str,
    signature: &'a str,
    raw: &'a str,
}

/// Derived signing keys by access key: the HMAC chain costs four HMACs, more than the rest
/// of a verification. Each entry remembers the scope date, region and secret it was derived
/// from, so a new day or a changed secret never verifies with a stale key; a lookup borrows
/// the access key id, so a hit allocates nothing.
#[derive(Default)]
pub struct SigningKeyCache {
    keys: parking_lot::RwLock<HashMap<String, DerivedKey>>,
}

struct DerivedKey {
    date: String,
    region: String,
    service: String,
    secret: String,
    key: Vec<u8>,
}

impl DerivedKey {
    fn derived_for(&self, secret: &str, date: &str, region: &str, service: &str) -> bool {
        self.date == date
            && self.region == region
            && self.service == service
            && self.secret == secret
    }
}

/// Bounds the cache; clearing it whole is fine since keys are rederived on demand.
const MAX_CACHED_KEYS: usize = 10_000;

impl SigningKeyCache {
    /// The signature of `string_to_sign` with the key of the request's access key and
    /// credential scope.
    fn sign(
        &self,
        auth: &Authorization<'_>,
        secret: &str,
        at: SystemTime,
        string_to_sign: &[u8],
    ) -> String {
        let (access_key, date, region, service) = (
            auth.access_key_id,
            auth.scope_date,
            auth.region,
            auth.service,
        );
        if let Some(k) = self.keys.read().get(access_key) {
            if k.derived_for(secret, date, region, service) {
                return aws_sigv4::sign::v4::calculate_signature(&k.key, string_to_sign);
            }
        }
        let key = aws_sigv4::sign::v4::generate_signing_key(secret, at, region, service)
            .as_ref()
            .to_vec();
        let signature = aws_sigv4::sign::v4::calculate_signature(&key, string_to_sign);
        let mut keys = self.keys.write();
        if keys.len() >= MAX_CACHED_KEYS {
            keys.clear();
        }
        keys.insert(
            access_key.to_string(),
            DerivedKey {
                date: date.to_string(),
                region: region.to_string(),
                service: service.to_string(),
                secret: secret.to_string(),
                key,
            },
        );
        signature
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    push_sha256_hex(&mut out, bytes);
    out
}

/// Appends the hex SHA-256 of `bytes` (through a stack buffer: `hex::encode` goes a char
/// at a time, which showed in verification profiles).
fn push_sha256_hex(out: &mut String, bytes: &[u8]) {
    let mut buf = [0u8; 64];
    if hex::encode_to_slice(Sha256::digest(bytes), &mut buf).is_ok() {
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    }
}

/// What the headers of a signed request say, checked before anything reads its body.
struct HeaderCheck<'a> {
    auth: Authorization<'a>,
    amz_date: &'a str,
    signed_at: SystemTime,
}

/// Every check that needs no body, in AWS's order, up to and including the access key:
/// a request with a missing, malformed, stale or unknown credential is refused before its
/// body is read. `key_known` tells whether an access key exists.
pub fn verify_headers(
    headers: &HeaderMap,
    scope: &Scope,
    now: SystemTime,
    key_known: impl FnOnce(&str) -> bool,
) -> Result<(), AuthError> {
    let checked = check_headers(headers, scope, now)?;
    if key_known(checked.auth.access_key_id) {
        Ok(())
    } else {
        Err(unrecognized_client())
    }
}

fn check_headers<'a>(
    headers: &'a HeaderMap,
    scope: &Scope,
    now: SystemTime,
) -> Result<HeaderCheck<'a>, AuthError> {
    let Some(header) = headers.get(http::header::AUTHORIZATION) else {
        return Err(AuthError::MissingAuthenticationToken(
            "Request is missing Authentication Token".into(),
        ));
    };
    let raw = header.to_str().map_err(|_| {
        AuthError::IncompleteSignature("Authorization header is not valid ASCII.".into())
    })?;
    let auth = parse_authorization(raw)?;
    let amz_date = header_str(headers, "x-amz-date").ok_or_else(|| {
        AuthError::IncompleteSignature(format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={raw}"
        ))
    })?;
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
        AuthError::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })?;
    check_clock(signed_at, amz_date, now, scope.max_skew)?;
    check_scope(&auth, amz_date, scope)?;
    let signed = |name: &str| auth.signed_headers.split(';').any(|h| h == name);
    if !signed("host") {
        return Err(AuthError::IncompleteSignature(format!(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization. Authorization={}",
            auth.raw
        )));
    }
    for name in headers.keys() {
        let name = name.as_str();
        if name.starts_with("x-amz-") && name != "x-amz-user-agent" && !signed(name) {
            return Err(AuthError::InvalidSignature(format!(
                "Header '{name}' must be signed: every x-amz-* header is part of the signature."
            )));
        }
    }
    if headers.contains_key("x-amz-security-token") {
        // No temporary credentials are issued, so no session token can be valid.
        return Err(unrecognized_client());
    }
    Ok(HeaderCheck {
        auth,
        amz_date,
        signed_at,
    })
}

/// Verifies `req` and returns the access key id it was signed with. `secret_for` looks up
/// the secret of an access key (None: unknown key).
pub fn verify<S: AsRef<str>>(
    req: &SignedRequest<'_>,
    scope: &Scope,
    keys: &SigningKeyCache,
    now: SystemTime,
    secret_for: impl FnOnce(&str) -> Option<S>,
) -> Result<String, AuthError> {
    let HeaderCheck {
        auth,
        amz_date,
        signed_at,
    } = check_headers(req.headers, scope, now)?;
    let secret = secret_for(auth.access_key_id).ok_or_else(unrecognized_client)?;

    let canonical = canonical_request(req, auth.signed_headers);
    let mut string_to_sign = String::with_capacity(200);
    for part in [
        ALGORITHM,
        "\n",
        amz_date,
        "\n",
        auth.scope_date,
        "/",
        auth.region,
        "/",
        auth.service,
        "/",
        auth.terminator,
        "\n",
    ] {
        string_to_sign.push_str(part);
    }
    push_sha256_hex(&mut string_to_sign, canonical.as_bytes());
    let expected = keys.sign(&auth, secret.as_ref(), signed_at, string_to_sign.as_bytes());
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(auth.access_key_id.to_string())
    } else {
        Err(AuthError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details."
                .into(),
        ))
    }
}

fn unrecognized_client() -> AuthError {
    AuthError::UnrecognizedClient("The security token included in the request is invalid.".into())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn parse_authorization(raw: &str) -> Result<Authorization<'_>, AuthError> {
    let Some(rest) = raw.strip_prefix(ALGORITHM).filter(|r| r.starts_with(' ')) else {
        let algorithm = raw.split_whitespace().next().unwrap_or("");
        return Err(AuthError::IncompleteSignature(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'. Only {ALGORITHM} is supported."
        )));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some((k, v)) = part.split_once('=') {
            match k.trim() {
                "Credential" => credential = Some(v.trim()),
                "SignedHeaders" => signed = Some(v.trim()),
                "Signature" => signature = Some(v.trim()),
                _ => {}
            }
        }
    }
    let mut missing = String::new();
    for (name, v) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed),
    ] {
        if v.is_none_or(str::is_empty) {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(AuthError::IncompleteSignature(format!(
            "{missing}Authorization={raw}"
        )));
    };
    if !missing.is_empty() {
        return Err(AuthError::IncompleteSignature(format!(
            "{missing}Authorization={raw}"
        )));
    }
    let mut parts = credential.split('/');
    let (
        Some(access_key_id),
        Some(scope_date),
        Some(region),
        Some(service),
        Some(terminator),
        None,
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return Err(AuthError::IncompleteSignature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    Ok(Authorization {
        access_key_id,
        scope_date,
        region,
        service,
        terminator,
        signed_headers: signed,
        signature,
        raw,
    })
}

/// `yyyymmddThhmmssZ`. Read by hand: the fixed layout needs no format parser, which was
/// a visible share of a verification.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(num(6..8)?).ok()?).ok()?;
    let [hour, minute, second] =
        [num(9..11)?, num(11..13)?, num(13..15)?].map(|n| u8::try_from(n).unwrap_or(u8::MAX));
    let time = time::Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc().into())
}

fn format_amz_date(t: SystemTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    OffsetDateTime::from(t)
        .format(format)
        .unwrap_or_else(|_| String::from("?"))
}

fn check_clock(
    signed_at: SystemTime,
    amz_date: &str,
    now: SystemTime,
    skew: Duration,
) -> Result<(), AuthError> {
    let minutes = skew.as_secs() / 60;
    if signed_at + skew < now {
        return Err(AuthError::InvalidSignature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - {minutes} min.)",
            format_amz_date(now - skew),
            format_amz_date(now)
        )));
    }
    if signed_at > now + skew {
        return Err(AuthError::InvalidSignature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + {minutes} min.)",
            format_amz_date(now + skew),
            format_amz_date(now)
        )));
    }
    Ok(())
}

fn check_scope(auth: &Authorization<'_>, amz_date: &str, scope: &Scope) -> Result<(), AuthError> {
    let date = amz_date.get(..8).unwrap_or(amz_date);
    if auth.scope_date != date {
        return Err(AuthError::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{date}', from '{amz_date}'.",
            auth.scope_date
        )));
    }
    if auth.region != scope.region {
        return Err(AuthError::InvalidSignature(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            auth.region
        )));
    }
    if auth.service != scope.service && !scope.also.contains(&auth.service) {
        return Err(AuthError::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{}'. ",
            scope.service
        )));
    }
    if auth.terminator != "aws4_request" {
        return Err(AuthError::InvalidSignature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
            auth.terminator
        )));
    }
    Ok(())
}

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const SIGV4_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(s: &str) -> String {
    utf8_percent_encode(s, SIGV4_ENCODE).to_string()
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Signers leave a scheme's default port out of `host`; `:authority` may carry it.
fn default_port_stripped(authority: &str) -> &str {
    authority
        .strip_suffix(":80")
        .or_else(|| authority.strip_suffix(":443"))
        .unwrap_or(authority)
}

/// The canonical request of SigV4 for non-S3 services: the wire path is encoded once more
/// (double encoding), the query is decoded, re-encoded and sorted, each signed header
/// appears once with its values trimmed and joined by commas.
/// `signed_headers` is the `SignedHeaders` list as sent: names joined by `;`.
pub fn canonical_request(req: &SignedRequest<'_>, signed_headers: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    if req.path.is_empty() {
        out.push('/');
    } else {
        for (i, segment) in req.path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.extend(utf8_percent_encode(segment, SIGV4_ENCODE));
        }
    }
    out.push('\n');
    if !req.query.is_empty() {
        let mut pairs: Vec<(String, String)> = req
            .query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (encode(&decode(k)), encode(&decode(v)))
            })
            .collect();
        pairs.sort();
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
    }
    out.push('\n');
    for name in signed_headers.split(';') {
        out.push_str(name);
        out.push(':');
        let mut values = req.headers.get_all(name).iter().peekable();
        if values.peek().is_none() && name == "host" {
            out.push_str(default_port_stripped(req.authority.unwrap_or("")));
        }
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Trimmed, inner runs of whitespace folded to one space.
            let v = String::from_utf8_lossy(v.as_bytes());
            for (j, word) in v.split_whitespace().enumerate() {
                if j > 0 {
                    out.push(' ');
                }
                out.push_str(word);
            }
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(signed_headers);
    out.push('\n');
    push_sha256_hex(&mut out, req.body);
    out
}

#[cfg(test)]
mod tests;
