//! The command line: every subcommand, option, default and environment twin.

use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use clap::{Args, Parser, Subcommand};

use crate::logging::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "iota",
    version,
    about = "Self-hosted detection engine for AWS CloudTrail",
    long_about = "Self-hosted detection engine for AWS CloudTrail.\n\n\
        iota reads CloudTrail logs (local files now; S3 and SQS in daemon modes), runs Python \
        detection rules over every event in isolated worker processes, and emits \
        deduplicated alerts as JSON lines.\n\n\
        Every option has an environment twin (IOTA_<OPTION>); command-line flags win."
)]
pub struct Cli {
    /// Log level (error, warn, info, debug, trace) or a RUST_LOG-style filter.
    #[arg(long, global = true, env = "IOTA_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Format of logs, reports and the summary on stderr.
    #[arg(
        long,
        global = true,
        env = "IOTA_LOG_FORMAT",
        value_enum,
        default_value = "auto"
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan local CloudTrail files or stdin once: alerts as JSON lines on stdout, a summary on stderr.
    #[command(long_about = "Scan local CloudTrail files or stdin once.\n\n\
        Inputs are files, directories (searched recursively) or `-` for stdin: CloudTrail \
        `{\"Records\":[...]}` files as delivered to S3, JSON lines, or JSON arrays of events, \
        gzip-compressed or plain (detected by content). Digest files, \
        ConfigWritabilityCheckFile and empty files are skipped.\n\n\
        Alerts are printed as JSON lines on stdout when the scan ends (each with its final \
        event count); rule errors are JSON lines with \"type\":\"rule_error\" on stderr; \
        malformed records are reported on stderr with their file and line; a summary ends \
        the run.\n\n\
        Exit status: 0 when every input was read, 1 when an input could not be read (fully), \
        2 for usage or configuration errors.")]
    Scan(ScanArgs),

    /// Rule tooling: run rule tests, list rules, validate a rule pack.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Run every test case of every rule (Panther `Tests:` or `<rule>.tests.yml`).
    #[command(long_about = "Run every test case of every rule.\n\n\
        Panther-form rules carry their cases in the YAML `Tests:` list (`Name`, \
        `ExpectedResult`, `Log`, optional `Mocks` of `objectName`/`returnValue`, applied with \
        unittest.mock to the rule's module); a plain-Python rule `x.py` reads them from \
        `x.tests.yml` beside it (a `tests:` list of the same keys). Test events are normalized \
        as real events are, so rules see the p_ fields.\n\n\
        A case expecting true passes only when rule() is true AND every other function the \
        rule defines runs without error and returns the right type; a case expecting false \
        passes when rule() is false. Exit status: 0 when every case passed, 1 otherwise \
        (also when a rule could not be loaded), 2 for usage errors.")]
    Test(RulesTestArgs),

    /// List rules: id, severity, log types, enabled, tests, threshold, dedup period.
    List(RulesListArgs),

    /// Check a rule pack without running it: metadata schema and unknown keys, duplicate
    /// ids, missing files, import errors, data models, mocks naming missing functions.
    Validate(RulesValidateArgs),
}

/// Which rules a `rules` subcommand looks at.
#[derive(Debug, Args)]
pub struct RuleSelection {
    /// Rule files or directories (searched recursively) [default: the bundled pack].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Same as PATH (repeatable), as Panther tooling spells it.
    #[arg(long = "path", visible_alias = "rules", value_name = "DIR")]
    pub path_options: Vec<PathBuf>,

    #[command(flatten)]
    pub imports: RuleImports,

    /// Only rules whose metadata KEY has VALUE (repeatable, all must hold; VALUE may list
    /// alternatives separated by commas). Keys: RuleID, Severity, LogTypes, Tags, Enabled,
    /// Threshold, DedupPeriodMinutes, DisplayName.
    #[arg(long = "filter", value_name = "KEY=VALUE")]
    pub filters: Vec<String>,

    #[command(flatten)]
    pub python: PythonArgs,
}

