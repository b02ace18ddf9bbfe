//! When and how long to wait before sending a failed call again.

use std::time::Duration;

use crate::Error;

/// Exponential backoff with full jitter (each wait is uniform in
/// `0..min(max_delay, base_delay * 2^attempt)`), bounded by attempts and by total time.
///
/// Throttling errors, transaction conflicts and connection failures before the request
/// was sent are retried for every call. Throttling is retried until `max_elapsed` whatever
/// `max_attempts` says: the request was not applied and will be once the caller slows
/// down, so a client offered more than a table's throughput converges to it instead of
/// failing its callers (DynamoDB: "Your request is eventually successful, unless your
/// retry queue is too large to finish"). After an *ambiguous* failure (a lost connection or
/// a server error, after which the write may have been applied) a call is retried only if
/// resending it cannot apply it twice: reads, puts and deletes (which set an absolute
/// state), and transactions with a `ClientRequestToken`. Updates, which may add to a
/// counter or append to a list, are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 disables retries.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No new attempt starts later than this after the first.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(25),
            max_delay: Duration::from_secs(2),
            max_elapsed: Duration::from_secs(20),
        }
    }
}

/// Whether resending a call can apply it twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads, and writes that set an absolute state.
    Safe,
    /// Writes that may not be applied twice (updates, token-less transactions).
    Unsafe,
}

impl RetryPolicy {
    /// One attempt only.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before attempt `attempt + 1` (attempt 0 was the first), or `None` to give
    /// up and return `error`.
    pub(crate) fn backoff(
        &self,
        attempt: u32,
        elapsed: Duration,
        error: &Error,
        idempotency: Idempotency,
    ) -> Option<Duration> {
        let attempts_left = attempt + 1 < self.max_attempts || error.is_throttling();
        if !attempts_left || !error.is_retryable() || self.max_attempts <= 1 {
            return None;
        }
        if idempotency == Idempotency::Unsafe && error.is_ambiguous() {
            return None;
        }
        let delay = self.jitter(attempt);
        (elapsed + delay < self.max_elapsed).then_some(delay)
    }

    pub(crate) fn jitter(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_delay);
        ceiling.mul_f64(rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: &str) -> Error {
        match kind {
            "throttle" => Error::Throttling {
                message: String::new(),
            },
            "validation" => Error::Validation {
                message: String::new(),
            },
            "internal" => Error::InternalServerError {
                message: String::new(),
            },
            "refused" => Error::from_status(tonic::Status::unavailable(
                "tcp connect error: Connection refused",
            )),
            "reset" => Error::from_status(tonic::Status::unavailable("connection reset")),
            other => panic!("no case {other}"),
        }
    }

    #[test]
    fn decides_what_to_retry() {
        let policy = RetryPolicy::default();
        let cases = [
            ("throttle", Idempotency::Unsafe, true),
            ("validation", Idempotency::Safe, false),
            ("internal", Idempotency::Safe, true),
            ("internal", Idempotency::Unsafe, false),
            ("refused", Idempotency::Unsafe, true),
            ("reset", Idempotency::Safe, true),
            ("reset", Idempotency::Unsafe, false),
        ];
        for (kind, idem, retried) in cases {
            let got = policy
                .backoff(0, Duration::ZERO, &err(kind), idem)
                .is_some();
            assert_eq!(got, retried, "{kind} {idem:?}");
        }
    }

    #[test]
    fn stops_at_the_attempt_and_time_bounds() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let e = err("throttle");
        assert!(policy
            .backoff(1, Duration::ZERO, &e, Idempotency::Safe)
            .is_some());
        let conflict = Error::TransactionConflict {
            message: String::new(),
        };
        assert!(policy
            .backoff(2, Duration::ZERO, &conflict, Idempotency::Safe)
            .is_none());
        // Throttling is retried as long as time allows, and never with retries off.
        assert!(policy
            .backoff(10, Duration::ZERO, &e, Idempotency::Safe)
            .is_some());
        assert!(RetryPolicy::none()
            .backoff(0, Duration::ZERO, &e, Idempotency::Safe)
            .is_none());
        let late = policy.max_elapsed;
        assert!(policy.backoff(0, late, &e, Idempotency::Safe).is_none());
        assert!(RetryPolicy::none()
            .backoff(0, Duration::ZERO, &e, Idempotency::Safe)
            .is_none());
    }

    #[test]
    fn jitter_stays_under_the_exponential_ceiling() {
        let policy = RetryPolicy::default();
        for attempt in 0..30 {
            let ceiling = policy
                .base_delay
                .saturating_mul(1u32 << attempt.min(20))
                .min(policy.max_delay);
            for _ in 0..50 {
                assert!(policy.jitter(attempt) <= ceiling);
            }
        }
    }
}
