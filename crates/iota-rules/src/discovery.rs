//! Rule discovery: walks rule paths, reads Panther YAML metadata and plain-Python rules, and
//! resolves the helper and data-model directories that go on the workers' import path.
//!
//! A problem with one rule (bad YAML, missing `Filename`, duplicate id) is recorded in
//! [`RuleSet::problems`] and never stops the other rules from loading.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::filter;
use crate::metadata::{
    DataModel, Mapping, Rule, RuleKind, Severity, YamlSpec, DEFAULT_LOG_TYPE, KNOWN_OTHER_KEYS,
};
use crate::native::{native_spec, NativeKeys};
use crate::rule_tests::{parse_tests, plain_rule_tests};

/// Where to look for rules and what goes on the workers' import path.
#[derive(Clone, Debug, Default)]
pub struct RuleSources {
    /// Rule files or directories (searched recursively).
    pub rule_paths: Vec<PathBuf>,
    /// Helper directories put on the import path (`--helpers`).
    pub helper_dirs: Vec<PathBuf>,
    /// Directories holding `AnalysisType: datamodel` files (`--data-models`).
    pub data_model_dirs: Vec<PathBuf>,
}

/// Something wrong with one rule or file, reported by name; the rest still loads.
#[derive(Clone, Debug)]
pub struct LoadProblem {
    /// The rule id when known, otherwise the file.
    pub rule_id: Option<String>,
    pub file: PathBuf,
    pub message: String,
    pub level: ProblemLevel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemLevel {
    /// The rule (or data model) could not be loaded at all.
    Fatal,
    /// The rule loads, but part of its definition is broken (e.g. a test case).
    Error,
    /// Worth knowing, harmless (e.g. an unknown metadata key).
    Warning,
}

/// Every rule and data model found, in a stable order (sorted by path).
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// Enabled and disabled rules; `rules[i].index == i`.
    pub rules: Vec<Rule>,
    pub data_models: Vec<DataModel>,
    /// Directories for the workers' `sys.path`, in order.
    pub import_paths: Vec<PathBuf>,
    pub problems: Vec<LoadProblem>,
}

impl RuleSet {
    /// Indexes of the enabled rules that want events of `log_type`.
    pub fn rules_for_log_type(&self, log_type: &str) -> Vec<u32> {
        self.rules
            .iter()
            .filter(|r| r.enabled && r.wants_log_type(log_type))
            .map(|r| r.index as u32)
            .collect()
    }

    pub fn enabled_count(&self) -> usize {
        self.rules.iter().filter(|r| r.enabled).count()
    }
}

/// Directory names that hold helpers or data models rather than rules, wherever they appear.
const HELPER_DIR_NAMES: &[&str] = &["global_helpers", "data_models"];

