//! The proxy's `keyfall.v1.DynamoDB` service: cached reads, write-through writes, and
//! everything else passed to the server unchanged (errors included, with their
//! `x-amzn-errortype`).

use std::collections::HashMap;
use std::sync::Arc;

use keyfall_proto::v1 as pb;
use keyfall_proto::v1::dynamo_db_server::DynamoDb;
use tonic::{Request, Response, Status};

use keyfall_api::grpc::{auth_status, caller_of, convert, to_status};
use keyfall_auth::checks::Authorize;
use keyfall_auth::{Caller, Check};
use keyfall_types::command::Decode;

use crate::auth::SchemaView;
use crate::cache::{CachedItem, EncodedItem, EncodedPage, PageKey};
use crate::keys::{self, ItemKey, ProtoItem};
use crate::metrics::inc;
use crate::schemas::TableSchema;
use crate::Proxy;

pub struct DaxService {
    pub proxy: Arc<Proxy>,
}

/// The members of a Query or Scan that decide what its items hold.
struct PageShape<'a> {
    index: &'a Option<String>,
    filter: &'a Option<String>,
    legacy_filter: bool,
    projection: &'a Option<String>,
    attributes_to_get: &'a [String],
    select: &'a Option<String>,
}

/// Whether a page's items are whole base-table items, unfiltered: only then can a cached
/// page be checked for items whose TTL has passed since.
fn answers_whole_items(p: PageShape<'_>) -> bool {
    p.index.is_none()
        && p.filter.is_none()
        && !p.legacy_filter
        && p.projection.is_none()
        && p.attributes_to_get.is_empty()
        && matches!(p.select.as_deref(), None | Some("ALL_ATTRIBUTES"))
}

/// Why a cache fill stored nothing.
enum Fill {
    /// The upstream read failed.
    Failed(Status),
    /// The answer (still the caller's) may predate a change applied meanwhile.
    Superseded(CachedItem),
}

/// Numbers as the server stores them (`1.0` → `1`), rewritten in place, so a
/// written-through item reads back exactly as a server read would return it, without a
/// round trip of the whole item through the model. A number that does not parse is left
/// as it is (the server refused such a write before it could be written through).
fn canonical(mut item: ProtoItem) -> ProtoItem {
    item.values_mut().for_each(canonical_numbers);
    item
}

fn canonical_numbers(v: &mut pb::AttributeValue) {
    use pb::attribute_value::Value;
    let number = |n: &mut String| {
        if let Ok(c) = keyfall_types::model::Number::parse(n) {
            *n = c.to_string();
        }
    };
    match &mut v.value {
        Some(Value::N(n)) => number(n),
        Some(Value::Ns(set)) => set.values.iter_mut().for_each(number),
        Some(Value::M(m)) => m.values.values_mut().for_each(canonical_numbers),
        Some(Value::L(l)) => l.values.iter_mut().for_each(canonical_numbers),
        _ => {}
    }
}

/// Put on a request by the proxy's own JSON API once it has authorized the request it
/// decoded, so the service does not convert it back only to authorize it again. Only
/// server-side code sets extensions (tonic never builds one from the wire), so a network
/// caller cannot claim it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authorized;

/// Who is calling, and whether the request was authorized already.
pub(crate) struct Access {
    caller: Caller,
    authorized: bool,
}

fn access_of<T>(r: &Request<T>) -> Result<Access, Status> {
    Ok(Access {
        caller: caller_of(r)?,
        authorized: r.extensions().get::<Authorized>().is_some(),
    })
}

/// How a GetItem was answered.
pub(crate) enum ItemRead {
    /// From the item cache: the item, or its known absence.
    Cached(CachedItem),
    /// By the server, as it answered.
    Passed(Box<pb::GetItemResponse>),
}

/// How a Query or Scan was answered.
pub(crate) enum PageRead<R> {
    /// From the page cache, as the encoded response.
    Cached(EncodedPage),
    /// By the server, as it answered.
    Passed(R),
}

impl<R: prost::Message + Default> PageRead<R> {
    /// The answer as the response message.
    pub(crate) fn response(self) -> Result<R, Status> {
        match self {
            PageRead::Cached(page) => page.decode(),
            PageRead::Passed(r) => Ok(r),
        }
    }

