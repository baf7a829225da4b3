//! Every log type on the hand-written samples of `data/log-types` (see its README): how each
//! record is classified, the JSON a text line becomes, `p_event_time`, the indicators, which
//! ids deduplicate, `with_log_type`, and what is refused.

use chrono::{DateTime, TimeZone, Utc};
use iota_normalize::{LogType, NormalizeError, NormalizedEvent, Normalizer, SourceInfo};
use serde_json::{json, Map, Value};

fn sample(name: &str) -> String {
    let path = format!("{}/tests/data/log-types/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn normalizer(forced: Option<LogType>) -> Normalizer {
    Normalizer::new(SourceInfo {
        id: "src".into(),
        label: "sample".into(),
    })
    .with_log_type(forced)
}

fn parse_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()
}

/// A normalized event and its JSON.
struct Event {
    event: NormalizedEvent,
    object: Map<String, Value>,
}

impl Event {
    fn get(&self, key: &str) -> &Value {
        self.object.get(key).unwrap_or(&Value::Null)
    }

    fn strings(&self, key: &str) -> Vec<&str> {
        match self.object.get(key) {
            Some(Value::Array(values)) => values.iter().map(|v| v.as_str().unwrap()).collect(),
            None => Vec::new(),
            other => panic!("{key}: {other:?}"),
        }
    }
}

/// Every line of a text sample through one normalizer (one input), header lines skipped.
fn lines(name: &str) -> Vec<Event> {
    let normalizer = normalizer(None);
    sample(name)
        .lines()
        .filter_map(
            |line| match normalizer.normalize(line.as_bytes(), parse_time()) {
                Ok(event) => Some(to_event(event)),
                Err(NormalizeError::HeaderLine { log_type }) => {
                    assert_eq!(log_type, LogType::VpcFlow);
                    None
                }
                Err(err) => panic!("{name}: {line}: {err}"),
            },
        )
        .collect()
}

/// Every record of a JSON sample (`{"Records":[...]}` or JSON lines).
fn records(name: &str) -> Vec<Event> {
    let text = sample(name);
    let records: Vec<Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(mut file)) => match file.remove("Records") {
            Some(Value::Array(records)) => records,
            _ => panic!("{name}: no Records"),
        },
        _ => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    };
    records
        .iter()
        .map(|record| {
            let raw = serde_json::to_vec(record).unwrap();
            to_event(normalizer(None).normalize(&raw, parse_time()).unwrap())
        })
        .collect()
}

