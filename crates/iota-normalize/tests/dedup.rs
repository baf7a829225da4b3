//! `DedupWindow`: duplicates, eviction, concurrent use.

use iota_normalize::DedupWindow;

fn id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

#[test]
fn duplicates_are_detected() {
    let window = DedupWindow::new(1_000);
    assert!(window.first_seen("3c856bc0-1a07-4c18-89d9-4d9205856714"));
    assert!(!window.first_seen("3c856bc0-1a07-4c18-89d9-4d9205856714"));
    assert!(!window.first_seen("3c856bc0-1a07-4c18-89d9-4d9205856714"));
    assert!(window.first_seen("fbd91225-39aa-4c00-822c-9f0b96e7758f"));
    assert!(window.first_seen(""));
    assert!(!window.first_seen(""));
}

#[test]
fn recent_ids_are_remembered_within_capacity() {
    // 16 shards of 1,000: 1,000 ids cannot fill any shard.
    let window = DedupWindow::new(16_000);
    assert!((0..1_000).all(|i| window.first_seen(&id(i))));
    assert!((0..1_000).all(|i| !window.first_seen(&id(i))));
}

#[test]
fn oldest_ids_are_evicted_beyond_capacity() {
    // One id per shard: any later id in the same shard pushes the first one out.
    let window = DedupWindow::new(16);
    assert!(window.first_seen(&id(0)));
    assert!(!window.first_seen(&id(0)));
    for i in 1..1_000 {
        window.first_seen(&id(i));
    }
    assert!(window.first_seen(&id(0)), "the oldest id was forgotten");

    // Filling a larger window far beyond its capacity forgets all of the first ids.
    let window = DedupWindow::new(160);
    assert!((0..100).all(|i| window.first_seen(&id(i))));
    for i in 100..10_000 {
        window.first_seen(&id(i));
    }
    assert!((0..100).all(|i| window.first_seen(&id(i))));
}

#[test]
fn zero_capacity_remembers_nothing() {
    let window = DedupWindow::new(0);
    assert!(window.first_seen("a"));
    assert!(window.first_seen("a"));
}

#[test]
fn each_id_is_first_seen_once_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DedupWindow>();

    let window = DedupWindow::new(1_000_000);
    let firsts: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| (0..10_000).filter(|&i| window.first_seen(&id(i))).count()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(firsts, 10_000);
    assert!((0..10_000).all(|i| !window.first_seen(&id(i))));
}
