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

/// What the verifier checks a credential scope against.
#[derive(Debug, Clone)]
pub struct Scope {
    pub region: String,
    pub service: &'static str,
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
    signed_headers: Vec<&'a str>,
    signature: &'a str,
    raw: &'a str,
}

/// Derived signing keys by access key, scope date and region: the HMAC chain costs four
/// HMACs, more than the rest of a verification. Each entry remembers the secret it was
/// derived from, so a changed secret never verifies with a stale key.
#[derive(Default)]
pub struct SigningKeyCache {
    keys: parking_lot::RwLock<HashMap<KeyScope, (String, Vec<u8>)>>,
}

/// Access key id, scope date, region.
type KeyScope = (String, String, String);

/// Bounds the cache; clearing it whole is fine since keys are rederived on demand.
const MAX_CACHED_KEYS: usize = 10_000;

impl SigningKeyCache {
    fn get(
        &self,
        access_key: &str,
        secret: &str,
        date: &str,
        region: &str,
        at: SystemTime,
        service: &str,
    ) -> Vec<u8> {
        let id = (access_key.to_string(), date.to_string(), region.to_string());
        if let Some((s, key)) = self.keys.read().get(&id) {
            if s == secret {
                return key.clone();
            }
        }
        let key = aws_sigv4::sign::v4::generate_signing_key(secret, at, region, service)
            .as_ref()
            .to_vec();
        let mut keys = self.keys.write();
        if keys.len() >= MAX_CACHED_KEYS {
            keys.clear();
        }
        keys.insert(id, (secret.to_string(), key.clone()));
        key
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
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
    let Some(header) = req.headers.get(http::header::AUTHORIZATION) else {
        return Err(AuthError::MissingAuthenticationToken(
            "Request is missing Authentication Token".into(),
        ));
    };
    let raw = header.to_str().map_err(|_| {
        AuthError::IncompleteSignature("Authorization header is not valid ASCII.".into())
    })?;
    let auth = parse_authorization(raw)?;
    let amz_date = header_str(req.headers, "x-amz-date").ok_or_else(|| {
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
    if !auth.signed_headers.contains(&"host") {
        return Err(AuthError::IncompleteSignature(format!(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization. Authorization={}",
            auth.raw
        )));
    }
    for name in req.headers.keys() {
        let name = name.as_str();
        if name.starts_with("x-amz-")
            && name != "x-amz-user-agent"
            && !auth.signed_headers.contains(&name)
        {
            return Err(AuthError::InvalidSignature(format!(
                "Header '{name}' must be signed: every x-amz-* header is part of the signature."
            )));
        }
    }
    if req.headers.contains_key("x-amz-security-token") {
        // No temporary credentials are issued, so no session token can be valid.
        return Err(unrecognized_client());
    }
    let secret = secret_for(auth.access_key_id).ok_or_else(unrecognized_client)?;

    let canonical = canonical_request(req, &auth.signed_headers);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/{}\n{}",
        auth.scope_date,
        auth.region,
        auth.service,
        auth.terminator,
        sha256_hex(canonical.as_bytes())
    );
    let key = keys.get(
        auth.access_key_id,
        secret.as_ref(),
        auth.scope_date,
        auth.region,
        signed_at,
        auth.service,
    );
    let expected = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
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
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = parts[..] else {
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
        signed_headers: signed.split(';').collect(),
        signature,
        raw,
    })
}

fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = PrimitiveDateTime::parse(s, format).ok()?.assume_utc();
    Some(t.into())
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
    if auth.service != scope.service {
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
pub fn canonical_request(req: &SignedRequest<'_>, signed_headers: &[&str]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    if req.path.is_empty() {
        out.push('/');
    } else {
        let segments: Vec<String> = req.path.split('/').map(encode).collect();
        out.push_str(&segments.join("/"));
    }
    out.push('\n');
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
    let query: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.push_str(&query.join("&"));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        let mut values = req.headers.get_all(*name).iter().peekable();
        if values.peek().is_none() && *name == "host" {
            out.push_str(default_port_stripped(req.authority.unwrap_or("")));
        }
        let mut first = true;
        for v in values {
            if !first {
                out.push(',');
            }
            first = false;
            let v = String::from_utf8_lossy(v.as_bytes());
            out.push_str(&v.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(&sha256_hex(req.body));
    out
}

#[cfg(test)]
mod tests;