/// Loads every rule under `sources`.
pub fn discover(sources: &RuleSources) -> RuleSet {
    let mut set = RuleSet::default();
    let mut yaml_files = Vec::new();
    let mut py_files = Vec::new();
    let mut model_files = Vec::new();

    for root in &sources.rule_paths {
        if !root.exists() {
            set.problems.push(LoadProblem {
                rule_id: None,
                file: root.clone(),
                message: "rule path does not exist".into(),
                level: ProblemLevel::Fatal,
            });
            continue;
        }
        collect_files(root, &mut yaml_files, &mut py_files, &mut set.problems);
    }
    for dir in &sources.data_model_dirs {
        let mut ignored_py = Vec::new();
        collect_files(dir, &mut model_files, &mut ignored_py, &mut set.problems);
    }

    let mut import_paths: Vec<PathBuf> = Vec::new();
    let mut push_path = |p: PathBuf| {
        if !import_paths.contains(&p) {
            import_paths.push(p);
        }
    };
    for dir in &sources.helper_dirs {
        push_path(absolute(dir));
    }
    for dir in implicit_helper_dirs(&sources.rule_paths) {
        push_path(dir);
    }

    // Python files claimed by a YAML (rule, data model or global helper) are not plain rules.
    let mut claimed: HashSet<PathBuf> = HashSet::new();
    let mut ids: HashMap<String, PathBuf> = HashMap::new();

    for yaml in yaml_files.iter().chain(model_files.iter()) {
        let spec = match read_yaml(yaml) {
            Ok(Some(spec)) => spec,
            Ok(None) => continue,
            Err(message) => {
                set.problems.push(LoadProblem {
                    rule_id: None,
                    file: yaml.clone(),
                    message,
                    level: ProblemLevel::Fatal,
                });
                continue;
            }
        };
        let py = spec
            .filename
            .as_ref()
            .map(|f| absolute(&yaml.parent().unwrap_or(Path::new(".")).join(f)));
        if let Some(py) = &py {
            claimed.insert(py.clone());
        }
        match spec
            .analysis_type
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("rule") => {
                if let Some(rule) = panther_rule(yaml, py, spec, &mut set.problems) {
                    if let Some(first) = ids.get(&rule.id) {
                        set.problems.push(LoadProblem {
                            rule_id: Some(rule.id.clone()),
                            file: yaml.clone(),
                            message: format!(
                                "duplicate RuleID (also defined in {}); this one is ignored",
                                first.display()
                            ),
                            level: ProblemLevel::Fatal,
                        });
                        continue;
                    }
                    ids.insert(rule.id.clone(), yaml.clone());
                    set.rules.push(rule);
                }
            }
            Some("datamodel") => {
                if let Some(model) = data_model(yaml, py, spec, &mut set.problems) {
                    set.data_models.push(model);
                }
            }
            Some("global") => {
                if let Some(dir) = py.as_ref().and_then(|p| p.parent()) {
                    push_path(dir.to_path_buf());
                }
            }
            // Policies, scheduled rules, saved queries, packs: not iota's business.
            _ => {}
        }
    }

    for py in py_files {
        let py = absolute(&py);
        if claimed.contains(&py) || !defines_rule_function(&py) {
            continue;
        }
        let id = py
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(first) = ids.get(&id) {
            set.problems.push(LoadProblem {
                rule_id: Some(id.clone()),
                file: py.clone(),
                message: format!(
                    "duplicate rule id (also defined in {}); this one is ignored",
                    first.display()
                ),
                level: ProblemLevel::Fatal,
            });
            continue;
        }
        ids.insert(id.clone(), py.clone());
        let mut rule = plain_rule(id, py);
        if let Some((tests_file, tests, broken)) = plain_rule_tests(&rule.file) {
            rule.tests = tests;
            for message in broken {
                set.problems.push(LoadProblem {
                    rule_id: Some(rule.id.clone()),
                    file: tests_file.clone(),
                    message,
                    level: ProblemLevel::Error,
                });
            }
        }
        set.rules.push(rule);
    }

    set.rules
        .sort_by(|a, b| a.file.cmp(&b.file).then(a.id.cmp(&b.id)));
    for (i, rule) in set.rules.iter_mut().enumerate() {
        rule.index = i;
    }
    // Each rule's own directory is importable, so rules can share sibling helper modules.
    let rule_dirs: BTreeSet<PathBuf> = set
        .rules
        .iter()
        .filter_map(|r| r.file.parent().map(Path::to_path_buf))
        .collect();
    for dir in rule_dirs {
        push_path(dir);
    }
    set.import_paths = import_paths;
    set
}

fn collect_files(
    root: &Path,
    yaml: &mut Vec<PathBuf>,
    py: &mut Vec<PathBuf>,
    problems: &mut Vec<LoadProblem>,
) {
    // Links are followed: a Kubernetes ConfigMap volume holds each file as a link into a
    // hidden `..data` directory (skipped below, so every rule is found once, by its name).
    let walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    for entry in walker.filter_entry(|e| {
        let name = e.file_name().to_string_lossy();
        // Hidden and private entries (`_helpers.py`, `__pycache__`, `.git`) are never rules.
        e.depth() == 0 || !(name.starts_with('.') || name.starts_with('_'))
    }) {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                problems.push(LoadProblem {
                    rule_id: None,
                    file: err
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.into()),
                    message: format!("cannot read: {err}"),
                    level: ProblemLevel::Warning,
                });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("yml" | "yaml") => yaml.push(path.to_path_buf()),
            Some("py") if !in_helper_dir(path, root) => py.push(path.to_path_buf()),
            _ => {}
        }
    }
}

fn in_helper_dir(path: &Path, root: &Path) -> bool {
    path.strip_prefix(root).is_ok_and(|rel| {
        rel.components()
            .any(|c| HELPER_DIR_NAMES.contains(&c.as_os_str().to_string_lossy().as_ref()))
    })
}

/// `global_helpers/` beside a rule directory or one level up (the panther-analysis layout
/// `<repo>/rules/<pack>/` with `<repo>/global_helpers/`), or inside it.
fn implicit_helper_dirs(rule_paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for root in rule_paths {
        let root = absolute(root);
        let mut candidates = vec![root.join("global_helpers")];
        let mut ancestor = root.parent();
        for _ in 0..2 {
            if let Some(dir) = ancestor {
                candidates.push(dir.join("global_helpers"));
                ancestor = dir.parent();
            }
        }
        for c in candidates {
            if c.is_dir() && !found.contains(&c) {
                found.push(c);
            }
        }
    }
    found
}

