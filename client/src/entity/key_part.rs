//! How field values become key text and timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

/// A value that can appear in a key template. Numbers render in decimal without padding,
/// so they sort as text: pad them yourself (a `String` field) when the sort key must order
/// them numerically.
pub trait KeyPart {
    /// `None` for an absent value, which leaves a sparse index key unwritten.
    fn key_text(&self) -> Option<String>;
}

macro_rules! display_key_part {
    ($($t:ty),*) => {$(
        impl KeyPart for $t {
            fn key_text(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}

display_key_part!(
    String, str, char, bool, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

impl<T: KeyPart + ?Sized> KeyPart for &T {
    fn key_text(&self) -> Option<String> {
        (**self).key_text()
    }
}

impl<T: KeyPart> KeyPart for Option<T> {
    fn key_text(&self) -> Option<String> {
        self.as_ref().and_then(KeyPart::key_text)
    }
}

/// A type a `created_at`, `updated_at` field can hold.
pub trait Timestamp {
    fn from_system_time(now: SystemTime) -> Self;
}

fn epoch_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Timestamp for u64 {
    /// Seconds since the Unix epoch, as DynamoDB's TTL reads them.
    fn from_system_time(now: SystemTime) -> Self {
        epoch_seconds(now)
    }
}

impl Timestamp for i64 {
    fn from_system_time(now: SystemTime) -> Self {
        i64::try_from(epoch_seconds(now)).unwrap_or(i64::MAX)
    }
}

impl Timestamp for SystemTime {
    fn from_system_time(now: SystemTime) -> Self {
        now
    }
}

impl<T: Timestamp> Timestamp for Option<T> {
    fn from_system_time(now: SystemTime) -> Self {
        Some(T::from_system_time(now))
    }
}
