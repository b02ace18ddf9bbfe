//! Contributor Insights: the most accessed and most throttled keys of a table and of its
//! global secondary indexes, as DynamoDB's rules name them (Developer Guide, "Using
//! CloudWatch Contributor Insights for DynamoDB"): `PKC` (partition keys accessed), `SKC`
//! (partition + sort keys accessed, when there is a sort key), `PKT` and `SKT` (the same,
//! throttled). `THROTTLED_KEYS` mode keeps only the throttled rules.
//!
//! Each rule keeps a bounded top-k sketch (Filtered Space-Saving, `topk`) per minute for the
//! last [`WINDOW_MINUTES`] minutes, merged when read: memory is bounded by k per minute,
//! never by the number of keys. Nothing is recorded for a table until a rule is enabled,
//! and a request then pays one lock per key it touches.
//!
//! Settings are part of the table's definition (`TableMeta::insights`); the sketches are
//! kept in memory, shared across the table's definitions, and start empty after a restart.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use topk::FilteredSpaceSaving;

use super::catalog::TableMeta;
use crate::model::{AttributeValue, Item, KeySchema};

/// Minutes the top keys are kept over.
pub const WINDOW_MINUTES: u64 = 5;
/// Keys each minute's sketch tracks; the top ones reported are far fewer.
const TRACKED: usize = 64;
/// Keys reported per rule.
pub const REPORTED: usize = 10;

pub const ACCESSED_AND_THROTTLED: &str = "ACCESSED_AND_THROTTLED_KEYS";
pub const THROTTLED_ONLY: &str = "THROTTLED_KEYS";

/// Contributor Insights on the table (`index: None`) or one of its GSIs, as enabled by
/// UpdateContributorInsights. Part of the persisted definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightsSetting {
    pub index: Option<String>,
    /// `ACCESSED_AND_THROTTLED_KEYS` or `THROTTLED_KEYS`.
    pub mode: String,
    pub enabled: bool,
    /// When it last changed (epoch seconds): LastUpdateDateTime.
    pub updated_at: f64,
    /// When it was enabled (epoch milliseconds), in its rules' names.
    pub enabled_ms: i64,
}

impl InsightsSetting {
    /// Enabled in `mode` at `now` (epoch seconds).
    pub fn enabled(index: Option<String>, mode: String, now: f64) -> InsightsSetting {
        InsightsSetting {
            index,
            mode,
            enabled: true,
            updated_at: now,
            enabled_ms: (now * 1000.0) as i64,
        }
    }

    /// DynamoDB's rule names: `DynamoDBContributorInsights-<rule>-<table>[-<index>]-<ms>`.
    pub fn rule_names(&self, table: &str, has_sort_key: bool) -> Vec<String> {
        let resource = match &self.index {
            Some(i) => format!("{table}-{i}"),
            None => table.to_string(),
        };
        Rule::ALL
            .iter()
            .filter(|r| self.keeps(**r, has_sort_key))
            .map(|r| {
                format!(
                    "DynamoDBContributorInsights-{}-{resource}-{}",
                    r.name(),
                    self.enabled_ms
                )
            })
            .collect()
    }

    fn keeps(&self, rule: Rule, has_sort_key: bool) -> bool {
        (has_sort_key || !rule.by_sort_key()) && (self.mode != THROTTLED_ONLY || rule.throttled())
    }
}

/// A Contributor Insights rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Partition keys accessed.
    Pkc,
    /// Partition + sort keys accessed.
    Skc,
    /// Partition keys throttled.
    Pkt,
    /// Partition + sort keys throttled.
    Skt,
}

impl Rule {
    pub const ALL: [Rule; 4] = [Rule::Pkc, Rule::Skc, Rule::Pkt, Rule::Skt];

    pub fn name(self) -> &'static str {
        match self {
            Rule::Pkc => "PKC",
            Rule::Skc => "SKC",
            Rule::Pkt => "PKT",
            Rule::Skt => "SKT",
        }
    }

    fn throttled(self) -> bool {
        matches!(self, Rule::Pkt | Rule::Skt)
    }

    fn by_sort_key(self) -> bool {
        matches!(self, Rule::Skc | Rule::Skt)
    }
}

/// A key as the rules count it: the partition key value, and the sort key value for the
/// `SK` rules, written as text (a number as its digits, binary in base64).
pub type Key = (String, Option<String>);

/// One rule's sketches, one per minute, newest last.
#[derive(Default)]
struct Window {
    minutes: VecDeque<(u64, FilteredSpaceSaving<Key>)>,
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let minutes: Vec<u64> = self.minutes.iter().map(|(m, _)| *m).collect();
        f.debug_struct("Window").field("minutes", &minutes).finish()
    }
}

impl Window {
    fn add(&mut self, minute: u64, key: Key) {
        if self.minutes.back().is_none_or(|(m, _)| *m != minute) {
            self.minutes
                .push_back((minute, FilteredSpaceSaving::new(TRACKED)));
        }
        while self
            .minutes
            .front()
            .is_some_and(|(m, _)| *m + WINDOW_MINUTES <= minute)
        {
            self.minutes.pop_front();
        }
        if let Some((_, sketch)) = self.minutes.back_mut() {
            sketch.insert(key, 1);
        }
    }

