//! The command line: every subcommand, option, default and environment twin.

use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Parser, Subcommand};
use iota_rules::Severity;

use crate::logging::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "iota",
    version,
    about = "Self-hosted detection engine for AWS CloudTrail",
    long_about = "Self-hosted detection engine for AWS CloudTrail.\n\n\
        iota reads CloudTrail logs (local files with `scan`; as they land with `watch`, \
        `s3-poll` and `sqs`; a past time range with `replay`), runs Python detection rules \
        over every event in isolated worker processes, and sends deduplicated alerts to \
        stdout, files, Slack, PagerDuty, webhooks, SNS, Splunk or Datadog.\n\n\
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
    Scan(Box<ScanArgs>),

    /// Poll a CloudTrail bucket for new log files (daemon; --once for cron).
    #[command(
        long_about = "Poll a CloudTrail bucket for new log files and run the rules over \
        them: a daemon that polls every --poll-interval, or one poll with --once.\n\n\
        Each poll finds the bucket's trail prefixes (AWSLogs/<account>/CloudTrail/<region>/ and \
        AWSLogs/<o-org>/<account>/CloudTrail/<region>/ below --prefix) and lists each from its \
        cursor, minus --late-window, so that a poll costs requests in proportion to prefixes \
        and new objects, not to the objects in the bucket. The first poll of a prefix starts \
        at --since. Each object's alerts, rule errors and processed-object record are \
        committed together to the --state store: a restart never processes a committed \
        object again nor skips one that was not committed. An object that cannot be read is \
        recorded as failed and retried with backoff (1 minute doubling to 1 hour).\n\n\
        Credentials come from the standard AWS chain (environment, profile, EKS web \
        identity, ECS task role, instance profile); --assume-role adds a role on top, for \
        a bucket in another account. Objects encrypted with SSE-KMS are read transparently \
        given kms:Decrypt on the trail's key."
    )]
    S3Poll(Box<S3PollArgs>),

    /// Follow a local directory tree and run the rules over each log file that lands in it
    /// (daemon; --once for cron).
    #[command(
        long_about = "Follow a local directory tree that a log shipper writes CloudTrail logs \
        to (e.g. events/<account>/<region>/<date>/*.jsonl, or a copy of a trail's \
        AWSLogs/.../*.json.gz) and run the rules over each file that lands in it, once: a \
        daemon, or one pass with --once.\n\n\
        The tree is followed recursively, directories created later included, with the \
        operating system's file-system notifications (inotify on Linux), plus a full listing \
        every --rescan-interval, which finds the files present at start and whatever \
        notifications miss (network file systems, a full notification queue, a watch limit \
        reached). Files are read as `iota scan` reads them: CloudTrail Records files, JSON \
        lines or JSON arrays, gzip or plain.\n\n\
        A file is read once it is complete: when neither its size nor its modification time \
        has changed for --settle. A writer that pauses longer than that in the middle of a \
        file gets it read early (and read again, whole, once it changes), so shippers should \
        write each file under a temporary name and rename it when done where they can: names \
        starting with `.` (files and directories) and names ending in `.tmp`, `.part` or `~` \
        are ignored.\n\n\
        Each file's alerts, rule errors and processed-file record (its canonical path, size \
        and modification time, as `iota scan --state` records it) are committed together to \
        the --state store: a restart never reads a committed file again, nor skips one that \
        was not committed. A file that changes after it was committed is a new file and is \
        read again, whole. A file that cannot be opened is tried again after the next \
        rescan.\n\n\
        The daemon serves /healthz, /readyz (the state store and the directory) and /metrics \
        on --listen, sends the alerts from the store's outbox between batches, and on SIGTERM \
        or SIGINT finishes the files in flight, sends what is due within --shutdown-timeout \
        and exits 0. With --once it reads the files complete now (those still being written \
        are left for the next run), delivers their alerts and exits."
    )]
    Watch(Box<WatchArgs>),

    /// Read the objects announced by S3 notifications on an SQS queue (daemon; scales out).
    #[command(
        long_about = "Read the CloudTrail objects announced by S3 event notifications \
        on an SQS queue, and run the rules over them: a daemon that long-polls the queue.\n\n\
        Messages may be S3 notifications sent straight to the queue, the same wrapped by SNS \
        (Type: Notification), or EventBridge \"Object Created\" events; s3:TestEvent and \
        other events are deleted without processing. Keys are URL-decoded. While a message's \
        objects are being processed its visibility is extended; it is deleted only once every \
        object it names is committed to the --state store, so a failure leaves it for \
        redelivery and, after the queue's maxReceiveCount, for its dead-letter queue. A \
        redelivered or duplicate notification is harmless: an object committed before (same \
        bucket, key and etag) is not read again.\n\n\
        Several replicas may consume one queue with a shared postgres:// state store: each \
        object is committed once, and alert windows, thresholds, rule state and deliveries \
        stay exact (docs/SCALING.md)."
    )]
    Sqs(Box<SqsArgs>),

    /// Run rules over past logs for a time range (backtesting): alerts as JSON lines on stdout,
    /// a per-rule summary on stderr; live alert state is never touched.
    #[command(
        long_about = "Run rules over past logs for a time range: the backtest of a new \
        or changed rule before it is enabled.\n\n\
        The logs come from one of: local files or directories (PATH..., read as `iota scan` \
        reads them); a CloudTrail bucket (--bucket, with --prefix, --accounts and --regions as \
        for `iota s3-poll`), of which only the day folders of the range are listed; or a data \
        lake written by iota (--lake file:///DIR or s3://BUCKET/PREFIX), of which only the \
        hour partitions of the range and the tables of the rules' log types are read. Events \
        whose time is outside [--from, --to) are not evaluated; the summary counts them.\n\n\
        A replay never touches live state: alert windows, thresholds and the rules' state (the \
        caching helpers) live in a scratch SQLite store, created empty for the run and deleted \
        when it ends, so that dedup and thresholds behave as in a daemon. It takes no --state. \
        Alerts go to stdout only, unless --output names other outputs; IOTA_OUTPUT and config \
        files are not read, so a replay never notifies a live channel unasked.\n\n\
        Alerts are printed as JSON lines on stdout when the replay ends (with their final event \
        counts); rule errors are JSON lines with \"type\":\"rule_error\" on stderr; the summary \
        ends the run: the input counts, then every enabled rule, those that never matched \
        included, with its matches, alerts (after dedup and threshold), signals and rule \
        errors (one JSON object with --log-format json).\n\n\
        Exit status: 0 when every input was read, 1 when an input could not be read (fully), \
        2 for usage or configuration errors."
    )]
    Replay(Box<ReplayArgs>),

    /// Rule tooling: run rule tests, list rules, validate a rule pack.
    #[command(subcommand)]
    Rules(RulesCommand),

    /// Alert history in the state store: list, show, retry failed deliveries, prune.
    #[command(subcommand)]
    Alerts(AlertsCommand),

    /// CloudTrail trail sources kept in the state store, and their health: add, list, show,
    /// remove.
    #[command(subcommand)]
    Sources(SourcesCommand),

    /// The data lake that --lake writes: Athena table definitions.
    #[command(subcommand)]
    Lake(LakeCommand),
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Print Athena / Glue CREATE EXTERNAL TABLE statements for the lake's tables.
    #[command(
        long_about = "Print Athena / Glue CREATE EXTERNAL TABLE statements for the \
        lake's tables, one per log type: the OpenX JSON SerDe over the gzip JSON lines, \
        columns for the log type's fields and the p_ fields, and partition projection on \
        year, month, day and hour, so that new partitions are queryable without MSCK REPAIR \
        TABLE or a crawler (docs/LAKE.md). Run them in Athena's query editor or with \
        `aws athena start-query-execution`."
    )]
    Ddl(LakeDdlArgs),
}