fn read_yaml(path: &Path) -> Result<Option<YamlSpec>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let value: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| format!("invalid YAML: {e}"))?;
    // YAML files that are not analysis items (CI configs, packs' own files) are ignored.
    let is_analysis = value
        .as_mapping()
        .is_some_and(|m| m.contains_key("AnalysisType"));
    if !is_analysis {
        return Ok(None);
    }
    serde_yaml::from_value(value)
        .map(Some)
        .map_err(|e| format!("invalid metadata: {e}"))
}

fn panther_rule(
    yaml: &Path,
    py: Option<PathBuf>,
    spec: YamlSpec,
    problems: &mut Vec<LoadProblem>,
) -> Option<Rule> {
    let mut fail = |rule_id: Option<String>, message: String| {
        problems.push(LoadProblem {
            rule_id,
            file: yaml.to_path_buf(),
            message,
            level: ProblemLevel::Fatal,
        });
    };
    let Some(id) = spec.rule_id.clone() else {
        fail(None, "missing RuleID".into());
        return None;
    };
    let native = py.is_none();
    let py = match py {
        Some(py) => py,
        None if spec.filter.is_some() => yaml.to_path_buf(),
        None => {
            fail(
                Some(id),
                "missing Filename (the rule's Python file) or, for a native rule, Filter (its \
                 condition); `Detection:` rules are not supported"
                    .into(),
            );
            return None;
        }
    };
    if !native && !py.is_file() {
        fail(
            Some(id),
            format!("Filename {} does not exist", py.display()),
        );
        return None;
    }
    let severity = match spec.severity.as_deref().map(str::parse::<Severity>) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            fail(Some(id), e);
            return None;
        }
        None => {
            fail(Some(id), "missing Severity".into());
            return None;
        }
    };
    let filter = match spec.filter.as_ref().map(filter::from_filter_key) {
        Some(Ok(condition)) => Some(condition),
        Some(Err(message)) => {
            fail(Some(id), message);
            return None;
        }
        None => None,
    };
    let inline_filters = match spec.inline_filters.as_ref().map(serde_json::to_value) {
        Some(Ok(value)) => Some(value),
        Some(Err(err)) => {
            fail(Some(id), format!("InlineFilters: {err}"));
            return None;
        }
        None => None,
    };
    let dedup_period_minutes = spec
        .dedup_period_minutes
        .unwrap_or(Rule::DEFAULT_DEDUP_PERIOD_MINUTES);
    let native_spec = match (native, &filter) {
        (true, Some(condition)) => {
            if inline_filters.is_some() {
                fail(
                    Some(id),
                    "InlineFilters: a native rule's condition is its Filter; move them there"
                        .into(),
                );
                return None;
            }
            let mut dynamic_severities = Vec::new();
            for (i, entry) in spec.dynamic_severities.iter().flatten().enumerate() {
                let parsed = entry
                    .change_to
                    .parse::<Severity>()
                    .map_err(|e| format!("ChangeTo: {e}"))
                    .and_then(|severity| {
                        let condition = filter::from_filter_key(&entry.filter)?;
                        Ok((severity, condition))
                    });
                match parsed {
                    Ok(entry) => dynamic_severities.push(entry),
                    Err(message) => {
                        fail(Some(id), format!("DynamicSeverities[{i}]: {message}"));
                        return None;
                    }
                }
            }
            let keys = NativeKeys {
                group_by: spec.group_by.as_deref(),
                unique: spec.unique.as_deref(),
                alert_title: spec.alert_title.as_deref(),
                alert_context: spec.alert_context.as_ref(),
                default_title: spec.display_name.as_deref().unwrap_or(&id),
                severity,
                dynamic_severities,
                dedup_period_minutes,
            };
            match native_spec(condition, keys) {
                Ok(native) => Some(native),
                Err(message) => {
                    fail(Some(id), message);
                    return None;
                }
            }
        }
        _ => {
            for (key, present) in [
                ("GroupBy", spec.group_by.is_some()),
                ("Unique", spec.unique.is_some()),
                ("AlertTitle", spec.alert_title.is_some()),
                ("AlertContext", spec.alert_context.is_some()),
                ("DynamicSeverities", spec.dynamic_severities.is_some()),
            ] {
                if present {
                    problems.push(LoadProblem {
                        rule_id: Some(id.clone()),
                        file: yaml.to_path_buf(),
                        message: format!(
                            "{key} is ignored: it belongs to native rules (no Filename); a Python \
                             rule says it in its functions"
                        ),
                        level: ProblemLevel::Warning,
                    });
                }
            }
            None
        }
    };
    let mut tests = Vec::new();
    if let Some(list) = &spec.tests {
        let (parsed, broken) = parse_tests(list);
        tests = parsed;
        for message in broken {
            problems.push(LoadProblem {
                rule_id: Some(id.clone()),
                file: yaml.to_path_buf(),
                message,
                level: ProblemLevel::Error,
            });
        }
    }
    if native_spec.is_some() {
        for test in tests.iter().filter(|t| !t.mocks.is_empty()) {
            problems.push(LoadProblem {
                rule_id: Some(id.clone()),
                file: yaml.to_path_buf(),
                message: format!(
                    "test {:?} has Mocks, but a native rule has no Python to mock",
                    test.name
                ),
                level: ProblemLevel::Error,
            });
        }
    }
    for key in spec.other.keys() {
        if !KNOWN_OTHER_KEYS.contains(&key.as_str()) {
            problems.push(LoadProblem {
                rule_id: Some(id.clone()),
                file: yaml.to_path_buf(),
                message: format!("unknown key {key:?} ignored"),
                level: ProblemLevel::Warning,
            });
        }
    }
    Some(Rule {
        index: 0,
        id,
        kind: if native_spec.is_some() {
            RuleKind::Native
        } else {
            RuleKind::Panther
        },
        file: py,
        metadata_file: Some(yaml.to_path_buf()),
        enabled: spec.enabled.unwrap_or(true),
        log_types: spec
            .log_types
            .filter(|types| !types.is_empty())
            .unwrap_or_else(|| vec![DEFAULT_LOG_TYPE.to_owned()]),
        severity,
        display_name: spec.display_name,
        description: spec.description,
        runbook: spec.runbook,
        reference: spec.reference,
        dedup_period_minutes,
        threshold: spec.threshold.unwrap_or(1).max(1),
        tags: spec.tags.unwrap_or_default(),
        reports: spec.reports.unwrap_or_default(),
        output_ids: spec.output_ids.unwrap_or_default(),
        summary_attributes: spec.summary_attributes.unwrap_or_default(),
        create_alert: spec.create_alert.unwrap_or(true),
        tests,
        filter,
        inline_filters,
        native: native_spec,
    })
}

