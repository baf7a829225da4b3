//! Which outputs an alert goes to. Panther's order of precedence is the reference: the
//! rule's `destinations()` result, else its `OutputIds`, else default routing by severity.

use iota_alerts::Alert;

use crate::AlertOutput;

/// Whether `alert` goes to `output`, given the `OutputIds` of the alert's rule.
///
/// - `destinations()` returned a list (`alert.destinations` is `Some`): exactly the outputs
///   it names; `[]` means none.
/// - Else, the rule has `OutputIds`: exactly those outputs.
/// - Else (default routing): every output whose `min_severity` the alert reaches.
///
/// An output named by the rule receives the alert whatever its severity: naming an output is
/// an explicit decision that a severity floor meant for default routing must not override.
pub fn routes(output: &dyn AlertOutput, alert: &Alert, rule_output_ids: &[String]) -> bool {
    let named = |names: &[String]| names.iter().any(|name| name == output.name());
    match &alert.destinations {
        Some(destinations) => named(destinations),
        None if !rule_output_ids.is_empty() => named(rule_output_ids),
        None => alert.severity >= output.min_severity(),
    }
}
