//! `iota rules test|list|validate`: rule tooling (SPEC 3.3).

pub mod coverage;
pub mod list;
pub mod test;
pub mod validate;

use iota_rules::{Rule, RuleSet};

use crate::cli::RuleSelection;
use crate::rule_engine::load_rules;
use crate::UsageError;

/// Loads the selected rules and keeps those matching every `--filter`.
pub(crate) fn select(selection: &RuleSelection) -> anyhow::Result<RuleSet> {
    let filters = selection
        .filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut set = load_rules(&selection.rule_args())?;
    if !filters.is_empty() {
        set.rules
            .retain(|rule| filters.iter().all(|f| f.matches(rule)));
        for (i, rule) in set.rules.iter_mut().enumerate() {
            rule.index = i;
        }
    }
    Ok(set)
}

/// `--filter KEY=VALUE[,VALUE...]` over rule metadata.
struct Filter {
    key: FilterKey,
    values: Vec<String>,
}

#[derive(Clone, Copy)]
enum FilterKey {
    RuleId,
    Severity,
    LogTypes,
    Tags,
    Enabled,
    Threshold,
    DedupPeriodMinutes,
    DisplayName,
}

impl Filter {
    fn parse(spec: &str) -> Result<Self, UsageError> {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--filter {spec:?}: expected KEY=VALUE")))?;
        let key = match key.to_ascii_lowercase().as_str() {
            "ruleid" | "id" => FilterKey::RuleId,
            "severity" => FilterKey::Severity,
            "logtypes" | "logtype" => FilterKey::LogTypes,
            "tags" | "tag" => FilterKey::Tags,
            "enabled" => FilterKey::Enabled,
            "threshold" => FilterKey::Threshold,
            "dedupperiodminutes" => FilterKey::DedupPeriodMinutes,
            "displayname" => FilterKey::DisplayName,
            _ => {
                return Err(UsageError(format!(
                    "--filter {spec:?}: unknown key {key:?} (RuleID, Severity, LogTypes, Tags, \
                     Enabled, Threshold, DedupPeriodMinutes, DisplayName)"
                )))
            }
        };
        Ok(Filter {
            key,
            values: value.split(',').map(|v| v.trim().to_string()).collect(),
        })
    }

    fn matches(&self, rule: &Rule) -> bool {
        let any = |candidate: &str| {
            self.values
                .iter()
                .any(|v| v.eq_ignore_ascii_case(candidate))
        };
        match self.key {
            FilterKey::RuleId => self.values.contains(&rule.id),
            FilterKey::Severity => any(rule.severity.as_str()),
            FilterKey::LogTypes => rule.log_types.iter().any(|t| any(t)),
            FilterKey::Tags => rule.tags.iter().any(|t| any(t)),
            FilterKey::Enabled => any(if rule.enabled { "true" } else { "false" }),
            FilterKey::Threshold => any(&rule.threshold.to_string()),
            FilterKey::DedupPeriodMinutes => any(&rule.dedup_period_minutes.to_string()),
            FilterKey::DisplayName => rule.display_name.as_deref().is_some_and(any),
        }
    }
}
