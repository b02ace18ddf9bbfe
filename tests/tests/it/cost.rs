//! `keyfall cost` against a real server: the binary reads the server's `/metrics` while a
//! writer keeps a table busy, and reports the table's write rate, what it would cost in
//! each capacity mode and which is cheaper. Checks the figures are there, never timing.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use keyfall_tests::{new_table, TestServer};
use serde_json::Value;

/// Runs `keyfall cost <args>` off the async runtime (the server runs on it meanwhile).
async fn cost(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(keyfall_tests::keyfall_cli())
            .arg("cost")
            .args(&args)
            .env_remove("KEYFALL_METRICS_URL")
            .output()
            .expect("run keyfall cost")
    })
    .await
    .expect("keyfall cost task")
}

fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn cost_reports_the_observed_writes_of_each_table_and_the_cheaper_mode() {
    // Built first, so the writes below overlap the sampling rather than a compilation.
    tokio::task::spawn_blocking(keyfall_tests::keyfall_cli)
        .await
        .expect("build keyfall");
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "costed", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();

    let writing = Arc::new(AtomicBool::new(true));
    let writer = tokio::spawn({
        let (db, writing) = (db.clone(), writing.clone());
        async move {
            let mut written = 0u64;
            while writing.load(Ordering::Relaxed) {
                db.put_item()
                    .table_name("costed")
                    .item("pk", AttributeValue::S(format!("k{written}")))
                    .item("body", AttributeValue::S("x".repeat(200)))
                    .send()
                    .await
                    .unwrap();
                written += 1;
            }
            written
        }
    });
    let url = format!("http://{}/metrics", server.http_addr);
    let out = cost(&["--metrics-url", &url, "--sample", "2s", "--json"]).await;
    writing.store(false, Ordering::Relaxed);
    let written = writer.await.unwrap();

    assert!(
        out.status.success(),
        "keyfall cost failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(written > 0);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out.stdout)));
    let table = report["tables"]
        .as_array()
        .and_then(|tables| tables.iter().find(|t| t["table"] == "costed"))
        .unwrap_or_else(|| panic!("no table \"costed\" in {report:#}"));
    let number = |key: &str| table[key].as_f64().unwrap_or(-1.0);
    assert!(number("write_units_per_second") > 0.0, "{table:#}");
    assert!(number("on_demand_monthly") > 0.0, "{table:#}");
    assert!(number("provisioned_monthly") > 0.0, "{table:#}");
    assert!(number("storage_gb") > 0.0, "{table:#}");
    let modes = ["on-demand", "provisioned", "either"];
    assert!(
        modes.contains(&table["cheaper"].as_str().unwrap_or("")),
        "{table:#}"
    );
    assert!(
        modes.contains(&report["totals"]["cheaper"].as_str().unwrap_or("")),
        "{report:#}"
    );
    assert_eq!(report["metrics_url"], url.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn cost_of_a_server_without_tables_is_a_message_not_an_error() {
    let server = TestServer::start().await;
    let url = format!("http://{}/metrics", server.http_addr);
    for args in [
        vec!["--metrics-url", &url],
        vec!["--metrics-url", &url, "--json"],
    ] {
        let out = cost(&args).await;
        assert!(
            out.status.success(),
            "{args:?}: {}\nstderr:\n{}",
            out.status,
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("no tables"),
            "{}",
            text(&out.stdout)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cost_names_the_url_it_cannot_reach() {
    // A port nothing listens on any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    drop(listener);
    let out = cost(&["--metrics-url", &url, "--sample", "500ms"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains(&url), "{}", text(&out.stderr));
}
