use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER")]
enum User {
    Admin,
    Guest,
}

fn main() {}
