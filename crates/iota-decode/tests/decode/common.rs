//! Shared helpers: run the decoder and collect what it delivered.

use std::io::{self, Read, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use iota_decode::{decode, DecodeFailure, DecodeOptions, DecodeStats, Malformed, Position, Record};

/// What `on_record` received, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Event(Vec<u8>, Position),
    Malformed(Malformed),
}

impl Item {
    pub fn event(&self) -> Option<&[u8]> {
        match self {
            Item::Event(raw, _) => Some(raw),
            Item::Malformed(_) => None,
        }
    }

    pub fn malformed(&self) -> Option<&Malformed> {
        match self {
            Item::Malformed(m) => Some(m),
            Item::Event(..) => None,
        }
    }

    pub fn position(&self) -> Position {
        match self {
            Item::Event(_, p) => *p,
            Item::Malformed(m) => m.position,
        }
    }
}

pub struct Outcome {
    pub items: Vec<Item>,
    pub result: Result<DecodeStats, DecodeFailure>,
}

impl Outcome {
    pub fn stats(&self) -> &DecodeStats {
        match &self.result {
            Ok(stats) => stats,
            Err(failure) => panic!("decode failed: {failure} ({:?})", failure.stats),
        }
    }

    pub fn events(&self) -> Vec<&[u8]> {
        self.items.iter().filter_map(Item::event).collect()
    }

    pub fn event_strings(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .map(|raw| String::from_utf8(raw.to_vec()).expect("event is UTF-8"))
            .collect()
    }

    pub fn malformed(&self) -> Vec<&Malformed> {
        self.items.iter().filter_map(Item::malformed).collect()
    }
}

pub fn run_with(input: impl Read, name: &str, opts: &DecodeOptions) -> Outcome {
    let mut items = Vec::new();
    let result = decode(input, name, opts, &mut |record| {
        items.push(match record {
            Record::Event { raw, position } => Item::Event(raw.to_vec(), position),
            Record::Malformed(m) => Item::Malformed(m),
        })
    });
    if let Ok(stats) = &result {
        let events = items.iter().filter(|i| i.event().is_some()).count() as u64;
        assert_eq!(stats.events, events, "stats.events matches deliveries");
        assert_eq!(
            stats.malformed,
            items.len() as u64 - events,
            "stats.malformed matches deliveries"
        );
    }
    Outcome { items, result }
}

pub fn run(input: &[u8]) -> Outcome {
    run_with(input, "test.json", &DecodeOptions::default())
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A reader that hands out at most `max` bytes per call, with varying sizes, to exercise
/// every split point between reads.
pub struct Trickle<'a> {
    pub data: &'a [u8],
    pub max: usize,
    pub state: u64,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.state = self
            .state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let want = 1 + (self.state >> 33) as usize % self.max;
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