impl RuleSelection {
    pub fn rule_args(&self) -> RuleArgs {
        RuleArgs {
            rules: self
                .paths
                .iter()
                .chain(&self.path_options)
                .cloned()
                .collect(),
            imports: self.imports.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct RulesTestArgs {
    #[command(flatten)]
    pub selection: RuleSelection,

    /// One JSON object per test case on stdout instead of the human report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RulesListArgs {
    #[command(flatten)]
    pub selection: RuleSelection,

    /// One JSON object per rule instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Instead of the rules, the table of which rules cover each CIS AWS Foundations
    /// monitoring control and ATT&CK family (from the rules' Reports); exit status 1 when an
    /// item is covered by none.
    #[arg(long, conflicts_with = "json")]
    pub coverage: bool,
}

#[derive(Debug, Args)]
pub struct RulesValidateArgs {
    #[command(flatten)]
    pub selection: RuleSelection,
}

/// Which rules to load.
#[derive(Debug, Args, Default)]
pub struct RuleArgs {
    /// Rule file or directory (repeatable; searched recursively). Default: the bundled pack.
    #[arg(
        long = "rules",
        value_name = "DIR",
        env = "IOTA_RULES",
        value_delimiter = ','
    )]
    pub rules: Vec<PathBuf>,

    #[command(flatten)]
    pub imports: RuleImports,
}

/// What rules import besides themselves.
#[derive(Debug, Args, Default, Clone)]
pub struct RuleImports {
    /// Directory of helper modules put on the rules' import path (repeatable).
    #[arg(
        long = "helpers",
        value_name = "DIR",
        env = "IOTA_HELPERS",
        value_delimiter = ','
    )]
    pub helpers: Vec<PathBuf>,

    /// Directory of Panther data models (`AnalysisType: datamodel`) for event.udm() (repeatable).
    #[arg(
        long = "data-models",
        value_name = "DIR",
        env = "IOTA_DATA_MODELS",
        value_delimiter = ','
    )]
    pub data_models: Vec<PathBuf>,
}

/// The interpreter that runs (or imports) the rules.
#[derive(Debug, Args)]
pub struct PythonArgs {
    /// Python 3 interpreter that runs the rules.
    #[arg(
        long,
        value_name = "PATH",
        env = "IOTA_PYTHON",
        default_value = "python3"
    )]
    pub python: PathBuf,
}

/// The pool of Python rule workers.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub python: PythonArgs,

    /// Number of Python rule workers [default: one per CPU core].
    #[arg(long, value_name = "N", env = "IOTA_WORKERS")]
    pub workers: Option<usize>,

    /// Wall-clock budget for one batch in a worker; past it the worker is killed, the rule that
    /// was running is reported, and the rest of the batch is retried on a new worker.
    #[arg(long, value_name = "DURATION", env = "IOTA_RULE_TIMEOUT", default_value = "30s",
          value_parser = humantime::parse_duration)]
    pub rule_timeout: Duration,

    /// Address-space limit of each worker process (e.g. 512MiB, 2GiB); 0 for none.
    #[arg(
        long,
        value_name = "SIZE",
        env = "IOTA_WORKER_MEMORY",
        default_value = "2GiB"
    )]
    pub worker_memory: ByteSize,

    /// Events sent to a worker at a time.
    #[arg(long, value_name = "N", env = "IOTA_BATCH_SIZE", default_value_t = 500)]
    pub batch_size: usize,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (recursively), or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub rules: RuleArgs,

    #[command(flatten)]
    pub workers: WorkerArgs,

    /// Largest accepted event; a larger one is reported as malformed and skipped.
    #[arg(long, value_name = "BYTES", env = "IOTA_MAX_EVENT_BYTES", default_value_t = 1 << 20)]
    pub max_event_bytes: usize,

    /// Number of recent eventIDs remembered to drop duplicate events (~26 bytes each).
    #[arg(
        long,
        value_name = "N",
        env = "IOTA_DEDUP_WINDOW",
        default_value_t = 1_000_000
    )]
    pub dedup_window: usize,

    /// Where alerts go (repeatable): stdout, file=PATH, slack=URL, pagerduty=ROUTING_KEY,
    /// webhook=URL, sns=TOPIC_ARN, splunk=URL, datadog=SITE. A secret TARGET may be written
    /// env:VAR or file:PATH; Splunk and Datadog tokens come from IOTA_SPLUNK_TOKEN and
    /// IOTA_DATADOG_API_KEY, a webhook's HMAC key from IOTA_WEBHOOK_HMAC_KEY.
    #[arg(
        long = "output",
        value_name = "KIND[=TARGET]",
        env = "IOTA_OUTPUT",
        hide_env_values = true,
        default_value = "stdout"
    )]
    pub outputs: Vec<String>,

    /// Also append rule_error records (JSON lines) to this file.
    #[arg(long, value_name = "FILE", env = "IOTA_ERRORS_OUT")]
    pub errors_out: Option<PathBuf>,

    /// Never show the progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Send every event to every rule of its log type instead of only to the rules whose
    /// prefilter it passes (for comparing results and measuring the prefilter).
    #[arg(long)]
    pub no_prefilter: bool,

    /// Decode and normalize only; run no rules (for measuring the decode floor).
    #[arg(long, hide = true)]
    pub no_rules: bool,
}
