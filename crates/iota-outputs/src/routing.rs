//! Which outputs an alert goes to. Panther's order of precedence is the reference: the
//! rule's `destinations()` result, else its `OutputIds`, else default routing by severity.

use iota_rules::Severity;

use crate::AlertOutput;

/// Whether an alert of `severity` goes to `output`, given what the rule's `destinations()`
/// returned for it and the rule's `OutputIds`.
///
/// - `destinations()` returned a list (`destinations` is `Some`): exactly the outputs it
///   names; `[]` means none.
/// - Else, the rule has `OutputIds`: exactly those outputs.
/// - Else (default routing): every output whose `min_severity` the alert reaches.
///
/// An output named by the rule receives the alert whatever its severity: naming an output is
/// an explicit decision that a severity floor meant for default routing must not override.
pub fn routes(
    output: &dyn AlertOutput,
    severity: Severity,
    destinations: Option<&[String]>,
    rule_output_ids: &[String],
) -> bool {
    let named = |names: &[String]| names.iter().any(|name| name == output.name());
    match destinations {
        Some(destinations) => named(destinations),
        None if !rule_output_ids.is_empty() => named(rule_output_ids),
        None => severity >= output.min_severity(),
    }
}
