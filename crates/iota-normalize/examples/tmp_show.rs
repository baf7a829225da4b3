fn main() {
    let n = iota_normalize::Normalizer::new(iota_normalize::SourceInfo{id:"src".into(),label:"lab \"x\"".into()});
    for line in include_str!("../tests/data/cloudtrail-events.jsonl").lines().take(3) {
        let e = n.normalize(line.as_bytes(), chrono::Utc::now()).unwrap();
        let s = String::from_utf8(e.json).unwrap();
        println!("{}\n", &s[line.len()-1..]);
    }
    for raw in [&b"{\"a\" 1}"[..], b"{a:1}", b"{\"eventName\":1}x", b"", b"{\"eventName\":\"\x01\"}"] {
        println!("{}", n.normalize(raw, chrono::Utc::now()).unwrap_err());
    }
}
