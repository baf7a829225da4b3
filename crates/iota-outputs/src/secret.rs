//! Secrets (webhook URLs, routing keys, tokens, HMAC keys): written in the config or on the
//! command line as a literal, `env:VAR` or `file:PATH`, and never printed.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A resolved secret value. `Debug` and `Display` print `***`, so a secret cannot reach a log
/// line, an error or `--help` output by accident; [`Secret::expose`] is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a secret is written: `env:VAR` (read from the environment), `file:PATH` (read from a
/// file, trailing newlines trimmed, as mounted Kubernetes secrets end with one) or the value
/// itself. It is resolved when outputs are built, so a missing variable or file stops iota
/// at start-up instead of failing deliveries later.
///
/// `Debug` and `Display` show where an `env:` or `file:` secret comes from, and `***` for a
/// literal.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub struct SecretRef(Source);

#[derive(Clone, PartialEq, Eq)]
enum Source {
    Literal(String),
    Env(String),
    File(PathBuf),
}

impl SecretRef {
    /// Reads `env:VAR`, `file:PATH` or a literal. Never fails: resolving does.
    pub fn parse(spec: &str) -> Self {
        SecretRef(if let Some(var) = spec.strip_prefix("env:") {
            Source::Env(var.to_owned())
        } else if let Some(path) = spec.strip_prefix("file:") {
            Source::File(PathBuf::from(path))
        } else {
            Source::Literal(spec.to_owned())
        })
    }

    pub fn env(var: impl Into<String>) -> Self {
        SecretRef(Source::Env(var.into()))
    }

    /// The secret's value, read now.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        let value = match &self.0 {
            Source::Literal(value) => value.clone(),
            Source::Env(var) => std::env::var(var).map_err(|err| match err {
                std::env::VarError::NotPresent => SecretError::EnvUnset(var.clone()),
                std::env::VarError::NotUnicode(_) => SecretError::EnvNotUnicode(var.clone()),
            })?,
            Source::File(path) => read_secret_file(path)?,
        };
        if value.is_empty() {
            return Err(SecretError::Empty(match &self.0 {
                Source::Literal(_) => "the value".to_owned(),
                _ => self.to_string(),
            }));
        }
        Ok(Secret(value))
    }

    /// The text as written, for targets that are secret for some output kinds only (a
    /// file output's path is not a secret, and may well start with `file:`).
    pub(crate) fn as_written(&self) -> String {
        match &self.0 {
            Source::Literal(value) => value.clone(),
            Source::Env(var) => format!("env:{var}"),
            Source::File(path) => format!("file:{}", path.display()),
        }
    }
}

impl From<String> for SecretRef {
    fn from(spec: String) -> Self {
        SecretRef::parse(&spec)
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Literal(_) => f.write_str("***"),
            Source::Env(var) => write!(f, "env:{var}"),
            Source::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn read_secret_file(path: &Path) -> Result<String, SecretError> {
    let text = std::fs::read_to_string(path).map_err(|err| SecretError::File {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    EnvUnset(String),
    #[error("environment variable {0} is not valid UTF-8")]
    EnvNotUnicode(String),
    #[error("cannot read secret file {}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("{0} is empty")]
    Empty(String),
}
