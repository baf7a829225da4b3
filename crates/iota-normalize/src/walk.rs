//! The single streaming parse of one event: sonic-rs tokenizes the JSON and this module hands
//! every object key and string leaf to a [`LogType`], without building a document tree.
//!
//! Why not `sonic_rs::Value`: on the seed CloudTrail data, building a `Value` and walking it
//! afterwards cost about 1.5x this visitor, which looks at each value while it is parsed.
//!
//! The parse recurses once per nesting level, so nesting is capped at [`MAX_NESTING`]
//! objects/arrays (an error beyond): sonic-rs's own cap (255) allows 4.6 MB of stack in a
//! debug build (18 KB per level; 320 bytes in release), more than a 2 MB thread has.
//! Real CloudTrail events nest about 11 levels deep.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::log_types::LogType;

/// A string value or key from the event.
///
/// Strings without escapes are borrowed from the input for the whole normalization; strings
/// with escapes are decoded into sonic-rs's scratch buffer, which only lives for one
/// callback, so they are copied only when a log type keeps them.
#[derive(Clone, Copy)]
pub(crate) enum Text<'de, 'a> {
    Input(&'de str),
    Scratch(&'a str),
}

impl<'de, 'a> Text<'de, 'a> {
    pub(crate) fn as_str(&self) -> &'a str
    where
        'de: 'a,
    {
        match *self {
            Text::Input(s) => s,
            Text::Scratch(s) => s,
        }
    }

    /// `part`, a sub-slice of this string, still borrowed from the input when this was.
    pub(crate) fn sub(self, part: &str) -> Self {
        let whole = self.as_str();
        let start = (part.as_ptr() as usize)
            .checked_sub(whole.as_ptr() as usize)
            .expect("`part` is a sub-slice of this string");
        let range = start..start + part.len();
        match self {
            Text::Input(s) => Text::Input(&s[range]),
            Text::Scratch(s) => Text::Scratch(&s[range]),
        }
    }

    /// A value that outlives the callback: borrowed (only) when it is a slice of the input
    /// without escapes, copied otherwise.
    pub(crate) fn keep(self) -> Cow<'de, str> {
        match self {
            Text::Input(s) => Cow::Borrowed(s),
            Text::Scratch(s) => Cow::Owned(s.to_owned()),
        }
    }
}

/// Deepest nesting of objects and arrays accepted, the top-level object included.
pub(crate) const MAX_NESTING: usize = 64;

/// Parses `json` completely (syntax, nesting, trailing characters; the caller has checked
/// UTF-8) while feeding `log_type` every key and string leaf.
pub(crate) fn walk<'de, L: LogType<'de>>(json: &'de str, log_type: &mut L) -> sonic_rs::Result<()> {
    let mut de = sonic_rs::Deserializer::from_str(json);
    Node {
        log_type,
        ctx: L::root(),
        depth: 0,
    }
    .deserialize(&mut de)?;
    de.end()
}

/// One value being parsed, with where it sits in the event (in the log type's terms).
struct Node<'s, 'de, L: LogType<'de>> {
    log_type: &'s mut L,
    ctx: L::Ctx,
    /// Objects and arrays around this value.
    depth: usize,
}

impl<'de, L: LogType<'de>> Node<'_, 'de, L> {
    /// The depth of this value's children, if they may be parsed.
    fn nested<E: serde::de::Error>(&self) -> Result<usize, E> {
        if self.depth < MAX_NESTING {
            Ok(self.depth + 1)
        } else {
            Err(E::custom(format_args!(
                "objects and arrays nested more than {MAX_NESTING} levels deep"
            )))
        }
    }
}

impl<'de, L: LogType<'de>> DeserializeSeed<'de> for Node<'_, 'de, L> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de, L: LogType<'de>> Visitor<'de> for Node<'_, 'de, L> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<(), E> {
        self.log_type.string(self.ctx, Text::Input(value));
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        self.log_type.string(self.ctx, Text::Scratch(value));
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = self.nested()?;
        while let Some(ctx) = map.next_key_seed(Key {
            log_type: &mut *self.log_type,
            parent: self.ctx,
        })? {
            map.next_value_seed(Node {
                log_type: &mut *self.log_type,
                ctx,
                depth,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.nested()?;
        let ctx = self.log_type.element(self.ctx);
        while seq
            .next_element_seed(Node {
                log_type: &mut *self.log_type,
                ctx,
                depth,
            })?
            .is_some()
        {}
        Ok(())
    }

    // Numbers, booleans and null carry no indicator in any log type so far.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// An object key: turned into the context of its value right away, so that keys with
/// escapes (decoded into scratch space) need no copy.
struct Key<'s, 'de, L: LogType<'de>> {
    log_type: &'s mut L,
    parent: L::Ctx,
}

impl<'de, L: LogType<'de>> DeserializeSeed<'de> for Key<'_, 'de, L> {
    type Value = L::Ctx;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<L::Ctx, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de, L: LogType<'de>> Visitor<'de> for Key<'_, 'de, L> {
    type Value = L::Ctx;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<L::Ctx, E> {
        Ok(self.log_type.child(self.parent, key))
    }
}
