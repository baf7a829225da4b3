//! `iota alerts list|show|retry|prune`: the alert history kept in the state store (SPEC 4),
//! read back for operators: the alerts and signals with their delivery state, one alert in
//! full, re-queueing failed deliveries, and retention on demand. The store does the work
//! (`iota_state::StateStore`); this module opens it, turns flags into queries and prints.

use std::fmt::Write as _;

use anyhow::Context;
use chrono::{TimeDelta, Utc};

use iota_alerts::SourceRef;
use iota_state::{
    AlertDetail, AlertQuery, AlertState, AlertSummary, AttemptOutcome, DeliveryRecord,
    DeliveryStatus, RetryTarget, StateStore,
};

use crate::cli::{
    AlertsCommand, AlertsListArgs, AlertsPruneArgs, AlertsRetryArgs, AlertsShowArgs, StateStoreArgs,
};
use crate::commands::text::{self, one_line, plural, print, shorten, time};
use crate::state_store::{self, IfMissing};

/// Longest title shown in the `list` table; `show` and `--json` have it whole.
const TABLE_TITLE_CHARS: usize = 60;

pub fn run(command: AlertsCommand) -> anyhow::Result<u8> {
    match command {
        AlertsCommand::List(args) => list(args),
        AlertsCommand::Show(args) => show(args),
        AlertsCommand::Retry(args) => retry(args),
        AlertsCommand::Prune(args) => prune(args),
    }
}

fn open_store(args: &StateStoreArgs) -> anyhow::Result<Box<dyn StateStore>> {
    state_store::open(&args.state, IfMissing::Fail)
}

fn list(args: AlertsListArgs) -> anyhow::Result<u8> {
    let store = open_store(&args.store)?;
    let query = AlertQuery {
        since: args.since,
        rule: args.rule,
        min_severity: args.severity,
        failed_only: args.failed,
        signals: args.signals,
        limit: args.limit,
    };
    let alerts = store.list_alerts(&query)?;
    if args.json {
        let mut lines = Vec::new();
        for alert in &alerts {
            serde_json::to_writer(&mut lines, alert)?;
            lines.push(b'\n');
        }
        print(&lines)?;
    } else {
        print(list_table(&alerts, args.limit).as_bytes())?;
    }
    Ok(0)
}

fn list_table(alerts: &[AlertSummary], limit: Option<u32>) -> String {
    let header = [
        "CREATED (UTC)",
        "ID",
        "SEVERITY",
        "RULE",
        "EVENTS",
        "DELIVERIES",
        "TITLE",
    ];
    let rows: Vec<[String; 7]> = alerts
        .iter()
        .map(|a| {
            [
                a.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                a.id.clone(),
                a.severity.to_string(),
                a.rule_id.clone(),
                a.event_count.to_string(),
                deliveries_cell(a),
                shorten(&one_line(&a.title), TABLE_TITLE_CHARS),
            ]
        })
        .collect();
    let mut table = String::new();
    if !rows.is_empty() {
        table += &text::table(header, &rows);
        table += "\n";
    }
    let signals = alerts
        .iter()
        .filter(|a| a.state == AlertState::Signal)
        .count();
    table += &plural(alerts.len() - signals, "alert", "alerts");
    if signals > 0 {
        table += &format!(", {}", plural(signals, "signal", "signals"));
    }
    if limit.is_some_and(|limit| alerts.len() as u64 == u64::from(limit)) {
        table += " (the newest; raise --limit to see older ones)";
    }
    table += "\n";
    table
}

