use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER#{id}")]
struct User {
    id: String,
    #[keyfall(version)]
    version: u64,
    #[keyfall(version)]
    revision: u64,
    #[keyfall(created_at)]
    created: u64,
    #[keyfall(created_at)]
    born: u64,
    #[keyfall(updated_at)]
    updated: u64,
    #[keyfall(updated_at)]
    changed: u64,
    #[keyfall(ttl)]
    expires: u64,
    #[keyfall(ttl)]
    dies: u64,
}

fn main() {}
