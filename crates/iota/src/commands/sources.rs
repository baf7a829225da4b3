//! `iota sources add|list|show|remove`: the CloudTrail trail sources kept in the state store
//! (SPEC 1 and 5), which `iota s3-poll` polls, and their health as the polls record it. This
//! module checks what operators type (name, bucket, prefix, role ARN, account ids, regions),
//! turns it into a [`SourceConfig`] and prints what the store holds; the store does the rest
//! (`iota_state::StateStore`).

use std::fmt::Write as _;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use iota_state::{ObjectOutcome, ObjectRecord, SourceConfig, SourceRecord, StateStore, StoreError};

use crate::cli::{
    SourcesAddArgs, SourcesCommand, SourcesListArgs, SourcesRemoveArgs, SourcesShowArgs,
    StateStoreArgs,
};
use crate::commands::text::{self, one_line, plural, print, shorten, time};
use crate::state_store::{self, IfMissing};
use crate::UsageError;

/// Longest object error shown by `show`; `--json` has it whole.
const OBJECT_ERROR_CHARS: usize = 300;

pub fn run(command: SourcesCommand) -> anyhow::Result<u8> {
    match command {
        SourcesCommand::Add(args) => add(args),
        SourcesCommand::List(args) => list(args),
        SourcesCommand::Show(args) => show(args),
        SourcesCommand::Remove(args) => remove(args),
    }
}

fn open_existing(args: &StateStoreArgs) -> anyhow::Result<Box<dyn StateStore>> {
    state_store::open(&args.state, IfMissing::Fail)
}

fn add(args: SourcesAddArgs) -> anyhow::Result<u8> {
    // Checked before the store is opened, so that a typo never creates an empty SQLite file.
    let config = source_config(&args)?;
    // `add` may be the first command run against a new deployment's store.
    let store = state_store::open(&args.store.state, IfMissing::Create)?;
    // Only for the wording of the message: the store decides.
    let existed = args.replace && store.get_source(&config.name)?.is_some();
    match store.add_source(&config, args.replace) {
        Ok(()) => {}
        Err(StoreError::SourceExists { name, .. }) => {
            let existing = store
                .get_source(&name)?
                .map(|record| format!(" ({})", location(&record.config)))
                .unwrap_or_default();
            anyhow::bail!(
                "a source named {name:?} exists already in state store {}{existing}: give \
                 --replace to change its configuration, or choose another name",
                store.name()
            );
        }
        Err(e) => return Err(e.into()),
    }
    let mut message = if existed {
        format!(
            "Replaced the configuration of source {} in state store {} (its health is kept):\n\n",
            config.name,
            store.name()
        )
    } else {
        format!(
            "Added source {} to state store {}:\n\n",
            config.name,
            store.name()
        )
    };
    message += &describe_config(&config);
    let _ = writeln!(
        message,
        "\n`iota s3-poll --source {name}` polls it; `iota sources show {name}` shows its health.",
        name = config.name
    );
    print(message.as_bytes())?;
    Ok(0)
}

/// The configuration `add` stores, or a usage error naming the value and what to give instead.
fn source_config(args: &SourcesAddArgs) -> Result<SourceConfig, UsageError> {
    let name = &args.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(UsageError(format!(
            "source name {name:?}: use letters, digits, '.', '_' and '-' only (e.g. org-trail)"
        )));
    }
    check_bucket(&args.bucket)
        .map_err(|reason| UsageError(format!("--bucket {:?}: {reason}", args.bucket)))?;
    check_prefix(&args.prefix)
        .map_err(|reason| UsageError(format!("--prefix {:?}: {reason}", args.prefix)))?;
    if let Some(region) = &args.region {
        if !is_region(region) {
            return Err(UsageError(format!(
                "--region {region:?}: not an AWS region name (e.g. us-east-1, eu-west-1)"
            )));
        }
    }
    if let Some(role) = &args.assume_role {
        if !is_role_arn(role) {
            return Err(UsageError(format!(
                "--assume-role {role:?}: not an IAM role ARN \
                 (e.g. arn:aws:iam::111122223333:role/iota-reader)"
            )));
        }
    }
    let accounts = filter_list(&args.accounts, |account| {
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
            .then_some(())
            .ok_or_else(|| {
                format!(
                    "--accounts: {account:?} is not an AWS account id (12 digits, e.g. \
                     111122223333)"
                )
            })
    })?;
    let regions = filter_list(&args.regions, |region| {
        is_region(region).then_some(()).ok_or_else(|| {
            format!("--regions: {region:?} is not an AWS region name (e.g. us-east-1, eu-west-1)")
        })
    })?;
    Ok(SourceConfig {
        name: name.clone(),
        bucket: args.bucket.clone(),
        prefix: args.prefix.clone(),
        region: args.region.clone(),
        assume_role: args.assume_role.clone(),
        accounts,
        regions,
    })
}

