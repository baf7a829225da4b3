//! `AWS.CloudTrailInsight`: a CloudTrail Insights event, written by CloudTrail under
//! `AWSLogs/<account>/CloudTrail-Insight/<region>/` in the same `{"Records":[...]}` format as
//! management events (AWS CloudTrail User Guide, "CloudTrail Insights events record
//! contents"): `eventVersion`, `eventTime`, `awsRegion`, `eventID`, `eventType`
//! (`AwsCloudTrailInsight`), `recipientAccountId`, `sharedEventID` (the same for the `Start`
//! and `End` event of one insight), `insightDetails` (`state`, `eventSource`, `eventName`,
//! `insightType`, `insightContext`) and `eventCategory` (`Insight`).
//!
//! Recognised by `eventType` `AwsCloudTrailInsight` or `eventCategory` `Insight`; parsed by
//! the CloudTrail scan (`cloudtrail`), so it gets the same fields: `p_event_time` from
//! `eventTime`, dedup on `eventID`, and the CloudTrail indicators that apply
//! (`recipientAccountId` and any `accountId`, ARNs and instance ids anywhere). The API call an
//! insight is about is under `insightDetails`, not at the top level, so CloudTrail rules
//! (`eventName` at the top) never see these events.

pub(crate) const LOG_TYPE: &str = "AWS.CloudTrailInsight";
/// What an event lacks when it is not one of this log type.
pub(crate) const EXPECTED: &str =
    "no eventType AwsCloudTrailInsight or eventCategory Insight in a CloudTrail record";

/// A top-level `eventType` value that marks an Insights event.
pub(crate) fn is_event_type(value: &str) -> bool {
    value == "AwsCloudTrailInsight"
}

/// A top-level `eventCategory` value that marks an Insights event.
pub(crate) fn is_event_category(value: &str) -> bool {
    value == "Insight"
}
