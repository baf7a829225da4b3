//! The single streaming parse of one event: sonic-rs tokenizes the JSON and this module hands
//! every object key and leaf value to a [`Sink`] (a log type, the prefilter's field
//! captures), without building a document tree.
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

/// A non-string leaf value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Scalar {
    Bool(bool),
    Number(f64),
    Null,
}

/// What the streaming parse reports to: every key (as the context of its value), array, and
/// leaf value.
///
/// `Ctx` is the sink's own small `Copy` notion of "where am I" (e.g. "inside
/// `userIdentity.sessionContext`"), handed back with each value, so that paths are recognised
/// without the parser allocating or remembering them.
pub(crate) trait Sink<'de> {
    type Ctx: Copy;

    /// The context of the top-level object.
    fn root() -> Self::Ctx;

    /// The context of the value under `key` in an object whose context is `parent`.
    fn child(&mut self, parent: Self::Ctx, key: &str) -> Self::Ctx;

    /// The context of the elements of an array whose context is `parent`.
    fn element(&mut self, parent: Self::Ctx) -> Self::Ctx;

    /// A string value.
    fn string(&mut self, ctx: Self::Ctx, value: Text<'de, '_>);

    /// A number, boolean or null.
    fn scalar(&mut self, _ctx: Self::Ctx, _value: Scalar) {}
}

/// Two sinks fed by one parse.
pub(crate) struct Both<'a, A, B>(pub &'a mut A, pub &'a mut B);

impl<'de, A: Sink<'de>, B: Sink<'de>> Sink<'de> for Both<'_, A, B> {
    type Ctx = (A::Ctx, B::Ctx);

    fn root() -> Self::Ctx {
        (A::root(), B::root())
    }

    fn child(&mut self, parent: Self::Ctx, key: &str) -> Self::Ctx {
        (self.0.child(parent.0, key), self.1.child(parent.1, key))
    }

    fn element(&mut self, parent: Self::Ctx) -> Self::Ctx {
        (self.0.element(parent.0), self.1.element(parent.1))
    }

    fn string(&mut self, ctx: Self::Ctx, value: Text<'de, '_>) {
        self.0.string(ctx.0, value);
        self.1.string(ctx.1, value);
    }

    fn scalar(&mut self, ctx: Self::Ctx, value: Scalar) {
        self.0.scalar(ctx.0, value);
        self.1.scalar(ctx.1, value);
    }
}

/// Deepest nesting of objects and arrays accepted, the top-level object included.
pub(crate) const MAX_NESTING: usize = 64;

/// Parses `json` completely (syntax, nesting, trailing characters; the caller has checked
/// UTF-8) while feeding `sink` every key and leaf value.
pub(crate) fn walk<'de, S: Sink<'de>>(json: &'de str, sink: &mut S) -> sonic_rs::Result<()> {
    let mut de = sonic_rs::Deserializer::from_str(json);
    Node {
        sink,
        ctx: S::root(),
        depth: 0,
    }
    .deserialize(&mut de)?;
    de.end()
}

/// One value being parsed, with where it sits in the event (in the log type's terms).
struct Node<'s, 'de, S: Sink<'de>> {
    sink: &'s mut S,
    ctx: S::Ctx,
    /// Objects and arrays around this value.
    depth: usize,
}

impl<'de, S: Sink<'de>> Node<'_, 'de, S> {
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

impl<'de, S: Sink<'de>> DeserializeSeed<'de> for Node<'_, 'de, S> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de, S: Sink<'de>> Visitor<'de> for Node<'_, 'de, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<(), E> {
        self.sink.string(self.ctx, Text::Input(value));
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        self.sink.string(self.ctx, Text::Scratch(value));
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = self.nested()?;
        while let Some(ctx) = map.next_key_seed(Key {
            sink: &mut *self.sink,
            parent: self.ctx,
        })? {
            map.next_value_seed(Node {
                sink: &mut *self.sink,
                ctx,
                depth,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.nested()?;
        let ctx = self.sink.element(self.ctx);
        while seq
            .next_element_seed(Node {
                sink: &mut *self.sink,
                ctx,
                depth,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        self.sink.scalar(self.ctx, Scalar::Bool(value));
        Ok(())
    }

    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        self.sink.scalar(self.ctx, Scalar::Number(value as f64));
        Ok(())
    }

    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        self.sink.scalar(self.ctx, Scalar::Number(value as f64));
        Ok(())
    }

    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        self.sink.scalar(self.ctx, Scalar::Number(value));
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.sink.scalar(self.ctx, Scalar::Null);
        Ok(())
    }
}

/// An object key: turned into the context of its value right away, so that keys with
/// escapes (decoded into scratch space) need no copy.
struct Key<'s, 'de, S: Sink<'de>> {
    sink: &'s mut S,
    parent: S::Ctx,
}

impl<'de, S: Sink<'de>> DeserializeSeed<'de> for Key<'_, 'de, S> {
    type Value = S::Ctx;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<S::Ctx, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de, S: Sink<'de>> Visitor<'de> for Key<'_, 'de, S> {
    type Value = S::Ctx;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<S::Ctx, E> {
        Ok(self.sink.child(self.parent, key))
    }
}
