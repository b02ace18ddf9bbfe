//! DynamoDB numbers: exact decimals of up to 38 significant digits with a magnitude in
//! `1E-130 ..= 9.99..9E+125`, kept in one canonical form so that equal numbers are equal
//! byte for byte (`1.50` and `1.5`, `-0` and `0`).
//!
//! The representation is `sign × 0.d1d2…dn × 10^exp` with `d1 != 0` and `dn != 0`; zero has
//! no digits. Comparing two numbers therefore never needs arithmetic, and the key encoding
//! (`model::key`) can emit an order-preserving byte string straight from the fields.

use std::cmp::Ordering;
use std::fmt;

use num_bigint::{BigInt, Sign};

/// Largest number of significant digits DynamoDB stores.
pub const MAX_DIGITS: usize = 38;
/// `exp` of the largest allowed magnitude (9.99…E+125 is 0.999… × 10^126).
pub const MAX_EXP: i32 = 126;
/// `exp` of the smallest allowed magnitude (1E-130 is 0.1 × 10^-129).
pub const MIN_EXP: i32 = -129;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Significant digits as ASCII, no leading or trailing zeros; empty for zero.
    digits: Box<str>,
    exp: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("A value provided cannot be converted into a number")]
    NotANumber,
    /// A result of arithmetic with more than 38 significant digits.
    #[error("DynamoDB only supports precision up to 38 digits")]
    Precision,
    /// A number sent with more than 38 significant digits.
    #[error("Attempting to store more than 38 significant digits in a Number")]
    TooManyDigits,
    #[error(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )]
    Overflow,
    #[error("Number underflow. Attempting to store a number with magnitude smaller than supported range")]
    Underflow,
}

impl Number {
    pub fn zero() -> Self {
        Number {
            negative: false,
            digits: "".into(),
            exp: 0,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Significant digits (ASCII) and exponent, as described in the module doc.
    pub fn parts(&self) -> (&str, i32) {
        (&self.digits, self.exp)
    }

    /// Parses DynamoDB's accepted syntax: optional sign, digits with an optional point
    /// (`5.`, `.5`), optional exponent. No whitespace, no hex, no `NaN`/`Infinity`.
    pub fn parse(s: &str) -> Result<Number, NumberError> {
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&c) = bytes.first() {
            if c == b'+' || c == b'-' {
                negative = c == b'-';
                i = 1;
            }
        }
        let mut mantissa = String::new();
        let mut point_pos: Option<usize> = None;
        let mut saw_digit = false;
        while let Some(&b) = bytes.get(i) {
            match b {
                c @ b'0'..=b'9' => {
                    mantissa.push(c as char);
                    saw_digit = true;
                }
                b'.' if point_pos.is_none() => point_pos = Some(mantissa.len()),
                _ => break,
            }
            i += 1;
        }
        if !saw_digit {
            return Err(NumberError::NotANumber);
        }
        let mut exp10: i64 = 0;
        if let Some(&marker) = bytes.get(i) {
            if marker != b'e' && marker != b'E' {
                return Err(NumberError::NotANumber);
            }
            i += 1;
            let mut exp_neg = false;
            if let Some(&sign @ (b'+' | b'-')) = bytes.get(i) {
                exp_neg = sign == b'-';
                i += 1;
            }
            let start = i;
            while let Some(&d) = bytes.get(i).filter(|d| d.is_ascii_digit()) {
                // Saturate: anything this large is an overflow or underflow anyway.
                exp10 = (exp10 * 10 + i64::from(d - b'0')).min(1_000_000);
                i += 1;
            }
            if i == start || i != bytes.len() {
                return Err(NumberError::NotANumber);
            }
            if exp_neg {
                exp10 = -exp10;
            }
        }
        let int_len = point_pos.unwrap_or(mantissa.len()) as i64;
        Self::from_digits(negative, &mantissa, int_len + exp10).map_err(|e| match e {
            NumberError::Precision => NumberError::TooManyDigits,
            other => other,
        })
    }

    /// Builds `±0.<digits> × 10^exp` from digits that may carry leading/trailing zeros.
    fn from_digits(negative: bool, raw: &str, exp: i64) -> Result<Number, NumberError> {
        let leading = raw.bytes().take_while(|&b| b == b'0').count();
        let trimmed = raw[leading..].trim_end_matches('0');
        if trimmed.is_empty() {
            return Ok(Number::zero());
        }
        let exp = exp - leading as i64;
        if trimmed.len() > MAX_DIGITS {
            return Err(NumberError::Precision);
        }
        if exp > i64::from(MAX_EXP) {
            return Err(NumberError::Overflow);
        }
        if exp < i64::from(MIN_EXP) {
            return Err(NumberError::Underflow);
        }
        Ok(Number {
            negative,
            digits: trimmed.into(),
            exp: exp as i32,
        })
    }

    /// `(mantissa, scale)` with value = mantissa × 10^-scale.
    fn to_bigint(&self) -> (BigInt, i64) {
        if self.is_zero() {
            return (BigInt::from(0), 0);
        }
        let sign = if self.negative {
            Sign::Minus
        } else {
            Sign::Plus
        };
        let mag = BigInt::parse_bytes(self.digits.as_bytes(), 10).unwrap_or_default();
        let mag = if sign == Sign::Minus { -mag } else { mag };
        (mag, self.digits.len() as i64 - i64::from(self.exp))
    }

    fn from_bigint(m: BigInt, scale: i64) -> Result<Number, NumberError> {
        let negative = m.sign() == Sign::Minus;
        let digits = m.magnitude().to_str_radix(10);
        let exp = digits.len() as i64 - scale;
        Self::from_digits(negative, &digits, exp)
    }

    pub fn checked_add(&self, other: &Number) -> Result<Number, NumberError> {
        let (a, sa) = self.to_bigint();
        let (b, sb) = other.to_bigint();
        let scale = sa.max(sb);
        let a = a * BigInt::from(10).pow((scale - sa) as u32);
        let b = b * BigInt::from(10).pow((scale - sb) as u32);
        Self::from_bigint(a + b, scale)
    }

    pub fn checked_sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.checked_add(&other.negated())
    }

