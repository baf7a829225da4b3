//! Building outputs from `--output` specs and the config file: kinds, names, secrets from
//! env and files, redaction, and errors that say what to do.

mod common;

use std::io::Write;
use std::time::Duration;

use iota_outputs::{
    build_outputs, open_outputs, ConfigError, OutputConfig, OutputKind, Secret, SecretRef,
};
use iota_rules::Severity;

fn spec_error(spec: &str) -> String {
    match open_outputs(&[spec.to_owned()]) {
        Ok(_) => panic!("{spec:?} was accepted"),
        Err(err) => err.to_string(),
    }
}

fn build_error(configs: &[OutputConfig]) -> ConfigError {
    match build_outputs(configs) {
        Ok(_) => panic!("accepted"),
        Err(err) => err,
    }
}

fn from_toml(text: &str) -> Vec<OutputConfig> {
    #[derive(serde::Deserialize)]
    struct File {
        outputs: Vec<OutputConfig>,
    }
    toml::from_str::<File>(text).unwrap().outputs
}

#[test]
fn specs_build_outputs_of_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.jsonl");
    std::env::set_var("IOTA_SPLUNK_TOKEN", "hec");
    std::env::set_var("IOTA_DATADOG_API_KEY", "dd");
    let mut specs = vec![
        "stdout".to_owned(),
        format!("file={}", path.display()),
        "slack=https://hooks.slack.com/services/T0/B0/XXXX".to_owned(),
        "pagerduty=R0UT1NGKEY".to_owned(),
        "webhook=https://soar.example.com/in".to_owned(),
        "webhook=https://backup.example.com/in".to_owned(),
        "splunk=https://splunk.example.com:8088".to_owned(),
        "datadog=datadoghq.eu".to_owned(),
    ];
    if cfg!(feature = "sns") {
        specs.push("sns=arn:aws:sns:eu-west-1:123456789012:iota-alerts".to_owned());
    }
    let outputs = open_outputs(&specs).unwrap();
    let described: Vec<(&str, &str)> = outputs.iter().map(|o| (o.name(), o.kind())).collect();
    let mut expected = vec![
        ("stdout", "stdout"),
        ("file", "file"),
        ("slack", "slack"),
        ("pagerduty", "pagerduty"),
        ("webhook", "webhook"),
        ("webhook-2", "webhook"),
        ("splunk", "splunk"),
        ("datadog", "datadog"),
    ];
    if cfg!(feature = "sns") {
        expected.push(("sns", "sns"));
    }
    assert_eq!(described, expected);
    for output in &outputs {
        assert_eq!(output.min_severity(), Severity::Info);
        assert_eq!(output.max_attempts(), 10);
    }
}

#[test]
fn unknown_kind_lists_the_kinds() {
    assert_eq!(
        spec_error("teams=https://x"),
        "output teams: unknown output kind \"teams\" (expected one of: stdout, file, slack, \
         pagerduty, webhook, sns, splunk, datadog)"
    );
}

#[test]
fn spec_errors_say_what_to_write_and_never_echo_the_target() {
    assert_eq!(
        spec_error("slack"),
        "output slack: needs a target: --output slack=WEBHOOK_URL"
    );
    assert_eq!(
        spec_error("file="),
        "output file: needs a target: --output file=PATH"
    );
    assert_eq!(
        spec_error("stdout=x"),
        "output stdout: takes no target: --output stdout"
    );
    let err = spec_error("slack=hooks.slack.com/services/T0/B0/SECRET");
    assert!(
        err.starts_with("output slack: webhook URL: invalid URL"),
        "{err}"
    );
    assert!(!err.contains("SECRET"), "{err}");
    let err = spec_error("webhook=ftp://example.com/SECRET");
    assert!(err.contains("unsupported URL scheme \"ftp\""), "{err}");
    assert!(!err.contains("SECRET"), "{err}");
    let err = spec_error("sns=my-topic");
    assert!(
        err.contains("not an SNS topic ARN") || err.contains("without SNS support"),
        "{err}"
    );
    let mut datadog =
        OutputConfig::from_spec("datadog=https://http-intake.logs.datadoghq.com").unwrap();
    datadog.token = Some(SecretRef::parse("dd-key"));
    let err = build_error(&[datadog]).to_string();
    assert!(err.contains("is not a Datadog site"), "{err}");
}

