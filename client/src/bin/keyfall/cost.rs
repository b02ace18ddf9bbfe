//! `keyfall cost`: what the workload a server is seeing would cost on DynamoDB, on demand
//! and provisioned, so the choice of capacity mode can be made from measured traffic
//! rather than guessed.
//!
//! The workload is read from the server's `/metrics` (consumed capacity counters, table
//! sizes, provisioned throughput) twice, `--sample` apart; the difference is the rate.
//! Parsing (`exposition`) and the arithmetic (`pricing`) are pure and unit-tested; this
//! module only fetches, samples and prints.

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

/// The Prometheus text exposition format (and OpenMetrics, its successor), as far as
/// reading sample values needs: `name{label="value",...} value [timestamp]` lines, `#`
/// lines skipped. Written here rather than taken from a crate: the readers on crates.io
/// pull in regex and chrono for the same twenty lines.
mod exposition {
    use anyhow::{bail, Context};

    /// One sample line.
    #[derive(Debug, PartialEq)]
    pub struct Sample {
        pub name: String,
        pub labels: Vec<(String, String)>,
        pub value: f64,
    }

    impl Sample {
        pub fn label(&self, name: &str) -> Option<&str> {
            self.labels
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// The samples of a scrape. A line that does not parse is skipped rather than failing
    /// the whole reading: prometheus-client writes label values unescaped, so a series
    /// labelled with user data (Contributor Insights' keys) may hold a quote or a line
    /// break, while the per-table series read here are labelled with table names, which
    /// cannot. Text that is not metrics at all yields no `keyfall_` sample, and the caller
    /// says so.
    pub fn parse(text: &str) -> Vec<Sample> {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| parse_line(line).ok())
            .collect()
    }

    pub fn parse_line(line: &str) -> anyhow::Result<Sample> {
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .context("no value")?;
        let (name, rest) = line.split_at(name_end);
        let (labels, rest) = match rest.strip_prefix('{') {
            Some(inside) => labels(inside)?,
            None => (Vec::new(), rest),
        };
        let value = rest.split_whitespace().next().context("no value")?;
        let value = value
            .parse()
            .with_context(|| format!("the value {value:?} is not a number"))?;
        Ok(Sample {
            name: name.to_string(),
            labels,
            value,
        })
    }

    /// The labels after `{`, and the text after the closing `}`.
    fn labels(inside: &str) -> anyhow::Result<(Vec<(String, String)>, &str)> {
        let mut labels = Vec::new();
        let mut rest = inside;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                return Ok((labels, after));
            }
            let (name, after) = rest.split_once('=').context("a label without '='")?;
            let after = after
                .trim_start()
                .strip_prefix('"')
                .context("a label value without quotes")?;
            let mut chars = after.chars();
            let mut value = String::new();
            loop {
                match chars.next() {
                    None => bail!("a label value without its closing quote"),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some(c) => value.push(c),
                        None => bail!("a label value ending in '\\'"),
                    },
                    Some(c) => value.push(c),
                }
            }
            labels.push((name.trim().to_string(), value));
            rest = chars.as_str().trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_keyfall_metrics() {
            let text = "# HELP keyfall_table_items Items per table.\n\
                        # TYPE keyfall_table_items gauge\n\
                        keyfall_table_items{table=\"music\"} 12\n\
                        keyfall_consumed_read_capacity_units_total{table=\"music\"} 0.5\n\
                        keyfall_provisioned_read_capacity_units{table=\"t\",index=\"\"} 5\n\
                        keyfall_storage_disk_bytes 67108864\n\
                        # EOF\n";
            let samples = parse(text);
            assert_eq!(samples.len(), 4);
            assert_eq!(samples[0].name, "keyfall_table_items");
            assert_eq!(samples[0].label("table"), Some("music"));
            assert_eq!(samples[1].value, 0.5);
            assert_eq!(samples[2].label("index"), Some(""));
            assert_eq!(samples[2].label("table"), Some("t"));
            assert!(samples[3].labels.is_empty());
            assert_eq!(samples[3].value, 67108864.0);
        }

