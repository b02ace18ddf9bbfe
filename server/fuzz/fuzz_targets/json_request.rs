//! Any bytes as a DynamoDB JSON request body: decoding must answer an error, never panic.
#![no_main]

use keyfall_server::api::json::decode_request;
use keyfall_server::engine::types::{CreateTableInput, GetItemInput, PutItemInput, UpdateItemInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_request::<PutItemInput>(data);
    let _ = decode_request::<UpdateItemInput>(data);
    let _ = decode_request::<GetItemInput>(data);
    let _ = decode_request::<CreateTableInput>(data);
});
