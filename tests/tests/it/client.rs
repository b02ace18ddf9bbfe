//! The typed client against a real server, and the same calls through keyfall-dax.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use keyfall::expr::attr;
use keyfall::value::Decimal;
use keyfall::{
    ChangeKind, Client, Collection, Entity, Error, RetryPolicy, SortKey, StartingPosition,
    TableDefinition,
};
use keyfall_tests::{TestProxy, TestServer};
use serde::{Deserialize, Serialize};

#[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(
    table = "accounts",
    pk = "ACCOUNT#{id}",
    sk = "PROFILE",
    index(name = "gsi1", pk = "PLAN#{plan}", sk = "ACCOUNT#{id}")
)]
struct Account {
    id: String,
    name: String,
    /// Sparse: accounts without a plan are not in gsi1.
    plan: Option<String>,
    balance: Decimal,
    #[serde(
        default,
        with = "keyfall::value::sets::string",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    tags: BTreeSet<String>,
    #[serde(default)]
    logins: u64,
    #[keyfall(version)]
    version: u64,
    #[keyfall(created_at)]
    created_at: Option<u64>,
    #[keyfall(updated_at)]
    updated_at: Option<u64>,
}

#[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(table = "accounts", pk = "ACCOUNT#{account}", sk = "EVENT#{seq}")]
struct Event {
    account: String,
    seq: String,
    kind: String,
}

/// No version or timestamps: the same update sent twice is the same request.
#[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(table = "accounts", pk = "COUNTER#{name}", sk = "COUNTER")]
struct Counter {
    name: String,
    count: u64,
}

#[derive(Collection, Debug)]
enum AccountView {
    Account(Account),
    Event(Event),
}

fn account(id: &str, plan: Option<&str>) -> Account {
    Account {
        id: id.into(),
        name: format!("Account {id}"),
        plan: plan.map(str::to_string),
        balance: "12345678901234567890.123456789012345678"
            .parse()
            .expect("decimal"),
        tags: ["a".to_string(), "b".to_string()].into(),
        logins: 0,
        version: 0,
        created_at: None,
        updated_at: None,
    }
}

async fn create_tables(client: &Client) {
    let table = TableDefinition::new("accounts")
        .entity::<Account>()
        .entity::<Event>()
        .stream("NEW_AND_OLD_IMAGES");
    assert!(client.create_table(&table).await.expect("create table"));
    assert!(!client.create_table(&table).await.expect("exists already"));
}

/// Entity reads and writes, optimistic locking, conditions: run against the server and
/// through the proxy.
async fn entity_lifecycle(client: &Client) {
    let created = client
        .create(account("1", Some("pro")))
        .await
        .expect("create");
    assert_eq!(created.version, 1);
    assert!(created.created_at.is_some() && created.updated_at.is_some());
    let read = client
        .get(Account::key("1"))
        .consistent()
        .await
        .expect("get");
    assert_eq!(
        read.as_ref(),
        Some(&created),
        "38-digit decimal and string set round-trip"
    );

    match client.create(account("1", None)).await {
        Err(Error::ConditionalCheckFailed { .. }) => {}
        other => panic!("create of an existing entity: {other:?}"),
    }
    match client.replace(account("missing", None)).await {
        Err(Error::ConditionalCheckFailed { .. }) => {}
        other => panic!("replace of a missing entity: {other:?}"),
    }

    // Optimistic locking: a write from a stale copy fails and carries the stored item.
    let newer = client
        .put(Account {
            name: "renamed".into(),
            ..created.clone()
        })
        .await
        .expect("put");
    assert_eq!(newer.version, 2);
    match client
        .put(created.clone())
        .return_old_on_condition_failure()
        .await
    {
        Err(Error::ConditionalCheckFailed {
            item: Some(item), ..
        }) => {
            let stored: Account = keyfall::value::from_item(*item).expect("old item decodes");
            assert_eq!(stored.name, "renamed");
        }
        other => panic!("stale put: {other:?}"),
    }

    // Typed updates: counters, sets, conditions, versions.
    let a = Account::attrs();
    let updated = client
        .update(
            Account::key("1"),
            a.logins
                .increment(3u64)
                .and(a.name.set("updated"))
                .and(a.plan.remove()),
        )
        .condition(a.logins.eq(0u64))
        .expect_version(2)
        .await
        .expect("update");
    assert_eq!(
        (updated.logins, updated.version, updated.plan.as_deref()),
        (3, 3, None)
    );
    assert_eq!(updated.name, "updated");
    match client
        .update(Account::key("1"), a.logins.increment(1u64))
        .expect_version(2)
        .await
    {
        Err(Error::ConditionalCheckFailed { .. }) => {}
        other => panic!("update at a stale version: {other:?}"),
    }
    match client
        .update(Account::key("nobody"), a.logins.increment(1u64))
        .await
    {
        Err(Error::ConditionalCheckFailed { .. }) => {}
        other => panic!("update of a missing entity without upsert: {other:?}"),
    }

    let deleted = client
        .delete(Account::key("1"))
        .expect_version(3)
        .await
        .expect("delete");
    assert_eq!(deleted.map(|d| d.logins), Some(3));
    assert_eq!(client.get(Account::key("1")).await.expect("get"), None);
    assert_eq!(
        client
            .delete(Account::key("1"))
            .await
            .expect("delete again"),
        None
    );
}