        #[test]
        fn reads_escapes_spaces_timestamps_and_special_values() {
            let samples = parse("m{ a = \"x\\\"y\\\\z\\n\" , b=\"}\" ,} +Inf 1700000000\nn NaN\n");
            assert_eq!(
                samples[0].labels,
                [
                    ("a".to_string(), "x\"y\\z\n".to_string()),
                    ("b".to_string(), "}".to_string())
                ]
            );
            assert_eq!(samples[0].value, f64::INFINITY);
            assert!(samples[1].value.is_nan());
        }

        #[test]
        fn refuses_lines_that_are_not_samples() {
            for line in ["<html>", "m{a=\"x\"", "m{a=x} 1", "m 1e", "m{a} 1", "m"] {
                assert!(parse_line(line).is_err(), "{line:?}");
            }
        }

        #[test]
        fn skips_a_broken_line_and_keeps_the_rest() {
            // A partition key holding a line break and a quote, written unescaped.
            let text = "keyfall_contributor_insights_requests{table=\"t\",partition_key=\"a\n\
                        b\"c\"} 3\n\
                        keyfall_table_items{table=\"t\"} 2\n\
                        <html>\n";
            let samples = parse(text);
            let items: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.name == "keyfall_table_items")
                .collect();
            assert_eq!(items.len(), 1, "{samples:?}");
            assert_eq!(items[0].value, 2.0);
            assert!(parse("<html><body>Not found</body></html>").is_empty());
        }
    }
}

/// Prices and the arithmetic: pure functions of the observed figures.
mod pricing {
    use std::collections::BTreeMap;

    use anyhow::bail;
    use serde::{Deserialize, Serialize};

    use super::exposition::Sample;

    /// DynamoDB bills a month as 730 hours.
    pub const HOURS_PER_MONTH: f64 = 730.0;
    const SECONDS_PER_MONTH: f64 = HOURS_PER_MONTH * 3600.0;
    /// Billing GB are 2^30 bytes.
    const BYTES_PER_GB: f64 = 1_073_741_824.0;
    /// DynamoDB bills each item's raw size plus 100 bytes of indexing overhead.
    const ITEM_OVERHEAD_BYTES: f64 = 100.0;
    /// Rounding slack: 0.7 / 0.7 must stay 1 unit, not become 2.
    const EPSILON: f64 = 1e-9;

