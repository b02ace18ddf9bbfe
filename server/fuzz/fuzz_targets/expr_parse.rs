//! Any text as any expression kind: parsing and evaluation must never panic.
#![no_main]

use std::collections::HashMap;

use keyfall_server::expr::{self, ExpressionInput};
use keyfall_server::model::{AttributeValue, Item, Number};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let names: HashMap<String, String> = [("#a".to_string(), "a".to_string()), ("#b".to_string(), "b".to_string())].into();
    let values: HashMap<String, AttributeValue> = [
        (":n".to_string(), AttributeValue::N(Number::parse("1").unwrap_or_else(|_| Number::zero()))),
        (":s".to_string(), AttributeValue::S("x".into())),
        (":l".to_string(), AttributeValue::L(vec![AttributeValue::Null])),
    ]
    .into();
    let item: Item = [
        ("a".to_string(), AttributeValue::L(vec![AttributeValue::S("x".into())])),
        ("b".to_string(), AttributeValue::N(Number::zero())),
    ]
    .into();
    for kind in 0..4 {
        let mut input = ExpressionInput { names: Some(&names), values: Some(&values), ..Default::default() };
        match kind {
            0 => input.condition = Some(text),
            1 => input.update = Some(text),
            2 => input.projection = Some(text),
            _ => input.key_condition = Some(text),
        }
        if let Ok(parsed) = expr::parse(&input) {
            if let Some(c) = &parsed.condition {
                let _ = c.evaluate(&item);
            }
            if let Some(u) = &parsed.update {
                let _ = u.apply(&mut item.clone());
            }
            if let Some(p) = &parsed.projection {
                let _ = p.apply(&item);
            }
        }
    }
});
