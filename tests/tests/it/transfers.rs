//! Exports to and imports from the export directory's "S3" folders: DynamoDB's layout,
//! read back with Python's gzip/json after a boto3 export; exports at a past second and
//! incremental ones; imports of DynamoDB JSON, Ion and CSV, gzip and zstd, with DynamoDB's
//! counts; the errors; S3 permissions.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, ExportFormat, ExportStatus, ExportType, ExportViewType, ImportStatus,
    IncrementalExportSpecification, InputCompressionType, InputFormat, KeyType, S3BucketSource,
    ScalarAttributeType, TableCreationParameters,
};
use aws_sdk_dynamodb::Client;
use keyfall_tests::{
    attribute, contents, error_code as code, key_element, mark, new_table, put_all, TestServer,
};

type Item = HashMap<String, Av>;

async fn server() -> TestServer {
    TestServer::start_with(|c| c.incremental_export_min_window = Duration::from_millis(1)).await
}

/// A table keyed by `pk` (S) and `sk` (N) with point-in-time recovery, and the bucket
/// folder `bkt`.
async fn source(server: &TestServer, db: &Client, name: &str) {
    new_table(
        db,
        name,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .send()
    .await
    .unwrap();
    keyfall_tests::enable_pitr(db, name).await;
    std::fs::create_dir_all(server.data_dir.path().join("s3/bkt")).unwrap();
}

fn every_type(pk: &str, sk: i64) -> Item {
    HashMap::from([
        ("pk".into(), Av::S(pk.into())),
        ("sk".into(), Av::N(sk.to_string())),
        ("s".into(), Av::S(format!("text \"{sk}\"\n"))),
        ("n".into(), Av::N("-12.50".into())),
        ("big".into(), Av::N("600".into())),
        ("b".into(), Av::B(vec![0, 1, 2, 255].into())),
        ("t".into(), Av::Bool(true)),
        ("z".into(), Av::Null(true)),
        ("ss".into(), Av::Ss(vec!["x".into(), "y".into()])),
        ("ns".into(), Av::Ns(vec!["1".into(), "2.5".into()])),
        ("bs".into(), Av::Bs(vec![vec![1].into()])),
        (
            "l".into(),
            Av::L(vec![Av::N("1".into()), Av::S("x".into())]),
        ),
        (
            "m".into(),
            Av::M(HashMap::from([("odd name".into(), Av::S("v".into()))])),
        ),
    ])
}

async fn finished_export(db: &Client, arn: &str) -> aws_sdk_dynamodb::types::ExportDescription {
    for _ in 0..600 {
        let d = db.describe_export().export_arn(arn).send().await.unwrap();
        let d = d.export_description().unwrap().clone();
        if d.export_status() != Some(&ExportStatus::InProgress) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("export {arn} never finished");
}

async fn finished_import(
    db: &Client,
    arn: &str,
) -> aws_sdk_dynamodb::types::ImportTableDescription {
    for _ in 0..600 {
        let d = db.describe_import().import_arn(arn).send().await.unwrap();
        let d = d.import_table_description().unwrap().clone();
        if d.import_status() != Some(&ImportStatus::InProgress) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {arn} never finished");
}

/// boto3 exports the table; Python's own gzip, json, hashlib and base64 read the layout
/// back and check every checksum; prints the manifest summary and the items.
const EXPORT_SCRIPT: &str = r#"
import base64, boto3, gzip, hashlib, json, os, sys, time
endpoint, key, secret, root, table_arn = sys.argv[1:6]
db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key, aws_secret_access_key=secret)
arn = db.export_table_to_point_in_time(TableArn=table_arn, S3Bucket="bkt",
                                        S3Prefix="exports/nightly")["ExportDescription"]["ExportArn"]
while True:
    d = db.describe_export(ExportArn=arn)["ExportDescription"]
    if d["ExportStatus"] != "IN_PROGRESS":
        break
    time.sleep(0.05)
assert d["ExportStatus"] == "COMPLETED", d
bucket = os.path.join(root, "bkt")
export_dir = os.path.join(bucket, "exports/nightly/AWSDynamoDB", arn.split("/")[-1])
md5 = lambda b: base64.b64encode(hashlib.md5(b).digest()).decode()
def read(name):
    with open(os.path.join(export_dir, name), "rb") as f:
        return f.read()
assert read("_started") == b""
summary_bytes = read("manifest-summary.json")
assert read("manifest-summary.md5").decode() == md5(summary_bytes)
files_bytes = read("manifest-files.json")
assert read("manifest-files.md5").decode() == md5(files_bytes)
summary = json.loads(summary_bytes)
assert summary["manifestFilesS3Key"] == "exports/nightly/AWSDynamoDB/%s/manifest-files.json" % arn.split("/")[-1]
assert d["ExportManifest"] == "exports/nightly/AWSDynamoDB/%s/manifest-summary.json" % arn.split("/")[-1]
items = []
for line in files_bytes.decode().splitlines():
    entry = json.loads(line)
    with open(os.path.join(bucket, entry["dataFileS3Key"]), "rb") as f:
        data = f.read()
    assert md5(data) == entry["md5Checksum"], entry
    lines = gzip.decompress(data).decode().splitlines()
    assert len(lines) == entry["itemCount"]
    items += [json.loads(l)["Item"] for l in lines]
print(json.dumps({"summary": summary, "items": items, "itemCount": d["ItemCount"]}))
"#;

#[tokio::test]
async fn a_boto3_export_is_dynamodbs_layout_and_reads_back_with_python() {
    let server = server().await;
    let db = server.dynamodb();
    source(&server, &db, "people").await;
    let items: Vec<Item> = (0..30)
        .map(|i| every_type(&format!("p{}", i % 4), i))
        .collect();
    put_all(&db, "people", &items).await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/people".to_string();
    let root = server.data_dir.path().join("s3").display().to_string();
    let got = keyfall_tests::boto3(&server, EXPORT_SCRIPT, &[root, arn.clone()]).await;
    let summary = &got["summary"];
    assert_eq!(summary["version"], "2020-06-30");
    assert_eq!(summary["outputFormat"], "DYNAMODB_JSON");
    assert_eq!(summary["tableArn"], arn.as_str());
    assert_eq!(summary["s3Bucket"], "bkt");
    assert_eq!(summary["itemCount"], 30);
    assert!(summary["exportTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(got["itemCount"], 30);
    // The items as the export wrote them are the table's, type for type.
    let exported: Vec<serde_json::Value> = got["items"].as_array().unwrap().clone();
    assert_eq!(exported.len(), 30);
    let one = exported
        .iter()
        .find(|i| i["pk"]["S"] == "p1" && i["sk"]["N"] == "1")
        .unwrap();
    assert_eq!(one["n"], serde_json::json!({"N": "-12.5"}));
    assert_eq!(one["b"], serde_json::json!({"B": "AAEC/w=="}));
    assert_eq!(one["z"], serde_json::json!({"NULL": true}));
    assert_eq!(one["m"], serde_json::json!({"M": {"odd name": {"S": "v"}}}));
}

async fn export(db: &Client, table: &str, prefix: &str) -> aws_sdk_dynamodb::operation::export_table_to_point_in_time::builders::ExportTableToPointInTimeFluentBuilder{
    db.export_table_to_point_in_time()
        .table_arn(format!(
            "arn:aws:dynamodb:us-east-1:000000000000:table/{table}"
        ))
        .s3_bucket("bkt")
        .s3_prefix(prefix)
}

async fn import(
    db: &Client,
    table: &str,
    prefix: &str,
    format: InputFormat,
    compression: InputCompressionType,
) -> String {
    db.import_table()
        .client_token(format!("{table}-token"))
        .s3_bucket_source(
            S3BucketSource::builder()
                .s3_bucket("bkt")
                .s3_key_prefix(prefix)
                .build()
                .unwrap(),
        )
        .input_format(format)
        .input_compression_type(compression)
        .table_creation_parameters(
            TableCreationParameters::builder()
                .table_name(table)
                .key_schema(key_element("pk", KeyType::Hash))
                .key_schema(key_element("sk", KeyType::Range))
                .attribute_definitions(attribute("pk", ScalarAttributeType::S))
                .attribute_definitions(attribute("sk", ScalarAttributeType::N))
                .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("import")
        .import_table_description()
        .unwrap()
        .import_arn()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_export_at_a_past_second_imports_back_as_that_table_in_json_and_ion() {
    let server = server().await;
    let db = server.dynamodb();
    source(&server, &db, "people").await;
    put_all(
        &db,
        "people",
        &(0..40)
            .map(|i| every_type(&format!("p{}", i % 5), i))
            .collect::<Vec<_>>(),
    )
    .await;
    let at = mark().await;
    let then = contents(&db, "people", None).await;
    for i in 0..10 {
        db.delete_item()
            .table_name("people")
            .key("pk", Av::S(format!("p{}", i % 5)))
            .key("sk", Av::N(i.to_string()))
            .send()
            .await
            .unwrap();
    }
    put_all(&db, "people", &[every_type("late", 1)]).await;
    for (format, prefix, input) in [
        (
            ExportFormat::DynamodbJson,
            "json",
            InputFormat::DynamodbJson,
        ),
        (ExportFormat::Ion, "ion", InputFormat::Ion),
    ] {
        let out = export(&db, "people", prefix)
            .await
            .export_time(DateTime::from_secs_f64(at))
            .export_format(format)
            .send()
            .await
            .unwrap();
        let arn = out
            .export_description()
            .unwrap()
            .export_arn()
            .unwrap()
            .to_string();
        let d = finished_export(&db, &arn).await;
        assert_eq!(d.export_status(), Some(&ExportStatus::Completed), "{d:?}");
        assert_eq!(d.item_count(), Some(then.len() as i64));
        // Its data files, as an import prefix, make the table it was.
        let id = arn.rsplit('/').next().unwrap();
        let data = format!("{prefix}/AWSDynamoDB/{id}/data/");
        let target = format!("from-{prefix}");
        let import_arn = import(&db, &target, &data, input, InputCompressionType::Gzip).await;
        let d = finished_import(&db, &import_arn).await;
        assert_eq!(d.import_status(), Some(&ImportStatus::Completed), "{d:?}");
        assert_eq!(d.imported_item_count(), then.len() as i64);
        assert_eq!(d.error_count(), 0);
        assert_eq!(contents(&db, &target, None).await, then, "{prefix}");
    }
    let listed = db
        .list_exports()
        .table_arn("arn:aws:dynamodb:us-east-1:000000000000:table/people")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.export_summaries().len(), 2);
    assert_eq!(
        listed.export_summaries()[0].export_type(),
        Some(&ExportType::FullExport)
    );
    let imports = db.list_imports().send().await.unwrap();
    assert_eq!(imports.import_summary_list().len(), 2);
}

#[tokio::test]
async fn an_incremental_export_holds_each_items_last_change_with_its_image_before() {
    let server = server().await;
    let db = server.dynamodb();
    source(&server, &db, "inc").await;
    put_all(
        &db,
        "inc",
        &[every_type("a", 1), every_type("b", 2), every_type("c", 3)],
    )
    .await;
    let from = mark().await;
    let mut changed = every_type("a", 1);
    changed.insert("s".into(), Av::S("changed".into()));
    put_all(&db, "inc", &[changed.clone(), every_type("d", 4)]).await;
    db.delete_item()
        .table_name("inc")
        .key("pk", Av::S("b".into()))
        .key("sk", Av::N("2".into()))
        .send()
        .await
        .unwrap();
    put_all(&db, "inc", &[every_type("e", 5)]).await;
    db.delete_item()
        .table_name("inc")
        .key("pk", Av::S("e".into()))
        .key("sk", Av::N("5".into()))
        .send()
        .await
        .unwrap();
    let to = mark().await;
    put_all(&db, "inc", &[every_type("after", 9)]).await;
    let out = export(&db, "inc", "inc")
        .await
        .export_type(ExportType::IncrementalExport)
        .incremental_export_specification(
            IncrementalExportSpecification::builder()
                .export_from_time(DateTime::from_secs_f64(from))
                .export_to_time(DateTime::from_secs_f64(to))
                .export_view_type(ExportViewType::NewAndOldImages)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = out
        .export_description()
        .unwrap()
        .export_arn()
        .unwrap()
        .to_string();
    let d = finished_export(&db, &arn).await;
    assert_eq!(d.export_status(), Some(&ExportStatus::Completed), "{d:?}");
    let id = arn.rsplit('/').next().unwrap();
    let export_dir = server
        .data_dir
        .path()
        .join(format!("s3/bkt/inc/AWSDynamoDB/{id}"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(export_dir.join("manifest-summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["exportType"], "INCREMENTAL_EXPORT");
    assert_eq!(summary["outputView"], "NEW_AND_OLD_IMAGES");
    let files = std::fs::read_to_string(export_dir.join("manifest-files.json")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(files.lines().next().unwrap()).unwrap();
    let key = entry["dataFileS3Key"].as_str().unwrap();
    assert!(
        key.starts_with("inc/AWSDynamoDB/data/"),
        "the shared data folder: {key}"
    );
    let gz = std::fs::read(server.data_dir.path().join("s3/bkt").join(key)).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut text)
        .unwrap();
    let lines: BTreeMap<String, serde_json::Value> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["Keys"]["pk"]["S"].as_str().unwrap().to_string(), v)
        })
        .collect();
    // a updated, b deleted, d inserted; e inserted and deleted (nothing); c untouched.
    assert_eq!(lines.keys().collect::<Vec<_>>(), ["a", "b", "d"]);
    assert_eq!(lines["a"]["NewImage"]["s"]["S"], "changed");
    assert_eq!(lines["a"]["OldImage"]["s"]["S"], "text \"1\"\n");
    assert!(lines["b"].get("NewImage").is_none());
    assert_eq!(lines["b"]["OldImage"]["pk"]["S"], "b");
    assert!(lines["d"].get("OldImage").is_none());
    assert!(
        lines["a"]["Metadata"]["WriteTimestampMicros"]["N"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= (from * 1e6) as u64
    );
}

#[tokio::test]
async fn imports_count_lines_as_dynamodb_does_in_every_format_and_compression() {
    let server = server().await;
    let db = server.dynamodb();
    let bucket = server.data_dir.path().join("s3/bkt");
    std::fs::create_dir_all(bucket.join("csv")).unwrap();
    std::fs::create_dir_all(bucket.join("zst")).unwrap();
    // CSV: a header, two good rows, one with a non-numeric key, one short row.
    std::fs::write(
        bucket.join("csv/a.csv"),
        "pk,sk,note\nx,1,hello\ny,2,\"a, \"\"b\"\"\"\nz,nan,bad\nw\n",
    )
    .unwrap();
    let arn = import(
        &db,
        "fromCsv",
        "csv/",
        InputFormat::Csv,
        InputCompressionType::None,
    )
    .await;
    let d = finished_import(&db, &arn).await;
    assert_eq!(d.import_status(), Some(&ImportStatus::Failed));
    assert_eq!(d.failure_code(), Some("ItemValidationError"));
    assert_eq!(
        (
            d.processed_item_count(),
            d.imported_item_count(),
            d.error_count()
        ),
        (4, 2, 2)
    );
    let rows = contents(&db, "fromCsv", None).await;
    assert_eq!(
        rows.len(),
        2,
        "the valid rows are imported and the table is ACTIVE"
    );
    let y = rows
        .values()
        .find(|i| i["pk"] == Av::S("y".into()))
        .unwrap();
    assert_eq!(y["note"], Av::S("a, \"b\"".into()));
    assert_eq!(y["sk"], Av::N("2".into()));

    // zstd DynamoDB JSON: a missing key counts and the rest goes on; garbage ends the object.
    let lines = "{\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}}\n\n{\"Item\":{\"pk\":{\"S\":\"b\"}}}\n{\"Item\":{\"pk\":{\"S\":\"c\"},\"sk\":{\"N\":\"3\"}}}\nnot json\n{\"Item\":{\"pk\":{\"S\":\"d\"},\"sk\":{\"N\":\"4\"}}}\n";
    let zst = ruzstd::encoding::compress_to_vec(
        lines.as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    std::fs::write(bucket.join("zst/part-0.json.zst"), zst).unwrap();
    let arn = import(
        &db,
        "fromZstd",
        "zst/",
        InputFormat::DynamodbJson,
        InputCompressionType::Zstd,
    )
    .await;
    let d = finished_import(&db, &arn).await;
    assert_eq!(
        (
            d.processed_item_count(),
            d.imported_item_count(),
            d.error_count()
        ),
        (4, 2, 2)
    );
    assert!(d.processed_size_bytes().unwrap() > 0);
    assert_eq!(contents(&db, "fromZstd", None).await.len(), 2);

    // A bucket that is not there: FAILED, and no table.
    let e = db
        .import_table()
        .client_token("nobucket")
        .s3_bucket_source(S3BucketSource::builder().s3_bucket("nope").build().unwrap())
        .input_format(InputFormat::DynamodbJson)
        .table_creation_parameters(
            TableCreationParameters::builder()
                .table_name("never")
                .key_schema(key_element("pk", KeyType::Hash))
                .attribute_definitions(attribute("pk", ScalarAttributeType::S))
                .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let d = e.import_table_description().unwrap();
    assert_eq!(d.import_status(), Some(&ImportStatus::Failed));
    assert_eq!(d.failure_code(), Some("S3NoSuchBucket"));
    let gone = db
        .describe_table()
        .table_name("never")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(gone.as_service_error().unwrap()).0,
        "ResourceNotFoundException"
    );
    // An existing table.
    let e = db
        .import_table()
        .client_token("again")
        .s3_bucket_source(S3BucketSource::builder().s3_bucket("bkt").build().unwrap())
        .input_format(InputFormat::DynamodbJson)
        .table_creation_parameters(
            TableCreationParameters::builder()
                .table_name("fromCsv")
                .key_schema(key_element("pk", KeyType::Hash))
                .attribute_definitions(attribute("pk", ScalarAttributeType::S))
                .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()),
        (
            "ResourceInUseException".into(),
            "Table already exists: fromCsv".into()
        )
    );
}

#[tokio::test]
async fn export_errors_and_s3_permissions() {
    let server = server().await;
    let db = server.dynamodb();
    new_table(&db, "plain", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    let e = export(&db, "plain", "x").await.send().await.unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()),
        (
            "PointInTimeRecoveryUnavailableException".into(),
            "Point in time recovery is not enabled for table 'plain'".into()
        )
    );
    let e = db
        .export_table_to_point_in_time()
        .table_arn("plain")
        .s3_bucket("bkt")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).1,
        "One or more parameter values were invalid: tableArn is not a valid ARN"
    );
    let e = db
        .describe_export()
        .export_arn(
            "arn:aws:dynamodb:us-east-1:000000000000:table/plain/export/01796673919025-1a2b3c4d",
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "ExportNotFoundException"
    );
    source(&server, &db, "guarded").await;
    let e = export(&db, "guarded", "../escape")
        .await
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e.as_service_error().unwrap()).0, "ValidationException");
    let e = export(&db, "guarded", "x")
        .await
        .export_time(DateTime::from_secs_f64(
            keyfall_tests::now_seconds() + 3600.0,
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()),
        (
            "InvalidExportTimeException".into(),
            "Export Time is invalid".into()
        )
    );
    // A ClientToken names one export: the same request is the same export, another a conflict.
    let first = export(&db, "guarded", "tok")
        .await
        .client_token("t1")
        .send()
        .await
        .unwrap();
    let again = export(&db, "guarded", "tok")
        .await
        .client_token("t1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.export_description().unwrap().export_arn(),
        again.export_description().unwrap().export_arn()
    );
    let e = export(&db, "guarded", "other")
        .await
        .client_token("t1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "ExportConflictException"
    );
    // A bucket folder that is not there fails the export as S3 would.
    let out = export(&db, "guarded", "x")
        .await
        .s3_bucket("missing")
        .send()
        .await
        .unwrap();
    let d = finished_export(&db, out.export_description().unwrap().export_arn().unwrap()).await;
    assert_eq!(d.failure_code(), Some("S3NoSuchBucket"));

    // A user allowed the export but not the bucket's objects is refused.
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["dynamodb:ExportTableToPointInTime","dynamodb:DescribeExport"],"Resource":"*"},
        {"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::bkt/mine/*"}]}"#;
    let key = keyfall_tests::user_with_policy(&server, "carol", policy).await;
    let carol = server.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    let e = export(&carol, "guarded", "theirs/")
        .await
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "AccessDeniedException"
    );
    export(&carol, "guarded", "mine/")
        .await
        .send()
        .await
        .expect("allowed under mine/");
}

