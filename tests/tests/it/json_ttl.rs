//! Time To Live: expired items vanish from reads at once and are swept in the background.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use keyfall_tests::TestServer;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn expired_items_are_invisible_then_swept() {
    let server =
        TestServer::start_with(|c| c.ttl_sweep_interval = Duration::from_millis(100)).await;
    let db = server.dynamodb();
    db.create_table()
        .table_name("sessions")
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let ttl = |enabled| {
        TimeToLiveSpecification::builder()
            .enabled(enabled)
            .attribute_name("expires")
            .build()
            .unwrap()
    };
    db.update_time_to_live()
        .table_name("sessions")
        .time_to_live_specification(ttl(true))
        .send()
        .await
        .unwrap();
    let err = db
        .update_time_to_live()
        .table_name("sessions")
        .time_to_live_specification(ttl(true))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.message(), Some("TimeToLive is already enabled"));
    let desc = db
        .describe_time_to_live()
        .table_name("sessions")
        .send()
        .await
        .unwrap();
    let desc = desc.time_to_live_description.unwrap();
    assert_eq!(desc.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(desc.attribute_name(), Some("expires"));

    let put = |id: &str, expires: Option<i64>| {
        let mut req = db
            .put_item()
            .table_name("sessions")
            .item("id", Av::S(id.into()));
        if let Some(e) = expires {
            req = req.item("expires", Av::N(e.to_string()));
        }
        req.send()
    };
    put("gone", Some(now() - 60)).await.unwrap();
    put("live", Some(now() + 3600)).await.unwrap();
    put("forever", None).await.unwrap();

    let got = db
        .get_item()
        .table_name("sessions")
        .key("id", Av::S("gone".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(got.item.is_none(), "an expired item is invisible at once");
    let scan = db.scan().table_name("sessions").send().await.unwrap();
    assert_eq!(scan.count, 2);

    // The sweeper removes it for real: the table's item count drops to 2.
    let mut swept = false;
    for _ in 0..100 {
        let desc = db
            .describe_table()
            .table_name("sessions")
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        if desc.item_count() == Some(2) {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(swept, "the sweeper deletes expired items");

    // An expired item does not block a conditional create.
    put("soon", Some(now() - 1)).await.unwrap();
    db.put_item()
        .table_name("sessions")
        .item("id", Av::S("soon".into()))
        .condition_expression("attribute_not_exists(id)")
        .send()
        .await
        .expect("expired items count as absent for conditions");

    db.update_time_to_live()
        .table_name("sessions")
        .time_to_live_specification(ttl(false))
        .send()
        .await
        .unwrap();
    let desc = db
        .describe_time_to_live()
        .table_name("sessions")
        .send()
        .await
        .unwrap();
    assert_eq!(
        desc.time_to_live_description.unwrap().time_to_live_status(),
        Some(&TimeToLiveStatus::Disabled)
    );
}
