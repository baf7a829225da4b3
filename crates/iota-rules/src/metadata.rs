//! What iota knows about a rule or data model before any Python runs: the Panther-compatible
//! YAML metadata (SPEC 3.1) and the defaults applied to plain-Python rules.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::filter::Condition;
use crate::native::NativeSpec;
use crate::rule_tests::RuleTest;

/// Alert severity, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "INFO" => Ok(Severity::Info),
            "LOW" => Ok(Severity::Low),
            "MEDIUM" => Ok(Severity::Medium),
            "HIGH" => Ok(Severity::High),
            "CRITICAL" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity {s:?} (expected Info, Low, Medium, High or Critical)"
            )),
        }
    }
}

/// The rule forms of SPEC 3.1. They differ in their defaults for title and dedup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A `.py` file defining `rule(event)`; id = file stem.
    Plain,
    /// A Panther-format `.yml` with its `.py` (`Filename:`).
    Panther,
    /// A `.yml` without Python: its `Filter:` is the rule, evaluated in Rust.
    Native,
}

/// One loaded rule. `index` is its position in the [`crate::RuleSet`] and the id used on the
/// worker protocol.
#[derive(Clone, Debug, Serialize)]
pub struct Rule {
    pub index: usize,
    pub id: String,
    pub kind: RuleKind,
    /// The Python file holding `rule(event)`; the YAML file of a native rule.
    pub file: PathBuf,
    /// The YAML metadata file, for Panther-form rules.
    #[serde(skip)]
    pub metadata_file: Option<PathBuf>,
    pub enabled: bool,
    /// Log types the rule wants (`LogTypes`; [`DEFAULT_LOG_TYPE`] for a rule that names none);
    /// empty means every log type.
    pub log_types: Vec<String>,
    pub severity: Severity,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    pub dedup_period_minutes: u32,
    pub threshold: u32,
    pub tags: Vec<String>,
    pub reports: BTreeMap<String, Vec<String>>,
    pub output_ids: Vec<String>,
    pub summary_attributes: Vec<String>,
    pub create_alert: bool,
    /// Test cases (`Tests:`, or `<rule>.tests.yml` for plain rules); not sent to workers.
    #[serde(skip)]
    pub tests: Vec<RuleTest>,
    /// iota's `Filter:` prefilter, as declared.
    #[serde(skip)]
    pub filter: Option<Condition>,
    /// Panther `InlineFilters` as written; the worker applies them before `rule()`.
    pub inline_filters: Option<serde_json::Value>,
    /// For a native rule: what it declares besides its condition (`filter`).
    #[serde(skip)]
    pub native: Option<NativeSpec>,
}

/// The log type of a rule that names none: a plain Python rule has no metadata to name one,
/// and iota's rules are CloudTrail rules unless they say otherwise. Without it, such a rule
/// would be sent the VPC flow, S3 and ALB records too, which it was not written for.
pub const DEFAULT_LOG_TYPE: &str = "AWS.CloudTrail";

impl Rule {
    pub const DEFAULT_DEDUP_PERIOD_MINUTES: u32 = 60;

    /// The title of an alert whose rule has no `title()` (or whose `title()` failed): the
    /// `DisplayName` of a Panther rule, else the rule id (as the worker does).
    pub fn default_title(&self) -> &str {
        match (&self.kind, &self.display_name) {
            (RuleKind::Panther | RuleKind::Native, Some(name)) if !name.is_empty() => name,
            _ => &self.id,
        }
    }

    /// Whether the rule wants events of this log type.
    pub fn wants_log_type(&self, log_type: &str) -> bool {
        self.log_types.is_empty() || self.log_types.iter().any(|t| t == log_type)
    }
}

/// A field mapping of a data model: a name resolved either through a JSON path or through a
/// function of the data model's Python file.
#[derive(Clone, Debug, Serialize)]
pub struct Mapping {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// An `AnalysisType: datamodel` file: what `event.udm(name)` means for some log types.
#[derive(Clone, Debug, Serialize)]
pub struct DataModel {
    pub id: String,
    pub log_types: Vec<String>,
    pub file: Option<PathBuf>,
    pub mappings: Vec<Mapping>,
}

/// The Panther YAML keys iota reads. Unknown keys are collected so they can be warned about.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct YamlSpec {
    pub analysis_type: Option<String>,
    #[serde(rename = "RuleID")]
    pub rule_id: Option<String>,
    #[serde(rename = "DataModelID")]
    pub data_model_id: Option<String>,
    pub filename: Option<String>,
    pub enabled: Option<bool>,
    pub log_types: Option<Vec<String>>,
    pub severity: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    pub dedup_period_minutes: Option<u32>,
    pub threshold: Option<u32>,
    pub tags: Option<Vec<String>>,
    pub reports: Option<BTreeMap<String, Vec<String>>>,
    #[serde(rename = "OutputIds")]
    pub output_ids: Option<Vec<String>>,
    pub summary_attributes: Option<Vec<String>>,
    pub create_alert: Option<bool>,
    pub mappings: Option<Vec<YamlMapping>>,
    pub tests: Option<serde_yaml::Value>,
    pub filter: Option<serde_yaml::Value>,
    pub inline_filters: Option<serde_yaml::Value>,
    pub group_by: Option<Vec<String>>,
    pub unique: Option<Vec<String>>,
    pub alert_title: Option<String>,
    pub alert_context: Option<BTreeMap<String, String>>,
    pub dynamic_severities: Option<Vec<YamlDynamicSeverity>>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_yaml::Value>,
}

/// One entry of a native rule's `DynamicSeverities:`: the severity an alert gets when its
/// event satisfies the filter.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct YamlDynamicSeverity {
    pub change_to: String,
    pub filter: serde_yaml::Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct YamlMapping {
    pub name: String,
    pub path: Option<String>,
    pub method: Option<String>,
}

/// Panther keys that iota accepts but does not act on (yet); they are not warned about.
pub(crate) const KNOWN_OTHER_KEYS: &[&str] = &[
    "GlobalID",
    "Status",
    "ScheduledQueries",
    "Suppressions",
    "Detection",
];
