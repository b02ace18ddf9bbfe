use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(
    table = "users",
    pk = "USER#{id}",
    index(name = "gsi1", pk = "EMAIL#{email}"),
    index(name = "gsi1", pk = "NAME#{name}")
)]
struct User {
    id: String,
    email: String,
    name: String,
}

fn main() {}
