use serde::{Deserialize, Serialize};

#[derive(keyfall::Entity, Serialize, Deserialize)]
#[keyfall(table = "shop", pk = "CUSTOMER#{id}")]
struct Customer {
    id: String,
}

#[derive(keyfall::Collection)]
enum View {
    Customer(Customer),
    Nothing,
    Named { customer: Customer },
    Two(Customer, Customer),
}

fn main() {}
