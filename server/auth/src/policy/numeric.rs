//! Exact decimal comparison for the Numeric* operators.
//!
//! Comparing as f64 would make `NumericEquals 0.1` disagree with a request value of `0.10000000000000001`
//! and lose precision past 2^53; comparing normalised digit strings is exact and, for request values,
//! allocation-free (a [`Decimal`] borrows the text it was parsed from).

use std::cmp::Ordering;

/// A decimal number borrowed from its text: `[+-]digits[.digits][e[+-]digits]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decimal<'a> {
    negative: bool,
    /// Integer digits, leading zeros removed.
    int: &'a str,
    /// Fraction digits, trailing zeros removed.
    frac: &'a str,
    exp: i64,
}

/// A policy value parsed at compile time; [`OwnedDecimal::view`] compares it without re-validating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedDecimal {
    negative: bool,
    int: Box<str>,
    frac: Box<str>,
    exp: i64,
}

impl OwnedDecimal {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Decimal::parse(s).map(|d| OwnedDecimal {
            negative: d.negative,
            int: Box::from(d.int),
            frac: Box::from(d.frac),
            exp: d.exp,
        })
    }

    pub(crate) fn view(&self) -> Decimal<'_> {
        Decimal {
            negative: self.negative,
            int: &self.int,
            frac: &self.frac,
            exp: self.exp,
        }
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

impl<'a> Decimal<'a> {
    pub(crate) fn parse(s: &'a str) -> Option<Self> {
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], parse_exponent(&rest[i + 1..])?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        Some(Decimal {
            negative,
            int: int.trim_start_matches('0'),
            frac: frac.trim_end_matches('0'),
            exp,
        })
    }

    fn is_zero(&self) -> bool {
        self.int.is_empty() && self.frac.is_empty()
    }

    /// Zeros between the decimal point and the first significant digit, when the integer part is 0.
    fn fraction_leading_zeros(&self) -> usize {
        if self.int.is_empty() {
            self.frac.bytes().take_while(|&b| b == b'0').count()
        } else {
            0
        }
    }

    /// With the value written as `0.d1d2d3... × 10^point`, `point` (d1 non-zero). Only for non-zero values.
    fn point(&self) -> i64 {
        let int_len = i64::try_from(self.int.len()).unwrap_or(i64::MAX);
        let lz = i64::try_from(self.fraction_leading_zeros()).unwrap_or(i64::MAX);
        int_len.saturating_add(self.exp).saturating_sub(lz)
    }

    fn significant_digits(&self) -> impl Iterator<Item = u8> + 'a {
        let skip = self.fraction_leading_zeros();
        self.int.bytes().chain(self.frac.bytes()).skip(skip)
    }

    pub(crate) fn compare(&self, other: &Decimal<'_>) -> Ordering {
        let sign = |d: &Decimal<'_>| match (d.is_zero(), d.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        };
        let (a, b) = (sign(self), sign(other));
        if a != b || a == 0 {
            return a.cmp(&b);
        }
        let magnitude = self
            .point()
            .cmp(&other.point())
            .then_with(|| compare_digits(self.significant_digits(), other.significant_digits()));
        if a < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

/// Compares digit sequences as if the shorter were padded with trailing zeros.
fn compare_digits(mut a: impl Iterator<Item = u8>, mut b: impl Iterator<Item = u8>) -> Ordering {
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let (x, y) = (x.unwrap_or(b'0'), y.unwrap_or(b'0'));
                if x != y {
                    return x.cmp(&y);
                }
            }
        }
    }
}

fn parse_exponent(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || digits.len() > 18 || !all_digits(digits) {
        return None;
    }
    let value: i64 = digits.parse().ok()?;
    Some(if s.starts_with('-') { -value } else { value })
}