/// The values of a comma-separated filter, checked, trimmed (`a, b`), sorted and without
/// duplicates or empty entries (a trailing comma).
fn filter_list(
    values: &[String],
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, UsageError> {
    let mut list = Vec::new();
    for value in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        check(value).map_err(UsageError)?;
        list.push(value.to_owned());
    }
    list.sort();
    list.dedup();
    Ok(list)
}

/// The S3 naming rules of general purpose buckets, with the reason a name breaks them.
fn check_bucket(bucket: &str) -> Result<(), &'static str> {
    if bucket.starts_with("s3://") || bucket.starts_with("arn:") || bucket.contains('/') {
        return Err(
            "give the bucket's name alone (e.g. --bucket my-trail-bucket) and the key \
                    prefix with --prefix",
        );
    }
    if !(3..=63).contains(&bucket.len()) {
        return Err("an S3 bucket name has 3 to 63 characters");
    }
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err("an S3 bucket name has only lowercase letters, digits, '.' and '-'");
    }
    let alphanumeric = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !alphanumeric(bucket.bytes().next()) || !alphanumeric(bucket.bytes().last()) {
        return Err("an S3 bucket name begins and ends with a letter or a digit");
    }
    if bucket.contains("..") {
        return Err("an S3 bucket name has no two adjacent periods");
    }
    if bucket.split('.').count() == 4
        && bucket
            .split('.')
            .all(|part| part.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("an S3 bucket name is not an IP address");
    }
    Ok(())
}

fn check_prefix(prefix: &str) -> Result<(), String> {
    if let Some(rest) = prefix.strip_prefix('/') {
        return Err(format!(
            "CloudTrail keys do not start with '/': drop it (--prefix {rest})"
        ));
    }
    if !prefix.is_empty() && !prefix.ends_with('/') {
        return Err(format!(
            "a key prefix ends with '/' (--prefix {prefix}/), or is \"\" for the whole bucket"
        ));
    }
    Ok(())
}

/// `us-east-1`, `us-gov-west-1`, `eusc-de-east-1`: lowercase words, then a number.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:aws:iam::111122223333:role/NAME` (any partition, any role path).
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts[..] {
        ["arn", partition, "iam", "", account, resource] => {
            partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|n| !n.is_empty())
        }
        _ => false,
    }
}

/// `s3://bucket/prefix`.
fn location(config: &SourceConfig) -> String {
    format!("s3://{}/{}", config.bucket, config.prefix)
}

/// What a source's health says, as `list` and `show` print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    /// The last poll succeeded.
    Ok,
    /// The last poll failed.
    Failing,
    NeverPolled,
}

impl Status {
    fn of(record: &SourceRecord) -> Status {
        match &record.health {
            None => Status::NeverPolled,
            Some(health) if health.last_error.is_some() => Status::Failing,
            Some(_) => Status::Ok,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failing => "failing",
            Status::NeverPolled => "never polled",
        }
    }
}

/// How far the source is behind its trail: now minus the time of the newest event read.
fn lag(record: &SourceRecord, now: DateTime<Utc>) -> Option<TimeDelta> {
    let newest = record.health.as_ref()?.newest_event_time?;
    Some(now - newest)
}

/// `42s`, `5m 3s`, `2h 7m`, `3d 4h`: the two largest units.
fn duration(delta: TimeDelta) -> String {
    // A newest event "in the future" is clock skew: no lag.
    let secs = delta.num_seconds().max(0);
    let (days, hours, minutes, seconds) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// A source as `list --json` prints it: the record with its status and lag worked out.
#[derive(Serialize)]
struct SourceView<'a> {
    #[serde(flatten)]
    record: &'a SourceRecord,
    status: Status,
    lag_seconds: Option<i64>,
}

