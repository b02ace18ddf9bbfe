//! Kinesis Data Streams for DynamoDB: where a table's changes are copied besides its
//! DynamoDB stream. Keyfall has no Kinesis to copy to, so a table never has a destination:
//! DescribeKinesisStreamingDestination answers what DynamoDB answers for such a table, and
//! Enable/DisableKinesisStreamingDestination stay unbuilt (`UnknownOperationException`).

use super::types::{DescribeKinesisStreamingDestinationOutput, TableNameInput};
use super::Engine;
use crate::error::Result;

impl Engine {
    pub fn describe_kinesis_streaming_destination(
        &self,
        input: TableNameInput,
    ) -> Result<DescribeKinesisStreamingDestinationOutput> {
        let table = self.table(&input.table_name)?;
        Ok(DescribeKinesisStreamingDestinationOutput {
            table_name: table.meta.name.clone(),
            kinesis_data_stream_destinations: Vec::new(),
        })
    }
}
