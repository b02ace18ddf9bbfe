use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", sk = "PROFILE")]
struct User {
    id: String,
}

fn main() {}
