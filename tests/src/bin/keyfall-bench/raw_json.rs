//! A lean DynamoDB JSON client, so a JSON-API comparison measures the servers rather than
//! the load generator. On a machine where client and server share the cores, every
//! microsecond the client spends is taken from the server it measures; a fast server loses
//! more to that than a slow one, so a heavy client compresses the ratios this bench exists
//! to report. Hence: request bodies written straight into a buffer, SigV4 with the canonical
//! form written directly and the day's key reused (as the SDKs cache it; checked against
//! aws-sigv4 by a test), one HTTP/1.1 connection per in-flight request taken from an idle
//! list, and responses parsed only as far as the workload needs.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use sha2::Digest;

const REGION: &str = "us-east-1";
const SIGNED_HEADERS: &str = "content-type;host;x-amz-date;x-amz-target";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

#[derive(Clone)]
pub struct RawJson {
    inner: Arc<Inner>,
}

struct Inner {
    /// `host:port`, dialled and signed as `host`.
    authority: String,
    signer: Signer,
    /// Connections with no request in flight; a call takes one or dials a new one.
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl RawJson {
    pub fn new(endpoint: &str, key: &str, secret: &str) -> anyhow::Result<RawJson> {
        let uri: http::Uri = endpoint.parse()?;
        anyhow::ensure!(
            uri.scheme_str() == Some("http"),
            "the raw JSON client speaks plain http, not {endpoint}"
        );
        let authority = uri
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| anyhow::anyhow!("endpoint {endpoint} has no host"))?;
        Ok(RawJson {
            inner: Arc::new(Inner {
                authority,
                signer: Signer::new(key, secret),
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Sends `DynamoDB_20120810.<operation>` with `body`; the response body on 200.
    pub async fn call(&self, operation: &str, body: Vec<u8>) -> anyhow::Result<Bytes> {
        let inner = &self.inner;
        let target = format!("DynamoDB_20120810.{operation}");
        let (amz_date, authorization) =
            inner
                .signer
                .sign(&inner.authority, &target, &body, SystemTime::now());
        let request = http::Request::builder()
            .method("POST")
            .uri("/")
            .header(http::header::HOST, inner.authority.as_str())
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .header("x-amz-target", target)
            .header("x-amz-date", amz_date)
            .header(http::header::AUTHORIZATION, authorization)
            .body(Full::new(Bytes::from(body)))?;
        let mut conn = match self.take_idle() {
            Some(conn) => conn,
            None => self.dial().await?,
        };
        let response = conn.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        if let Ok(mut idle) = inner.idle.lock() {
            idle.push(conn);
        }
        anyhow::ensure!(
            status == http::StatusCode::OK,
            "{operation}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(bytes)
    }

    fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.inner.idle.lock().ok()?;
        while let Some(conn) = idle.pop() {
            if !conn.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    async fn dial(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(&self.inner.authority).await?;
        stream.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the server closes the connection or the sender is dropped.
            let _ = conn.await;
        });
        Ok(send)
    }
}

/// SigV4 for DynamoDB JSON requests: always `POST /`, no query, the same four signed headers.
struct Signer {
    access_key_id: String,
    secret: String,
    key: keyfall::signing::DayKey,
}

impl Signer {
    fn new(access_key_id: &str, secret: &str) -> Signer {
        Signer {
            access_key_id: access_key_id.to_string(),
            secret: secret.to_string(),
            key: keyfall::signing::DayKey::default(),
        }
    }

    /// `(x-amz-date, authorization)` for a request with these headers and body.
    fn sign(&self, host: &str, target: &str, body: &[u8], now: SystemTime) -> (String, String) {
        let amz_date = keyfall::signing::amz_date(now);
        let date = &amz_date[..8];
        let canonical = format!(
            "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\nx-amz-date:{amz_date}\nx-amz-target:{target}\n\n{SIGNED_HEADERS}\n{}",
            hex::encode(sha2::Sha256::digest(body)),
        );
        let scope = format!("{date}/{REGION}/dynamodb/aws4_request");
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(sha2::Sha256::digest(canonical.as_bytes()))
        );
        let signature =
            self.key
                .signature(&self.secret, REGION, now, date, string_to_sign.as_bytes());
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
            self.access_key_id
        );
        (amz_date, authorization)
    }
}

/// Request bodies, written as text into one buffer.
pub struct Body(Vec<u8>);

impl Body {
    pub fn new(table: &str) -> Body {
        let mut body = Body(Vec::with_capacity(256));
        body.raw(r#"{"TableName":"#);
        body.string(table);
        body
    }

    pub fn raw(&mut self, text: &str) -> &mut Body {
        self.0.extend_from_slice(text.as_bytes());
        self
    }

    /// A JSON string, escaped.
    pub fn string(&mut self, s: &str) -> &mut Body {
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.0, s);
        self
    }

    /// `"name":{"S":"value"}`
    pub fn s(&mut self, name: &str, value: &str) -> &mut Body {
        self.string(name).raw(r#":{"S":"#).string(value).raw("}")
    }

    pub fn finish(&mut self) -> Vec<u8> {
        self.raw("}");
        std::mem::take(&mut self.0)
    }
}

/// Whether a GetItem answer holds a non-empty `Item`, without building the item.
pub fn has_item(response: &[u8]) -> anyhow::Result<bool> {
    #[derive(serde::Deserialize)]
    struct GetItemOutput {
        #[serde(rename = "Item", default)]
        item: Option<Entries>,
    }
    let out: GetItemOutput = serde_json::from_slice(response)?;
    Ok(out.item.is_some_and(|Entries(n)| n > 0))
}

/// The number of entries of a JSON object, read past without keeping any.
struct Entries(usize);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Entries, D::Error> {
        struct Count;
        impl<'de> serde::de::Visitor<'de> for Count {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                let mut n = 0;
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {
                    n += 1;
                }
                Ok(Entries(n))
            }
        }
        d.deserialize_map(Count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_aws_sigv4_does() {
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_123);
        let (host, target) = ("127.0.0.1:8000", "DynamoDB_20120810.GetItem");
        let body = br#"{"TableName":"t","Key":{"pk":{"S":"a\"b"}}}"#;
        let expected = keyfall_tests::sign_json_request_at(
            host,
            target,
            std::str::from_utf8(body).unwrap(),
            "AKIDEXAMPLE",
            "secret",
            now,
        );
        let header = |name: &str| {
            expected
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let signer = Signer::new("AKIDEXAMPLE", "secret");
        let (date, authorization) = signer.sign(host, target, body, now);
        assert_eq!(date, header("x-amz-date"));
        assert_eq!(authorization, header("authorization"));
        // The cached day key signs the same again.
        assert_eq!(signer.sign(host, target, body, now).1, authorization);
    }

    #[test]
    fn bodies_are_json_and_items_are_counted() {
        let body = Body::new("t\"1")
            .raw(r#","Key":{"#)
            .s("pk", "a\\b")
            .raw(",")
            .s("sk", "c")
            .raw("}")
            .finish();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"TableName": "t\"1", "Key": {"pk": {"S": "a\\b"}, "sk": {"S": "c"}}})
        );
        for (response, found) in [
            (r#"{}"#, false),
            (r#"{"Item":{}}"#, false),
            (r#"{"Item":{"pk":{"S":"x"},"n":{"L":[{"N":"1"}]}}}"#, true),
            (
                r#"{"ConsumedCapacity":{"TableName":"t"},"Item":{"a":{"S":"}"}}}"#,
                true,
            ),
        ] {
            assert_eq!(has_item(response.as_bytes()).unwrap(), found, "{response}");
        }
        assert!(has_item(b"not json").is_err());
    }
}
