use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(
    table = "users",
    pk = "USER#{id}",
    index(name = "gsi1", partition = "X")
)]
struct User {
    id: String,
}

fn main() {}
