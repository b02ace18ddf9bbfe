//! End-to-end tests of the `keyfall` binary: each test starts a real server in-process and
//! runs the binary as a child process against it.
// Test code: the workspace lints deny these in library code only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value as Json};

const ACCESS_KEY_ID: &str = "AKIAKEYFALLCLITEST00";
const SECRET_ACCESS_KEY: &str = "keyfall-cli-test-secret";

struct Server {
    grpc_addr: SocketAddr,
    shutdown: tokio::sync::watch::Sender<bool>,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let (shutdown, rx) = tokio::sync::watch::channel(false);
        let grpc_addr = runtime.block_on(async {
            let http = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let grpc_addr = grpc.local_addr().expect("addr");
            let config = keyfall_server::Config {
                data_dir,
                http_listen: http.local_addr().expect("addr"),
                grpc_listen: grpc_addr,
                root_access_key_id: Some(ACCESS_KEY_ID.into()),
                root_secret_access_key: Some(SECRET_ACCESS_KEY.into()),
                ..Default::default()
            };
            tokio::spawn(keyfall_server::run(
                config,
                keyfall_server::Listeners { http, grpc },
                rx,
            ));
            grpc_addr
        });
        for _ in 0..500 {
            if std::net::TcpStream::connect(grpc_addr).is_ok() {
                return Server {
                    grpc_addr,
                    shutdown,
                    runtime,
                    dir,
                };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the server did not start");
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyfall"));
        command
            .args(args)
            .env("KEYFALL_ENDPOINT", format!("http://{}", self.grpc_addr))
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(Stdio::null());
        command
    }

    /// Runs `keyfall args...`.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run keyfall")
    }

    /// Runs `keyfall args...`, which must succeed, and returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "keyfall {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }

    /// Runs `keyfall args...`, which must fail with `code`, and returns its standard error.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "keyfall {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stderr).expect("utf-8 output")
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The client library against the same server, for checks the CLI does not print.
    fn client(&self) -> keyfall::Client {
        keyfall::Client::builder()
            .endpoint(format!("http://{}", self.grpc_addr))
            .credentials(keyfall::Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY))
            .build()
            .expect("client")
    }

    /// Every item of the table, one JSON text each, as `item scan` prints them.
    fn scan(&self, table: &str, output: &str) -> BTreeSet<String> {
        self.ok(&["item", "scan", table, "--output", output])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.runtime.block_on(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
        });
    }
}

fn json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Equal sets, showing only the differences when not.
#[track_caller]
fn assert_same(left: &BTreeSet<String>, right: &BTreeSet<String>) {
    let only_left: Vec<_> = left.difference(right).take(3).collect();
    let only_right: Vec<_> = right.difference(left).take(3).collect();
    assert!(
        only_left.is_empty() && only_right.is_empty(),
        "{} vs {} lines; only left: {only_left:#?}\nonly right: {only_right:#?}",
        left.len(),
        right.len()
    );
}

fn lines(text: &str) -> Vec<Json> {
    text.lines().map(json).collect()
}

