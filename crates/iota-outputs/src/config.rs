//! Output configuration: `--output KIND[=TARGET]` specs and the config file's output tables,
//! both read into [`OutputConfig`] and turned into outputs by [`build_outputs`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::{de, Deserialize, Deserializer};

use iota_rules::Severity;

use crate::datadog::DatadogOutput;
use crate::file::FileOutput;
use crate::pagerduty::PagerDutyOutput;
use crate::slack::SlackOutput;
use crate::splunk::SplunkOutput;
use crate::stdout::StdoutOutput;
use crate::webhook::WebhookOutput;
use crate::{AlertOutput, RetryPolicy, Secret, SecretRef};

/// How long one HTTP request or SNS publish may take before it counts as a retryable failure.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variable a Splunk output reads its HEC token from when none is configured.
pub const SPLUNK_TOKEN_ENV: &str = "IOTA_SPLUNK_TOKEN";
/// The environment variable a Datadog output reads its API key from when none is configured.
pub const DATADOG_API_KEY_ENV: &str = "IOTA_DATADOG_API_KEY";
/// The environment variable `--output webhook=URL` reads its HMAC key from, when it is set.
pub const WEBHOOK_HMAC_KEY_ENV: &str = "IOTA_WEBHOOK_HMAC_KEY";

/// The kinds of output, as written in `--output KIND[=TARGET]` and in `kind = "..."`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    Stdout,
    File,
    Slack,
    Pagerduty,
    Webhook,
    Sns,
    Splunk,
    Datadog,
}

impl OutputKind {
    pub const ALL: [OutputKind; 8] = [
        OutputKind::Stdout,
        OutputKind::File,
        OutputKind::Slack,
        OutputKind::Pagerduty,
        OutputKind::Webhook,
        OutputKind::Sns,
        OutputKind::Splunk,
        OutputKind::Datadog,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Stdout => "stdout",
            OutputKind::File => "file",
            OutputKind::Slack => "slack",
            OutputKind::Pagerduty => "pagerduty",
            OutputKind::Webhook => "webhook",
            OutputKind::Sns => "sns",
            OutputKind::Splunk => "splunk",
            OutputKind::Datadog => "datadog",
        }
    }

    /// Kinds whose target is the URL they post to.
    fn url_is_target(self) -> bool {
        matches!(
            self,
            OutputKind::Slack | OutputKind::Webhook | OutputKind::Splunk
        )
    }

    /// What TARGET means for this kind, as shown in usage errors.
    fn target_usage(self) -> &'static str {
        match self {
            OutputKind::Stdout => "stdout",
            OutputKind::File => "file=PATH",
            OutputKind::Slack => "slack=WEBHOOK_URL",
            OutputKind::Pagerduty => "pagerduty=ROUTING_KEY",
            OutputKind::Webhook => "webhook=URL",
            OutputKind::Sns => "sns=TOPIC_ARN",
            OutputKind::Splunk => "splunk=HEC_URL",
            OutputKind::Datadog => "datadog=SITE (e.g. datadoghq.com)",
        }
    }
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutputKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let kinds: Vec<&str> = OutputKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown output kind {s:?} (expected one of: {})",
                    kinds.join(", ")
                )
            })
    }
}

