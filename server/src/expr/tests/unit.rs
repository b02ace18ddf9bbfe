//! Behaviour the oracle table cannot show directly.

use crate::expr::{parse, ExpressionInput};

fn parse_cond(e: &str) -> Result<(), String> {
    let input = ExpressionInput { condition: Some(e), ..Default::default() };
    parse(&input).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn deep_not_chain() {
    let e = "NOT ".repeat(299) + "a = b";
    let _ = parse_cond(&e);
}

#[test]
fn deep_parens() {
    let e = "(".repeat(99) + "a = b" + &")".repeat(99);
    let _ = parse_cond(&e);
}

#[test]
fn deep_ands() {
    let e = "attribute_exists(m) AND ".repeat(150) + "a = b";
    let _ = parse_cond(&e);
}