/// The CLI's export and import speak the same formats: Ion and gzip both ways, and a data
/// file of a server-side export imports as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_exports_and_imports_ion_gzip_and_server_export_files() {
    let server = server().await;
    let db = server.dynamodb();
    source(&server, &db, "people").await;
    put_all(
        &db,
        "people",
        &(0..25)
            .map(|i| every_type(&format!("p{}", i % 3), i))
            .collect::<Vec<_>>(),
    )
    .await;
    let want = contents(&db, "people", None).await;
    for t in ["viaIon", "viaExport"] {
        new_table(
            &db,
            t,
            ("pk", ScalarAttributeType::S),
            Some(("sk", ScalarAttributeType::N)),
        )
        .send()
        .await
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.ion.gz").display().to_string();
    let s = &server;
    tokio::task::block_in_place(|| {
        keyfall_tests::cli_output(
            s,
            &[
                "export",
                "people",
                "--format",
                "ion",
                "--gzip",
                "--output",
                &file,
                "--no-progress",
            ],
        )
    });
    let gz = std::fs::read(&file).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut text)
        .unwrap();
    assert!(
        text.lines().all(|l| l.starts_with("$ion_1_0 {Item:{")),
        "{text}"
    );
    tokio::task::block_in_place(|| {
        keyfall_tests::cli_output(
            s,
            &[
                "import",
                "viaIon",
                "--format",
                "ion",
                "--input",
                &file,
                "--no-progress",
            ],
        )
    });
    assert_eq!(contents(&db, "viaIon", None).await, want);

    let out = export(&db, "people", "cli").await.send().await.unwrap();
    let arn = out
        .export_description()
        .unwrap()
        .export_arn()
        .unwrap()
        .to_string();
    finished_export(&db, &arn).await;
    let id = arn.rsplit('/').next().unwrap();
    let data = server
        .data_dir
        .path()
        .join(format!("s3/bkt/cli/AWSDynamoDB/{id}/data"));
    let data_file = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path()
        .display()
        .to_string();
    tokio::task::block_in_place(|| {
        keyfall_tests::cli_output(
            s,
            &[
                "import",
                "viaExport",
                "--input",
                &data_file,
                "--no-progress",
            ],
        )
    });
    assert_eq!(contents(&db, "viaExport", None).await, want);
}