/// One output as configured. Every field but `kind` is optional; which ones apply depends on
/// the kind, and a field that does not apply is an error rather than silently ignored.
///
/// ```toml
/// [[outputs]]
/// name = "oncall"
/// kind = "pagerduty"
/// target = "env:PAGERDUTY_ROUTING_KEY"
/// min_severity = "high"
///
/// [[outputs]]
/// kind = "webhook"
/// target = "https://soar.example.com/iota"
/// hmac_key = "file:/run/secrets/iota-hmac"
/// headers = { Authorization = "env:SOAR_AUTH" }
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// What rule `OutputIds` and `destinations()` refer to. Defaults to the kind, then
    /// `KIND-2`, `KIND-3`, ... for further unnamed outputs of the same kind.
    pub name: Option<String>,
    pub kind: OutputKind,
    /// TARGET of `--output KIND=TARGET`: the file path, Slack webhook URL, PagerDuty routing
    /// key, webhook URL, SNS topic ARN, Splunk HEC URL or Datadog site. All but a file path
    /// may be written `env:VAR` or `file:PATH`.
    pub target: Option<SecretRef>,
    /// For Slack, webhook and Splunk, another name for `target`. For PagerDuty, Datadog and
    /// SNS, the endpoint to use instead of the public one (EU PagerDuty, a proxy, a test
    /// server).
    pub url: Option<SecretRef>,
    /// Default routing sends only alerts at least this severe (default: every alert).
    #[serde(default, deserialize_with = "severity")]
    pub min_severity: Option<Severity>,
    /// Attempts before an alert is marked failed for this output (default 10).
    pub max_attempts: Option<u32>,
    /// Per request: `10s`, `1500ms`, or a number of seconds (default 10s).
    #[serde(default, deserialize_with = "timeout")]
    pub timeout: Option<Duration>,
    /// Webhook: key of the `X-Iota-Signature: sha256=<hex HMAC-SHA256 of the body>` header.
    pub hmac_key: Option<SecretRef>,
    /// Webhook: extra request headers. Values may be `env:VAR` or `file:PATH`.
    #[serde(default)]
    pub headers: BTreeMap<String, SecretRef>,
    /// Splunk HEC token (default `env:IOTA_SPLUNK_TOKEN`) or Datadog API key (default
    /// `env:IOTA_DATADOG_API_KEY`).
    pub token: Option<SecretRef>,
    /// Datadog: the `hostname` attribute of each log.
    pub hostname: Option<String>,
}

impl OutputConfig {
    /// An output of `kind` with every option at its default.
    pub fn new(kind: OutputKind) -> Self {
        OutputConfig {
            name: None,
            kind,
            target: None,
            url: None,
            min_severity: None,
            max_attempts: None,
            timeout: None,
            hmac_key: None,
            headers: BTreeMap::new(),
            token: None,
            hostname: None,
        }
    }

    /// Reads one `--output KIND[=TARGET]`. The error names the kind, never the target,
    /// which may be a secret.
    pub fn from_spec(spec: &str) -> Result<Self, ConfigError> {
        let (kind, target) = match spec.split_once('=') {
            Some((kind, target)) => (kind, Some(target)),
            None => (spec, None),
        };
        let kind: OutputKind = kind
            .trim()
            .parse()
            .map_err(|err| ConfigError::new(kind.trim(), err))?;
        let mut config = OutputConfig::new(kind);
        match (kind, target) {
            (OutputKind::Stdout, None) => {}
            (OutputKind::Stdout, Some(_)) => {
                return Err(ConfigError::new(
                    "stdout",
                    "takes no target: --output stdout",
                ))
            }
            (_, Some(target)) if !target.is_empty() => {
                config.target = Some(SecretRef::parse(target));
            }
            _ => {
                return Err(ConfigError::new(
                    kind.as_str(),
                    format!("needs a target: --output {}", kind.target_usage()),
                ))
            }
        }
        if kind == OutputKind::Webhook && std::env::var_os(WEBHOOK_HMAC_KEY_ENV).is_some() {
            config.hmac_key = Some(SecretRef::env(WEBHOOK_HMAC_KEY_ENV));
        }
        Ok(config)
    }

    /// The settings every output has.
    fn settings(&self, name: &str) -> Result<OutputSettings, ConfigError> {
        let max_attempts = self
            .max_attempts
            .unwrap_or(RetryPolicy::default().max_attempts);
        if max_attempts == 0 {
            return Err(ConfigError::new(name, "max_attempts must be at least 1"));
        }
        if self.timeout == Some(Duration::ZERO) {
            return Err(ConfigError::new(name, "timeout must be more than zero"));
        }
        Ok(OutputSettings {
            name: name.to_owned(),
            min_severity: self.min_severity.unwrap_or(Severity::Info),
            max_attempts,
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
        })
    }

