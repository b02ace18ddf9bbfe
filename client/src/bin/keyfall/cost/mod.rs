//! `keyfall cost`: what the workload a server is seeing would cost on DynamoDB, on demand
//! and provisioned, so the choice of capacity mode can be made from measured traffic
//! rather than guessed.
//!
//! The workload is read from the server's `/metrics` (consumed capacity counters, table
//! sizes, provisioned throughput) twice, `--sample` apart; the difference is the rate.
//! Parsing (`exposition`) and the arithmetic (`pricing`) are pure and unit-tested; this
//! module only fetches, samples and prints.

mod exposition;
mod pricing;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::json;

use pricing::{Estimate, Mode, Prices, TableCost, HOURS_PER_MONTH};

/// The server's default HTTP port: the CLI's `--endpoint` is the gRPC port, which serves no
/// metrics, so there is no HTTP address to derive this from.
const DEFAULT_METRICS_URL: &str = "http://127.0.0.1:8000/metrics";

/// A scrape that takes longer than this is a server in trouble, not a slow one.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the observed workload would cost on DynamoDB, on demand and provisioned.
///
/// Reads the server's metrics twice, `--sample` apart, and takes the consumed read and
/// write units in between as each table's rate; storage is each table's size at the
/// second reading (plus DynamoDB's 100 bytes an item). Costs are for a 730-hour month.
/// Provisioned capacity is sized for the average rate at the price file's `utilization`
/// (70% by default), at least 1 RCU and 1 WCU a table. Storage costs the same in both
/// modes; the account's free storage (25 GB) is applied once, across all tables.
///
/// Prices default to DynamoDB's published us-east-1 prices (Standard table class); a TOML
/// `--prices` file overrides any of `on_demand_write_per_million`,
/// `on_demand_read_per_million`, `provisioned_wcu_hour`, `provisioned_rcu_hour`,
/// `storage_gb_month`, `free_storage_gb`, `utilization`.
#[derive(Args)]
pub struct CostArgs {
    /// The server's metrics (its HTTP port, path `/metrics`).
    #[arg(long, env = "KEYFALL_METRICS_URL", default_value = DEFAULT_METRICS_URL)]
    metrics_url: String,
    /// How long to observe the traffic, e.g. `500ms`, `10s`, `1m`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    sample: Duration,
    /// A TOML file of prices (every key optional).
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: CostArgs) -> anyhow::Result<()> {
    // A bad price file fails before the sampling wait, not after it.
    let (prices, prices_source) = match &args.prices {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let prices = Prices::from_toml(&text)
                .with_context(|| format!("invalid price file {}", path.display()))?;
            (prices, path.display().to_string())
        }
        None => (
            Prices::default(),
            "default (DynamoDB us-east-1)".to_string(),
        ),
    };
    let url = metrics_url(&args.metrics_url)?;
    let scraper = Scraper::new(url.clone());

    let first = scraper.snapshot().await?;
    let started = Instant::now();
    if first.is_empty() {
        return print_no_tables(&url, args.json);
    }
    if std::io::stderr().is_terminal() {
        eprintln!("sampling {url} for {}...", seconds(args.sample));
    }
    tokio::time::sleep(args.sample).await;
    let second = scraper.snapshot().await?;
    let elapsed = started.elapsed().as_secs_f64();

    let observed = pricing::observe(&first, &second, elapsed);
    if observed.is_empty() {
        return print_no_tables(&url, args.json);
    }
    let estimate = pricing::estimate(&observed, &prices);
    let report = Report {
        metrics_url: url.to_string(),
        sample_seconds: elapsed,
        hours_per_month: HOURS_PER_MONTH,
        prices_source,
        prices,
        notes: notes(&estimate),
        estimate,
    };
    if args.json {
        // Straight from the structs, so the fields keep their order (the figures before the prices).
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

/// `500ms`, `10s`, `1.5m`, `1h`: a positive number and a unit.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("{text:?} has no unit: write e.g. 500ms, 10s or 1m"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 10s or 1m"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: use ms, s, m or h"
            ))
        }
    };
    Duration::try_from_secs_f64(number * scale)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} must be a positive duration"))
}

