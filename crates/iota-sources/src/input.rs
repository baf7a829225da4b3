//! One thing to read, whatever its source: a local file, stdin, or an object already
//! downloaded. The pipeline opens each the same way.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use bytes::Bytes;

/// One thing to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    File {
        path: PathBuf,
        size: u64,
    },
    Stdin,
    /// An object downloaded whole (from S3), or why it could not be.
    Object {
        name: String,
        body: Result<Bytes, String>,
    },
}

impl Input {
    /// The name used in messages and in an alert's `source.key`.
    pub fn name(&self) -> String {
        match self {
            Input::File { path, .. } => path.display().to_string(),
            Input::Stdin => "-".into(),
            Input::Object { name, .. } => name.clone(),
        }
    }

    pub fn size(&self) -> Option<u64> {
        match self {
            Input::File { size, .. } => Some(*size),
            Input::Stdin => None,
            Input::Object { body, .. } => body.as_ref().ok().map(|b| b.len() as u64),
        }
    }

    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Input::File { path, .. } => Ok(Box::new(File::open(path)?)),
            Input::Stdin => Ok(Box::new(io::stdin())),
            Input::Object { body, .. } => match body {
                Ok(bytes) => Ok(Box::new(io::Cursor::new(bytes.clone()))),
                Err(reason) => Err(io::Error::other(reason.clone())),
            },
        }
    }
}