/// The typed client exports and imports over gRPC.
#[tokio::test]
async fn the_typed_client_exports_and_imports() {
    use keyfall::proto::v1 as pb;
    let server = server().await;
    let db = server.dynamodb();
    source(&server, &db, "typed").await;
    put_all(
        &db,
        "typed",
        &(0..12).map(|i| every_type("t", i)).collect::<Vec<_>>(),
    )
    .await;
    let want = contents(&db, "typed", None).await;
    let client = server.client();
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/typed";
    let mut export = client
        .export_table(arn, "bkt", Some("typed"), "ION", None)
        .await
        .expect("export");
    while export.status == "IN_PROGRESS" {
        tokio::time::sleep(Duration::from_millis(50)).await;
        export = client.describe_export(&export.arn).await.unwrap();
    }
    assert_eq!(
        (export.status.as_str(), export.item_count),
        ("COMPLETED", Some(12))
    );
    let id = export.arn.rsplit('/').next().unwrap().to_string();
    let key = |name: &str, kind: &str| pb::KeySchemaElement {
        attribute_name: name.into(),
        key_type: kind.into(),
    };
    let def = |name: &str, kind: &str| pb::AttributeDefinition {
        attribute_name: name.into(),
        attribute_type: kind.into(),
    };
    let mut import = client
        .import_table(pb::ImportTableRequest {
            s3_bucket_source: Some(pb::S3BucketSource {
                s3_bucket: "bkt".into(),
                s3_key_prefix: Some(format!("typed/AWSDynamoDB/{id}/data/")),
                ..Default::default()
            }),
            input_format: "ION".into(),
            input_compression_type: Some("GZIP".into()),
            table_creation_parameters: Some(pb::TableCreationParameters {
                table_name: "typedCopy".into(),
                key_schema: vec![key("pk", "HASH"), key("sk", "RANGE")],
                attribute_definitions: vec![def("pk", "S"), def("sk", "N")],
                billing_mode: Some("PAY_PER_REQUEST".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("import");
    while import.status == "IN_PROGRESS" {
        tokio::time::sleep(Duration::from_millis(50)).await;
        import = client.describe_import(&import.arn).await.unwrap();
    }
    assert_eq!(
        (import.status.as_str(), import.imported, import.errors),
        ("COMPLETED", 12, 0)
    );
    assert_eq!(contents(&db, "typedCopy", None).await, want);
}