impl<'a> SourceView<'a> {
    fn new(record: &'a SourceRecord, now: DateTime<Utc>) -> Self {
        SourceView {
            record,
            status: Status::of(record),
            lag_seconds: lag(record, now).map(|lag| lag.num_seconds().max(0)),
        }
    }
}

fn list(args: SourcesListArgs) -> anyhow::Result<u8> {
    let store = open_existing(&args.store)?;
    let sources = store.list_sources()?;
    let now = Utc::now();
    if args.json {
        let mut lines = Vec::new();
        for record in &sources {
            serde_json::to_writer(&mut lines, &SourceView::new(record, now))?;
            lines.push(b'\n');
        }
        print(&lines)?;
    } else {
        print(list_table(&sources, now, store.name()).as_bytes())?;
    }
    Ok(0)
}

fn list_table(sources: &[SourceRecord], now: DateTime<Utc>, store: &str) -> String {
    if sources.is_empty() {
        return format!(
            "No sources in state store {store}: add one with \
             `iota sources add NAME --bucket BUCKET --state {store}`.\n"
        );
    }
    let header = [
        "NAME",
        "BUCKET/PREFIX",
        "LAST POLL (UTC)",
        "LAST SUCCESS (UTC)",
        "LAG",
        "STATUS",
    ];
    let table_time = |at: Option<DateTime<Utc>>| {
        at.map_or("never".into(), |at| {
            at.format("%Y-%m-%d %H:%M:%S").to_string()
        })
    };
    let rows: Vec<[String; 6]> = sources
        .iter()
        .map(|record| {
            let health = record.health.as_ref();
            let mut status = Status::of(record).as_str().to_string();
            // A poll that succeeded may still have left objects it could not process.
            if let Some(failed) = health.map(|h| h.failed_objects).filter(|n| *n > 0) {
                if Status::of(record) == Status::Ok {
                    status +=
                        &format!(" ({} failed)", plural(failed as usize, "object", "objects"));
                }
            }
            [
                record.config.name.clone(),
                location(&record.config),
                table_time(health.map(|h| h.last_poll_at)),
                table_time(health.and_then(|h| h.last_success_at)),
                lag(record, now).map_or("-".into(), duration),
                status,
            ]
        })
        .collect();
    let mut table = text::table(header, &rows);
    let count = |status: Status| sources.iter().filter(|s| Status::of(s) == status).count();
    let notes: Vec<String> = [
        (count(Status::Failing), "failing"),
        (count(Status::NeverPolled), "never polled"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let _ = write!(table, "\n{}", plural(sources.len(), "source", "sources"));
    if !notes.is_empty() {
        let _ = write!(table, " ({})", notes.join(", "));
    }
    table += "\n";
    table
}

/// `show --json`: the source as `list --json` has it, with its failed objects.
#[derive(Serialize)]
struct SourceDetail<'a> {
    #[serde(flatten)]
    view: SourceView<'a>,
    failed: &'a [ObjectRecord],
}

fn show(args: SourcesShowArgs) -> anyhow::Result<u8> {
    let store = open_existing(&args.store)?;
    let record = find_source(&*store, &args.name)?;
    let config = &record.config;
    // Objects are recorded per bucket (SourceConfig::object_source); this source covers the
    // ones under its prefix.
    let failed: Vec<ObjectRecord> = store
        .list_objects(&config.object_source(), true)?
        .into_iter()
        .filter(|object| object.key.starts_with(&config.prefix))
        .collect();
    let now = Utc::now();
    if args.json {
        let detail = SourceDetail {
            view: SourceView::new(&record, now),
            failed: &failed,
        };
        let mut json = serde_json::to_vec(&detail)?;
        json.push(b'\n');
        print(&json)?;
    } else {
        print(describe_source(&record, &failed, now).as_bytes())?;
    }
    Ok(0)
}

fn find_source(store: &dyn StateStore, name: &str) -> anyhow::Result<SourceRecord> {
    store.get_source(name)?.with_context(|| {
        format!(
            "no source named {name:?} in state store {}: `iota sources list` lists the \
             configured sources",
            store.name()
        )
    })
}

/// `  Name:          value`, the layout of `iota alerts show`.
fn field(text: &mut String, name: &str, value: &str) {
    let _ = writeln!(text, "  {:<15}{value}", format!("{name}:"));
}

fn describe_config(config: &SourceConfig) -> String {
    let mut text = String::new();
    let list_or_all = |list: &[String], all: &str| {
        if list.is_empty() {
            all.to_string()
        } else {
            list.join(", ")
        }
    };
    field(&mut text, "Bucket", &config.bucket);
    field(
        &mut text,
        "Prefix",
        if config.prefix.is_empty() {
            "none (the whole bucket)"
        } else {
            &config.prefix
        },
    );
    field(
        &mut text,
        "Region",
        config
            .region
            .as_deref()
            .unwrap_or("default (of the AWS credential chain)"),
    );
    field(
        &mut text,
        "Assume role",
        config
            .assume_role
            .as_deref()
            .unwrap_or("none (the standard credential chain)"),
    );
    field(&mut text, "Accounts", &list_or_all(&config.accounts, "all"));
    field(&mut text, "Regions", &list_or_all(&config.regions, "all"));
    text
}

fn describe_source(record: &SourceRecord, failed: &[ObjectRecord], now: DateTime<Utc>) -> String {
    let config = &record.config;
    let mut text = format!("Source {}\n\n", config.name);
    text += &describe_config(config);
    field(&mut text, "Added", &time(record.created_at));
    if record.updated_at != record.created_at {
        field(&mut text, "Changed", &time(record.updated_at));
    }

    text += "\nHealth:\n";
    let status = Status::of(record);
    match &record.health {
        None => {
            field(
                &mut text,
                "Status",
                &format!(
                    "never polled (`iota s3-poll --source {}` polls it)",
                    config.name
                ),
            );
        }
        Some(health) => {
            field(&mut text, "Status", status.as_str());
            let took = duration(health.last_poll_at - health.last_poll_started_at);
            field(
                &mut text,
                "Last poll",
                &format!("{} (took {took})", time(health.last_poll_at)),
            );
            field(
                &mut text,
                "Last success",
                &health.last_success_at.map_or("never".into(), time),
            );
            if let Some(error) = &health.last_error {
                field(&mut text, "Last error", &one_line(error));
            }
            field(&mut text, "Polls", &health.polls.to_string());
            field(
                &mut text,
                "Processed",
                &format!(
                    "{}, {}",
                    plural(health.objects as usize, "object", "objects"),
                    plural(health.events as usize, "event", "events")
                ),
            );
            field(
                &mut text,
                "Newest event",
                &match (health.newest_event_time, lag(record, now)) {
                    (Some(at), Some(lag)) => format!("{} (lag {})", time(at), duration(lag)),
                    _ => "none read yet".into(),
                },
            );
            field(
                &mut text,
                "Failed",
                &format!(
                    "{} in the last poll",
                    plural(health.failed_objects as usize, "object", "objects")
                ),
            );
        }
    }

    let scope = if config.prefix.is_empty() {
        format!("s3://{}", config.bucket)
    } else {
        format!("s3://{} under {}", config.bucket, config.prefix)
    };
    if failed.is_empty() {
        let _ = writeln!(text, "\nFailed objects in {scope}: none");
    } else {
        let _ = writeln!(
            text,
            "\nFailed objects in {scope} ({}; polls retry them):",
            failed.len()
        );
        for object in failed {
            let error = match &object.outcome {
                ObjectOutcome::Failed(error) | ObjectOutcome::Partial(error) => error.as_str(),
                ObjectOutcome::Ok => "",
            };
            let _ = writeln!(
                text,
                "  {}\n    {}, last {}: {}",
                one_line(&object.key),
                plural(object.attempts as usize, "attempt", "attempts"),
                time(object.updated_at),
                shorten(&one_line(error), OBJECT_ERROR_CHARS)
            );
        }
    }
    text
}

fn remove(args: SourcesRemoveArgs) -> anyhow::Result<u8> {
    let store = open_existing(&args.store)?;
    let record = find_source(&*store, &args.name)?;
    if !store.remove_source(&args.name)? {
        // Removed by someone else since it was read: still gone, as asked, but say so.
        anyhow::bail!(
            "no source named {:?} in state store {} any more: it was removed meanwhile",
            args.name,
            store.name()
        );
    }
    let config = &record.config;
    let message = format!(
        "Removed source {} ({}) and its health from state store {}.\n\
         The record of the objects processed from {} stays: a source added again for this \
         bucket does not process them again.\n",
        config.name,
        location(config),
        store.name(),
        config.object_source()
    );
    print(message.as_bytes())?;
    Ok(0)
}
