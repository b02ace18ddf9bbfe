//! Runs each example against a real in-process server, as a user would run it: the
//! example reads `KEYFALL_ENDPOINT` and the AWS credential variables, checks its own
//! results and exits non-zero on anything unexpected.

use keyfall::embedded::EmbeddedServer;

async fn run(example: &str, binary: &str) {
    let server = EmbeddedServer::start().await.expect("embedded server");
    let credentials = server.credentials().clone();
    let output = tokio::process::Command::new(binary)
        .env("KEYFALL_ENDPOINT", server.grpc_endpoint())
        .env("AWS_ACCESS_KEY_ID", &credentials.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &credentials.secret_access_key)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .await
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{example} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains(&format!("{example} finished")), "{stdout}");
    server.stop().await;
}

#[tokio::test]
async fn quickstart_runs_clean() {
    run("quickstart", env!("CARGO_BIN_EXE_quickstart")).await;
}

#[tokio::test]
async fn single_table_runs_clean() {
    run("single_table", env!("CARGO_BIN_EXE_single_table")).await;
}