#[derive(Debug, Args)]
pub struct LakeDdlArgs {
    /// The Athena database (Glue catalog database) the tables go in.
    #[arg(
        long,
        value_name = "NAME",
        env = "IOTA_LAKE_DATABASE",
        default_value = "iota"
    )]
    pub database: String,

    /// The lake: s3://BUCKET/PREFIX, as given to --lake.
    #[arg(long = "lake", value_name = "URI", env = "IOTA_LAKE")]
    pub lake: Option<String>,
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
#[derive(Debug, Args, Default, Clone)]
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
#[derive(Debug, Args, Clone)]
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
#[derive(Debug, Args, Clone)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub python: PythonArgs,

    /// Number of Python rule workers [default: one per CPU core].
    #[arg(long, value_name = "N", env = "IOTA_WORKERS")]
    pub workers: Option<usize>,

    /// Budget for one batch in a worker, in wall-clock time and in CPU time (RLIMIT_CPU, which
    /// the kernel enforces even if iota is gone), and for importing one rule; past it the
    /// worker is killed, the rule that was running is reported, and the rest of the batch is
    /// retried on a new worker.
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

/// What every command that runs rules over events shares: the rules and their workers,
/// decoding limits, and where alerts go.
#[derive(Debug, Args)]
pub struct EngineArgs {
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
    /// Default: stdout, unless the config file has outputs.
    #[arg(
        long = "output",
        value_name = "KIND[=TARGET]",
        env = "IOTA_OUTPUT",
        hide_env_values = true
    )]
    pub outputs: Vec<String>,

    /// Config file (TOML) with `[[outputs]]` tables: name, kind, target, min_severity,
    /// max_attempts, timeout, hmac_key, headers, token (docs/ALERTS.md). Added to --output.
    #[arg(long, value_name = "FILE", env = "IOTA_CONFIG")]
    pub config: Option<PathBuf>,

    /// Also append rule_error records (JSON lines) to this file.
    #[arg(long, value_name = "FILE", env = "IOTA_ERRORS_OUT")]
    pub errors_out: Option<PathBuf>,

    /// Send every event to every rule of its log type instead of only to the rules whose
    /// prefilter it passes (for comparing results and measuring the prefilter).
    #[arg(long)]
    pub no_prefilter: bool,

    /// Read every input as this log type instead of classifying each record by its content
    /// (AWS.CloudTrail, AWS.CloudTrailInsight, AWS.VPCFlow, AWS.GuardDuty,
    /// AWS.S3ServerAccess, AWS.ALB); a record that is not one is reported as malformed.
    #[arg(long, value_name = "TYPE", env = "IOTA_LOG_TYPE")]
    pub log_type: Option<iota_normalize::LogType>,

    #[command(flatten)]
    pub lake: LakeArgs,
}