    /// The answer framed as a gRPC message.
    pub(crate) fn framed(self) -> bytes::Bytes {
        match self {
            PageRead::Cached(page) => page.framed(),
            PageRead::Passed(r) => crate::cached_reads::frame(&r),
        }
    }
}

/// A refused request's answer: a malformed one answers its own error, as the server
/// answers it; a well-formed one, the refusal.
fn refusal<C>(
    e: &keyfall_auth::AuthError,
    decoded: Result<C, keyfall_types::command::Invalid>,
) -> Status {
    match decoded {
        Ok(_) => auth_status(e),
        Err(invalid) => to_status(invalid.error),
    }
}

/// Whether a caller's requests need their checks computed at all.
fn restricted(caller: &Caller) -> bool {
    caller.principal.as_ref().is_some_and(|p| !p.root)
}

impl DaxService {
    /// Authorizes a request as the server would: `make` converts it to the server's
    /// request type, whose checks carry the DynamoDB condition keys.
    async fn allow<I: Decode>(
        &self,
        access: &Access,
        action: &'static str,
        tables: impl IntoIterator<Item = &str>,
        make: impl FnOnce() -> keyfall_types::error::Result<I>,
    ) -> Result<(), Status>
    where
        I::Command: Authorize,
    {
        let caller = &access.caller;
        if access.authorized {
            return Ok(());
        }
        let tables: Vec<&str> = tables.into_iter().collect();
        for t in &tables {
            crate::audit::note(|| self.proxy.auth.table_arn(t));
        }
        if !restricted(caller) {
            return Ok(());
        }
        for t in tables {
            // Leading keys need the key schema: fetch it before checking.
            self.proxy.schemas.schema(t).await;
        }
        let decoded = make().map_err(to_status)?.decode();
        let view = SchemaView {
            schemas: &self.proxy.schemas,
            auth: &self.proxy.auth,
        };
        keyfall_api::authorize(&self.proxy.auth, &view, caller, action, &decoded)
            .map_err(|e| refusal(&e, decoded))
    }

    /// Authorizes a passed-through request with the server's own checks, computed from
    /// the request decoded as the server decodes it (a request that does not convert
    /// answers the server's error for it), so what the proxy allows is what the server runs.
    fn allow_passed<I: Decode>(
        &self,
        caller: &Caller,
        action: &'static str,
        input: keyfall_types::error::Result<I>,
    ) -> Result<(), Status>
    where
        I::Command: Authorize,
    {
        let input = input.map_err(to_status)?;
        // Root and `--auth off` skip the checks unless the audit log wants their resources.
        if !restricted(caller) && !crate::audit::collecting_now() {
            return Ok(());
        }
        let view = SchemaView {
            schemas: &self.proxy.schemas,
            auth: &self.proxy.auth,
        };
        let decoded = input.decode();
        let checks = decoded.checks(action, &view);
        for c in &checks {
            crate::audit::note(|| c.resource.clone());
        }
        if !restricted(caller) {
            return Ok(());
        }
        self.proxy
            .auth
            .authorize(caller, &checks)
            .map_err(|e| refusal(&e, decoded))
    }

    pub(crate) fn allow_resource(
        &self,
        caller: &Caller,
        action: &'static str,
        resource: String,
    ) -> Result<(), Status> {
        crate::audit::note(|| resource.clone());
        if !restricted(caller) {
            return Ok(());
        }
        let check = Check {
            action,
            resource,
            ..Check::default()
        };
        self.proxy
            .auth
            .authorize(caller, &[check])
            .map_err(|e| auth_status(&e))
    }

    fn up(&self) -> crate::Upstream {
        self.proxy.upstream.clone()
    }

