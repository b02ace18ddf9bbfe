//! Counters of the proxy, exported as Prometheus text on `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub item_hits: AtomicU64,
    pub item_misses: AtomicU64,
    pub item_evictions: AtomicU64,
    pub query_hits: AtomicU64,
    pub query_misses: AtomicU64,
    pub query_evictions: AtomicU64,
    pub upstream_reads: AtomicU64,
    pub write_throughs: AtomicU64,
    pub pass_throughs: AtomicU64,
    pub feed_events: AtomicU64,
    pub feed_reconnects: AtomicU64,
    /// Change-feed tasks running now (a gauge).
    pub feed_tasks: AtomicU64,
}

/// Sizes read from the caches when rendering.
pub struct Sizes {
    pub item_entries: u64,
    pub item_bytes: u64,
    pub query_entries: u64,
    pub query_bytes: u64,
}

impl Metrics {
    pub fn render(&self, sizes: &Sizes) -> String {
        let mut out = String::new();
        let counters = [
            (
                "keyfall_dax_cache_hits_total{cache=\"item\"}",
                &self.item_hits,
            ),
            (
                "keyfall_dax_cache_misses_total{cache=\"item\"}",
                &self.item_misses,
            ),
            (
                "keyfall_dax_cache_evictions_total{cache=\"item\"}",
                &self.item_evictions,
            ),
            (
                "keyfall_dax_cache_hits_total{cache=\"query\"}",
                &self.query_hits,
            ),
            (
                "keyfall_dax_cache_misses_total{cache=\"query\"}",
                &self.query_misses,
            ),
            (
                "keyfall_dax_cache_evictions_total{cache=\"query\"}",
                &self.query_evictions,
            ),
            ("keyfall_dax_upstream_reads_total", &self.upstream_reads),
            ("keyfall_dax_write_throughs_total", &self.write_throughs),
            ("keyfall_dax_pass_throughs_total", &self.pass_throughs),
            ("keyfall_dax_feed_events_total", &self.feed_events),
            ("keyfall_dax_feed_reconnects_total", &self.feed_reconnects),
        ];
        let mut typed = std::collections::HashSet::new();
        for (name, v) in counters {
            let base = name.split('{').next().unwrap_or(name);
            if typed.insert(base) {
                let _ = writeln!(out, "# TYPE {base} counter");
            }
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
        let _ = writeln!(out, "# TYPE keyfall_dax_feed_tasks gauge");
        let _ = writeln!(
            out,
            "keyfall_dax_feed_tasks {}",
            self.feed_tasks.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# TYPE keyfall_dax_cache_entries gauge");
        let _ = writeln!(
            out,
            "keyfall_dax_cache_entries{{cache=\"item\"}} {}",
            sizes.item_entries
        );
        let _ = writeln!(
            out,
            "keyfall_dax_cache_entries{{cache=\"query\"}} {}",
            sizes.query_entries
        );
        let _ = writeln!(out, "# TYPE keyfall_dax_cache_bytes gauge");
        let _ = writeln!(
            out,
            "keyfall_dax_cache_bytes{{cache=\"item\"}} {}",
            sizes.item_bytes
        );
        let _ = writeln!(
            out,
            "keyfall_dax_cache_bytes{{cache=\"query\"}} {}",
            sizes.query_bytes
        );
        out
    }
}

pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}