#[tokio::test]
async fn entities_against_the_server_and_through_the_proxy() {
    let server = TestServer::start().await;
    let client = server.client();
    create_tables(&client).await;
    entity_lifecycle(&client).await;

    client.delete_table("accounts").await.expect("delete table");
    let proxy = TestProxy::start(&server, |_| {}).await;
    let through_proxy = proxy.client();
    create_tables(&through_proxy).await;
    entity_lifecycle(&through_proxy).await;
}

#[tokio::test]
async fn queries_stream_pages_and_resume_from_cursors() {
    let server = TestServer::start().await;
    let client = server.client();
    create_tables(&client).await;
    client
        .create(account("7", Some("free")))
        .await
        .expect("account");
    let mut batch = client.batch_write();
    for n in 0..30 {
        batch = batch.put(&Event {
            account: "7".into(),
            seq: format!("{n:03}"),
            kind: "login".into(),
        });
    }
    let output = batch.await.expect("batch write");
    assert!(output.unprocessed.is_empty());

    // Only Events: the entity's sort-key prefix keeps the account item out.
    let events: Vec<Event> = client.query(Event::partition("7")).await.expect("query");
    assert_eq!(events.len(), 30);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));

    let newest: Vec<Event> = client
        .query(Event::partition("7"))
        .descending()
        .limit(5)
        .await
        .expect("descending");
    assert_eq!(
        newest.iter().map(|e| e.seq.as_str()).collect::<Vec<_>>(),
        ["029", "028", "027", "026", "025"]
    );

    let between: Vec<Event> = client
        .query(Event::partition("7"))
        .sort(SortKey::Between("EVENT#010".into(), "EVENT#019".into()))
        .await
        .expect("between");
    assert_eq!(between.len(), 10);

    // Pages of 8 with opaque cursors, resumed by a new query.
    let first = client
        .query(Event::partition("7"))
        .page_size(8)
        .first_page()
        .await
        .expect("page");
    assert_eq!(first.items.len(), 8);
    let cursor = first.cursor.expect("more pages");
    let cursor: keyfall::Cursor = cursor.to_string().parse().expect("cursor parses back");
    let rest: Vec<Event> = client
        .query(Event::partition("7"))
        .page_size(8)
        .after(cursor)
        .await
        .expect("rest");
    assert_eq!(rest.len(), 22);
    assert_eq!(rest[0].seq, "008");
    let pages: Vec<_> = client
        .query(Event::partition("7"))
        .page_size(8)
        .pages()
        .collect()
        .await;
    assert!(pages.len() >= 4);
    assert!("not a cursor".parse::<keyfall::Cursor>().is_err());

    // One query of the partition reads both kinds as a collection.
    let view: Vec<AccountView> = client
        .query_collection::<AccountView, _>(Account::partition("7"))
        .await
        .expect("collection");
    let mut kinds = (Vec::new(), 0);
    for item in &view {
        match item {
            AccountView::Account(a) => kinds.0.push(a.id.clone()),
            AccountView::Event(e) => {
                assert_eq!(e.account, "7");
                kinds.1 += 1;
            }
        }
    }
    assert_eq!(kinds, (vec!["7".to_string()], 30));

    // The sparse index holds only accounts with a plan.
    client
        .create(account("8", None))
        .await
        .expect("planless account");
    let free: Vec<Account> = client
        .query(Account::gsi1_partition("free"))
        .await
        .expect("gsi1");
    assert_eq!(
        free.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["7"]
    );

    // Scans: only the entity's own kind; parallel segments see every item once.
    let accounts: Vec<Account> = client.scan::<Account>().await.expect("scan");
    assert_eq!(accounts.len(), 2);
    let mut parallel: Vec<Event> = client
        .scan::<Event>()
        .segments(4)
        .await
        .expect("parallel scan");
    parallel.sort_by(|a, b| a.seq.cmp(&b.seq));
    assert_eq!(parallel, events);
    let filtered: Vec<Event> = client
        .scan::<Event>()
        .filter(Event::attrs().seq.begins_with("00"))
        .await
        .expect("filtered scan");
    assert_eq!(filtered.len(), 10);
}

