//! `iota rules validate`: everything that can be wrong with a rule pack short of running it:
//! metadata schema and unknown keys, duplicate ids, missing files, broken test definitions,
//! import errors, data model errors, and mocks naming functions the rule module lacks.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use iota_rules::{MemoryRuleState, ProblemLevel};

use super::select;
use crate::cli::RulesValidateArgs;
use crate::report::ErrorReport;
use crate::rule_engine::{evaluator, start_workers, WorkerSettings};

struct Finding {
    level: ProblemLevel,
    who: String,
    message: String,
}

pub fn run(args: RulesValidateArgs) -> anyhow::Result<u8> {
    let mut set = select(&args.selection)?;
    for rule in &mut set.rules {
        // Disabled rules are validated too: they are meant to be switched on one day.
        rule.enabled = true;
    }
    let mut findings: Vec<Finding> = set
        .problems
        .iter()
        .map(|p| Finding {
            level: p.level,
            who: format!(
                "{} ({})",
                p.rule_id.as_deref().unwrap_or("-"),
                p.file.display()
            ),
            message: p.message.clone(),
        })
        .collect();
    let rule_count = set.rules.len();
    let model_count = set.data_models.len();

    // Import every rule in a real worker; reports go into the findings, not to stderr.
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
    let quiet = ErrorReport::silent();
    let mut worker = start_workers(&evaluator, 1, &quiet)?.remove(0);
    let rules = evaluator.rules();
    for import in evaluator.import_errors() {
        let rule = &rules.rules[import.rule];
        findings.push(Finding {
            level: ProblemLevel::Fatal,
            who: format!("{} ({})", rule.id, rule.file.display()),
            message: format!("import failed: {}", import.error),
        });
    }
    for model in evaluator.data_model_errors() {
        findings.push(Finding {
            level: ProblemLevel::Error,
            who: format!("data model {}", model.id),
            message: model.error,
        });
    }
    let names = worker
        .inspect()
        .map_err(|e| anyhow::anyhow!("cannot inspect the rule modules: {e}"))?;
    for rule in &rules.rules {
        let Some(defined) = names.get(&rule.index) else {
            continue;
        };
        for test in &rule.tests {
            for mock in test.mocks.iter().filter(|m| !defined.contains(&m.name)) {
                findings.push(Finding {
                    level: ProblemLevel::Error,
                    who: format!(
                        "{} ({})",
                        rule.id,
                        rule.metadata_file.as_ref().unwrap_or(&rule.file).display()
                    ),
                    message: format!(
                        "test {:?} mocks {:?}, which the rule module does not define",
                        test.name, mock.name
                    ),
                });
            }
        }
    }

    let mut out = std::io::stdout().lock();
    let (mut errors, mut warnings) = (0, 0);
    for finding in &findings {
        let label = match finding.level {
            ProblemLevel::Warning => {
                warnings += 1;
                "warning"
            }
            ProblemLevel::Error | ProblemLevel::Fatal => {
                errors += 1;
                "error"
            }
        };
        writeln!(out, "{label}: {}: {}", finding.who, finding.message)?;
    }
    writeln!(
        out,
        "{rule_count} rules, {model_count} data models: {errors} errors, {warnings} warnings"
    )?;
    Ok(if errors > 0 { 1 } else { 0 })
}
