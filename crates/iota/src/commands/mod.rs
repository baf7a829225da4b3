//! One module per subcommand.

pub mod alerts;
pub mod rules;
pub mod scan;
