use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(tabel = "users", pk = "USER#{id}")]
struct User {
    id: String,
}

fn main() {}