#[test]
fn table_commands_create_describe_list_and_delete() {
    let server = Server::start();
    let created = json(&server.ok(&[
        "table",
        "create",
        "orders",
        "--pk",
        "customer:S",
        "--sk",
        "placed:N",
        "--gsi",
        "byStatus:status:S:placed:N",
        "--gsi",
        "bySku:sku:S",
        "--stream",
        "new_and_old_images",
        "--ttl",
        "expires",
    ]));
    let description = &created["TableDescription"];
    assert_eq!(description["TableName"], "orders");
    assert_eq!(description["TableStatus"], "ACTIVE");
    assert_eq!(
        description["KeySchema"],
        json!([
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "placed", "KeyType": "RANGE"}
        ])
    );
    assert_eq!(
        description["BillingModeSummary"]["BillingMode"],
        "PAY_PER_REQUEST"
    );
    assert_eq!(
        description["StreamSpecification"],
        json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    );
    let mut definitions: Vec<String> = description["AttributeDefinitions"]
        .as_array()
        .expect("definitions")
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d["AttributeName"].as_str().unwrap_or(""),
                d["AttributeType"].as_str().unwrap_or("")
            )
        })
        .collect();
    definitions.sort();
    assert_eq!(definitions, ["customer:S", "placed:N", "sku:S", "status:S"]);

    server.ok(&["table", "create", "audit", "--pk", "id:B"]);

    let described = json(&server.ok(&["table", "describe", "orders"]));
    let table = &described["Table"];
    assert_eq!(table["TableName"], "orders");
    let mut indexes: Vec<(String, Json)> = table["GlobalSecondaryIndexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .map(|i| {
            (
                i["IndexName"].as_str().unwrap_or("").to_string(),
                i["KeySchema"].clone(),
            )
        })
        .collect();
    indexes.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        indexes,
        [
            (
                "bySku".to_string(),
                json!([{"AttributeName": "sku", "KeyType": "HASH"}])
            ),
            (
                "byStatus".to_string(),
                json!([
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "placed", "KeyType": "RANGE"}
                ])
            ),
        ]
    );
    assert!(table["LatestStreamArn"].is_string(), "{table}");

    let ttl = server.runtime.block_on(async {
        server
            .client()
            .grpc()
            .describe_time_to_live(keyfall::proto::v1::DescribeTimeToLiveRequest {
                table_name: "orders".into(),
            })
            .await
            .expect("DescribeTimeToLive")
            .into_inner()
            .time_to_live_description
            .expect("description")
    });
    assert_eq!(ttl.attribute_name.as_deref(), Some("expires"));

    assert_eq!(server.ok(&["table", "list"]), "audit\norders\n");
    server.ok(&["table", "delete", "orders"]);
    assert_eq!(server.ok(&["table", "list"]), "audit\n");

    // A missing table is the service's error, named, with exit status 1.
    for args in [
        &["table", "describe", "orders"][..],
        &["table", "delete", "orders"],
        &["item", "get", "orders", r#"{"customer":"c","placed":1}"#],
        &["item", "scan", "orders"],
        &["export", "orders"],
    ] {
        let stderr = server.fails(1, args);
        assert!(
            stderr.starts_with("error: ResourceNotFoundException: "),
            "{args:?}: {stderr}"
        );
    }

    // Usage errors are clap's: exit status 2.
    for args in [
        &["table", "create", "x", "--pk", "id"][..],
        &["table", "create", "x", "--pk", "id:X"],
        &["table", "create", "x", "--pk", "id:S", "--gsi", "g:a"],
        &[
            "table",
            "create",
            "x",
            "--pk",
            "id:S",
            "--stream",
            "SOMETIMES",
        ],
        &["item", "get", "audit"],
        &["item", "put", "audit", "{}", "--json-format", "xml"],
        &["nonsense"],
    ] {
        server.fails(2, args);
    }
    // A key attribute declared with two types is refused before any request.
    let stderr = server.fails(
        1,
        &["table", "create", "x", "--pk", "id:S", "--gsi", "g:id:N"],
    );
    assert!(stderr.contains("declared as both S and N"), "{stderr}");
}

