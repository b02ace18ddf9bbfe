use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER#{org}{id}")]
struct User {
    org: String,
    id: String,
}

fn main() {}
