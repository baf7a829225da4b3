//! Log types: the [`LogType`] trait each one implements (classification, event time, event
//! id, indicators) and [`classify`], which runs them over one event in a single parse.
//!
//! Adding a JSON log type (CloudTrailInsight, GuardDuty) means one module here implementing
//! [`LogType`], scanned in the same pass by [`classify`] and picked by its `finish`, ahead of
//! broader types (an Insight event also has `eventVersion`). Line formats (VPCFlow,
//! S3ServerAccess, ALB) are not JSON and will need their own entry point next to it.

mod cloudtrail;

use chrono::{DateTime, Utc};

use crate::indicators::Indicators;
use crate::walk::{walk, Text};
use crate::NormalizeError;

/// What a log type learned from one event it recognised.
pub(crate) struct Classified<'de> {
    /// The `p_log_type` value.
    pub(crate) log_type: &'static str,
    pub(crate) event_id: Option<String>,
    /// `None` when the event has no usable time; the parse time is used instead.
    pub(crate) event_time: Option<DateTime<Utc>>,
    pub(crate) indicators: Indicators<'de>,
}

/// One log type, fed by the streaming parse of an event (see `walk`).
///
/// The parser tells it the key of every value it enters ([`LogType::child`]) and every string
/// leaf ([`LogType::string`]). `Ctx` is the log type's own small `Copy` notion of "where am
/// I" (e.g. "inside `userIdentity.sessionContext`"), handed back with each value, so that
/// paths are recognised without the parser allocating or remembering them.
pub(crate) trait LogType<'de> {
    type Ctx: Copy;

    /// The context of the top-level object.
    fn root() -> Self::Ctx;

    /// The context of the value under `key` in an object whose context is `parent`.
    fn child(&mut self, parent: Self::Ctx, key: &str) -> Self::Ctx;

    /// The context of the elements of an array whose context is `parent`.
    fn element(&mut self, parent: Self::Ctx) -> Self::Ctx;

    /// A string value.
    fn string(&mut self, ctx: Self::Ctx, value: Text<'de, '_>);

    /// After the whole event was parsed: `Some` when it is of this log type.
    fn finish(self) -> Option<Classified<'de>>;
}

/// Parses `json` (one JSON object, UTF-8 already checked) once and returns what the log type
/// that recognises it found.
pub(crate) fn classify(json: &str) -> Result<Classified<'_>, NormalizeError> {
    let mut cloudtrail = cloudtrail::CloudTrail::default();
    walk(json, &mut cloudtrail).map_err(NormalizeError::invalid_json)?;
    cloudtrail.finish().ok_or(NormalizeError::UnknownLogType)
}
