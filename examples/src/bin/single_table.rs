//! Single-table design: customers, their orders and the orders' lines in one table with
//! one global secondary index.
//!
//! | entity    | pk                | sk              | gsi1pk          | gsi1sk          |
//! |-----------|-------------------|-----------------|-----------------|-----------------|
//! | Customer  | `CUSTOMER#{id}`   | `PROFILE`       | `EMAIL#{email}` | `CUSTOMER`      |
//! | Order     | `CUSTOMER#{cust}` | `ORDER#{id}`    | `ORDER#{id}`    | `ORDER`         |
//! | OrderLine | `ORDER#{order}`   | `LINE#{sku}`    | `ORDER#{order}` | `LINE#{sku}`    |
//!
//! One Query of a customer's partition reads the customer and their orders; one Query of
//! `gsi1` reads an order with its lines. Placing an order is a transaction; a stale write
//! to a customer fails on its version and is retried; orders are listed page by page.

use anyhow::Context;
use keyfall::value::Decimal;
use keyfall::{Client, Collection, Entity, Error, TableDefinition};
use keyfall_examples::{check, init_telemetry};
use serde::{Deserialize, Serialize};

#[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(
    table = "shop",
    pk = "CUSTOMER#{id}",
    sk = "PROFILE",
    index(name = "gsi1", pk = "EMAIL#{email}", sk = "CUSTOMER")
)]
struct Customer {
    id: String,
    name: String,
    email: String,
    #[serde(default)]
    order_count: u32,
    #[keyfall(version)]
    version: u64,
    #[keyfall(created_at)]
    created_at: Option<u64>,
    #[keyfall(updated_at)]
    updated_at: Option<u64>,
}

#[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(
    table = "shop",
    pk = "CUSTOMER#{customer}",
    sk = "ORDER#{id}",
    index(name = "gsi1", pk = "ORDER#{id}", sk = "ORDER")
)]
struct Order {
    customer: String,
    id: String,
    status: String,
    total: Decimal,
}

#[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(
    table = "shop",
    pk = "ORDER#{order}",
    sk = "LINE#{sku}",
    index(name = "gsi1", pk = "ORDER#{order}", sk = "LINE#{sku}")
)]
struct OrderLine {
    order: String,
    sku: String,
    quantity: u32,
    price: Decimal,
}

/// A customer's partition: the profile and the orders.
#[derive(Collection, Debug)]
enum CustomerPartition {
    Customer(Customer),
    Order(Order),
}

/// An order and its lines, read through `gsi1`.
#[derive(Collection, Debug)]
enum OrderWithLines {
    Order(Order),
    Line(OrderLine),
}

fn decimal(text: &str) -> anyhow::Result<Decimal> {
    text.parse().map_err(|e| anyhow::anyhow!("{text}: {e:?}"))
}

/// Places an order in one transaction: the order, its lines, and the customer's order
/// count, which must still be at the version read.
async fn place_order(
    client: &Client,
    customer: &Customer,
    id: &str,
    lines: &[(&str, u32, &str)],
) -> anyhow::Result<Order> {
    let mut total = decimal("0")?;
    let mut transaction = client.transaction();
    for (sku, quantity, price) in lines {
        let price = decimal(price)?;
        total = Decimal(total.0 + price.0.clone() * bigdecimal_from(*quantity));
        transaction = transaction.create(OrderLine {
            order: id.into(),
            sku: (*sku).into(),
            quantity: *quantity,
            price,
        });
    }
    let order = Order {
        customer: customer.id.clone(),
        id: id.into(),
        status: "PLACED".into(),
        total,
    };
    transaction
        .create(order.clone())
        .update_if(
            Customer::key(&customer.id),
            Customer::attrs().order_count.increment(1u32),
            Some(Customer::attrs().version.eq(customer.version)),
        )
        .await?;
    Ok(order)
}

