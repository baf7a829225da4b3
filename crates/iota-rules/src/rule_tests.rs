//! Rule test cases (SPEC 3.3): Panther YAML `Tests:` and, for plain-Python rules, a
//! `<rule>.tests.yml` file beside the rule with a `tests:` list. Both spell keys either way
//! (`Name`/`name`, `ExpectedResult`/`expected_result`, `Log`/`log`, `Mocks`/`mocks` of
//! `objectName`/`object_name` and `returnValue`/`return_value`).

use serde::{Deserialize, Serialize};

/// One test case of a rule.
#[derive(Clone, Debug, Serialize)]
pub struct RuleTest {
    pub name: String,
    pub expected: bool,
    /// The event as written in the test.
    #[serde(skip)]
    pub log: serde_json::Value,
    pub mocks: Vec<Mock>,
}

/// A module attribute replaced by a `MagicMock(return_value=...)` during one test.
#[derive(Clone, Debug, Serialize)]
pub struct Mock {
    pub name: String,
    pub return_value: serde_json::Value,
}

#[derive(Deserialize)]
struct TestSpec {
    #[serde(alias = "Name")]
    name: Option<String>,
    #[serde(alias = "ExpectedResult")]
    expected_result: Option<bool>,
    #[serde(alias = "Log")]
    log: Option<serde_json::Value>,
    #[serde(alias = "Mocks", default)]
    mocks: Vec<MockSpec>,
}

#[derive(Deserialize)]
struct MockSpec {
    #[serde(alias = "objectName")]
    object_name: Option<String>,
    #[serde(alias = "returnValue", default)]
    return_value: serde_json::Value,
}

/// The `tests:` file of a plain-Python rule.
#[derive(Deserialize)]
struct PlainTestFile {
    #[serde(alias = "Tests")]
    tests: Option<serde_yaml::Value>,
}

/// Parses a YAML list of test cases. Broken cases are returned as messages; the good ones
/// are still used.
pub(crate) fn parse_tests(value: &serde_yaml::Value) -> (Vec<RuleTest>, Vec<String>) {
    let mut tests = Vec::new();
    let mut problems = Vec::new();
    let Some(items) = value.as_sequence() else {
        return (tests, vec!["Tests must be a list of test cases".into()]);
    };
    for (position, item) in items.iter().enumerate() {
        let label = format!("test #{}", position + 1);
        let spec: TestSpec = match serde_yaml::from_value(item.clone()) {
            Ok(spec) => spec,
            Err(err) => {
                problems.push(format!("{label}: {err}"));
                continue;
            }
        };
        let name = spec.name.unwrap_or_else(|| label.clone());
        let Some(expected) = spec.expected_result else {
            problems.push(format!(
                "test {name:?}: missing ExpectedResult (true or false)"
            ));
            continue;
        };
        let log = match spec.log {
            Some(log @ serde_json::Value::Object(_)) => log,
            // Panther also accepts the event as a JSON string.
            Some(serde_json::Value::String(text)) => match serde_json::from_str(&text) {
                Ok(log @ serde_json::Value::Object(_)) => log,
                _ => {
                    problems.push(format!(
                        "test {name:?}: Log is a string but not a JSON object"
                    ));
                    continue;
                }
            },
            _ => {
                problems.push(format!(
                    "test {name:?}: missing Log (the event, as a mapping)"
                ));
                continue;
            }
        };
        let mut mocks = Vec::new();
        for mock in spec.mocks {
            match mock.object_name {
                Some(name) => mocks.push(Mock {
                    name,
                    return_value: mock.return_value,
                }),
                None => problems.push(format!("test {name:?}: a mock without objectName")),
            }
        }
        tests.push(RuleTest {
            name,
            expected,
            log,
            mocks,
        });
    }
    (tests, problems)
}

/// Reads `<stem>.tests.yml` (or `.tests.yaml`) beside a plain rule, if there is one: its
/// path, the good cases, and a message per broken case (or for an unreadable file).
pub(crate) fn plain_rule_tests(
    rule_file: &std::path::Path,
) -> Option<(std::path::PathBuf, Vec<RuleTest>, Vec<String>)> {
    let stem = rule_file.file_stem()?.to_string_lossy().into_owned();
    let dir = rule_file.parent()?;
    let path = ["yml", "yaml"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.tests.{ext}")))
        .find(|p| p.is_file())?;
    let parsed = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|text| {
            serde_yaml::from_str::<PlainTestFile>(&text).map_err(|e| format!("invalid YAML: {e}"))
        });
    let (tests, problems) = match parsed {
        Ok(PlainTestFile { tests: Some(list) }) => parse_tests(&list),
        Ok(PlainTestFile { tests: None }) => (Vec::new(), vec!["no `tests:` list".into()]),
        Err(message) => (Vec::new(), vec![message]),
    };
    Some((path, tests, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_spellings_and_string_logs_are_accepted() {
        let yaml: serde_yaml::Value = serde_yaml::from_str(
            r#"
- Name: panther style
  ExpectedResult: true
  Log: {eventName: StopLogging}
  Mocks:
    - objectName: get_counter
      returnValue: 5
- name: plain style
  expected_result: false
  log: '{"eventName": "StartLogging"}'
- Name: broken
  Log: {eventName: X}
"#,
        )
        .unwrap();
        let (tests, problems) = parse_tests(&yaml);
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].mocks[0].name, "get_counter");
        assert_eq!(tests[0].mocks[0].return_value, serde_json::json!(5));
        assert!(!tests[1].expected);
        assert_eq!(tests[1].log["eventName"], "StartLogging");
        assert_eq!(
            problems,
            vec!["test \"broken\": missing ExpectedResult (true or false)"]
        );
    }
}