fn data_model(
    yaml: &Path,
    py: Option<PathBuf>,
    spec: YamlSpec,
    problems: &mut Vec<LoadProblem>,
) -> Option<DataModel> {
    let id = spec
        .data_model_id
        .clone()
        .unwrap_or_else(|| yaml.display().to_string());
    if spec.enabled == Some(false) {
        return None;
    }
    let mappings: Vec<Mapping> = spec
        .mappings
        .unwrap_or_default()
        .into_iter()
        .map(|m| Mapping {
            name: m.name,
            path: m.path,
            method: m.method,
        })
        .collect();
    if let Some(bad) = mappings
        .iter()
        .find(|m| m.path.is_some() == m.method.is_some())
    {
        problems.push(LoadProblem {
            rule_id: Some(id),
            file: yaml.to_path_buf(),
            message: format!("mapping {:?} needs exactly one of Path or Method", bad.name),
            level: ProblemLevel::Fatal,
        });
        return None;
    }
    if mappings.iter().any(|m| m.method.is_some()) && py.as_ref().is_none_or(|p| !p.is_file()) {
        problems.push(LoadProblem {
            rule_id: Some(id),
            file: yaml.to_path_buf(),
            message: "mappings use Method but Filename is missing or does not exist".into(),
            level: ProblemLevel::Fatal,
        });
        return None;
    }
    Some(DataModel {
        id,
        log_types: spec.log_types.unwrap_or_default(),
        file: py.filter(|p| p.is_file()),
        mappings,
    })
}

fn plain_rule(id: String, file: PathBuf) -> Rule {
    Rule {
        index: 0,
        id,
        kind: RuleKind::Plain,
        file,
        metadata_file: None,
        enabled: true,
        log_types: vec![DEFAULT_LOG_TYPE.to_owned()],
        severity: Severity::Info,
        display_name: None,
        description: None,
        runbook: None,
        reference: None,
        dedup_period_minutes: Rule::DEFAULT_DEDUP_PERIOD_MINUTES,
        threshold: 1,
        tags: Vec::new(),
        reports: Default::default(),
        output_ids: Vec::new(),
        summary_attributes: Vec::new(),
        create_alert: true,
        tests: Vec::new(),
        filter: None,
        inline_filters: None,
        native: None,
    }
}