/// The data lake every normalized event is also written to (docs/LAKE.md). Each option may
/// also come from the config file's `[lake]` table; a flag or variable wins over it.
#[derive(Debug, Args, Default)]
pub struct LakeArgs {
    /// Also write every normalized event to a data lake: s3://BUCKET/PREFIX or
    /// file:///DIRECTORY, as gzip JSON lines under
    /// logs/<table>/year=YYYY/month=MM/day=DD/hour=HH/ (the hour of p_event_time). With
    /// --state, an input is committed only together with the lake files holding its events
    /// (docs/LAKE.md). Config file: `[lake] uri`.
    #[arg(long, value_name = "URI", env = "IOTA_LAKE")]
    pub lake: Option<String>,

    /// Write the lake's buffered events once this much compressed data waits [default:
    /// 64MiB]. Config file: `[lake] flush_size`.
    #[arg(
        long = "lake-flush-size",
        value_name = "SIZE",
        env = "IOTA_LAKE_FLUSH_SIZE"
    )]
    pub lake_flush_size: Option<ByteSize>,

    /// Longest time an event waits in the lake's buffer, also when input stops [default: 1m].
    /// Each round of a daemon (a poll, a batch of files, a receive) ends with a flush as well.
    /// Config file: `[lake] flush_interval`.
    #[arg(long = "lake-flush-interval", value_name = "DURATION", env = "IOTA_LAKE_FLUSH_INTERVAL",
          value_parser = humantime::parse_duration)]
    pub lake_flush_interval: Option<Duration>,

    /// AWS region of the lake's bucket [default: AWS_REGION or the profile]. Config file:
    /// `[lake] region`.
    #[arg(long = "lake-region", value_name = "REGION", env = "IOTA_LAKE_REGION")]
    pub lake_region: Option<String>,

    /// Endpoint of the lake's S3 instead of AWS's (an S3-compatible store, a test server).
    /// Config file: `[lake] endpoint_url`.
    #[arg(
        long = "lake-endpoint-url",
        value_name = "URL",
        env = "IOTA_LAKE_ENDPOINT_URL"
    )]
    pub lake_endpoint_url: Option<String>,

    /// Path-style S3 addressing for the lake's bucket. Config file: `[lake] force_path_style`.
    #[arg(long = "lake-force-path-style", env = "IOTA_LAKE_FORCE_PATH_STYLE")]
    pub lake_force_path_style: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (recursively), or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Keep alerts in this state store (a SQLite file, created if missing, or a postgres://
    /// URL, TLS by `?sslmode=require|verify-full&sslrootcert=PEM` as with libpq; see
    /// docs/ALERTS.md): each input's alerts and progress are committed together and delivered from the
    /// store's outbox, files committed by an earlier scan are skipped (a file whose size or
    /// modification time changed is read again), and alert windows and rule state continue
    /// across scans. Without it, a scan keeps everything in memory.
    #[arg(
        long,
        value_name = "FILE|URL",
        env = "IOTA_STATE",
        hide_env_values = true
    )]
    pub state: Option<String>,

    /// With --state: delete alert history not updated for this long when the scan ends
    /// (alerts with a delivery still pending are kept).
    #[arg(
        long,
        value_name = "DURATION",
        env = "IOTA_ALERT_RETENTION",
        default_value = "90d",
        value_parser = humantime::parse_duration
    )]
    pub alert_retention: Duration,

    /// Never show the progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Decode and normalize only; run no rules (for measuring the decode floor).
    #[arg(long, hide = true)]
    pub no_rules: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("logs").required(true).args(["paths", "lake", "bucket"])))]
