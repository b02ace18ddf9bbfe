//! HTTP around the JSON protocol, answered as DynamoDB's front end answers it: CORS
//! preflights and headers (browser clients), the `Server` header, `<UnknownOperationException/>`
//! for other methods and content types, compressed request bodies (`Content-Encoding: gzip`
//! or `deflate`, inflated with a bound) and compressed responses (`Accept-Encoding`, with
//! `x-amz-crc32` over the bytes sent, as DynamoDB computes it).
//!
//! Shared by keyfall-server and keyfall-dax: [`conform`] is a middleware on their JSON
//! routers, [`inflate`] runs after authentication (a signature covers the bytes sent, so it
//! is checked on the compressed body).

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{JsonError, MAX_BODY_BYTES};

/// Responses shorter than this go out uncompressed, whatever the client accepts (DynamoDB's
/// threshold, about 4 KB: below it compression costs more CPU than it saves bytes).
pub const COMPRESS_MIN_BYTES: usize = 4096;

/// The headers a browser script may read from an answer (DynamoDB's list).
const EXPOSE_HEADERS: &str =
    "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date";
/// How long a browser may cache a preflight answer, in seconds (DynamoDB's value).
const PREFLIGHT_MAX_AGE: &str = "172800";
/// DynamoDB's answer to a request that is not a JSON `POST`: 404 and this body.
const UNKNOWN_OPERATION_XML: &str = "<UnknownOperationException/>\n";

/// The middleware: preflights and non-JSON requests answered here; every answer gets CORS
/// and `Server` headers; JSON answers are compressed when the client accepts it.
pub async fn conform(req: Request, next: Next) -> Response {
    let mut resp = if req.method() == Method::OPTIONS {
        preflight(req.headers())
    } else if !is_json_request(&req) {
        unknown_operation()
    } else {
        let accepts = accepted_encoding(req.headers());
        let resp = next.run(req).await;
        match accepts {
            Some(encoding) => compress(resp, encoding).await,
            None => resp,
        }
    };
    let h = resp.headers_mut();
    h.insert(header::SERVER, HeaderValue::from_static("Server"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    resp
}

/// GETs (health, metrics) pass; a POST with a body that names another content type is not
/// an operation (parameters such as `charset` allowed); neither is any other method.
/// DynamoDB also refuses a body with no content type at all; we take it as JSON (no client
/// depends on that refusal, and hand-written clients often leave the header out).
fn is_json_request(req: &Request) -> bool {
    match *req.method() {
        Method::GET | Method::HEAD => true,
        Method::POST => {
            let h = req.headers();
            let empty = h.get(header::TRANSFER_ENCODING).is_none()
                && h.get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .is_none_or(|v| v.trim() == "0");
            let media = h.get(header::CONTENT_TYPE).map(|v| {
                let v = v.to_str().unwrap_or("?");
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
            // Application Auto Scaling, served beside DynamoDB, speaks JSON 1.1.
            let autoscaling = h
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("AnyScaleFrontendService."));
            empty
                || matches!(
                    media.as_deref(),
                    None | Some("application/x-amz-json-1.0" | "application/json")
                )
                || (autoscaling && media.as_deref() == Some("application/x-amz-json-1.1"))
        }
        _ => false,
    }
}

fn unknown_operation() -> Response {
    let mut resp = (StatusCode::NOT_FOUND, UNKNOWN_OPERATION_XML).into_response();
    let crc = crc32fast::hash(UNKNOWN_OPERATION_XML.as_bytes());
    resp.headers_mut()
        .insert("x-amz-crc32", HeaderValue::from(crc));
    resp.headers_mut().remove(header::CONTENT_TYPE);
    resp
}

/// A CORS preflight: whatever method and headers the browser asks for are allowed (every
/// request is still signed and authorized; no cookie or ambient credential is involved).
fn preflight(headers: &HeaderMap) -> Response {
    let mut resp = StatusCode::OK.into_response();
    let h = resp.headers_mut();
    if let Some(v) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
    }
    if let Some(v) = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    resp
}

/// A content coding both sides know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Deflate,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }
}

/// The coding to answer in, from `Accept-Encoding`: gzip before deflate, none with `q=0`.
pub fn accepted_encoding(headers: &HeaderMap) -> Option<Encoding> {
    let mut gzip = false;
    let mut deflate = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let mut fields = part.split(';');
            let coding = fields.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = fields.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match coding.as_str() {
                "gzip" | "x-gzip" | "*" => gzip = true,
                "deflate" => deflate = true,
                _ => {}
            }
        }
    }
    if gzip {
        Some(Encoding::Gzip)
    } else if deflate {
        Some(Encoding::Deflate)
    } else {
        None
    }
}