#[test]
fn tokens_come_from_the_environment_or_the_config() {
    std::env::remove_var("IOTA_SPLUNK_TOKEN_UNSET_IN_THIS_TEST");
    let mut splunk = OutputConfig::new(OutputKind::Splunk);
    splunk.target = Some(SecretRef::parse("https://splunk.example.com:8088"));
    splunk.token = Some(SecretRef::parse("env:IOTA_SPLUNK_TOKEN_UNSET_IN_THIS_TEST"));
    let err = build_error(&[splunk.clone()]);
    assert_eq!(err.output, "splunk");
    assert!(
        err.message.starts_with(
            "no Splunk HEC token (environment variable IOTA_SPLUNK_TOKEN_UNSET_IN_THIS_TEST is not set): \
             set IOTA_SPLUNK_TOKEN, or `token` in the config file"
        ),
        "{err}"
    );
    splunk.token = Some(SecretRef::parse("literal-token"));
    build_outputs(&[splunk]).unwrap();
}

#[test]
fn secrets_resolve_from_env_and_files() {
    std::env::set_var("IOTA_TEST_SECRET_VAR", "from-env");
    assert_eq!(
        SecretRef::parse("env:IOTA_TEST_SECRET_VAR")
            .resolve()
            .unwrap()
            .expose(),
        "from-env"
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"from-file\n").unwrap();
    let spec = format!("file:{}", file.path().display());
    assert_eq!(
        SecretRef::parse(&spec).resolve().unwrap().expose(),
        "from-file"
    );
    assert_eq!(
        SecretRef::parse("plain").resolve().unwrap().expose(),
        "plain"
    );

    let err = SecretRef::parse("env:IOTA_TEST_SECRET_NEVER_SET")
        .resolve()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable IOTA_TEST_SECRET_NEVER_SET is not set"
    );
    let err = SecretRef::parse("file:/nonexistent/iota-secret")
        .resolve()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read secret file /nonexistent/iota-secret: "),
        "{err}"
    );
    let empty = tempfile::NamedTempFile::new().unwrap();
    let err = SecretRef::parse(&format!("file:{}", empty.path().display()))
        .resolve()
        .unwrap_err();
    assert!(err.to_string().ends_with(" is empty"), "{err}");
}

#[test]
fn secret_targets_may_come_from_env_and_files() {
    let server = common::TestServer::replying(200);
    std::env::set_var("IOTA_TEST_SLACK_URL", &server.url);
    let mut key_file = tempfile::NamedTempFile::new().unwrap();
    key_file.write_all(b"R0UT1NG\n").unwrap();
    let outputs = open_outputs(&[
        "slack=env:IOTA_TEST_SLACK_URL".to_owned(),
        format!("pagerduty=file:{}", key_file.path().display()),
    ])
    .unwrap();
    outputs[0].send(&common::alert()).unwrap();
    assert_eq!(server.requests().len(), 1);

    let err = spec_error("slack=env:IOTA_TEST_SLACK_URL_NEVER_SET");
    assert_eq!(
        err,
        "output slack: target: environment variable IOTA_TEST_SLACK_URL_NEVER_SET is not set"
    );
}

