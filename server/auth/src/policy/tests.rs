//! Table-driven tests: one table per operator family / feature. Rows read as
//! (policy fragment, request context keys, expected outcome). The tables are exempt from rustfmt so
//! each row stays on one line and the table stays readable.

use super::date::parse_instant;
use super::ip::Cidr;
use super::numeric::Decimal;
use super::wildcard::Glob;
use super::*;

const ACTION: &str = "dynamodb:PutItem";
const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/Music";

/// Request condition keys: (key, values). An empty value list = key present with zero values.
type Keys<'a> = &'a [(&'a str, &'a [&'a str])];
const NONE: Keys = &[];

fn context(action: &str, resource: &str, keys: Keys) -> SimpleContext {
    keys.iter()
        .fold(SimpleContext::new(action, resource), |ctx, (k, v)| {
            ctx.with(k, v)
        })
}

fn policy(doc: &str) -> Policy {
    Policy::from_json_str(doc).unwrap_or_else(|e| panic!("{doc}\n  failed to parse: {e}"))
}

/// Whether an `Allow * on *` statement carrying this Condition block applies.
fn condition_holds(condition: &str, keys: Keys) -> bool {
    let doc = format!(
        r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {condition}}}}}"#
    );
    policy(&doc).evaluate(&context(ACTION, TABLE, keys)) == Decision::Allow
}

fn check_conditions(rows: &[(&str, Keys, bool)]) {
    for (condition, keys, expected) in rows {
        assert_eq!(
            condition_holds(condition, keys),
            *expected,
            "condition {condition} with keys {keys:?}"
        );
    }
}

