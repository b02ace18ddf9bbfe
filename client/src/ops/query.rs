//! Query and Scan as streams of pages and of items, with opaque resumable cursors.

use std::future::IntoFuture;
use std::marker::PhantomData;

use base64::Engine as _;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use prost::Message;

use super::{is_entity, BoxFuture};
use crate::entity::{decode_kind, render_template, Collection, KeyTemplate, TemplatePart};
use crate::expr::{attr, Condition, Expressions, KeyCondition, Projection};
use crate::proto::v1 as pb;
use crate::retry::Idempotency;
use crate::{Client, Entity, Error, Item};

/// Where a listing stopped: DynamoDB's `LastEvaluatedKey`, as text a caller can hand out
/// (e.g. in a URL) and pass back to [`Query::after`] / [`Scan::after`] to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    fn from_key(key: Item) -> Cursor {
        let bytes = pb::MapValue { values: key }.encode_to_vec();
        Cursor(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    fn to_key(&self) -> Result<Item, Error> {
        let invalid = || Error::Validation {
            message: "the pagination cursor is not one this client produced".into(),
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&self.0)
            .map_err(|_| invalid())?;
        Ok(pb::MapValue::decode(bytes.as_slice())
            .map_err(|_| invalid())?
            .values)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Cursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let cursor = Cursor(s.to_string());
        cursor.to_key()?;
        Ok(cursor)
    }
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub cursor: Option<Cursor>,
    /// Items read before the filter (DynamoDB's `ScannedCount`).
    pub scanned_count: u32,
}

/// The partition of entities of type `E` to query: built by the derive's generated
/// `E::partition(...)` (or [`Partition::of`]). Querying it returns only `E`s: the sort key
/// must start with the literal prefix of `E`'s sort key template.
pub struct Partition<E> {
    table: &'static str,
    index: Option<&'static str>,
    key_attribute: &'static str,
    value: String,
    sort: Option<(&'static str, String)>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Partition<E> {
    fn clone(&self) -> Self {
        Partition {
            table: self.table,
            index: self.index,
            key_attribute: self.key_attribute,
            value: self.value.clone(),
            sort: self.sort.clone(),
            _entity: PhantomData,
        }
    }
}

fn literal_prefix(template: &KeyTemplate) -> String {
    template
        .parts
        .iter()
        .map_while(|p| match p {
            TemplatePart::Literal(text) => Some(*text),
            TemplatePart::Field(_) => None,
        })
        .collect()
}

impl<E: Entity> Partition<E> {
    /// The partition of the table (`index: None`) or of a global secondary index, with
    /// the partition-key fields given by `part`. `None` if a field is missing or the index
    /// is not one `E` declares.
    pub fn of(index: Option<&str>, part: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let schema = E::schema();
        let (index, pk, sk) = match index {
            None => (None, &schema.partition_key, schema.sort_key.as_ref()),
            Some(name) => {
                let index = schema.indexes.iter().find(|i| i.name == name)?;
                (
                    Some(index.name),
                    &index.partition_key,
                    index.sort_key.as_ref(),
                )
            }
        };
        Some(Partition {
            table: schema.table,
            index,
            key_attribute: pk.attribute,
            value: render_template(pk, part)?,
            sort: sk
                .map(|t| (t.attribute, literal_prefix(t)))
                .filter(|(_, prefix)| !prefix.is_empty()),
            _entity: PhantomData,
        })
    }

    /// What the derive's generated `partition(..)` functions call: a missing part gives an
    /// empty partition value, which the server rejects with a `ValidationException`.
    #[doc(hidden)]
    pub fn generated(index: Option<&str>, part: impl Fn(&str) -> Option<String>) -> Self {
        let part = |name: &str| Some(part(name).unwrap_or_default());
        match Self::of(index, part) {
            Some(partition) => partition,
            None => {
                let schema = E::schema();
                Partition {
                    table: schema.table,
                    index: None,
                    key_attribute: schema.partition_key.attribute,
                    value: String::new(),
                    sort: None,
                    _entity: PhantomData,
                }
            }
        }
    }

    /// The whole partition, whatever the sort key: for collections of several kinds.
    fn whole(mut self) -> Self {
        self.sort = None;
        self
    }

    fn partition_only(&self) -> KeyCondition {
        KeyCondition::partition(attr::<String>(self.key_attribute), self.value.clone())
    }

    /// The partition, narrowed to `E`'s sort-key prefix when it has one.
    fn key_condition(&self) -> KeyCondition {
        let condition = self.partition_only();
        match &self.sort {
            Some((attribute, prefix)) => {
                condition.sort_begins_with(attr::<String>(*attribute), prefix.clone())
            }
            None => condition,
        }
    }

