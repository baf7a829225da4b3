//! One module per subcommand, and what the state-store commands share for printing (`text`).

pub mod alerts;
pub mod lake;
pub mod replay;
pub mod rules;
pub mod s3_poll;
pub mod scan;
pub mod sources;
pub mod sqs;
mod text;
pub mod watch;
