//! The counters are in the exposition before anything increments them. A test binary of its
//! own, so no other test increments them first.

use iota_ops::metrics;

#[test]
fn counters_are_exposed_at_zero_before_the_first_increment() {
    let handle = metrics::install().unwrap();
    let exposition = handle.render();
    for series in [
        "iota_events_total 0",
        "iota_bytes_total 0",
        "iota_malformed_total 0",
        "iota_worker_restarts_total 0",
        r#"iota_objects_total{outcome="ok"} 0"#,
        r#"iota_objects_total{outcome="partial"} 0"#,
        r#"iota_objects_total{outcome="failed"} 0"#,
    ] {
        assert!(
            exposition.lines().any(|line| line == series),
            "no `{series}` in:\n{exposition}"
        );
    }
    assert!(exposition.contains("# TYPE iota_events_total counter\n"));
    assert!(exposition.contains("# HELP iota_events_total CloudTrail events read from sources.\n"));
}

#[test]
fn installing_twice_returns_the_same_recorder() {
    let first = metrics::install().unwrap();
    let second = metrics::install().unwrap();
    // A labelled counter: the other test here asserts the unlabelled ones are still 0.
    metrics::delivery_attempt("install-twice", true);
    let series = r#"iota_delivery_attempts_total{output="install-twice"} "#;
    let line = |handle: &metrics::MetricsHandle| {
        handle
            .render()
            .lines()
            .find(|line| line.starts_with(series))
            .map(str::to_owned)
    };
    // Both handles see the increment made through the facade: one recorder.
    assert_eq!(line(&first), Some(format!("{series}1")));
    assert_eq!(line(&second), line(&first));
}
