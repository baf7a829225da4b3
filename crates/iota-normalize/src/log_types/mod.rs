//! Log types: the [`LogType`] trait each one implements (classification, event time, event
//! id, indicators) and [`classify`], which runs them over one event in a single parse.
//!
//! Adding a JSON log type (CloudTrailInsight, GuardDuty) means one module here implementing
//! [`LogType`], scanned in the same pass by [`classify`] and picked by its `finish`, ahead of
//! broader types (an Insight event also has `eventVersion`). Line formats (VPCFlow,
//! S3ServerAccess, ALB) are not JSON and will need their own entry point next to it. Until
//! CloudTrailInsight has its module, `cloudtrail` recognises Insights events so that they are
//! refused ([`NormalizeError::UnsupportedLogType`]) instead of passing for `AWS.CloudTrail`.

mod cloudtrail;

use chrono::{DateTime, Utc};

use crate::capture::{CapturePlan, Captured, Captures};
use crate::indicators::Indicators;
use crate::walk::{walk, Both, Sink};
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

/// One log type, fed by the streaming parse of an event (see `walk`): it sees every key and
/// value as a [`Sink`] and says at the end whether the event was one of its own.
pub(crate) trait LogType<'de>: Sink<'de> {
    /// After the whole event was parsed: `Some` when it is of this log type.
    fn finish(self) -> Option<Classified<'de>>;
}

/// Parses `json` (one JSON object, UTF-8 already checked) once and returns what the log type
/// that recognises it found, and the values of the fields `plan` asks for.
pub(crate) fn classify<'de>(
    json: &'de str,
    plan: &CapturePlan,
) -> Result<(Classified<'de>, Vec<Captured<'de>>), NormalizeError> {
    let mut cloudtrail = cloudtrail::CloudTrail::default();
    let mut captures = Captures::new(plan);
    walk(json, &mut Both(&mut cloudtrail, &mut captures)).map_err(NormalizeError::invalid_json)?;
    if cloudtrail.is_insight() {
        return Err(NormalizeError::UnsupportedLogType {
            log_type: "AWS.CloudTrailInsight",
        });
    }
    let classified = cloudtrail.finish().ok_or(NormalizeError::UnknownLogType)?;
    Ok((classified, captures.into_values()))
}
