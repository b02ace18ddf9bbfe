use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Address {
    city: String,
}

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(
    table = "users",
    pk = "USER#{id}",
    index(name = "byCity", pk = "CITY#{address}")
)]
struct User {
    id: String,
    address: Address,
}

fn main() {}
