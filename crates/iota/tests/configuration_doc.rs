//! docs/CONFIGURATION.md is generated from the binary: every command's `--help` (its options,
//! arguments, environment variables and defaults, as clap prints them), the config file's
//! keys (from the output configuration's own schema) and the other environment variables iota
//! reads (each checked against the source file that reads it). This test renders the file and
//! fails when the committed one differs, so the reference cannot drift from the code;
//! `scripts/gen-configuration` runs it with `UPDATE_CONFIGURATION_MD=1` to rewrite the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use iota_outputs::config::{DATADOG_API_KEY_ENV, SPLUNK_TOKEN_ENV, WEBHOOK_HMAC_KEY_ENV};
use iota_outputs::{OutputConfig, OutputKind, OutputSettings};

const DOC: &str = "docs/CONFIGURATION.md";

#[test]
fn configuration_md_is_generated_from_the_cli() {
    let rendered = render();
    let path = repo_root().join(DOC);
    if std::env::var_os("UPDATE_CONFIGURATION_MD").is_some() {
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != rendered {
        let line = committed
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(rendered.lines().count()));
        panic!(
            "{DOC} is out of date (first difference at line {}): regenerate it with \
             scripts/gen-configuration and commit it",
            line + 1
        );
    }
}

/// One command as its `--help` describes it.
struct CommandHelp {
    /// `["alerts", "list"]`; empty for `iota` itself.
    path: Vec<String>,
    summary: String,
    usage: String,
    subcommands: Vec<(String, String)>,
    arguments: Vec<Entry>,
    options: Vec<Entry>,
}

/// One argument or option.
struct Entry {
    /// `--rules <DIR>`, `-h, --help`, `<ID>`, `[PATH]...`
    spelling: String,
    /// The long flag (`--rules`) or the argument's name (`ID`).
    key: String,
    text: Vec<String>,
    env: Option<String>,
    default: Option<String>,
    values: Vec<String>,
    aliases: Option<String>,
}

fn help(path: &[String]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(path)
        .arg("--help")
        // Neither IOTA_* values nor the terminal's width may leak into the document.
        .env_clear()
        .output()
        .expect("run iota --help");
    assert!(output.status.success(), "iota {path:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Splits a help text into its sections: the text before the first heading under "", then
/// "Usage", "Commands", "Arguments" and "Options".
fn sections(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(usage) = line.strip_prefix("Usage: ") {
            sections.insert("Usage".into(), vec![usage.to_owned()]);
            current = "Usage".into();
        } else if !line.starts_with(' ') && line.ends_with(':') {
            current = line.trim_end_matches(':').to_owned();
        } else {
            sections
                .entry(current.clone())
                .or_default()
                .push(line.to_owned());
        }
    }
    sections
}

fn parse_commands(lines: &[String]) -> Vec<(String, String)> {
    let mut commands: Vec<(String, String)> = Vec::new();
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        if indent(line) == 2 {
            let (name, summary) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
            commands.push((name.to_owned(), summary.trim().to_owned()));
        } else if let Some((_, summary)) = commands.last_mut() {
            summary.push(' ');
            summary.push_str(line.trim());
        }
    }
    commands.retain(|(name, _)| name != "help");
    commands
}

fn parse_entries(lines: &[String]) -> Vec<Entry> {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for line in lines {
        if !line.trim().is_empty() && indent(line) < 10 {
            blocks.push((line.trim().to_owned(), Vec::new()));
        } else if let Some((_, body)) = blocks.last_mut() {
            body.push(line.trim().to_owned());
        }
    }
    blocks
        .into_iter()
        .map(|(spelling, body)| parse_entry(spelling, &body))
        .collect()
}