fn bigdecimal_from(n: u32) -> keyfall::value::BigDecimal {
    keyfall::value::BigDecimal::from(n)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = init_telemetry("keyfall-single-table")?;
    let client = Client::from_env().context("KEYFALL_ENDPOINT or AWS_* settings")?;
    let table = TableDefinition::new("shop")
        .entity::<Customer>()
        .entity::<Order>()
        .entity::<OrderLine>();
    client.delete_table(table.name()).await?;
    client.create_table(&table).await?;
    println!("created table shop with gsi1");

    let ada = client
        .create(Customer {
            id: "c1".into(),
            name: "Ada".into(),
            email: "ada@example.com".into(),
            order_count: 0,
            version: 0,
            created_at: None,
            updated_at: None,
        })
        .await?;
    check(
        ada.version == 1 && ada.created_at.is_some(),
        "create sets version 1 and created_at",
    )?;
    let again = client.create(ada.clone()).await;
    check(
        matches!(again, Err(Error::ConditionalCheckFailed { .. })),
        "creating the same customer twice fails",
    )?;

    // A transaction places an order with two lines and counts it on the customer.
    let order = place_order(
        &client,
        &ada,
        "o1",
        &[("KEYBOARD", 1, "49.90"), ("CABLE", 2, "4.55")],
    )
    .await?;
    println!(
        "placed {} for {}: total {}",
        order.id, ada.name, order.total
    );
    check(order.total == decimal("59.00")?, "the order total is exact")?;

    // The customer's partition in one query: the profile and the order.
    let partition: Vec<CustomerPartition> = client
        .query_collection::<CustomerPartition, _>(Customer::partition("c1"))
        .await?;
    let (mut customers, mut orders) = (0, 0);
    for item in &partition {
        match item {
            CustomerPartition::Customer(c) => {
                customers += 1;
                println!("  customer {} <{}>", c.name, c.email);
            }
            CustomerPartition::Order(o) => {
                orders += 1;
                println!("  order {} {} {}", o.id, o.status, o.total);
            }
        }
    }
    check(
        customers == 1 && orders == 1,
        "one query reads the customer and the order",
    )?;

    // The order and its lines through gsi1.
    let with_lines: Vec<OrderWithLines> = client
        .query_collection::<OrderWithLines, _>(Order::gsi1_partition("o1"))
        .await?;
    let mut lines = 0;
    let mut line_total = keyfall::value::BigDecimal::from(0);
    let mut order_total = None;
    for item in &with_lines {
        match item {
            OrderWithLines::Order(o) => order_total = Some(o.total.clone()),
            OrderWithLines::Line(l) => {
                lines += 1;
                line_total += l.price.0.clone() * bigdecimal_from(l.quantity);
            }
        }
    }
    check(lines == 2, "gsi1 reads the order with its two lines")?;
    check(
        order_total == Some(Decimal(line_total)),
        "the lines add up to the order total",
    )?;

    // Optimistic locking: a stale copy of the customer cannot overwrite a newer one.
    let stale = ada.clone();
    let fresh = client
        .get(Customer::key("c1"))
        .await?
        .context("customer c1")?;
    check(
        fresh.order_count == 1 && fresh.version == 2,
        "the transaction bumped the version",
    )?;
    let renamed = client
        .put(Customer {
            name: "Ada Lovelace".into(),
            ..fresh
        })
        .await?;
    let conflict = client
        .put(Customer {
            email: "ada@lovelace.org".into(),
            ..stale
        })
        .await;
    check(
        matches!(conflict, Err(Error::ConditionalCheckFailed { .. })),
        "a write from a stale version is rejected",
    )?;
    // Resolve the conflict: re-read, re-apply the change, write again.
    let current = client
        .get(Customer::key("c1"))
        .await?
        .context("customer c1")?;
    let merged = client
        .put(Customer {
            email: "ada@lovelace.org".into(),
            ..current
        })
        .await?;
    check(
        merged.name == renamed.name && merged.email == "ada@lovelace.org" && merged.version == 4,
        "the retried write keeps both changes",
    )?;

    // More orders, then a listing two per page, resumed from an opaque cursor.
    for n in 2..=5 {
        let customer = client
            .get(Customer::key("c1"))
            .await?
            .context("customer c1")?;
        place_order(
            &client,
            &customer,
            &format!("o{n}"),
            &[("PAPER", n, "3.10")],
        )
        .await?;
    }
    let mut cursor = None;
    let mut listed = Vec::new();
    loop {
        let mut query = client.query(Order::partition("c1")).page_size(2);
        if let Some(c) = cursor.take() {
            query = query.after(c);
        }
        let page = query.first_page().await?;
        println!(
            "page: {:?}",
            page.items.iter().map(|o| &o.id).collect::<Vec<_>>()
        );
        listed.extend(page.items.into_iter().map(|o| o.id));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    check(
        listed == ["o1", "o2", "o3", "o4", "o5"],
        "pages list every order once, in order",
    )?;

    let by_email: Vec<Customer> = client
        .query(Customer::gsi1_partition("ada@lovelace.org"))
        .await?;
    check(
        by_email.len() == 1 && by_email[0].order_count == 5,
        "gsi1 finds the customer by email",
    )?;

    client.delete_table(table.name()).await?;
    println!("single_table finished");
    Ok(())
}