/// The URL to scrape: `http://` only (the server's metrics are plain HTTP), and a bare
/// `http://host:port` means its `/metrics`.
fn metrics_url(text: &str) -> anyhow::Result<http::Uri> {
    let uri: http::Uri = text
        .parse()
        .with_context(|| format!("the metrics URL {text:?} is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        bail!("the metrics URL {text:?} must start with http:// (https is not supported)");
    }
    if !matches!(uri.path(), "" | "/") {
        return Ok(uri);
    }
    let mut parts = uri.into_parts();
    parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/metrics"));
    http::Uri::from_parts(parts).with_context(|| format!("the metrics URL {text:?}"))
}

/// Fetches and parses the metrics, one client for both readings.
struct Scraper {
    url: http::Uri,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Scraper {
    fn new(url: http::Uri) -> Scraper {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Scraper { url, client }
    }

    async fn snapshot(&self) -> anyhow::Result<pricing::Snapshot> {
        let url = &self.url;
        let text = self
            .fetch()
            .await
            .with_context(|| format!("cannot read metrics from {url}"))?;
        let samples = exposition::parse(&text);
        if !samples.iter().any(|s| s.name.starts_with("keyfall_")) {
            bail!("{url} serves no Keyfall metrics (no keyfall_* series): is it a keyfall-server's HTTP port?");
        }
        Ok(pricing::Snapshot::from_samples(&samples))
    }

    async fn fetch(&self) -> anyhow::Result<String> {
        let request = http::Request::get(self.url.clone())
            .header(
                http::header::ACCEPT,
                "application/openmetrics-text; version=1.0.0, text/plain; version=0.0.4; q=0.5",
            )
            .body(Empty::new())?;
        let exchange = async {
            let response = self.client.request(request).await?;
            let status = response.status();
            if !status.is_success() {
                bail!("the server answered {status}");
            }
            let body = response.into_body().collect().await?.to_bytes();
            String::from_utf8(body.to_vec()).context("the answer is not UTF-8")
        };
        tokio::time::timeout(SCRAPE_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow!("no answer within {}", seconds(SCRAPE_TIMEOUT)))?
    }
}

fn print_no_tables(url: &http::Uri, as_json: bool) -> anyhow::Result<()> {
    let message = format!("the server at {url} has no tables: there is no workload to cost");
    if as_json {
        let report = json!({ "metrics_url": url.to_string(), "tables": [], "message": message });
        println!("{report:#}");
    } else {
        println!("{message}.");
    }
    Ok(())
}

/// Everything `--json` prints.
#[derive(Serialize)]
struct Report {
    metrics_url: String,
    sample_seconds: f64,
    #[serde(flatten)]
    estimate: Estimate,
    notes: Vec<String>,
    hours_per_month: f64,
    prices_source: String,
    prices: Prices,
}

/// The assumptions behind the figures, printed with them.
fn notes(estimate: &Estimate) -> Vec<String> {
    let t = &estimate.totals;
    vec![
        "Per-table costs are throughput only (request units on demand, capacity units \
         provisioned); storage costs the same in both modes and is counted once, in the \
         totals."
            .to_string(),
        format!(
            "Storage: {} GB billable of {} GB (item data plus 100 bytes an item); the first {} GB \
             a month are free per account, applied once across all tables: ${} a month.",
            gb(t.billable_storage_gb),
            gb(t.storage_gb),
            t.free_storage_gb,
            money(t.storage_monthly),
        ),
        format!(
            "Provisioned capacity is sized for the average rate at {}% utilization, at least 1 \
             RCU and 1 WCU a table (GSIs counted with their table); traffic with peaks above \
             the average needs more, or auto scaling.",
            estimate.utilization_percent,
        ),
    ]
}

/// The report as a table for a terminal.
fn render(report: &Report) -> String {
    let estimate = &report.estimate;
    let any_provisioned = estimate
        .tables
        .iter()
        .any(|t| t.current_provisioned.is_some());
    let mut rows = vec![header(any_provisioned)];
    for table in &estimate.tables {
        rows.push(row(table, any_provisioned));
    }
    let t = &estimate.totals;
    let mut total = vec![
        "TOTAL".to_string(),
        rate(t.read_units_per_second),
        rate(t.write_units_per_second),
        gb(t.storage_gb),
        money(t.on_demand_throughput_monthly),
        money(t.provisioned_throughput_monthly),
        String::new(),
    ];
    if any_provisioned {
        total.push(t.current_provisioned_monthly.map_or(String::new(), money));
    }
    total.push(mode(t.cheaper).to_string());
    rows.push(total);

    let mut out = format!(
        "{:.1} s of traffic at {}, as $ per {}-hour month at {} prices:\n\n",
        report.sample_seconds, report.metrics_url, HOURS_PER_MONTH, report.prices_source,
    );
    out.push_str(&columns(&rows));
    out.push('\n');
    out.push_str(&overall(t));
    out.push('\n');
    for note in &report.notes {
        out.push_str(note);
        out.push('\n');
    }
    out
}

fn header(any_provisioned: bool) -> Vec<String> {
    let mut header = vec![
        "TABLE",
        "READ/S",
        "WRITE/S",
        "STORAGE GB",
        "ON-DEMAND $/MO",
        "PROVISIONED $/MO",
        "(RCU, WCU)",
    ];
    if any_provisioned {
        header.push("PROVISIONED NOW $/MO");
    }
    header.push("CHEAPER");
    header.into_iter().map(str::to_string).collect()
}

fn row(table: &TableCost, any_provisioned: bool) -> Vec<String> {
    let mut row = vec![
        table.table.clone(),
        rate(table.read_units_per_second),
        rate(table.write_units_per_second),
        gb(table.storage_gb),
        money(table.on_demand_monthly),
        money(table.provisioned_monthly),
        format!(
            "({}, {})",
            table.provisioned_read_capacity_units, table.provisioned_write_capacity_units
        ),
    ];
    if any_provisioned {
        row.push(match &table.current_provisioned {
            Some(now) => format!(
                "{} ({}, {})",
                money(now.monthly),
                now.read_capacity_units,
                now.write_capacity_units
            ),
            None => "-".to_string(),
        });
    }
    row.push(mode(table.cheaper).to_string());
    row
}

/// Rows as aligned columns: the first and last left-aligned, numbers right-aligned.
fn columns(rows: &[Vec<String>]) -> String {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &width))| {
                if i == 0 || i + 1 == count {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The one line that answers the question: which mode, at what cost, saving how much.
fn overall(t: &pricing::Totals) -> String {
    let (cheap, dear, other) = match t.cheaper {
        Mode::Either => {
            return format!(
                "Cheaper overall: either, ${} a month in both modes, storage included.",
                money(t.on_demand_monthly)
            )
        }
        Mode::OnDemand => (t.on_demand_monthly, t.provisioned_monthly, "provisioned"),
        Mode::Provisioned => (t.provisioned_monthly, t.on_demand_monthly, "on demand"),
    };
    format!(
        "Cheaper overall: {}, ${} a month against ${} {other}, storage included \
         (${} a month less, {:.0}%).",
        mode(t.cheaper),
        money(cheap),
        money(dear),
        money(dear - cheap),
        (dear - cheap) / dear * 100.0,
    )
}

fn mode(mode: Mode) -> &'static str {
    match mode {
        Mode::OnDemand => "on-demand",
        Mode::Provisioned => "provisioned",
        Mode::Either => "either",
    }
}

fn rate(units_per_second: f64) -> String {
    format!("{units_per_second:.2}")
}

fn gb(gb: f64) -> String {
    if gb > 0.0 && gb < 0.001 {
        "<0.001".to_string()
    } else {
        format!("{gb:.3}")
    }
}

/// Dollars: cents, or four decimals below a cent so a small cost does not read as free.
fn money(dollars: f64) -> String {
    if dollars > 0.0 && dollars < 0.01 {
        format!("{dollars:.4}")
    } else {
        format!("{dollars:.2}")
    }
}

fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            ("500ms", Some(500)),
            ("10s", Some(10_000)),
            ("1m", Some(60_000)),
            ("1.5s", Some(1_500)),
            ("1h", Some(3_600_000)),
            ("0s", None),
            ("10", None),
            ("10 parsecs", None),
            ("-1s", None),
            ("s", None),
        ];
        for (text, millis) in cases {
            let parsed = parse_duration(text).ok().map(|d| d.as_millis());
            assert_eq!(parsed, millis, "{text}");
        }
    }

    #[test]
    fn metrics_urls() {
        let cases = [
            (
                "http://127.0.0.1:8000/metrics",
                Some("http://127.0.0.1:8000/metrics"),
            ),
            ("http://db:8000", Some("http://db:8000/metrics")),
            ("http://db:8000/", Some("http://db:8000/metrics")),
            ("http://db:9000/custom", Some("http://db:9000/custom")),
            ("https://db/metrics", None),
            ("127.0.0.1:8000", None),
            ("not a url", None),
        ];
        for (text, expected) in cases {
            let url = metrics_url(text).ok().map(|u| u.to_string());
            assert_eq!(url.as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn the_text_report_names_tables_totals_and_the_cheaper_mode() {
        let observed = [
            pricing::Observed {
                table: "busy".to_string(),
                read_units_per_second: 400.0,
                write_units_per_second: 100.0,
                bytes: 1e6,
                items: 10.0,
                provisioned: Some((600.0, 150.0)),
            },
            pricing::Observed {
                table: "idle".to_string(),
                ..Default::default()
            },
        ];
        let prices = Prices::default();
        let estimate = pricing::estimate(&observed, &prices);
        let report = Report {
            metrics_url: DEFAULT_METRICS_URL.to_string(),
            sample_seconds: 10.0,
            hours_per_month: HOURS_PER_MONTH,
            prices_source: "default".to_string(),
            prices,
            notes: notes(&estimate),
            estimate,
        };
        let text = render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].starts_with("TABLE"), "{text}");
        assert!(lines[2].contains("PROVISIONED NOW $/MO"), "{text}");
        assert!(
            lines[3].starts_with("busy") && lines[3].ends_with("provisioned"),
            "{text}"
        );
        assert!(lines[3].contains("(572, 143)"), "{text}");
        assert!(
            lines[4].starts_with("idle") && lines[4].ends_with("on-demand"),
            "{text}"
        );
        assert!(lines[5].starts_with("TOTAL"), "{text}");
        assert!(
            text.contains(
                "Cheaper overall: provisioned, $122.71 a month against $295.65 on demand"
            ),
            "{text}"
        );
        assert!(text.contains("first 25 GB"), "{text}");

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["tables"][0]["table"], "busy");
        assert_eq!(json["tables"][0]["cheaper"], "provisioned");
        assert_eq!(
            json["tables"][1]["current_provisioned"],
            serde_json::Value::Null
        );
        assert_eq!(json["totals"]["cheaper"], "provisioned");
        assert_eq!(json["prices"]["utilization"], 0.7);
    }
}
