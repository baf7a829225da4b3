//! The alert as a JSON value that fits a receiver's size limit: when the whole alert is too
//! large, its `event` (almost always the bulk of it) is replaced by a note, so that the
//! receiver still gets every other field instead of refusing the delivery for good.

use iota_alerts::Alert;
use serde_json::{json, Value};

pub(crate) fn alert_value(alert: &Alert, max_bytes: usize) -> Value {
    let mut value = serde_json::to_value(alert).expect("an alert always serializes");
    let size = serde_json::to_vec(&value).map_or(0, |bytes| bytes.len());
    if size > max_bytes {
        value["event"] = json!({
            "iota_truncated": true,
            "reason": format!(
                "the alert is {size} bytes, over this output's limit of {max_bytes}; \
                 `iota alerts show {}` has the event",
                alert.id
            ),
        });
    }
    value
}
