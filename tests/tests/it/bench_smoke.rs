//! `keyfall-bench ycsb` end to end with tiny settings (500 records, 1 s, 4 workers): it
//! starts its in-process server, measures the floor, loads, runs the workload and writes
//! its JSON result. Checks that it works, never how fast.

use std::process::Command;
use std::sync::Mutex;

/// One bench at a time: in parallel they would starve each other of the few operations a
/// 1-second run needs (workload E's 5% inserts must happen at least once).
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `keyfall-bench ycsb` with the smoke settings and returns its JSON result.
fn ycsb(workload: &str, api: &str) -> serde_json::Value {
    ycsb_with(workload, api, &[])
}

fn ycsb_with(workload: &str, api: &str, extra: &[&str]) -> serde_json::Value {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("result.json");
    let out = Command::new(env!("CARGO_BIN_EXE_keyfall-bench"))
        .args(["ycsb", "--workload", workload, "--api", api])
        .args(["--records", "500", "--seconds", "1", "--concurrency", "4"])
        .args(extra)
        .arg("--json")
        .arg(&json)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("run keyfall-bench");
    assert!(
        out.status.success(),
        "keyfall-bench ycsb --workload {workload} --api {api} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&json).expect("JSON result written");
    serde_json::from_str(&text).expect("JSON result parses")
}

/// The result has the floor and, for the one workload, every operation of its mix with
/// operations done and percentiles in order.
fn check(result: &serde_json::Value, workload: &str, api: &str, operations: &[&str]) {
    assert_eq!(result["target"]["api"], api);
    let floor = &result["floors"][0];
    assert_eq!(floor["role"], "floor");
    assert!(floor["ops"].as_u64().unwrap_or(0) > 0, "floor: {floor}");
    assert_eq!(result["load"]["records"], 500);
    let workloads = result["workloads"].as_array().expect("workloads");
    assert_eq!(workloads.len(), 1);
    let w = &workloads[0];
    assert_eq!(w["workload"], workload);
    let ops = w["operations"].as_array().expect("operations");
    let names: Vec<&str> = ops.iter().filter_map(|o| o["name"].as_str()).collect();
    assert_eq!(names, operations);
    for op in ops.iter().chain([&w["total"]]) {
        assert!(op["ops"].as_u64().unwrap_or(0) > 0, "no operations: {op}");
        let p = |k: &str| op[k].as_f64().unwrap_or(-1.0);
        assert!(
            0.0 < p("p50_us") && p("p50_us") <= p("p99_us") && p("p99_us") <= p("max_us"),
            "percentiles out of order: {op}"
        );
        assert!(op["vs_floor"]["ops_per_sec"].as_f64().unwrap_or(0.0) > 0.0);
    }
    if workload == "a" {
        // Every record read was loaded: the keys the load wrote are the keys read.
        assert_eq!(
            ops[0]["not_found"], 0,
            "reads missed loaded records: {}",
            ops[0]
        );
    }
}

#[test]
fn ycsb_a_grpc() {
    check(&ycsb("a", "grpc"), "a", "grpc", &["READ", "UPDATE"]);
}

#[test]
fn ycsb_a_json() {
    check(&ycsb("a", "json"), "a", "json", &["READ", "UPDATE"]);
}

#[test]
fn ycsb_e_grpc() {
    check(&ycsb("e", "grpc"), "e", "grpc", &["SCAN", "INSERT"]);
}

#[test]
fn ycsb_e_json() {
    check(&ycsb("e", "json"), "e", "json", &["SCAN", "INSERT"]);
}

#[test]
fn ycsb_p_json_with_the_lean_client() {
    check(
        &ycsb_with("p", "json", &["--json-client", "raw"]),
        "p",
        "json",
        &["INSERT"],
    );
}

/// The lean client's GetItem and UpdateItem bodies and its reading of answers: every read
/// finds its loaded record (`check` asserts no read missed).
#[test]
fn ycsb_a_json_with_the_lean_client() {
    check(
        &ycsb_with("a", "json", &["--json-client", "raw"]),
        "a",
        "json",
        &["READ", "UPDATE"],
    );
}

/// The lean gRPC reads through keyfall-dax, in two rounds: every read finds its loaded
/// record, and each round has its own floor and ratios, summarised by their median.
#[test]
fn ycsb_a_grpc_with_lean_reads_through_the_proxy_in_rounds() {
    let result = ycsb_with(
        "a",
        "grpc",
        &["--grpc-client", "lean", "--dax", "--rounds", "2"],
    );
    check(&result, "a", "grpc", &["READ", "UPDATE"]);
    let w = &result["workloads"][0];
    let rounds = w["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 2);
    for round in rounds {
        assert!(round["floor"]["ops"].as_u64().unwrap_or(0) > 0, "{round}");
        assert_eq!(round["operations"][0]["not_found"], 0, "{round}");
    }
    let median = w["median_total_vs_floor"]["ops_per_sec"]
        .as_f64()
        .unwrap_or(0.0);
    let per_round: Vec<f64> = rounds
        .iter()
        .filter_map(|r| r["total"]["vs_floor"]["ops_per_sec"].as_f64())
        .collect();
    assert_eq!(median, (per_round[0] + per_round[1]) / 2.0);
}

/// `keyfall-bench backup` with tiny settings: every figure is there and positive.
#[test]
fn backup_bench_reports_its_figures() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("result.json");
    let out = Command::new(env!("CARGO_BIN_EXE_keyfall-bench"))
        .args([
            "backup",
            "--items",
            "2000",
            "--seconds",
            "0.5",
            "--concurrency",
            "4",
        ])
        .args([
            "--pitr-writes",
            "1000",
            "--encryption-seconds",
            "0.3",
            "--json",
        ])
        .arg(&json)
        .output()
        .expect("run keyfall-bench backup");
    assert!(
        out.status.success(),
        "keyfall-bench backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("written")).expect("JSON");
    let f = &result["figures"];
    for figure in [
        "writes_per_second_before",
        "writes_per_second_during_backup",
        "ratio_during_backup",
        "restored_items_per_second",
        "backup_bytes_on_disk",
    ] {
        assert!(f[figure].as_f64().unwrap_or(0.0) > 0.0, "{figure}: {f}");
    }
    assert!(f["pitr"]["ratio"].as_f64().unwrap_or(0.0) > 0.0, "{f}");
    assert!(
        f["encryption"]["put_ratio"].as_f64().unwrap_or(0.0) > 0.0,
        "{f}"
    );
    assert!(
        f["encryption"]["get_ratio"].as_f64().unwrap_or(0.0) > 0.0,
        "{f}"
    );
}
