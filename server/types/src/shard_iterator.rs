//! Shard iterators: opaque, self-contained tokens that expire after 15 minutes,
//! authenticated by an HMAC keyed by a secret the server keeps, so an iterator cannot be
//! forged or pointed at another stream. The format lives here, below the engine, because
//! keyfall-dax reads the stream an iterator claims (to authorize the request) without
//! holding the secret; the server verifies before reading anything.

use base64::Engine as _;

use crate::error::{Error, Result};

/// What a shard iterator stands for: read after `after` in the table's current stream.
pub struct Position {
    pub table: String,
    pub label: String,
    pub after: u64,
    pub expires: f64,
}

type IteratorMac = hmac::Hmac<sha2::Sha256>;

/// The MAC of an iterator's content under the server's secret.
fn iterator_mac(key: &[u8], content: &[u8]) -> Option<IteratorMac> {
    use hmac::{KeyInit, Mac};
    let mut mac = <IteratorMac as KeyInit>::new_from_slice(key).ok()?;
    mac.update(content);
    Some(mac)
}

/// `base64(content) "." base64(HMAC-SHA256(secret, content))`: the content says which
/// stream and where, the MAC makes it unforgeable and binds it to that stream.
pub fn encode_iterator(key: &[u8], p: &Position) -> Result<String> {
    use hmac::Mac;
    let b64 = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = format!("v2|{}|{}|{}|{}", p.table, p.label, p.after, p.expires);
    let mac = iterator_mac(key, raw.as_bytes())
        .ok_or_else(|| Error::Internal("shard iterator key".into()))?
        .finalize()
        .into_bytes();
    Ok(format!("{}.{}", b64.encode(raw), b64.encode(mac)))
}

/// The content of an iterator, NOT verified: what it claims to read. Only for authorizing
/// a request the server will verify before reading anything (keyfall-dax, which has no
/// secret, authorizes on this; the server then refuses a forged iterator).
fn parse_iterator(s: &str) -> Option<(Position, Vec<u8>, Vec<u8>)> {
    let b64 = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (content, mac) = s.split_once('.')?;
    let raw = b64.decode(content).ok()?;
    let mac = b64.decode(mac).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let mut parts = text.split('|');
    if parts.next()? != "v2" {
        return None;
    }
    let table = parts.next()?.to_string();
    let label = parts.next()?.to_string();
    let after = parts.next()?.parse().ok()?;
    let expires = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    let pos = Position {
        table,
        label,
        after,
        expires,
    };
    Some((pos, raw, mac))
}

/// An iterator this server issued (its MAC verifies), or None.
pub fn decode_iterator(key: &[u8], s: &str) -> Option<Position> {
    use hmac::Mac;
    let (pos, raw, mac) = parse_iterator(s)?;
    iterator_mac(key, &raw)?.verify_slice(&mac).ok()?;
    Some(pos)
}

/// The ARN of the stream an iterator claims to read, without verifying it (see
/// [`parse_iterator`]); `table_arn` gives the table's ARN.
pub fn claimed_stream_arn_of_iterator(
    iterator: &str,
    table_arn: impl FnOnce(&str) -> String,
) -> Option<String> {
    let (p, _, _) = parse_iterator(iterator)?;
    Some(format!("{}/stream/{}", table_arn(&p.table), p.label))
}
