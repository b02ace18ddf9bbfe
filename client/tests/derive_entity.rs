//! `#[derive(Entity)]` and `#[derive(Collection)]` through the code they really generate.
// Test code: the workspace lints deny these in library code only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyfall::entity::{IndexSchema, KeyTemplate, TemplatePart};
use keyfall::expr::Attr;
use keyfall::{AttributeValue, Collection, Entity, Item};
use serde::{Deserialize, Serialize};

/// The full example: every struct and field attribute, a GSI, a sparse index and renames.
#[derive(keyfall::Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(
    table = "shop",
    entity = "Order",
    pk = "CUSTOMER#{customer_id}",
    sk = "ORDER#{created}#{order_id}",
    index(name = "gsi1", pk = "ORDER#{order_id}", sk = "STATUS#{status}"),
    index(name = "coupons", pk = "COUPON#{coupon}", pk_attribute = "cpk")
)]
pub struct ShopOrder {
    pub customer_id: String,
    pub order_id: String,
    pub created: u64,
    pub status: Option<String>,
    pub coupon: Option<String>,
    #[keyfall(version)]
    pub version: u64,
    #[keyfall(created_at)]
    pub created_at: Option<u64>,
    #[keyfall(updated_at)]
    pub updated_at: Option<u64>,
    #[keyfall(ttl)]
    pub expires_at: Option<u64>,
    #[serde(rename = "amountCents")]
    pub amount: u64,
    #[serde(skip)]
    pub scratch: Vec<u8>,
}

fn order() -> ShopOrder {
    ShopOrder {
        customer_id: "c1".into(),
        order_id: "o1".into(),
        created: 1_700_000_000,
        status: Some("PAID".into()),
        coupon: None,
        version: 3,
        created_at: None,
        updated_at: None,
        expires_at: Some(1_800_000_000),
        amount: 1250,
        scratch: Vec::new(),
    }
}

