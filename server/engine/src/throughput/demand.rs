//! On-demand tables scale with their traffic. A new table serves up to 4,000 write and
//! 12,000 read request units per second, and a table "instantly accommodates up to double
//! the previous peak traffic"; beyond double the previous peak "within 30 minutes" it may
//! throttle (Developer Guide, "On-demand capacity mode", "Initial throughput and scaling
//! properties"). The per-table quota (DescribeLimits, 40,000 by default) bounds it all.
//!
//! Keyfall's model: the ceiling is the larger of the initial throughput and twice the
//! highest one-second consumption seen at least 30 minutes ago, capped by the quota; a
//! bucket holding one second at the ceiling admits requests.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::bucket::Bucket;
use super::Cause;

/// How long a new peak takes to raise the ceiling.
const SETTLING: Duration = Duration::from_secs(30 * 60);

#[derive(Debug)]
pub(super) struct Demand {
    initial: f64,
    quota: f64,
    /// The highest one-second consumption seen at least [`SETTLING`] ago.
    settled: f64,
    /// Newer one-second peaks, each higher than the one before.
    recent: VecDeque<(Instant, f64)>,
    /// The current second: when it started and what it consumed.
    second: (Instant, f64),
    bucket: Bucket,
}

impl Demand {
    /// A table that starts on demand; `previous` is the throughput it was provisioned
    /// with, if it switched from provisioned mode (DynamoDB keeps it available).
    pub(super) fn new(initial: f64, quota: f64, previous: f64, now: Instant) -> Demand {
        let initial = initial.max(previous).min(quota);
        Demand {
            initial,
            quota,
            settled: 0.0,
            recent: VecDeque::new(),
            second: (now, 0.0),
            bucket: Bucket::full(initial, 1.0, now),
        }
    }

    /// A new quota (the limits changed); what was learned stays.
    pub(super) fn requota(&mut self, quota: f64) {
        self.quota = quota;
    }

    /// What the table may take per second now, and what refusing beyond it is called.
    fn ceiling(&mut self, now: Instant) -> (f64, Cause) {
        while let Some(&(at, peak)) = self.recent.front() {
            if now.saturating_duration_since(at) < SETTLING {
                break;
            }
            self.settled = self.settled.max(peak);
            self.recent.pop_front();
        }
        let grown = self.initial.max(2.0 * self.settled);
        if grown >= self.quota {
            (self.quota, Cause::AccountLimit)
        } else {
            (grown, Cause::KeyRange)
        }
    }

    pub(super) fn admits(&mut self, now: Instant) -> Result<(), Cause> {
        let (rate, cause) = self.ceiling(now);
        if rate != self.bucket.rate() {
            self.bucket.resize(rate, now);
        }
        if self.bucket.admits(now) {
            Ok(())
        } else {
            Err(cause)
        }
    }

    pub(super) fn charge(&mut self, units: f64, now: Instant) {
        let (start, used) = self.second;
        if now.saturating_duration_since(start) >= Duration::from_secs(1) {
            let highest = self.recent.back().map_or(self.settled, |r| r.1);
            if used > highest {
                self.recent.push_back((start, used));
            }
            self.second = (now, 0.0);
        }
        self.second.1 += units;
        self.bucket.refill(now);
        self.bucket.balance -= units;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spend(d: &mut Demand, now: Instant) -> f64 {
        let mut taken = 0.0;
        while d.admits(now).is_ok() {
            d.charge(100.0, now);
            taken += 100.0;
        }
        taken
    }

    #[test]
    fn a_new_table_serves_its_initial_throughput_then_double_its_settled_peak() {
        let start = Instant::now();
        let mut d = Demand::new(4000.0, 40_000.0, 0.0, start);
        assert_eq!(spend(&mut d, start), 4000.0);
        assert_eq!(d.admits(start), Err(Cause::KeyRange));
        // A peak of 4,000 in one second, then 30 minutes later the ceiling is 8,000.
        d.charge(0.0, start + Duration::from_secs(1));
        let settled = start + SETTLING + Duration::from_secs(5);
        assert!(d.admits(settled).is_ok());
        let settled = settled + Duration::from_secs(1);
        assert_eq!(spend(&mut d, settled), 8000.0);
        // 30 minutes after a second at 8,000, twice that is beyond the quota: it binds.
        d.charge(0.0, settled + Duration::from_secs(1));
        d.requota(10_000.0);
        let capped = settled + SETTLING + Duration::from_secs(5);
        assert!(d.admits(capped).is_ok());
        let capped = capped + Duration::from_secs(1);
        assert_eq!(spend(&mut d, capped), 10_000.0);
        assert_eq!(d.admits(capped), Err(Cause::AccountLimit));
    }

    #[test]
    fn a_table_switched_from_provisioned_keeps_its_throughput() {
        let start = Instant::now();
        let mut d = Demand::new(4000.0, 40_000.0, 6000.0, start);
        assert_eq!(spend(&mut d, start), 6000.0);
    }
}
