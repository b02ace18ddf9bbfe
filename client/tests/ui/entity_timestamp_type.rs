use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER#{id}")]
struct User {
    id: String,
    #[keyfall(created_at)]
    created: String,
}

fn main() {}