pub struct ReplayArgs {
    /// Local files or directories (searched recursively) to replay, read as `iota scan`
    /// reads them.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A data lake written by iota: file:///DIR or s3://BUCKET/PREFIX. Only the hour
    /// partitions of the range and the tables of the rules' log types are read.
    #[arg(long, value_name = "URI", conflicts_with_all = ["paths", "bucket"])]
    pub lake: Option<String>,

    /// A CloudTrail bucket: only the day folders of the range are listed in each trail
    /// prefix.
    #[arg(long, value_name = "BUCKET", conflicts_with = "paths")]
    pub bucket: Option<String>,

    /// With --bucket: where to look for trail prefixes, as for `iota s3-poll`
    /// [default: AWSLogs/].
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// With --bucket: only these accounts (comma-separated 12-digit ids) [default: all].
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub accounts: Vec<String>,

    /// With --bucket: only these regions (comma-separated) [default: all].
    #[arg(long, value_name = "REGIONS", value_delimiter = ',')]
    pub regions: Vec<String>,

    /// Start of the range (inclusive): an RFC 3339 time (2024-05-01T00:00:00Z), a date
    /// (2024-05-01, midnight UTC) or a duration back from now (7d).
    #[arg(long, value_name = "WHEN", value_parser = parse_time)]
    pub from: DateTime<Utc>,

    /// End of the range (exclusive), written as --from [default: now].
    #[arg(long, value_name = "WHEN", value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,

    /// With --bucket: how long after an event its log file may have been written; files
    /// written up to this long after --to are read too [default: 1h].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub late_window: Option<Duration>,

    /// With --bucket or an s3:// lake: objects downloaded at a time.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub download_concurrency: u16,

    #[command(flatten)]
    pub aws: AwsArgs,

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

    /// Where alerts go besides stdout (repeatable), as for `iota scan`: file=PATH,
    /// slack=URL, ... Only what is named here: IOTA_OUTPUT and config files are not read.
    /// Default: stdout.
    #[arg(long = "output", value_name = "KIND[=TARGET]")]
    pub outputs: Vec<String>,

    /// Send every event to every rule of its log type instead of only to the rules whose
    /// prefilter it passes.
    #[arg(long)]
    pub no_prefilter: bool,

    /// Never show the progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Not accepted: a replay keeps its state in a scratch store and never touches a live one.
    #[arg(long, value_name = "FILE|URL", hide = true)]
    pub state: Option<String>,
}

impl ReplayArgs {
    /// The engine settings of the replay: its rules, workers and limits, and only the
    /// outputs named on its command line.
    pub fn engine(&self) -> EngineArgs {
        EngineArgs {
            rules: self.rules.clone(),
            workers: self.workers.clone(),
            max_event_bytes: self.max_event_bytes,
            dedup_window: self.dedup_window,
            outputs: self.outputs.clone(),
            config: None,
            errors_out: None,
            no_prefilter: self.no_prefilter,
            // Each record is classified by its content.
            log_type: None,
            // A replay reads a lake (--lake) but never writes one.
            lake: LakeArgs::default(),
        }
    }
}

/// What every daemon (`watch`, `s3-poll`, `sqs`) has besides its source.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The state store: a SQLite file (created if missing) or a postgres:// URL (shared by
    /// replicas).
    #[arg(
        long,
        value_name = "FILE|URL",
        env = "IOTA_STATE",
        hide_env_values = true
    )]
    pub state: String,

    /// Delete alert history not updated for this long, as the daemon runs (alerts with a
    /// delivery still pending are kept).
    #[arg(
        long,
        value_name = "DURATION",
        env = "IOTA_ALERT_RETENTION",
        default_value = "90d",
        value_parser = humantime::parse_duration
    )]
    pub alert_retention: Duration,

    #[command(flatten)]
    pub ops: iota_ops::OpsArgs,
}