    /// The canonical key of a read, when the read can be cached at all, with the table's
    /// schema. A projected read of a table with TTL is not cached: the projection may leave
    /// out the TTL attribute, and with it the proof that the item is still visible.
    async fn read_key(
        &self,
        table: &str,
        key: &ProtoItem,
        projection: String,
    ) -> Option<(ItemKey, Arc<TableSchema>)> {
        if !self.proxy.coherence.cacheable(table).await {
            return None;
        }
        // The schema lends the key its table name and key names: nothing is copied.
        let schema = self.proxy.schemas.schema(table).await?;
        let key = keys::exact_key(&schema.table, &schema.key, key)?;
        if projection.is_empty() {
            return Some((key, schema));
        }
        if schema.ttl_attribute.is_some() {
            return None;
        }
        let projection: Arc<str> = Arc::from(projection);
        self.proxy
            .caches
            .remember_projection(&schema.table, &projection);
        Some((key.with_projection(projection), schema))
    }

    /// A GetItem: authorized, then answered from the item cache (filled on a miss) or, for
    /// consistent and uncacheable reads, by the server. Both gRPC paths (the generated
    /// service and `cached_reads`) and the JSON API answer from this.
    pub(crate) async fn read_item(
        &self,
        r: Request<pb::GetItemRequest>,
    ) -> Result<ItemRead, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        self.allow(
            &access,
            "dynamodb:GetItem",
            [req.table_name.as_str()],
            || convert::get_item(req.clone()),
        )
        .await?;
        let projection = keys::projection_spec(
            &req.projection_expression,
            &req.expression_attribute_names,
            &req.attributes_to_get,
        );
        let key = match req.consistent_read {
            Some(true) => None,
            _ => self.read_key(&req.table_name, &req.key, projection).await,
        };
        let Some((key, schema)) = key else {
            inc(&self.proxy.caches.metrics.pass_throughs);
            return Ok(ItemRead::Passed(Box::new(
                self.up().get_item(req).await?.into_inner(),
            )));
        };
        let caches = &self.proxy.caches;
        if let Some(hit) = caches.items.get(&key).await {
            inc(&caches.metrics.item_hits);
            tracing::Span::current().record("keyfall.cache_hit", true);
            return Ok(ItemRead::Cached(visible(&schema, hit)?));
        }
        inc(&caches.metrics.item_misses);
        tracing::Span::current().record("keyfall.cache_hit", false);
        let mut up = self.up();
        let metrics = caches.metrics.clone();
        let mut upstream_req = req;
        upstream_req.return_consumed_capacity = None;
        // Noted before going upstream: a change applied after this is newer than the read.
        let since = caches.stamps.now();
        let stamps = caches.stamps.clone();
        let fill_key = key.clone();
        // Concurrent misses of one key share this single upstream read. An answer older
        // than a change the feed applied meanwhile is returned but not cached.
        let filled = caches
            .items
            .try_get_with(key.clone(), async move {
                inc(&metrics.upstream_reads);
                let out = up.get_item(upstream_req).await.map_err(Fill::Failed)?;
                let out = out.into_inner();
                let item = (!out.item.is_empty()).then(|| EncodedItem::new(out.item));
                if stamps.changed_since(&fill_key, since) {
                    return Err(Fill::Superseded(item));
                }
                Ok::<CachedItem, Fill>(item)
            })
            .await;
        let item = match filled {
            Ok(item) => {
                caches.recheck(&key, since).await;
                item
            }
            Err(e) => match &*e {
                Fill::Superseded(item) => item.clone(),
                Fill::Failed(status) => return Err(status.clone()),
            },
        };
        Ok(ItemRead::Cached(visible(&schema, item)?))
    }

    /// The key of a written item or key, for write-through.
    async fn write_key(&self, table: &str, item: &ProtoItem) -> Option<ItemKey> {
        self.proxy.schemas.item_key(table, item).await
    }
}

/// The action table's rows the proxy does not cache (`passed`): authorized, then forwarded
/// as they are; unbuilt rows get the server's answer without asking it
/// (`keyfall_api::grpc_method!` spells the methods as `#[async_trait]` would).
macro_rules! pass_through_rpcs {
    ($($method:ident, $name:literal, $req:ident, $resp:ident, $resource:ident, $class:ident, $proxy:ident, $built:ident, $json:tt;)*) => {
        $(pass_through_rpc!($built $proxy $method $name $resource $req $resp);)*
    };
}

