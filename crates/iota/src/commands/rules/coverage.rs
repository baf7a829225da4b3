//! `iota rules list --coverage`: which rules cover each CIS AWS Foundations Benchmark
//! monitoring control and each ATT&CK tactic and technique that SPEC 3.4 asks the bundled pack
//! to cover, read from the rules' `Reports`. An item no enabled rule covers makes the command
//! fail, so a pack cannot silently lose coverage.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use iota_rules::Rule;

const CIS_KEY: &str = "CIS AWS Foundations Benchmark";
const ATTACK_KEY: &str = "MITRE ATT&CK";

/// CIS AWS Foundations Benchmark v1.5.0, section 4 (monitoring).
const CIS_CONTROLS: &[(&str, &str)] = &[
    ("4.1", "Unauthorized API calls"),
    ("4.2", "Management console sign-in without MFA"),
    ("4.3", "Usage of the root account"),
    ("4.4", "IAM policy changes"),
    ("4.5", "CloudTrail configuration changes"),
    ("4.6", "Console authentication failures"),
    (
        "4.7",
        "Disabling or scheduled deletion of customer created CMKs",
    ),
    ("4.8", "S3 bucket policy changes"),
    ("4.9", "AWS Config configuration changes"),
    ("4.10", "Security group changes"),
    ("4.11", "Network ACL changes"),
    ("4.12", "Changes to network gateways"),
    ("4.13", "Route table changes"),
    ("4.14", "VPC changes"),
    ("4.15", "AWS Organizations changes"),
    ("4.16", "AWS Security Hub changes"),
];

/// The attack families of SPEC 3.4, each recognised by ATT&CK ids in `Reports` (a tactic id
/// matches any technique reported under it; a technique id matches it and its sub-techniques).
const ATTACK_FAMILIES: &[(&str, &[&str])] = &[
    (
        "Defense evasion: cloud logs stopped, deleted or reduced (CloudTrail, flow logs)",
        &["T1562.008"],
    ),
    (
        "Defense evasion: security tools disabled (GuardDuty, Config, Security Hub)",
        &["T1562.001"],
    ),
    ("Persistence: cloud account created", &["T1136.003"]),
    (
        "Persistence: additional cloud credentials (access keys, login profiles)",
        &["T1098.001"],
    ),
    (
        "Persistence: roles, trust policies and admin policies",
        &["T1098.003", "T1098"],
    ),
    (
        "Persistence / execution: serverless functions changed",
        &["T1648", "T1525"],
    ),
    ("Privilege escalation", &["TA0004"]),
    (
        "Credential access: secrets, parameters, instance credentials",
        &["TA0006"],
    ),
    ("Discovery bursts", &["TA0007"]),
    (
        "Exfiltration: snapshots, images and buckets shared or replicated",
        &["TA0010", "T1537", "T1530"],
    ),
    (
        "Impact: ransomware, key deletion, mass deletion",
        &["TA0040"],
    ),
    (
        "Initial access: root login, brute force, leaving the organization, new regions",
        &["TA0001"],
    ),
];

/// The coverage report, and whether every required item is covered.
pub fn report(rules: &[&Rule]) -> (String, bool) {
    let enabled: Vec<&Rule> = rules.iter().copied().filter(|r| r.enabled).collect();
    let mut text = String::new();
    let mut complete = true;
    let mut row = |text: &mut String, item: &str, ids: Vec<&str>| {
        if ids.is_empty() {
            complete = false;
        }
        let ids = if ids.is_empty() {
            "MISSING".to_string()
        } else {
            ids.join(", ")
        };
        writeln!(text, "| {item} | {ids} |").unwrap();
    };

    writeln!(
        text,
        "## CIS AWS Foundations Benchmark v1.5.0, monitoring controls\n"
    )
    .unwrap();
    writeln!(text, "| control | rules |\n|---|---|").unwrap();
    for (id, name) in CIS_CONTROLS {
        let covering = rule_ids(&enabled, |r| reported(r, CIS_KEY).any(|v| v == *id));
        row(&mut text, &format!("{id} {name}"), covering);
    }

    writeln!(text, "\n## Attack techniques (SPEC 3.4)\n").unwrap();
    writeln!(text, "| family | ATT&CK | rules |\n|---|---|---|").unwrap();
    for (family, ids) in ATTACK_FAMILIES {
        let covering = rule_ids(&enabled, |r| {
            reported(r, ATTACK_KEY).any(|v| ids.iter().any(|id| attack_matches(v, id)))
        });
        row(
            &mut text,
            &format!("{family} | {}", ids.join(", ")),
            covering,
        );
    }

    writeln!(text, "\n## Every ATT&CK technique reported by the pack\n").unwrap();
    writeln!(text, "| technique | rules |\n|---|---|").unwrap();
    let mut by_technique: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for rule in &enabled {
        for value in reported(rule, ATTACK_KEY) {
            by_technique.entry(value).or_default().push(&rule.id);
        }
    }
    for (technique, mut ids) in by_technique {
        ids.sort_unstable();
        ids.dedup();
        writeln!(text, "| {technique} | {} |", ids.join(", ")).unwrap();
    }
    (text, complete)
}

fn reported<'a>(rule: &'a Rule, key: &'static str) -> impl Iterator<Item = &'a str> {
    rule.reports
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
        .flat_map(|(_, values)| values.iter().map(String::as_str))
}

/// `value` is `TAxxxx:Txxxx.yyy` (or just one of the two).
fn attack_matches(value: &str, wanted: &str) -> bool {
    value.split(':').any(|part| {
        part == wanted || (part.starts_with(wanted) && part[wanted.len()..].starts_with('.'))
    })
}

fn rule_ids<'a>(rules: &[&'a Rule], covers: impl Fn(&Rule) -> bool) -> Vec<&'a str> {
    let mut ids: Vec<&str> = rules
        .iter()
        .filter(|r| covers(r))
        .map(|r| r.id.as_str())
        .collect();
    ids.sort_unstable();
    ids
}

#[cfg(test)]
mod tests {
    use super::attack_matches;

    #[test]
    fn attack_ids_match_tactics_techniques_and_sub_techniques() {
        assert!(attack_matches("TA0005:T1562.008", "T1562.008"));
        assert!(attack_matches("TA0005:T1562.008", "TA0005"));
        assert!(attack_matches("TA0003:T1098.001", "T1098"));
        assert!(!attack_matches("TA0003:T1098.001", "T1098.003"));
        assert!(!attack_matches("TA0003:T10981", "T1098"));
    }
}