/// How to reach AWS (every AWS-facing command).
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS region of the bucket [default: from AWS_REGION or the profile].
    #[arg(long, value_name = "REGION", env = "IOTA_AWS_REGION")]
    pub region: Option<String>,

    /// Role to assume (STS) for reading, e.g. a role in the account that owns the bucket.
    #[arg(long, value_name = "ARN", env = "IOTA_ASSUME_ROLE")]
    pub assume_role: Option<String>,

    /// Endpoint instead of AWS's (an S3-compatible store, a VPC endpoint, a test server).
    #[arg(long, value_name = "URL", env = "IOTA_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,

    /// Path-style S3 addressing (http://endpoint/bucket/key), which most S3-compatible
    /// stores need.
    #[arg(long, env = "IOTA_FORCE_PATH_STYLE")]
    pub force_path_style: bool,

    /// How long one attempt of an AWS request may wait for its answer; a download must also
    /// keep up an average of 64 KiB/s after that. Failed attempts are retried (4 in all).
    #[arg(long, value_name = "DURATION", env = "IOTA_AWS_REQUEST_TIMEOUT", default_value = "60s",
          value_parser = positive_duration)]
    pub request_timeout: Duration,
}

impl AwsArgs {
    pub fn options(&self) -> iota_sources::aws::AwsOptions {
        iota_sources::aws::AwsOptions {
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            force_path_style: self.force_path_style,
            assume_role: self.assume_role.clone(),
            request_timeout: Some(self.request_timeout),
        }
    }
}

#[derive(Debug, Args)]
pub struct S3PollArgs {
    /// The bucket the trail writes to [default: the sources configured with `iota sources
    /// add` in the --state store].
    #[arg(long, value_name = "BUCKET", env = "IOTA_S3_BUCKET")]
    pub bucket: Option<String>,

    /// Poll this configured source (repeatable) instead of every configured source; its
    /// bucket, prefix, region, role and filters come from `iota sources add`, and each
    /// poll's outcome is recorded for `iota sources show`.
    #[arg(long = "source", value_name = "NAME", conflicts_with = "bucket")]
    pub sources: Vec<String>,