    /// Prices in US dollars. The defaults are DynamoDB's published prices for us-east-1
    /// (N. Virginia), Standard table class, from <https://aws.amazon.com/dynamodb/pricing/>
    /// after the on-demand price cut of 1 November 2024.
    #[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Prices {
        /// Per million write request units, on demand.
        pub on_demand_write_per_million: f64,
        /// Per million read request units, on demand.
        pub on_demand_read_per_million: f64,
        /// Per provisioned write capacity unit and hour.
        pub provisioned_wcu_hour: f64,
        /// Per provisioned read capacity unit and hour.
        pub provisioned_rcu_hour: f64,
        /// Per GB-month of table storage.
        pub storage_gb_month: f64,
        /// GB-months of storage free per account.
        pub free_storage_gb: f64,
        /// The share of provisioned capacity the average rate may use (0 < u <= 1):
        /// auto scaling's usual target, leaving room for peaks.
        pub utilization: f64,
    }

    impl Default for Prices {
        fn default() -> Self {
            Prices {
                on_demand_write_per_million: 0.625,
                on_demand_read_per_million: 0.125,
                provisioned_wcu_hour: 0.00065,
                provisioned_rcu_hour: 0.00013,
                storage_gb_month: 0.25,
                free_storage_gb: 25.0,
                utilization: 0.7,
            }
        }
    }

    impl Prices {
        /// A price file: any subset of the keys, the rest at their defaults.
        pub fn from_toml(text: &str) -> anyhow::Result<Prices> {
            let prices: Prices = toml::from_str(text)?;
            prices.validate()?;
            Ok(prices)
        }

        fn validate(&self) -> anyhow::Result<()> {
            let amounts = [
                (
                    "on_demand_write_per_million",
                    self.on_demand_write_per_million,
                ),
                (
                    "on_demand_read_per_million",
                    self.on_demand_read_per_million,
                ),
                ("provisioned_wcu_hour", self.provisioned_wcu_hour),
                ("provisioned_rcu_hour", self.provisioned_rcu_hour),
                ("storage_gb_month", self.storage_gb_month),
                ("free_storage_gb", self.free_storage_gb),
            ];
            for (key, amount) in amounts {
                if !amount.is_finite() || amount < 0.0 {
                    bail!("{key} must be a number >= 0, not {amount}");
                }
            }
            if !(self.utilization > 0.0 && self.utilization <= 1.0) {
                bail!(
                    "utilization must be above 0 and at most 1 (0.7 is 70%), not {}",
                    self.utilization
                );
            }
            Ok(())
        }
    }

    /// A table's figures at one scrape.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct TableFigures {
        /// Units consumed since the server started (or the table was created).
        pub read_units: f64,
        pub write_units: f64,
        pub bytes: f64,
        pub items: f64,
        /// Provisioned (read, write) units of the table (index "") and each GSI; empty for
        /// an on-demand table.
        pub provisioned: BTreeMap<String, (f64, f64)>,
    }

    /// One scrape's tables, by name.
    #[derive(Debug, Default, PartialEq)]
    pub struct Snapshot {
        pub tables: BTreeMap<String, TableFigures>,
    }

    impl Snapshot {
        /// The per-table series of `server/src/metrics.rs`; every other series is ignored.
        pub fn from_samples(samples: &[Sample]) -> Snapshot {
            /// Which figure a series sets.
            enum Field {
                Read,
                Write,
                Bytes,
                Items,
                ProvisionedRead,
                ProvisionedWrite,
            }
            let mut tables: BTreeMap<String, TableFigures> = BTreeMap::new();
            for sample in samples {
                let field = match sample.name.as_str() {
                    "keyfall_consumed_read_capacity_units_total" => Field::Read,
                    "keyfall_consumed_write_capacity_units_total" => Field::Write,
                    "keyfall_table_size_bytes" => Field::Bytes,
                    "keyfall_table_items" => Field::Items,
                    "keyfall_provisioned_read_capacity_units" => Field::ProvisionedRead,
                    "keyfall_provisioned_write_capacity_units" => Field::ProvisionedWrite,
                    _ => continue,
                };
                let Some(table) = sample.label("table") else {
                    continue;
                };
                let figures = tables.entry(table.to_string()).or_default();
                let index = sample.label("index").unwrap_or("").to_string();
                match field {
                    Field::Read => figures.read_units = sample.value,
                    Field::Write => figures.write_units = sample.value,
                    Field::Bytes => figures.bytes = sample.value,
                    Field::Items => figures.items = sample.value,
                    Field::ProvisionedRead => {
                        figures.provisioned.entry(index).or_default().0 = sample.value
                    }
                    Field::ProvisionedWrite => {
                        figures.provisioned.entry(index).or_default().1 = sample.value
                    }
                }
            }
            Snapshot { tables }
        }

        pub fn is_empty(&self) -> bool {
            self.tables.is_empty()
        }
    }

    /// A table's workload: rates over the sample, size and provisioning at its end.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Observed {
        pub table: String,
        pub read_units_per_second: f64,
        pub write_units_per_second: f64,
        pub bytes: f64,
        pub items: f64,
        /// Provisioned (read, write) units, the table's and its GSIs' together.
        pub provisioned: Option<(f64, f64)>,
    }

    /// The tables of the second scrape, with the rates between the two. A table missing
    /// from the first was created in between; a counter lower than before was reset (the
    /// table re-created): either way all of its count is new.
    pub fn observe(first: &Snapshot, second: &Snapshot, seconds: f64) -> Vec<Observed> {
        let increase = |before: Option<f64>, after: f64| match before {
            Some(before) if after >= before => after - before,
            _ => after,
        };
        let seconds = seconds.max(EPSILON);
        second
            .tables
            .iter()
            .map(|(name, now)| {
                let before = first.tables.get(name);
                let provisioned = (!now.provisioned.is_empty()).then(|| {
                    now.provisioned
                        .values()
                        .fold((0.0, 0.0), |(r, w), (pr, pw)| (r + pr, w + pw))
                });
                Observed {
                    table: name.clone(),
                    read_units_per_second: increase(before.map(|b| b.read_units), now.read_units)
                        / seconds,
                    write_units_per_second: increase(
                        before.map(|b| b.write_units),
                        now.write_units,
                    ) / seconds,
                    bytes: now.bytes,
                    items: now.items,
                    provisioned,
                }
            })
            .collect()
    }

    /// Which capacity mode costs less.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
    pub enum Mode {
        #[serde(rename = "on-demand")]
        OnDemand,
        #[serde(rename = "provisioned")]
        Provisioned,
        /// The same cost, to the cent's billionth.
        #[serde(rename = "either")]
        Either,
    }

    pub fn cheaper(on_demand: f64, provisioned: f64) -> Mode {
        if (on_demand - provisioned).abs() < EPSILON {
            Mode::Either
        } else if on_demand < provisioned {
            Mode::OnDemand
        } else {
            Mode::Provisioned
        }
    }

    /// A month of request units at the observed rates.
    pub fn on_demand_monthly(read_per_second: f64, write_per_second: f64, p: &Prices) -> f64 {
        let millions = |per_second: f64| per_second * SECONDS_PER_MONTH / 1e6;
        millions(read_per_second) * p.on_demand_read_per_million
            + millions(write_per_second) * p.on_demand_write_per_million
    }

    /// The capacity units that serve `per_second` at the target utilization, at least 1.
    pub fn capacity_needed(per_second: f64, utilization: f64) -> u64 {
        let units = (per_second / utilization - EPSILON).ceil();
        // Saturating: an absurd rate gives u64::MAX units, not a wrapped number.
        (units as u64).max(1)
    }

    /// A month of provisioned capacity.
    pub fn provisioned_monthly(read_units: f64, write_units: f64, p: &Prices) -> f64 {
        (read_units * p.provisioned_rcu_hour + write_units * p.provisioned_wcu_hour)
            * HOURS_PER_MONTH
    }

    /// Billable GB of a table: item data plus DynamoDB's per-item overhead.
    pub fn storage_gb(bytes: f64, items: f64) -> f64 {
        (bytes + items * ITEM_OVERHEAD_BYTES) / BYTES_PER_GB
    }

    /// (billable GB, $ a month) of all tables' storage: the free allowance is per account,
    /// so it is taken once from the total.
    pub fn storage_monthly(total_gb: f64, p: &Prices) -> (f64, f64) {
        let billable = (total_gb - p.free_storage_gb).max(0.0);
        (billable, billable * p.storage_gb_month)
    }

    /// A table that is provisioned now, and what that costs.
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct CurrentProvisioned {
        pub read_capacity_units: f64,
        pub write_capacity_units: f64,
        pub monthly: f64,
    }

    /// One table's costs: throughput only, storage being the same in both modes.
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct TableCost {
        pub table: String,
        pub read_units_per_second: f64,
        pub write_units_per_second: f64,
        pub storage_gb: f64,
        pub on_demand_monthly: f64,
        pub provisioned_read_capacity_units: u64,
        pub provisioned_write_capacity_units: u64,
        pub provisioned_monthly: f64,
        /// Present for a table that is provisioned now (its GSIs included).
        pub current_provisioned: Option<CurrentProvisioned>,
        pub cheaper: Mode,
    }

    /// All tables together; `on_demand_monthly` and `provisioned_monthly` include storage.
    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct Totals {
        pub read_units_per_second: f64,
        pub write_units_per_second: f64,
        pub on_demand_throughput_monthly: f64,
        pub provisioned_throughput_monthly: f64,
        /// The provisioned tables' current cost, if any table is provisioned.
        pub current_provisioned_monthly: Option<f64>,
        pub storage_gb: f64,
        pub free_storage_gb: f64,
        pub billable_storage_gb: f64,
        pub storage_monthly: f64,
        pub on_demand_monthly: f64,
        pub provisioned_monthly: f64,
        pub cheaper: Mode,
    }

    #[derive(Clone, Debug, PartialEq, Serialize)]
    pub struct Estimate {
        pub tables: Vec<TableCost>,
        pub totals: Totals,
        #[serde(skip)]
        pub utilization_percent: f64,
    }

    pub fn estimate(observed: &[Observed], p: &Prices) -> Estimate {
        let tables: Vec<TableCost> = observed.iter().map(|o| table_cost(o, p)).collect();
        let sum = |f: fn(&TableCost) -> f64| tables.iter().map(f).sum::<f64>();
        let storage_gb = sum(|t| t.storage_gb);
        let (billable_storage_gb, storage_monthly) = self::storage_monthly(storage_gb, p);
        let on_demand_throughput_monthly = sum(|t| t.on_demand_monthly);
        let provisioned_throughput_monthly = sum(|t| t.provisioned_monthly);
        let current: Vec<f64> = tables
            .iter()
            .filter_map(|t| t.current_provisioned.as_ref().map(|c| c.monthly))
            .collect();
        let on_demand_monthly = on_demand_throughput_monthly + storage_monthly;
        let provisioned_monthly = provisioned_throughput_monthly + storage_monthly;
        let totals = Totals {
            read_units_per_second: sum(|t| t.read_units_per_second),
            write_units_per_second: sum(|t| t.write_units_per_second),
            on_demand_throughput_monthly,
            provisioned_throughput_monthly,
            current_provisioned_monthly: (!current.is_empty()).then(|| current.iter().sum()),
            storage_gb,
            free_storage_gb: p.free_storage_gb,
            billable_storage_gb,
            storage_monthly,
            on_demand_monthly,
            provisioned_monthly,
            cheaper: cheaper(on_demand_monthly, provisioned_monthly),
        };
        Estimate {
            tables,
            totals,
            utilization_percent: p.utilization * 100.0,
        }
    }

    fn table_cost(o: &Observed, p: &Prices) -> TableCost {
        let on_demand = on_demand_monthly(o.read_units_per_second, o.write_units_per_second, p);
        let rcu = capacity_needed(o.read_units_per_second, p.utilization);
        let wcu = capacity_needed(o.write_units_per_second, p.utilization);
        let provisioned = provisioned_monthly(rcu as f64, wcu as f64, p);
        TableCost {
            table: o.table.clone(),
            read_units_per_second: o.read_units_per_second,
            write_units_per_second: o.write_units_per_second,
            storage_gb: storage_gb(o.bytes, o.items),
            on_demand_monthly: on_demand,
            provisioned_read_capacity_units: rcu,
            provisioned_write_capacity_units: wcu,
            provisioned_monthly: provisioned,
            current_provisioned: o.provisioned.map(|(read, write)| CurrentProvisioned {
                read_capacity_units: read,
                write_capacity_units: write,
                monthly: provisioned_monthly(read, write, p),
            }),
            cheaper: cheaper(on_demand, provisioned),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn close(a: f64, b: f64) -> bool {
            (a - b).abs() < 1e-6 * b.abs().max(1.0)
        }

        fn table(name: &str, read: f64, write: f64, bytes: f64, items: f64) -> Observed {
            Observed {
                table: name.to_string(),
                read_units_per_second: read,
                write_units_per_second: write,
                bytes,
                items,
                provisioned: None,
            }
        }

        /// (case, workload, on-demand $, provisioned $, RCU, WCU, cheaper) at default prices,
        /// one table, no storage.
        #[test]
        fn throughput_cases() {
            let cases = [
                // Nothing at all: on demand is free, provisioned still pays 1 RCU + 1 WCU.
                ("zero traffic", 0.0, 0.0, 0.0, 0.5694, 1, 1, Mode::OnDemand),
                // 1 read a second: 2.628 M RRU = $0.3285; provisioned 2 RCU + 1 WCU.
                (
                    "light reads",
                    1.0,
                    0.0,
                    0.3285,
                    0.6643,
                    2,
                    1,
                    Mode::OnDemand,
                ),
                // Sparse reads with a little writing: on demand still wins.
                (
                    "read heavy",
                    0.5,
                    0.05,
                    0.2464,
                    0.5694,
                    1,
                    1,
                    Mode::OnDemand,
                ),
                // 100 writes and 400 reads a second, all day: 143 WCU and 572 RCU.
                (
                    "steady high",
                    400.0,
                    100.0,
                    295.65,
                    122.14,
                    572,
                    143,
                    Mode::Provisioned,
                ),
                // Exactly 70% of 1 unit stays 1 unit.
                ("at target", 0.7, 0.7, 1.38, 0.5694, 1, 1, Mode::Provisioned),
            ];
            let p = Prices::default();
            for (case, read, write, on_demand, provisioned, rcu, wcu, mode) in cases {
                let e = estimate(&[table("t", read, write, 0.0, 0.0)], &p);
                let t = &e.tables[0];
                assert!(
                    (t.on_demand_monthly - on_demand).abs() < 0.01,
                    "{case}: {t:?}"
                );
                assert!(
                    (t.provisioned_monthly - provisioned).abs() < 0.01,
                    "{case}: {t:?}"
                );
                assert_eq!(
                    (
                        t.provisioned_read_capacity_units,
                        t.provisioned_write_capacity_units
                    ),
                    (rcu, wcu),
                    "{case}"
                );
                assert_eq!(t.cheaper, mode, "{case}");
                assert_eq!(e.totals.cheaper, mode, "{case}");
            }
        }

        #[test]
        fn exact_arithmetic() {
            let p = Prices::default();
            // 1 write a second for 730 hours: 2.628 M WRU at $0.625.
            assert!(close(on_demand_monthly(0.0, 1.0, &p), 2.628 * 0.625));
            assert!(close(provisioned_monthly(1.0, 1.0, &p), 0.00078 * 730.0));
            assert_eq!(capacity_needed(0.0, 0.7), 1);
            assert_eq!(capacity_needed(0.71, 0.7), 2);
            assert_eq!(capacity_needed(70.0, 0.7), 100);
            assert_eq!(capacity_needed(70.1, 0.7), 101);
            assert_eq!(capacity_needed(5.0, 1.0), 5);
            assert_eq!(capacity_needed(f64::MAX, 0.5), u64::MAX);
            assert_eq!(cheaper(1.0, 1.0), Mode::Either);
        }

        /// (case, tables' (bytes, items), billable GB, storage $).
        type StorageCase<'a> = (&'a str, &'a [(f64, f64)], f64, f64);

        #[test]
        fn storage_free_tier_applies_once() {
            let gib = BYTES_PER_GB;
            let cases: [StorageCase; 4] = [
                ("no data", &[(0.0, 0.0)], 0.0, 0.0),
                ("under 25 GB", &[(10.0 * gib, 0.0)], 0.0, 0.0),
                // Two tables of 20 GB: 15 GB over one allowance, not zero over two.
                (
                    "across tables",
                    &[(20.0 * gib, 0.0), (20.0 * gib, 0.0)],
                    15.0,
                    3.75,
                ),
                // 2^30 items of overhead are 100 GB on top of the data.
                ("item overhead", &[(0.0, gib)], 75.0, 18.75),
            ];
            let p = Prices::default();
            for (case, sizes, billable, cost) in cases {
                let observed: Vec<Observed> = sizes
                    .iter()
                    .enumerate()
                    .map(|(i, &(bytes, items))| table(&format!("t{i}"), 0.0, 0.0, bytes, items))
                    .collect();
                let t = estimate(&observed, &p).totals;
                assert!(close(t.billable_storage_gb, billable), "{case}: {t:?}");
                assert!(close(t.storage_monthly, cost), "{case}: {t:?}");
                // Storage is in both totals alike: it never changes which mode is cheaper.
                assert!(close(
                    t.on_demand_monthly,
                    t.on_demand_throughput_monthly + cost
                ));
                assert!(close(
                    t.provisioned_monthly,
                    t.provisioned_throughput_monthly + cost
                ));
            }
        }

        #[test]
        fn a_price_file_overrides_some_prices() {
            let p = Prices::from_toml(
                "# eu-west-1-ish\n\
                 on_demand_write_per_million = 0.7625\n\
                 provisioned_wcu_hour = 0.000772\n\
                 free_storage_gb = 0\n\
                 utilization = 0.5\n",
            )
            .unwrap();
            let defaults = Prices::default();
            assert_eq!(p.on_demand_write_per_million, 0.7625);
            assert_eq!(p.free_storage_gb, 0.0);
            assert_eq!(
                p.on_demand_read_per_million,
                defaults.on_demand_read_per_million
            );
            assert_eq!(p.storage_gb_month, defaults.storage_gb_month);
            let e = estimate(&[table("t", 0.0, 10.0, BYTES_PER_GB, 0.0)], &p);
            let t = &e.tables[0];
            // 10 writes a second at 50%: 20 WCU.
            assert_eq!(t.provisioned_write_capacity_units, 20);
            assert!(close(t.on_demand_monthly, 26.28 * 0.7625));
            assert!(close(
                t.provisioned_monthly,
                (0.00013 + 20.0 * 0.000772) * 730.0
            ));
            // No free storage: the 1 GB is billed.
            assert!(close(e.totals.storage_monthly, 0.25));
            assert_eq!(Prices::from_toml("").unwrap(), defaults);
        }

        #[test]
        fn a_bad_price_file_says_what_is_wrong() {
            let cases = [
                ("on_demand_write = 1.0", "unknown field `on_demand_write`"),
                ("storage_gb_month = \"cheap\"", "storage_gb_month"),
                (
                    "provisioned_rcu_hour = -1.0",
                    "provisioned_rcu_hour must be",
                ),
                ("utilization = 0", "utilization must be"),
                ("utilization = 1.5", "utilization must be"),
            ];
            for (text, expected) in cases {
                let error = format!("{:#}", Prices::from_toml(text).unwrap_err());
                assert!(error.contains(expected), "{text}: {error}");
            }
        }

        #[test]
        fn rates_come_from_the_difference_between_scrapes() {
            let figures = |read: f64, write: f64| TableFigures {
                read_units: read,
                write_units: write,
                bytes: 10.0,
                items: 1.0,
                provisioned: BTreeMap::new(),
            };
            let first = Snapshot {
                tables: BTreeMap::from([
                    ("steady".to_string(), figures(100.0, 50.0)),
                    ("recreated".to_string(), figures(100.0, 100.0)),
                    ("dropped".to_string(), figures(1.0, 1.0)),
                ]),
            };
            let mut provisioned = figures(10.0, 0.0);
            provisioned.provisioned =
                BTreeMap::from([(String::new(), (5.0, 3.0)), ("gsi".to_string(), (1.0, 2.0))]);
            let second = Snapshot {
                tables: BTreeMap::from([
                    ("steady".to_string(), figures(120.0, 50.0)),
                    ("recreated".to_string(), figures(4.0, 2.0)),
                    ("new".to_string(), provisioned),
                ]),
            };
            let observed = observe(&first, &second, 2.0);
            let expected = [
                ("new", 5.0, 0.0, Some((6.0, 5.0))),
                ("recreated", 2.0, 1.0, None),
                ("steady", 10.0, 0.0, None),
            ];
            assert_eq!(observed.len(), expected.len());
            for (o, (table, read, write, provisioned)) in observed.iter().zip(expected) {
                assert_eq!(o.table, table);
                assert_eq!(
                    (o.read_units_per_second, o.write_units_per_second),
                    (read, write),
                    "{table}"
                );
                assert_eq!(o.provisioned, provisioned, "{table}");
            }
            let current = estimate(&observed, &Prices::default()).tables[0]
                .current_provisioned
                .clone()
                .unwrap();
            assert!(close(
                current.monthly,
                (6.0 * 0.00013 + 5.0 * 0.00065) * 730.0
            ));
        }

        #[test]
        fn snapshot_reads_the_per_table_series() {
            let text = "keyfall_consumed_read_capacity_units_total{table=\"a\"} 2.5\n\
                        keyfall_consumed_write_capacity_units_total{table=\"a\"} 4.0\n\
                        keyfall_table_size_bytes{table=\"a\"} 900\n\
                        keyfall_table_items{table=\"a\"} 3\n\
                        keyfall_provisioned_read_capacity_units{table=\"a\",index=\"\"} 5\n\
                        keyfall_provisioned_write_capacity_units{table=\"a\",index=\"\"} 3\n\
                        keyfall_read_throttle_events_total{table=\"a\",index=\"\",reason=\"x\"} 7\n\
                        keyfall_requests_total{api=\"json\",operation=\"PutItem\",outcome=\"ok\"} 1\n\
                        keyfall_table_items{table=\"b\"} 0\n";
            let samples = super::super::exposition::parse(text);
            let snapshot = Snapshot::from_samples(&samples);
            assert_eq!(
                snapshot.tables.keys().collect::<Vec<_>>(),
                ["a", "b"],
                "{snapshot:?}"
            );
            assert_eq!(
                snapshot.tables["a"],
                TableFigures {
                    read_units: 2.5,
                    write_units: 4.0,
                    bytes: 900.0,
                    items: 3.0,
                    provisioned: BTreeMap::from([(String::new(), (5.0, 3.0))]),
                }
            );
            assert_eq!(snapshot.tables["b"], TableFigures::default());
        }
    }
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