macro_rules! pass_through_rpc {
    (built cached $($row:tt)*) => {};
    (built forgets $($row:tt)*) => {};
    ($built:ident passed $method:ident $name:literal $resource:ident $req:ident $resp:ident) => {
        keyfall_api::grpc_method!($method(self, r: pb::$req) -> pb::$resp {
            pass_through_body!($built, self, r, $method, $name, $resource, $req)
        });
    };
}

macro_rules! pass_through_body {
    (unbuilt, $s:expr, $r:expr, $method:ident, $name:literal, $resource:ident, $req:ident) => {{
        let _ = $r;
        Err(to_status(keyfall_types::error::Error::Unimplemented($name)))
    }};
    (built, $s:expr, $r:expr, $method:ident, $name:literal, $resource:ident, $req:ident) => {{
        let caller = caller_of(&$r)?;
        let input = keyfall_api::grpc::codec::FromProto::from_proto($r.get_ref().clone());
        $s.allow_passed::<<pb::$req as keyfall_api::grpc::codec::Decoded>::Input>(
            &caller,
            concat!("dynamodb:", $name),
            input,
        )?;
        inc(&$s.proxy.caches.metrics.pass_throughs);
        $s.up().$method($r.into_inner()).await
    }};
}

/// Query and Scan share one path: authorize; pass through what the page cache may not
/// hold (a consistent read, a table not followed, a page that could hide an expiry); else
/// one cached page per request shape, filled by a single upstream call.
macro_rules! cached_page {
    ($s:expr, $r:expr, $action:literal, $method:ident, $legacy:ident, $key:ident) => {{
        let access = access_of(&$r)?;
        let req = $r.into_inner();
        $s.allow(&access, $action, [req.table_name.as_str()], || {
            convert::$method(req.clone())
        })
        .await?;
        let table: Arc<str> = Arc::from(req.table_name.as_str());
        let whole_items = answers_whole_items(PageShape {
            index: &req.index_name,
            filter: &req.filter_expression,
            legacy_filter: !req.$legacy.is_empty(),
            projection: &req.projection_expression,
            attributes_to_get: &req.attributes_to_get,
            select: &req.select,
        });
        let schema = match req.consistent_read {
            Some(true) => None,
            _ => $s.page_schema(&table, whole_items).await,
        };
        let Some(schema) = schema else {
            inc(&$s.proxy.caches.metrics.pass_throughs);
            return Ok(PageRead::Passed($s.up().$method(req).await?.into_inner()));
        };
        let key = PageKey {
            generation: $s.proxy.caches.generation(&table),
            table,
            request: Arc::from(keys::$key(&req)),
        };
        let page = $s
            .page(key, &schema, || {
                let mut up = $s.up();
                async move { Ok(EncodedPage::new(&up.$method(req).await?.into_inner())) }
            })
            .await?;
        Ok(PageRead::Cached(page))
    }};
}

impl DaxService {
    /// A Query: authorized, then answered from the page cache (filled on a miss) or by the
    /// server. Both gRPC paths (the generated service and `cached_reads`) and the JSON API
    /// answer from this.
    pub(crate) async fn read_query(
        &self,
        r: Request<pb::QueryRequest>,
    ) -> Result<PageRead<pb::QueryResponse>, Status> {
        cached_page!(self, r, "dynamodb:Query", query, query_filter, query_key)
    }

    /// A Scan, as [`DaxService::read_query`].
    pub(crate) async fn read_scan(
        &self,
        r: Request<pb::ScanRequest>,
    ) -> Result<PageRead<pb::ScanResponse>, Status> {
        cached_page!(self, r, "dynamodb:Scan", scan, scan_filter, scan_key)
    }
}

#[tonic::async_trait]
impl DynamoDb for DaxService {
    async fn get_item(
        &self,
        r: Request<pb::GetItemRequest>,
    ) -> Result<Response<pb::GetItemResponse>, Status> {
        Ok(Response::new(match self.read_item(r).await? {
            ItemRead::Cached(item) => pb::GetItemResponse {
                item: item.map(|i| i.item()).transpose()?.unwrap_or_default(),
                consumed_capacity: None,
            },
            ItemRead::Passed(out) => *out,
        }))
    }