#[tokio::test]
async fn batches_chunk_and_transactions_report_reasons() {
    let server = TestServer::start().await;
    let client = server.client();
    create_tables(&client).await;
    // 260 writes: 11 BatchWriteItem requests of at most 25.
    let mut batch = client.batch_write();
    for n in 0..260 {
        batch = batch.put(&Event {
            account: "b".into(),
            seq: format!("{n:04}"),
            kind: "k".into(),
        });
    }
    assert!(batch.await.expect("batch write").unprocessed.is_empty());
    // 260 keys plus 5 absent ones: 3 BatchGetItem requests of at most 100.
    let keys = (0..265).map(|n| Event::key("b", format!("{n:04}")));
    let output = client.batch_get(keys).await.expect("batch get");
    assert_eq!(output.items.len(), 260);
    assert!(output.unprocessed.is_empty());

    // A transaction of entity operations, one of which fails its condition.
    client.create(account("t1", None)).await.expect("t1");
    let result = client
        .transaction()
        .create(account("t2", None))
        .return_old_on_condition_failure()
        .create(account("t1", None))
        .await;
    match result {
        Err(Error::TransactionCanceled { reasons, .. }) => {
            let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
            assert_eq!(codes, ["None", "ConditionalCheckFailed"]);
            assert!(
                reasons[1].item.is_some(),
                "the failed check returns the stored item"
            );
        }
        other => panic!("transaction: {other:?}"),
    }
    assert_eq!(
        client.get(Account::key("t2")).await.expect("get"),
        None,
        "nothing applied"
    );

    // The same token twice applies once; a different transaction under it is refused.
    client
        .create(Counter {
            name: "c".into(),
            count: 0,
        })
        .await
        .expect("counter");
    let count = Counter::attrs().count;
    for _ in 0..2 {
        client
            .transaction()
            .update(Counter::key("c"), count.increment(1u64))
            .token("token-1")
            .await
            .expect("idempotent transaction");
    }
    let counter = client
        .get(Counter::key("c"))
        .await
        .expect("get")
        .expect("counter");
    assert_eq!(counter.count, 1);
    match client
        .transaction()
        .update(Counter::key("c"), count.increment(2u64))
        .token("token-1")
        .await
    {
        Err(Error::IdempotentParameterMismatch { .. }) => {}
        other => panic!("reused token: {other:?}"),
    }
    let t1 = client
        .get(Account::key("t1"))
        .await
        .expect("get")
        .expect("t1");
    client
        .transaction()
        .check_version(Account::key("t1"), t1.version)
        .put(Event {
            account: "t1".into(),
            seq: "1".into(),
            kind: "checked".into(),
        })
        .await
        .expect("check and put");
}