    fn build(&self, name: &str) -> Result<Box<dyn AlertOutput>, ConfigError> {
        self.check_fields(name)?;
        let settings = self.settings(name)?;
        let error = |message: String| ConfigError::new(name, message);
        let secret = |field: &str, secret: &SecretRef| {
            secret
                .resolve()
                .map_err(|err| error(format!("{field}: {err}")))
        };
        let missing_target = || {
            error(format!(
                "needs a target: `target` in the config file, or --output {}",
                self.kind.target_usage()
            ))
        };
        let target = || {
            let target = match (&self.target, &self.url) {
                (Some(_), Some(_)) if self.kind.url_is_target() => {
                    return Err(error("set either `target` or `url`, not both".into()))
                }
                (Some(target), _) => target,
                (None, Some(url)) if self.kind.url_is_target() => url,
                _ => return Err(missing_target()),
            };
            secret("target", target)
        };
        let endpoint = || -> Result<Option<Secret>, ConfigError> {
            match &self.url {
                Some(url) if !self.kind.url_is_target() => secret("url", url).map(Some),
                _ => Ok(None),
            }
        };
        let token = |env: &str, what: &str| {
            let token = self.token.clone().unwrap_or_else(|| SecretRef::env(env));
            token.resolve().map_err(|err| {
                error(format!(
                    "no {what} ({err}): set {env}, or `token` in the config file \
                     (the value, env:VAR or file:PATH)"
                ))
            })
        };

        Ok(match self.kind {
            OutputKind::Stdout => Box::new(StdoutOutput::with_settings(settings)),
            OutputKind::File => {
                let path = self
                    .target
                    .as_ref()
                    .ok_or_else(missing_target)?
                    .as_written();
                Box::new(FileOutput::with_settings(settings, Path::new(&path))?)
            }
            OutputKind::Slack => Box::new(SlackOutput::new(settings, &target()?)?),
            OutputKind::Pagerduty => Box::new(PagerDutyOutput::new(
                settings,
                target()?,
                endpoint()?.as_ref().map(Secret::expose),
            )?),
            OutputKind::Webhook => {
                let hmac_key = match &self.hmac_key {
                    Some(key) => Some(secret("hmac_key", key)?),
                    None => None,
                };
                let headers = self
                    .headers
                    .iter()
                    .map(|(header, value)| Ok((header.clone(), secret(header, value)?)))
                    .collect::<Result<Vec<_>, ConfigError>>()?;
                Box::new(WebhookOutput::new(settings, &target()?, hmac_key, headers)?)
            }
            OutputKind::Sns => build_sns(settings, &target()?, endpoint()?)?,
            OutputKind::Splunk => Box::new(SplunkOutput::new(
                settings,
                target()?.expose(),
                token(SPLUNK_TOKEN_ENV, "Splunk HEC token")?,
            )?),
            OutputKind::Datadog => Box::new(DatadogOutput::new(
                settings,
                target()?.expose(),
                token(DATADOG_API_KEY_ENV, "Datadog API key")?,
                endpoint()?.as_ref().map(Secret::expose),
                self.hostname.clone(),
            )?),
        })
    }

