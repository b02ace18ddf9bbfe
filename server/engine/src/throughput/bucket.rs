//! A token bucket: what every limit on throughput is made of.

use std::time::Instant;

#[derive(Debug, Clone)]
pub(super) struct Bucket {
    /// Units per second.
    rate: f64,
    /// Seconds of unused capacity the bucket keeps.
    burst: f64,
    pub(super) balance: f64,
    at: Instant,
}

impl Bucket {
    /// A bucket holding its whole burst.
    pub(super) fn full(rate: f64, burst: f64, now: Instant) -> Bucket {
        Bucket {
            rate,
            burst,
            balance: rate * burst,
            at: now,
        }
    }

    pub(super) fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.balance = (self.balance + elapsed * self.rate).min(self.capacity());
        self.at = now;
    }

    /// What the bucket holds when full.
    pub(super) fn capacity(&self) -> f64 {
        self.rate * self.burst
    }

    pub(super) fn rate(&self) -> f64 {
        self.rate
    }

    /// A new rate keeps what the bucket holds, up to the new burst.
    pub(super) fn resize(&mut self, rate: f64, now: Instant) {
        self.refill(now);
        self.rate = rate;
        self.balance = self.balance.min(self.capacity());
    }

    /// Whether a request may start: the bucket is not empty (nor overdrawn).
    pub(super) fn admits(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.balance > 0.0
    }

    /// Whether the bucket holds its whole burst: it might as well not exist.
    pub(super) fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.balance >= self.capacity()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_keeps_its_burst_and_refills_at_its_rate() {
        let start = Instant::now();
        let mut b = Bucket::full(10.0, 300.0, start);
        assert_eq!(b.balance, 3000.0);
        // Idle time beyond the burst adds nothing.
        b.refill(start + Duration::from_secs(60));
        assert_eq!(b.balance, 3000.0);
        b.balance -= 3005.0;
        assert!(
            !b.admits(start + Duration::from_secs(60)),
            "overdrawn: the next request waits"
        );
        b.refill(start + Duration::from_millis(61_000));
        assert!((b.balance - 5.0).abs() < 1e-9, "{}", b.balance);
        // A lower rate caps what is kept.
        b.resize(0.01, start + Duration::from_millis(61_000));
        assert!((b.balance - 3.0).abs() < 1e-9, "{}", b.balance);
        assert!(b.is_full(start + Duration::from_millis(61_000)));
    }
}
