//! `iota rules list`: the selected rules as a table or JSON lines.

use std::io::Write;

use serde::Serialize;

use iota_rules::{Rule, RuleKind};

use super::select;
use crate::cli::RulesListArgs;

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
}

impl<'a> From<&'a Rule> for Listed<'a> {
    fn from(rule: &'a Rule) -> Self {
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
        }
    }
}

pub fn run(args: RulesListArgs) -> anyhow::Result<u8> {
    let set = select(&args.selection)?;
    let mut rules: Vec<&Rule> = set.rules.iter().collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = std::io::stdout().lock();
    if args.json {
        for rule in rules {
            serde_json::to_writer(&mut out, &Listed::from(rule))?;
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
    ];
    let rows: Vec<[String; 7]> = rules
        .iter()
        .map(|r| {
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
