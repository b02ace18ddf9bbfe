//! Callers are authenticated and authorized exactly as by the server: the same SigV4
//! layer and policy evaluation (`keyfall_auth`), over a replica of the server's
//! principals fetched with `Admin.ExportPrincipals` and refreshed periodically. A cache hit
//! is authorized like a miss: the request is checked before the cache is looked at.

use std::sync::Arc;
use std::time::Duration;

use keyfall_auth::checks::Schemas as CheckSchemas;
use keyfall_auth::{Auth, AuthSettings, ExportedUser};
use keyfall_proto::v1 as pb;
use keyfall_proto::v1::admin_client::AdminClient;
use tokio::sync::watch;

use crate::config::Config;
use crate::schemas::Schemas;
use crate::{ProxyError, UpstreamChannel};

/// What the server said about its account and principals.
struct Export {
    account_id: String,
    region: String,
    users: Vec<ExportedUser>,
}

async fn fetch(channel: &UpstreamChannel) -> Result<Export, tonic::Status> {
    let out = AdminClient::new(channel.clone())
        .export_principals(pb::ExportPrincipalsRequest {})
        .await?
        .into_inner();
    let users = out
        .principals
        .into_iter()
        .map(|p| ExportedUser {
            name: p.user_name,
            user_id: p.user_id,
            root: p.root,
            tags: p.tags.into_iter().collect(),
            keys: p
                .access_keys
                .into_iter()
                .map(|k| (k.access_key_id, k.secret_access_key))
                .collect(),
            policies: p
                .policies
                .into_iter()
                .map(|p| (p.policy_name, p.policy_document))
                .collect(),
        })
        .collect();
    Ok(Export {
        account_id: out.account_id,
        region: out.region,
        users,
    })
}

/// How many refresh periods the copy of the server's principals is trusted for: a proxy
/// that cannot reach the server for longer refuses requests (`ServiceUnavailable`) rather
/// than keep honouring keys and policies the server may have revoked (30 s by default).
pub const TRUSTED_REFRESH_PERIODS: u32 = 6;

fn trusted_until(every: Duration) -> std::time::SystemTime {
    std::time::SystemTime::now() + every.saturating_mul(TRUSTED_REFRESH_PERIODS)
}

/// Builds the proxy's authenticator. With auth enforced, the server's principals must be
/// readable with the proxy's credentials (`keyfall:ExportPrincipals`).
pub async fn open(config: &Config, channel: &UpstreamChannel) -> Result<Arc<Auth>, ProxyError> {
    let enforce = config.auth == keyfall_api::flags::AuthMode::Enforce;
    if !enforce {
        return Ok(Arc::new(Auth::replica(AuthSettings {
            enforce: false,
            region: config.region.clone(),
            account_id: "000000000000".into(),
            max_skew: config.auth_clock_skew,
        })));
    }
    let export = fetch(channel).await.map_err(|s| ProxyError::Upstream {
        upstream: config.upstream.clone(),
        message: format!(
            "cannot read the server's principals (the proxy's identity needs keyfall:ExportPrincipals): {}",
            s.message()
        ),
    })?;
    let auth = Auth::replica(AuthSettings {
        enforce: true,
        region: export.region,
        account_id: export.account_id,
        max_skew: config.auth_clock_skew,
    });
    auth.directory()
        .replace_until(&export.users, trusted_until(config.auth_refresh))
        .map_err(|e| ProxyError::Config(format!("server principals: {e}")))?;
    Ok(Arc::new(auth))
}

/// Refreshes the replica every `every` until shutdown; a failed refresh keeps the last copy
/// until it expires ([`TRUSTED_REFRESH_PERIODS`]).
pub async fn refresh(
    auth: Arc<Auth>,
    channel: UpstreamChannel,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    if !auth.enforcing() {
        return;
    }
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(every) => {}
        }
        match fetch(&channel).await {
            Ok(export) => {
                if let Err(e) = auth
                    .directory()
                    .replace_until(&export.users, trusted_until(every))
                {
                    tracing::warn!(error = %e, "server principals rejected; keeping the previous copy");
                }
            }
            Err(status) => {
                tracing::warn!(error = %status, "cannot refresh the server's principals")
            }
        }
    }
}

/// The schema facts authorization needs, from schemas already fetched.
pub struct SchemaView<'a> {
    pub schemas: &'a Schemas,
    pub auth: &'a Auth,
}

impl CheckSchemas for SchemaView<'_> {
    fn key_names(&self, table: &str, index: Option<&str>) -> Option<(String, Option<String>)> {
        let s = self.schemas.cached(table)?;
        let k = match index {
            None => &s.key,
            Some(i) => s.indexes.get(i)?,
        };
        Some((k.partition.clone(), k.sort.clone()))
    }

    fn table_arn(&self, table: &str) -> String {
        self.auth.table_arn(table)
    }

    /// The stream the iterator claims to read. The proxy has no iterator secret: it
    /// authorizes on the claim and forwards the iterator unchanged, and the server, which
    /// verifies the iterator's MAC before reading anything, refuses a forged claim.
    fn stream_arn_of_iterator(&self, iterator: &str) -> Option<String> {
        keyfall_types::shard_iterator::claimed_stream_arn_of_iterator(iterator, |t| {
            self.auth.table_arn(t)
        })
    }

    fn stream_arn(&self, table: &str) -> Option<String> {
        self.schemas.cached(table)?.stream_arn.clone()
    }
}