    /// Where to look for trail prefixes: the trail's S3 key prefix followed by AWSLogs/. A `*`
    /// segment matches any one segment (AWSLogs/*/CloudTrail/).
    #[arg(
        long,
        value_name = "PREFIX",
        env = "IOTA_S3_PREFIX",
        default_value = "AWSLogs/"
    )]
    pub prefix: String,

    /// Only these accounts (comma-separated 12-digit ids) [default: all].
    #[arg(long, value_name = "IDS", env = "IOTA_ACCOUNTS", value_delimiter = ',')]
    pub accounts: Vec<String>,

    /// Only these regions (comma-separated) [default: all].
    #[arg(
        long,
        value_name = "REGIONS",
        env = "IOTA_REGIONS",
        value_delimiter = ','
    )]
    pub regions: Vec<String>,

    /// Time between the starts of two polls.
    #[arg(long, value_name = "DURATION", env = "IOTA_POLL_INTERVAL", default_value = "5m",
          value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,

    /// Where a prefix without a cursor (the first poll) starts: an RFC 3339 time or a
    /// duration back from now (24h) [default: one poll interval back].
    #[arg(long, value_name = "WHEN", env = "IOTA_SINCE", value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,

    /// How far before its cursor each prefix is listed again, for log files delivered out of
    /// order (each object is still processed once).
    #[arg(long, value_name = "DURATION", env = "IOTA_LATE_WINDOW", default_value = "1h",
          value_parser = humantime::parse_duration)]
    pub late_window: Duration,

    /// Poll once, deliver the alerts and exit (for cron). A bucket whose lease another
    /// process holds is waited for, at most --lister-lease after that process stopped.
    #[arg(long)]
    pub once: bool,

    /// Replicas sharing a state store poll each bucket one at a time: the one polling holds
    /// a lease it renews; when it stops (killed, partitioned), another takes over within
    /// this long.
    #[arg(long, value_name = "DURATION", env = "IOTA_LISTER_LEASE", default_value = "60s",
          value_parser = humantime::parse_duration)]
    pub lister_lease: Duration,

    /// Objects downloaded at a time (each held in memory while it is processed).
    #[arg(long, value_name = "N", env = "IOTA_DOWNLOAD_CONCURRENCY", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub download_concurrency: u16,

    /// How long after a failure an object (it could not be downloaded or committed) is read
    /// again; the wait doubles with each further failure, up to 60 times this.
    #[arg(long, value_name = "DURATION", env = "IOTA_FAILED_OBJECT_RETRY", default_value = "1m",
          value_parser = positive_duration)]
    pub failed_object_retry: Duration,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub daemon: DaemonArgs,

    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The directory to follow, recursively.
    #[arg(value_name = "DIR", env = "IOTA_WATCH_DIR")]
    pub dir: PathBuf,

    /// How long a file's size and modification time must stay unchanged before it is read.
    #[arg(long, value_name = "DURATION", env = "IOTA_SETTLE", default_value = "2s",
          value_parser = humantime::parse_duration)]
    pub settle: Duration,

    /// Time between two full listings of the directory, which find what file-system
    /// notifications missed.
    #[arg(long, value_name = "DURATION", env = "IOTA_RESCAN_INTERVAL", default_value = "1m",
          value_parser = humantime::parse_duration)]
    pub rescan_interval: Duration,

    /// Read the files complete now, deliver the alerts and exit (for cron).
    #[arg(long)]
    pub once: bool,

    #[command(flatten)]
    pub daemon: DaemonArgs,

    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct SqsArgs {
    /// The queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME).
    #[arg(long, value_name = "URL", env = "IOTA_SQS_QUEUE_URL")]
    pub queue_url: String,

    /// Messages received at a time (1 to 10).
    #[arg(long, value_name = "N", env = "IOTA_SQS_MAX_MESSAGES", default_value_t = 10,
          value_parser = clap::value_parser!(i32).range(1..=10))]
    pub max_messages: i32,

    /// Long-polling wait for messages, in seconds (0 to 20).
    #[arg(long, value_name = "SECONDS", env = "IOTA_SQS_WAIT_SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(0..=20))]
    pub wait_seconds: u64,

    /// How long a received message stays hidden from other consumers; extended while its
    /// objects are still being processed.
    #[arg(long, value_name = "DURATION", env = "IOTA_SQS_VISIBILITY_TIMEOUT", default_value = "5m",
          value_parser = humantime::parse_duration)]
    pub visibility_timeout: Duration,

    /// Objects downloaded at a time (each held in memory while it is processed).
    #[arg(long, value_name = "N", env = "IOTA_DOWNLOAD_CONCURRENCY", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Stop once a receive finds the queue empty, after delivering the alerts (for cron and
    /// tests).
    #[arg(long)]
    pub once: bool,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub daemon: DaemonArgs,

    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts (and signals with --signals), newest first: a table, or JSON lines.
    #[command(
        long_about = "List alerts, newest first: when each was created, its id (for \
        `iota alerts show`), severity, rule, event count, the state of its deliveries and its \
        title. With --json, one JSON object per alert instead (id, rule_id, title, severity, \
        dedup, state, event_count, first_seen, last_seen, created_at, and deliveries: \
        {pending, succeeded, failed})."
    )]
    List(AlertsListArgs),

    /// Show one alert in full: its fields, sample events and every delivery attempt.
    Show(AlertsShowArgs),

    /// Re-queue failed deliveries of one alert, or every failed delivery with --failed.
    #[command(
        long_about = "Re-queue failed deliveries: those of alert ID, or every failed \
        delivery with --failed. They become pending and due now, with their attempt count \
        reset; this command only prints how many were re-queued. A running iota daemon \
        sends them; otherwise the next `iota scan --state` on this store with the same \
        outputs does."
    )]
    Retry(AlertsRetryArgs),

    /// Delete history older than a duration (retention on demand).
    #[command(
        long_about = "Delete history older than a duration (retention on demand): \
        alerts and signals not updated since then (with their samples and deliveries), rule \
        errors and processed-object records recorded before then, and expired rule-state \
        keys. An alert with a delivery still pending is kept whatever its age: retention \
        never loses an alert before it is delivered."
    )]
    Prune(AlertsPruneArgs),
}

/// The state store the `alerts` and `sources` commands read and write.
#[derive(Debug, Args)]
pub struct StateStoreArgs {
    /// The state store: a SQLite file or a postgres:// URL (the one `iota scan --state` or the
    /// daemon writes to).
    #[arg(
        long = "state",
        value_name = "FILE|URL",
        env = "IOTA_STATE",
        hide_env_values = true
    )]
    pub state: String,
}

