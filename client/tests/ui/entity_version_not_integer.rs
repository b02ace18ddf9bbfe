use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER#{id}")]
struct User {
    id: String,
    #[keyfall(version)]
    version: String,
}

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER#{id}")]
struct Maybe {
    id: String,
    #[keyfall(version)]
    version: Option<u64>,
}

fn main() {}
