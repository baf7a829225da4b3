//! Sources: where input bytes come from. [`local`] covers files, directory trees and stdin;
//! [`s3`] CloudTrail buckets (prefix discovery, listing from a cursor, downloads) and [`sqs`]
//! the S3 notifications of a queue, both reached through [`aws`]; [`lake`] the files of a
//! time range in a data lake iota wrote, local or on S3.

pub mod aws;
mod input;
pub mod local;
pub mod s3;
pub mod sqs;

pub use input::Input;
pub use local::{expand_paths, InputListError};
