//! Prices and the arithmetic: pure functions of the observed figures.

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
                write_units_per_second: increase(before.map(|b| b.write_units), now.write_units)
                    / seconds,
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
    (read_units * p.provisioned_rcu_hour + write_units * p.provisioned_wcu_hour) * HOURS_PER_MONTH
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