/// Compresses a JSON answer (one carrying `x-amz-crc32`) of at least
/// [`COMPRESS_MIN_BYTES`]; the CRC is recomputed over the compressed bytes.
async fn compress(resp: Response, encoding: Encoding) -> Response {
    if resp.headers().get("x-amz-crc32").is_none()
        || resp.headers().get(header::CONTENT_ENCODING).is_some()
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(plain) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if plain.len() < COMPRESS_MIN_BYTES {
        return Response::from_parts(parts, Body::from(plain));
    }
    // Large answers (up to 16 MB) are compressed off the async workers.
    let packed = if plain.len() > 64 * 1024 {
        let input = plain.clone();
        tokio::task::spawn_blocking(move || encode(&input, encoding))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
    } else {
        encode(&plain, encoding)
    };
    let packed = match packed {
        Ok(p) => p,
        // Cannot happen writing to memory; the plain answer is still right.
        Err(_) => return Response::from_parts(parts, Body::from(plain)),
    };
    parts
        .headers
        .insert("x-amz-crc32", HeaderValue::from(crc32fast::hash(&packed)));
    parts.headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(encoding.name()),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(packed))
}

fn encode(plain: &[u8], encoding: Encoding) -> std::io::Result<Vec<u8>> {
    use flate2::write::{GzEncoder, ZlibEncoder};
    use std::io::Write;
    let level = flate2::Compression::fast();
    match encoding {
        Encoding::Gzip => {
            let mut e = GzEncoder::new(Vec::with_capacity(plain.len() / 4), level);
            e.write_all(plain)?;
            e.finish()
        }
        Encoding::Deflate => {
            let mut e = ZlibEncoder::new(Vec::with_capacity(plain.len() / 4), level);
            e.write_all(plain)?;
            e.finish()
        }
    }
}

/// Why a request body could not be inflated.
#[derive(Debug)]
pub enum InflateError {
    /// Inflated past [`MAX_BODY_BYTES`]: 413, as for a body sent that long.
    TooLarge,
    /// A broken stream or a coding we do not know.
    Bad(JsonError),
}

impl InflateError {
    pub fn into_response(self, request_id: &str) -> Response {
        match self {
            InflateError::TooLarge => super::too_large(),
            InflateError::Bad(e) => super::respond(e.status(), e.body(), request_id),
        }
    }
}

/// Undoes the request's `Content-Encoding` (a list, applied in order, undone in reverse),
/// stopping at [`MAX_BODY_BYTES`] of output so a small bomb cannot fill memory. Inflating
/// is CPU work (up to 16 MB), so it runs off the async workers.
pub async fn inflate(headers: &HeaderMap, raw: Bytes) -> Result<Bytes, InflateError> {
    let codings = codings(headers)?;
    if codings.is_empty() {
        return Ok(raw);
    }
    tokio::task::spawn_blocking(move || undo(&codings, raw))
        .await
        .unwrap_or_else(|e| {
            Err(InflateError::Bad(JsonError::Engine(
                keyfall_types::error::Error::Internal(format!("inflating the request body: {e}")),
            )))
        })
}

/// [`inflate`] on the calling thread (the fuzz target's body).
#[cfg(any(test, feature = "fuzzing"))]
pub fn inflate_blocking(headers: &HeaderMap, raw: Bytes) -> Result<Bytes, InflateError> {
    undo(&codings(headers)?, raw)
}

/// The codings a request applied, in order, without `identity`.
fn codings(headers: &HeaderMap) -> Result<Vec<String>, InflateError> {
    let mut codings: Vec<String> = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let value = value.to_str().map_err(|_| {
            InflateError::Bad(JsonError::Serialization(Some(
                "Content-Encoding is not a valid header value".into(),
            )))
        })?;
        codings.extend(
            value
                .split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .filter(|c| !c.is_empty() && c != "identity"),
        );
    }
    Ok(codings)
}