    fn sort_attribute(&self) -> Option<&'static str> {
        let schema = E::schema();
        match self.index {
            None => schema.sort_key.as_ref().map(|t| t.attribute),
            Some(name) => schema
                .indexes
                .iter()
                .find(|i| i.name == name)
                .and_then(|i| i.sort_key.as_ref())
                .map(|t| t.attribute),
        }
    }
}

/// A condition on the sort key's text, for [`Query::sort`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Eq(String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
    Between(String, String),
    BeginsWith(String),
}

impl SortKey {
    fn apply(&self, condition: KeyCondition, attribute: &'static str) -> KeyCondition {
        let key = attr::<String>(attribute);
        match self {
            SortKey::Eq(v) => condition.sort_eq(key, v.clone()),
            SortKey::Lt(v) => condition.sort_lt(key, v.clone()),
            SortKey::Le(v) => condition.sort_le(key, v.clone()),
            SortKey::Gt(v) => condition.sort_gt(key, v.clone()),
            SortKey::Ge(v) => condition.sort_ge(key, v.clone()),
            SortKey::Between(a, b) => condition.sort_between(key, a.clone(), b.clone()),
            SortKey::BeginsWith(v) => condition.sort_begins_with(key, v.clone()),
        }
    }
}

type Decoder<T> = fn(Item) -> Result<Option<T>, Error>;

fn decode_item(item: Item) -> Result<Option<Item>, Error> {
    Ok(Some(item))
}

/// Settings shared by Query and Scan.
struct Listing<T> {
    table: String,
    index: Option<String>,
    filter: Option<Condition>,
    projection: Option<Projection>,
    page_size: Option<u32>,
    limit: Option<usize>,
    consistent: bool,
    start: Option<Cursor>,
    decode: Decoder<T>,
}

impl<T> Listing<T> {
    fn new(table: impl Into<String>, decode: Decoder<T>) -> Self {
        Listing {
            table: table.into(),
            index: None,
            filter: None,
            projection: None,
            page_size: None,
            limit: None,
            consistent: false,
            start: None,
            decode,
        }
    }
}

/// A Query; see [`Client::query`]. Await it for all matching items, or stream with
/// [`Query::items`] / [`Query::pages`].
#[must_use = "does nothing until awaited or streamed"]
pub struct Query<'c, T> {
    client: &'c Client,
    listing: Listing<T>,
    key: KeyCondition,
    /// The partition alone and the sort key attribute, for [`Query::sort`].
    partition: Option<(KeyCondition, &'static str)>,
    descending: bool,
}

/// A Scan; see [`Client::scan`].
#[must_use = "does nothing until awaited or streamed"]
pub struct Scan<'c, T> {
    client: &'c Client,
    listing: Listing<T>,
    segments: u32,
}

macro_rules! listing_options {
    ($ty:ident) => {
        impl<'c, T: Send + 'static> $ty<'c, T> {
            /// Only items matching `filter` (applied after reading: it does not reduce
            /// the capacity used).
            pub fn filter(mut self, filter: Condition) -> Self {
                self.listing.filter = Some(match self.listing.filter.take() {
                    Some(existing) => existing & filter,
                    None => filter,
                });
                self
            }

            /// Only these attributes (decoding into an entity then needs the rest to be
            /// optional).
            pub fn projection(mut self, projection: Projection) -> Self {
                self.listing.projection = Some(projection);
                self
            }

            /// Items read per request (DynamoDB's `Limit`).
            pub fn page_size(mut self, page_size: u32) -> Self {
                self.listing.page_size = Some(page_size);
                self
            }

            /// At most this many items in all.
            pub fn limit(mut self, limit: usize) -> Self {
                self.listing.limit = Some(limit);
                self
            }

            pub fn consistent(mut self) -> Self {
                self.listing.consistent = true;
                self
            }

            /// Goes on from where a previous listing's page ended.
            pub fn after(mut self, cursor: Cursor) -> Self {
                self.listing.start = Some(cursor);
                self
            }

            /// The items, fetched a page at a time as the stream is read.
            pub fn items(self) -> BoxStream<'c, Result<T, Error>> {
                let limit = self.listing.limit;
                let items = self
                    .pages()
                    .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
                    .try_flatten();
                match limit {
                    Some(n) => items.take(n).boxed(),
                    None => items.boxed(),
                }
            }

            /// The first page only, with the cursor to go on.
            pub async fn first_page(self) -> Result<Page<T>, Error> {
                let mut pages = self.pages();
                match pages.next().await {
                    Some(page) => page,
                    None => Ok(Page {
                        items: Vec::new(),
                        cursor: None,
                        scanned_count: 0,
                    }),
                }
            }
        }

        impl<'c, T: Send + 'static> IntoFuture for $ty<'c, T> {
            type Output = Result<Vec<T>, Error>;
            type IntoFuture = BoxFuture<'c, Self::Output>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.items().try_collect())
            }
        }
    };
}