fn parse_entry(spelling: String, body: &[String]) -> Entry {
    let key = match spelling.split(", ").last().unwrap().split(' ').next() {
        Some(flag) if flag.starts_with("--") => flag.to_owned(),
        _ => spelling
            .trim_matches(|c: char| "<>[].".contains(c))
            .to_owned(),
    };
    let mut entry = Entry {
        spelling,
        key,
        text: Vec::new(),
        env: None,
        default: None,
        values: Vec::new(),
        aliases: None,
    };
    // Paragraphs: text, the "Possible values:" list, or clap's annotations ("[env: ...]",
    // "[default: ...]", each on its own line).
    let paragraphs: Vec<&[String]> = body
        .split(|line| line.is_empty())
        .filter(|p| !p.is_empty())
        .collect();
    for paragraph in paragraphs {
        if paragraph[0] == "Possible values:" {
            for line in &paragraph[1..] {
                let value = line.trim_start_matches("- ");
                entry.values.push(match value.split_once(": ") {
                    Some((name, meaning)) => format!("`{name}` ({meaning})"),
                    None => format!("`{value}`"),
                });
            }
        } else if paragraph[0].starts_with('[') {
            for item in paragraph {
                let item = item.trim_start_matches('[').trim_end_matches(']');
                let (name, value) = item.split_once(": ").unwrap_or((item, ""));
                match name {
                    "env" => entry.env = Some(value.split('=').next().unwrap().to_owned()),
                    "default" => entry.default = Some(format!("`{value}`")),
                    "possible values" => {
                        entry.values = value.split(", ").map(|v| format!("`{v}`")).collect()
                    }
                    "alias" | "aliases" => entry.aliases = Some(value.to_owned()),
                    other => panic!(
                        "unknown help annotation [{other}: ...] of {}",
                        entry.spelling
                    ),
                }
            }
        } else {
            entry.text.push(paragraph.join(" "));
        }
    }
    // A default clap cannot know ("[default: one per CPU core]") ends the text.
    if let Some(last) = entry.text.last_mut() {
        if let Some((text, default)) = last.split_once(" [default: ") {
            if entry.default.is_none() && default.ends_with(']') {
                entry.default = Some(default.trim_end_matches(']').to_owned());
                *last = text.to_owned();
            }
        }
    }
    entry
}

fn load(path: Vec<String>, summary: String, all: &mut Vec<CommandHelp>) {
    let text = help(&path);
    let sections = sections(&text);
    let get = |name: &str| sections.get(name).cloned().unwrap_or_default();
    let command = CommandHelp {
        summary,
        usage: get("Usage")
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        subcommands: parse_commands(&get("Commands")),
        arguments: parse_entries(&get("Arguments")),
        options: parse_entries(&get("Options")),
        path,
    };
    let children: Vec<(Vec<String>, String)> = command
        .subcommands
        .iter()
        .map(|(name, summary)| {
            let mut path = command.path.clone();
            path.push(name.clone());
            (path, summary.clone())
        })
        .collect();
    all.push(command);
    for (path, summary) in children {
        load(path, summary, all);
    }
}

fn anchor(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

/// Table cells: `|` would end the cell, even inside backticks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn options_table(out: &mut String, command: &CommandHelp, entries: &[&Entry]) {
    out.push_str("| option | environment | default | description |\n|---|---|---|---|\n");
    for entry in entries {
        let mut description = entry.text.join(" ");
        if (!entry.values.is_empty() || entry.aliases.is_some()) && !description.ends_with('.') {
            description.push('.');
        }
        if !entry.values.is_empty() {
            write!(description, " One of: {}.", entry.values.join(", ")).unwrap();
        }
        if let Some(aliases) = &entry.aliases {
            write!(description, " Also spelled `{aliases}`.").unwrap();
        }
        let required =
            entry.key.starts_with("--") && command.usage.split(' ').any(|word| word == entry.key);
        let default = match (&entry.default, required) {
            (Some(default), _) => default.clone(),
            (None, true) => "required".to_owned(),
            (None, false) => String::new(),
        };
        let env = entry
            .env
            .as_ref()
            .map(|e| format!("`{e}`"))
            .unwrap_or_default();
        writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            cell(&entry.spelling),
            env,
            cell(&default),
            cell(description.trim())
        )
        .unwrap();
    }
    out.push('\n');
}

