//! Sources: where input bytes come from. [`local`] covers files, directory trees and stdin;
//! [`s3`] CloudTrail buckets (prefix discovery, listing from a cursor, downloads), reached
//! through [`aws`].

pub mod aws;
mod input;
pub mod local;
pub mod s3;

pub use input::Input;
pub use local::{expand_paths, InputListError};