listing_options!(Query);
listing_options!(Scan);

impl Client {
    /// The entities of type `E` in a partition (built by the derive's `E::partition(..)`),
    /// in sort-key order.
    pub fn query<E: Entity>(&self, partition: Partition<E>) -> Query<'_, E> {
        let mut listing = Listing::new(partition.table, decode_kind::<E> as Decoder<E>);
        listing.index = partition.index.map(str::to_string);
        Query {
            client: self,
            key: partition.key_condition(),
            partition: partition
                .sort_attribute()
                .map(|sk| (partition.partition_only(), sk)),
            listing,
            descending: false,
        }
    }

    /// Every item of a partition, decoded as the collection's variants: e.g. a customer
    /// and their orders in one request. Items of kinds the collection does not name are
    /// skipped.
    pub fn query_collection<C: Collection, E: Entity>(
        &self,
        partition: Partition<E>,
    ) -> Query<'_, C> {
        let partition = partition.whole();
        let mut listing = Listing::new(partition.table, C::from_item as Decoder<C>);
        listing.index = partition.index.map(str::to_string);
        Query {
            client: self,
            key: partition.key_condition(),
            partition: partition
                .sort_attribute()
                .map(|sk| (partition.partition_only(), sk)),
            listing,
            descending: false,
        }
    }

    /// A Query of raw items with any key condition.
    pub fn query_items(&self, table: impl Into<String>, key: KeyCondition) -> Query<'_, Item> {
        Query {
            client: self,
            listing: Listing::new(table, decode_item as Decoder<Item>),
            key,
            partition: None,
            descending: false,
        }
    }

    /// Every entity of type `E` in its table (items of other kinds are filtered out by the
    /// server).
    pub fn scan<E: Entity>(&self) -> Scan<'_, E> {
        let mut listing = Listing::new(E::schema().table, decode_kind::<E> as Decoder<E>);
        listing.filter = Some(is_entity::<E>());
        Scan {
            client: self,
            listing,
            segments: 1,
        }
    }

    /// A Scan of raw items.
    pub fn scan_items(&self, table: impl Into<String>) -> Scan<'_, Item> {
        Scan {
            client: self,
            listing: Listing::new(table, decode_item as Decoder<Item>),
            segments: 1,
        }
    }
}

impl<'c, T: Send + 'static> Query<'c, T> {
    /// Narrows a partition query by the sort key's full text (e.g.
    /// `SortKey::BeginsWith("ORDER#2026-".into())`), replacing the entity-kind prefix.
    pub fn sort(mut self, sort: SortKey) -> Self {
        if let Some((partition, attribute)) = &self.partition {
            self.key = sort.apply(partition.clone(), attribute);
        }
        self
    }

    /// A query of a secondary index of the table.
    pub fn index(mut self, index: impl Into<String>) -> Self {
        self.listing.index = Some(index.into());
        self
    }

    /// Highest sort keys first.
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// Replaces the key condition (e.g. to narrow the sort key).
    pub fn key_condition(mut self, key: KeyCondition) -> Self {
        self.key = key;
        self
    }

    /// The pages, each one request, fetched as the stream is read.
    pub fn pages(self) -> BoxStream<'c, Result<Page<T>, Error>> {
        let Query {
            client,
            listing,
            key,
            descending,
            ..
        } = self;
        let base = (|| {
            let mut expressions = Expressions::new();
            let key_condition = expressions.key_condition(&key)?;
            let filter = listing
                .filter
                .as_ref()
                .map(|f| expressions.condition(f))
                .transpose()?;
            let projection = listing
                .projection
                .as_ref()
                .map(|p| expressions.projection(p));
            let (names, values) = expressions.into_parts();
            Ok::<_, Error>(pb::QueryRequest {
                table_name: listing.table.clone(),
                index_name: listing.index.clone(),
                key_condition_expression: Some(key_condition),
                filter_expression: filter,
                projection_expression: projection,
                expression_attribute_names: names,
                expression_attribute_values: values,
                limit: listing
                    .page_size
                    .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
                consistent_read: listing.consistent.then_some(true),
                scan_index_forward: descending.then_some(false),
                ..Default::default()
            })
        })();
        let decode = listing.decode;
        let table = listing.table.clone();
        paginate(listing.start.clone(), base, move |start, request| {
            let mut request = request.clone();
            request.exclusive_start_key = start;
            let table = table.clone();
            async move {
                let response = client
                    .call(
                        "Query",
                        Some(&table),
                        Idempotency::Safe,
                        request,
                        |mut c, r| async move { c.query(r).await },
                    )
                    .await?;
                page(
                    response.items,
                    response.last_evaluated_key,
                    response.scanned_count,
                    decode,
                )
            }
        })
    }
}

