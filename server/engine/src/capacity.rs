//! DynamoDB's capacity-unit arithmetic and the ConsumedCapacity shape it returns.

use std::collections::BTreeMap;

use super::types::{Capacity, ConsumedCapacity};

const READ_UNIT: usize = 4096;
const WRITE_UNIT: usize = 1024;

pub use keyfall_types::command::ReturnCapacity;

/// Read units for `bytes` read: 4 KB units rounded up, at least one; eventually
/// consistent reads cost half.
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(READ_UNIT).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

/// Write units: 1 KB units of the larger of the old and new item, rounded up, at least one.
pub fn write_units(old_bytes: usize, new_bytes: usize) -> f64 {
    old_bytes.max(new_bytes).div_ceil(WRITE_UNIT).max(1) as f64
}

/// Units consumed by one request on a table and its indexes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub table: f64,
    pub local: BTreeMap<String, f64>,
    pub global: BTreeMap<String, f64>,
}

impl Usage {
    pub fn table(units: f64) -> Usage {
        Usage {
            table: units,
            ..Usage::default()
        }
    }

    pub fn total(&self) -> f64 {
        self.table + self.local.values().sum::<f64>() + self.global.values().sum::<f64>()
    }

    pub fn add(&mut self, other: &Usage) {
        self.table += other.table;
        for (k, v) in &other.local {
            *self.local.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.global {
            *self.global.entry(k.clone()).or_default() += v;
        }
    }
}

/// As [`consumed`], computing the usage only when the client asked for capacity: index
/// usage projects every index entry, which writes should not pay for unasked.
pub fn consumed_with(
    table: &str,
    mode: ReturnCapacity,
    usage: impl FnOnce() -> Usage,
) -> Option<ConsumedCapacity> {
    (mode != ReturnCapacity::None)
        .then(usage)
        .and_then(|u| consumed(table, mode, &u))
}

/// The ConsumedCapacity DynamoDB returns: the total, and with INDEXES the breakdown.
pub fn consumed(table: &str, mode: ReturnCapacity, usage: &Usage) -> Option<ConsumedCapacity> {
    let cap = |units: f64| Capacity {
        capacity_units: units,
        read_capacity_units: None,
        write_capacity_units: None,
    };
    let breakdown = |m: &BTreeMap<String, f64>| {
        (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), cap(*v))).collect())
    };
    match mode {
        ReturnCapacity::None => None,
        ReturnCapacity::Total => Some(ConsumedCapacity {
            table_name: table.to_string(),
            capacity_units: usage.total(),
            ..ConsumedCapacity::default()
        }),
        ReturnCapacity::Indexes => Some(ConsumedCapacity {
            table_name: table.to_string(),
            capacity_units: usage.total(),
            table: Some(cap(usage.table)),
            local_secondary_indexes: breakdown(&usage.local),
            global_secondary_indexes: breakdown(&usage.global),
            ..ConsumedCapacity::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_arithmetic() {
        let reads = [
            (0, true, 1.0),
            (1, false, 0.5),
            (4096, true, 1.0),
            (4097, true, 2.0),
            (10_000, false, 1.5),
        ];
        for (bytes, consistent, want) in reads {
            assert_eq!(read_units(bytes, consistent), want, "{bytes} {consistent}");
        }
        let writes = [
            (0, 0, 1.0),
            (0, 1024, 1.0),
            (1025, 10, 2.0),
            (10, 5000, 5.0),
        ];
        for (old, new, want) in writes {
            assert_eq!(write_units(old, new), want, "{old} {new}");
        }
    }
}
