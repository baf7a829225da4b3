//! Sources: where input bytes come from. [`local`] covers files, directory trees and stdin.

pub mod local;

pub use local::{expand_paths, Input, InputListError};
