use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER#{idd}")]
struct User {
    id: String,
    name: String,
}

fn main() {}