#[test]
fn secrets_never_print() {
    let secret = Secret::new("hunter2");
    assert_eq!(format!("{secret:?}"), "***");
    assert_eq!(format!("{secret}"), "***");
    assert_eq!(format!("{:?}", SecretRef::parse("hunter2")), "***");
    assert_eq!(
        format!("{}", SecretRef::parse("env:SLACK_URL")),
        "env:SLACK_URL"
    );

    let configs = from_toml(
        r#"
        [[outputs]]
        kind = "slack"
        target = "https://hooks.slack.com/services/T0/B0/hunter2"

        [[outputs]]
        kind = "webhook"
        url = "https://example.com/hunter2"
        hmac_key = "hunter2"
        headers = { Authorization = "Bearer hunter2" }

        [[outputs]]
        kind = "splunk"
        target = "https://splunk.example.com:8088"
        token = "hunter2"
        "#,
    );
    let debug = format!("{configs:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("Authorization"), "{debug}");
}

#[test]
fn config_file_sets_every_option() {
    std::env::set_var("IOTA_TEST_PD_KEY", "R0UT1NG");
    let configs = from_toml(
        r#"
        [[outputs]]
        name = "oncall"
        kind = "pagerduty"
        target = "env:IOTA_TEST_PD_KEY"
        url = "https://events.eu.pagerduty.com/v2/enqueue"
        min_severity = "high"
        max_attempts = 20
        timeout = "2500ms"

        [[outputs]]
        name = "soar"
        kind = "webhook"
        target = "https://soar.example.com/in"
        hmac_key = "k"
        timeout = 3

        [[outputs]]
        kind = "file"
        target = "file:alerts.jsonl"
        "#,
    );
    assert_eq!(configs[0].min_severity, Some(Severity::High));
    assert_eq!(configs[0].timeout, Some(Duration::from_millis(2500)));
    assert_eq!(configs[1].timeout, Some(Duration::from_secs(3)));
    let dir = tempfile::tempdir().unwrap();
    let mut configs = configs;
    // A file output's path is taken as written, even when it starts with `file:`.
    configs[2].target = Some(SecretRef::parse(&format!(
        "{}/file:alerts.jsonl",
        dir.path().display()
    )));
    let outputs = build_outputs(&configs).unwrap();
    let oncall = &outputs[0];
    assert_eq!((oncall.name(), oncall.kind()), ("oncall", "pagerduty"));
    assert_eq!(oncall.min_severity(), Severity::High);
    assert_eq!(oncall.max_attempts(), 20);
    assert_eq!(outputs[1].name(), "soar");
    assert_eq!(outputs[2].name(), "file");
    outputs[2].send(&common::alert()).unwrap();
    assert!(dir.path().join("file:alerts.jsonl").exists());
}

#[test]
fn config_file_mistakes_are_reported() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)] // read only to make the deserializer run
    struct File {
        outputs: Vec<OutputConfig>,
    }
    let err = toml::from_str::<File>("[[outputs]]\nkind = \"teams\"\n").unwrap_err();
    assert!(err.to_string().contains("unknown variant `teams`"), "{err}");
    let err =
        toml::from_str::<File>("[[outputs]]\nkind = \"slack\"\nchannel = \"#x\"\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `channel`"), "{err}");
    let err = toml::from_str::<File>("[[outputs]]\nkind = \"slack\"\nmin_severity = \"urgent\"\n")
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown severity \"urgent\""),
        "{err}"
    );
    let err =
        toml::from_str::<File>("[[outputs]]\nkind = \"slack\"\ntimeout = \"soon\"\n").unwrap_err();
    assert!(
        err.to_string().contains("invalid timeout \"soon\""),
        "{err}"
    );

    let mut slack = OutputConfig::new(OutputKind::Slack);
    slack.target = Some(SecretRef::parse("https://hooks.slack.com/services/x"));
    slack.token = Some(SecretRef::parse("t"));
    assert_eq!(
        build_error(&[slack.clone()]).to_string(),
        "output slack: `token` does not apply to slack outputs (only to: splunk, datadog)"
    );
    slack.token = None;
    slack.url = slack.target.clone();
    assert_eq!(
        build_error(&[slack.clone()]).to_string(),
        "output slack: set either `target` or `url`, not both"
    );
    slack.url = None;
    slack.max_attempts = Some(0);
    assert_eq!(
        build_error(&[slack.clone()]).to_string(),
        "output slack: max_attempts must be at least 1"
    );
    slack.max_attempts = None;
    slack.name = Some("alerts".into());
    let mut other = slack.clone();
    other.kind = OutputKind::Webhook;
    assert_eq!(
        build_error(&[slack, other]).to_string(),
        "output alerts: another output has the same name: give each output a distinct `name`"
    );
}
