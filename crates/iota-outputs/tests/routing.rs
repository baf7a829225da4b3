//! Which outputs an alert goes to: `destinations()`, then `OutputIds`, then severity.

mod common;

use common::alert;
use iota_alerts::Alert;
use iota_outputs::{routes, AlertOutput, DeliveryError};
use iota_rules::Severity;

/// Routing looks at names and severities only.
struct Named(&'static str, Severity);

impl AlertOutput for Named {
    fn name(&self) -> &str {
        self.0
    }
    fn kind(&self) -> &'static str {
        "test"
    }
    fn min_severity(&self) -> Severity {
        self.1
    }
    fn max_attempts(&self) -> u32 {
        1
    }
    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
    fn send(&self, _: &Alert) -> Result<(), DeliveryError> {
        Ok(())
    }
}

const SLACK: Named = Named("slack", Severity::Info);
const PAGER: Named = Named("oncall", Severity::Critical);

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn routed(output: &dyn AlertOutput, alert: &Alert, rule_output_ids: &[String]) -> bool {
    routes(
        output,
        alert.severity,
        alert.destinations.as_deref(),
        rule_output_ids,
    )
}

fn with(severity: Severity, destinations: Option<&[&str]>) -> Alert {
    let mut alert = alert();
    alert.severity = severity;
    alert.destinations = destinations.map(ids);
    alert
}

#[test]
fn default_routing_is_by_minimum_severity() {
    let high = with(Severity::High, None);
    assert!(routed(&SLACK, &high, &[]));
    assert!(!routed(&PAGER, &high, &[]));
    let critical = with(Severity::Critical, None);
    assert!(routed(&SLACK, &critical, &[]));
    assert!(routed(&PAGER, &critical, &[]));
    let info = with(Severity::Info, None);
    assert!(routed(&SLACK, &info, &[]));
}

#[test]
fn output_ids_select_outputs_whatever_their_minimum_severity() {
    let low = with(Severity::Low, None);
    let rule_ids = ids(&["oncall"]);
    assert!(routed(&PAGER, &low, &rule_ids));
    assert!(!routed(&SLACK, &low, &rule_ids));
    assert!(!routed(&SLACK, &low, &ids(&["unknown"])));
}

#[test]
fn destinations_override_output_ids() {
    let rule_ids = ids(&["oncall"]);
    let to_slack = with(Severity::Medium, Some(&["slack"]));
    assert!(routed(&SLACK, &to_slack, &rule_ids));
    assert!(!routed(&PAGER, &to_slack, &rule_ids));

    let to_pager = with(Severity::Info, Some(&["oncall"]));
    assert!(routed(&PAGER, &to_pager, &[]));
    assert!(!routed(&SLACK, &to_pager, &[]));
}

#[test]
fn empty_destinations_go_nowhere() {
    let nowhere = with(Severity::Critical, Some(&[]));
    assert!(!routed(&SLACK, &nowhere, &[]));
    assert!(!routed(&PAGER, &nowhere, &ids(&["oncall"])));
}
