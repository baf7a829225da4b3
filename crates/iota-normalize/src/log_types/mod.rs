//! Log types: which ones iota knows ([`LogType`]), how an event is recognised as one of them,
//! and what each contributes (event time, unique id, indicators). One module per log type;
//! adding one means its module and its entry in [`LogType`] and the two registries below
//! ([`classify_json`] for JSON records, [`classify_line`] for text lines).
//!
//! JSON records (`AWS.CloudTrail`, `AWS.CloudTrailInsight`, `AWS.GuardDuty`) are parsed once,
//! streaming, by [`walk`]: the log type's scan ([`JsonScan`]) and the prefilter's captures see
//! every key and value in that one pass. Which scan runs is decided from the record's first
//! key, the key each producer writes first (CloudTrail `eventVersion`, GuardDuty
//! `schemaVersion`), so that a CloudTrail event pays for one scan only; a record whose first
//! key says nothing (keys sorted by some tool) is scanned by every JSON log type at once, in
//! the same single pass. Only a record whose first key misleads (`schemaVersion` first, but
//! no GuardDuty finding) is parsed a second time.
//!
//! Text lines (`AWS.VPCFlow`, `AWS.S3ServerAccess`, `AWS.ALB`) are split into fields by
//! `text` and turned into a JSON object with the format's field names (Panther's), so that
//! rules, outputs and the data lake see them like any JSON event. A VPC flow log file starts
//! with a header line naming its fields; it sets the layout of the lines after it
//! ([`LineContext`]).

mod alb;
mod cloudtrail;
mod cloudtrail_insight;
mod guardduty;
mod s3_server_access;
mod text;
mod vpcflow;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::capture::{CapturePlan, Captured, Captures};
use crate::indicators::Indicators;
use crate::walk::{walk, Both, Sink};
use crate::NormalizeError;

use text::TextEvent;

/// A log type iota can classify and normalize: the value of `p_log_type`, and what rules
/// name in their `LogTypes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogType {
    CloudTrail,
    CloudTrailInsight,
    VpcFlow,
    GuardDuty,
    S3ServerAccess,
    Alb,
}

impl LogType {
    pub const ALL: [LogType; 6] = [
        LogType::CloudTrail,
        LogType::CloudTrailInsight,
        LogType::VpcFlow,
        LogType::GuardDuty,
        LogType::S3ServerAccess,
        LogType::Alb,
    ];

    /// The `p_log_type` value, e.g. `AWS.VPCFlow`.
    pub fn name(self) -> &'static str {
        match self {
            LogType::CloudTrail => cloudtrail::LOG_TYPE,
            LogType::CloudTrailInsight => cloudtrail_insight::LOG_TYPE,
            LogType::VpcFlow => vpcflow::LOG_TYPE,
            LogType::GuardDuty => guardduty::LOG_TYPE,
            LogType::S3ServerAccess => s3_server_access::LOG_TYPE,
            LogType::Alb => alb::LOG_TYPE,
        }
    }

    /// The field `p_event_time` is taken from, as users know it (for messages).
    pub fn time_field(self) -> &'static str {
        match self {
            LogType::CloudTrail | LogType::CloudTrailInsight => "eventTime",
            LogType::VpcFlow => vpcflow::TIME_FIELD,
            LogType::GuardDuty => guardduty::TIME_FIELD,
            LogType::S3ServerAccess => s3_server_access::TIME_FIELD,
            LogType::Alb => alb::TIME_FIELD,
        }
    }

    fn is_json(self) -> bool {
        matches!(
            self,
            LogType::CloudTrail | LogType::CloudTrailInsight | LogType::GuardDuty
        )
    }
}

impl fmt::Display for LogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`LogType::ALL`].
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("unknown log type {name:?}; iota reads {}", known_names())]
pub struct UnknownLogTypeName {
    pub name: String,
}

fn known_names() -> String {
    LogType::ALL.map(LogType::name).join(", ")
}

impl FromStr for LogType {
    type Err = UnknownLogTypeName;

    /// The exact `p_log_type` name (`AWS.VPCFlow`), ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownLogTypeName { name: s.to_owned() })
    }
}

/// What a log type learned from one event it recognised.
pub(crate) struct Classified<'de> {
    pub(crate) log_type: LogType,
    /// The event's own id (CloudTrail `eventID`, GuardDuty finding `id`), shown with alerts.
    pub(crate) event_id: Option<String>,
    /// `event_id` identifies this one event, so a second event with it is a duplicate (not
    /// so for a GuardDuty finding id, which every update of the finding repeats).
    pub(crate) id_is_unique: bool,
    /// `None` when the event has no usable time; the parse time is used instead.
    pub(crate) event_time: Option<DateTime<Utc>>,
    pub(crate) indicators: Indicators<'de>,
}

/// The scan of a JSON log type, fed by the streaming parse of an event (see `walk`): it sees
/// every key and value as a [`Sink`] and says at the end whether the event was one of its own.
pub(crate) trait JsonScan<'de>: Sink<'de> + Default {
    /// After the whole event was parsed: `Some` when it is of this log type. `forced` is the
    /// log type the user imposed, if any (CloudTrail then takes Insights events as its own).
    fn finish(self, forced: Option<LogType>) -> Option<Classified<'de>>;
}

