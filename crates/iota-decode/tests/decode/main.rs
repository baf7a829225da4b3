//! Behaviour of `iota_decode::decode` on every input shape it accepts or rejects.

mod common;
mod errors;
mod formats;
mod malformed;
mod seed;
mod streaming;