/// `1 failed, 1 delivered`: what went wrong first.
fn deliveries_cell(alert: &AlertSummary) -> String {
    if alert.state == AlertState::Signal {
        return "signal (never sent)".into();
    }
    let counts = alert.deliveries;
    let parts: Vec<String> = [
        (counts.failed, "failed"),
        (counts.pending, "pending"),
        (counts.succeeded, "delivered"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn show(args: AlertsShowArgs) -> anyhow::Result<u8> {
    let store = open_store(&args.store)?;
    let detail = find_alert(&*store, &args.id)?;
    if args.json {
        let mut json = serde_json::to_vec(&detail)?;
        json.push(b'\n');
        print(&json)?;
    } else {
        print(describe_alert(&detail).as_bytes())?;
    }
    Ok(0)
}

fn find_alert(store: &dyn StateStore, id: &str) -> anyhow::Result<AlertDetail> {
    store.get_alert(id)?.with_context(|| {
        format!(
            "no alert or signal with id {id:?} in state store {}: `iota alerts list --signals` \
             lists the ids it holds",
            store.name()
        )
    })
}

fn describe_alert(detail: &AlertDetail) -> String {
    let alert = &detail.alert;
    let mut text = String::new();
    let kind = match detail.state {
        AlertState::Alert => "Alert",
        AlertState::Signal => "Signal (CreateAlert: false; recorded, never delivered)",
    };
    let _ = writeln!(text, "{kind} {}\n", alert.id);
    // Multi-line values (descriptions, runbooks) continue under the first line.
    let mut field = |name: &str, value: &str| {
        let value = value
            .trim()
            .lines()
            .collect::<Vec<_>>()
            .join("\n                 ");
        let _ = writeln!(text, "  {:<15}{value}", format!("{name}:"));
    };
    field("Rule", &alert.rule_id);
    field("Title", &alert.title);
    field("Severity", alert.severity.as_str());
    field("Dedup", &alert.dedup);
    field(
        "Events",
        &format!(
            "{} (threshold {}, dedup period {} min)",
            alert.event_count, detail.threshold, alert.dedup_period_minutes
        ),
    );
    field("First seen", &time(alert.first_seen));
    field("Last seen", &time(alert.last_seen));
    field("Created", &time(alert.created_at));
    field("Log type", &alert.log_type);
    for (name, value) in [
        ("Description", &alert.description),
        ("Runbook", &alert.runbook),
        ("Reference", &alert.reference),
    ] {
        if let Some(value) = value {
            field(name, value);
        }
    }
    if !alert.tags.is_empty() {
        field("Tags", &alert.tags.join(", "));
    }
    if !alert.reports.is_empty() {
        let reports: Vec<String> = alert
            .reports
            .iter()
            .map(|(framework, ids)| format!("{framework}: {}", ids.join(", ")))
            .collect();
        field("Reports", &reports.join("; "));
    }
    match &alert.destinations {
        None => {}
        Some(names) if names.is_empty() => field("Destinations", "none (destinations() = [])"),
        Some(names) => field("Destinations", &names.join(", ")),
    }
    field("Source", &source(&alert.source));
    if let Some(context) = &alert.alert_context {
        field("Alert context", &context.to_string());
    }

    let _ = writeln!(
        text,
        "\nSamples ({} kept of {} events, earliest first):",
        detail.samples.len(),
        alert.event_count
    );
    for sample in &detail.samples {
        let event_id = if sample.event_id.is_empty() {
            "(no eventID)"
        } else {
            &sample.event_id
        };
        let _ = writeln!(
            text,
            "  {}  {event_id}  {}\n    {}",
            time(sample.event_time),
            source(&sample.source),
            sample.event.get()
        );
    }

    text += "\nDeliveries:\n";
    if detail.deliveries.is_empty() {
        text += match detail.state {
            AlertState::Signal => "  none: signals are never delivered\n",
            AlertState::Alert => "  none: no output was routed this alert\n",
        };
    }
    for delivery in &detail.deliveries {
        let _ = writeln!(
            text,
            "  {}: {}",
            delivery.output,
            delivery_state(delivery, &alert.id)
        );
        for attempt in &delivery.history {
            let outcome = match attempt.outcome {
                AttemptOutcome::Succeeded => "delivered",
                AttemptOutcome::Retry => "failed, retried",
                AttemptOutcome::Failed => "failed, gave up",
            };
            let error = one_line(attempt.error.as_deref().unwrap_or(""));
            let attempt_line = format!("    {}  {outcome}  {error}", time(attempt.at));
            let _ = writeln!(text, "{}", attempt_line.trim_end());
        }
    }
    text
}

fn delivery_state(delivery: &DeliveryRecord, alert_id: &str) -> String {
    let attempts = plural(delivery.attempts as usize, "attempt", "attempts");
    match delivery.status {
        DeliveryStatus::Succeeded => match delivery.delivered_at {
            Some(at) => format!("delivered {}", time(at)),
            None => "delivered".into(),
        },
        DeliveryStatus::Pending if delivery.attempts == 0 => {
            format!(
                "pending, first attempt due {}",
                time(delivery.next_attempt_at)
            )
        }
        DeliveryStatus::Pending => format!(
            "pending after {attempts}, next due {}",
            time(delivery.next_attempt_at)
        ),
        DeliveryStatus::Failed => {
            format!("FAILED after {attempts}; re-queue with `iota alerts retry {alert_id}`")
        }
    }
}

fn retry(args: AlertsRetryArgs) -> anyhow::Result<u8> {
    let store = open_store(&args.store)?;
    let requeued = match &args.id {
        Some(id) => {
            // An id with nothing to retry is fine; an id the store does not know is a typo.
            find_alert(&*store, id)?;
            store.retry(RetryTarget::Alert(id))?
        }
        None => store.retry(RetryTarget::AllFailed)?,
    };
    let whose = match &args.id {
        Some(id) => format!("of alert {id}"),
        None => format!("in state store {}", store.name()),
    };
    let message = if requeued == 0 {
        format!("No failed deliveries {whose}: nothing re-queued.\n")
    } else {
        format!(
            "Re-queued {} {whose}: a running iota daemon sends {} shortly, otherwise the next \
             `iota scan --state {}` with the same outputs does.\n",
            plural(requeued as usize, "failed delivery", "failed deliveries"),
            if requeued == 1 { "it" } else { "them" },
            store.name()
        )
    };
    print(message.as_bytes())?;
    Ok(0)
}

fn prune(args: AlertsPruneArgs) -> anyhow::Result<u8> {
    let store = open_store(&args.store)?;
    let now = Utc::now();
    let cutoff = TimeDelta::from_std(args.older_than)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .with_context(|| {
            format!(
                "--older-than {}: too long ago to compute; give a shorter duration",
                humantime::format_duration(args.older_than)
            )
        })?;
    let report = store.prune(cutoff, now)?;
    let message = format!(
        "Pruned state store {} of history last updated before {}:\n  \
         {} (with their samples and deliveries)\n  {}\n  {}\n  {}\n\
         Alerts with deliveries still pending are kept until they are delivered or fail.\n",
        store.name(),
        time(cutoff),
        plural(
            report.alerts as usize,
            "alert or signal",
            "alerts and signals"
        ),
        plural(report.rule_errors as usize, "rule error", "rule errors"),
        plural(
            report.objects as usize,
            "processed object",
            "processed objects"
        ),
        plural(
            report.rule_state as usize,
            "expired rule-state key",
            "expired rule-state keys"
        ),
    );
    print(message.as_bytes())?;
    Ok(0)
}

/// `s3://bucket/key, line 3`, `file logs/x.json, line 3`, `stdin, line 3`.
fn source(source: &SourceRef) -> String {
    let place = match (source.kind, &source.bucket) {
        ("s3", Some(bucket)) => format!("s3://{bucket}/{}", source.key),
        ("stdin", _) => "stdin".into(),
        (kind, _) => format!("{kind} {}", source.key),
    };
    match source.line {
        Some(line) => format!("{place}, line {line}"),
        None => place,
    }
}