/// A `.py` file is a plain rule when it defines a top-level `rule` function; anything else in
/// a rule directory is a helper module.
fn defines_rule_function(path: &Path) -> bool {
    fs::read_to_string(path).is_ok_and(|src| {
        src.lines()
            .any(|l| l.starts_with("def rule(") || l.starts_with("async def rule("))
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> RuleSet {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            fs::write(dir.path().join(name), text).unwrap();
        }
        discover(&RuleSources {
            rule_paths: vec![dir.path().to_path_buf()],
            ..Default::default()
        })
    }

    fn problem<'a>(set: &'a RuleSet, rule_id: &str) -> &'a LoadProblem {
        set.problems
            .iter()
            .find(|p| p.rule_id.as_deref() == Some(rule_id))
            .unwrap_or_else(|| panic!("no problem for {rule_id}: {:?}", set.problems))
    }

    const HEAD: &str = "AnalysisType: rule\nSeverity: Low\nLogTypes: [AWS.CloudTrail]\n";

    #[test]
    fn a_rule_with_filter_and_no_filename_is_native_and_checked_at_load() {
        let set = load(&[
            (
                "native.yml",
                &format!("{HEAD}RuleID: N.Ok\nFilter: {{eventName: X}}\nGroupBy: [userIdentity.arn]\nAlertTitle: '{{eventName}} by {{userIdentity.arn}}'\n"),
            ),
            (
                "inline.yml",
                &format!("{HEAD}RuleID: N.Inline\nFilter: {{eventName: X}}\nInlineFilters: {{All: []}}\n"),
            ),
            (
                "mocked.yml",
                &format!("{HEAD}RuleID: N.Mocked\nFilter: {{eventName: X}}\nTests:\n- Name: m\n  ExpectedResult: true\n  Log: {{eventName: X}}\n  Mocks: [{{objectName: f, returnValue: 1}}]\n"),
            ),
            ("neither.yml", &format!("{HEAD}RuleID: N.Neither\n")),
            (
                "severities.yml",
                &format!("{HEAD}RuleID: N.Severities\nFilter: {{eventName: X}}\nDynamicSeverities:\n- ChangeTo: Critical\n  Filter: {{errorCode: AccessDenied}}\n"),
            ),
            (
                "bad_severity.yml",
                &format!("{HEAD}RuleID: N.BadSeverity\nFilter: {{eventName: X}}\nDynamicSeverities:\n- ChangeTo: Urgent\n  Filter: {{errorCode: AccessDenied}}\n"),
            ),
            (
                "python.yml",
                &format!("{HEAD}RuleID: P.GroupBy\nFilename: python.py\nGroupBy: [eventName]\n"),
            ),
            ("python.py", "def rule(event):\n    return True\n"),
        ]);
        let native = set.rules.iter().find(|r| r.id == "N.Ok").unwrap();
        assert_eq!(native.kind, RuleKind::Native);
        let spec = native.native.as_ref().unwrap();
        assert_eq!(spec.group_by, vec![vec!["userIdentity", "arn"]]);
        assert_eq!(spec.title.to_string(), "{eventName} by {userIdentity.arn}");
        assert!(native.filter.is_some());

        let inline = problem(&set, "N.Inline");
        assert_eq!(inline.level, ProblemLevel::Fatal);
        assert!(
            inline.message.starts_with("InlineFilters"),
            "{}",
            inline.message
        );
        let mocked = problem(&set, "N.Mocked");
        assert_eq!(mocked.level, ProblemLevel::Error);
        assert!(
            mocked.message.contains("no Python to mock"),
            "{}",
            mocked.message
        );
        assert!(problem(&set, "N.Neither").message.contains("Filter"));
        let severities = set.rules.iter().find(|r| r.id == "N.Severities").unwrap();
        let severities = &severities.native.as_ref().unwrap().dynamic_severities;
        assert_eq!(severities.len(), 1);
        assert_eq!(severities[0].0, Severity::Critical);
        assert_eq!(severities[0].1.to_string(), "errorCode=AccessDenied");
        let bad = problem(&set, "N.BadSeverity");
        assert_eq!(bad.level, ProblemLevel::Fatal);
        assert!(
            bad.message.starts_with("DynamicSeverities[0]: ChangeTo:"),
            "{}",
            bad.message
        );
        let python = problem(&set, "P.GroupBy");
        assert_eq!(python.level, ProblemLevel::Warning);
        assert!(
            python.message.starts_with("GroupBy is ignored"),
            "{}",
            python.message
        );
        let python = set.rules.iter().find(|r| r.id == "P.GroupBy").unwrap();
        assert_eq!(python.kind, RuleKind::Panther);
        assert!(python.native.is_none());
    }
}
