//! The classic command line, kept working for deployments written for it: a `--mode` flag
//! instead of a subcommand, and a `--jsonl FILE` one-shot. [`translate`] rewrites it into the
//! subcommand form before parsing, so that every option keeps one definition:
//!
//! | classic | today |
//! |---|---|
//! | `--mode=s3-poll --s3-bucket=B --s3-prefix=P` | `s3-poll --bucket B --prefix P` |
//! | `--mode=sqs --sqs-queue-url=URL` | `sqs --queue-url URL` |
//! | `--mode=watch --events-dir=DIR` | `watch DIR` |
//! | `--jsonl FILE` | `scan FILE` |
//! | `--engine PATH` | dropped with a notice: the runtime is built in |
//!
//! In the classic form `SLACK_WEBHOOK_URL` in the environment adds a Slack output, as it did.

use std::ffi::OsString;

/// What the classic form became, and what to tell the user about it.
#[derive(Debug, PartialEq, Eq)]
pub struct Translated {
    pub args: Vec<OsString>,
    pub notices: Vec<String>,
}

/// Rewrites a classic command line; `None` when `args` is not one (a subcommand form, or
/// no classic flag at all). `slack_webhook` says whether `SLACK_WEBHOOK_URL` is set.
pub fn translate(args: &[OsString], slack_webhook: bool) -> Option<Translated> {
    let strings: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (mode, rest) = classic_mode(&strings)?;
    let mut out: Vec<String> = vec![strings[0].clone(), mode.clone()];
    let mut notices = Vec::new();
    let mut positional = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        // Takes the flag's value, inline or from the next argument.
        let value = |i: &mut usize| -> Option<String> {
            inline.clone().or_else(|| {
                *i += 1;
                rest.get(*i).cloned()
            })
        };
        match name {
            "--s3-bucket" => push_flag(&mut out, "--bucket", value(&mut i)),
            "--s3-prefix" => push_flag(&mut out, "--prefix", value(&mut i)),
            "--sqs-queue-url" => push_flag(&mut out, "--queue-url", value(&mut i)),
            "--events-dir" | "--jsonl" => positional.extend(value(&mut i)),
            "--engine" => {
                let path = value(&mut i).unwrap_or_default();
                notices.push(format!(
                    "--engine {path} is ignored: the rule runtime is built into iota"
                ));
            }
            _ => out.push(arg.clone()),
        }
        i += 1;
    }
    if slack_webhook {
        out.push("--output".into());
        out.push("slack=env:SLACK_WEBHOOK_URL".into());
    }
    out.extend(positional);
    Some(Translated {
        args: out.into_iter().map(OsString::from).collect(),
        notices,
    })
}

fn push_flag(out: &mut Vec<String>, name: &str, value: Option<String>) {
    out.push(name.to_owned());
    out.extend(value);
}

/// The subcommand a classic command line stands for, and its arguments without the mode.
fn classic_mode(args: &[String]) -> Option<(String, Vec<String>)> {
    let rest = args.get(1..)?;
    let mut mode = None;
    let mut others = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        if let Some(value) = arg.strip_prefix("--mode=") {
            mode = Some(value.to_owned());
        } else if arg == "--mode" {
            i += 1;
            mode = rest.get(i).cloned();
        } else {
            others.push(arg.clone());
        }
        i += 1;
    }
    if mode.is_none()
        && others
            .iter()
            .any(|a| a == "--jsonl" || a.starts_with("--jsonl="))
    {
        mode = Some("scan".into());
    }
    Some((mode?, others))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translated(args: &[&str]) -> Option<Vec<String>> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        translate(&args, false).map(|t| {
            t.args
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect()
        })
    }

    #[test]
    fn the_s3_poll_mode_becomes_the_subcommand() {
        assert_eq!(
            translated(&[
                "iota",
                "--mode=s3-poll",
                "--s3-bucket=trail",
                "--s3-prefix",
                "AWSLogs/*/CloudTrail/",
                "--poll-interval=5m",
                "--rules=/rules",
                "--state=/data/state.db",
            ])
            .unwrap(),
            [
                "iota",
                "s3-poll",
                "--bucket",
                "trail",
                "--prefix",
                "AWSLogs/*/CloudTrail/",
                "--poll-interval=5m",
                "--rules=/rules",
                "--state=/data/state.db",
            ]
        );
    }

    #[test]
    fn the_sqs_mode_becomes_the_subcommand() {
        assert_eq!(
            translated(&[
                "iota",
                "--mode=sqs",
                "--sqs-queue-url=https://q",
                "--state=s.db"
            ])
            .unwrap(),
            ["iota", "sqs", "--queue-url", "https://q", "--state=s.db"]
        );
    }

    #[test]
    fn watch_and_jsonl_take_their_path_as_the_positional_argument() {
        assert_eq!(
            translated(&[
                "iota",
                "--mode",
                "watch",
                "--events-dir=/events",
                "--rules",
                "/r"
            ])
            .unwrap(),
            ["iota", "watch", "--rules", "/r", "/events"]
        );
        assert_eq!(
            translated(&["iota", "--jsonl", "events.jsonl", "--python", "python3"]).unwrap(),
            ["iota", "scan", "--python", "python3", "events.jsonl"]
        );
    }

    #[test]
    fn engine_is_dropped_with_a_notice() {
        let args: Vec<OsString> = ["iota", "--jsonl", "e.jsonl", "--engine", "/opt/engine"]
            .iter()
            .map(OsString::from)
            .collect();
        let translated = translate(&args, false).unwrap();
        assert_eq!(translated.args, ["iota", "scan", "e.jsonl"]);
        assert_eq!(translated.notices.len(), 1);
        assert!(translated.notices[0].contains("/opt/engine"));
    }

    #[test]
    fn slack_webhook_url_adds_a_slack_output_to_the_classic_form_only() {
        let args: Vec<OsString> = ["iota", "--mode=s3-poll", "--s3-bucket=trail"]
            .iter()
            .map(OsString::from)
            .collect();
        let translated = translate(&args, true).unwrap();
        assert_eq!(
            translated.args,
            [
                "iota",
                "s3-poll",
                "--bucket",
                "trail",
                "--output",
                "slack=env:SLACK_WEBHOOK_URL"
            ]
        );
        let modern: Vec<OsString> = ["iota", "s3-poll"].iter().map(OsString::from).collect();
        assert_eq!(translate(&modern, true), None);
    }

    #[test]
    fn the_subcommand_form_is_left_alone() {
        assert_eq!(
            translated(&["iota", "scan", "--rules", "r", "x.json"]),
            None
        );
        assert_eq!(translated(&["iota", "--help"]), None);
    }
}
