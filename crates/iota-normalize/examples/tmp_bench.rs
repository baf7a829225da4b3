use std::time::Instant;
fn main() {
    let data = std::fs::read("/tmp/seed.jsonl").unwrap();
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let n = iota_normalize::Normalizer::new(iota_normalize::SourceInfo{id:"src".into(),label:"lab".into()});
    let now = chrono::Utc::now();
    let iters: usize = std::env::var("ITERS").map(|s| s.parse().unwrap()).unwrap_or(40);
    for _ in 0..3 {
        let t = Instant::now(); let mut acc = 0usize;
        for _ in 0..iters { for l in &lines { let e = n.normalize(l, now).unwrap(); acc += e.json.len(); } }
        let c = (iters * lines.len()) as f64; let el = t.elapsed().as_secs_f64();
        println!("normalize: {:.0} ev/s {:.3} µs/ev (out {} B/ev)", c/el, el*1e6/c, acc / (iters*lines.len()));
    }
}
