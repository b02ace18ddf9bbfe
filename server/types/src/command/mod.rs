//! Requests decoded into the commands that run: enum-valued members as enums, expressions
//! parsed with their `#names` and `:values` resolved, and the legacy members (`Expected`,
//! `AttributeUpdates`, `AttributesToGet`, `KeyConditions`, `QueryFilter`, `ScanFilter`)
//! converted to the same trees.
//!
//! Invariant: the engine executes a command and authorization reads the same command, so
//! what IAM is asked about is exactly what runs. Decoding needs no table; what needs the
//! table's schema (key attributes, sizes, indexes) stays in the engine. PartiQL and the
//! console build commands directly, without printing and re-parsing expression text.

mod items;
mod options;
mod page;
mod reads;
mod transact;

pub use items::{DeleteItem, GetItem, PutItem, UpdateItem};
pub use options::{
    parse_collection_metrics, parse_limit, parse_return_on_failure, ReturnCapacity, ReturnValues,
    Select, WriteReturns,
};
pub use page::{Page, Query, Scan, Segment};
pub use reads::{BatchGetItem, BatchGetTable, TransactGetItems, TransactGetPart};
pub use transact::{PartAction, PartError, TransactPart, TransactWrite, TransactWriteItems};

use crate::error::{Error, Result};
use crate::model::Item;

/// A request that decodes into a command before it is authorized and run.
pub trait Decode: Sized {
    type Command;
    fn decode(self) -> Result<Self::Command, Invalid>;

    /// What `command` will ask of throughput, for admission before it runs: one
    /// [`Demand`] for each table (or the index it reads) it touches. Commands that touch
    /// no items demand nothing, nor do batches and transactions: the engine admits those
    /// item by item, as DynamoDB throttles them.
    fn demands(_command: &Self::Command, _demand: &mut dyn FnMut(Demand<'_>)) {}
}

/// What a command asks of a table's (or of the GSI `index` it reads) throughput.
#[derive(Debug, Clone, Copy)]
pub struct Demand<'a> {
    pub table: &'a str,
    pub index: Option<&'a str>,
    pub access: Access,
    /// The key (or item) it is about, when it names one: a refusal counts against it in
    /// Contributor Insights.
    pub key: Option<&'a Item>,
}

/// What a request does to a table's throughput.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// A request that failed to decode. It is still authorized (on its table, with its key's
/// partition where the request gave one, and its attributes unknown) before the error is
/// answered, and a missing table is reported before the malformed member, as DynamoDB
/// reports it.
#[derive(Debug)]
pub struct Invalid {
    pub error: Error,
    /// The table the request names, when the name itself is valid.
    pub table: Option<String>,
    /// The key or item the request is about, when it gave one.
    pub subject: Option<Item>,
}

impl Invalid {
    pub fn new(error: Error, table: Option<String>, subject: Option<Item>) -> Invalid {
        let table = table.filter(|t| validate_name(t, "tableName").is_ok());
        Invalid {
            error,
            table,
            subject,
        }
    }
}

/// Requests that run as received: their members are plain data the engine validates.
macro_rules! runs_as_received {
    ($($ty:ty),* $(,)?) => {$(
        impl Decode for $ty {
            type Command = $ty;
            fn decode(self) -> Result<$ty, Invalid> {
                Ok(self)
            }
        }
    )*};
}

use crate::streams::{
    DescribeStreamInput, GetRecordsInput, GetShardIteratorInput, ListStreamsInput,
};
use crate::types::*;

runs_as_received!(
    CreateTableInput,
    UpdateTableInput,
    TableNameInput,
    ListTablesInput,
    UpdateTimeToLiveInput,
    UpdateContributorInsightsInput,
    DescribeContributorInsightsInput,
    ListContributorInsightsInput,
    crate::backup::CreateBackupInput,
    crate::backup::BackupArnInput,
    crate::backup::ListBackupsInput,
    crate::backup::RestoreTableFromBackupInput,
    crate::backup::RestoreTableToPointInTimeInput,
    crate::backup::UpdateContinuousBackupsInput,
    crate::backup::ExportTableToPointInTimeInput,
    crate::backup::ExportArnInput,
    crate::backup::ListExportsInput,
    crate::backup::ImportTableInput,
    crate::backup::ImportArnInput,
    crate::backup::ListImportsInput,
    crate::autoscaling::RegisterScalableTargetInput,
    crate::autoscaling::DescribeInput,
    crate::autoscaling::TargetInput,
    crate::autoscaling::PutScalingPolicyInput,
    TagResourceInput,
    UntagResourceInput,
    ListTagsOfResourceInput,
    BatchWriteItemInput,
    ListStreamsInput,
    DescribeStreamInput,
    GetShardIteratorInput,
    GetRecordsInput,
    (),
);

/// A required member: absent is DynamoDB's "Value null at '<member>'".
pub fn required<'a, T>(v: &'a Option<T>, member: &str) -> Result<&'a T> {
    v.as_ref().ok_or_else(|| {
        Error::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// `TableName`: required, and a valid name.
pub fn table_name(v: &Option<String>) -> Result<&str> {
    let name = required(v, "tableName")?;
    validate_name(name, "tableName")?;
    Ok(name)
}

/// A table or index name: 3 to 255 of `[a-zA-Z0-9_.-]`.
pub fn validate_name(name: &str, member: &str) -> Result<()> {
    let fail = |constraint: &str| {
        Err(Error::validation(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: {constraint}"
        )))
    };
    if !(3..=255).contains(&name.len()) {
        // DynamoDB words a table name's length error in its own sentence.
        if member == "tableName" {
            return Err(Error::validation(
                "TableName must be at least 3 characters long and at most 255 characters long",
            ));
        }
        if name.len() < 3 {
            return fail("Member must have length greater than or equal to 3");
        }
        return fail("Member must have length less than or equal to 255");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return fail("Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    }
    Ok(())
}

/// Every value of an item or key obeys the model's rules (numbers, sets, nesting).
pub fn validate_values(item: &Item) -> Result<()> {
    item.values()
        .try_for_each(|v| v.validate().map_err(Error::from))
}
