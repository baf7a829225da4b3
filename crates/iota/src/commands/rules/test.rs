//! `iota rules test`: runs every test case of the selected rules, Python rules in a real rule
//! worker and native rules through the Rust evaluator a scan uses, and prints a pytest-like
//! report (or one JSON object per case).

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;

use iota_normalize::{Normalizer, SourceInfo};
use iota_rules::{CaseResult, MemoryRuleState, ProblemLevel, Rule, RuleKind, RuleTest, Severity};

use super::select;
use crate::cli::RulesTestArgs;
use crate::report::ErrorReport;
use crate::rule_engine::{evaluator, start_workers, WorkerSettings};

/// One line of `--json` output.
#[derive(Serialize)]
struct JsonCase<'a> {
    rule_id: &'a str,
    test: &'a str,
    expected: bool,
    matched: Option<bool>,
    passed: bool,
    error: Option<&'a str>,
    title: Option<&'a str>,
    dedup: Option<&'a str>,
    severity: Option<Severity>,
    alert_context: Option<&'a serde_json::Value>,
}

pub fn run(args: RulesTestArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let mut set = select(&args.selection)?;
    // Disabled rules are tested too: a rule is switched on after its tests passed.
    for rule in &mut set.rules {
        rule.enabled = true;
    }
    let load_failures: Vec<String> = set
        .problems
        .iter()
        .filter(|p| p.level != ProblemLevel::Warning)
        .map(|p| {
            format!(
                "{} ({}): {}",
                p.rule_id.as_deref().unwrap_or("-"),
                p.file.display(),
                p.message
            )
        })
        .collect();
    let errors = ErrorReport::new(None)?;
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
    let mut worker = start_workers(&evaluator, 1, &errors)?.remove(0);
    let rules = evaluator.rules();
    let import_errors = evaluator.import_errors();

    let mut ordered: Vec<&Rule> = rules.rules.iter().collect();
    ordered.sort_by(|a, b| a.id.cmp(&b.id));
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut untested = Vec::new();
    let mut out = std::io::stdout().lock();
    for rule in ordered {
        if rule.tests.is_empty() {
            untested.push(rule.id.as_str());
            continue;
        }
        let import_error = import_errors.iter().find(|e| e.rule == rule.index);
        let results: Vec<CaseResult> = rule
            .tests
            .iter()
            .map(|test| match import_error {
                Some(import) => not_run(
                    test,
                    &format!("the rule could not be imported: {}", import.error),
                ),
                None if rule.kind == RuleKind::Native => {
                    iota_rules::native::run_test(rule, test, &test_event(rule, test))
                }
                None => worker.run_test(rule.index, test, &test_event(rule, test)),
            })
            .collect();
        if !args.json {
            writeln!(out, "{}", rule.id)?;
        }
        for case in &results {
            if case.passed {
                passed += 1;
            } else {
                failed += 1;
            }
            if args.json {
                serde_json::to_writer(
                    &mut out,
                    &JsonCase {
                        rule_id: &rule.id,
                        test: &case.name,
                        expected: case.expected,
                        matched: case.matched,
                        passed: case.passed,
                        error: case.error.as_deref(),
                        title: case.title.as_deref(),
                        dedup: case.dedup.as_deref(),
                        severity: case.severity,
                        alert_context: case.alert_context.as_ref(),
                    },
                )?;
                writeln!(out)?;
            } else {
                write_case(&mut out, case)?;
            }
        }
    }
    drop(worker);

    let mut stderr = std::io::stderr().lock();
    for failure in &load_failures {
        writeln!(stderr, "error: {failure}")?;
    }
    if !untested.is_empty() {
        writeln!(
            stderr,
            "note: {} rules have no tests: {}",
            untested.len(),
            untested.join(", ")
        )?;
    }
    let summary = format!(
        "{passed} passed, {failed} failed in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    if args.json {
        writeln!(stderr, "{summary}")?;
    } else {
        writeln!(out, "\n{summary}")?;
    }
    Ok(if failed > 0 || !load_failures.is_empty() {
        1
    } else {
        0
    })
}

/// The test's log, normalized like a real event (so rules see the p_ fields); a log iota
/// cannot classify is used as written, with `p_log_type` set from the rule's `LogTypes`.
fn test_event(rule: &Rule, test: &RuleTest) -> Vec<u8> {
    let raw = serde_json::to_vec(&test.log).expect("a JSON value serialises");
    let label = rule
        .metadata_file
        .as_ref()
        .unwrap_or(&rule.file)
        .display()
        .to_string();
    let normalizer = Normalizer::new(SourceInfo {
        id: "iota-rules-test".into(),
        label,
    });
    if let Ok(event) = normalizer.normalize(&raw, Utc::now()) {
        return event.json;
    }
    let mut log = test.log.clone();
    if let (Some(object), Some(log_type)) = (log.as_object_mut(), rule.log_types.first()) {
        object
            .entry("p_log_type")
            .or_insert_with(|| serde_json::Value::String(log_type.clone()));
    }
    serde_json::to_vec(&log).expect("a JSON value serialises")
}

fn not_run(test: &RuleTest, error: &str) -> CaseResult {
    CaseResult {
        name: test.name.clone(),
        expected: test.expected,
        matched: None,
        passed: false,
        error: Some(error.to_string()),
        traceback: None,
        title: None,
        dedup: None,
        severity: None,
        alert_context: None,
    }
}

fn write_case(out: &mut impl Write, case: &CaseResult) -> std::io::Result<()> {
    if case.passed {
        return writeln!(out, "  PASS  {}", case.name);
    }
    writeln!(out, "  FAIL  {}", case.name)?;
    let outcome = match case.matched {
        Some(matched) => format!("expected {}, rule() returned {matched}", case.expected),
        None => format!("expected {}, rule() did not return", case.expected),
    };
    writeln!(out, "        {outcome}")?;
    if let Some(error) = &case.error {
        for line in error.lines() {
            writeln!(out, "        {line}")?;
        }
    }
    if let Some(traceback) = case.traceback.as_deref().filter(|t| !t.is_empty()) {
        for line in traceback.lines() {
            writeln!(out, "        | {line}")?;
        }
    }
    Ok(())
}