#[tokio::test]
async fn the_change_feed_streams_typed_events() {
    let server = TestServer::start().await;
    let client = server.client();
    create_tables(&client).await;
    let mut feed = client
        .changes::<Account>()
        .from(StartingPosition::TrimHorizon)
        .stream();
    client.create(account("c", None)).await.expect("create");
    client
        .put(Event {
            account: "c".into(),
            seq: "1".into(),
            kind: "other kind".into(),
        })
        .await
        .expect("event");
    client
        .update(Account::key("c"), Account::attrs().logins.increment(1u64))
        .await
        .expect("update");
    client.delete(Account::key("c")).await.expect("delete");

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let change = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .expect("a change within 10 s")
            .expect("feed open")
            .expect("change");
        seen.push(change);
    }
    let kinds: Vec<ChangeKind> = seen.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ChangeKind::Insert, ChangeKind::Modify, ChangeKind::Remove]
    );
    assert_eq!(seen[1].old.as_ref().map(|a| a.logins), Some(0));
    assert_eq!(seen[1].new.as_ref().map(|a| a.logins), Some(1));
    assert!(seen[2].new.is_none() && seen[2].old.is_some());

    // Resuming after the first change replays the rest.
    let mut resumed = client
        .changes::<Account>()
        .after(seen[0].sequence_number.clone())
        .stream();
    let next = resumed.next().await.expect("open").expect("change");
    assert_eq!(next.sequence_number, seen[1].sequence_number);
}

#[tokio::test]
async fn errors_are_typed_and_failures_retried() {
    let server = TestServer::start().await;
    let client = server.client();
    match client.get(Account::key("x")).await {
        Err(e @ Error::ResourceNotFound { .. }) => {
            assert_eq!(e.error_type(), Some("ResourceNotFoundException"));
            assert!(!e.is_retryable());
        }
        other => panic!("missing table: {other:?}"),
    }
    let wrong_secret = Client::builder()
        .endpoint(format!("http://{}", server.grpc_addr))
        .credentials(keyfall::Credentials::new(
            keyfall_tests::ROOT_ACCESS_KEY_ID,
            "wrong",
        ))
        .build()
        .expect("client");
    match wrong_secret.get(Account::key("x")).await {
        Err(Error::InvalidSignature { .. }) => {}
        other => panic!("bad signature: {other:?}"),
    }

    // Nothing listens: connection refused is retried, then reported as a transport error.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = unused.local_addr().expect("addr").port();
    drop(unused);
    let nowhere = Client::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        })
        .build()
        .expect("client");
    match nowhere.get(Account::key("x")).await {
        Err(e @ Error::Transport { .. }) => assert!(e.is_retryable()),
        other => panic!("no server: {other:?}"),
    }

    // A client outlives a server restart: it reconnects on the next call.
    create_tables(&client).await;
    client.create(account("r", None)).await.expect("create");
    let server = server.restart().await;
    let found = client.get(Account::key("r")).await.expect("after restart");
    assert_eq!(found.map(|a| a.id), Some("r".to_string()));
    drop(server);
}

