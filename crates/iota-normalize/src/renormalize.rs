//! Normalizing an event a second time: an event read back from a data lake is the original
//! event plus the `p_` fields of its first normalization. Those are dropped here, so that
//! [`crate::Normalizer`] computes them afresh and each is written once; rules then see the
//! event exactly as they would have live.

use std::borrow::Cow;

use crate::{fields, NormalizeError};

/// `raw` without its top-level `p_` fields (nested ones belong to the original event and are
/// kept), the other fields in their order. Borrowed when there is nothing to drop, including
/// input that is not a JSON object, which [`crate::Normalizer::parse`] then reports.
pub fn without_standard_fields(raw: &[u8]) -> Result<Cow<'_, [u8]>, NormalizeError> {
    let raw = raw.trim_ascii();
    if raw.first() != Some(&b'{') || !raw.windows(3).any(|w| w == b"\"p_") {
        return Ok(Cow::Borrowed(raw));
    }
    let json = std::str::from_utf8(raw).map_err(|e| NormalizeError::InvalidJson {
        reason: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
    })?;
    let mut out = Vec::with_capacity(raw.len());
    out.push(b'{');
    for entry in sonic_rs::to_object_iter(json) {
        let (key, value) = entry.map_err(NormalizeError::invalid_json)?;
        if key.starts_with("p_") {
            continue;
        }
        if out.len() > 1 {
            out.push(b',');
        }
        fields::write_str(&mut out, &key);
        out.push(b':');
        out.extend_from_slice(value.as_raw_str().as_bytes());
    }
    out.push(b'}');
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    use super::*;
    use crate::{Normalizer, SourceInfo};

    const EVENT: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice","p_note":"kept"},"eventTime":"2024-03-05T10:11:12Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","eventID":"e-1","recipientAccountId":"123456789012"}"#;

    /// `raw` normalized as read from `label`, parsed back.
    fn normalize(raw: &[u8], label: &str) -> Value {
        let normalizer = Normalizer::new(SourceInfo {
            id: "iota".into(),
            label: label.into(),
        });
        let parse_time = Utc.with_ymd_and_hms(2024, 3, 5, 10, 20, 0).unwrap();
        let event = normalizer.normalize(raw, parse_time).unwrap();
        serde_json::from_slice(&event.json).unwrap()
    }

    #[test]
    fn a_normalized_event_normalizes_again_with_the_same_fields_each_once() {
        let lake_event =
            serde_json::to_vec(&normalize(EVENT.as_bytes(), "AWSLogs/x.json.gz")).unwrap();
        let restored = without_standard_fields(&lake_event).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&restored).unwrap(),
            serde_json::from_str::<Value>(EVENT).unwrap(),
            "the original event, field for field"
        );
        let text = std::str::from_utf8(&restored).unwrap();
        assert_eq!(
            text.matches("\"p_").count(),
            1,
            "only the nested p_note is left: {text}"
        );

        let first: Value = serde_json::from_slice(&lake_event).unwrap();
        let again = normalize(&restored, "logs/aws_cloudtrail/x.json.gz");
        for key in [
            "p_log_type",
            "p_event_time",
            "p_any_ip_addresses",
            "p_any_aws_arns",
            "p_any_usernames",
        ] {
            assert!(!first[key].is_null(), "{key}");
            assert_eq!(again[key], first[key], "{key}");
        }
        let written = std::str::from_utf8(
            &Normalizer::new(SourceInfo {
                id: "iota".into(),
                label: "l".into(),
            })
            .normalize(&restored, Utc::now())
            .unwrap()
            .json,
        )
        .unwrap()
        .to_owned();
        assert_eq!(written.matches("\"p_log_type\"").count(), 1, "{written}");
    }

    #[test]
    fn events_without_standard_fields_are_borrowed_unchanged() {
        let plain = EVENT.replace(r#","p_note":"kept""#, "");
        assert!(matches!(
            without_standard_fields(plain.as_bytes()).unwrap(),
            Cow::Borrowed(b) if b == plain.as_bytes()
        ));
        // Only a nested p_ key: the same fields, in their order.
        assert_eq!(
            &*without_standard_fields(EVENT.as_bytes()).unwrap(),
            EVENT.as_bytes()
        );
        assert!(matches!(
            without_standard_fields(b"[\"p_log_type\"]").unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn keys_are_written_back_escaped() {
        let raw = br#"{"p_row_id":"1","a\"b":1,"c\\d":[1,2],"p_log_type":"AWS.CloudTrail"}"#;
        let restored = without_standard_fields(raw).unwrap();
        assert_eq!(&*restored, br#"{"a\"b":1,"c\\d":[1,2]}"#);
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert!(matches!(
            without_standard_fields(br#"{"p_row_id":"1","a":}"#),
            Err(NormalizeError::InvalidJson { .. })
        ));
    }
}
