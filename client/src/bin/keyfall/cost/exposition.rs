//! The Prometheus text exposition format (and OpenMetrics, its successor), as far as
//! reading sample values needs: `name{label="value",...} value [timestamp]` lines, `#`
//! lines skipped. Written here rather than taken from a crate: the readers on crates.io
//! pull in regex and chrono for the same twenty lines.

use anyhow::{bail, Context};

/// One sample line.
#[derive(Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The samples of a scrape. A line that does not parse is skipped rather than failing
/// the whole reading: prometheus-client writes label values unescaped, so a series
/// labelled with user data (Contributor Insights' keys) may hold a quote or a line
/// break, while the per-table series read here are labelled with table names, which
/// cannot. Text that is not metrics at all yields no `keyfall_` sample, and the caller
/// says so.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| parse_line(line).ok())
        .collect()
}

pub fn parse_line(line: &str) -> anyhow::Result<Sample> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .context("no value")?;
    let (name, rest) = line.split_at(name_end);
    let (labels, rest) = match rest.strip_prefix('{') {
        Some(inside) => labels(inside)?,
        None => (Vec::new(), rest),
    };
    let value = rest.split_whitespace().next().context("no value")?;
    let value = value
        .parse()
        .with_context(|| format!("the value {value:?} is not a number"))?;
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// The labels after `{`, and the text after the closing `}`.
fn labels(inside: &str) -> anyhow::Result<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    let mut rest = inside;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (name, after) = rest.split_once('=').context("a label without '='")?;
        let after = after
            .trim_start()
            .strip_prefix('"')
            .context("a label value without quotes")?;
        let mut chars = after.chars();
        let mut value = String::new();
        loop {
            match chars.next() {
                None => bail!("a label value without its closing quote"),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => bail!("a label value ending in '\\'"),
                },
                Some(c) => value.push(c),
            }
        }
        labels.push((name.trim().to_string(), value));
        rest = chars.as_str().trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keyfall_metrics() {
        let text = "# HELP keyfall_table_items Items per table.\n\
                    # TYPE keyfall_table_items gauge\n\
                    keyfall_table_items{table=\"music\"} 12\n\
                    keyfall_consumed_read_capacity_units_total{table=\"music\"} 0.5\n\
                    keyfall_provisioned_read_capacity_units{table=\"t\",index=\"\"} 5\n\
                    keyfall_storage_disk_bytes 67108864\n\
                    # EOF\n";
        let samples = parse(text);
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[0].name, "keyfall_table_items");
        assert_eq!(samples[0].label("table"), Some("music"));
        assert_eq!(samples[1].value, 0.5);
        assert_eq!(samples[2].label("index"), Some(""));
        assert_eq!(samples[2].label("table"), Some("t"));
        assert!(samples[3].labels.is_empty());
        assert_eq!(samples[3].value, 67108864.0);
    }

    #[test]
    fn reads_escapes_spaces_timestamps_and_special_values() {
        let samples = parse("m{ a = \"x\\\"y\\\\z\\n\" , b=\"}\" ,} +Inf 1700000000\nn NaN\n");
        assert_eq!(
            samples[0].labels,
            [
                ("a".to_string(), "x\"y\\z\n".to_string()),
                ("b".to_string(), "}".to_string())
            ]
        );
        assert_eq!(samples[0].value, f64::INFINITY);
        assert!(samples[1].value.is_nan());
    }

    #[test]
    fn refuses_lines_that_are_not_samples() {
        for line in ["<html>", "m{a=\"x\"", "m{a=x} 1", "m 1e", "m{a} 1", "m"] {
            assert!(parse_line(line).is_err(), "{line:?}");
        }
    }

    #[test]
    fn skips_a_broken_line_and_keeps_the_rest() {
        // A partition key holding a line break and a quote, written unescaped.
        let text = "keyfall_contributor_insights_requests{table=\"t\",partition_key=\"a\n\
                    b\"c\"} 3\n\
                    keyfall_table_items{table=\"t\"} 2\n\
                    <html>\n";
        let samples = parse(text);
        let items: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.name == "keyfall_table_items")
            .collect();
        assert_eq!(items.len(), 1, "{samples:?}");
        assert_eq!(items[0].value, 2.0);
        assert!(parse("<html><body>Not found</body></html>").is_empty());
    }
}
