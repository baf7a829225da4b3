//! Normalization: one raw JSON event (bytes from `iota-decode`) becomes a normalized event:
//! its log type is classified, the Panther-style `p_` standard fields are computed and
//! appended to the original bytes (no original field is dropped or rewritten), and duplicate
//! `eventID`s are recognised within a bounded window ([`DedupWindow`]).
//!
//! [`Normalizer::normalize`] parses each event exactly once, streaming (sonic-rs, no document
//! tree), and appends, in this order: `p_log_type`, `p_event_time`, `p_parse_time`
//! (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC), `p_row_id`, `p_source_id`, `p_source_label`, then
//! the indicator arrays that are not empty (sorted, unique): `p_any_ip_addresses`,
//! `p_any_aws_account_ids`, `p_any_aws_arns`, `p_any_aws_instance_ids`,
//! `p_any_domain_names`, `p_any_usernames`. Which values become indicators is documented
//! per log type (`log_types/cloudtrail.rs` for `AWS.CloudTrail`, and so on).
//!
//! A record is either a JSON object (CloudTrail, CloudTrail Insights, GuardDuty) or, for the
//! text line formats (VPC flow logs, S3 server access logs, ALB access logs), one line, which
//! becomes a JSON object with the format's field names before its `p_` fields are appended.
//!
//! Layout: `walk` (the streaming parse), `log_types/` (one module per log type: what it
//! recognises and extracts), `indicators` (collection and AWS value tests), `fields` (the
//! `p_` values and writing them), `dedup` (the eventID window), `renormalize` (events read
//! back from a data lake, whose `p_` fields are computed again).

mod capture;
mod dedup;
mod fields;
mod indicators;
mod log_types;
mod renormalize;
mod walk;

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

pub use capture::{CapturePlan, Captured};
pub use dedup::DedupWindow;
pub use log_types::{LogType, UnknownLogTypeName};
pub use renormalize::without_standard_fields;

/// Where events come from; becomes `p_source_id` and `p_source_label`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    pub id: String,
    pub label: String,
}

/// Normalizes the events of one input (a file, an object, stdin): the header line of a VPC
/// flow log file sets how the lines after it are read, so each input needs its own.
pub struct Normalizer {
    /// `,"p_source_id":…,"p_source_label":…`, escaped once rather than per event.
    source_fields: Box<[u8]>,
    row_ids: fields::RowIds,
    /// The log type every record must be, when the user imposed one.
    forced: Option<LogType>,
    /// What the text lines seen so far declared (a VPC flow log header).
    lines: Mutex<log_types::LineContext>,
}

/// One event with its `p_` fields.
#[derive(Debug, Clone)]
pub struct NormalizedEvent {
    /// The original object (surrounding whitespace trimmed) with the `p_` fields appended
    /// before its final `}`.
    pub json: Vec<u8>,
    /// `p_log_type`, e.g. `AWS.CloudTrail`.
    pub log_type: &'static str,
    /// `eventID`, for [`DedupWindow`].
    pub event_id: Option<String>,
    /// `p_event_time`: the event's own time, or the parse time when it has none.
    pub event_time: DateTime<Utc>,
    /// The event's time was missing or invalid, so `event_time` is the parse time.
    pub event_time_fallback: bool,
}

/// Why an event could not be normalized; the message is meant for the user.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("invalid JSON: {reason}")]
    InvalidJson { reason: String },
    #[error("not a JSON object")]
    NotAnObject,
    #[error("unknown log type: {reason}")]
    UnknownLogType { reason: String },
    /// The record is not of the log type the user imposed (`--log-type`).
    #[error("not an {log_type} event: {reason}")]
    NotOfLogType { log_type: LogType, reason: String },
    /// The header line of a text format (VPC flow logs' field names): not an event, and not
    /// an error either; the lines after it are read with it.
    #[error("the header line of an {log_type} file (the names of its fields), not an event")]
    HeaderLine { log_type: LogType },
}

impl NormalizeError {
    fn invalid_json(err: sonic_rs::Error) -> Self {
        // sonic-rs appends an excerpt of the input on further lines: keep the first line,
        // ("... at line 1 column 57"), since event content does not belong in error reports.
        let message = err.to_string();
        let reason = message.lines().next().unwrap_or_default().to_owned();
        NormalizeError::InvalidJson { reason }
    }
}

impl Normalizer {
    pub fn new(source: SourceInfo) -> Self {
        Self {
            source_fields: fields::source_fields(&source.id, &source.label),
            row_ids: fields::RowIds::new(),
            forced: None,
            lines: Mutex::default(),
        }
    }

    /// Every record must be of `log_type` (`None`: classified by content, the default); a
    /// record that is not is refused with [`NormalizeError::NotOfLogType`].
    pub fn with_log_type(mut self, log_type: Option<LogType>) -> Self {
        self.forced = log_type;
        self
    }