    async fn batch_get_item(
        &self,
        r: Request<pb::BatchGetItemRequest>,
    ) -> Result<Response<pb::BatchGetItemResponse>, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        self.allow(
            &access,
            "dynamodb:BatchGetItem",
            req.request_items.keys().map(String::as_str),
            || convert::batch_get(req.clone()),
        )
        .await?;
        // Only whole-item, eventually consistent batches are served from the cache: a
        // projected answer may lack the key that maps it back to its entry.
        let cacheable = req.request_items.values().all(|ka| {
            ka.consistent_read != Some(true)
                && ka.projection_expression.is_none()
                && ka.attributes_to_get.is_empty()
        });
        if !cacheable {
            inc(&self.proxy.caches.metrics.pass_throughs);
            return self.up().batch_get_item(req).await;
        }
        let caches = &self.proxy.caches;
        let mut responses: HashMap<String, pb::ItemList> = HashMap::new();
        let mut missing: HashMap<String, pb::KeysAndAttributes> = HashMap::new();
        let mut missing_keys: Vec<(String, ItemKey)> = Vec::new();
        for (table, ka) in &req.request_items {
            for key in &ka.keys {
                let cached = match self.read_key(table, &key.values, String::new()).await {
                    Some((k, schema)) => {
                        let hit = caches.items.get(&k).await;
                        if hit.is_none() {
                            missing_keys.push((table.clone(), k));
                        }
                        hit.map(|h| visible(&schema, h)).transpose()?
                    }
                    None => None,
                };
                match cached {
                    Some(item) => {
                        inc(&caches.metrics.item_hits);
                        tracing::Span::current().record("keyfall.cache_hit", true);
                        if let Some(item) = item {
                            responses
                                .entry(table.clone())
                                .or_default()
                                .values
                                .push(pb::MapValue {
                                    values: item.item()?,
                                });
                        }
                    }
                    None => {
                        inc(&caches.metrics.item_misses);
                        tracing::Span::current().record("keyfall.cache_hit", false);
                        missing
                            .entry(table.clone())
                            .or_insert_with(|| pb::KeysAndAttributes {
                                consistent_read: ka.consistent_read,
                                ..Default::default()
                            })
                            .keys
                            .push(key.clone());
                    }
                }
            }
        }
        let mut out = pb::BatchGetItemResponse::default();
        if !missing.is_empty() {
            inc(&caches.metrics.upstream_reads);
            let since = caches.stamps.now();
            out = self
                .up()
                .batch_get_item(pb::BatchGetItemRequest {
                    request_items: missing,
                    return_consumed_capacity: req.return_consumed_capacity.clone(),
                })
                .await?
                .into_inner();
            // Returned items fill their entries; keys neither returned nor unprocessed
            // do not exist (negative entries).
            let mut found: HashMap<ItemKey, EncodedItem> = HashMap::new();
            for (table, list) in &out.responses {
                for item in &list.values {
                    if let Some(k) = self.write_key(table, &item.values).await {
                        found.insert(k, EncodedItem::new(item.values.clone()));
                    }
                }
            }
            let mut unprocessed = Vec::new();
            for (table, ka) in &out.unprocessed_keys {
                for key in &ka.keys {
                    if let Some(k) = self.write_key(table, &key.values).await {
                        unprocessed.push(k);
                    }
                }
            }
            for (_, k) in missing_keys {
                if unprocessed.contains(&k) {
                    continue;
                }
                let value = found.get(&k).cloned();
                caches.fill(k, value, since).await;
            }
        }
        for (table, list) in responses {
            out.responses
                .entry(table)
                .or_default()
                .values
                .extend(list.values);
        }
        Ok(Response::new(out))
    }

    async fn query(
        &self,
        r: Request<pb::QueryRequest>,
    ) -> Result<Response<pb::QueryResponse>, Status> {
        self.read_query(r).await?.response().map(Response::new)
    }

    async fn scan(
        &self,
        r: Request<pb::ScanRequest>,
    ) -> Result<Response<pb::ScanResponse>, Status> {
        self.read_scan(r).await?.response().map(Response::new)
    }

    async fn put_item(
        &self,
        r: Request<pb::PutItemRequest>,
    ) -> Result<Response<pb::PutItemResponse>, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        self.allow(
            &access,
            "dynamodb:PutItem",
            [req.table_name.as_str()],
            || convert::put_item(req.clone()),
        )
        .await?;
        let (table, item) = (req.table_name.clone(), req.item.clone());
        let since = self.proxy.caches.stamps.now();
        let out = self.up().put_item(req).await?;
        inc(&self.proxy.caches.metrics.write_throughs);
        if let Some(k) = self.write_key(&table, &item).await {
            let state = Some(EncodedItem::new(canonical(item)));
            self.proxy
                .caches
                .write_through(&k, Some(state), since)
                .await;
        }
        Ok(out)
    }

    async fn update_item(
        &self,
        r: Request<pb::UpdateItemRequest>,
    ) -> Result<Response<pb::UpdateItemResponse>, Status> {
        let access = access_of(&r)?;
        let mut req = r.into_inner();
        self.allow(
            &access,
            "dynamodb:UpdateItem",
            [req.table_name.as_str()],
            || convert::update_item(req.clone()),
        )
        .await?;
        let (table, key) = (req.table_name.clone(), req.key.clone());
        let asked = req.return_values.clone();
        // The new item comes back with ALL_NEW; a client asking for NONE does not see it.
        let learn = matches!(asked.as_deref(), None | Some("NONE") | Some("ALL_NEW"));
        if learn {
            req.return_values = Some("ALL_NEW".into());
        }
        let since = self.proxy.caches.stamps.now();
        let mut out = self.up().update_item(req).await?;
        inc(&self.proxy.caches.metrics.write_throughs);
        if let Some(k) = self.write_key(&table, &key).await {
            let state = learn.then(|| Some(EncodedItem::new(out.get_ref().attributes.clone())));
            self.proxy.caches.write_through(&k, state, since).await;
        }
        if learn && asked.as_deref() != Some("ALL_NEW") {
            out.get_mut().attributes.clear();
        }
        Ok(out)
    }

    async fn delete_item(
        &self,
        r: Request<pb::DeleteItemRequest>,
    ) -> Result<Response<pb::DeleteItemResponse>, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        self.allow(
            &access,
            "dynamodb:DeleteItem",
            [req.table_name.as_str()],
            || convert::delete_item(req.clone()),
        )
        .await?;
        let (table, key) = (req.table_name.clone(), req.key.clone());
        let since = self.proxy.caches.stamps.now();
        let out = self.up().delete_item(req).await?;
        inc(&self.proxy.caches.metrics.write_throughs);
        if let Some(k) = self.write_key(&table, &key).await {
            self.proxy.caches.write_through(&k, Some(None), since).await;
        }
        Ok(out)
    }

    async fn batch_write_item(
        &self,
        r: Request<pb::BatchWriteItemRequest>,
    ) -> Result<Response<pb::BatchWriteItemResponse>, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        self.allow(
            &access,
            "dynamodb:BatchWriteItem",
            req.request_items.keys().map(String::as_str),
            || convert::batch_write(req.clone()),
        )
        .await?;
        let requests = req.request_items.clone();
        let since = self.proxy.caches.stamps.now();
        let out = self.up().batch_write_item(req).await?;
        inc(&self.proxy.caches.metrics.write_throughs);
        let mut unprocessed = Vec::new();
        for (table, list) in &out.get_ref().unprocessed_items {
            for w in &list.values {
                let item = w
                    .put_request
                    .as_ref()
                    .map(|p| &p.item)
                    .or(w.delete_request.as_ref().map(|d| &d.key));
                if let Some(k) = match item {
                    Some(i) => self.write_key(table, i).await,
                    None => None,
                } {
                    unprocessed.push(k);
                }
            }
        }
        for (table, list) in requests {
            for w in list.values {
                if let Some(p) = w.put_request {
                    if let Some(k) = self.write_key(&table, &p.item).await {
                        if !unprocessed.contains(&k) {
                            let state = Some(EncodedItem::new(canonical(p.item)));
                            self.proxy
                                .caches
                                .write_through(&k, Some(state), since)
                                .await;
                        }
                    }
                } else if let Some(d) = w.delete_request {
                    if let Some(k) = self.write_key(&table, &d.key).await {
                        if !unprocessed.contains(&k) {
                            self.proxy.caches.write_through(&k, Some(None), since).await;
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    async fn transact_write_items(
        &self,
        r: Request<pb::TransactWriteItemsRequest>,
    ) -> Result<Response<pb::TransactWriteItemsResponse>, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        let tables: Vec<String> = req
            .transact_items
            .iter()
            .flat_map(|t| {
                [
                    t.condition_check.as_ref().map(|a| &a.table_name),
                    t.put.as_ref().map(|a| &a.table_name),
                    t.delete.as_ref().map(|a| &a.table_name),
                    t.update.as_ref().map(|a| &a.table_name),
                ]
                .into_iter()
                .flatten()
                .cloned()
            })
            .collect();
        self.allow(
            &access,
            "dynamodb:TransactWriteItems",
            tables.iter().map(String::as_str),
            || convert::transact_write(req.clone()),
        )
        .await?;
        let items = req.transact_items.clone();
        let since = self.proxy.caches.stamps.now();
        let out = self.up().transact_write_items(req).await?;
        inc(&self.proxy.caches.metrics.write_throughs);
        for t in items {
            if let Some(p) = t.put {
                if let Some(k) = self.write_key(&p.table_name, &p.item).await {
                    let state = Some(EncodedItem::new(canonical(p.item)));
                    self.proxy
                        .caches
                        .write_through(&k, Some(state), since)
                        .await;
                }
            } else if let Some(d) = t.delete {
                if let Some(k) = self.write_key(&d.table_name, &d.key).await {
                    self.proxy.caches.write_through(&k, Some(None), since).await;
                }
            } else if let Some(u) = t.update {
                if let Some(k) = self.write_key(&u.table_name, &u.key).await {
                    self.proxy.caches.forget_item(&k).await;
                }
            }
        }
        Ok(out)
    }

    async fn transact_get_items(
        &self,
        r: Request<pb::TransactGetItemsRequest>,
    ) -> Result<Response<pb::TransactGetItemsResponse>, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        let tables: Vec<String> = req
            .transact_items
            .iter()
            .filter_map(|t| t.get.as_ref().map(|g| g.table_name.clone()))
            .collect();
        self.allow(
            &access,
            "dynamodb:TransactGetItems",
            tables.iter().map(String::as_str),
            || convert::transact_get(req.clone()),
        )
        .await?;
        inc(&self.proxy.caches.metrics.pass_throughs);
        self.up().transact_get_items(req).await
    }

    async fn create_table(
        &self,
        r: Request<pb::CreateTableRequest>,
    ) -> Result<Response<pb::CreateTableResponse>, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        self.allow(&access, "dynamodb:CreateTable", [], || {
            convert::create_table(req.clone())
        })
        .await?;
        let table = req.table_name.clone();
        let out = self.up().create_table(req).await;
        self.proxy.forget_table(&table);
        out
    }

    async fn delete_table(
        &self,
        r: Request<pb::DeleteTableRequest>,
    ) -> Result<Response<pb::DeleteTableResponse>, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        self.allow(&access, "dynamodb:DeleteTable", [], || {
            Ok(convert::table_name(req.table_name.clone()))
        })
        .await?;
        let table = req.table_name.clone();
        let out = self.up().delete_table(req).await;
        self.proxy.forget_table(&table);
        out
    }

    async fn update_table(
        &self,
        r: Request<pb::UpdateTableRequest>,
    ) -> Result<Response<pb::UpdateTableResponse>, Status> {
        let access = access_of(&r)?;
        let req = r.into_inner();
        self.allow(&access, "dynamodb:UpdateTable", [], || {
            convert::update_table(req.clone())
        })
        .await?;
        let table = req.table_name.clone();
        let out = self.up().update_table(req).await;
        // A new or dropped index changes what index queries return.
        self.proxy
            .caches
            .invalidate_pages(&Arc::from(table.as_str()));
        out
    }

    async fn update_time_to_live(
        &self,
        r: Request<pb::UpdateTimeToLiveRequest>,
    ) -> Result<Response<pb::UpdateTimeToLiveResponse>, Status> {
        let caller = caller_of(&r)?;
        let resource = self.proxy.auth.table_arn(&r.get_ref().table_name);
        self.allow_resource(&caller, "dynamodb:UpdateTimeToLive", resource)?;
        inc(&self.proxy.caches.metrics.pass_throughs);
        let table = r.get_ref().table_name.clone();
        let out = self.up().update_time_to_live(r.into_inner()).await;
        // The TTL attribute decides which cached items are visible: learn it again.
        self.proxy.forget_table(&table);
        out
    }

    keyfall_api::dynamodb_actions!(pass_through_rpcs);
}

