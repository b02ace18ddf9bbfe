use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER#{id}")]
struct User<T> {
    id: T,
}

fn main() {}