    /// Rejects options the kind does not use: a `token` on a Slack output is a mistake the
    /// user wants to hear about.
    fn check_fields(&self, name: &str) -> Result<(), ConfigError> {
        use OutputKind::*;
        let http = [Slack, Pagerduty, Webhook, Sns, Splunk, Datadog];
        let fields: [(&str, bool, &[OutputKind]); 7] = [
            (
                "target",
                self.target.is_some(),
                &[File, Slack, Pagerduty, Webhook, Sns, Splunk, Datadog],
            ),
            ("url", self.url.is_some(), &http),
            ("timeout", self.timeout.is_some(), &http),
            ("hmac_key", self.hmac_key.is_some(), &[Webhook]),
            ("headers", !self.headers.is_empty(), &[Webhook]),
            ("token", self.token.is_some(), &[Splunk, Datadog]),
            ("hostname", self.hostname.is_some(), &[Datadog]),
        ];
        for (field, set, kinds) in fields {
            if set && !kinds.contains(&self.kind) {
                let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                return Err(ConfigError::new(
                    name,
                    format!(
                        "`{field}` does not apply to {} outputs (only to: {})",
                        self.kind,
                        kinds.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(feature = "sns")]
fn build_sns(
    settings: OutputSettings,
    topic_arn: &Secret,
    endpoint: Option<Secret>,
) -> Result<Box<dyn AlertOutput>, ConfigError> {
    Ok(Box::new(crate::sns::SnsOutput::new(
        settings,
        topic_arn.expose(),
        endpoint.as_ref().map(Secret::expose),
    )?))
}

#[cfg(not(feature = "sns"))]
fn build_sns(
    settings: OutputSettings,
    _topic_arn: &Secret,
    _endpoint: Option<Secret>,
) -> Result<Box<dyn AlertOutput>, ConfigError> {
    Err(ConfigError::new(
        &settings.name,
        "this iota was built without SNS support (cargo feature `sns`)",
    ))
}

/// The settings every output has, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSettings {
    pub name: String,
    pub min_severity: Severity,
    pub max_attempts: u32,
    pub timeout: Duration,
}

impl OutputSettings {
    /// `name` with the defaults: every severity, 10 attempts, 10s timeout.
    pub fn new(name: impl Into<String>) -> Self {
        OutputSettings {
            name: name.into(),
            min_severity: Severity::Info,
            max_attempts: RetryPolicy::default().max_attempts,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The accessors of [`AlertOutput`] for an output with a `settings: OutputSettings` field.
macro_rules! settings_accessors {
    ($kind:literal) => {
        fn name(&self) -> &str {
            &self.settings.name
        }

        fn kind(&self) -> &'static str {
            $kind
        }

        fn min_severity(&self) -> iota_rules::Severity {
            self.settings.min_severity
        }

        fn max_attempts(&self) -> u32 {
            self.settings.max_attempts
        }

        fn timeout(&self) -> std::time::Duration {
            self.settings.timeout
        }
    };
}
pub(crate) use settings_accessors;

/// Names the outputs (unnamed ones after their kind, numbered from the second of a kind on),
/// checks that names are unique, and builds every output; the first error stops.
pub fn build_outputs(configs: &[OutputConfig]) -> Result<Vec<Box<dyn AlertOutput>>, ConfigError> {
    let mut unnamed_of_kind: HashMap<OutputKind, usize> = HashMap::new();
    let mut seen = HashSet::new();
    let mut outputs = Vec::with_capacity(configs.len());
    for config in configs {
        let name = match &config.name {
            Some(name) if name.trim().is_empty() => {
                return Err(ConfigError::new(config.kind.as_str(), "`name` is empty"))
            }
            Some(name) => name.clone(),
            None => {
                let count = unnamed_of_kind.entry(config.kind).or_default();
                *count += 1;
                match *count {
                    1 => config.kind.as_str().to_owned(),
                    n => format!("{}-{n}", config.kind),
                }
            }
        };
        if !seen.insert(name.clone()) {
            return Err(ConfigError::new(
                &name,
                "another output has the same name: give each output a distinct `name`",
            ));
        }
        outputs.push(config.build(&name)?);
    }
    Ok(outputs)
}

/// Builds the outputs of `--output` specs.
pub fn open_outputs(specs: &[String]) -> Result<Vec<Box<dyn AlertOutput>>, ConfigError> {
    let configs = specs
        .iter()
        .map(|spec| OutputConfig::from_spec(spec))
        .collect::<Result<Vec<_>, _>>()?;
    build_outputs(&configs)
}

/// A configuration problem, naming the output and saying what to change.
#[derive(Debug, thiserror::Error)]
#[error("output {output}: {message}")]
pub struct ConfigError {
    pub output: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(output: &str, message: impl Into<String>) -> Self {
        ConfigError {
            output: output.to_owned(),
            message: message.into(),
        }
    }
}

fn severity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Severity>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map(Some).map_err(de::Error::custom)
}

fn timeout<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Timeout {
        Seconds(u64),
        Text(String),
    }
    match Timeout::deserialize(deserializer)? {
        Timeout::Seconds(seconds) => Ok(Some(Duration::from_secs(seconds))),
        Timeout::Text(text) => humantime::parse_duration(&text)
            .map(Some)
            .map_err(|err| de::Error::custom(format!("invalid timeout {text:?}: {err}"))),
    }
}