/// Environment variables iota reads besides the options' twins, each with the source file
/// that reads it (checked to name it).
const OTHER_ENV: &[(&str, &str, &str)] = &[
    (
        "RUST_LOG",
        "crates/iota/src/logging.rs",
        "A `tracing` filter (e.g. `info,iota_sources=debug`); when set, it replaces `--log-level`.",
    ),
    (
        "IOTA_RUNTIME_DIR",
        "crates/iota-rules/src/runtime.rs",
        "Where iota unpacks its Python runtime and bundled rules at start (a few MB, once per \
         version). Default: `$XDG_CACHE_HOME/iota`, else `$HOME/.cache/iota`, else the system \
         temporary directory. Must be writable: with a read-only root filesystem, point it at \
         the data volume (the container image sets `/var/lib/iota/runtime`).",
    ),
    (
        "XDG_CACHE_HOME",
        "crates/iota-rules/src/runtime.rs",
        "See `IOTA_RUNTIME_DIR`.",
    ),
    (
        SPLUNK_TOKEN_ENV,
        "crates/iota-outputs/src/config.rs",
        "The Splunk HEC token of a `splunk` output without `token`.",
    ),
    (
        DATADOG_API_KEY_ENV,
        "crates/iota-outputs/src/config.rs",
        "The Datadog API key of a `datadog` output without `token`.",
    ),
    (
        WEBHOOK_HMAC_KEY_ENV,
        "crates/iota-outputs/src/config.rs",
        "When set, `--output webhook=URL` signs each body: `X-Iota-Signature: sha256=<hex \
         HMAC-SHA256>`.",
    ),
    (
        "HOSTNAME",
        "crates/iota/src/commands/s3_poll/mod.rs",
        "Names this replica in the s3-poll lister lease (Kubernetes sets it to the pod name).",
    ),
    (
        "SLACK_WEBHOOK_URL",
        "crates/iota/src/main.rs",
        "The classic command line only (`iota --mode=...`, docs/DAEMONS.md): adds a Slack \
         output. Elsewhere, name it in an output target: `slack=env:SLACK_WEBHOOK_URL`.",
    ),
];

/// The config file's keys, in the order of the output configuration's schema, each with what
/// it means. The test checks that these are exactly the keys the schema accepts.
fn config_key_meaning(key: &str, defaults: &OutputSettings) -> String {
    match key {
        "name" => "What rules' `OutputIds` and `destinations()` name. Default: the kind, then \
                   `KIND-2`, `KIND-3`, ... for further unnamed outputs of that kind."
            .into(),
        "kind" => {
            let kinds: Vec<String> = OutputKind::ALL
                .iter()
                .map(|k| format!("`{}`", k.as_str()))
                .collect();
            format!("Required. One of {}.", kinds.join(", "))
        }
        "target" => "The `TARGET` of `--output KIND=TARGET`: file path, Slack webhook URL, \
                     PagerDuty routing key, webhook URL, SNS topic ARN, Splunk HEC URL or \
                     Datadog site. All but a file path may be `env:VAR` or `file:PATH`."
            .into(),
        "url" => "Slack, webhook and Splunk: another name for `target`. PagerDuty, Datadog and \
                  SNS: the endpoint to use instead of the public one."
            .into(),
        "min_severity" => format!(
            "Default routing sends only alerts at least this severe (`info` ... `critical`). \
             Default: `{}` (every alert).",
            defaults.min_severity.as_str().to_lowercase()
        ),
        "max_attempts" => format!(
            "Delivery attempts before the alert is marked failed for this output. Default: `{}`.",
            defaults.max_attempts
        ),
        "timeout" => format!(
            "Per request: `10s`, `1500ms`, or a number of seconds. Default: `{}`.",
            humantime::format_duration(defaults.timeout)
        ),
        "hmac_key" => "Webhook: key of the `X-Iota-Signature` HMAC-SHA256 header.".into(),
        "headers" => {
            "Webhook: extra request headers (a table); values may be `env:VAR` or `file:PATH`."
                .into()
        }
        "token" => format!(
            "Splunk HEC token (default `env:{SPLUNK_TOKEN_ENV}`) or Datadog API key (default \
             `env:{DATADOG_API_KEY_ENV}`)."
        ),
        "hostname" => "Datadog: the `hostname` attribute of each log.".into(),
        other => panic!(
            "the config key `{other}` is not described in {}: add it to config_key_meaning",
            file!()
        ),
    }
}

