//! What every keyfall-bench mode records and prints: per-operation latencies in HDR
//! histograms (nanoseconds, 3 significant digits, merged across workers), the timed worker
//! loop that fills them, and the progress line on stderr (drawn only when stderr is a
//! terminal).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

/// An empty latency histogram: nanoseconds, 3 significant digits, growing as needed.
pub fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is a valid precision")
}

/// Records one latency into a [`histogram`].
pub fn record(h: &mut Histogram<u64>, latency: Duration) {
    // An auto-resizing histogram takes any u64 (`saturating_record` would clamp to its
    // current range instead of growing).
    let _ = h.record(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
}

/// The result of one timed operation type.
pub struct Report {
    pub name: &'static str,
    pub ops: u64,
    /// Wall time of the whole run the operation was part of.
    pub elapsed: Duration,
    /// Latency of each operation, in nanoseconds.
    pub latencies: Histogram<u64>,
    /// Operations that found nothing (a read of a missing item, an empty scan).
    pub misses: u64,
}

impl Report {
    pub fn ops_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ops as f64 / secs
        } else {
            0.0
        }
    }

    /// The latency at quantile `p` (0.5 is the median).
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.latencies.value_at_quantile(p))
    }

    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.latencies.max())
    }

    /// One report with the operations of all of `reports` (from the same run).
    pub fn merged(name: &'static str, reports: &[Report]) -> Report {
        let mut latencies = histogram();
        for r in reports {
            // Histograms that auto-resize cannot fail to add.
            let _ = latencies.add(&r.latencies);
        }
        Report {
            name,
            ops: reports.iter().map(|r| r.ops).sum(),
            elapsed: reports.iter().map(|r| r.elapsed).max().unwrap_or_default(),
            latencies,
            misses: reports.iter().map(|r| r.misses).sum(),
        }
    }

    /// The figures as JSON, latencies in microseconds.
    pub fn json(&self) -> serde_json::Value {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        serde_json::json!({
            "name": self.name,
            "ops": self.ops,
            "seconds": self.elapsed.as_secs_f64(),
            "ops_per_sec": self.ops_per_sec(),
            "mean_us": if self.latencies.is_empty() { 0.0 } else { self.latencies.mean() / 1e3 },
            "p50_us": us(self.percentile(0.5)),
            "p99_us": us(self.percentile(0.99)),
            "p999_us": us(self.percentile(0.999)),
            "max_us": us(self.max()),
            "not_found": self.misses,
        })
    }

    /// This report's throughput and median/p99 latency relative to `floor`'s: throughput
    /// as a fraction of the floor's, latencies as multiples of the floor's.
    pub fn vs(&self, floor: &Report) -> Ratios {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        Ratios {
            ops_per_sec: ratio(self.ops_per_sec(), floor.ops_per_sec()),
            p50: ratio(
                self.percentile(0.5).as_secs_f64(),
                floor.percentile(0.5).as_secs_f64(),
            ),
            p99: ratio(
                self.percentile(0.99).as_secs_f64(),
                floor.percentile(0.99).as_secs_f64(),
            ),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Ratios {
    pub ops_per_sec: f64,
    pub p50: f64,
    pub p99: f64,
}

impl Ratios {
    /// Each ratio's median over `runs` (NaN for none).
    pub fn median(runs: &[Ratios]) -> Ratios {
        let median = |pick: fn(&Ratios) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(pick).collect();
            v.sort_by(f64::total_cmp);
            match v.len() {
                0 => f64::NAN,
                n if n % 2 == 1 => v[n / 2],
                n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
            }
        };
        Ratios {
            ops_per_sec: median(|r| r.ops_per_sec),
            p50: median(|r| r.p50),
            p99: median(|r| r.p99),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({ "ops_per_sec": self.ops_per_sec, "p50": self.p50, "p99": self.p99 })
    }
}

/// Prints `rows` as a table; with a floor, three more columns: ops/s as a fraction of the
/// floor's, p50 and p99 as multiples of the floor's.
pub fn print_table(rows: &[&Report], floor: Option<&Report>) {
    print!(
        "  {:<36} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "operation", "ops", "ops/s", "p50", "p99", "p99.9", "max"
    );
    if floor.is_some() {
        print!(
            " {:>11} {:>9} {:>9}",
            "ops/s÷floor", "p50÷floor", "p99÷floor"
        );
    }
    println!();
    for r in rows {
        print!(
            "  {:<36} {:>9} {:>10.0} {:>10.2?} {:>10.2?} {:>10.2?} {:>10.2?}",
            r.name,
            r.ops,
            r.ops_per_sec(),
            r.percentile(0.5),
            r.percentile(0.99),
            r.percentile(0.999),
            r.max()
        );
        if let Some(floor) = floor {
            let v = r.vs(floor);
            print!(" {:>11.3} {:>9.2} {:>9.2}", v.ops_per_sec, v.p50, v.p99);
        }
        println!();
    }
}

/// The progress line of a run: hidden (and costing nothing) unless stderr is a terminal.
pub struct Progress {
    bar: ProgressBar,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// A bar over `seconds` of wall time showing the operations counted in `ops`.
    pub fn timed(label: &str, seconds: f64, ops: Arc<AtomicU64>) -> Progress {
        let total_ms = (seconds * 1000.0).max(1.0) as u64;
        let bar = ProgressBar::new(total_ms);
        if bar.is_hidden() {
            return Progress { bar, ticker: None };
        }
        bar.set_style(style("{spinner} {prefix} [{bar:30}] {elapsed:>4} {msg}"));
        bar.set_prefix(label.to_string());
        let start = Instant::now();
        let b = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let elapsed = start.elapsed();
                let n = ops.load(Ordering::Relaxed);
                b.set_position((elapsed.as_millis() as u64).min(total_ms));
                b.set_message(format!(
                    "{n} ops, {:.0} ops/s",
                    n as f64 / elapsed.as_secs_f64()
                ));
            }
        });
        Progress {
            bar,
            ticker: Some(ticker),
        }
    }

    /// A bar over `len` items that callers advance with [`Progress::inc`].
    pub fn counted(label: &str, len: u64) -> Progress {
        let bar = ProgressBar::new(len);
        if !bar.is_hidden() {
            bar.set_style(style(
                "{spinner} {prefix} [{bar:30}] {pos}/{len} {elapsed:>4}",
            ));
            bar.set_prefix(label.to_string());
        }
        Progress { bar, ticker: None }
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn finish(self) {
        if let Some(t) = &self.ticker {
            t.abort();
        }
        self.bar.finish_and_clear();
    }
}