    pub fn negated(&self) -> Number {
        let mut n = self.clone();
        if !n.is_zero() {
            n.negative = !n.negative;
        }
        n
    }

    /// Size DynamoDB charges: "1 byte per two significant digits, plus 1 byte" (Developer Guide).
    pub fn size(&self) -> usize {
        if self.is_zero() {
            return 1;
        }
        self.digits.len().div_ceil(2) + 1
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        fn magnitude(a: &Number, b: &Number) -> Ordering {
            match (a.is_zero(), b.is_zero()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => a.exp.cmp(&b.exp).then_with(|| a.digits.cmp(&b.digits)),
            }
        }
        match (self.negative, other.negative) {
            (false, false) => magnitude(self, other),
            (true, true) => magnitude(other, self),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Number {
    /// Plain decimal notation without exponent, as DynamoDB returns numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let n = self.digits.len() as i32;
        if self.exp <= 0 {
            f.write_str("0.")?;
            for _ in 0..-self.exp {
                f.write_str("0")?;
            }
            f.write_str(&self.digits)
        } else if self.exp >= n {
            f.write_str(&self.digits)?;
            for _ in 0..(self.exp - n) {
                f.write_str("0")?;
            }
            Ok(())
        } else {
            let (int, frac) = self.digits.split_at(self.exp as usize);
            write!(f, "{int}.{frac}")
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl std::str::FromStr for Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Number::parse(s)
    }
}

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Number::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_forms_match_dynamodb() {
        // Pairs observed from DynamoDB (Local) for the same inputs.
        let cases = [
            ("1.50", "1.5"),
            ("-0", "0"),
            ("1e5", "100000"),
            ("0.000123", "0.000123"),
            ("-1.0e-5", "-0.00001"),
            ("00012.3400", "12.34"),
            ("5.", "5"),
            (".5", "0.5"),
            ("+5", "5"),
            (
                "12345678901234567890123456789012345678000",
                "12345678901234567890123456789012345678000",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                Number::parse(input).unwrap().to_string(),
                want,
                "input {input}"
            );
        }
        let big = Number::parse("1E+125").unwrap().to_string();
        assert_eq!(big.len(), 126);
        let small = Number::parse("1.23E-130").unwrap().to_string();
        assert!(small.starts_with("0.000") && small.ends_with("123") && small.len() == 2 + 129 + 3);
    }

    #[test]
    fn rejects_what_dynamodb_rejects() {
        let cases = [
            ("1E+126", NumberError::Overflow),
            ("1E-131", NumberError::Underflow),
            (" 5", NumberError::NotANumber),
            ("0x10", NumberError::NotANumber),
            ("", NumberError::NotANumber),
            ("-", NumberError::NotANumber),
            (".", NumberError::NotANumber),
            ("1e", NumberError::NotANumber),
            ("1e5 ", NumberError::NotANumber),
            ("NaN", NumberError::NotANumber),
            ("Infinity", NumberError::NotANumber),
            ("1..2", NumberError::NotANumber),
            (
                "123456789012345678901234567890123456789",
                NumberError::TooManyDigits,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Number::parse(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn arithmetic_is_exact() {
        let n = |s: &str| Number::parse(s).unwrap();
        assert_eq!(n("0.1").checked_add(&n("0.2")).unwrap(), n("0.3"));
        assert_eq!(n("1").checked_sub(&n("1")).unwrap(), Number::zero());
        assert_eq!(n("-5").checked_add(&n("2.5")).unwrap(), n("-2.5"));
        assert_eq!(
            n("1E+125").checked_add(&n("9E+125")),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            n("1E+20").checked_add(&n("1E-20")),
            Err(NumberError::Precision),
            "41 significant digits"
        );
    }

    proptest! {
        #[test]
        fn display_round_trips(m in -10_000_000_000i64..10_000_000_000i64, e in -40i32..40) {
            let n = Number::parse(&format!("{m}e{e}")).unwrap();
            let again = Number::parse(&n.to_string()).unwrap();
            prop_assert_eq!(&n, &again);
        }

        #[test]
        fn order_matches_f64_for_small_values(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000, ea in -5i32..5, eb in -5i32..5) {
            let x = Number::parse(&format!("{a}e{ea}")).unwrap();
            let y = Number::parse(&format!("{b}e{eb}")).unwrap();
            let fx = (a as f64) * 10f64.powi(ea);
            let fy = (b as f64) * 10f64.powi(eb);
            // f64 is exact enough at these magnitudes to decide order except on ties.
            if (fx - fy).abs() > 1e-9 * fx.abs().max(fy.abs()).max(1.0) {
                prop_assert_eq!(x.cmp(&y), fx.partial_cmp(&fy).unwrap());
            }
        }

        #[test]
        fn add_then_sub_is_identity(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000, e in -10i32..10) {
            let x = Number::parse(&format!("{a}e{e}")).unwrap();
            let y = Number::parse(&format!("{b}")).unwrap();
            let sum = x.checked_add(&y).unwrap();
            prop_assert_eq!(sum.checked_sub(&y).unwrap(), x);
        }
    }
}