/// Parses `json` (one JSON object, UTF-8 already checked) once and returns what the log type
/// that recognises it found, and the values of the fields `plan` asks for. With `forced`,
/// only that log type is tried.
pub(crate) fn classify_json<'de>(
    json: &'de str,
    plan: &CapturePlan,
    forced: Option<LogType>,
) -> Result<(Classified<'de>, Vec<Captured<'de>>), NormalizeError> {
    let hinted = match forced {
        Some(forced) if !forced.is_json() => {
            return Err(NormalizeError::NotOfLogType {
                log_type: forced,
                reason: "it is JSON, and this log type is a text line format".into(),
            })
        }
        Some(forced) => Some(forced),
        None => match first_key(json) {
            Some(cloudtrail::FIRST_KEY) => Some(LogType::CloudTrail),
            Some(guardduty::FIRST_KEY) => Some(LogType::GuardDuty),
            _ => None,
        },
    };
    let mut captures = Captures::new(plan);
    let classified = match hinted {
        Some(LogType::GuardDuty) => scan::<guardduty::GuardDuty>(json, &mut captures, forced)?,
        Some(_) => scan::<cloudtrail::CloudTrail>(json, &mut captures, forced)?,
        None => None,
    };
    let classified = match (classified, forced) {
        (None, None) => {
            // No hint, or one the record did not live up to (a CloudTrail hint always does:
            // `eventVersion` is what classifies): every JSON log type in one pass.
            captures = Captures::new(plan);
            let mut cloudtrail = cloudtrail::CloudTrail::default();
            let mut guardduty = guardduty::GuardDuty::default();
            walk(
                json,
                &mut Both(&mut cloudtrail, &mut Both(&mut guardduty, &mut captures)),
            )
            .map_err(NormalizeError::invalid_json)?;
            cloudtrail.finish(None).or_else(|| guardduty.finish(None))
        }
        (classified, _) => classified,
    };
    match (classified, forced) {
        (Some(classified), _) => Ok((classified, captures.into_values())),
        (None, Some(log_type)) => Err(NormalizeError::NotOfLogType {
            log_type,
            reason: match log_type {
                LogType::GuardDuty => guardduty::EXPECTED.into(),
                LogType::CloudTrailInsight => cloudtrail_insight::EXPECTED.into(),
                _ => cloudtrail::EXPECTED.into(),
            },
        }),
        (None, None) => Err(NormalizeError::UnknownLogType {
            reason: format!(
                "{} (AWS.CloudTrail), and {} (AWS.GuardDuty)",
                cloudtrail::EXPECTED,
                guardduty::EXPECTED
            ),
        }),
    }
}

/// One parse of `json` by the scan `S` and the captures.
fn scan<'de, S: JsonScan<'de>>(
    json: &'de str,
    captures: &mut Captures<'_, 'de>,
    forced: Option<LogType>,
) -> Result<Option<Classified<'de>>, NormalizeError> {
    let mut scan = S::default();
    walk(json, &mut Both(&mut scan, captures)).map_err(NormalizeError::invalid_json)?;
    Ok(scan.finish(forced))
}

/// The first key of a JSON object, when it is a plain string (no escapes) near the start.
/// Only a hint: a wrong or missing answer costs a parse, never correctness.
fn first_key(json: &str) -> Option<&str> {
    let rest = json.strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest
        .bytes()
        .take(32)
        .position(|b| b == b'"' || b == b'\\')?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

/// What the lines of one input have declared so far: the layout a VPC flow log header line
/// set for the lines after it.
#[derive(Debug, Default)]
pub(crate) struct LineContext {
    vpcflow: Option<vpcflow::Layout>,
}

/// One text line classified: a header (no event) or an event written as JSON.
pub(crate) enum Line {
    /// A header line (VPC flow logs' field names); it is not an event.
    Header(LogType),
    Event(TextEvent),
}

/// Classifies one text line (not JSON; no line break) and turns it into a JSON event with
/// the format's field names. With `forced`, only that log type is tried.
pub(crate) fn classify_line(
    line: &str,
    context: &mut LineContext,
    forced: Option<LogType>,
) -> Result<Line, NormalizeError> {
    let fields = text::split(line).map_err(|reason| match forced {
        Some(log_type) => NormalizeError::NotOfLogType { log_type, reason },
        None => NormalizeError::UnknownLogType { reason },
    })?;
    let attempt = |log_type: LogType, context: &mut LineContext| match log_type {
        LogType::VpcFlow => vpcflow::parse(&fields, &mut context.vpcflow),
        LogType::S3ServerAccess => s3_server_access::parse(&fields),
        LogType::Alb => alb::parse(&fields),
        other => Err(format!("{other} events are JSON objects, not text lines")),
    };
    if let Some(log_type) = forced {
        return attempt(log_type, context)
            .map_err(|reason| NormalizeError::NotOfLogType { log_type, reason });
    }
    let mut reasons = Vec::new();
    for log_type in [LogType::VpcFlow, LogType::S3ServerAccess, LogType::Alb] {
        match attempt(log_type, context) {
            Ok(line) => return Ok(line),
            Err(reason) => reasons.push(format!("{log_type}: {reason}")),
        }
    }
    Err(NormalizeError::UnknownLogType {
        reason: format!(
            "not JSON, and not a line of a text log format ({})",
            reasons.join("; ")
        ),
    })
}