#[test]
fn item_commands_read_and_write_plain_and_typed_json() {
    let server = Server::start();
    server.ok(&[
        "table",
        "create",
        "things",
        "--pk",
        "pk:S",
        "--sk",
        "sk:N",
        "--gsi",
        "byName:name:S",
    ]);

    // Plain JSON in and out.
    server.ok(&[
        "item",
        "put",
        "things",
        r#"{"pk":"a","sk":1,"name":"first","price":12.5,"tags":["x",2],"info":{"ok":true,"none":null}}"#,
    ]);
    let got = server.ok(&[
        "item",
        "get",
        "things",
        r#"{"pk":"a","sk":1}"#,
        "--consistent",
    ]);
    assert_eq!(
        got,
        "{\"info\":{\"none\":null,\"ok\":true},\"name\":\"first\",\"pk\":\"a\",\"price\":12.5,\"sk\":1,\"tags\":[\"x\",2]}\n"
    );

    // Typed JSON in and out, from a file, with the types plain JSON cannot say.
    let typed = r#"{"pk":{"S":"a"},"sk":{"N":"2"},"name":{"S":"second"},"blob":{"B":"AAEC"},"colors":{"SS":["blue","red"]},"sizes":{"NS":["1","2"]},"parts":{"BS":["AQ=="]}}"#;
    let file = server.path("item.json");
    std::fs::write(&file, typed).expect("write item");
    server.ok(&[
        "item",
        "put",
        "things",
        &format!("@{file}"),
        "--json-format",
        "dynamodb",
    ]);
    let got = json(&server.ok(&[
        "item",
        "get",
        "things",
        r#"{"pk":{"S":"a"},"sk":{"N":"2"}}"#,
        "--json-format",
        "dynamodb",
        "--output",
        "dynamodb",
    ]));
    assert_eq!(got["blob"], json!({"B": "AAEC"}));
    assert_eq!(got["parts"], json!({"BS": ["AQ=="]}));
    assert_eq!(got["name"], json!({"S": "second"}));
    let colors: BTreeSet<&str> = got["colors"]["SS"]
        .as_array()
        .expect("SS")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    assert_eq!(colors, BTreeSet::from(["blue", "red"]));
    // The same item in plain JSON: sets as arrays, binary as base64.
    let plain = json(&server.ok(&["item", "get", "things", r#"{"pk":"a","sk":2}"#]));
    assert_eq!(plain["blob"], "AAEC");
    assert_eq!(plain["parts"], json!(["AQ=="]));

    for sk in 3..=6 {
        server.ok(&[
            "item",
            "put",
            "things",
            &format!(r#"{{"pk":"a","sk":{sk},"name":"n{sk}"}}"#),
        ]);
    }
    server.ok(&[
        "item",
        "put",
        "things",
        r#"{"pk":"b","sk":1,"name":"other"}"#,
    ]);

    let sks = |out: String| -> Vec<i64> {
        lines(&out)
            .iter()
            .map(|item| item["sk"].as_i64().expect("sk"))
            .collect()
    };
    let query = |extra: &[&str]| {
        let mut args = vec!["item", "query", "things", "--key-condition", "pk = :p"];
        args.extend_from_slice(extra);
        if !extra.contains(&"--values") {
            args.extend(["--values", r#"{":p":"a"}"#]);
        }
        server.ok(&args)
    };
    assert_eq!(sks(query(&[])), [1, 2, 3, 4, 5, 6]);
    assert_eq!(sks(query(&["--descending"])), [6, 5, 4, 3, 2, 1]);
    assert_eq!(sks(query(&["--limit", "2"])), [1, 2]);
    assert_eq!(sks(query(&["--limit", "2", "--descending"])), [6, 5]);
    // Pagination past a filter: the filter drops items within pages.
    assert_eq!(
        sks(query(&[
            "--filter",
            "#n <> :skip",
            "--names",
            r##"{"#n":"name"}"##,
            "--values",
            r#"{":p":"a",":skip":"n4"}"#,
            "--limit",
            "4"
        ])),
        [1, 2, 3, 5]
    );
    let typed_query = server.ok(&[
        "item",
        "query",
        "things",
        "--key-condition",
        "pk = :p AND sk BETWEEN :lo AND :hi",
        "--values",
        r#"{":p":{"S":"a"},":lo":{"N":"2"},":hi":{"N":"3"}}"#,
        "--json-format",
        "dynamodb",
        "--output",
        "dynamodb",
        "--projection",
        "sk",
    ]);
    assert_eq!(
        typed_query,
        "{\"sk\":{\"N\":\"2\"}}\n{\"sk\":{\"N\":\"3\"}}\n"
    );
    let by_name = server.ok(&[
        "item",
        "query",
        "things",
        "--index",
        "byName",
        "--key-condition",
        "#n = :n",
        "--names",
        r##"{"#n":"name"}"##,
        "--values",
        r#"{":n":"other"}"#,
    ]);
    assert_eq!(by_name, "{\"name\":\"other\",\"pk\":\"b\",\"sk\":1}\n");

    let all = lines(&server.ok(&["item", "scan", "things"]));
    assert_eq!(all.len(), 7);
    assert_eq!(
        lines(&server.ok(&["item", "scan", "things", "--limit", "3"])).len(),
        3
    );
    let filtered = server.ok(&[
        "item",
        "scan",
        "things",
        "--filter",
        "pk = :p",
        "--values",
        r#"{":p":"b"}"#,
    ]);
    assert_eq!(filtered, "{\"name\":\"other\",\"pk\":\"b\",\"sk\":1}\n");

    // Conditions, and the service's error for a failed one.
    let stderr = server.fails(
        1,
        &[
            "item",
            "put",
            "things",
            r#"{"pk":"b","sk":1}"#,
            "--condition",
            "attribute_not_exists(pk)",
        ],
    );
    assert!(
        stderr.starts_with("error: ConditionalCheckFailedException: "),
        "{stderr}"
    );
    server.ok(&[
        "item",
        "delete",
        "things",
        r#"{"pk":"b","sk":1}"#,
        "--condition",
        "#n = :n",
        "--names",
        r##"{"#n":"name"}"##,
        "--values",
        r#"{":n":"other"}"#,
    ]);
    let stderr = server.fails(1, &["item", "get", "things", r#"{"pk":"b","sk":1}"#]);
    assert_eq!(stderr, "error: no item with that key\n");
    // A key of the wrong type is the service's validation error.
    let stderr = server.fails(1, &["item", "get", "things", r#"{"pk":"a","sk":"1"}"#]);
    assert!(
        stderr.starts_with("error: ValidationException: "),
        "{stderr}"
    );
    // Bad JSON arguments name the argument.
    let stderr = server.fails(1, &["item", "put", "things", "{pk"]);
    assert!(
        stderr.starts_with("error: the item is not valid JSON: "),
        "{stderr}"
    );
    let stderr = server.fails(
        1,
        &[
            "item",
            "put",
            "things",
            r#"{"pk":{"Q":"a"}}"#,
            "--json-format",
            "dynamodb",
        ],
    );
    assert!(stderr.contains(r#"pk: unknown type tag "Q""#), "{stderr}");
}

/// A DynamoDB JSON item with every attribute type, different for each `i`.
fn every_type_item(i: usize) -> Json {
    let bytes = |seed: usize| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([
            (seed % 256) as u8,
            (seed / 256) as u8,
            7,
        ])
    };
    json!({
        "pk": {"S": format!("p{}", i % 37)},
        "sk": {"N": i.to_string()},
        "s": {"S": format!("text \"{i}\", ünïcode, {}", "x".repeat(i % 50))},
        "n": {"N": format!("{i}.25")},
        "neg": {"N": format!("-{}", i * 1_000_003 + 1)},
        "b": {"B": bytes(i)},
        "ss": {"SS": [format!("a{i}"), "b".to_string()]},
        "ns": {"NS": ["1".to_string(), format!("{}", i + 2)]},
        "bs": {"BS": [bytes(i), bytes(i + 70_000)]},
        "m": {"M": {
            "inner": {"S": "v"},
            "deep": {"M": {"list": {"L": [{"N": i.to_string()}, {"NULL": true}]}}},
        }},
        "l": {"L": [{"S": "x"}, {"N": "1"}, {"BOOL": i.is_multiple_of(2)}, {"NULL": true}, {"M": {}}, {"L": []}]},
        "nil": {"NULL": true},
        "flag": {"BOOL": i.is_multiple_of(3)},
        "empty": {"S": ""},
    })
}

#[test]
fn jsonl_export_and_import_round_trip_every_attribute_type() {
    let server = Server::start();
    let create = ["table", "create", "big", "--pk", "pk:S", "--sk", "sk:N"];
    server.ok(&create);
    const COUNT: usize = 1234;
    let seed = server.path("seed.jsonl");
    let mut text = String::new();
    for i in 0..COUNT {
        // The first form is DynamoDB's export shape; bare typed items are accepted too.
        let line = if i % 5 == 0 {
            every_type_item(i)
        } else {
            json!({ "Item": every_type_item(i) })
        };
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(&seed, text).expect("write seed");
    let output = server.run(&["import", "big", "--input", &seed, "--concurrency", "3"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("imported {COUNT} items into big")),
        "{stderr}"
    );

    let before_plain = server.scan("big", "plain");
    let before_typed = server.scan("big", "dynamodb");
    assert_eq!(before_plain.len(), COUNT);
    assert_eq!(before_typed.len(), COUNT);
    // What was imported is what the file said.
    let expected: BTreeSet<String> = (0..COUNT)
        .map(|i| {
            let item = keyfall::value::json::item_from_json(&every_type_item(i)).expect("item");
            keyfall::value::json::item_to_plain_json(&item).to_string()
        })
        .collect();
    assert_same(&before_plain, &expected);

    let export = server.path("big.jsonl");
    server.ok(&["export", "big", "--output", &export, "--segments", "3"]);
    let exported = std::fs::read_to_string(&export).expect("read export");
    assert_eq!(exported.lines().count(), COUNT);
    for line in exported.lines() {
        let line = json(line);
        let object = line.as_object().expect("object");
        assert_eq!(object.keys().collect::<Vec<_>>(), ["Item"], "{line}");
    }
    // To standard output, one segment: the same lines.
    let to_stdout = server.ok(&["export", "big", "--segments", "1"]);
    assert_eq!(
        to_stdout.lines().collect::<BTreeSet<_>>(),
        exported.lines().collect::<BTreeSet<_>>()
    );

    server.ok(&["table", "delete", "big"]);
    server.ok(&create);
    assert!(server.scan("big", "plain").is_empty());
    // From standard input this time.
    let mut import = server.command(&["import", "big"]);
    import.stdin(std::fs::File::open(&export).expect("open export"));
    let output = import.output().expect("run import");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    assert_same(&server.scan("big", "plain"), &before_plain);
    assert_same(&server.scan("big", "dynamodb"), &before_typed);
}

#[test]
fn csv_export_and_import_round_trip_a_flat_table() {
    let server = Server::start();
    let create = ["table", "create", "people", "--pk", "id:S", "--sk", "age:N"];
    server.ok(&create);
    let mut text = String::new();
    for i in 0..300 {
        let mut item = json!({"id": format!("u{i}"), "age": i % 90, "score": json(&format!("{i}.5")), "name": format!("name {i}")});
        if i % 4 == 0 {
            item["note"] = json!(format!("has, a comma and \"quotes\"\nand a newline {i}"));
        }
        if i % 7 == 0 {
            item["count"] = json!(i * 1000);
        }
        text.push_str(&item.to_string());
        text.push('\n');
    }
    // Plain JSON items go in with `item put` one by one here; `import` takes typed JSON.
    for line in text.lines().take(5) {
        server.ok(&["item", "put", "people", line]);
    }
    let typed: String = text
        .lines()
        .skip(5)
        .map(|line| {
            let item = keyfall::value::json::item_from_plain_json(&json(line)).expect("item");
            format!(
                "{}\n",
                json!({"Item": keyfall::value::json::item_to_json(&item)})
            )
        })
        .collect();
    let seed = server.path("seed.jsonl");
    std::fs::write(&seed, typed).expect("write seed");
    server.ok(&["import", "people", "--input", &seed]);
    let before = server.scan("people", "plain");
    assert_eq!(before.len(), 300);
    // N attributes read back as JSON numbers in plain output, so the CSV must give them back as N.
    assert!(before.iter().any(|line| line.contains("\"score\":0.5")));

    let export = server.path("people.csv");
    server.ok(&["export", "people", "--format", "csv", "--output", &export]);
    let csv_text = std::fs::read_to_string(&export).expect("read csv");
    assert_eq!(
        csv_text.lines().next(),
        Some("id,age,count,name,note,score")
    );

    server.ok(&["table", "delete", "people"]);
    server.ok(&create);
    server.ok(&[
        "import",
        "people",
        "--format",
        "csv",
        "--input",
        &export,
        "--number-columns",
        "score,count",
    ]);
    assert_same(&server.scan("people", "plain"), &before);

    // Without --number-columns, non-key columns come back as strings; key columns keep the
    // table's types.
    server.ok(&["table", "delete", "people"]);
    server.ok(&create);
    server.ok(&["import", "people", "--format", "csv", "--input", &export]);
    let u1 = json(&server.ok(&["item", "get", "people", r#"{"id":"u1","age":1}"#]));
    assert_eq!(
        u1,
        json!({"id": "u1", "age": 1, "score": "1.5", "name": "name 1"})
    );
}

#[test]
fn a_bad_import_line_stops_the_import_and_names_the_line() {
    let server = Server::start();
    server.ok(&["table", "create", "things", "--pk", "pk:S"]);
    let item = |pk: &str| json!({"Item": {"pk": {"S": pk}, "v": {"N": "1"}}}).to_string();
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "{}\n{}\n\n{{not json\n{}\n",
                item("a"),
                item("b"),
                item("c")
            ),
            "error: line 4: invalid JSON: ",
        ),
        (
            format!(
                "{}\n{}\n{{\"Item\":{{\"pk\":{{\"S\":\"x\"}},\"v\":{{\"Z\":\"1\"}}}}}}\n",
                item("a"),
                item("b")
            ),
            "error: line 3: v: unknown type tag \"Z\"",
        ),
        (
            format!(
                "{}\n{}\n{{\"Item\":{{\"v\":{{\"N\":\"1\"}}}}}}\n",
                item("a"),
                item("b")
            ),
            "error: line 3: the item has no key attribute \"pk\"",
        ),
        (
            format!(
                "{}\n{}\n{{\"Item\":{{\"pk\":{{\"N\":\"1\"}}}}}}\n",
                item("a"),
                item("b")
            ),
            "error: line 3: key attribute \"pk\" must be S, found N",
        ),
        (
            format!(
                "{}\n{}\n{{\"Item\":{{\"pk\":{{\"S\":\"x\"}},\"m\":{{\"M\":{{\"v\":{{\"N\":\"1x\"}}}}}}}}}}\n",
                item("a"),
                item("b")
            ),
            "error: line 3: m: v: \"1x\" is not a number",
        ),
        // Found by the server: the batch is retried item by item to find the line, so
        // the lines before it in the same batch are written and the ones after are not.
        (
            format!(
                "{}\n{}\n{{\"Item\":{{\"pk\":{{\"S\":\"x\"}},\"e\":{{\"SS\":[]}}}}}}\n{}\n",
                item("a"),
                item("b"),
                item("c")
            ),
            "error: line 3: ValidationException: ",
        ),
    ];
    for (text, expected) in cases {
        let file = server.path("bad.jsonl");
        std::fs::write(&file, &text).expect("write");
        let stderr = server.fails(1, &["import", "things", "--input", &file]);
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in:\n{stderr}"
        );
        assert!(
            stderr.contains("stopped: 2 items imported into things before the error"),
            "{stderr}"
        );
        // The lines before the bad one were written, the ones after it were not.
        let pks: BTreeSet<String> = lines(&server.ok(&["item", "scan", "things"]))
            .iter()
            .map(|item| item["pk"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(
            pks,
            BTreeSet::from(["a".to_string(), "b".to_string()]),
            "{expected}"
        );
        server.ok(&["item", "delete", "things", r#"{"pk":"a"}"#]);
        server.ok(&["item", "delete", "things", r#"{"pk":"b"}"#]);
    }

    let file = server.path("bad.csv");
    std::fs::write(&file, "pk,v\na,1\nb,2\nc,three\nd,4\n").expect("write");
    let stderr = server.fails(
        1,
        &[
            "import",
            "things",
            "--format",
            "csv",
            "--input",
            &file,
            "--number-columns",
            "v",
        ],
    );
    assert!(
        stderr.contains("error: line 4: column \"v\": \"three\" is not a number"),
        "{stderr}"
    );
    let stderr = server.fails(
        1,
        &[
            "import",
            "things",
            "--format",
            "csv",
            "--input",
            &file,
            "--number-columns",
            "w",
        ],
    );
    assert!(stderr.contains("no column \"w\""), "{stderr}");
    std::fs::write(&file, "pk,v\na,1\nb,2,extra\n").expect("write");
    let stderr = server.fails(
        1,
        &["import", "things", "--format", "csv", "--input", &file],
    );
    assert!(stderr.contains("error: line 3: "), "{stderr}");

    // Importing into a missing table fails before reading anything.
    let stderr = server.fails(1, &["import", "missing", "--input", &file]);
    assert!(
        stderr.starts_with("error: ResourceNotFoundException: "),
        "{stderr}"
    );
    // A missing input file.
    let stderr = server.fails(
        1,
        &["import", "things", "--input", &server.path("nope.jsonl")],
    );
    assert!(stderr.contains("cannot open"), "{stderr}");
}

#[test]
fn admin_commands_still_work() {
    let server = Server::start();
    let out = server.ok(&["admin", "create-user", "alice", "--tag", "team=db"]);
    assert!(out.starts_with("alice\t"), "{out}");
    assert!(server.ok(&["admin", "list-users"]).contains("alice\t"));
    let key = server.ok(&["admin", "create-access-key", "alice"]);
    assert!(key.starts_with("export AWS_ACCESS_KEY_ID="), "{key}");
    server.ok(&["admin", "put-user-policy", "alice", "all", "--document", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}"#]);
    assert_eq!(
        server.ok(&["admin", "list-user-policies", "alice"]),
        "all\n"
    );
    let stderr = server.fails(1, &["admin", "delete-user", "nobody"]);
    assert!(stderr.starts_with("error: "), "{stderr}");
}