#[tokio::test]
async fn an_embedded_server_serves_the_client() {
    let server = keyfall::embedded::EmbeddedServer::start()
        .await
        .expect("embedded");
    let client = server.client().expect("client");
    client
        .create_table(&TableDefinition::of::<Event>())
        .await
        .expect("table");
    client
        .put(Event {
            account: "e".into(),
            seq: "1".into(),
            kind: "embedded".into(),
        })
        .await
        .expect("put");
    let events: Vec<Event> = client.query(Event::partition("e")).await.expect("query");
    assert_eq!(events.len(), 1);
    let raw = client
        .query_items(
            "accounts",
            keyfall::expr::KeyCondition::partition(attr::<String>("pk"), "ACCOUNT#e"),
        )
        .await
        .expect("raw query");
    assert_eq!(raw.len(), 1);
    server.stop().await;
}

/// PartiQL through the typed client: parameters from Rust values, pages, entities and
/// plain structs out, transactions of statements, typed errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partiql_statements_through_the_client() {
    let server = TestServer::start().await;
    let client = server.client();
    create_tables(&client).await;
    for i in 0..12 {
        client
            .execute("INSERT INTO accounts VALUE {'pk': ?, 'sk': ?, 'kind': 'login', 'n': ?}")
            .param("ACCOUNT#p")
            .param(format!("EVENT#{i:02}"))
            .param(i)
            .await
            .expect("insert");
    }
    client.put(account("p", Some("gold"))).await.expect("put");
    // Pages, and every page at once.
    let first = client
        .execute("SELECT * FROM accounts WHERE pk = ? AND begins_with(sk, 'EVENT#')")
        .param("ACCOUNT#p")
        .limit(5)
        .await
        .expect("page");
    assert_eq!(first.items.len(), 5);
    assert!(first.next_token.is_some());
    let all = client
        .execute("SELECT * FROM accounts WHERE pk = ? AND begins_with(sk, 'EVENT#')")
        .param("ACCOUNT#p")
        .limit(5)
        .all()
        .await
        .expect("all pages");
    assert_eq!(all.len(), 12);
    // Entities out of a SELECT, and plain structs out of its columns.
    let accounts: Vec<Account> = client
        .execute("SELECT * FROM accounts WHERE pk = 'ACCOUNT#p' AND sk = 'PROFILE'")
        .await
        .expect("select")
        .entities()
        .expect("entities");
    assert_eq!(accounts[0].plan.as_deref(), Some("gold"));
    #[derive(Deserialize)]
    struct Row {
        n: u32,
    }
    let rows: Vec<Row> = client
        .execute("SELECT n FROM accounts WHERE pk = 'ACCOUNT#p' AND sk > 'EVENT#09' AND begins_with(sk, 'EVENT#')")
        .await
        .expect("select")
        .values()
        .expect("rows");
    assert_eq!(rows.iter().map(|r| r.n).collect::<Vec<_>>(), [10, 11]);
    // A transaction of statements, then a read transaction.
    client
        .statements()
        .statement("UPDATE accounts SET n = n + ? WHERE pk = 'ACCOUNT#p' AND sk = 'EVENT#00'")
        .param(100)
        .statement("DELETE FROM accounts WHERE pk = 'ACCOUNT#p' AND sk = 'EVENT#01'")
        .await
        .expect("transaction");
    let got = client
        .statements()
        .statement("SELECT n FROM accounts WHERE pk = 'ACCOUNT#p' AND sk = 'EVENT#00'")
        .statement("SELECT n FROM accounts WHERE pk = 'ACCOUNT#p' AND sk = 'EVENT#01'")
        .await
        .expect("read transaction");
    assert_eq!(got.len(), 2);
    assert!(got[0].is_some() && got[1].is_none());
    // Errors are the typed client's.
    let e = client
        .execute("INSERT INTO accounts VALUE {'pk': 'ACCOUNT#p', 'sk': 'PROFILE'}")
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), Some("DuplicateItemException"));
    let e = client
        .execute("UPDATE accounts SET n = 1 WHERE pk = 'ACCOUNT#p' AND sk = 'EVENT#02' AND n = 5")
        .return_old_on_condition_failure()
        .await
        .unwrap_err();
    match e {
        keyfall::Error::ConditionalCheckFailed { item, .. } => assert!(item.is_some()),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}
