use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "ORG#{org}", sk = "USER#{id}")]
struct User {
    org: Option<String>,
    id: std::option::Option<u64>,
}

fn main() {}
