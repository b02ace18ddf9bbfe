//! Exact decimal numbers, and the number text shared by the serializer and deserializer.
//!
//! DynamoDB numbers are decimals of up to 38 significant digits; `f64` cannot hold most of
//! them, so [`Decimal`] carries a [`BigDecimal`] and travels as the number's text.

use std::fmt;
use std::str::FromStr;

use bigdecimal::num_bigint::Sign;
use bigdecimal::BigDecimal;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValueError;

/// Newtype-struct name by which [`Decimal`] tells our serializer "this text is a number, store
/// it as `N`". Any other serializer just sees a newtype around a string.
pub(super) const NUMBER_TOKEN: &str = "\u{0}keyfall::Number";

/// serde_json, with its `arbitrary_precision` feature, carries a number's exact text as a
/// one-field struct of this name (field name the same); recognising it keeps JSON numbers exact.
pub(super) const JSON_NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// An exact decimal number, stored as `N` without going through binary floating point.
///
/// Through other serializers (JSON, say) it is a string, so no digits are lost there either;
/// it reads back from a number or a string.
///
/// One limit comes from serde itself: inside types it buffers (`#[serde(flatten)]`, untagged
/// and internally tagged enums) a number is held as an `f64`, so only about 17 significant
/// digits survive there.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal(pub BigDecimal);

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int, scale) = self.0.as_bigint_and_exponent();
        let digits = int.magnitude().to_string();
        let text = render(int.sign() == Sign::Minus, &digits, -i128::from(scale));
        f.write_str(&text)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

impl FromStr for Decimal {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        BigDecimal::from_str(text)
            .map(Decimal)
            .map_err(|_| ValueError::Message(format!("{text:?} is not a number")))
    }
}

impl From<BigDecimal> for Decimal {
    fn from(value: BigDecimal) -> Self {
        Decimal(value)
    }
}

impl From<Decimal> for BigDecimal {
    fn from(value: Decimal) -> Self {
        value.0
    }
}

impl From<i64> for Decimal {
    fn from(value: i64) -> Self {
        Decimal(BigDecimal::from(value))
    }
}

impl From<u64> for Decimal {
    fn from(value: u64) -> Self {
        Decimal(BigDecimal::from(value))
    }
}

impl From<i128> for Decimal {
    fn from(value: i128) -> Self {
        Decimal(BigDecimal::from(value))
    }
}

impl From<u128> for Decimal {
    fn from(value: u128) -> Self {
        Decimal(BigDecimal::from(value))
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(NUMBER_TOKEN, &self.to_string())
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(NUMBER_TOKEN, DecimalVisitor)
    }
}

struct DecimalVisitor;

impl<'de> Visitor<'de> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number, or its text")
    }

    /// Formats that do not know our token hand the newtype back; its content is the text.
    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Decimal, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Decimal, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(value))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Decimal, E> {
        Ok(Decimal::from(value))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Decimal, E> {
        Ok(Decimal::from(value))
    }

    /// Only reached when a format buffered the number as a float; the shortest text that
    /// round-trips is the best that can be recovered.
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Decimal, E> {
        let text =
            f64_text(value).ok_or_else(|| E::custom(format!("{value} is not a finite number")))?;
        self.visit_str(&text)
    }

    /// serde_json's exact number (see [`JSON_NUMBER_TOKEN`]).
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Decimal, A::Error> {
        match map.next_key::<String>()? {
            Some(key) if key == JSON_NUMBER_TOKEN => {
                let text: String = map.next_value()?;
                self.visit_str(&text)
            }
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

/// Most zeros plain notation may add (after the digits, or between the point and the digits)
/// before scientific notation is used instead: `1e300` written out is 301 characters.
const PLAIN_PADDING_LIMIT: i128 = 20;

/// Text for `±digits × 10^exponent`: plain notation, which is what people expect to read,
/// unless that needs more than [`PLAIN_PADDING_LIMIT`] padding zeros. Both are DynamoDB number
/// syntax. Zero is always `0`, since DynamoDB has no negative zero.
fn render(negative: bool, digits: &str, exponent: i128) -> String {
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return "0".to_owned();
    }
    let sign = if negative { "-" } else { "" };
    let count = digits.len() as i128;
    let padding = if exponent >= 0 {
        exponent
    } else if -exponent < count {
        0
    } else {
        -exponent - count + 1
    };
    // Checked before building anything, so an absurd exponent never allocates its zeros.
    if padding > PLAIN_PADDING_LIMIT {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        return format!("{sign}{first}{point}{rest}E{:+}", exponent + count - 1);
    }
    let zeros = |n: i128| "0".repeat(usize::try_from(n).unwrap_or(0));
    if exponent >= 0 {
        format!("{sign}{digits}{}", zeros(exponent))
    } else if -exponent < count {
        let (int, frac) = digits.split_at(usize::try_from(count + exponent).unwrap_or(0));
        format!("{sign}{int}.{frac}")
    } else {
        format!("{sign}0.{}{digits}", zeros(-exponent - count))
    }
}

/// The shortest text that reads back as the same `f64`, or `None` for NaN and infinities,
/// which DynamoDB cannot store.
pub(super) fn f64_text(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    // `{:e}` gives the shortest round-trip digits; `render` picks the notation.
    Some(from_exponential(&format!("{value:e}")).unwrap_or_else(|| value.to_string()))
}

/// As [`f64_text`], with `f32`'s own shortest digits (`0.1f32` is `0.1`, not `0.100000001…`).
pub(super) fn f32_text(value: f32) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    Some(from_exponential(&format!("{value:e}")).unwrap_or_else(|| value.to_string()))
}

/// Re-renders Rust's `LowerExp` output (`-1.25e-7`).
fn from_exponential(text: &str) -> Option<String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = unsigned.split_once('e')?;
    let exponent: i128 = exponent.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    Some(render(negative, &digits, exponent - frac.len() as i128))
}

