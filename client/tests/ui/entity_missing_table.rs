use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(pk = "USER#{id}")]
struct User {
    id: String,
}

#[derive(keyfall::Entity, Serialize, Deserialize)]
struct NoAttributes {
    id: String,
}

fn main() {}
