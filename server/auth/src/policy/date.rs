//! Date parsing for the Date* operators: ISO 8601 (`2026-11-23`, `2026-11-23T12:00:00Z`, fractional
//! seconds, `±hh:mm` offsets) or epoch seconds. Hand-written so it needs only the `time` crate's
//! calendar arithmetic (not its `parsing` feature) and allocates nothing for request values.

use time::{Date, Month};

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i128 = 2_440_588;
const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Parses a date into nanoseconds since the Unix epoch, so comparisons are plain integer compares.
pub(crate) fn parse_instant(s: &str) -> Option<i128> {
    let s = s.trim();
    if s.bytes().any(|b| b == b'-' || b == b':') && !s.starts_with('-') {
        parse_iso(s)
    } else {
        parse_epoch(s)
    }
}

/// `[-]seconds[.fraction]`.
fn parse_epoch(s: &str) -> Option<i128> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((int, frac)) if !frac.is_empty() => (int, frac),
        Some(_) => return None,
        None => (rest, ""),
    };
    if int.is_empty() || int.len() > 20 || !digits_only(int) || !digits_only(frac) {
        return None;
    }
    let seconds: i128 = int.parse().ok()?;
    let nanos = fraction_nanos(frac);
    let total = seconds.checked_mul(NANOS_PER_SECOND)?.checked_add(nanos)?;
    Some(if negative { -total } else { total })
}

fn digits_only(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Nanoseconds in a fraction's digits (beyond nanosecond precision is truncated).
fn fraction_nanos(frac: &str) -> i128 {
    let mut nanos = 0i128;
    for i in 0..9 {
        let digit = frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
        nanos = nanos * 10 + digit;
    }
    nanos
}

/// A forward-only reader over ASCII bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.bytes.get(self.at) == Some(&byte);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn number(&mut self, width: usize) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + width)?;
        let mut value = 0u32;
        for &b in digits {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.at += width;
        Some(value)
    }

    /// A run of at least one digit, returned as text.
    fn digits(&mut self) -> Option<&str> {
        let start = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let run = self.bytes.get(start..self.at)?;
        if run.is_empty() {
            return None;
        }
        std::str::from_utf8(run).ok()
    }

    fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }
}

fn parse_iso(s: &str) -> Option<i128> {
    let mut c = Cursor {
        bytes: s.as_bytes(),
        at: 0,
    };
    let year = i32::try_from(c.number(4)?).ok()?;
    let month = c.eat(b'-').then(|| c.number(2)).flatten()?;
    let day = c.eat(b'-').then(|| c.number(2)).flatten()?;
    let date = Date::from_calendar_date(
        year,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let days = i128::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
    let mut seconds = days * 86_400;
    let mut nanos = 0;
    if c.eat(b'T') || c.eat(b't') {
        let hour = c.number(2)?;
        let minute = c.eat(b':').then(|| c.number(2)).flatten()?;
        let mut second = 0;
        if c.eat(b':') {
            second = c.number(2)?;
            if c.eat(b'.') || c.eat(b',') {
                nanos = fraction_nanos(c.digits()?);
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        seconds += i128::from(hour * 3600 + minute * 60 + second);
        seconds -= offset_seconds(&mut c)?;
    }
    if !c.at_end() {
        return None;
    }
    Some(seconds * NANOS_PER_SECOND + nanos)
}

/// `Z`, `±hh`, `±hhmm`, `±hh:mm`, or nothing (UTC).
fn offset_seconds(c: &mut Cursor<'_>) -> Option<i128> {
    if c.eat(b'Z') || c.eat(b'z') || c.at_end() {
        return Some(0);
    }
    let sign = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        return None;
    };
    let hours = c.number(2)?;
    let minutes = if c.at_end() {
        0
    } else {
        c.eat(b':');
        c.number(2)?
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * i128::from(hours * 3600 + minutes * 60))
}
