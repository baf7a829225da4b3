//! `Normalizer::normalize` on real CloudTrail events (tests/data, see SOURCE.txt) and on
//! hand-written edge cases.

use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};
use iota_normalize::{NormalizeError, NormalizedEvent, Normalizer, SourceInfo};
use serde_json::{json, Map, Value};

const EVENTS: &str = include_str!("data/cloudtrail-events.jsonl");

const INDICATOR_FIELDS: [&str; 6] = [
    "p_any_ip_addresses",
    "p_any_aws_account_ids",
    "p_any_aws_arns",
    "p_any_aws_instance_ids",
    "p_any_domain_names",
    "p_any_usernames",
];

fn event(event_id: &str) -> &'static str {
    EVENTS
        .lines()
        .find(|line| line.contains(&format!(r#""eventID":"{event_id}""#)))
        .expect("event in the fixture")
}

fn normalizer() -> Normalizer {
    Normalizer::new(SourceInfo {
        id: "src-1".into(),
        label: "prod trail".into(),
    })
}

fn parse_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(678_901)
}

fn normalize(raw: &str) -> (NormalizedEvent, Map<String, Value>) {
    let event = normalizer()
        .normalize(raw.as_bytes(), parse_time())
        .expect("normalizes");
    let object = match serde_json::from_slice(&event.json).expect("output is valid JSON") {
        Value::Object(object) => object,
        other => panic!("output is not an object: {other}"),
    };
    (event, object)
}

/// The indicator fields present in `object`, as (field, values).
fn indicators(object: &Map<String, Value>) -> Vec<(&'static str, Vec<&str>)> {
    INDICATOR_FIELDS
        .iter()
        .filter_map(|&field| {
            let values = object.get(field)?.as_array().expect("an array");
            Some((
                field,
                values
                    .iter()
                    .map(|v| v.as_str().expect("a string"))
                    .collect(),
            ))
        })
        .collect()
}

#[test]
fn standard_fields_of_a_real_event() {
    let raw = event("3c856bc0-1a07-4c18-89d9-4d9205856714");
    let (event, object) = normalize(raw);

    assert_eq!(event.log_type, "AWS.CloudTrail");
    assert_eq!(
        event.event_id.as_deref(),
        Some("3c856bc0-1a07-4c18-89d9-4d9205856714")
    );
    assert_eq!(
        event.event_time,
        Utc.with_ymd_and_hms(2023, 7, 10, 11, 42, 44).unwrap()
    );
    assert!(!event.event_time_fallback);

    assert_eq!(object["p_log_type"], "AWS.CloudTrail");
    assert_eq!(object["p_event_time"], "2023-07-10 11:42:44.000000");
    assert_eq!(object["p_parse_time"], "2024-01-02 03:04:05.678901");
    assert_eq!(object["p_source_id"], "src-1");
    assert_eq!(object["p_source_label"], "prod trail");
    let row_id = object["p_row_id"].as_str().unwrap();
    assert_eq!(row_id.len(), 28);
    assert!(row_id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

    assert_eq!(
        indicators(&object),
        vec![
            ("p_any_ip_addresses", vec!["10.248.16.43"]),
            ("p_any_aws_account_ids", vec!["123837392027"]),
            (
                "p_any_aws_arns",
                vec![
                    "arn:aws:iam::123837392027:user/benjamin",
                    "arn:aws:s3:::baker221b-bucketssecuritylogsbef08b3e-13nrzhi7fcs7w",
                ]
            ),
            (
                "p_any_domain_names",
                vec!["baker221b-bucketssecuritylogsbef08b3e-13nrzhi7fcs7w.s3.us-east-1.amazonaws.com"]
            ),
            ("p_any_usernames", vec!["benjamin"]),
        ]
    );
}

#[test]
fn p_fields_follow_the_original_bytes_in_order() {
    let raw = event("3c856bc0-1a07-4c18-89d9-4d9205856714");
    let (event, _) = normalize(raw);
    let out = std::str::from_utf8(&event.json).unwrap();

    assert!(out.starts_with(&raw[..raw.len() - 1]));
    let appended = &out[raw.len() - 1..];
    assert!(appended.starts_with(r#","p_log_type":"AWS.CloudTrail","p_event_time":"#));
    assert!(appended.ends_with(r#"]}"#));
    let order = [
        "p_log_type",
        "p_event_time",
        "p_parse_time",
        "p_row_id",
        "p_source_id",
        "p_source_label",
        "p_any_ip_addresses",
        "p_any_aws_account_ids",
        "p_any_aws_arns",
        "p_any_domain_names",
        "p_any_usernames",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|field| appended.find(&format!("\"{field}\":")).expect(field))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{appended}");
}

#[test]
fn every_original_field_is_kept_unchanged() {
    for raw in EVENTS.lines() {
        let original: Map<String, Value> = serde_json::from_str(raw).unwrap();
        let (_, object) = normalize(raw);
        for (key, value) in &original {
            assert_eq!(object.get(key), Some(value), "{key}");
        }
        for key in object.keys().filter(|k| !original.contains_key(*k)) {
            assert!(key.starts_with("p_"), "unexpected field {key}");
        }
        // The fields that are easy to lose in a schema-based pipeline.
        for key in ["userIdentity", "additionalEventData", "tlsDetails"] {
            if raw.contains(&format!("\"{key}\":")) {
                assert_eq!(object[key], original[key]);
            }
        }
    }
}

#[test]
fn assumed_role_event_indicators() {
    // An assumed-role caller: the role session name is a username, the role's name (the
    // session issuer's userName) too. `i-durz4ux740gjqvcm` is not a hex instance id.
    let (_, object) = normalize(event("fbd91225-39aa-4c00-822c-9f0b96e7758f"));
    assert_eq!(
        indicators(&object),
        vec![
            ("p_any_ip_addresses", vec!["192.168.10.20"]),
            ("p_any_aws_account_ids", vec!["123837392027"]),
            (
                "p_any_aws_arns",
                vec![
                    "arn:aws:iam::123837392027:role/stratus-red-team-ec2-get-password-data-role",
                    "arn:aws:sts::123837392027:assumed-role/stratus-red-team-ec2-get-password-data-role/aws-go-sdk-1688990082523310002",
                ]
            ),
            ("p_any_domain_names", vec!["ec2.us-east-1.amazonaws.com"]),
            (
                "p_any_usernames",
                vec![
                    "aws-go-sdk-1688990082523310002",
                    "stratus-red-team-ec2-get-password-data-role",
                ]
            ),
        ]
    );
}

#[test]
fn resources_and_instance_ids() {
    // Credentials of an EC2 instance role used from the instance: resources[] carries an EC2
    // instance ARN, requestParameters the instance id.
    let (_, object) = normalize(event("cee5b78b-b786-4ae9-936c-d169b0c0b61d"));
    assert_eq!(
        indicators(&object),
        vec![
            ("p_any_ip_addresses", vec!["3.225.16.109"]),
            ("p_any_aws_account_ids", vec!["123837392027"]),
            (
                "p_any_aws_arns",
                vec![
                    "arn:aws:ec2:us-east-1:123837392027:instance/i-0dbc91f429e48eeed",
                    "arn:aws:iam::123837392027:role/stratus-red-team-ec2-steal-credentials-role",
                    "arn:aws:ssm:us-east-1:123837392027:association/56fcb26d-8140-4f3f-8f77-7ff7344b4057",
                    "arn:aws:sts::123837392027:assumed-role/stratus-red-team-ec2-steal-credentials-role/i-0dbc91f429e48eeed",
                ]
            ),
            ("p_any_aws_instance_ids", vec!["i-0dbc91f429e48eeed"]),
            ("p_any_domain_names", vec!["ssm.us-east-1.amazonaws.com"]),
            (
                "p_any_usernames",
                vec![
                    "i-0dbc91f429e48eeed",
                    "stratus-red-team-ec2-steal-credentials-role"
                ]
            ),
        ]
    );
}

#[test]
fn aws_service_caller_and_nested_payload() {
    // An AWS service assuming a role: sourceIPAddress is a service host name, the new
    // session's ARN is in responseElements, the role in resources[].
    let (_, object) = normalize(event("a4a7b25e-c2d5-436f-8a7e-ea89f50541ab"));
    assert_eq!(
        indicators(&object),
        vec![
            ("p_any_aws_account_ids", vec!["123837392027"]),
            (
                "p_any_aws_arns",
                vec![
                    "arn:aws:iam::123837392027:role/aws-service-role/inspector2.amazonaws.com/AWSServiceRoleForAmazonInspector2",
                    "arn:aws:sts::123837392027:assumed-role/AWSServiceRoleForAmazonInspector2/MandoService-4719190630289683262",
                ]
            ),
            ("p_any_domain_names", vec!["inspector2.amazonaws.com"]),
        ]
    );

    // RunInstances: the private address and instance id appear several times deep in
    // responseElements arrays, once each in the output.
    let (_, object) = normalize(event("86eac0ac-8521-4126-aa32-a22f2b74d02e"));
    assert_eq!(
        indicators(&object),
        vec![
            ("p_any_ip_addresses", vec!["10.0.1.10", "192.168.10.20"]),
            ("p_any_aws_account_ids", vec!["123837392027"]),
            (
                "p_any_aws_arns",
                vec![
                    "arn:aws:iam::123837392027:instance-profile/stratus-red-team-ec2-steal-credentials-instance",
                    "arn:aws:iam::123837392027:user/bert-jan",
                ]
            ),
            ("p_any_aws_instance_ids", vec!["i-0dbc91f429e48eeed"]),
            ("p_any_domain_names", vec!["ec2.us-east-1.amazonaws.com"]),
            ("p_any_usernames", vec!["bert-jan"]),
        ]
    );

    // A service event without a caller identity.
    let (_, object) = normalize(event("895dc875-cb08-45a5-b8c2-9158838741c0"));
    assert_eq!(
        indicators(&object),
        vec![
            ("p_any_aws_account_ids", vec!["123837392027"]),
            ("p_any_domain_names", vec!["ec2.amazonaws.com"]),
        ]
    );
}

#[test]
fn indicator_value_rules() {
    let raw = json!({
        "eventVersion": "1.08",
        "sourceIPAddress": "2001:db8::1",
        "userIdentity": {"type": "AWSAccount", "accountId": "ANONYMOUS_PRINCIPAL"},
        "tlsDetails": {"clientProvidedHostHeader": "Example.COM:8443"},
        "requestParameters": {
            "a": ["10.0.0.1", "10.0.0.1/32", "10.0.0.1:80", "300.1.1.1", " 10.0.0.2"],
            "b": {"c": "fe80::1"},
            "ids": ["i-1234abcd", "i-1234ABCD", "i-0123456789abcdef0", "i-0123456789abcdef", "xi-1234abcd"],
            "arns": ["arn:aws:s3:::bucket/key", "arn:aws:s3", "arn:aws:iam::999999999999:root"],
            "accountId": "111122223333"
        },
        "serviceEventDetails": {"ip": "10.9.9.9", "deep": [[{"accountId": "444455556666"}]]}
    })
    .to_string();
    let (_, object) = normalize(&raw);
    assert_eq!(
        indicators(&object),
        vec![
            (
                "p_any_ip_addresses",
                vec!["10.0.0.1", "2001:db8::1", "fe80::1"]
            ),
            (
                "p_any_aws_account_ids",
                vec!["111122223333", "444455556666", "999999999999"]
            ),
            (
                "p_any_aws_arns",
                vec!["arn:aws:iam::999999999999:root", "arn:aws:s3:::bucket/key"]
            ),
            (
                "p_any_aws_instance_ids",
                vec!["i-0123456789abcdef0", "i-1234abcd"]
            ),
            ("p_any_domain_names", vec!["Example.COM"]),
        ]
    );

    // "AWS Internal" is neither an address nor a host name; a host header may be an address.
    let raw = r#"{"eventName":"X","sourceIPAddress":"AWS Internal","tlsDetails":{"clientProvidedHostHeader":"10.1.2.3:443"}}"#;
    let (_, object) = normalize(raw);
    assert_eq!(
        indicators(&object),
        vec![("p_any_ip_addresses", vec!["10.1.2.3"])]
    );
}

#[test]
fn escaped_keys_and_values_are_decoded() {
    // `user\u0049dentity` is `userIdentity`; escaped values are decoded before the tests
    // and written back escaped.
    let raw = r#"{"eventName":"X","sourceIPAddress":"10.0.0.\u0031","user\u0049dentity":{"arn":"arn:aws:sts::123456789012:assumed-role\/R\/se\"ss","userName":"bob\\x"}}"#;
    let (event, object) = normalize(raw);
    assert_eq!(
        indicators(&object),
        vec![
            ("p_any_ip_addresses", vec!["10.0.0.1"]),
            ("p_any_aws_account_ids", vec!["123456789012"]),
            (
                "p_any_aws_arns",
                vec!["arn:aws:sts::123456789012:assumed-role/R/se\"ss"]
            ),
            ("p_any_usernames", vec!["bob\\x", "se\"ss"]),
        ]
    );
    // The original escapes are kept as they were.
    assert!(std::str::from_utf8(&event.json)
        .unwrap()
        .starts_with(&raw[..raw.len() - 1]));
}

#[test]
fn event_time_format_and_offsets() {
    let raw = r#"{"eventName":"X","eventTime":"2023-07-10T13:42:36.123456789+02:00"}"#;
    let (event, object) = normalize(raw);
    assert_eq!(object["p_event_time"], "2023-07-10 11:42:36.123456");
    assert!(!event.event_time_fallback);
    assert_eq!(
        event.event_time,
        DateTime::parse_from_rfc3339("2023-07-10T11:42:36.123456789Z").unwrap()
    );

    let raw = r#"{"eventName":"X","eventTime":"0999-01-02T03:04:05.5Z"}"#;
    let (_, object) = normalize(raw);
    assert_eq!(object["p_event_time"], "0999-01-02 03:04:05.500000");

    // A leap second shows as the last microsecond of its second.
    let raw = r#"{"eventName":"X","eventTime":"2016-12-31T23:59:60.5Z"}"#;
    let (_, object) = normalize(raw);
    assert_eq!(object["p_event_time"], "2016-12-31 23:59:59.999999");

    // A parse time beyond year 9999 (only a caller can pass one) keeps all its digits.
    let far = Utc.with_ymd_and_hms(12345, 6, 7, 8, 9, 10).unwrap();
    let event = normalizer()
        .normalize(br#"{"eventName":"X"}"#, far)
        .unwrap();
    let object: Value = serde_json::from_slice(&event.json).unwrap();
    assert_eq!(object["p_parse_time"], "+12345-06-07 08:09:10.000000");
}

#[test]
fn missing_or_invalid_event_time_falls_back_to_parse_time() {
    for raw in [
        r#"{"eventName":"X"}"#,
        r#"{"eventName":"X","eventTime":"yesterday"}"#,
        r#"{"eventName":"X","eventTime":"2023-07-10 11:42:36"}"#,
        r#"{"eventName":"X","eventTime":1688989356}"#,
        r#"{"eventName":"X","eventTime":null}"#,
        r#"{"eventName":"X","nested":{"eventTime":"2023-07-10T11:42:36Z"}}"#,
    ] {
        let (event, object) = normalize(raw);
        assert!(event.event_time_fallback, "{raw}");
        assert_eq!(event.event_time, parse_time(), "{raw}");
        assert_eq!(
            object["p_event_time"], "2024-01-02 03:04:05.678901",
            "{raw}"
        );
        assert_eq!(
            object["p_parse_time"], "2024-01-02 03:04:05.678901",
            "{raw}"
        );
    }
}

#[test]
fn row_ids_are_unique() {
    let raw = event("895dc875-cb08-45a5-b8c2-9158838741c0");
    let first = normalizer();
    let second = normalizer();
    let mut seen = HashSet::new();
    for normalizer in [&first, &second] {
        for _ in 0..10_000 {
            let event = normalizer.normalize(raw.as_bytes(), parse_time()).unwrap();
            let object: Value = serde_json::from_slice(&event.json).unwrap();
            let row_id = object["p_row_id"].as_str().unwrap().to_owned();
            assert!(seen.insert(row_id.clone()), "duplicate p_row_id {row_id}");
        }
    }
    assert_eq!(seen.len(), 20_000);
}

#[test]
fn source_label_is_escaped() {
    let normalizer = Normalizer::new(SourceInfo {
        id: "id \"1\"".into(),
        label: "C:\\trails\\\"org\"\n\u{1}é".into(),
    });
    let event = normalizer
        .normalize(br#"{"eventName":"X"}"#, parse_time())
        .unwrap();
    let object: Value = serde_json::from_slice(&event.json).unwrap();
    assert_eq!(object["p_source_id"], "id \"1\"");
    assert_eq!(object["p_source_label"], "C:\\trails\\\"org\"\n\u{1}é");
}

#[test]
fn surrounding_whitespace_is_trimmed() {
    let raw = event("895dc875-cb08-45a5-b8c2-9158838741c0");
    let padded = format!(" \r\n\t{raw}\n\n ");
    let (event, _) = normalize(&padded);
    let out = std::str::from_utf8(&event.json).unwrap();
    assert!(out.starts_with(&raw[..raw.len() - 1]));
    assert!(out.ends_with('}'));

    // Whitespace inside the object, before its final `}`, is part of the original bytes.
    let (event, object) = normalize("{\"eventName\": \"X\" \n}");
    assert!(event
        .json
        .starts_with(b"{\"eventName\": \"X\" \n,\"p_log_type\":"));
    assert_eq!(object["eventName"], "X");
}

#[test]
fn rejected_events() {
    let normalizer = normalizer();
    let normalize = |raw: &[u8]| normalizer.normalize(raw, parse_time()).unwrap_err();

    for raw in [
        &b"{}"[..],
        b" { } ",
        br#"{"Records":[],"eventname":"x","p_log_type":"AWS.CloudTrail"}"#,
    ] {
        let err = normalize(raw);
        assert!(
            matches!(err, NormalizeError::UnknownLogType { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("unknown log type: no eventVersion, eventSource or eventName field"),
            "{err}"
        );
    }

    assert_eq!(normalize(b"[1]"), NormalizeError::NotAnObject);
    assert_eq!(normalize(b"\"eventName\""), NormalizeError::NotAnObject);
    assert_eq!(normalize(b"[1]").to_string(), "not a JSON object");
    // Anything else that does not start with `{` is a text line of no known format.
    assert!(matches!(
        normalize(b"null"),
        NormalizeError::UnknownLogType { .. }
    ));

    for raw in [
        &b""[..],
        b"   ",
        br#"{eventName:"X"}"#,
        br#"{"eventName":"X""#,
        br#"{"eventName" "X"}"#,
        br#"{"eventName":"X"} {"eventName":"Y"}"#,
        br#"{"eventName":"X"}garbage"#,
        br#"{"eventName":"X",}"#,
        b"{\"eventName\":\"\xff\xfe\"}",
        b"{\"eventName\":\"X\",\"bad\":\"\x01\"}",
    ] {
        match normalize(raw) {
            NormalizeError::InvalidJson { reason } => {
                assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}")
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }
    let message = normalize(br#"{"eventName" "X"}"#).to_string();
    assert!(message.starts_with("invalid JSON: "), "{message}");
    assert!(message.contains("column 14"), "{message}");
    assert_eq!(
        normalize(b"{\"eventName\":\"\xff\"}").to_string(),
        "invalid JSON: invalid UTF-8 at byte 14"
    );
}

#[test]
fn cloudtrail_insights_events_are_recognised_by_either_marker() {
    // As CloudTrail writes them under `CloudTrail-Insight/`: `eventVersion` like any
    // CloudTrail event, but the API call is described under `insightDetails`.
    let insight = r#"{"eventVersion":"1.07","eventTime":"2023-07-10T12:00:00Z","awsRegion":"us-east-1","eventID":"5bd5c1a8-9a4b-4b3c-8f0f-1e2b3c4d5e6f","eventType":"AwsCloudTrailInsight","recipientAccountId":"123837392027","sharedEventID":"1f2e3d4c-5b6a-4789-8a9b-0c1d2e3f4a5b","insightDetails":{"state":"Start","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","insightType":"ApiCallRateInsight","insightContext":{"statistics":{"baseline":{"average":0.01},"insight":{"average":5.0}}}},"eventCategory":"Insight"}"#;
    let (event, object) = normalize(insight);
    assert_eq!(event.log_type, "AWS.CloudTrailInsight");
    assert_eq!(object["p_log_type"], "AWS.CloudTrailInsight");
    assert_eq!(object["p_any_aws_account_ids"], json!(["123837392027"]));
    // Either marker is enough; the same keys with other values are ordinary events.
    for marker in [
        r#""eventType":"AwsCloudTrailInsight""#,
        r#""eventCategory":"Insight""#,
    ] {
        let (event, _) = normalize(&format!(r#"{{"eventVersion":"1.07",{marker}}}"#));
        assert_eq!(event.log_type, "AWS.CloudTrailInsight");
    }
    let (_, object) = normalize(
        r#"{"eventVersion":"1.09","eventType":"AwsApiCall","eventCategory":"Management"}"#,
    );
    assert_eq!(object["p_log_type"], "AWS.CloudTrail");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = |depth: usize| {
        format!(
            r#"{{"eventName":"X","a":{}"i-0123456789abcdef0"{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    // The top-level object and 63 arrays: the deepest accepted.
    let (_, object) = normalize(&deep(63));
    assert_eq!(
        object["p_any_aws_instance_ids"],
        json!(["i-0123456789abcdef0"])
    );

    for depth in [64, 100_000] {
        let err = normalizer()
            .normalize(deep(depth).as_bytes(), parse_time())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid JSON: objects and arrays nested more than 64 levels deep at line 1 column 86"
        );
    }
}

#[test]
fn output_is_valid_json_for_every_fixture_event() {
    for raw in EVENTS.lines() {
        let (event, object) = normalize(raw);
        assert_eq!(event.log_type, "AWS.CloudTrail");
        assert!(event.event_id.is_some());
        assert_eq!(object["p_log_type"], "AWS.CloudTrail");
        for field in INDICATOR_FIELDS {
            if let Some(values) = object.get(field) {
                let values: Vec<&str> = values
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert!(!values.is_empty(), "{field} present but empty");
                assert!(
                    values.windows(2).all(|w| w[0] < w[1]),
                    "{field} not sorted/unique"
                );
            }
        }
    }
}

#[test]
fn normalizer_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Normalizer>();

    let normalizer = normalizer();
    let raw = event("cee5b78b-b786-4ae9-936c-d169b0c0b61d");
    let row_ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..1_000)
                        .map(|_| {
                            let event = normalizer.normalize(raw.as_bytes(), parse_time()).unwrap();
                            let object: Value = serde_json::from_slice(&event.json).unwrap();
                            object["p_row_id"].as_str().unwrap().to_owned()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let unique: HashSet<&String> = row_ids.iter().collect();
    assert_eq!(unique.len(), 4_000);
}
