//! The Contributor Insights actions: UpdateContributorInsights, DescribeContributorInsights
//! and ListContributorInsights, with DynamoDB's statuses, rule names and errors. What the
//! rules count is in [`insights`](super::insights).

use std::sync::Arc;

use super::catalog::Table;
use super::insights::{InsightsSetting, ACCESSED_AND_THROTTLED, THROTTLED_ONLY};
use super::tables::table_name;
use super::types::*;
use super::{now_epoch_seconds, Engine};
use crate::error::{Error, Result};

const MAX_LIST_RESULTS: i64 = 100;

fn enum_value(value: Option<&str>, member: &str, allowed: &[&str]) -> Result<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
        Some(v) => Err(Error::validation(format!(
            "1 validation error detected: Value '{v}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ))),
    }
}

impl Engine {
    /// The table named by a Contributor Insights request, and its GSI `index` if named.
    fn insights_target(
        &self,
        name: &Option<String>,
        index: &Option<String>,
    ) -> Result<(Arc<Table>, Option<String>)> {
        let name = table_name(name)?;
        let table = self.catalog.get(name).ok_or_else(|| {
            Error::ResourceNotFound(format!(
                "Requested resource not found: Table: {name} not found"
            ))
        })?;
        if let Some(i) = index {
            if !table.meta.global_indexes.iter().any(|g| &g.name == i) {
                return Err(Error::ResourceNotFound(format!(
                    "Requested resource not found: Index: {i} not found for table: {name}"
                )));
            }
        }
        Ok((table, index.clone()))
    }

    pub fn update_contributor_insights(
        &self,
        input: UpdateContributorInsightsInput,
    ) -> Result<UpdateContributorInsightsOutput> {
        let action = input.contributor_insights_action.as_deref().ok_or_else(|| {
            Error::validation(
                "1 validation error detected: Value null at 'contributorInsightsAction' failed to satisfy constraint: Member must not be null",
            )
        })?;
        let enable = enum_value(
            Some(action),
            "contributorInsightsAction",
            &["ENABLE", "DISABLE"],
        )?
        .is_some_and(|a| a == "ENABLE");
        let mode = enum_value(
            input.contributor_insights_mode.as_deref(),
            "contributorInsightsMode",
            &[ACCESSED_AND_THROTTLED, THROTTLED_ONLY],
        )?
        .unwrap_or_else(|| ACCESSED_AND_THROTTLED.to_string());
        let _schema = self.schema_lock.write();
        let (table, index) = self.insights_target(&input.table_name, &input.index_name)?;
        let (updated, status) = self.catalog.update(
            self.store.as_ref(),
            &table.meta.name,
            &table.meta.id,
            |meta| {
                let now = now_epoch_seconds();
                let current = meta.insights.iter_mut().find(|s| s.index == index);
                let status = match (current, enable) {
                    // The same again: nothing changes, as in DynamoDB.
                    (Some(s), true) if s.enabled && s.mode == mode => "ENABLED",
                    (Some(s), false) if !s.enabled => "DISABLED",
                    (None, false) => "DISABLED",
                    (Some(s), true) => {
                        *s = InsightsSetting::enabled(index.clone(), mode.clone(), now);
                        "ENABLING"
                    }
                    (Some(s), false) => {
                        s.enabled = false;
                        s.updated_at = now;
                        "DISABLING"
                    }
                    (None, true) => {
                        let setting = InsightsSetting::enabled(index.clone(), mode.clone(), now);
                        meta.insights.push(setting);
                        "ENABLING"
                    }
                };
                Ok(status)
            },
        )?;
        let setting = updated.meta.insights.iter().find(|s| s.index == index);
        Ok(UpdateContributorInsightsOutput {
            table_name: table.meta.name.clone(),
            index_name: index.clone(),
            contributor_insights_status: status.to_string(),
            contributor_insights_mode: Some(setting.map_or(mode, |s| s.mode.clone())),
        })
    }

    pub fn describe_contributor_insights(
        &self,
        input: DescribeContributorInsightsInput,
    ) -> Result<DescribeContributorInsightsOutput> {
        let (table, index) = self.insights_target(&input.table_name, &input.index_name)?;
        let name = table.meta.name.clone();
        let Some(setting) = table.meta.insights.iter().find(|s| s.index == index) else {
            // Never enabled: DISABLED, and nothing else.
            return Ok(DescribeContributorInsightsOutput {
                table_name: name,
                index_name: index,
                contributor_insights_status: "DISABLED".into(),
                ..Default::default()
            });
        };
        let schema = match &index {
            None => Some(&table.meta.key_schema),
            Some(i) => table.meta.index(i).map(|i| &i.key_schema),
        };
        let has_sort_key = schema.is_some_and(|s| s.range.is_some());
        let top = table.insights.top(index.as_deref());
        Ok(DescribeContributorInsightsOutput {
            contributor_insights_rule_list: setting
                .enabled
                .then(|| setting.rule_names(&name, has_sort_key)),
            contributor_insights_status: if setting.enabled {
                "ENABLED"
            } else {
                "DISABLED"
            }
            .into(),
            last_update_date_time: Some(setting.updated_at),
            contributor_insights_mode: Some(setting.mode.clone()),
            top_contributors: setting.enabled.then(|| {
                top.into_iter()
                    .map(|(rule, (partition_key, sort_key), count)| Contributor {
                        rule: rule.name().into(),
                        partition_key,
                        sort_key,
                        count: count as i64,
                    })
                    .collect()
            }),
            table_name: name,
            index_name: index,
        })
    }

    pub fn list_contributor_insights(
        &self,
        input: ListContributorInsightsInput,
    ) -> Result<ListContributorInsightsOutput> {
        let limit = match input.max_results {
            None => MAX_LIST_RESULTS,
            Some(m) if (0..=MAX_LIST_RESULTS).contains(&m) => m,
            Some(m) => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{m}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {MAX_LIST_RESULTS}"
                )))
            }
        };
        let tables: Vec<Arc<Table>> = match &input.table_name {
            Some(_) => vec![self.insights_target(&input.table_name, &None)?.0],
            None => self.catalog.all(),
        };
        // Enabled rules only, as DynamoDB lists them, in table then index order.
        let all: Vec<ContributorInsightsSummary> =
            tables
                .iter()
                .flat_map(|t| {
                    t.meta.insights.iter().filter(|s| s.enabled).map(|s| {
                        ContributorInsightsSummary {
                            table_name: t.meta.name.clone(),
                            index_name: s.index.clone(),
                            contributor_insights_status: "ENABLED".into(),
                            contributor_insights_mode: s.mode.clone(),
                        }
                    })
                })
                .collect();
        let token = input.next_token.as_deref();
        let invalid = || Error::validation("Invalid NextToken");
        let (summaries, next_token) = super::paging::page(&all, limit as usize, token, invalid)?;
        Ok(ListContributorInsightsOutput {
            contributor_insights_summaries: summaries,
            next_token,
        })
    }
}
