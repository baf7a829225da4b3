//! `iota lake ddl`: the Athena / Glue table definitions of the lake `--lake` writes.

use iota_lake::{create_tables, LakeUri};

use crate::cli::LakeCommand;
use crate::UsageError;

pub fn run(command: LakeCommand) -> anyhow::Result<u8> {
    match command {
        LakeCommand::Ddl(args) => {
            let Some(uri) = args.lake else {
                return Err(UsageError(
                    "iota lake ddl needs the lake's location: --lake s3://BUCKET/PREFIX (or IOTA_LAKE)"
                        .to_owned(),
                )
                .into());
            };
            let location = match LakeUri::parse(&uri).map_err(|e| UsageError(e.to_string()))? {
                s3 @ LakeUri::S3 { .. } => s3.to_string(),
                LakeUri::File(_) => {
                    return Err(UsageError(format!(
                        "Athena reads tables from S3 only, not {uri}: give the s3:// location of the lake"
                    ))
                    .into())
                }
            };
            if !is_identifier(&args.database) {
                return Err(UsageError(format!(
                    "--database {:?}: an Athena database name is letters, digits and underscores",
                    args.database
                ))
                .into());
            }
            print!("{}", create_tables(&args.database, &location));
            Ok(0)
        }
    }
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