impl Clone for Progress {
    /// A handle on the same bar (for workers to advance); only the original ticks.
    fn clone(&self) -> Progress {
        Progress {
            bar: self.bar.clone(),
            ticker: None,
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Latencies of one run, per operation kind, merged across workers.
pub struct Run {
    pub elapsed: Duration,
    pub latencies: Vec<Histogram<u64>>,
    pub misses: Vec<u64>,
}

impl Run {
    /// One report per kind, named by `names` (in kind order).
    pub fn reports(self, names: &[&'static str]) -> Vec<Report> {
        let elapsed = self.elapsed;
        self.latencies
            .into_iter()
            .zip(self.misses)
            .zip(names)
            .map(|((latencies, misses), &name)| Report {
                name,
                ops: latencies.len(),
                elapsed,
                latencies,
                misses,
            })
            .collect()
    }
}

/// Whether an operation's error is DynamoDB throttling it (by the error's name, which
/// every client here carries into the error's text: `x-amzn-errortype`, the SDK's code).
fn is_throttle(e: &anyhow::Error) -> bool {
    let text = format!("{e:?}");
    [
        "ProvisionedThroughputExceeded",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throughput exceeds",
    ]
    .iter()
    .any(|name| text.contains(name))
}

/// Runs `op(worker, i)` from `concurrency` workers for `seconds`, each worker issuing its
/// next operation as soon as the previous one answers (a closed loop, as YCSB's client
/// threads do). `op` returns the kind of operation it did (an index below `kinds`) and
/// whether it found nothing; each latency goes into its kind's histogram. The first error
/// stops every worker and is returned.
pub async fn run_workers<F, Fut>(
    label: &str,
    kinds: usize,
    concurrency: usize,
    seconds: f64,
    op: F,
) -> anyhow::Result<Run>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<(usize, bool)>> + Send,
{
    let op = Arc::new(op);
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Progress::timed(label, seconds, count.clone());
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut workers = Vec::with_capacity(concurrency);
    let throttled = Arc::new(AtomicU64::new(0));
    for w in 0..concurrency {
        let (op, count, stop) = (op.clone(), count.clone(), stop.clone());
        let throttled = throttled.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies: Vec<Histogram<u64>> = (0..kinds).map(|_| histogram()).collect();
            let mut misses = vec![0u64; kinds];
            let mut i = 0;
            let mut backoff = Duration::from_millis(5);
            while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let (kind, miss) = match op(w, i).await {
                    Ok(done) => done,
                    // Throttled: back off (exponentially, up to a second) and try the
                    // same operation again, as DynamoDB's SDKs do.
                    Err(e) if is_throttle(&e) => {
                        throttled.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                };
                backoff = Duration::from_millis(5);
                record(&mut latencies[kind], t.elapsed());
                misses[kind] += u64::from(miss);
                count.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            anyhow::Ok((latencies, misses))
        }));
    }
    let mut run = Run {
        elapsed: Duration::ZERO,
        latencies: (0..kinds).map(|_| histogram()).collect(),
        misses: vec![0; kinds],
    };
    let mut failure = None;
    for w in workers {
        match w.await {
            Ok(Ok((latencies, misses))) => {
                for (total, h) in run.latencies.iter_mut().zip(&latencies) {
                    let _ = total.add(h);
                }
                for (total, m) in run.misses.iter_mut().zip(misses) {
                    *total += m;
                }
            }
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(e.into());
            }
        }
    }
    run.elapsed = start.elapsed();
    progress.finish();
    let throttled = throttled.load(Ordering::Relaxed);
    if throttled > 0 {
        eprintln!("{label}: {throttled} throttled requests retried after a back-off");
    }
    match failure {
        Some(e) => Err(e.context(format!("{label}: an operation failed"))),
        None => Ok(run),
    }
}

#[cfg(test)]
mod tests {
    use super::Ratios;

    #[test]
    fn medians_are_taken_per_ratio() {
        let r = |ops_per_sec, p50, p99| Ratios {
            ops_per_sec,
            p50,
            p99,
        };
        let cases: [(&[Ratios], Ratios); 3] = [
            (&[r(0.7, 1.2, 1.5)], r(0.7, 1.2, 1.5)),
            (
                &[r(0.9, 1.1, 2.0), r(0.5, 1.3, 1.0), r(0.7, 1.2, 1.5)],
                r(0.7, 1.2, 1.5),
            ),
            (&[r(0.6, 1.0, 1.0), r(0.8, 1.4, 3.0)], r(0.7, 1.2, 2.0)),
        ];
        for (runs, want) in cases {
            let m = Ratios::median(runs);
            assert!((m.ops_per_sec - want.ops_per_sec).abs() < 1e-9, "{runs:?}");
            assert!((m.p50 - want.p50).abs() < 1e-9, "{runs:?}");
            assert!((m.p99 - want.p99).abs() < 1e-9, "{runs:?}");
        }
        assert!(Ratios::median(&[]).ops_per_sec.is_nan());
    }
}