/// The keys the output configuration accepts, as its schema lists them when given an unknown
/// one.
fn config_keys() -> Vec<String> {
    let err = toml::from_str::<OutputConfig>("kind = \"stdout\"\nnot_a_key = 1\n")
        .expect_err("an unknown key is refused");
    let message = err.to_string();
    let listed = message
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected error: {message}"));
    listed
        .split(", ")
        .map(|k| k.trim().trim_matches('`').to_owned())
        .collect()
}

fn render() -> String {
    let mut commands = Vec::new();
    load(Vec::new(), String::new(), &mut commands);
    let root = &commands[0];
    let globals: Vec<&Entry> = root
        .options
        .iter()
        .filter(|e| !matches!(e.key.as_str(), "--help" | "--version"))
        .collect();
    let is_global = |key: &str| globals.iter().any(|g| g.key == key) || key == "--help";

    let mut out = String::new();
    out.push_str(
        "# Configuration reference\n\n\
         <!-- Generated from the iota binary by scripts/gen-configuration; do not edit by hand.\n     \
         crates/iota/tests/configuration_doc.rs fails when this file differs from the CLI. -->\n\n\
         Every option of every `iota` command, with its environment variable and default, as \
         `iota <command> --help` prints them; then the other environment variables iota reads, \
         and the keys of the config file (`--config`).\n\n\
         A command-line flag wins over its environment variable, which wins over the default. \
         For an option that takes several values (the repeatable ones such as `--rules`, and \
         comma-separated lists), the environment variable holds them separated by commas: \
         `IOTA_RULES=/usr/share/iota/rules,/etc/iota/rules`. Durations are written `30s`, \
         `5m`, `1h 30m`, `90d`. The classic command line (`iota --mode=s3-poll ...`) is \
         described in [DAEMONS.md](DAEMONS.md#the-classic-command-line).\n\n",
    );

    out.push_str("## Contents\n\n- [Global options](#global-options)\n");
    for command in &commands[1..] {
        let title = format!("iota {}", command.path.join(" "));
        writeln!(out, "- [`{title}`](#{})", anchor(&title)).unwrap();
    }
    out.push_str(
        "- [Environment variables](#environment-variables)\n\
         - [The config file](#the-config-file)\n\n",
    );

    out.push_str("## Global options\n\nAccepted by every command, before or after its name.\n\n");
    options_table(&mut out, root, &globals);

    for command in &commands[1..] {
        writeln!(
            out,
            "## `iota {}`\n\n{}\n",
            command.path.join(" "),
            command.summary
        )
        .unwrap();
        writeln!(out, "Usage: `{}`\n", command.usage).unwrap();
        if !command.subcommands.is_empty() {
            for (name, summary) in &command.subcommands {
                let title = format!("iota {} {name}", command.path.join(" "));
                writeln!(out, "- [`{title}`](#{}): {summary}", anchor(&title)).unwrap();
            }
            out.push('\n');
        }
        if !command.arguments.is_empty() {
            out.push_str("| argument | environment | default | description |\n|---|---|---|---|\n");
            for entry in &command.arguments {
                writeln!(
                    out,
                    "| `{}` | {} | {} | {} |",
                    cell(&entry.spelling),
                    entry
                        .env
                        .as_ref()
                        .map(|e| format!("`{e}`"))
                        .unwrap_or_default(),
                    cell(entry.default.as_deref().unwrap_or("")),
                    cell(&entry.text.join(" "))
                )
                .unwrap();
            }
            out.push('\n');
        }
        let own: Vec<&Entry> = command
            .options
            .iter()
            .filter(|e| !is_global(&e.key))
            .collect();
        if !own.is_empty() {
            options_table(&mut out, command, &own);
        }
    }

    out.push_str(
        "## Environment variables\n\n\
         Every option's environment variable, and the commands that read it:\n\n\
         | variable | option | commands |\n|---|---|---|\n",
    );
    let mut by_env: BTreeMap<&str, (String, Vec<String>)> = BTreeMap::new();
    for command in &commands {
        for entry in command.options.iter().chain(&command.arguments) {
            let Some(env) = &entry.env else { continue };
            let name = if command.path.is_empty() || is_global(&entry.key) {
                "(every command)".to_owned()
            } else {
                format!("`{}`", command.path.join(" "))
            };
            let (option, users) = by_env
                .entry(env)
                .or_insert_with(|| (format!("`{}`", entry.key), Vec::new()));
            if !option.contains(&format!("`{}`", entry.key)) {
                write!(option, ", `{}`", entry.key).unwrap();
            }
            if !users.contains(&name) {
                users.push(name);
            }
        }
    }
    for (env, (option, users)) in &by_env {
        writeln!(out, "| `{env}` | {option} | {} |", users.join(", ")).unwrap();
    }
    out.push_str(
        "\nAnd the variables iota reads besides the options (the AWS SDK also reads its own: \
         `AWS_REGION`, `AWS_PROFILE`, `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` (IRSA), \
         the ECS and EC2 metadata endpoints, ...):\n\n\
         | variable | meaning |\n|---|---|\n",
    );
    for (env, _, meaning) in OTHER_ENV {
        writeln!(out, "| `{env}` | {} |", cell(meaning)).unwrap();
    }

    let defaults = OutputSettings::new("default");
    out.push_str(
        "\n## The config file\n\n\
         `--config FILE` (`IOTA_CONFIG`) is a TOML file of `[[outputs]]` tables, one per \
         output, added to those of `--output`; an unknown key, or one that does not apply to \
         the output's kind, is an error. Routing and retries: \
         [ALERTS.md](ALERTS.md#outputs).\n\n\
         ```toml\n[[outputs]]\nname = \"oncall\"\nkind = \"pagerduty\"\n\
         target = \"env:PAGERDUTY_ROUTING_KEY\"\nmin_severity = \"high\"\n```\n\n\
         | key | meaning |\n|---|---|\n",
    );
    for key in config_keys() {
        writeln!(
            out,
            "| `{key}` | {} |",
            cell(&config_key_meaning(&key, &defaults))
        )
        .unwrap();
    }
    out.push_str(
        "\nAnd a `[lake]` table with the data lake's options ([LAKE.md](LAKE.md)), named as \
         their flags; a flag or environment variable wins over the file:\n\n\
         ```toml\n[lake]\nuri = \"s3://my-lake/iota\"\nflush_interval = \"5m\"\n```\n\n\
         | key | option |\n|---|---|\n",
    );
    for (key, option) in LAKE_KEYS {
        writeln!(out, "| `{key}` | `{option}` |").unwrap();
    }
    out
}

