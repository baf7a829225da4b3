//! `iota rules list`: the selected rules as a table or JSON lines, with each rule's effective
//! prefilter and where it comes from (declared, InlineFilters, or inferred by a worker from
//! the rule's source); for a native rule (`kind: native`), its condition.

use std::io::Write;

use serde::Serialize;

use std::sync::Arc;
use std::time::Duration;

use iota_rules::{EffectiveFilter, FilterOrigin, MemoryRuleState, Rule, RuleKind};

use super::select;
use crate::cli::RulesListArgs;
use crate::report::ErrorReport;
use crate::rule_engine::{evaluator, start_workers, WorkerSettings};

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    kind: RuleKind,
    file: String,
    enabled: bool,
    severity: &'static str,
    log_types: &'a [String],
    tests: usize,
    threshold: u32,
    dedup_period_minutes: u32,
    display_name: Option<&'a str>,
    tags: &'a [String],
    reports: &'a std::collections::BTreeMap<String, Vec<String>>,
    /// The prefilter Rust evaluates before the rule sees an event; `None`: every event.
    filter: Option<String>,
    filter_origin: Vec<FilterOrigin>,
}

impl<'a> Listed<'a> {
    fn new(rule: &'a Rule, filter: Option<EffectiveFilter>) -> Self {
        let (filter, filter_origin) = match filter {
            Some(f) => (Some(f.condition.to_string()), f.origins),
            None => (None, Vec::new()),
        };
        Listed {
            id: &rule.id,
            kind: rule.kind,
            file: rule
                .metadata_file
                .as_ref()
                .unwrap_or(&rule.file)
                .display()
                .to_string(),
            enabled: rule.enabled,
            severity: rule.severity.as_str(),
            log_types: &rule.log_types,
            tests: rule.tests.len(),
            threshold: rule.threshold,
            dedup_period_minutes: rule.dedup_period_minutes,
            display_name: rule.display_name.as_deref(),
            tags: &rule.tags,
            reports: &rule.reports,
            filter,
            filter_origin,
        }
    }
}

pub fn run(args: RulesListArgs) -> anyhow::Result<u8> {
    let set = select(&args.selection)?;
    if args.coverage {
        let rules: Vec<&Rule> = set.rules.iter().collect();
        let (text, complete) = super::coverage::report(&rules);
        print!("{text}");
        if !complete {
            eprintln!("error: some required items are covered by no enabled rule (MISSING above)");
        }
        return Ok(if complete { 0 } else { 1 });
    }
    // A worker imports the rules once to infer the prefilters of those that declare none.
    let evaluator = evaluator(
        Arc::new(set),
        &WorkerSettings {
            python: &args.selection.python.python,
            rule_timeout: Duration::from_secs(30),
            memory_bytes: 2 << 30,
            describe_once: false,
        },
        Arc::new(MemoryRuleState::default()),
    )?;
    drop(start_workers(&evaluator, 1, &ErrorReport::silent())?);
    let mut rules: Vec<&Rule> = evaluator.rules().rules.iter().collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let listed: Vec<Listed<'_>> = rules
        .iter()
        .map(|r| Listed::new(r, evaluator.effective_filter(r.index)))
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        for rule in &listed {
            serde_json::to_writer(&mut out, rule)?;
            out.write_all(b"\n")?;
        }
        return Ok(0);
    }
    let header = [
        "RULE ID",
        "SEVERITY",
        "LOG TYPES",
        "ENABLED",
        "TESTS",
        "THRESHOLD",
        "DEDUP (MIN)",
        "PREFILTER",
    ];
    let rows: Vec<[String; 8]> = listed
        .iter()
        .zip(&rules)
        .map(|(l, r)| {
            [
                r.id.clone(),
                r.severity.to_string(),
                if r.log_types.is_empty() {
                    "(all)".into()
                } else {
                    r.log_types.join(",")
                },
                if r.enabled { "yes".into() } else { "no".into() },
                r.tests.len().to_string(),
                r.threshold.to_string(),
                r.dedup_period_minutes.to_string(),
                describe_filter(l),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text += cell;
            } else {
                text += &format!("{cell:<w$}  ");
            }
        }
        text.trim_end().to_string()
    };
    writeln!(out, "{}", line(&header))?;
    for row in &rows {
        writeln!(out, "{}", line(&row.each_ref().map(String::as_str)))?;
    }
    writeln!(
        out,
        "\n{} rules ({} enabled), {} tests",
        rules.len(),
        rules.iter().filter(|r| r.enabled).count(),
        rules.iter().map(|r| r.tests.len()).sum::<usize>()
    )?;
    Ok(0)
}

/// `declared: eventName in [A, B]`, shortened for the table (`--json` has it whole).
fn describe_filter(listed: &Listed<'_>) -> String {
    let Some(filter) = &listed.filter else {
        return "(none: every event)".into();
    };
    // A native rule's condition is the rule itself, evaluated exactly rather than as a filter.
    if listed.kind == RuleKind::Native {
        let mut text = format!("native rule: {filter}");
        if text.chars().count() > 80 {
            text = text.chars().take(77).collect::<String>() + "...";
        }
        return text;
    }
    let origins: Vec<&str> = listed
        .filter_origin
        .iter()
        .map(|o| match o {
            FilterOrigin::Declared => "declared",
            FilterOrigin::InlineFilters => "inline",
            FilterOrigin::Inferred => "inferred",
        })
        .collect();
    let mut text = format!("{}: {filter}", origins.join("+"));
    if text.chars().count() > 80 {
        text = text.chars().take(77).collect::<String>() + "...";
    }
    text
}