/// `rename_all`, custom key and type attributes, a raw identifier and fields named like the
/// generated code's own parameters.
#[derive(keyfall::Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(
    table = "shop",
    type_attribute = "kind",
    pk_attribute = "PK",
    sk_attribute = "SK",
    pk = "CUSTOMER#{name}",
    sk = "PROFILE#{r#type}#{field}",
    index(
        name = "byEmail",
        pk = "EMAIL#{email_address}",
        sk = "PROFILE#{type}#{field}",
        sk_attribute = "SK"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct CustomerProfile {
    pub name: String,
    pub r#type: String,
    pub field: u32,
    pub email_address: Option<String>,
    #[keyfall(version)]
    pub row_version: i32,
    #[keyfall(created_at)]
    pub first_seen: SystemTime,
    #[keyfall(updated_at)]
    #[serde(rename = "touched")]
    pub last_seen: i64,
}

/// A singleton: a constant key, no sort key, no lifecycle fields.
#[derive(keyfall::Entity, Serialize, Deserialize, Debug, PartialEq)]
#[keyfall(table = "config", pk = "CONFIG")]
struct Settings {
    dark_mode: bool,
}

/// Flattened and skipped fields get no attribute path (see ui/attrs_skip_unstored.rs).
#[derive(keyfall::Entity, Serialize, Deserialize, Debug, PartialEq)]
#[keyfall(table = "t", pk = "W#{id}")]
pub struct WithExtra {
    pub id: String,
    #[serde(flatten)]
    pub extra: std::collections::BTreeMap<String, String>,
}

mod members {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
    enum Level {
        Gold,
    }

    /// A public entity with a private field of a private type, and a `pub(crate)` one.
    #[derive(keyfall::Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[keyfall(table = "members", pk = "MEMBER#{id}")]
    pub struct Member {
        pub id: String,
        level: Level,
    }

    #[derive(keyfall::Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[keyfall(table = "members", pk = "GUEST#{id}")]
    pub(crate) struct Guest {
        pub id: u32,
    }

    #[test]
    fn attrs_of_private_fields() {
        let member = Member {
            id: "m".into(),
            level: Level::Gold,
        };
        assert!(matches!(member.level, Level::Gold));
        assert_eq!(Member::attrs().level.path().to_string(), "level");
    }
}

#[test]
fn entities_in_modules() {
    let _: keyfall::expr::Attr<u32> = members::Guest::attrs().id;
    let _: members::GuestAttrs = members::Guest::attrs();
    let _: members::MemberAttrs = members::Member::attrs();
    assert_eq!(
        members::Member::key("m").item().get("pk"),
        Some(&s("MEMBER#m"))
    );
}

/// Shares its partition with `ShopOrder`.
#[derive(keyfall::Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(table = "shop", pk = "CUSTOMER#{id}", sk = "PROFILE")]
struct Customer {
    id: String,
    name: String,
}

#[derive(keyfall::Collection, Debug, PartialEq)]
enum CustomerView {
    Customer(Customer),
    Order(ShopOrder),
}

/// `CustomerProfile` keeps its type in `kind`, `ShopOrder` in `_type`.
#[derive(keyfall::Collection, Debug)]
#[allow(dead_code)]
enum Broken {
    Order(ShopOrder),
    Profile(CustomerProfile),
}

fn s(text: &str) -> AttributeValue {
    keyfall::value::string(text)
}

fn lit(text: &'static str) -> TemplatePart {
    TemplatePart::Literal(text)
}

fn field(name: &'static str) -> TemplatePart {
    TemplatePart::Field(name)
}

fn template(t: &KeyTemplate) -> (&'static str, &'static str, Vec<TemplatePart>) {
    (t.attribute, t.template, t.parts.to_vec())
}

fn index(
    i: &IndexSchema,
) -> (
    &'static str,
    (&'static str, &'static str, Vec<TemplatePart>),
    Option<&'static str>,
) {
    (
        i.name,
        template(&i.partition_key),
        i.sort_key.map(|k| k.attribute),
    )
}

#[test]
fn schema_of_the_full_example() {
    let schema = ShopOrder::schema();
    assert_eq!(schema.table, "shop");
    assert_eq!(schema.entity_type, "Order");
    assert_eq!(schema.type_attribute, "_type");
    assert_eq!(
        template(&schema.partition_key),
        (
            "pk",
            "CUSTOMER#{customer_id}",
            vec![lit("CUSTOMER#"), field("customer_id")]
        )
    );
    let sk = schema.sort_key.expect("a sort key");
    assert_eq!(
        template(&sk),
        (
            "sk",
            "ORDER#{created}#{order_id}",
            vec![lit("ORDER#"), field("created"), lit("#"), field("order_id")]
        )
    );
    assert_eq!(schema.indexes.len(), 2);
    assert_eq!(
        index(&schema.indexes[0]),
        (
            "gsi1",
            (
                "gsi1pk",
                "ORDER#{order_id}",
                vec![lit("ORDER#"), field("order_id")]
            ),
            Some("gsi1sk")
        )
    );
    let gsi1_sk = schema.indexes[0].sort_key.expect("gsi1 sort key");
    assert_eq!(
        template(&gsi1_sk),
        (
            "gsi1sk",
            "STATUS#{status}",
            vec![lit("STATUS#"), field("status")]
        )
    );
    assert_eq!(
        index(&schema.indexes[1]),
        (
            "coupons",
            (
                "cpk",
                "COUPON#{coupon}",
                vec![lit("COUPON#"), field("coupon")]
            ),
            None
        )
    );
    assert_eq!(schema.version_attribute, Some("version"));
    assert_eq!(schema.created_at_attribute, Some("created_at"));
    assert_eq!(schema.updated_at_attribute, Some("updated_at"));
    assert_eq!(schema.ttl_attribute, Some("expires_at"));
    // One static schema.
    assert!(std::ptr::eq(ShopOrder::schema(), ShopOrder::schema()));
}

#[test]
fn schema_attribute_names_follow_serde() {
    let schema = CustomerProfile::schema();
    assert_eq!(schema.entity_type, "CustomerProfile");
    assert_eq!(schema.type_attribute, "kind");
    assert_eq!(schema.partition_key.attribute, "PK");
    let sk = schema.sort_key.expect("a sort key");
    assert_eq!(
        template(&sk),
        (
            "SK",
            "PROFILE#{r#type}#{field}",
            vec![lit("PROFILE#"), field("type"), lit("#"), field("field")]
        )
    );
    assert_eq!(schema.indexes[0].partition_key.attribute, "byEmailpk");
    assert_eq!(schema.indexes[0].sort_key.map(|k| k.attribute), Some("SK"));
    assert_eq!(schema.version_attribute, Some("rowVersion"));
    assert_eq!(schema.created_at_attribute, Some("firstSeen"));
    assert_eq!(schema.updated_at_attribute, Some("touched"));
    assert_eq!(schema.ttl_attribute, None);

    let settings = Settings::schema();
    assert_eq!(
        (settings.table, settings.entity_type),
        ("config", "Settings")
    );
    assert!(settings.sort_key.is_none() && settings.indexes.is_empty());
    assert_eq!(settings.version_attribute, None);
}

#[test]
fn key_builds_the_primary_key_attributes() {
    let key = ShopOrder::key("c1", 1_700_000_000u64, "o1");
    let expected: Item = [
        ("pk".to_string(), s("CUSTOMER#c1")),
        ("sk".to_string(), s("ORDER#1700000000#o1")),
    ]
    .into_iter()
    .collect();
    assert_eq!(key.item(), &expected);
    assert_eq!(order().primary_key(), key);

    // Parameters take any KeyPart: owned, borrowed, Some(..).
    let id = String::from("o1");
    assert_eq!(
        ShopOrder::key(String::from("c1"), Some(1_700_000_000u64), &id),
        key
    );

    let profile = CustomerProfile::key("ada", "admin", 7u32);
    let expected: Item = [
        ("PK".to_string(), s("CUSTOMER#ada")),
        ("SK".to_string(), s("PROFILE#admin#7")),
    ]
    .into_iter()
    .collect();
    assert_eq!(profile.into_item(), expected);

    let config = Settings::key();
    let expected: Item = [("pk".to_string(), s("CONFIG"))].into_iter().collect();
    assert_eq!(config.into_item(), expected);
}

#[test]
fn a_missing_key_part_makes_an_empty_key() {
    let key = ShopOrder::key(None::<String>, 1u64, "o1");
    assert!(key.item().is_empty());
}

#[test]
fn key_part_reads_template_fields() {
    let mut o = order();
    assert_eq!(o.key_part("customer_id").as_deref(), Some("c1"));
    assert_eq!(o.key_part("created").as_deref(), Some("1700000000"));
    assert_eq!(o.key_part("status").as_deref(), Some("PAID"));
    // An absent Option leaves the sparse index key unwritten.
    assert_eq!(o.key_part("coupon"), None);
    o.status = None;
    assert_eq!(o.key_part("status"), None);
    // Only fields a template names.
    assert_eq!(o.key_part("amount"), None);
    assert_eq!(o.key_part("nope"), None);

    let p = profile();
    assert_eq!(p.key_part("type").as_deref(), Some("admin"));
    assert_eq!(p.key_part("field").as_deref(), Some("7"));
    assert_eq!(p.key_part("name").as_deref(), Some("ada"));
    assert_eq!(
        p.key_part("email_address").as_deref(),
        Some("ada@example.com")
    );
}

fn profile() -> CustomerProfile {
    CustomerProfile {
        name: "ada".into(),
        r#type: "admin".into(),
        field: 7,
        email_address: Some("ada@example.com".into()),
        row_version: 0,
        first_seen: UNIX_EPOCH,
        last_seen: 0,
    }
}

#[test]
fn version_reads_and_writes_the_version_field() {
    let mut o = order();
    assert_eq!(o.version(), Some(3));
    o.set_version(4);
    assert_eq!((o.version, o.version()), (4, Some(4)));

    let mut p = profile();
    p.set_version(12);
    assert_eq!((p.row_version, p.version()), (12, Some(12)));
    // Saturates instead of wrapping.
    p.set_version(u64::MAX);
    assert_eq!(p.row_version, i32::MAX);
    // A negative version is no u64.
    p.row_version = -1;
    assert_eq!(p.version(), None);

    let mut s = Settings { dark_mode: true };
    assert_eq!(s.version(), None);
    s.set_version(9);
    s.touch(SystemTime::now(), true);
    assert_eq!(s, Settings { dark_mode: true });
}

#[test]
fn touch_sets_created_at_only_when_creating() {
    let t1 = UNIX_EPOCH + Duration::from_secs(100);
    let t2 = UNIX_EPOCH + Duration::from_secs(200);
    let mut o = order();
    o.touch(t1, true);
    assert_eq!((o.created_at, o.updated_at), (Some(100), Some(100)));
    o.touch(t2, false);
    assert_eq!((o.created_at, o.updated_at), (Some(100), Some(200)));

    let mut p = profile();
    p.touch(t2, false);
    assert_eq!((p.first_seen, p.last_seen), (UNIX_EPOCH, 200));
    p.touch(t1, true);
    assert_eq!((p.first_seen, p.last_seen), (t1, 100));
}

#[test]
fn attrs_are_typed_paths_under_serde_names() {
    let attrs = ShopOrder::attrs();
    // Types: Option<T> fields are Attr<T>.
    let _: Attr<String> = attrs.customer_id.clone();
    let _: Attr<u64> = attrs.created.clone();
    let _: Attr<String> = attrs.status.clone();
    let _: Attr<u64> = attrs.version.clone();
    let _: Attr<u64> = attrs.expires_at.clone();
    let _: Attr<u64> = attrs.amount.clone();
    let names = [
        attrs.customer_id.path().to_string(),
        attrs.order_id.path().to_string(),
        attrs.status.path().to_string(),
        attrs.created_at.path().to_string(),
        attrs.amount.path().to_string(),
    ];
    assert_eq!(
        names,
        [
            "customer_id",
            "order_id",
            "status",
            "created_at",
            "amountCents"
        ]
    );
    assert_eq!(ShopOrder::attrs().amount.path().to_string(), "amountCents");

    let attrs = CustomerProfile::attrs();
    let _: Attr<SystemTime> = attrs.first_seen.clone();
    let _: Attr<String> = attrs.email_address.clone();
    let names = [
        attrs.name.path().to_string(),
        attrs.r#type.path().to_string(),
        attrs.email_address.path().to_string(),
        attrs.row_version.path().to_string(),
        attrs.last_seen.path().to_string(),
    ];
    assert_eq!(
        names,
        ["name", "type", "emailAddress", "rowVersion", "touched"]
    );
    assert!(format!("{attrs:?}").contains("emailAddress"));

    assert_eq!(WithExtra::attrs().id.path().to_string(), "id");
}

#[test]
fn collection_lists_its_entity_types() {
    assert_eq!(CustomerView::entity_types(), ["Customer", "Order"]);
    assert!(std::ptr::eq(
        CustomerView::entity_types(),
        CustomerView::entity_types()
    ));
}

#[test]
fn collection_skips_items_of_other_types() {
    let mut item: Item = [("pk".to_string(), s("CUSTOMER#c1"))].into_iter().collect();
    assert!(matches!(CustomerView::from_item(item.clone()), Ok(None)));
    item.insert("_type".into(), s("Invoice"));
    assert!(matches!(CustomerView::from_item(item.clone()), Ok(None)));
    // The type attribute must be a string.
    item.insert(
        "_type".into(),
        AttributeValue {
            value: Some(keyfall::proto::v1::attribute_value::Value::N("1".into())),
        },
    );
    assert!(matches!(CustomerView::from_item(item), Ok(None)));
}

#[test]
fn collection_rejects_mixed_type_attributes() {
    let item: Item = [("_type".to_string(), s("Order"))].into_iter().collect();
    match Broken::from_item(item) {
        Err(keyfall::Error::Config(message)) => {
            assert!(message.contains("Broken"), "{message}");
            assert!(message.contains("kind"), "{message}");
        }
        other => panic!("expected a Config error, got {other:?}"),
    }
    assert_eq!(Broken::entity_types(), ["Order", "CustomerProfile"]);
}

// The tests below convert entities to and from items through serde (keyfall::value).

#[test]
fn collection_decodes_each_variant() {
    let o = order();
    let item = keyfall::entity::encode(&o).expect("encodes");
    assert_eq!(item.get("_type"), Some(&s("Order")));
    let decoded = CustomerView::from_item(item).expect("decodes");
    let expected = ShopOrder {
        scratch: Vec::new(),
        ..o
    };
    assert_eq!(decoded, Some(CustomerView::Order(expected)));

    let c = Customer {
        id: "c1".into(),
        name: "Ada".into(),
    };
    let item = keyfall::entity::encode(&c).expect("encodes");
    assert_eq!(item.get("sk"), Some(&s("PROFILE")));
    let decoded = CustomerView::from_item(item).expect("decodes");
    assert_eq!(decoded, Some(CustomerView::Customer(c)));

    // An item of a known type that does not decode is an error, not `None`.
    let item: Item = [
        ("_type".to_string(), s("Customer")),
        ("id".to_string(), s("c2")),
    ]
    .into_iter()
    .collect();
    assert!(matches!(
        CustomerView::from_item(item),
        Err(keyfall::Error::Value(_))
    ));
}

#[test]
fn encoded_items_use_serde_names_and_template_keys() {
    let item = keyfall::entity::encode(&order()).expect("encodes");
    assert_eq!(item.get("pk"), Some(&s("CUSTOMER#c1")));
    assert_eq!(item.get("sk"), Some(&s("ORDER#1700000000#o1")));
    assert_eq!(item.get("gsi1pk"), Some(&s("ORDER#o1")));
    assert_eq!(item.get("gsi1sk"), Some(&s("STATUS#PAID")));
    // Sparse: no coupon, no coupon index key.
    assert!(!item.contains_key("cpk"));
    assert!(item.contains_key("amountCents"));
    assert!(!item.contains_key("amount"));
    assert!(!item.contains_key("scratch"));

    let item = keyfall::entity::encode(&profile()).expect("encodes");
    assert_eq!(item.get("SK"), Some(&s("PROFILE#admin#7")));
    assert_eq!(item.get("byEmailpk"), Some(&s("EMAIL#ada@example.com")));
    assert!(item.contains_key("rowVersion"));
    assert!(item.contains_key("touched"));
    let back: CustomerProfile = keyfall::entity::decode(item).expect("decodes");
    assert_eq!(back.name, "ada");
}