/// Why number text cannot be read as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotInteger {
    NotANumber,
    Fractional,
    /// More digits than any Rust integer has.
    TooLarge,
}

/// Digits beyond which no Rust integer type (`u128` has 39) can hold the value.
const MAX_INTEGER_DIGITS: i64 = 40;

/// Plain integer text (`-120`) for an integral number written any way DynamoDB allows
/// (`-1.2E+2`, `-120.0`), so integer fields read numbers however the writer spelled them.
pub(super) fn integer_text(text: &str) -> Result<String, NotInteger> {
    let parts = NumberParts::parse(text).ok_or(NotInteger::NotANumber)?;
    let digits = parts.digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    if trimmed.is_empty() {
        return Ok("0".to_owned());
    }
    let exponent = parts.exponent + (digits.len() - trimmed.len()) as i64;
    if exponent < 0 {
        return Err(NotInteger::Fractional);
    }
    if trimmed.len() as i64 + exponent > MAX_INTEGER_DIGITS {
        return Err(NotInteger::TooLarge);
    }
    let sign = if parts.negative { "-" } else { "" };
    let zeros = "0".repeat(usize::try_from(exponent).unwrap_or(0));
    Ok(format!("{sign}{trimmed}{zeros}"))
}

/// A number's text taken apart the way DynamoDB reads it: `±digits × 10^exponent`.
struct NumberParts {
    negative: bool,
    digits: String,
    exponent: i64,
}

/// Exponents are saturated here; anything this large is out of every range anyway.
const EXPONENT_LIMIT: i64 = 1_000_000;

