//! The configuration file (`--config iota.toml`): settings with more options than a flag can
//! carry. The outputs, each with its name, routing and delivery options (see
//! [`iota_outputs::OutputConfig`] and docs/ALERTS.md, "Outputs"), and the data lake (the
//! `--lake` options, which win over the file):
//!
//! ```toml
//! [[outputs]]
//! name = "oncall"
//! kind = "pagerduty"
//! target = "env:PAGERDUTY_ROUTING_KEY"
//! min_severity = "high"
//!
//! [lake]
//! uri = "s3://my-lake/iota"
//! flush_interval = "5m"
//! ```

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use iota_outputs::{build_outputs, AlertOutput, OutputConfig, OutputKind};

use crate::UsageError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub outputs: Vec<OutputConfig>,
    pub lake: Option<LakeConfig>,
}

/// The `[lake]` table: the `--lake` options by the names of their flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeConfig {
    pub uri: Option<String>,
    /// A size as `--lake-flush-size` takes it (`64MiB`).
    pub flush_size: Option<String>,
    /// A duration as `--lake-flush-interval` takes it (`1m`).
    pub flush_interval: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub force_path_style: Option<bool>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        toml::from_str(&text).map_err(|err| {
            UsageError(format!(
                "config file {}: {err}(see docs/CONFIGURATION.md, \"The config file\", for the keys)",
                path.display()
            ))
            .into()
        })
    }
}

/// The outputs of the config file followed by those of `--output`; `stdout` when neither
/// names any.
pub fn open_outputs(
    config: Option<&Path>,
    specs: &[String],
) -> anyhow::Result<Vec<Box<dyn AlertOutput>>> {
    let mut configs = match config {
        Some(path) => ConfigFile::load(path)?.outputs,
        None => Vec::new(),
    };
    for spec in specs {
        configs.push(OutputConfig::from_spec(spec).map_err(|e| UsageError(e.to_string()))?);
    }
    if configs.is_empty() {
        configs.push(OutputConfig::new(OutputKind::Stdout));
    }
    build_outputs(&configs).map_err(|e| UsageError(e.to_string()).into())
}