/// The `[lake]` table's keys and the flags they stand for; the test checks that the iota
/// binary accepts each and refuses any other.
const LAKE_KEYS: &[(&str, &str)] = &[
    ("uri", "--lake"),
    ("flush_size", "--lake-flush-size"),
    ("flush_interval", "--lake-flush-interval"),
    ("region", "--lake-region"),
    ("endpoint_url", "--lake-endpoint-url"),
    ("force_path_style", "--lake-force-path-style"),
];

#[test]
fn the_lake_table_of_the_config_file_has_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("iota.toml");
    // Every documented key is accepted: a wrong value of each is refused by its name.
    std::fs::write(&config, "[lake]\nnot_a_key = 1\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["scan", "--no-rules", "--config"])
        .arg(&config)
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for (key, option) in LAKE_KEYS {
        assert!(
            stderr.contains(&format!("`{key}`")),
            "{key} not accepted: {stderr}"
        );
        assert!(help(&["scan".to_owned()]).contains(option), "{option}");
    }
    let listed = stderr.matches('`').count() / 2;
    assert_eq!(listed, LAKE_KEYS.len() + 1, "undocumented keys: {stderr}");
}

#[test]
fn the_other_environment_variables_are_read_where_documented() {
    for (env, file, _) in OTHER_ENV {
        let source = std::fs::read_to_string(repo_root().join(file)).unwrap();
        assert!(
            source.contains(&format!("\"{env}\"")),
            "{file} no longer reads {env}: update OTHER_ENV in {}",
            file!()
        );
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