/// A cached item as the server would show it now: absent once its TTL has passed.
fn visible(schema: &TableSchema, item: CachedItem) -> Result<CachedItem, Status> {
    match item {
        Some(i) if schema.ttl_attribute.is_some() && schema.is_expired(&i.item()?) => Ok(None),
        other => Ok(other),
    }
}

impl DaxService {
    /// The schema of a table whose pages may be cached now: followed, and, with TTL on,
    /// only pages of whole base-table items, since only they show every evaluated item's
    /// TTL attribute (a filter, projection, index or COUNT could hide an expiry).
    async fn page_schema(&self, table: &str, whole_items: bool) -> Option<Arc<TableSchema>> {
        if !self.proxy.coherence.cacheable(table).await {
            return None;
        }
        let schema = self.proxy.schemas.schema(table).await?;
        (schema.ttl_attribute.is_none() || whole_items).then_some(schema)
    }

    /// A cached page, or one upstream call shared by every concurrent miss of the key.
    async fn page<F, Fut>(
        &self,
        key: PageKey,
        schema: &TableSchema,
        fetch: F,
    ) -> Result<EncodedPage, Status>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<EncodedPage, Status>> + Send,
    {
        let caches = &self.proxy.caches;
        if let Some(hit) = caches.pages.get(&key).await {
            // Only items of a TTL table can expire while their page is cached.
            let expired = schema.ttl_attribute.is_some()
                && hit
                    .decode::<pb::QueryResponse>()?
                    .items
                    .iter()
                    .any(|i| schema.is_expired(&i.values));
            if !expired {
                inc(&caches.metrics.query_hits);
                tracing::Span::current().record("keyfall.cache_hit", true);
                return Ok(hit);
            }
            // An item of the page expired since: the server's page would differ (fewer
            // items, another LastEvaluatedKey); ask it again.
            caches.pages.invalidate(&key).await;
        }
        inc(&caches.metrics.query_misses);
        tracing::Span::current().record("keyfall.cache_hit", false);
        let metrics = caches.metrics.clone();
        let fut = fetch();
        caches
            .pages
            .try_get_with(key, async move {
                inc(&metrics.upstream_reads);
                fut.await
            })
            .await
            .map_err(|e| (*e).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::attribute_value::Value;

    fn v(value: Value) -> pb::AttributeValue {
        pb::AttributeValue { value: Some(value) }
    }

    #[test]
    fn written_items_get_the_servers_numbers_at_every_depth() {
        // A number and a string of the same text, in a list in a map.
        let nested = |n: &str, s: &str| {
            v(Value::M(pb::MapValue {
                values: [(
                    "l".to_string(),
                    v(Value::L(pb::ListValue {
                        values: vec![v(Value::N(n.into())), v(Value::S(s.into()))],
                    })),
                )]
                .into(),
            }))
        };
        let ns = |values: [&str; 2]| {
            v(Value::Ns(pb::NumberSet {
                values: values.map(String::from).to_vec(),
            }))
        };
        let item: ProtoItem = [
            ("n".to_string(), v(Value::N("1.50".into()))),
            ("ns".to_string(), ns(["10e0", "-0.0"])),
            ("s".to_string(), v(Value::S("1.50".into()))),
            ("m".to_string(), nested("0100", "0100")),
            ("bad".to_string(), v(Value::N("x".into()))),
        ]
        .into();
        let expected: ProtoItem = [
            ("n".to_string(), v(Value::N("1.5".into()))),
            ("ns".to_string(), ns(["10", "0"])),
            ("s".to_string(), v(Value::S("1.50".into()))),
            ("m".to_string(), nested("100", "0100")),
            ("bad".to_string(), v(Value::N("x".into()))),
        ]
        .into();
        assert_eq!(canonical(item), expected);
    }
}
