use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER#{id}")]
struct User {
    #[keyfall(key)]
    id: String,
    #[keyfall(version = 1)]
    version: u64,
}

fn main() {}