#[derive(Debug, Args)]
pub struct AlertsListArgs {
    #[command(flatten)]
    pub store: StateStoreArgs,

    /// Only alerts created at or after WHEN: an RFC 3339 time (2024-05-01T00:00:00Z) or a
    /// duration back from now (24h, 7d).
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,

    /// Only alerts of this rule id.
    #[arg(long, value_name = "RULE_ID")]
    pub rule: Option<String>,

    /// Only alerts at least this severe: INFO, LOW, MEDIUM, HIGH or CRITICAL (any case).
    #[arg(long, value_name = "LEVEL")]
    pub severity: Option<Severity>,

    /// Only alerts with a delivery that failed for good (re-queue them with `iota alerts retry`).
    #[arg(long)]
    pub failed: bool,

    /// Signals (matches of `CreateAlert: false` rules, never delivered) too.
    #[arg(long)]
    pub signals: bool,

    /// At most N alerts, the newest [default: all].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,

    /// One JSON object per alert instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AlertsShowArgs {
    #[command(flatten)]
    pub store: StateStoreArgs,

    /// The alert's id, as `iota alerts list` shows it.
    pub id: String,

    /// The alert, its samples and its deliveries as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AlertsRetryArgs {
    #[command(flatten)]
    pub store: StateStoreArgs,

    /// The alert whose failed deliveries to re-queue.
    #[arg(required_unless_present = "failed", conflicts_with = "failed")]
    pub id: Option<String>,

    /// Re-queue every failed delivery of every alert.
    #[arg(long)]
    pub failed: bool,
}

#[derive(Debug, Args)]
pub struct AlertsPruneArgs {
    #[command(flatten)]
    pub store: StateStoreArgs,

    /// Delete what is older than this (e.g. 90d, 12h).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub older_than: Duration,
}

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Add a trail source: the S3 bucket (and key prefix) a CloudTrail trail delivers to.
    #[command(
        long_about = "Add a trail source to the state store: the S3 bucket a CloudTrail \
        trail delivers its log files to, the key prefix they are under, how to reach the \
        bucket (its region, a role to assume for a bucket in another account) and which \
        accounts and regions to keep. `iota s3-poll --source NAME` polls one source, \
        `iota s3-poll` all of them; each poll's outcome is the source's health \
        (`iota sources show NAME`).\n\n\
        A name that exists already is refused unless --replace is given: then the source \
        takes the new configuration and keeps its health. A SQLite store that does not exist \
        yet is created.\n\n\
        Exit status: 0 when added; 1 when the name exists (without --replace) or the store \
        cannot be opened; 2 for an invalid name, bucket, prefix, role, account id or region."
    )]
    Add(SourcesAddArgs),

    /// List the trail sources with their health: last poll, last success, lag, status.
    #[command(
        long_about = "List the trail sources by name, as a table: the name, the \
        bucket and prefix (s3://BUCKET/PREFIX), when the last poll finished and the last \
        successful one, the lag (now minus the time of the newest event read) and the \
        status: `ok` (the last poll succeeded; objects it could not process are counted \
        beside it), `failing` (the last poll failed: `iota sources show NAME` says why) or \
        `never polled`.\n\n\
        With --json, one JSON object per source instead: name, bucket, prefix, region, \
        assume_role, accounts, regions, created_at, updated_at, health (null when never \
        polled: last_poll_started_at, last_poll_at, last_success_at, last_error, polls, \
        objects, events, failed_objects, newest_event_time), status and lag_seconds."
    )]
    List(SourcesListArgs),

    /// Show one source: its configuration, its health and the objects that failed.
    #[command(
        long_about = "Show one trail source in full: its configuration; its health \
        (when the last poll ran and the last successful one finished, the last poll's error, \
        polls made, objects and events processed over all polls, the newest event read and \
        the lag behind it); and the objects of its bucket under its prefix that failed to \
        process, each with its number of attempts and its last error (polls retry them).\n\n\
        With --json, the object of `iota sources list --json` plus `failed`: the failed \
        objects (source, key, etag, size, events, alerts, outcome, attempts, \
        first_attempt_at, updated_at).\n\n\
        Exit status: 0 when shown; 1 for an unknown name or a store that cannot be opened."
    )]
    Show(SourcesShowArgs),

    /// Remove a source and its health (the record of the objects it processed stays).
    #[command(
        long_about = "Remove a trail source and its health from the state store; \
        `iota s3-poll` no longer polls it. The record of the objects already processed from \
        its bucket stays (it is kept per bucket, and pruned by `iota alerts prune` and \
        retention): a source added again for the bucket does not process them again.\n\n\
        Exit status: 0 when removed; 1 for an unknown name or a store that cannot be opened."
    )]
    Remove(SourcesRemoveArgs),
}