fn to_event(event: NormalizedEvent) -> Event {
    let object = match serde_json::from_slice(&event.json) {
        Ok(Value::Object(object)) => object,
        other => panic!("not a JSON object: {other:?}"),
    };
    Event { event, object }
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn cloudtrail_records() {
    let events = records("cloudtrail.json");
    assert_eq!(events.len(), 2);
    for e in &events {
        assert_eq!(e.event.log_type, "AWS.CloudTrail");
        assert_eq!(e.get("p_log_type"), "AWS.CloudTrail");
    }
    assert_eq!(e_time(&events[1]), "2023-11-10 22:21:00.000000");
    assert_eq!(events[1].strings("p_any_ip_addresses"), ["203.0.113.200"]);
    assert_eq!(
        events[0].event.event_id.as_deref(),
        Some("e1f2a3b4-0000-4000-8000-000000000001")
    );
}

fn e_time(e: &Event) -> &str {
    e.get("p_event_time").as_str().unwrap()
}

#[test]
fn cloudtrail_insights_events_are_their_own_log_type() {
    let events = records("cloudtrail-insight.json");
    assert_eq!(events.len(), 2);
    let start = &events[0];
    assert_eq!(start.event.log_type, "AWS.CloudTrailInsight");
    assert_eq!(start.get("p_log_type"), "AWS.CloudTrailInsight");
    assert_eq!(start.event.event_time, time("2023-11-10T22:25:00Z"));
    assert_eq!(events[1].event.event_time, time("2023-11-10T22:40:00Z"));
    assert_eq!(start.get("insightDetails")["state"], "Start");
    assert_eq!(start.strings("p_any_aws_account_ids"), ["123456789012"]);
    assert_eq!(
        start.strings("p_any_aws_arns"),
        [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:user/ci"
        ]
    );
    // eventID is unique per Insights event: a second copy is a duplicate.
    let raw = serde_json::to_vec(&start.object).unwrap();
    let parsed = normalizer(None).parse(&raw, &Default::default()).unwrap();
    assert_eq!(
        parsed.dedup_key(),
        Some("c0ffee00-0000-4000-8000-000000000001")
    );
}

#[test]
fn vpc_flow_default_format_with_its_header_line() {
    let events = lines("vpcflow-default.log");
    assert_eq!(events.len(), 3, "the header line is not an event");
    let probe = &events[0];
    assert_eq!(probe.event.log_type, "AWS.VPCFlow");
    let mut expected = json!({
        "version": 2, "accountId": "123456789012", "interfaceId": "eni-0a1b2c3d4e5f60718",
        "srcAddr": "203.0.113.12", "dstAddr": "10.0.1.25", "srcPort": 51544, "dstPort": 22,
        "protocol": 6, "packets": 12, "bytes": 2400, "start": 1699999980, "end": 1700000040,
        "action": "REJECT", "logStatus": "OK"
    });
    let original: Map<String, Value> = probe
        .object
        .iter()
        .filter(|(k, _)| !k.starts_with("p_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(Value::Object(original), expected.take());
    assert_eq!(probe.event.event_time, time("2023-11-14T22:13:00Z"));
    assert_eq!(e_time(probe), "2023-11-14 22:13:00.000000");
    assert_eq!(
        probe.strings("p_any_ip_addresses"),
        ["10.0.1.25", "203.0.113.12"]
    );
    assert_eq!(probe.strings("p_any_aws_account_ids"), ["123456789012"]);
    assert_eq!(probe.event.event_id, None, "flow records have no id");

    // NODATA: fields without a value are left out.
    let nodata = &events[2];
    assert_eq!(nodata.get("logStatus"), "NODATA");
    assert!(nodata.object.get("srcAddr").is_none() && nodata.object.get("action").is_none());
    assert!(nodata.object.get("p_any_ip_addresses").is_none());
}

#[test]
fn vpc_flow_custom_format_of_version_5() {
    let events = lines("vpcflow-custom-v5.log");
    assert_eq!(events.len(), 2);
    let egress = &events[0];
    assert_eq!(egress.get("version"), 5);
    assert_eq!(egress.get("vpcId"), "vpc-0123456789abcdef0");
    assert_eq!(egress.get("instanceId"), "i-0123456789abcdef0");
    assert_eq!(egress.get("pktDstAddr"), "52.216.8.123");
    assert_eq!(egress.get("tcpFlags"), 19);
    assert_eq!(egress.get("azId"), "use1-az1");
    assert_eq!(egress.get("pktDstAwsService"), "S3");
    assert_eq!(egress.get("flowDirection"), "egress");
    assert_eq!(egress.get("trafficPath"), 8);
    assert!(egress.object.get("sublocationType").is_none());
    assert_eq!(egress.event.event_time, time("2023-11-14T22:15:00Z"));
    assert_eq!(
        egress.strings("p_any_ip_addresses"),
        ["10.0.1.25", "52.216.8.123"]
    );
    assert_eq!(
        egress.strings("p_any_aws_instance_ids"),
        ["i-0123456789abcdef0"]
    );
    assert_eq!(events[1].get("dstPort"), 3389);
    assert!(events[1].object.get("trafficPath").is_none());
}

#[test]
fn vpc_flow_lines_without_a_header() {
    // CloudWatch Logs exports have no header: the default format is recognised by itself.
    let line = "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 51000 6 3 180 1700000000 1700000005 ACCEPT OK";
    let event = to_event(
        normalizer(None)
            .normalize(line.as_bytes(), parse_time())
            .unwrap(),
    );
    assert_eq!(event.event.log_type, "AWS.VPCFlow");
    assert_eq!(event.get("srcPort"), 443);
    // After a custom header, lines are read in its layout; one that does not fit is refused.
    let n = normalizer(None);
    assert_eq!(
        n.normalize(b"version srcaddr dstaddr start", parse_time())
            .unwrap_err(),
        NormalizeError::HeaderLine {
            log_type: LogType::VpcFlow
        }
    );
    let event = to_event(
        n.normalize(b"3 10.0.0.9 10.0.0.8 1700000000", parse_time())
            .unwrap(),
    );
    assert_eq!(event.get("srcAddr"), "10.0.0.9");
    assert_eq!(event.get("version"), 3);
    let err = n
        .normalize(b"3 10.0.0.9 10.0.0.8", parse_time())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("AWS.VPCFlow: 3 fields, but the file's header line names 4"),
        "{err}"
    );
}

#[test]
fn guardduty_findings() {
    let events = records("guardduty.jsonl");
    assert_eq!(events.len(), 2);
    let probe = &events[0];
    assert_eq!(probe.event.log_type, "AWS.GuardDuty");
    assert_eq!(probe.event.event_time, time("2023-11-10T22:35:02.118Z"));
    assert_eq!(e_time(probe), "2023-11-10 22:35:02.118000");
    assert_eq!(
        probe.strings("p_any_ip_addresses"),
        [
            "10.0.1.25",
            "198.51.100.99",
            "2600:1f18:abcd:1200::25",
            "54.210.12.34"
        ]
    );
    assert_eq!(
        probe.strings("p_any_aws_instance_ids"),
        ["i-0123456789abcdef0"]
    );
    assert_eq!(
        probe.strings("p_any_domain_names"),
        [
            "ec2-54-210-12-34.compute-1.amazonaws.com",
            "ip-10-0-1-25.ec2.internal"
        ]
    );
    assert_eq!(probe.strings("p_any_aws_account_ids"), ["123456789012"]);
    assert_eq!(probe.strings("p_any_aws_arns").len(), 2);
    let exfiltration = &events[1];
    assert_eq!(exfiltration.strings("p_any_usernames"), ["web-server-role"]);
    assert_eq!(
        exfiltration.strings("p_any_ip_addresses"),
        ["203.0.113.200"]
    );
    // The finding id is shown, but every update of a finding repeats it: no dedup.
    assert_eq!(
        exfiltration.event.event_id.as_deref(),
        Some("b4d6e8f0a2c4e6f8a0b2c4d6e8f0a2c4")
    );
    let raw = sample("guardduty.jsonl");
    let first = raw.lines().next().unwrap();
    let parsed = normalizer(None)
        .parse(first.as_bytes(), &Default::default())
        .unwrap();
    assert_eq!(parsed.dedup_key(), None);
}

#[test]
fn json_records_with_keys_in_another_order_are_still_classified() {
    // Sorted keys (as `jq -S` writes them): the first key says nothing about the log type.
    let finding: Value =
        serde_json::from_str(sample("guardduty.jsonl").lines().next().unwrap()).unwrap();
    let sorted = serde_json::to_string(&finding).unwrap();
    assert!(sorted.starts_with(r#"{"accountId""#), "{sorted}");
    let event = normalizer(None)
        .normalize(sorted.as_bytes(), parse_time())
        .unwrap();
    assert_eq!(event.log_type, "AWS.GuardDuty");
    let cloudtrail = r#"{"awsRegion":"us-east-1","eventName":"StopLogging","eventTime":"2023-11-10T22:20:00Z","eventVersion":"1.08"}"#;
    let event = normalizer(None)
        .normalize(cloudtrail.as_bytes(), parse_time())
        .unwrap();
    assert_eq!(event.log_type, "AWS.CloudTrail");
    // A first key that misleads costs a second parse, not the classification.
    let misleading = r#"{"schemaVersion":"2.0","eventVersion":"1.08","eventName":"StopLogging"}"#;
    let event = normalizer(None)
        .normalize(misleading.as_bytes(), parse_time())
        .unwrap();
    assert_eq!(event.log_type, "AWS.CloudTrail");
}

#[test]
fn s3_server_access_records() {
    let events = lines("s3-server-access.log");
    assert_eq!(events.len(), 3);
    let get = &events[0];
    assert_eq!(get.event.log_type, "AWS.S3ServerAccess");
    assert_eq!(get.get("bucket"), "amzn-s3-demo-bucket");
    assert_eq!(get.get("time"), "2023-11-10T22:13:20Z");
    assert_eq!(get.get("operation"), "REST.GET.OBJECT");
    assert_eq!(
        get.get("requesturi"),
        "GET /amzn-s3-demo-bucket/reports/2023/q3.csv HTTP/1.1"
    );
    assert_eq!(get.get("httpstatus"), 200);
    assert_eq!(get.get("bytessent"), 113);
    assert_eq!(get.get("tlsVersion"), "TLSv1.2");
    assert!(get.object.get("errorcode").is_none());
    assert_eq!(get.event.event_time, time("2023-11-10T22:13:20Z"));
    assert_eq!(get.strings("p_any_ip_addresses"), ["192.0.2.3"]);
    assert_eq!(
        get.strings("p_any_aws_arns"),
        ["arn:aws:iam::123456789012:user/alice"]
    );
    assert_eq!(get.strings("p_any_aws_account_ids"), ["123456789012"]);
    assert_eq!(
        get.strings("p_any_domain_names"),
        ["amzn-s3-demo-bucket.s3.us-east-1.amazonaws.com"]
    );

    let denied = &events[1];
    assert_eq!(denied.get("errorcode"), "AccessDenied");
    assert_eq!(
        denied.get("useragent"),
        r#"Mozilla/5.0 (X11; Linux x86_64) "scanner""#
    );
    assert!(denied.object.get("requester").is_none());

    // `+0100` is converted to UTC.
    let put = &events[2];
    assert_eq!(put.event.event_time, time("2023-11-10T22:15:40Z"));
    assert_eq!(put.get("objectsize"), 52428800);
    assert_eq!(put.get("aclrequired"), "Yes");
    assert_eq!(
        put.strings("p_any_aws_arns"),
        [
            "arn:aws:s3:us-east-1:123456789012:accesspoint/backups",
            "arn:aws:sts::123456789012:assumed-role/backup-role/i-0123456789abcdef0"
        ]
    );
}

#[test]
fn alb_access_log_entries() {
    let events = lines("alb.log");
    assert_eq!(events.len(), 3);
    let plain = &events[0];
    assert_eq!(plain.event.log_type, "AWS.ALB");
    assert_eq!(plain.get("type"), "http");
    assert_eq!(plain.get("timestamp"), "2023-11-10T22:13:20.186641Z");
    assert_eq!(plain.event.event_time, time("2023-11-10T22:13:20.186641Z"));
    assert_eq!(plain.get("clientIp"), "192.0.2.10");
    assert_eq!(plain.get("clientPort"), 46532);
    assert_eq!(plain.get("targetPort"), 80);
    assert_eq!(plain.get("requestProcessingTime"), 0.0);
    assert_eq!(plain.get("elbStatusCode"), 200);
    assert_eq!(plain.get("requestHttpMethod"), "GET");
    assert_eq!(plain.get("requestUrl"), "http://www.example.com:80/");
    assert_eq!(plain.get("requestHttpVersion"), "HTTP/1.1");
    assert_eq!(plain.get("actionsExecuted"), &json!(["forward"]));
    assert_eq!(plain.get("connTraceId"), "TID_1234abcd5678ef90");
    assert_eq!(
        plain.strings("p_any_ip_addresses"),
        ["10.0.1.25", "192.0.2.10"]
    );

    let login = &events[1];
    assert_eq!(login.get("targetStatusCode"), 403);
    assert_eq!(login.get("domainName"), "shop.example.com");
    assert_eq!(
        login.get("actionsExecuted"),
        &json!(["authenticate", "forward"])
    );
    assert_eq!(login.strings("p_any_domain_names"), ["shop.example.com"]);
    assert_eq!(login.strings("p_any_aws_arns").len(), 2);
    assert_eq!(login.strings("p_any_aws_account_ids"), ["123456789012"]);

    let no_target = &events[2];
    assert_eq!(no_target.get("clientIp"), "2001:db8::7");
    assert_eq!(no_target.get("clientPort"), 60000);
    assert!(no_target.object.get("targetIp").is_none());
    assert_eq!(no_target.get("targetProcessingTime"), -1.0);
    assert_eq!(no_target.get("errorReason"), "LambdaInvalidResponse");
    assert_eq!(no_target.strings("p_any_ip_addresses"), ["2001:db8::7"]);
}

#[test]
fn unknown_text_is_refused_with_the_reason_of_each_format() {
    let line = sample("unknown.txt");
    let line = line.lines().next().unwrap();
    let err = normalizer(None)
        .normalize(line.as_bytes(), parse_time())
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("unknown log type: not JSON, and not a line of a text log format"),
        "{message}"
    );
    for log_type in ["AWS.VPCFlow", "AWS.S3ServerAccess", "AWS.ALB"] {
        assert!(message.contains(log_type), "{message}");
    }
    let err = normalizer(None)
        .normalize(br#"{"hello":"world"}"#, parse_time())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown log type: no eventVersion, eventSource or eventName field (AWS.CloudTrail), \
         and no schemaVersion, id and type fields of a GuardDuty finding (AWS.GuardDuty)"
    );
}

#[test]
fn a_forced_log_type_is_the_only_one_tried() {
    let vpc = Some(LogType::VpcFlow);
    let alb_line = sample("alb.log");
    let alb_line = alb_line.lines().next().unwrap();
    let err = normalizer(vpc)
        .normalize(alb_line.as_bytes(), parse_time())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("not an AWS.VPCFlow event: no header line"),
        "{err}"
    );
    let cloudtrail = sample("cloudtrail.json");
    let err = normalizer(vpc)
        .normalize(cloudtrail.as_bytes(), parse_time())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "not an AWS.VPCFlow event: it is JSON, and this log type is a text line format"
    );
    let event = normalizer(Some(LogType::Alb))
        .normalize(alb_line.as_bytes(), parse_time())
        .unwrap();
    assert_eq!(event.log_type, "AWS.ALB");

    // Forcing CloudTrail reads an Insights event as CloudTrail; forcing Insights refuses a
    // management event.
    let insight: Value = serde_json::from_str(&sample("cloudtrail-insight.json")).unwrap();
    let insight = serde_json::to_vec(&insight["Records"][0]).unwrap();
    let event = normalizer(Some(LogType::CloudTrail))
        .normalize(&insight, parse_time())
        .unwrap();
    assert_eq!(event.log_type, "AWS.CloudTrail");
    let management: Value = serde_json::from_str(&sample("cloudtrail.json")).unwrap();
    let management = serde_json::to_vec(&management["Records"][0]).unwrap();
    let err = normalizer(Some(LogType::CloudTrailInsight))
        .normalize(&management, parse_time())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("not an AWS.CloudTrailInsight event"),
        "{err}"
    );
    let err = normalizer(Some(LogType::GuardDuty))
        .normalize(&management, parse_time())
        .unwrap_err();
    assert!(
        err.to_string().starts_with("not an AWS.GuardDuty event"),
        "{err}"
    );
}

#[test]
fn log_type_names() {
    for log_type in LogType::ALL {
        assert_eq!(log_type.name().parse::<LogType>().unwrap(), log_type);
    }
    assert_eq!("aws.vpcflow".parse::<LogType>().unwrap(), LogType::VpcFlow);
    let err = "AWS.VPCFlows".parse::<LogType>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown log type \"AWS.VPCFlows\"; iota reads AWS.CloudTrail, AWS.CloudTrailInsight, \
         AWS.VPCFlow, AWS.GuardDuty, AWS.S3ServerAccess, AWS.ALB"
    );
}
