//! `keyfall insights TABLE`: a table's (or GSI's) Contributor Insights, the most accessed
//! and most throttled keys of the last minutes, from DescribeContributorInsights.

use keyfall::proto::v1 as pb;
use keyfall::Client;

use crate::call_error;

#[derive(clap::Args)]
pub struct InsightsArgs {
    /// The table.
    table: String,
    /// One of its global secondary indexes instead.
    #[arg(long)]
    index: Option<String>,
    /// Prints the answer as JSON.
    #[arg(long)]
    json: bool,
}

/// What each rule counts, as DynamoDB's console names them.
fn rule_title(rule: &str) -> &'static str {
    match rule {
        "PKC" => "Most accessed partition keys",
        "SKC" => "Most accessed items (partition + sort key)",
        "PKT" => "Most throttled partition keys",
        "SKT" => "Most throttled items (partition + sort key)",
        _ => "Other",
    }
}

pub async fn run(client: &Client, args: InsightsArgs) -> anyhow::Result<()> {
    let answer = client
        .grpc()
        .describe_contributor_insights(pb::DescribeContributorInsightsRequest {
            table_name: args.table.clone(),
            index_name: args.index.clone(),
        })
        .await
        .map_err(call_error)?
        .into_inner();
    if args.json {
        let contributors: Vec<serde_json::Value> = answer
            .top_contributors
            .iter()
            .map(|c| {
                serde_json::json!({
                    "Rule": c.rule, "PartitionKey": c.partition_key,
                    "SortKey": c.sort_key, "Count": c.count,
                })
            })
            .collect();
        let out = serde_json::json!({
            "TableName": answer.table_name,
            "IndexName": answer.index_name,
            "ContributorInsightsStatus": answer.contributor_insights_status,
            "ContributorInsightsMode": answer.contributor_insights_mode,
            "ContributorInsightsRuleList": answer.contributor_insights_rule_list,
            "TopContributors": contributors,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let status = answer
        .contributor_insights_status
        .as_deref()
        .unwrap_or("DISABLED");
    let target = match &args.index {
        Some(i) => format!("{} (index {i})", args.table),
        None => args.table.clone(),
    };
    println!("Contributor Insights on {target}: {status}");
    if status != "ENABLED" {
        println!(
            "Enable it with: aws dynamodb update-contributor-insights --table-name {} --contributor-insights-action ENABLE",
            args.table
        );
        return Ok(());
    }
    for rule in ["PKC", "SKC", "PKT", "SKT"] {
        let rows: Vec<&pb::Contributor> = answer
            .top_contributors
            .iter()
            .filter(|c| c.rule == rule)
            .collect();
        println!("\n{} ({rule}), last 5 minutes:", rule_title(rule));
        if rows.is_empty() {
            println!("  none");
        }
        for c in rows {
            match &c.sort_key {
                Some(sk) => println!("  {:>10}  {} | {sk}", c.count, c.partition_key),
                None => println!("  {:>10}  {}", c.count, c.partition_key),
            }
        }
    }
    Ok(())
}
