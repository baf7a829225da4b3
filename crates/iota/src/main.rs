//! `iota`: the command-line entry point. Parses arguments, sets up logging, runs the
//! subcommand and maps failures to exit statuses (1: an input could not be read or a runtime
//! failure, 2: usage or configuration error).

mod classic;
mod cli;
mod commands;
mod committer;
mod config;
mod daemon;
mod delivery;
mod lake;
mod logging;
mod pipeline;
mod report;
mod rule_engine;
mod s3_objects;
mod state_store;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, RulesCommand};

/// A mistake in how iota was invoked or configured (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let classic = classic::translate(&args, std::env::var_os("SLACK_WEBHOOK_URL").is_some());
    let cli = match &classic {
        Some(translated) => Cli::parse_from(&translated.args),
        None => Cli::parse_from(&args),
    };
    if let Err(err) = logging::init(&cli.log_level, cli.log_format) {
        eprintln!("iota: {err:#}");
        return ExitCode::from(2);
    }
    for notice in classic.iter().flat_map(|c| &c.notices) {
        tracing::warn!("{notice}");
    }
    let json_reports = cli.log_format.is_json();
    let result = match cli.command {
        Command::Scan(args) => commands::scan::run(*args, json_reports),
        Command::S3Poll(args) => commands::s3_poll::run(*args),
        Command::Sqs(args) => commands::sqs::run(*args),
        Command::Watch(args) => commands::watch::run(*args),
        Command::Replay(args) => commands::replay::run(*args, json_reports),
        Command::Rules(RulesCommand::Test(args)) => commands::rules::test::run(args),
        Command::Rules(RulesCommand::List(args)) => commands::rules::list::run(args),
        Command::Rules(RulesCommand::Validate(args)) => commands::rules::validate::run(args),
        Command::Alerts(command) => commands::alerts::run(command),
        Command::Sources(command) => commands::sources::run(command),
        Command::Lake(command) => commands::lake::run(command),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            terminal::finish_progress();
            tracing::error!("{err:#}");
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