impl<'c, T: Send + 'static> Scan<'c, T> {
    pub fn index(mut self, index: impl Into<String>) -> Self {
        self.listing.index = Some(index.into());
        self
    }

    /// A parallel scan in `segments` segments, read concurrently and merged (pages of
    /// different segments interleave; a cursor only resumes a single-segment scan).
    pub fn segments(mut self, segments: u32) -> Self {
        self.segments = segments.max(1);
        self
    }

    pub fn pages(self) -> BoxStream<'c, Result<Page<T>, Error>> {
        let Scan {
            client,
            listing,
            segments,
        } = self;
        let base = (|| {
            let mut expressions = Expressions::new();
            let filter = listing
                .filter
                .as_ref()
                .map(|f| expressions.condition(f))
                .transpose()?;
            let projection = listing
                .projection
                .as_ref()
                .map(|p| expressions.projection(p));
            let (names, values) = expressions.into_parts();
            Ok::<_, Error>(pb::ScanRequest {
                table_name: listing.table.clone(),
                index_name: listing.index.clone(),
                filter_expression: filter,
                projection_expression: projection,
                expression_attribute_names: names,
                expression_attribute_values: values,
                limit: listing
                    .page_size
                    .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
                consistent_read: listing.consistent.then_some(true),
                ..Default::default()
            })
        })();
        let decode = listing.decode;
        let segment_streams = (0..segments).map(|segment| {
            let base = base.as_ref().map_err(clone_error).map(|request| {
                let mut request = request.clone();
                if segments > 1 {
                    request.segment = Some(i32::try_from(segment).unwrap_or(i32::MAX));
                    request.total_segments = Some(i32::try_from(segments).unwrap_or(i32::MAX));
                }
                request
            });
            let table = listing.table.clone();
            let start = if segments == 1 {
                listing.start.clone()
            } else {
                None
            };
            paginate(start, base, move |start, request| {
                let mut request = request.clone();
                request.exclusive_start_key = start;
                let table = table.clone();
                async move {
                    let response = client
                        .call(
                            "Scan",
                            Some(&table),
                            Idempotency::Safe,
                            request,
                            |mut c, r| async move { c.scan(r).await },
                        )
                        .await?;
                    page(
                        response.items,
                        response.last_evaluated_key,
                        response.scanned_count,
                        decode,
                    )
                }
            })
        });
        stream::select_all(segment_streams).boxed()
    }
}

/// Errors are not `Clone`; a request that failed to build fails each segment the same way.
fn clone_error(error: &Error) -> Error {
    match error {
        Error::Value(e) => Error::Value(e.clone()),
        other => Error::Validation {
            message: other.message(),
        },
    }
}

fn page<T>(
    items: Vec<pb::MapValue>,
    last_key: Item,
    scanned: i32,
    decode: Decoder<T>,
) -> Result<Page<T>, Error> {
    let mut decoded = Vec::with_capacity(items.len());
    for item in items {
        decoded.extend(decode(item.values)?);
    }
    Ok(Page {
        items: decoded,
        cursor: (!last_key.is_empty()).then(|| Cursor::from_key(last_key)),
        scanned_count: u32::try_from(scanned).unwrap_or(0),
    })
}

/// Pages of a listing: calls `fetch` from `start` until the server returns no
/// `LastEvaluatedKey`, stopping at the first error.
fn paginate<'c, R, T, F, Fut>(
    start: Option<Cursor>,
    request: Result<R, Error>,
    fetch: F,
) -> BoxStream<'c, Result<Page<T>, Error>>
where
    R: Send + Sync + 'c,
    T: Send + 'static,
    F: Fn(Item, &R) -> Fut + Send + Sync + 'c,
    Fut: std::future::Future<Output = Result<Page<T>, Error>> + Send + 'c,
{
    enum State {
        Start(Option<Cursor>),
        After(Cursor),
        Done,
    }
    let request = match request {
        Ok(request) => request,
        Err(error) => return stream::once(async move { Err(error) }).boxed(),
    };
    let shared = std::sync::Arc::new((request, fetch));
    stream::unfold(State::Start(start), move |state| {
        let shared = shared.clone();
        async move {
            let start = match state {
                State::Done => return None,
                State::Start(None) => Ok(Item::new()),
                State::Start(Some(cursor)) | State::After(cursor) => cursor.to_key(),
            };
            let (request, fetch) = &*shared;
            let result = match start {
                Ok(start) => fetch(start, request).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(page) => {
                    let next = match &page.cursor {
                        Some(cursor) => State::After(cursor.clone()),
                        None => State::Done,
                    };
                    Some((Ok(page), next))
                }
                Err(error) => Some((Err(error), State::Done)),
            }
        }
    })
    .boxed()
}