fn undo(codings: &[String], raw: Bytes) -> Result<Bytes, InflateError> {
    let mut body = raw;
    for coding in codings.iter().rev() {
        body = match coding.as_str() {
            "gzip" | "x-gzip" => {
                read_bounded(flate2::read::MultiGzDecoder::new(&body[..]), coding)?
            }
            "deflate" if is_zlib(&body) => {
                read_bounded(flate2::read::ZlibDecoder::new(&body[..]), coding)?
            }
            // Some clients send raw DEFLATE under the name.
            "deflate" => read_bounded(flate2::read::DeflateDecoder::new(&body[..]), coding)?,
            other => {
                return Err(InflateError::Bad(JsonError::Serialization(Some(format!(
                    "Unsupported Content-Encoding: {other} (supported: gzip, deflate, identity)"
                )))))
            }
        };
    }
    Ok(body)
}

/// A zlib stream's two-byte header: method 8 (deflate) and a check sum divisible by 31.
fn is_zlib(b: &[u8]) -> bool {
    match b {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

fn read_bounded(reader: impl Read, coding: &str) -> Result<Bytes, InflateError> {
    let mut out = Vec::new();
    let limit = MAX_BODY_BYTES as u64 + 1;
    reader.take(limit).read_to_end(&mut out).map_err(|e| {
        InflateError::Bad(JsonError::Serialization(Some(format!(
            "The request body is not valid {coding} data: {e}"
        ))))
    })?;
    if out.len() > MAX_BODY_BYTES {
        return Err(InflateError::TooLarge);
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::inflate_blocking as inflate;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn accept_encoding_cases() {
        type Row<'a> = (&'a [(&'a str, &'a str)], Option<Encoding>);
        let cases: &[Row] = &[
            (&[], None),
            (&[("accept-encoding", "identity")], None),
            (&[("accept-encoding", "gzip")], Some(Encoding::Gzip)),
            (
                &[("accept-encoding", "deflate, gzip")],
                Some(Encoding::Gzip),
            ),
            (
                &[("accept-encoding", "gzip;q=0, deflate")],
                Some(Encoding::Deflate),
            ),
            (&[("accept-encoding", "gzip; q=0")], None),
            (&[("accept-encoding", "br, *")], Some(Encoding::Gzip)),
            (
                &[("accept-encoding", "DEFLATE;q=0.5")],
                Some(Encoding::Deflate),
            ),
        ];
        for (pairs, want) in cases {
            let h = headers(pairs);
            assert_eq!(accepted_encoding(&h), *want, "{pairs:?}");
        }
    }

    #[test]
    fn inflate_round_trips_and_bounds() {
        let plain = br#"{"TableName":"t"}"#;
        for enc in [Encoding::Gzip, Encoding::Deflate] {
            let packed = encode(plain, enc).expect("encode");
            let mut h = HeaderMap::new();
            h.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(enc.name()),
            );
            let got = inflate(&h, Bytes::from(packed)).expect("inflate");
            assert_eq!(&got[..], plain);
        }
        // Raw DEFLATE under the name "deflate".
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut raw, plain).expect("write");
        let h = headers(&[("content-encoding", "deflate")]);
        let got = inflate(&h, Bytes::from(raw.finish().expect("finish"))).expect("raw deflate");
        assert_eq!(&got[..], plain);
        // A bomb: 17 MB of zeros in a few KB.
        let zeros = vec![0u8; MAX_BODY_BYTES + 1024];
        let bomb = encode(&zeros, Encoding::Gzip).expect("encode");
        assert!(bomb.len() < 100_000);
        let h = headers(&[("content-encoding", "gzip")]);
        assert!(matches!(
            inflate(&h, Bytes::from(bomb)),
            Err(InflateError::TooLarge)
        ));
        // Broken and unknown codings.
        assert!(matches!(
            inflate(&h, Bytes::from_static(b"not gzip")),
            Err(InflateError::Bad(JsonError::Serialization(Some(_))))
        ));
        let h = headers(&[("content-encoding", "br")]);
        assert!(matches!(
            inflate(&h, Bytes::from_static(b"{}")),
            Err(InflateError::Bad(JsonError::Serialization(Some(_))))
        ));
        // identity and no header leave the body alone.
        let h = headers(&[("content-encoding", "identity")]);
        assert_eq!(
            &inflate(&h, Bytes::from_static(b"{}")).expect("id")[..],
            b"{}"
        );
    }
}