impl NumberParts {
    /// Optional sign, digits with an optional point (`5.`, `.5`), optional exponent.
    fn parse(text: &str) -> Option<NumberParts> {
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
            None => (unsigned, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        let written_exponent = match exponent {
            Some(e) => parse_exponent(e)?,
            None => 0,
        };
        Some(NumberParts {
            negative,
            digits: format!("{int}{frac}"),
            exponent: written_exponent - frac.len() as i64,
        })
    }
}

fn parse_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |acc, b| {
        (acc * 10 + i64::from(b - b'0')).min(EXPONENT_LIMIT)
    });
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_render_shortest_round_trip_text() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (5.0, "5"),
            (0.0, "0"),
            (-0.0, "0"),
            (123456.0, "123456"),
            (1e300, "1E+300"),
            (1e21, "1E+21"),
            (1e20, "100000000000000000000"),
            (1.5e-7, "0.00000015"),
            (1e-21, "1E-21"),
            (1e-20, "0.00000000000000000001"),
            (0.001, "0.001"),
            (f64::MAX, "1.7976931348623157E+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
        ];
        for &(value, text) in cases {
            assert_eq!(f64_text(value).as_deref(), Some(text), "{value:e}");
            assert_eq!(text.parse::<f64>().ok(), Some(value), "{text}");
        }
    }

    #[test]
    fn f32_uses_its_own_shortest_digits() {
        assert_eq!(f32_text(0.1).as_deref(), Some("0.1"));
        assert_eq!(f32_text(f32::MAX).as_deref(), Some("3.4028235E+38"));
    }

    #[test]
    fn non_finite_floats_have_no_text() {
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(f64_text(value), None);
        }
        assert_eq!(f32_text(f32::NAN), None);
    }

    #[test]
    fn decimals_keep_every_digit() {
        let cases = [
            (
                "12345678901234567890.123456789012345678",
                "12345678901234567890.123456789012345678",
            ),
            (
                "99999999999999999999999999999999999999",
                "99999999999999999999999999999999999999",
            ),
            ("-0.000000000000000000000000000000000000001", "-1E-39"),
            ("1.50", "1.50"),
            ("0", "0"),
            ("-0.0", "0"),
            ("1E+125", "1E+125"),
            (
                "9.9999999999999999999999999999999999999E+125",
                "9.9999999999999999999999999999999999999E+125",
            ),
            ("1E-130", "1E-130"),
            ("0.001", "0.001"),
            ("1200", "1200"),
        ];
        for (input, text) in cases {
            let decimal: Decimal = input.parse().unwrap();
            assert_eq!(decimal.to_string(), text, "{input}");
            assert_eq!(text.parse::<Decimal>().unwrap(), decimal, "{input}");
        }
    }

    #[test]
    fn decimal_rejects_non_numbers() {
        for text in ["", "abc", "1.2.3", "NaN"] {
            assert!(text.parse::<Decimal>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn decimal_equality_and_hash_ignore_trailing_zeros() {
        use std::collections::HashSet;
        let a: Decimal = "1.5".parse().unwrap();
        let b: Decimal = "1.50".parse().unwrap();
        assert_eq!(a, b);
        assert!(HashSet::from([a.clone()]).contains(&b));
        assert!(Decimal::from(2i64) > a);
        assert_eq!(format!("{a:?}"), "Decimal(1.5)");
    }

    #[test]
    fn decimal_through_json_is_a_string_and_reads_numbers_too() {
        let decimal: Decimal = "12345678901234567890.123456789012345678".parse().unwrap();
        let json = serde_json::to_string(&decimal).unwrap();
        assert_eq!(json, "\"12345678901234567890.123456789012345678\"");
        assert_eq!(serde_json::from_str::<Decimal>(&json).unwrap(), decimal);
        // An exact JSON number (serde_json's arbitrary_precision is on in this workspace).
        let from_number: Decimal =
            serde_json::from_str("12345678901234567890.123456789012345678").unwrap();
        assert_eq!(from_number, decimal);
        assert_eq!(
            serde_json::from_str::<Decimal>("42").unwrap(),
            Decimal::from(42u64)
        );
    }

    #[test]
    fn integer_text_normalises_integral_spellings() {
        let cases: &[(&str, Result<&str, NotInteger>)] = &[
            ("42", Ok("42")),
            ("+42", Ok("42")),
            ("-0", Ok("0")),
            ("007", Ok("7")),
            ("1.2E+2", Ok("120")),
            ("-120.000", Ok("-120")),
            ("12000e-3", Ok("12")),
            ("0E+999999999", Ok("0")),
            ("5.", Ok("5")),
            ("1.5", Err(NotInteger::Fractional)),
            (".5", Err(NotInteger::Fractional)),
            ("1E-1", Err(NotInteger::Fractional)),
            ("1E+40", Err(NotInteger::TooLarge)),
            ("1E+999999999999", Err(NotInteger::TooLarge)),
            ("", Err(NotInteger::NotANumber)),
            ("-", Err(NotInteger::NotANumber)),
            (".", Err(NotInteger::NotANumber)),
            ("1e", Err(NotInteger::NotANumber)),
            ("abc", Err(NotInteger::NotANumber)),
            ("1 ", Err(NotInteger::NotANumber)),
        ];
        for &(text, expected) in cases {
            assert_eq!(
                integer_text(text).as_deref(),
                expected.as_deref(),
                "{text:?}"
            );
        }
    }
}