    /// Classifies `raw` (one JSON object or one text line, possibly with surrounding
    /// whitespace), computes its `p_` fields and returns it with them appended.
    pub fn normalize(
        &self,
        raw: &[u8],
        parse_time: DateTime<Utc>,
    ) -> Result<NormalizedEvent, NormalizeError> {
        let parsed = self.parse(raw, &CapturePlan::default())?;
        Ok(self.finish(parsed, parse_time))
    }

    /// The first half of [`Normalizer::normalize`]: parses and classifies `raw` and captures
    /// the fields `plan` names, so a caller can decide whether the event goes on before
    /// paying for [`Normalizer::finish`].
    pub fn parse<'a>(
        &self,
        raw: &'a [u8],
        plan: &CapturePlan,
    ) -> Result<ParsedEvent<'a>, NormalizeError> {
        let raw = raw.trim_ascii();
        let text = std::str::from_utf8(raw).map_err(|e| NormalizeError::InvalidJson {
            reason: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        })?;
        match raw.first() {
            // Empty input goes to the JSON parser, which says what is missing.
            Some(b'{') | None => {
                let (classified, captured) = log_types::classify_json(text, plan, self.forced)?;
                Ok(ParsedEvent {
                    raw: Cow::Borrowed(raw),
                    classified,
                    captured,
                })
            }
            // A JSON array or string is parsed no further: it is not an event either way (and
            // no text log format starts like one).
            Some(b'[' | b'"') => Err(NormalizeError::NotAnObject),
            Some(_) => self.parse_line(text, plan),
        }
    }

    /// A text line: classified, written as JSON, and that JSON parsed for the captures.
    fn parse_line(
        &self,
        line: &str,
        plan: &CapturePlan,
    ) -> Result<ParsedEvent<'static>, NormalizeError> {
        let mut context = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        let event = match log_types::classify_line(line, &mut context, self.forced)? {
            log_types::Line::Header(log_type) => {
                return Err(NormalizeError::HeaderLine { log_type })
            }
            log_types::Line::Event(event) => event,
        };
        drop(context);
        let json = std::str::from_utf8(&event.json).expect("written as UTF-8");
        let captured = capture::capture_owned(json, plan).map_err(NormalizeError::invalid_json)?;
        Ok(ParsedEvent {
            classified: log_types::Classified {
                log_type: event.log_type,
                event_id: None,
                id_is_unique: false,
                event_time: event.event_time,
                indicators: event.indicators,
            },
            raw: Cow::Owned(event.json),
            captured,
        })
    }

    /// The second half of [`Normalizer::normalize`]: the event with its `p_` fields.
    pub fn finish(&self, parsed: ParsedEvent<'_>, parse_time: DateTime<Utc>) -> NormalizedEvent {
        let event = parsed.classified;
        let event_time = event.event_time.unwrap_or(parse_time);
        let indicators = event.indicators.sorted();
        let json = fields::append(
            &parsed.raw,
            &fields::Fields {
                log_type: event.log_type.name(),
                event_time: &event_time,
                parse_time: &parse_time,
                row_ids: &self.row_ids,
                source_fields: &self.source_fields,
                indicators: &indicators,
            },
        );
        NormalizedEvent {
            json,
            log_type: event.log_type.name(),
            event_id: event.event_id,
            event_time,
            event_time_fallback: event.event_time.is_none(),
        }
    }
}

/// An event parsed and classified, before its `p_` fields are written.
pub struct ParsedEvent<'a> {
    /// The input's bytes for a JSON record; the JSON written for a text line.
    raw: Cow<'a, [u8]>,
    classified: log_types::Classified<'a>,
    captured: Vec<Captured<'a>>,
}

impl<'a> ParsedEvent<'a> {
    pub fn log_type(&self) -> &'static str {
        self.classified.log_type.name()
    }

    pub fn kind(&self) -> LogType {
        self.classified.log_type
    }

    /// The event's own id (CloudTrail `eventID`, GuardDuty finding `id`), if it has one.
    pub fn event_id(&self) -> Option<&str> {
        self.classified.event_id.as_deref()
    }

    /// The key under which a second copy of this event is a duplicate ([`DedupWindow`]):
    /// the event id, for log types whose id is unique per event.
    pub fn dedup_key(&self) -> Option<&str> {
        self.classified
            .event_id
            .as_deref()
            .filter(|_| self.classified.id_is_unique)
    }

    /// The event's own time; `None` when missing or invalid (the parse time is used then).
    pub fn event_time(&self) -> Option<DateTime<Utc>> {
        self.classified.event_time
    }

    /// The values of the capture plan's paths, in its order.
    pub fn captured(&self) -> &[Captured<'a>] {
        &self.captured
    }
}
