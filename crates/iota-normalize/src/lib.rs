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
//! per log type (`log_types/cloudtrail.rs` for `AWS.CloudTrail`).
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

use chrono::{DateTime, Utc};

pub use capture::{CapturePlan, Captured};
pub use dedup::DedupWindow;
pub use renormalize::without_standard_fields;

/// Where events come from; becomes `p_source_id` and `p_source_label`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    pub id: String,
    pub label: String,
}

/// Normalizes the events of one source. Shared by reference between decode threads.
pub struct Normalizer {
    /// `,"p_source_id":…,"p_source_label":…`, escaped once rather than per event.
    source_fields: Box<[u8]>,
    row_ids: fields::RowIds,
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
    #[error("unknown log type: no eventVersion, eventSource or eventName field")]
    UnknownLogType,
    /// A log type that is recognised but not processed yet.
    #[error("unsupported log type: {log_type} events are not processed yet")]
    UnsupportedLogType { log_type: &'static str },
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
        }
    }

    /// Classifies `raw` (one JSON object, possibly with surrounding whitespace), computes
    /// its `p_` fields and returns it with them appended.
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
        let json = std::str::from_utf8(raw).map_err(|e| NormalizeError::InvalidJson {
            reason: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        })?;
        // Any other JSON value is parsed no further: it is not an event either way.
        if raw.first().is_some_and(|&b| b != b'{') {
            return Err(NormalizeError::NotAnObject);
        }
        let (classified, captured) = log_types::classify(json, plan)?;
        Ok(ParsedEvent {
            raw,
            classified,
            captured,
        })
    }

    /// The second half of [`Normalizer::normalize`]: the event with its `p_` fields.
    pub fn finish(&self, parsed: ParsedEvent<'_>, parse_time: DateTime<Utc>) -> NormalizedEvent {
        let event = parsed.classified;
        let event_time = event.event_time.unwrap_or(parse_time);
        let indicators = event.indicators.sorted();
        let json = fields::append(
            parsed.raw,
            &fields::Fields {
                log_type: event.log_type,
                event_time: &event_time,
                parse_time: &parse_time,
                row_ids: &self.row_ids,
                source_fields: &self.source_fields,
                indicators: &indicators,
            },
        );
        NormalizedEvent {
            json,
            log_type: event.log_type,
            event_id: event.event_id,
            event_time,
            event_time_fallback: event.event_time.is_none(),
        }
    }
}

/// An event parsed and classified, before its `p_` fields are written.
pub struct ParsedEvent<'a> {
    raw: &'a [u8],
    classified: log_types::Classified<'a>,
    captured: Vec<Captured<'a>>,
}

impl<'a> ParsedEvent<'a> {
    pub fn log_type(&self) -> &'static str {
        self.classified.log_type
    }

    pub fn event_id(&self) -> Option<&str> {
        self.classified.event_id.as_deref()
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