#[derive(Debug, Args)]
pub struct SourcesAddArgs {
    /// The source's name: letters, digits, `.`, `_` and `-` (what `iota s3-poll --source`
    /// and `iota sources show` take).
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The S3 bucket the trail delivers to: its name, not an s3:// URL.
    #[arg(long, value_name = "BUCKET")]
    pub bucket: String,

    /// Key prefix of the trail's log files; only objects under it are read. `AWSLogs/` for a
    /// trail without an S3 key prefix, `PREFIX/AWSLogs/` for a trail with one, "" for the
    /// whole bucket. Ends with `/` unless empty.
    #[arg(long, value_name = "PREFIX", default_value = "AWSLogs/")]
    pub prefix: String,

    /// The bucket's region (e.g. eu-west-1) [default: the region of the AWS credential chain,
    /// e.g. AWS_REGION].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// ARN of an IAM role to assume to read the bucket (one in another account), e.g.
    /// arn:aws:iam::111122223333:role/iota-reader [default: the credentials of the standard
    /// chain, as found].
    #[arg(long, value_name = "ROLE_ARN")]
    pub assume_role: Option<String>,

    /// Only the logs of these AWS account ids (12 digits; comma-separated or repeated)
    /// [default: every account].
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub accounts: Vec<String>,

    /// Only the logs of these regions (e.g. us-east-1,eu-west-1; comma-separated or repeated)
    /// [default: every region].
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    pub regions: Vec<String>,

    /// If a source of this name exists, replace its configuration (keeping its health)
    /// instead of failing.
    #[arg(long)]
    pub replace: bool,

    #[command(flatten)]
    pub store: StateStoreArgs,
}

#[derive(Debug, Args)]
pub struct SourcesListArgs {
    #[command(flatten)]
    pub store: StateStoreArgs,

    /// One JSON object per source instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SourcesShowArgs {
    /// The source's name, as `iota sources list` shows it.
    #[arg(value_name = "NAME")]
    pub name: String,

    #[command(flatten)]
    pub store: StateStoreArgs,

    /// The source, its health and its failed objects as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SourcesRemoveArgs {
    /// The source's name, as `iota sources list` shows it.
    #[arg(value_name = "NAME")]
    pub name: String,

    #[command(flatten)]
    pub store: StateStoreArgs,
}

/// `--since`: an RFC 3339 time, or a duration back from now.
fn parse_since(value: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(age) = humantime::parse_duration(value) {
        return chrono::TimeDelta::from_std(age)
            .ok()
            .and_then(|age| Utc::now().checked_sub_signed(age))
            .ok_or_else(|| format!("{value} ago is too long ago; give a shorter duration"));
    }
    DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            "expected an RFC 3339 time (2024-05-01T00:00:00Z) or a duration back from now \
             (24h, 7d)"
                .to_string()
        })
}

/// A duration longer than zero (`30s`, `1m`).
fn positive_duration(value: &str) -> Result<Duration, String> {
    match humantime::parse_duration(value) {
        Ok(duration) if duration.is_zero() => {
            Err("must be longer than 0s (e.g. 30s, 1m)".to_owned())
        }
        Ok(duration) => Ok(duration),
        Err(err) => Err(err.to_string()),
    }
}

/// `iota replay --from/--to`: an RFC 3339 time, a date (midnight UTC), or a duration back from
/// now.
fn parse_time(value: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    parse_since(value).map_err(|_| {
        "expected an RFC 3339 time (2024-05-01T00:00:00Z), a date (2024-05-01, midnight UTC) \
         or a duration back from now (24h, 7d)"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_times_are_rfc3339_dates_or_durations_back() {
        assert_eq!(
            parse_time("2024-03-04").unwrap().to_rfc3339(),
            "2024-03-04T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("2024-03-04T10:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2024-03-04T08:00:00+00:00"
        );
        let week_ago = parse_time("7d").unwrap();
        let expected = Utc::now() - chrono::TimeDelta::days(7);
        assert!((week_ago - expected).num_seconds().abs() < 60, "{week_ago}");
        assert!(parse_time("2024-13-01").is_err());
        assert!(parse_time("last tuesday").is_err());
    }
}
