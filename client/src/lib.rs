//! The Keyfall Rust client: typed entities and single-table design over Keyfall's gRPC
//! API, with SigV4 signing, retries and trace propagation. It works the same against
//! `keyfall-server` and the `keyfall-dax` cache.
//!
//! ```no_run
//! use keyfall::{Client, Entity, TableDefinition};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Entity, Serialize, Deserialize, Debug)]
//! #[keyfall(table = "shop", pk = "CUSTOMER#{customer}", sk = "ORDER#{id}")]
//! struct Order {
//!     customer: String,
//!     id: String,
//!     status: String,
//!     #[keyfall(version)]
//!     version: u64,
//! }
//!
//! # async fn run() -> Result<(), keyfall::Error> {
//! // KEYFALL_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
//! let client = Client::from_env()?;
//! client.create_table(&TableDefinition::of::<Order>()).await?;
//! let order = client
//!     .create(Order { customer: "c1".into(), id: "o1".into(), status: "NEW".into(), version: 0 })
//!     .await?;
//! let status = Order::attrs().status;
//! let shipped = client
//!     .update(Order::key("c1", "o1"), status.set("SHIPPED"))
//!     .condition(status.eq("NEW"))
//!     .expect_version(order.version)
//!     .await?;
//! let all: Vec<Order> = client.query(Order::partition("c1")).await?;
//! # let _ = (shipped, all);
//! # Ok(()) }
//! ```
//!
//! Where things are:
//! - [`Client`]: connection, credentials, timeouts, [`RetryPolicy`]; [`Client::grpc`] is
//!   the generated low-level client over the same signed connection.
//! - [`Entity`] and [`Collection`] (derive macros and traits), [`TableDefinition`].
//! - Operations: [`Client::get`], [`Client::put`], [`Client::create`],
//!   [`Client::replace`], [`Client::update`], [`Client::delete`], [`Client::query`],
//!   [`Client::query_collection`], [`Client::scan`], [`Client::batch_get`],
//!   [`Client::batch_write`], [`Client::transaction`], [`Client::changes`].
//! - [`expr`]: typed condition, filter, key-condition, update and projection builders.
//! - [`value`]: serde to and from attribute values; [`value::Decimal`], [`value::sets`].
//! - [`Error`]: one variant per DynamoDB error kind, [`Error::is_retryable`].
//! - `embedded` (feature): [`embedded::EmbeddedServer`], a real server in-process for
//!   tests.

// The derives name `::keyfall::...`; this makes those paths work in the crate's own tests.
extern crate self as keyfall;

mod client;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod entity;
pub mod error;
pub mod expr;
pub mod ops;
pub mod retry;
pub mod signing;
mod trace;
pub mod value;

pub use keyfall_derive::{Collection, Entity};
pub use keyfall_proto as proto;

pub use client::{Client, ClientBuilder, Transport, TransportError, DEFAULT_ENDPOINT};
pub use entity::{Collection, Entity, EntitySchema, Key, KeyPart, Timestamp};
pub use error::{CancellationReason, Error};
pub use ops::backup::{Backup, Export, Import, PointInTimeRecovery};
pub use ops::batch::{BatchGet, BatchGetOutput, BatchWrite, BatchWriteOutput};
pub use ops::changes::{Change, ChangeKind, Changes, StartingPosition};
pub use ops::items::{DeleteEntity, GetEntity, PutEntity, UpdateEntity};
pub use ops::query::{Cursor, Page, Partition, Query, Scan, SortKey};
pub use ops::statement::{Statement, StatementPage, StatementTransaction};
pub use ops::table::TableDefinition;
pub use ops::transact::Transaction;
pub use retry::{Idempotency, RetryPolicy};
pub use signing::{Credentials, SigV4Layer};
pub use trace::TraceContext;
pub use value::{AttributeValue, Decimal, Item};