    /// The most frequent keys of the minutes still in the window.
    fn top(&self, minute: u64) -> Vec<(Key, u64)> {
        let mut merged: HashMap<Key, u64> = HashMap::new();
        for (m, sketch) in &self.minutes {
            if *m + WINDOW_MINUTES <= minute {
                continue;
            }
            for (key, counter) in sketch.iter() {
                *merged.entry(key.clone()).or_default() += counter.estimated_count();
            }
        }
        let mut top: Vec<(Key, u64)> = merged.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(REPORTED);
        top
    }
}

/// The rules of the table or of one GSI.
#[derive(Debug)]
struct Resource {
    setting: InsightsSetting,
    has_sort_key: bool,
    rules: HashMap<Rule, Window>,
}

/// A table's Contributor Insights: its enabled resources' sketches.
#[derive(Debug, Default)]
pub struct Insights {
    /// A rule is enabled on the table or a GSI: without it, requests take no lock.
    enabled: AtomicBool,
    resources: Mutex<HashMap<Option<String>, Resource>>,
}

impl Insights {
    /// Takes the settings of `meta`: sketches of resources still enabled (in the same
    /// mode) are kept, others go.
    pub fn configure(&self, meta: &TableMeta) {
        let mut resources = self.resources.lock();
        let enabled: Vec<&InsightsSetting> = meta.insights.iter().filter(|s| s.enabled).collect();
        resources.retain(|index, r| {
            enabled
                .iter()
                .any(|s| &s.index == index && **s == r.setting)
        });
        for s in enabled {
            let schema = match &s.index {
                None => Some(&meta.key_schema),
                Some(i) => meta.index(i).map(|i| &i.key_schema),
            };
            let Some(schema) = schema else { continue };
            resources
                .entry(s.index.clone())
                .or_insert_with(|| Resource {
                    setting: s.clone(),
                    has_sort_key: schema.range.is_some(),
                    rules: HashMap::new(),
                });
        }
        self.enabled.store(!resources.is_empty(), Ordering::Relaxed);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Counts one request on `key` (a key or an item; only its key attributes under
    /// `schema` are read) of the table or its GSI `index`, throttled or not.
    pub fn record(&self, index: Option<&str>, schema: &KeySchema, key: &Item, throttled: bool) {
        if !self.is_enabled() {
            return;
        }
        let Some(pk) = key.get(&schema.hash.name) else {
            return;
        };
        let sk = schema.range.as_ref().and_then(|r| key.get(&r.name));
        self.record_values(index, pk, sk, throttled);
    }

    /// Counts one request on the partition key value `pk` (and sort key value `sk`) of the
    /// table or its GSI `index`, throttled or not.
    pub fn record_values(
        &self,
        index: Option<&str>,
        pk: &AttributeValue,
        sk: Option<&AttributeValue>,
        throttled: bool,
    ) {
        if !self.is_enabled() {
            return;
        }
        let (pk, sk) = (text(pk), sk.map(text));
        let minute = now_minute();
        let mut resources = self.resources.lock();
        let Some(resource) = resources.get_mut(&index.map(str::to_string)) else {
            return;
        };
        let (by_partition, by_key) = if throttled {
            (Rule::Pkt, Rule::Skt)
        } else {
            (Rule::Pkc, Rule::Skc)
        };
        let has_sort_key = resource.has_sort_key;
        for rule in [by_partition, by_key] {
            // A query names a partition, not an item: it counts for the partition's rule.
            if !resource.setting.keeps(rule, has_sort_key) || (rule.by_sort_key() && sk.is_none()) {
                continue;
            }
            let key = match rule.by_sort_key() {
                true => (pk.clone(), sk.clone()),
                false => (pk.clone(), None),
            };
            resource.rules.entry(rule).or_default().add(minute, key);
        }
    }

    /// The top keys of each rule of the table (`None`) or its GSI `index`, most frequent
    /// first; empty when it is not enabled.
    pub fn top(&self, index: Option<&str>) -> Vec<(Rule, Key, u64)> {
        let minute = now_minute();
        let resources = self.resources.lock();
        let Some(resource) = resources.get(&index.map(str::to_string)) else {
            return Vec::new();
        };
        Rule::ALL
            .iter()
            .filter_map(|rule| Some((*rule, resource.rules.get(rule)?)))
            .flat_map(|(rule, window)| {
                window
                    .top(minute)
                    .into_iter()
                    .map(move |(key, count)| (rule, key, count))
            })
            .collect()
    }
}

fn now_minute() -> u64 {
    (super::now_epoch_seconds() / 60.0) as u64
}

/// A key attribute's value as text.
fn text(v: &AttributeValue) -> String {
    use base64::Engine as _;
    match v {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        AttributeValue::B(b) => base64::engine::general_purpose::STANDARD.encode(b),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_the_heaviest_keys_of_its_last_minutes() {
        let mut w = Window::default();
        let key = |k: &str| (k.to_string(), None);
        for _ in 0..50 {
            w.add(100, key("hot"));
        }
        for n in 0..500 {
            w.add(100, key(&format!("cold{n}")));
        }
        for _ in 0..20 {
            w.add(101, key("warm"));
        }
        let top = w.top(101);
        assert_eq!(top.first(), Some(&(key("hot"), 50)));
        assert!(top.iter().any(|(k, c)| *k == key("warm") && *c == 20));
        assert!(top.len() <= REPORTED);
        // Minutes older than the window are forgotten.
        let later = w.top(100 + WINDOW_MINUTES);
        assert_eq!(later, vec![(key("warm"), 20)]);
    }
}