#[rustfmt::skip]
#[test]
fn string_operators() {
    check_conditions(&[
        // StringEquals: exact, case-sensitive; absent key is false.
        (r#"{"StringEquals": {"aws:username": "alice"}}"#, &[("aws:username", &["alice"])], true),
        (r#"{"StringEquals": {"aws:username": "alice"}}"#, &[("aws:username", &["Alice"])], false),
        (r#"{"StringEquals": {"aws:username": "alice"}}"#, NONE, false),
        // StringNotEquals: absent key is TRUE.
        (r#"{"StringNotEquals": {"aws:username": "alice"}}"#, &[("aws:username", &["bob"])], true),
        (r#"{"StringNotEquals": {"aws:username": "alice"}}"#, &[("aws:username", &["alice"])], false),
        (r#"{"StringNotEquals": {"aws:username": "alice"}}"#, NONE, true),
        // IgnoreCase variants (including non-ASCII case folding).
        (r#"{"StringEqualsIgnoreCase": {"aws:username": "alice"}}"#, &[("aws:username", &["ALICE"])], true),
        (r#"{"StringEqualsIgnoreCase": {"aws:username": "alice"}}"#, &[("aws:username", &["bob"])], false),
        (r#"{"StringEqualsIgnoreCase": {"aws:username": "ÉLODIE"}}"#, &[("aws:username", &["élodie"])], true),
        (r#"{"StringEqualsIgnoreCase": {"aws:username": "alice"}}"#, NONE, false),
        (r#"{"StringNotEqualsIgnoreCase": {"aws:username": "alice"}}"#, &[("aws:username", &["ALICE"])], false),
        (r#"{"StringNotEqualsIgnoreCase": {"aws:username": "alice"}}"#, &[("aws:username", &["bob"])], true),
        (r#"{"StringNotEqualsIgnoreCase": {"aws:username": "alice"}}"#, NONE, true),
        // StringLike: `*` and `?`, case-sensitive.
        (r#"{"StringLike": {"aws:username": "ali*"}}"#, &[("aws:username", &["alice"])], true),
        (r#"{"StringLike": {"aws:username": "a?ice"}}"#, &[("aws:username", &["alice"])], true),
        (r#"{"StringLike": {"aws:username": "a?ice"}}"#, &[("aws:username", &["aice"])], false),
        (r#"{"StringLike": {"aws:username": "ALI*"}}"#, &[("aws:username", &["alice"])], false),
        (r#"{"StringLike": {"aws:username": "*"}}"#, &[("aws:username", &[""])], true),
        (r#"{"StringLike": {"aws:username": "ali*"}}"#, NONE, false),
        (r#"{"StringNotLike": {"aws:username": "ali*"}}"#, &[("aws:username", &["alice"])], false),
        (r#"{"StringNotLike": {"aws:username": "ali*"}}"#, &[("aws:username", &["bob"])], true),
        (r#"{"StringNotLike": {"aws:username": "ali*"}}"#, NONE, true),
        // Several policy values for one key are OR-ed; negated operators need none to match.
        (r#"{"StringEquals": {"aws:username": ["bob", "alice"]}}"#, &[("aws:username", &["alice"])], true),
        (r#"{"StringEquals": {"aws:username": ["bob", "alice"]}}"#, &[("aws:username", &["carol"])], false),
        (r#"{"StringNotEquals": {"aws:username": ["bob", "alice"]}}"#, &[("aws:username", &["alice"])], false),
        (r#"{"StringNotEquals": {"aws:username": ["bob", "alice"]}}"#, &[("aws:username", &["carol"])], true),
        (r#"{"StringNotLike": {"aws:username": ["b*", "a*"]}}"#, &[("aws:username", &["alice"])], false),
        // Several keys under one operator, and several operators, are AND-ed.
        (r#"{"StringEquals": {"aws:username": "alice", "dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}"#,
         &[("aws:username", &["alice"]), ("dynamodb:Select", &["SPECIFIC_ATTRIBUTES"])], true),
        (r#"{"StringEquals": {"aws:username": "alice", "dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}"#,
         &[("aws:username", &["alice"])], false),
        (r#"{"StringEquals": {"aws:username": "alice"}, "StringLike": {"dynamodb:Select": "SPECIFIC*"}}"#,
         &[("aws:username", &["alice"]), ("dynamodb:Select", &["ALL_ATTRIBUTES"])], false),
        (r#"{"StringEquals": {"aws:username": "alice"}, "StringLike": {"dynamodb:Select": "SPECIFIC*"}}"#,
         &[("aws:username", &["alice"]), ("dynamodb:Select", &["SPECIFIC_ATTRIBUTES"])], true),
        (r#"{}"#, NONE, true),
        // Condition keys are case-insensitive.
        (r#"{"StringEquals": {"AWS:UserName": "alice"}}"#, &[("aws:username", &["alice"])], true),
        (r#"{"StringEquals": {"aws:username": "alice"}}"#, &[("AWS:USERNAME", &["alice"])], true),
        // Numbers and booleans in the policy are compared as their literal text.
        (r#"{"StringEquals": {"s3:max-keys": 10}}"#, &[("s3:max-keys", &["10"])], true),
        (r#"{"StringEquals": {"s3:max-keys": 1.50}}"#, &[("s3:max-keys", &["1.50"])], true),
        (r#"{"StringEquals": {"s3:max-keys": 1.50}}"#, &[("s3:max-keys", &["1.5"])], false),
        (r#"{"StringEquals": {"aws:flag": true}}"#, &[("aws:flag", &["true"])], true),
        // A multi-valued key without a set qualifier: any value may match; negated needs none to.
        (r#"{"StringEquals": {"aws:username": "alice"}}"#, &[("aws:username", &["bob", "alice"])], true),
        (r#"{"StringNotEquals": {"aws:username": "alice"}}"#, &[("aws:username", &["bob", "alice"])], false),
        (r#"{"StringNotEquals": {"aws:username": "alice"}}"#, &[("aws:username", &["bob", "carol"])], true),
        // A present key with zero values behaves like an absent key.
        (r#"{"StringEquals": {"aws:username": "alice"}}"#, &[("aws:username", &[])], false),
        (r#"{"StringNotEquals": {"aws:username": "alice"}}"#, &[("aws:username", &[])], true),
    ]);
}

#[rustfmt::skip]
#[test]
fn if_exists() {
    check_conditions(&[
        (r#"{"StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}"#, NONE, true),
        (r#"{"StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}"#, &[("dynamodb:Select", &["SPECIFIC_ATTRIBUTES"])], true),
        (r#"{"StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}"#, &[("dynamodb:Select", &["ALL_ATTRIBUTES"])], false),
        (r#"{"StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}"#, &[("dynamodb:Select", &[])], true),
        (r#"{"StringNotLikeIfExists": {"aws:username": "a*"}}"#, &[("aws:username", &["alice"])], false),
        (r#"{"StringNotLikeIfExists": {"aws:username": "a*"}}"#, NONE, true),
        (r#"{"StringLikeIfExists": {"aws:username": "a*"}}"#, &[("aws:username", &["alice"])], true),
        (r#"{"NumericLessThanIfExists": {"dynamodb:Limit": 100}}"#, NONE, true),
        (r#"{"NumericLessThanIfExists": {"dynamodb:Limit": 100}}"#, &[("dynamodb:Limit", &["500"])], false),
        (r#"{"DateLessThanIfExists": {"aws:CurrentTime": "2026-01-01"}}"#, NONE, true),
        (r#"{"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}"#, NONE, true),
        (r#"{"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}"#, &[("aws:MultiFactorAuthPresent", &["true"])], false),
        (r#"{"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}"#, NONE, true),
        (r#"{"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}"#, &[("aws:SourceIp", &["11.0.0.1"])], false),
        (r#"{"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:sns:*:*:topic"}}"#, NONE, true),
        (r#"{"BinaryEqualsIfExists": {"aws:blob": "QUJD"}}"#, NONE, true),
    ]);
}

#[rustfmt::skip]
#[test]
fn set_operators() {
    const ALLOWED: &str = r#"["ID", "Message", "Tags"]"#;
    let all = format!(r#"{{"ForAllValues:StringEquals": {{"dynamodb:Attributes": {ALLOWED}}}}}"#);
    let any = format!(r#"{{"ForAnyValue:StringEquals": {{"dynamodb:Attributes": {ALLOWED}}}}}"#);
    check_conditions(&[
        // ForAllValues: every request value must be in the set; vacuously TRUE when absent/empty.
        (&all, &[("dynamodb:Attributes", &["ID", "Message"])], true),
        (&all, &[("dynamodb:Attributes", &["ID", "Secret"])], false),
        (&all, NONE, true),
        (&all, &[("dynamodb:Attributes", &[])], true),
        // ForAnyValue: at least one request value in the set; FALSE when absent/empty.
        (&any, &[("dynamodb:Attributes", &["Secret", "ID"])], true),
        (&any, &[("dynamodb:Attributes", &["Secret"])], false),
        (&any, NONE, false),
        (&any, &[("dynamodb:Attributes", &[])], false),
        // Negated base operators under a qualifier.
        (r#"{"ForAllValues:StringNotLike": {"dynamodb:Attributes": ["Secret*", "Salary"]}}"#, &[("dynamodb:Attributes", &["ID", "Name"])], true),
        (r#"{"ForAllValues:StringNotLike": {"dynamodb:Attributes": ["Secret*", "Salary"]}}"#, &[("dynamodb:Attributes", &["ID", "SecretNote"])], false),
        (r#"{"ForAllValues:StringNotLike": {"dynamodb:Attributes": ["Secret*", "Salary"]}}"#, NONE, true),
        (r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a", "b"]}}"#, &[("aws:TagKeys", &["a", "c"])], true),
        (r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a", "b"]}}"#, &[("aws:TagKeys", &["a", "b"])], false),
        (r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a", "b"]}}"#, NONE, false),
        // Qualifiers combine with IfExists.
        (r#"{"ForAllValues:StringLikeIfExists": {"aws:TagKeys": "team-*"}}"#, NONE, true),
        (r#"{"ForAllValues:StringLikeIfExists": {"aws:TagKeys": "team-*"}}"#, &[("aws:TagKeys", &["team-a", "owner"])], false),
        (r#"{"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "owner"}}"#, NONE, true),
        (r#"{"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "owner"}}"#, &[("aws:TagKeys", &["team"])], false),
        // Other families under qualifiers.
        (r#"{"ForAnyValue:NumericGreaterThan": {"aws:n": 10}}"#, &[("aws:n", &["1", "20"])], true),
        (r#"{"ForAllValues:NumericLessThan": {"aws:n": 10}}"#, &[("aws:n", &["1", "20"])], false),
        (r#"{"ForAllValues:StringEqualsIgnoreCase": {"aws:TagKeys": ["Team", "Owner"]}}"#, &[("aws:TagKeys", &["team", "OWNER"])], true),
    ]);
}

/// Rows: (condition on `dynamodb:Limit`, the request's single value or `None` for absent, expected).
#[rustfmt::skip]
#[test]
fn numeric_operators() {
    let rows: &[(&str, Option<&str>, bool)] = &[
        (r#"{"NumericEquals": {"dynamodb:Limit": 10}}"#, Some("10"), true),
        (r#"{"NumericEquals": {"dynamodb:Limit": 10}}"#, Some("10.000"), true),
        (r#"{"NumericEquals": {"dynamodb:Limit": 10}}"#, Some("1e1"), true),
        (r#"{"NumericEquals": {"dynamodb:Limit": 10}}"#, Some("010"), true),
        (r#"{"NumericEquals": {"dynamodb:Limit": 10}}"#, Some("9"), false),
        (r#"{"NumericEquals": {"dynamodb:Limit": 10}}"#, Some("abc"), false),
        (r#"{"NumericEquals": {"dynamodb:Limit": 10}}"#, None, false),
        (r#"{"NumericEquals": {"dynamodb:Limit": "0"}}"#, Some("-0.0"), true),
        (r#"{"NumericEquals": {"dynamodb:Limit": [1, 2]}}"#, Some("2"), true),
        (r#"{"NumericEquals": {"dynamodb:Limit": 1.50}}"#, Some("1.5"), true),
        // Exact, not f64: these differ only beyond f64 precision.
        (r#"{"NumericEquals": {"dynamodb:Limit": 9007199254740993}}"#, Some("9007199254740992"), false),
        (r#"{"NumericLessThan": {"dynamodb:Limit": "0.1"}}"#, Some("0.09999999999999999999"), true),
        (r#"{"NumericNotEquals": {"dynamodb:Limit": 10}}"#, Some("11"), true),
        (r#"{"NumericNotEquals": {"dynamodb:Limit": 10}}"#, Some("10"), false),
        (r#"{"NumericNotEquals": {"dynamodb:Limit": 10}}"#, None, true),
        // A non-numeric request value matches no policy value, so the negation holds.
        (r#"{"NumericNotEquals": {"dynamodb:Limit": 10}}"#, Some("abc"), true),
        (r#"{"NumericLessThan": {"dynamodb:Limit": 10}}"#, Some("9.99"), true),
        (r#"{"NumericLessThan": {"dynamodb:Limit": 10}}"#, Some("10"), false),
        (r#"{"NumericLessThan": {"dynamodb:Limit": 10}}"#, Some("-5"), true),
        (r#"{"NumericLessThan": {"dynamodb:Limit": 10}}"#, None, false),
        (r#"{"NumericLessThanEquals": {"dynamodb:Limit": 10}}"#, Some("10"), true),
        (r#"{"NumericLessThanEquals": {"dynamodb:Limit": 10}}"#, Some("10.0001"), false),
        (r#"{"NumericGreaterThan": {"dynamodb:Limit": 10}}"#, Some("10.5"), true),
        (r#"{"NumericGreaterThan": {"dynamodb:Limit": 10}}"#, Some("10"), false),
        (r#"{"NumericGreaterThan": {"dynamodb:Limit": -1}}"#, Some("-0.5"), true),
        (r#"{"NumericGreaterThan": {"dynamodb:Limit": -1}}"#, Some("-2"), false),
        (r#"{"NumericGreaterThanEquals": {"dynamodb:Limit": 10}}"#, Some("10"), true),
        (r#"{"NumericGreaterThanEquals": {"dynamodb:Limit": 10}}"#, Some("9"), false),
        (r#"{"NumericGreaterThanEquals": {"dynamodb:Limit": "1e3"}}"#, Some("999.9"), false),
    ];
    for (condition, value, expected) in rows {
        let values: Vec<&str> = value.iter().copied().collect();
        let keys: Keys = if value.is_some() { &[("dynamodb:Limit", &values)] } else { NONE };
        assert_eq!(condition_holds(condition, keys), *expected, "{condition} with {value:?}");
    }
}

/// Rows: (operator, policy value for `aws:CurrentTime`, request value, expected).
#[rustfmt::skip]
#[test]
fn date_operators() {
    const NOON: &str = "2026-11-23T12:00:00Z";
    const NOON_EPOCH: &str = "1795435200";
    let rows: &[(&str, &str, &str, bool)] = &[
        ("DateLessThan", NOON, "2026-11-23T11:59:59Z", true),
        ("DateLessThan", NOON, NOON, false),
        ("DateLessThan", NOON, "2026-11-23T12:00:00.5Z", false),
        ("DateLessThan", NOON, "not a date", false),
        ("DateLessThan", "2026-11-23T12:00:00.25Z", "2026-11-23T12:00:00.2Z", true),
        ("DateLessThanEquals", NOON, NOON, true),
        ("DateLessThanEquals", NOON, "2026-11-23T12:00:01Z", false),
        ("DateGreaterThan", "2026-11-23", "2026-11-23T00:00:01Z", true),
        ("DateGreaterThan", "2026-11-23", "2026-11-22T23:59:59Z", false),
        ("DateGreaterThanEquals", "2026-11-23", "2026-11-23T00:00:00Z", true),
        ("DateGreaterThanEquals", "2026-11-23", "2026-11-22", false),
        // The same instant in other notations.
        ("DateEquals", NOON, "2026-11-23T12:00:00.000Z", true),
        ("DateEquals", NOON, "2026-11-23T14:00:00+02:00", true),
        ("DateEquals", NOON, "2026-11-23T07:00:00-0500", true),
        ("DateEquals", NOON, NOON_EPOCH, true),
        ("DateEquals", NOON_EPOCH, NOON, true),
        ("DateEquals", NOON, "2026-11-23T12:00:00.001Z", false),
        ("DateNotEquals", NOON, NOON, false),
        ("DateNotEquals", NOON, "2027-01-01", true),
    ];
    for (op, policy_value, request, expected) in rows {
        let condition = format!(r#"{{"{op}": {{"aws:CurrentTime": "{policy_value}"}}}}"#);
        let keys: Keys = &[("aws:CurrentTime", &[request])];
        assert_eq!(condition_holds(&condition, keys), *expected, "{condition} with {request:?}");
    }
    check_conditions(&[
        (r#"{"DateNotEquals": {"aws:CurrentTime": "2026-11-23"}}"#, NONE, true),
        (r#"{"DateLessThan": {"aws:CurrentTime": "2026-11-23"}}"#, NONE, false),
        // Epoch seconds given as a JSON number.
        (r#"{"DateLessThan": {"aws:EpochTime": 1795435200}}"#, &[("aws:EpochTime", &["1795435199"])], true),
        (r#"{"DateLessThan": {"aws:EpochTime": 1795435200}}"#, &[("aws:EpochTime", &["2026-11-23T12:00:00Z"])], false),
    ]);
}

#[rustfmt::skip]
#[test]
fn bool_binary_null_operators() {
    check_conditions(&[
        (r#"{"Bool": {"aws:SecureTransport": "true"}}"#, &[("aws:SecureTransport", &["true"])], true),
        (r#"{"Bool": {"aws:SecureTransport": "true"}}"#, &[("aws:SecureTransport", &["TRUE"])], true),
        (r#"{"Bool": {"aws:SecureTransport": "true"}}"#, &[("aws:SecureTransport", &["false"])], false),
        (r#"{"Bool": {"aws:SecureTransport": "true"}}"#, NONE, false),
        (r#"{"Bool": {"aws:SecureTransport": true}}"#, &[("aws:SecureTransport", &["true"])], true),
        (r#"{"Bool": {"aws:SecureTransport": false}}"#, &[("aws:SecureTransport", &["true"])], false),
        (r#"{"BinaryEquals": {"aws:blob": "QmluYXJ5VmFsdWU="}}"#, &[("aws:blob", &["QmluYXJ5VmFsdWU="])], true),
        (r#"{"BinaryEquals": {"aws:blob": "QmluYXJ5VmFsdWU="}}"#, &[("aws:blob", &[" QmluYXJ5VmFsdWU= "])], true),
        (r#"{"BinaryEquals": {"aws:blob": "QmluYXJ5VmFsdWU="}}"#, &[("aws:blob", &["QUJD"])], false),
        (r#"{"BinaryEquals": {"aws:blob": "QmluYXJ5VmFsdWU="}}"#, NONE, false),
        // Null "true": key absent (or with no values); "false": key present.
        (r#"{"Null": {"aws:TokenIssueTime": "true"}}"#, NONE, true),
        (r#"{"Null": {"aws:TokenIssueTime": "true"}}"#, &[("aws:TokenIssueTime", &[])], true),
        (r#"{"Null": {"aws:TokenIssueTime": "true"}}"#, &[("aws:TokenIssueTime", &["x"])], false),
        (r#"{"Null": {"aws:TokenIssueTime": true}}"#, NONE, true),
        (r#"{"Null": {"aws:TokenIssueTime": "false"}}"#, NONE, false),
        (r#"{"Null": {"aws:TokenIssueTime": "FALSE"}}"#, &[("aws:TokenIssueTime", &["x"])], true),
        (r#"{"Null": {"aws:a": "false", "aws:b": "true"}}"#, &[("aws:a", &["x"])], true),
        (r#"{"Null": {"aws:a": "false", "aws:b": "true"}}"#, &[("aws:a", &["x"]), ("aws:b", &["y"])], false),
    ]);
}

#[rustfmt::skip]
#[test]
fn ip_operators() {
    check_conditions(&[
        (r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#, &[("aws:SourceIp", &["203.0.113.7"])], true),
        (r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#, &[("aws:SourceIp", &["203.0.114.1"])], false),
        (r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#, &[("aws:SourceIp", &["garbage"])], false),
        (r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#, NONE, false),
        (r#"{"IpAddress": {"aws:SourceIp": "203.0.113.5"}}"#, &[("aws:SourceIp", &["203.0.113.5"])], true),
        (r#"{"IpAddress": {"aws:SourceIp": "203.0.113.5"}}"#, &[("aws:SourceIp", &["203.0.113.6"])], false),
        (r#"{"IpAddress": {"aws:SourceIp": "203.0.113.77/24"}}"#, &[("aws:SourceIp", &["203.0.113.1"])], true),
        (r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#, &[("aws:SourceIp", &["8.8.8.8"])], true),
        (r#"{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}"#, &[("aws:SourceIp", &["192.168.1.1"])], true),
        (r#"{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#, &[("aws:SourceIp", &["2001:db8::1"])], true),
        (r#"{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#, &[("aws:SourceIp", &["2001:db9::1"])], false),
        (r#"{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#, &[("aws:SourceIp", &["203.0.113.7"])], false),
        (r#"{"IpAddress": {"aws:SourceIp": "2001:db8::1"}}"#, &[("aws:SourceIp", &["2001:db8::1"])], true),
        (r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#, &[("aws:SourceIp", &["::ffff:203.0.113.7"])], true),
        (r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#, &[("aws:SourceIp", &["198.51.100.1"])], true),
        (r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#, &[("aws:SourceIp", &["203.0.113.7"])], false),
        (r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#, NONE, true),
        (r#"{"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]}}"#, &[("aws:SourceIp", &["203.0.113.7"])], false),
    ]);
}

#[rustfmt::skip]
#[test]
fn arn_operators() {
    const ROLE: &str = "arn:aws:iam::123456789012:role/Admin";
    check_conditions(&[
        (r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}}"#, &[("aws:PrincipalArn", &[ROLE])], true),
        (r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}}"#, &[("aws:PrincipalArn", &["arn:aws:iam::123456789012:role/Dev"])], false),
        (r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/admin"}}"#, &[("aws:PrincipalArn", &[ROLE])], false),
        (r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}}"#, NONE, false),
        (r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}"#, &[("aws:PrincipalArn", &[ROLE])], true),
        (r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}"#, &[("aws:PrincipalArn", &["arn:aws:iam::123:user/x"])], false),
        (r#"{"ArnLike": {"aws:SourceArn": "arn:aws:dynamodb:us-east-1:*:table/?usic"}}"#, &[("aws:SourceArn", &[TABLE])], true),
        // The resource part keeps its colons.
        (r#"{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::bucket/*"}}"#, &[("aws:SourceArn", &["arn:aws:s3:::bucket/a:b:c"])], true),
        // Parts are matched separately: `*` cannot swallow a colon (a plain StringLike would match).
        (r#"{"ArnLike": {"aws:SourceArn": "arn:aws:iam::1*:role/x"}}"#, &[("aws:SourceArn", &["arn:aws:iam::1:2:role/x"])], false),
        (r#"{"StringLike": {"aws:SourceArn": "arn:aws:iam::1*:role/x"}}"#, &[("aws:SourceArn", &["arn:aws:iam::1:2:role/x"])], true),
        // Unparsable request ARN: no match (so the negations hold).
        (r#"{"ArnLike": {"aws:SourceArn": "arn:*:*:*:*:*"}}"#, &[("aws:SourceArn", &["not-an-arn"])], false),
        (r#"{"ArnLike": {"aws:SourceArn": "arn:*:*:*:*:*"}}"#, &[("aws:SourceArn", &["arn:aws:s3:::b"])], true),
        (r#"{"ArnNotLike": {"aws:SourceArn": "arn:*:*:*:*:*"}}"#, &[("aws:SourceArn", &["not-an-arn"])], true),
        (r#"{"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}}"#, &[("aws:PrincipalArn", &[ROLE])], false),
        (r#"{"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}}"#, &[("aws:PrincipalArn", &["arn:aws:iam::123456789012:role/Dev"])], true),
        (r#"{"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}}"#, NONE, true),
        (r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Adm*"}}"#, &[("aws:PrincipalArn", &[ROLE])], false),
        (r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Adm*"}}"#, NONE, true),
    ]);
}

/// Rows: (statements, action, resource, expected decision) for action / resource matching.
#[rustfmt::skip]
#[test]
fn actions_and_resources() {
    use Decision::*;
    let table = |name: &str| format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}");
    let allow = |action: &str, resource: &str| {
        format!(r#"{{"Effect": "Allow", "Action": {action}, "Resource": {resource}}}"#)
    };
    let music = format!("{TABLE:?}");
    let rows: Vec<(String, &str, String, Decision)> = vec![
        (allow(r#""dynamodb:GetItem""#, &music), "dynamodb:GetItem", table("Music"), Allow),
        // Actions are case-insensitive.
        (allow(r#""dynamodb:GetItem""#, &music), "DynamoDB:getitem", table("Music"), Allow),
        (allow(r#""DYNAMODB:GETITEM""#, &music), "dynamodb:GetItem", table("Music"), Allow),
        (allow(r#""dynamodb:GetItem""#, &music), "dynamodb:PutItem", table("Music"), ImplicitDeny),
        (allow(r#""dynamodb:Get*""#, r#""*""#), "dynamodb:GetItem", table("Music"), Allow),
        (allow(r#""dynamodb:Get*""#, r#""*""#), "dynamodb:BatchGetItem", table("Music"), ImplicitDeny),
        (allow(r#""dynamodb:*""#, r#""*""#), "dynamodb:DeleteTable", table("Music"), Allow),
        (allow(r#""dynamodb:*""#, r#""*""#), "s3:GetObject", table("Music"), ImplicitDeny),
        (allow(r#""*""#, r#""*""#), "s3:GetObject", "arn:aws:s3:::b/k".into(), Allow),
        (allow(r#""dynamodb:?etItem""#, r#""*""#), "dynamodb:SetItem", table("Music"), Allow),
        (allow(r#""dynamodb:?etItem""#, r#""*""#), "dynamodb:GGetItem", table("Music"), ImplicitDeny),
        (allow(r#""dynamodb:*Item""#, r#""*""#), "dynamodb:BatchWriteItem", table("Music"), Allow),
        (allow(r#"["s3:*", "dynamodb:Query"]"#, r#""*""#), "dynamodb:Query", table("Music"), Allow),
        // Resources are case-sensitive; `*` spans `/`.
        (allow(r#""dynamodb:*""#, &format!("{:?}", table("music"))), "dynamodb:GetItem", table("Music"), ImplicitDeny),
        (allow(r#""dynamodb:*""#, &format!("{:?}", table("*"))), "dynamodb:GetItem", table("Music"), Allow),
        (allow(r#""dynamodb:*""#, &format!("{:?}", table("*"))), "dynamodb:Query", table("Music/index/ByArtist"), Allow),
        (allow(r#""dynamodb:*""#, &music), "dynamodb:Query", table("Music/index/ByArtist"), ImplicitDeny),
        (allow(r#""dynamodb:*""#, r#""arn:aws:dynamodb:*:*:table/Mus?c""#), "dynamodb:GetItem", table("Music"), Allow),
        (allow(r#""dynamodb:*""#, r#""arn:aws:dynamodb:*:*:table/Mus?c""#), "dynamodb:GetItem", table("Musc"), ImplicitDeny),
        (allow(r#""dynamodb:*""#, r#""arn:aws:dynamodb:us-east-1:999999999999:table/*""#), "dynamodb:GetItem", table("Music"), ImplicitDeny),
        (allow(r#""dynamodb:*""#, &format!(r#"["arn:aws:s3:::x", {music}]"#)), "dynamodb:GetItem", table("Music"), Allow),
        // NotAction / NotResource.
        (r#"{"Effect": "Allow", "NotAction": "dynamodb:DeleteTable", "Resource": "*"}"#.into(), "dynamodb:GetItem", table("Music"), Allow),
        (r#"{"Effect": "Allow", "NotAction": "dynamodb:DeleteTable", "Resource": "*"}"#.into(), "dynamodb:deletetable", table("Music"), ImplicitDeny),
        (r#"{"Effect": "Allow", "NotAction": ["dynamodb:Delete*", "dynamodb:Update*"], "Resource": "*"}"#.into(), "dynamodb:UpdateItem", table("Music"), ImplicitDeny),
        (format!(r#"{{"Effect": "Allow", "Action": "dynamodb:*", "NotResource": {music}}}"#), "dynamodb:GetItem", table("Other"), Allow),
        (format!(r#"{{"Effect": "Allow", "Action": "dynamodb:*", "NotResource": {music}}}"#), "dynamodb:GetItem", table("Music"), ImplicitDeny),
        // Explicit Deny beats Allow regardless of order; NotAction in a Deny.
        (r#"[{"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}, {"Effect": "Allow", "Action": "*", "Resource": "*"}]"#.into(), "dynamodb:DeleteTable", table("Music"), ExplicitDeny),
        (r#"[{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}]"#.into(), "dynamodb:DeleteTable", table("Music"), ExplicitDeny),
        (r#"[{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}]"#.into(), "dynamodb:GetItem", table("Music"), Allow),
        (r#"[{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "dynamodb:Get*", "Resource": "*"}]"#.into(), "dynamodb:PutItem", table("Music"), ExplicitDeny),
        (r#"[{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "dynamodb:Get*", "Resource": "*"}]"#.into(), "dynamodb:GetItem", table("Music"), Allow),
        // A Deny alone is not an Allow; no statements allow nothing.
        (r#"{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}"#.into(), "dynamodb:GetItem", table("Music"), ImplicitDeny),
        ("[]".into(), "dynamodb:GetItem", table("Music"), ImplicitDeny),
    ];
    for (statements, action, resource, expected) in &rows {
        let document = format!(r#"{{"Version": "2012-10-17", "Statement": {statements}}}"#);
        let decision = policy(&document).evaluate(&context(action, resource, NONE));
        assert_eq!(decision, *expected, "{document}\n  {action} on {resource}");
    }
}

#[test]
fn evaluation_across_policies() {
    let allow = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}}"#,
    );
    let deny = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}}"#,
    );
    let delete = context("dynamodb:DeleteTable", TABLE, NONE);
    let get = context("dynamodb:GetItem", TABLE, NONE);
    assert_eq!(evaluate([&allow, &deny], &delete), Decision::ExplicitDeny);
    assert_eq!(evaluate([&deny, &allow], &delete), Decision::ExplicitDeny);
    assert_eq!(evaluate([&allow, &deny], &get), Decision::Allow);
    assert_eq!(evaluate(vec![&deny], &get), Decision::ImplicitDeny);
    assert_eq!(
        evaluate(std::iter::empty::<&Policy>(), &get),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&[allow.clone(), deny.clone()], &delete),
        Decision::ExplicitDeny
    );
    // A single statement given as an object, without Version.
    let unversioned =
        policy(r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#);
    assert_eq!(unversioned.evaluate(&get), Decision::Allow);
}

/// Policy variables in Resource: (version, resource suffix after `table/`, context keys, requested table, allowed?).
#[rustfmt::skip]
#[test]
fn policy_variables_in_resources() {
    const V12: Option<&str> = Some("2012-10-17");
    const V08: Option<&str> = Some("2008-10-17");
    let rows: &[(Option<&str>, &str, Keys, &str, bool)] = &[
        (V12, "${aws:username}", &[("aws:username", &["Music"])], "Music", true),
        (V12, "${aws:username}", &[("aws:username", &["Other"])], "Music", false),
        // Missing variable without default: the resource entry matches nothing.
        (V12, "${aws:username}", NONE, "Music", false),
        (V12, "${aws:username}", NONE, "", false),
        (V12, "${aws:username}", &[("aws:username", &[])], "", false),
        (V12, "${aws:username, 'Music'}", NONE, "Music", true),
        (V12, "${aws:username ,  'Music'}", NONE, "Music", true),
        (V12, "${aws:username, 'Music'}", &[("aws:username", &["Other"])], "Music", false),
        (V12, "${aws:username, ''}x", NONE, "x", true),
        (V12, "${AWS:UserName}", &[("aws:username", &["Music"])], "Music", true),
        (V12, "${aws:userid}", &[("aws:userid", &["AIDAEXAMPLE"])], "AIDAEXAMPLE", true),
        (V12, "${aws:PrincipalTag/team}-*", &[("aws:PrincipalTag/team", &["Music"])], "Music-prod", true),
        (V12, "${aws:PrincipalTag/team}-*", &[("aws:PrincipalTag/team", &["Music"])], "Other-prod", false),
        (V12, "${www.amazon.com:user_id}", &[("www.amazon.com:user_id", &["amzn1.account.X"])], "amzn1.account.X", true),
        (V12, "${cognito-identity.amazonaws.com:sub}", &[("cognito-identity.amazonaws.com:sub", &["us-east-1:abc"])], "us-east-1:abc", true),
        (V12, "${aws:a}_${aws:b}", &[("aws:a", &["x"]), ("aws:b", &["y"])], "x_y", true),
        (V12, "${aws:a}_${aws:b}", &[("aws:a", &["x"])], "x_", false),
        // Substituted text is literal: a `*` in a variable value is not a wildcard.
        (V12, "${aws:username}", &[("aws:username", &["*"])], "Music", false),
        (V12, "${aws:username}", &[("aws:username", &["*"])], "*", true),
        // ${*} ${?} ${$} are literal characters.
        (V12, "a${*}b", NONE, "a*b", true),
        (V12, "a${*}b", NONE, "axb", false),
        (V12, "a${?}b", NONE, "a?b", true),
        (V12, "a${?}b", NONE, "axb", false),
        (V12, "a${$}b", NONE, "a$b", true),
        // Version 2008-10-17 (or none): `${...}` is plain text, and its `*` is a wildcard.
        (V08, "${aws:username}", &[("aws:username", &["Music"])], "Music", false),
        (V08, "${aws:username}", &[("aws:username", &["Music"])], "${aws:username}", true),
        (V08, "a${*}b", NONE, "a${xyz}b", true),
        (None, "${aws:username}", &[("aws:username", &["Music"])], "Music", false),
        (None, "${aws:username}", NONE, "${aws:username}", true),
    ];
    for (version, resource, keys, requested, expected) in rows {
        let version = version.map(|v| format!(r#""Version": "{v}", "#)).unwrap_or_default();
        let document = format!(
            r#"{{{version}"Statement": {{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/{resource}"}}}}"#
        );
        let requested = format!("arn:aws:dynamodb:us-east-1:123456789012:table/{requested}");
        let allowed = policy(&document).evaluate(&context(ACTION, &requested, keys)) == Decision::Allow;
        assert_eq!(allowed, *expected, "{document}\n  keys {keys:?}, resource {requested}");
    }
}

/// Policy variables in condition values.
#[rustfmt::skip]
#[test]
fn policy_variables_in_conditions() {
    check_conditions(&[
        (r#"{"StringEquals": {"dynamodb:LeadingKeys": "${aws:userid}"}}"#, &[("aws:userid", &["AID1"]), ("dynamodb:LeadingKeys", &["AID1"])], true),
        (r#"{"StringEquals": {"dynamodb:LeadingKeys": "${aws:userid}"}}"#, &[("aws:userid", &["AID1"]), ("dynamodb:LeadingKeys", &["AID2"])], false),
        (r#"{"StringEquals": {"dynamodb:LeadingKeys": "user-${aws:userid}"}}"#, &[("aws:userid", &["AID1"]), ("dynamodb:LeadingKeys", &["user-AID1"])], true),
        (r#"{"StringEquals": {"dynamodb:LeadingKeys": "user-${aws:userid}"}}"#, &[("aws:userid", &["AID1"]), ("dynamodb:LeadingKeys", &["user-AID1x"])], false),
        (r#"{"StringEquals": {"aws:x": "${aws:SecureTransport}"}}"#, &[("aws:SecureTransport", &["true"]), ("aws:x", &["true"])], true),
        (r#"{"StringEqualsIgnoreCase": {"aws:x": "${aws:username}"}}"#, &[("aws:username", &["Bob"]), ("aws:x", &["bob"])], true),
        (r#"{"StringLike": {"aws:x": "${aws:username}/*"}}"#, &[("aws:username", &["al*"]), ("aws:x", &["al*/doc"])], true),
        (r#"{"StringLike": {"aws:x": "${aws:username}/*"}}"#, &[("aws:username", &["al*"]), ("aws:x", &["alice/doc"])], false),
        (r#"{"StringEquals": {"aws:x": "${*}"}}"#, &[("aws:x", &["*"])], true),
        (r#"{"StringLike": {"aws:x": "${*}"}}"#, &[("aws:x", &["abc"])], false),
        // A value with an unresolvable variable is dropped; the other values still count.
        (r#"{"StringEquals": {"aws:x": ["${aws:missing}", "x"]}}"#, &[("aws:x", &["x"])], true),
        (r#"{"StringEquals": {"aws:x": "${aws:missing}"}}"#, &[("aws:x", &[""])], false),
        (r#"{"StringNotEquals": {"aws:x": "${aws:missing}"}}"#, &[("aws:x", &["x"])], true),
        (r#"{"StringEquals": {"aws:x": "${aws:missing, 'dflt'}"}}"#, &[("aws:x", &["dflt"])], true),
        // Typed operators parse the substituted value at evaluation time.
        (r#"{"NumericLessThan": {"aws:n": "${aws:max}"}}"#, &[("aws:max", &["10"]), ("aws:n", &["5"])], true),
        (r#"{"NumericLessThan": {"aws:n": "${aws:max}"}}"#, &[("aws:max", &["abc"]), ("aws:n", &["5"])], false),
        (r#"{"DateLessThan": {"aws:CurrentTime": "${aws:expiry}"}}"#, &[("aws:expiry", &["2030-01-01T00:00:00Z"]), ("aws:CurrentTime", &["2026-11-23T12:00:00Z"])], true),
        (r#"{"DateLessThan": {"aws:CurrentTime": "${aws:expiry}"}}"#, &[("aws:CurrentTime", &["2026-11-23T12:00:00Z"])], false),
        (r#"{"IpAddress": {"aws:SourceIp": "${aws:net}"}}"#, &[("aws:net", &["10.0.0.0/8"]), ("aws:SourceIp", &["10.1.2.3"])], true),
        (r#"{"Bool": {"aws:x": "${aws:flag}"}}"#, &[("aws:flag", &["true"]), ("aws:x", &["TRUE"])], true),
        (r#"{"ArnEquals": {"aws:SourceArn": "${aws:PrincipalArn}"}}"#, &[("aws:PrincipalArn", &["arn:aws:iam::1:role/x"]), ("aws:SourceArn", &["arn:aws:iam::1:role/x"])], true),
        (r#"{"ArnLike": {"aws:SourceArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}"#, &[("aws:PrincipalAccount", &["123"]), ("aws:SourceArn", &["arn:aws:iam::123:role/x"])], true),
        (r#"{"ArnLike": {"aws:SourceArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}"#, &[("aws:PrincipalAccount", &["124"]), ("aws:SourceArn", &["arn:aws:iam::123:role/x"])], false),
    ]);
}

/// AWS's fine-grained access control examples for DynamoDB: (action, context keys, decision).
#[rustfmt::skip]
#[test]
fn dynamodb_fine_grained_access_examples() {
    const SCORES: &str = "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores";
    // Users may only touch items whose partition key is their own id, and only listed attributes.
    let own_items = policy(r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowAccessToOnlyItemsMatchingUserID",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                       "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
            "Resource": ["arn:aws:dynamodb:us-west-2:123456789012:table/GameScores"],
            "Condition": {
                "ForAllValues:StringEquals": {
                    "dynamodb:LeadingKeys": ["${www.amazon.com:user_id}"],
                    "dynamodb:Attributes": ["UserId", "GameTitle", "Wins", "Losses", "TopScore", "TopScoreDateTime"]
                },
                "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}
            }
        }]
    }"#);
    let rows: &[(&str, Keys, Decision)] = &[
        ("dynamodb:GetItem", &[("www.amazon.com:user_id", &["u1"]), ("dynamodb:LeadingKeys", &["u1"]), ("dynamodb:Attributes", &["UserId", "Wins"]), ("dynamodb:Select", &["SPECIFIC_ATTRIBUTES"])], Decision::Allow),
        ("dynamodb:Query", &[("www.amazon.com:user_id", &["u1"]), ("dynamodb:LeadingKeys", &["u1"])], Decision::Allow),
        ("dynamodb:GetItem", &[("www.amazon.com:user_id", &["u1"]), ("dynamodb:LeadingKeys", &["u2"])], Decision::ImplicitDeny),
        ("dynamodb:BatchGetItem", &[("www.amazon.com:user_id", &["u1"]), ("dynamodb:LeadingKeys", &["u1", "u2"])], Decision::ImplicitDeny),
        ("dynamodb:GetItem", &[("www.amazon.com:user_id", &["u1"]), ("dynamodb:LeadingKeys", &["u1"]), ("dynamodb:Attributes", &["UserId", "Secret"])], Decision::ImplicitDeny),
        ("dynamodb:Query", &[("www.amazon.com:user_id", &["u1"]), ("dynamodb:LeadingKeys", &["u1"]), ("dynamodb:Select", &["ALL_ATTRIBUTES"])], Decision::ImplicitDeny),
        // Unauthenticated: the variable is unresolvable, so no leading key can match.
        ("dynamodb:GetItem", &[("dynamodb:LeadingKeys", &["u1"])], Decision::ImplicitDeny),
        // Not a listed action.
        ("dynamodb:Scan", &[("www.amazon.com:user_id", &["u1"])], Decision::ImplicitDeny),
        // The documented ForAllValues pitfall: with no LeadingKeys in the request it holds vacuously.
        ("dynamodb:Query", &[("www.amazon.com:user_id", &["u1"])], Decision::Allow),
    ];
    for (action, keys, expected) in rows {
        assert_eq!(own_items.evaluate(&context(action, SCORES, keys)), *expected, "{action} {keys:?}");
    }

    // Protected attributes: allow UpdateItem only if no attribute is protected (AWS's example), and
    // deny writes that name any of another protected set.
    let protected = policy(r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PreventUpdatesOnCertainAttributes",
                "Effect": "Allow",
                "Action": ["dynamodb:UpdateItem"],
                "Resource": "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores",
                "Condition": {
                    "ForAllValues:StringNotLike": {"dynamodb:Attributes": ["FreeGamesAvailable", "BossLevel*"]},
                    "StringEquals": {"dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"]}
                }
            },
            {
                "Sid": "DenyProtectedWrites",
                "Effect": "Deny",
                "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
                "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"dynamodb:Attributes": ["Salary", "SSN"]}}
            }
        ]
    }"#);
    let rows: &[(&str, Keys, Decision)] = &[
        ("dynamodb:UpdateItem", &[("dynamodb:Attributes", &["Wins", "Losses"]), ("dynamodb:ReturnValues", &["NONE"])], Decision::Allow),
        ("dynamodb:UpdateItem", &[("dynamodb:Attributes", &["Wins", "BossLevelUnlocked"]), ("dynamodb:ReturnValues", &["NONE"])], Decision::ImplicitDeny),
        ("dynamodb:UpdateItem", &[("dynamodb:Attributes", &["Wins"]), ("dynamodb:ReturnValues", &["ALL_NEW"])], Decision::ImplicitDeny),
        ("dynamodb:UpdateItem", &[("dynamodb:Attributes", &["Wins", "Salary"]), ("dynamodb:ReturnValues", &["NONE"])], Decision::ExplicitDeny),
        ("dynamodb:PutItem", &[("dynamodb:Attributes", &["SSN"])], Decision::ExplicitDeny),
        ("dynamodb:PutItem", &[("dynamodb:Attributes", &["Wins"])], Decision::ImplicitDeny),
        ("dynamodb:UpdateItem", &[("dynamodb:ReturnValues", &["NONE"])], Decision::Allow),
    ];
    for (action, keys, expected) in rows {
        assert_eq!(protected.evaluate(&context(action, SCORES, keys)), *expected, "{action} {keys:?}");
    }
}

/// (document, expected error message). Messages are the user-facing contract, so compared exactly.
#[rustfmt::skip]
#[test]
fn parse_errors() {
    let stmt = |body: &str| format!(r#"{{"Version": "2012-10-17", "Statement": [{body}]}}"#);
    let ok = r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#;
    let with_cond = |cond: &str| stmt(&format!(r#"{{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {cond}}}"#));
    let rows: Vec<(String, &str)> = vec![
        (stmt(&format!(r#"{ok}, {{"Sid": "ReadOnly", "Effect": "allow", "Action": "*", "Resource": "*"}}"#)),
         r#"Statement[1] (Sid "ReadOnly"): Effect must be "Allow" or "Deny", got "allow""#),
        (stmt(r#"{"Action": "*", "Resource": "*"}"#), r#"Statement[0]: missing "Effect""#),
        (stmt(r#"{"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}"#), r#"Statement[0]: both "Action" and "NotAction" given"#),
        (stmt(r#"{"Effect": "Allow", "Resource": "*"}"#), r#"Statement[0]: missing "Action" or "NotAction""#),
        (stmt(r#"{"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"}"#), r#"Statement[0]: both "Resource" and "NotResource" given"#),
        (stmt(r#"{"Effect": "Allow", "Action": "*"}"#), r#"Statement[0]: missing "Resource" or "NotResource""#),
        (stmt(r#"{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}"#),
         r#"Statement[0]: "Principal" is not allowed in an identity policy (it belongs in resource-based policies)"#),
        (stmt(r#"{"Sid": "P", "Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "*", "Resource": "*"}"#),
         r#"Statement[0] (Sid "P"): "NotPrincipal" is not allowed in an identity policy (it belongs in resource-based policies)"#),
        (stmt(r#"{"Effect": "Allow", "Actions": "*", "Resource": "*"}"#), r#"Statement[0]: unknown field "Actions""#),
        (stmt(r#"{"Sid": 5, "Effect": "Allow", "Action": "*", "Resource": "*"}"#), "Statement[0]: Sid must be a string, got 5"),
        (stmt(&format!(r#"{ok}, "x""#)), r#"Statement[1]: must be a JSON object, got "x""#),
        (stmt(r#"{"Effect": "Allow", "Action": "GetItem", "Resource": "*"}"#),
         r#"Statement[0]: Action "GetItem" has no service prefix (expected "service:action" or "*")"#),
        (stmt(r#"{"Effect": "Allow", "Action": [], "Resource": "*"}"#), "Statement[0]: Action must not be empty"),
        (stmt(r#"{"Effect": "Allow", "Action": ["s3:*", 5], "Resource": "*"}"#), "Statement[0]: Action entries must be strings, got 5"),
        (stmt(r#"{"Effect": "Allow", "NotAction": {"a": 1}, "Resource": "*"}"#), r#"Statement[0]: NotAction must be a string or an array of strings, got {"a":1}"#),
        (stmt(r#"{"Effect": "Allow", "Action": "*", "Resource": "table/Music"}"#), r#"Statement[0]: Resource "table/Music" must be "*" or an ARN"#),
        (stmt(r#"{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${aws:username"}"#),
         r#"Statement[0]: Resource "arn:aws:s3:::${aws:username" has an unterminated or malformed policy variable"#),
        (stmt(r#"{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${aws:username, nope}"}"#),
         r#"Statement[0]: Resource "arn:aws:s3:::${aws:username, nope}" has an unterminated or malformed policy variable"#),
        (stmt(r#"{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${}"}"#),
         r#"Statement[0]: Resource "arn:aws:s3:::${}" has an unterminated or malformed policy variable"#),
        // Conditions.
        (stmt(&format!(r#"{ok}, {{"Sid": "x", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {{"StringEqualz": {{"aws:username": "a"}}}}}}"#)),
         r#"Statement[1] (Sid "x"): Condition operator "StringEqualz" is not supported"#),
        (stmt(&format!(r#"{ok}, {ok}, {{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {{"NumericLessThan": {{"dynamodb:foo": "abc"}}}}}}"#)),
         r#"Statement[2]: Condition NumericLessThan value "abc" for key "dynamodb:foo" is not a number"#),
        (with_cond(r#"{"DateLessThan": {"aws:CurrentTime": "2026-13-01"}}"#),
         r#"Statement[0]: Condition DateLessThan value "2026-13-01" for key "aws:CurrentTime" is not a date (ISO 8601 or epoch seconds)"#),
        (with_cond(r#"{"DateLessThan": {"aws:CurrentTime": "tomorrow"}}"#),
         r#"Statement[0]: Condition DateLessThan value "tomorrow" for key "aws:CurrentTime" is not a date (ISO 8601 or epoch seconds)"#),
        (with_cond(r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}"#),
         r#"Statement[0]: Condition IpAddress value "10.0.0.0/33" for key "aws:SourceIp" is not an IP address or CIDR block"#),
        (with_cond(r#"{"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "bogus"]}}"#),
         r#"Statement[0]: Condition NotIpAddress value "bogus" for key "aws:SourceIp" is not an IP address or CIDR block"#),
        (with_cond(r#"{"ArnLike": {"aws:SourceArn": "arn:aws:iam::*"}}"#),
         r#"Statement[0]: Condition ArnLike value "arn:aws:iam::*" for key "aws:SourceArn" is not an ARN (expected 6 colon-separated parts)"#),
        (with_cond(r#"{"Null": {"aws:x": "maybe"}}"#), r#"Statement[0]: Condition Null value "maybe" for key "aws:x" must be "true" or "false""#),
        (with_cond(r#"{"NullIfExists": {"aws:x": "true"}}"#), r#"Statement[0]: Condition operator "NullIfExists" is not supported"#),
        (with_cond(r#"{"ForAllValues:Null": {"aws:x": "true"}}"#), r#"Statement[0]: Condition operator "ForAllValues:Null" is not supported"#),
        (with_cond(r#"{"stringequals": {"aws:x": "a"}}"#), r#"Statement[0]: Condition operator "stringequals" is not supported"#),
        (with_cond(r#"{"ForSomeValues:StringEquals": {"aws:x": "a"}}"#), r#"Statement[0]: Condition operator "ForSomeValues:StringEquals" is not supported"#),
        (with_cond(r#"{"StringEquals": {"aws:x": {"a": 1}}}"#),
         r#"Statement[0]: Condition StringEquals value for key "aws:x" must be a string, number or boolean, got {"a":1}"#),
        (with_cond(r#"{"StringEquals": {"aws:x": [null]}}"#),
         r#"Statement[0]: Condition StringEquals value for key "aws:x" must be a string, number or boolean, got null"#),
        (with_cond(r#"{"StringEquals": {"aws:x": []}}"#), r#"Statement[0]: Condition StringEquals key "aws:x" has no values"#),
        (with_cond(r#"{"StringEquals": {"username": "a"}}"#),
         r#"Statement[0]: Condition StringEquals key "username" has no service prefix (expected "service:key")"#),
        (with_cond(r#"{"StringEquals": ["aws:x"]}"#), r#"Statement[0]: Condition operator "StringEquals" must map condition keys to values, got ["aws:x"]"#),
        (with_cond(r#""yes""#), r#"Statement[0]: Condition must be an object mapping operators to {key: values}, got "yes""#),
        (with_cond(r#"{"StringLike": {"aws:x": "${oops"}}"#),
         r#"Statement[0]: Condition StringLike value "${oops" for key "aws:x" has an unterminated or malformed policy variable"#),
        // Document level.
        (r#"{"Version": "2010-01-01", "Statement": []}"#.into(), r#"Version must be "2012-10-17" or "2008-10-17", got "2010-01-01""#),
        (r#"{"Version": 2012, "Statement": []}"#.into(), r#"Version must be "2012-10-17" or "2008-10-17", got 2012"#),
        (r#"{"Version": "2012-10-17", "Statements": []}"#.into(), r#"unknown top-level field "Statements""#),
        (r#"{"Version": "2012-10-17"}"#.into(), r#"missing "Statement""#),
        (r#"{"Version": "2012-10-17", "Statement": "x"}"#.into(), r#"Statement must be an object or an array of objects, got "x""#),
        (r#"{"Id": 1, "Statement": []}"#.into(), "Id must be a string, got 1"),
        ("[]".into(), "policy document must be a JSON object"),
    ];
    for (document, expected) in &rows {
        match Policy::from_json_str(document) {
            Ok(_) => panic!("expected error {expected:?} for {document}"),
            Err(e) => assert_eq!(e.to_string(), *expected, "for {document}"),
        }
    }

    let err = Policy::from_json_str("{not json").unwrap_err();
    assert!(err.to_string().starts_with("policy document is not valid JSON"), "{err}");
    assert_eq!(err.statement_index(), None);

    let err = Policy::from_json_str(&stmt(&format!(r#"{ok}, {{"Effect": "Maybe", "Action": "*", "Resource": "*"}}"#))).unwrap_err();
    assert_eq!(err.statement_index(), Some(1));
    assert_eq!(err.message(), r#"Effect must be "Allow" or "Deny", got "Maybe""#);
}

/// Documents that must parse (including values that are only checked after substitution).
#[test]
fn accepted_documents() {
    let docs = [
        r#"{"Version": "2012-10-17", "Statement": []}"#,
        r#"{"Version": "2008-10-17", "Id": "x", "Statement": []}"#,
        r#"{"Statement": {"Effect": "Deny", "NotAction": ["s3:*"], "NotResource": ["arn:aws:s3:::b"]}}"#,
        r#"{"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}]}"#,
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {
            "NumericLessThan": {"aws:n": "${aws:max}"},
            "DateLessThan": {"aws:t": "${aws:t2}"},
            "IpAddress": {"aws:SourceIp": "${aws:net}"},
            "ArnLike": {"aws:a": "${aws:b}"}
        }}}"#,
        // Under 2008 an unterminated `${` is plain text.
        r#"{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${x"}}"#,
        // Operator names with every decoration.
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {
            "ForAllValues:StringNotEqualsIgnoreCaseIfExists": {"aws:a": "x"},
            "ForAnyValue:NumericGreaterThanEqualsIfExists": {"aws:a": "1"},
            "DateNotEqualsIfExists": {"aws:a": "2020-01-01"},
            "ArnNotLikeIfExists": {"aws:a": "arn:*:*:*:*:*"},
            "ArnNotEquals": {"aws:a": "arn:aws:s3:::b"},
            "NotIpAddressIfExists": {"aws:a": "::1"},
            "BinaryEquals": {"aws:a": "QUJD"},
            "Null": {"aws:b": "true"}
        }}}"#,
    ];
    for doc in docs {
        policy(doc);
    }
    assert_eq!(policy(docs[0]).statement_count(), 0);
}

/// Rows: (pattern, text, ignore_ascii_case, expected).
#[rustfmt::skip]
#[test]
fn glob_matching() {
    let rows: &[(&str, &str, bool, bool)] = &[
        ("*", "", false, true),
        ("*", "anything", false, true),
        ("", "", false, true),
        ("", "a", false, false),
        ("abc", "abc", false, true),
        ("abc", "ABC", false, false),
        ("abc", "ABC", true, true),
        ("a*", "a", false, true),
        ("a*", "b", false, false),
        ("A*", "abc", true, true),
        ("*c", "abc", false, true),
        ("*c", "abd", false, false),
        ("a*c", "abbbc", false, true),
        ("a*c", "abbbd", false, false),
        ("a?c", "abc", false, true),
        ("a?c", "ac", false, false),
        ("a?c", "abbc", false, false),
        ("a**b", "axxb", false, true),
        ("*a*b*", "xxaxxbxx", false, true),
        ("*a*b*", "xxbxxaxx", false, false),
        ("a*b*c", "abcbc", false, true),
        ("??", "é!", false, true),
        ("?", "é", false, true),
        ("é*", "éa", false, true),
        ("*é", "aé", false, true),
        ("a?b", "a日b", false, true),
    ];
    for (pattern, text, ci, expected) in rows {
        assert_eq!(Glob::compile(pattern).matches(text, *ci), *expected, "{pattern:?} vs {text:?} ci={ci}");
    }
    // Backtracking only to the last `*`: a pathological pattern stays fast.
    let text = "a".repeat(20_000);
    let start = std::time::Instant::now();
    assert!(!Glob::compile("a*a*a*a*a*a*a*a*a*a*b").matches(&text, false));
    assert!(Glob::compile("a*a*a*a*a*a*a*a*a*a*").matches(&text, false));
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

/// Rows: (a, b, a compared to b).
#[rustfmt::skip]
#[test]
fn decimal_comparison() {
    use std::cmp::Ordering::*;
    let rows: &[(&str, &str, std::cmp::Ordering)] = &[
        ("0", "0", Equal),
        ("-0", "0.000", Equal),
        ("1", "1.0", Equal),
        ("10", "1e1", Equal),
        ("0.5", "5E-1", Equal),
        ("007", "7", Equal),
        (".5", "0.5", Equal),
        ("5.", "5", Equal),
        ("+3", "3", Equal),
        ("1", "2", Less),
        ("-1", "-2", Greater),
        ("-1", "1", Less),
        ("0", "-0.0001", Greater),
        ("0.001", "0.01", Less),
        ("100", "99.999", Greater),
        ("123456789012345678901234567890", "123456789012345678901234567891", Less),
        ("1e-20", "0", Greater),
        ("1e20", "99999999999999999999", Greater),
    ];
    for (a, b, expected) in rows {
        let (x, y) = (Decimal::parse(a).unwrap(), Decimal::parse(b).unwrap());
        assert_eq!(x.compare(&y), *expected, "{a} vs {b}");
        assert_eq!(y.compare(&x), expected.reverse(), "{b} vs {a}");
    }
    let invalid = ["", "-", ".", "abc", "1.2.3", "1e", "1e+", "0x10", "NaN", "inf", "1 ", "1,5", "--1", "1e1000000000000000000"];
    for text in invalid {
        assert!(Decimal::parse(text).is_none(), "{text:?} should not parse");
    }
}

/// Rows: (text, nanoseconds since the epoch or None when invalid).
#[rustfmt::skip]
#[test]
fn date_parsing() {
    const NOON: i128 = 1_795_435_200 * 1_000_000_000;
    let rows: &[(&str, Option<i128>)] = &[
        ("1970-01-01", Some(0)),
        ("1970-01-01T00:00:00Z", Some(0)),
        ("0", Some(0)),
        ("2026-11-23T12:00:00Z", Some(NOON)),
        ("2026-11-23T12:00Z", Some(NOON)),
        ("2026-11-23T12:00:00", Some(NOON)),
        ("2026-11-23T12:00:00.123456789Z", Some(NOON + 123_456_789)),
        ("2026-11-23T12:00:00.5Z", Some(NOON + 500_000_000)),
        ("2026-11-23T13:00:00+01:00", Some(NOON)),
        ("2026-11-23T13:00:00+01", Some(NOON)),
        ("1795435200", Some(NOON)),
        ("1795435200.25", Some(NOON + 250_000_000)),
        ("-1", Some(-1_000_000_000)),
        ("2024-02-29", Some(1_709_164_800 * 1_000_000_000)),
        ("2023-02-29", None),
        ("2026-11-23T24:00:00Z", None),
        ("2026-11-23T12:60:00Z", None),
        ("2026-11-23T12:00:00ZZ", None),
        ("2026-11-23T12", None),
        ("2026-1-23", None),
        ("26-11-23", None),
        ("", None),
        ("1.", None),
        ("yesterday", None),
    ];
    for (text, expected) in rows {
        assert_eq!(parse_instant(text), *expected, "{text:?}");
    }
}

#[test]
fn cidr_parsing() {
    let valid = [
        "10.0.0.0/8",
        "10.0.0.1",
        "0.0.0.0/0",
        "::/0",
        "2001:db8::/32",
        "::1",
        " 10.0.0.0/8 ",
    ];
    for text in valid {
        assert!(Cidr::parse(text).is_some(), "{text:?}");
    }
    let invalid = [
        "10.0.0.0/33",
        "::/129",
        "10.0.0/8",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "x",
        "",
        "10.0.0.0/8/8",
    ];
    for text in invalid {
        assert!(Cidr::parse(text).is_none(), "{text:?}");
    }
}

/// Policies are shared across request tasks (e.g. behind an `Arc`).
#[test]
fn policy_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<PolicyError>();
    assert_send_sync::<SimpleContext>();
}
