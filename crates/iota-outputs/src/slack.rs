//! The `slack` output: a Block Kit message to a Slack incoming webhook. The title is the
//! header; the severity colours an attachment holding the facts a responder reads first,
//! the description, the runbook and reference links, and the alert context.
//!
//! Slack refuses a message that breaks one of its limits (header 150 characters, a field
//! 2000, a section 3000, a button URL 3000) for good, so every text is cut to fit, and
//! text from events is escaped so that it cannot inject links or mentions.

use iota_alerts::Alert;
use iota_rules::Severity;
use reqwest::header::HeaderMap;
use reqwest::Url;
use serde_json::{json, Value};

use crate::config::{settings_accessors, ConfigError, OutputSettings};
use crate::error::truncate_chars;
use crate::http::HttpTarget;
use crate::summary::EventSummary;
use crate::{AlertOutput, DeliveryError, Secret};

const HEADER_MAX: usize = 150;
const FIELD_MAX: usize = 2000;
const SECTION_MAX: usize = 3000;
const BUTTON_URL_MAX: usize = 3000;

pub struct SlackOutput {
    settings: OutputSettings,
    http: HttpTarget,
}

impl SlackOutput {
    /// `webhook_url` is a secret: whoever has it can post to the channel.
    pub fn new(settings: OutputSettings, webhook_url: &Secret) -> Result<Self, ConfigError> {
        let http = HttpTarget::new(webhook_url.expose(), settings.timeout)
            .map_err(|err| ConfigError::new(&settings.name, format!("webhook URL: {err}")))?;
        Ok(SlackOutput { settings, http })
    }
}

impl AlertOutput for SlackOutput {
    settings_accessors!("slack");

    fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&payload(alert)).expect("JSON values serialize");
        self.http.post_json(HeaderMap::new(), body)
    }
}

/// The attachment colour of each severity.
pub fn severity_colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#a4000f",
        Severity::High => "#e8590c",
        Severity::Medium => "#f2c744",
        Severity::Low => "#3b82f6",
        Severity::Info => "#9ca3af",
    }
}

/// The webhook body for `alert`.
pub fn payload(alert: &Alert) -> Value {
    let summary = EventSummary::of(alert);
    let mut fields = vec![
        field("Rule", &alert.rule_id),
        field("Severity", alert.severity.as_str()),
    ];
    let optional = [
        ("Account", &summary.account),
        ("Region", &summary.region),
        ("Principal", &summary.principal),
        ("Source IP", &summary.source_ip),
        ("Event", &summary.event_name),
        ("Event time", &summary.event_time),
    ];
    for (label, value) in optional {
        if let Some(value) = value {
            fields.push(field(label, value));
        }
    }
    fields.push(field("Count", &alert.event_count.to_string()));

    let mut blocks = vec![json!({"type": "section", "fields": fields})];
    if let Some(description) = alert.description.as_deref().filter(|d| !d.is_empty()) {
        blocks.push(section(&escape_within(description, SECTION_MAX)));
    }
    let mut buttons = Vec::new();
    for (label, link) in [("Runbook", &alert.runbook), ("Reference", &alert.reference)] {
        let Some(link) = link.as_deref().filter(|l| !l.is_empty()) else {
            continue;
        };
        match button_url(link) {
            Some(url) => buttons.push(json!({
                "type": "button",
                "text": {"type": "plain_text", "text": label},
                "url": url,
            })),
            // Runbooks are often prose rather than a link.
            None => blocks.push(section(&format!(
                "*{label}*\n{}",
                escape_within(link, SECTION_MAX - label.len() - 3)
            ))),
        }
    }
    if let Some(context) = &alert.alert_context {
        blocks.push(section(&code_block("*Alert context*\n", context)));
    }
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": escape(&format!("iota alert {} · {}", alert.id, alert.log_type)),
        }],
    }));

    // Slack refuses an empty header.
    let header = match alert.title.trim() {
        "" => alert.rule_id.as_str(),
        title => title,
    };
    json!({
        // The notification text, and what clients without Block Kit show.
        "text": escape(&format!("[{}] {}", alert.severity, alert.title)),
        "blocks": [{
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": truncate_chars(header, HEADER_MAX),
                "emoji": true,
            },
        }],
        "attachments": [{
            "color": severity_colour(alert.severity),
            "blocks": blocks,
        }],
    })
}

fn field(label: &str, value: &str) -> Value {
    let value = escape_within(value, FIELD_MAX - label.len() - 3);
    json!({"type": "mrkdwn", "text": format!("*{label}*\n{value}")})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// The alert context, pretty-printed in a code block of at most one section.
fn code_block(heading: &str, context: &Value) -> String {
    let pretty = serde_json::to_string_pretty(context).expect("JSON values serialize");
    // Three backticks inside would close the block early.
    let pretty = pretty.replace("```", "`\u{200b}``");
    let budget = SECTION_MAX - heading.chars().count() - "``````".len();
    format!("{heading}```{}```", escape_within(&pretty, budget))
}

/// A link Slack accepts as a button URL (an absolute http(s) URL, percent-encoded).
fn button_url(link: &str) -> Option<String> {
    let url = Url::parse(link.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.as_str().len() <= BUTTON_URL_MAX)
        .then(|| url.into())
}

/// Slack's three control characters in mrkdwn: without escaping, `<https://x|text>` or
/// `<!channel>` in an event field would become a link or a mention.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` escaped, in at most `max` characters: when it does not fit, as much as fits and an
/// ellipsis, never splitting an entity.
fn escape_within(text: &str, max: usize) -> String {
    let escaped = escape(text);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut len = 0;
    for c in text.chars() {
        let piece = escape(c.encode_utf8(&mut [0; 4]));
        let piece_len = piece.chars().count();
        // Room is kept for the ellipsis.
        if len + piece_len >= max {
            break;
        }
        out.push_str(&piece);
        len += piece_len;
    }
    out.push('…');
    out
}
