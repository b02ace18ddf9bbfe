use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "users", pk = "USER#{id}")]
struct User {
    id: String,
    #[serde(skip)]
    cache: Vec<u8>,
    #[serde(flatten)]
    extra: std::collections::BTreeMap<String, String>,
}

fn main() {
    let _ = User::attrs().cache;
    let _ = User::attrs().extra;
}
