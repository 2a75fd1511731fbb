//! A resource's attributes: a few named values, kept in one sorted list.
//!
//! A resource has about ten attributes, and a plan of 10 000 resources holds three sets of
//! them each (written, computed, recorded). A `BTreeMap` spends a 600-byte node on each set
//! and compares keys in order on every lookup; a sorted list holds just the entries, is
//! searched by length and bytes, and iterates, compares and serialises exactly as the map
//! did (in key order), so files and plans come out the same. Names are the schemas' own
//! text wherever they can be, not 300 000 copies of a few dozen words.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use foldhash::HashSet;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// An attribute's name: a schema's field name, shared, or (a name no schema has, as a
/// damaged or newer state may hold) a copy of its own.
#[derive(Clone, Eq)]
pub struct Name(Cow<'static, str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0.into_owned()
    }

    /// The schemas' own text for `name`, if one of them has it.
    fn known(name: &str) -> Option<&'static str> {
        static KNOWN: OnceLock<HashSet<&'static str>> = OnceLock::new();
        KNOWN
            .get_or_init(|| {
                crate::resources::KINDS
                    .iter()
                    .flat_map(|k| k.schema())
                    .map(|f| f.name)
                    .collect()
            })
            .get(name)
            .copied()
    }
}

impl From<&'static str> for Name {
    fn from(name: &'static str) -> Name {
        Name(Cow::Borrowed(name))
    }
}

impl From<String> for Name {
    fn from(name: String) -> Name {
        Name(Name::known(&name).map_or(Cow::Owned(name), Cow::Borrowed))
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.into_string()
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        same(self, other)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    /// As a `String` shows, widths and alignment included (`rampart show` lines names up).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            // A known name is not copied at all, a borrowed one only if no schema has it.
            fn visit_str<E>(self, name: &str) -> Result<Name, E> {
                Ok(Name(Name::known(name).map_or_else(
                    || Cow::Owned(name.to_string()),
                    Cow::Borrowed,
                )))
            }
            fn visit_string<E>(self, name: String) -> Result<Name, E> {
                Ok(Name::from(name))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

/// Whether `name` is `text`: at once when both are the very same text (a name read from the
/// state and a lookup by the field it was matched to, mostly), else by length and bytes.
fn same(name: &Name, text: &str) -> bool {
    (name.as_ptr() == text.as_ptr() && name.len() == text.len()) || name.as_str() == text
}

/// Attribute values of a resource, keyed by field name, in key order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    entries: Vec<(Name, Value)>,
}

/// Below this many entries a scan by equality beats a binary search: most names differ in
/// length, so most comparisons never look at a byte.
const SCAN_BELOW: usize = 16;

impl Attrs {
    pub fn new() -> Attrs {
        Attrs::default()
    }

    /// Where `name` is, or where it would go.
    fn find(&self, name: &str) -> Result<usize, usize> {
        if self.entries.len() < SCAN_BELOW {
            return match self.entries.iter().position(|(k, _)| same(k, name)) {
                Some(i) => Ok(i),
                None => Err(self.entries.partition_point(|(k, _)| k.as_str() < name)),
            };
        }
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }

    /// Where `name` is, without working out where a missing one would go: most lookups are
    /// reads, and many are for optional fields a resource leaves out.
    fn index(&self, name: &str) -> Option<usize> {
        if self.entries.len() < SCAN_BELOW {
            return self.entries.iter().position(|(k, _)| same(k, name));
        }
        self.find(name).ok()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries.get(self.index(name)?).map(|(_, v)| v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.index(name).is_some()
    }

    /// Sets `name` to `value`, returning what it held before.
    pub fn insert(&mut self, name: impl Into<Name>, value: Value) -> Option<Value> {
        let name = name.into();
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (name, value));
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.index(name)?;
        Some(self.entries.remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Name, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Name> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Entries in any order and with repeats, as a map would take them one by one: sorted,
    /// and the last value of a repeated name wins.
    fn from_entries(mut entries: Vec<(Name, Value)>) -> Attrs {
        // What rampart wrote itself (a state's records) is in order already: checked, not
        // sorted again, 10 000 times over for a large state.
        if entries.is_sorted_by(|a, b| a.0 < b.0) {
            return Attrs { entries };
        }
        // Stable, so that among equal names the last one written stays last.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        // In place: `dedup_by` keeps the first of a run, so the later value is moved into it.
        entries.dedup_by(|later, kept| {
            let repeat = later.0 == kept.0;
            if repeat {
                std::mem::swap(later, kept);
            }
            repeat
        });
        Attrs { entries }
    }
}

impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Name>> FromIterator<(K, Value)> for Attrs {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Attrs {
        Attrs::from_entries(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl<K: Into<Name>, const N: usize> From<[(K, Value); N]> for Attrs {
    fn from(entries: [(K, Value); N]) -> Attrs {
        entries.into_iter().collect()
    }
}

impl<K: Into<Name>> Extend<(K, Value)> for Attrs {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k.into(), v);
        }
    }
}

impl IntoIterator for Attrs {
    type Item = (Name, Value);
    type IntoIter = std::vec::IntoIter<(Name, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Attrs {
    type Item = (&'a Name, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Name, Value)>,
        fn(&'a (Name, Value)) -> (&'a Name, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Attrs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Attrs, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Attrs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                // What serde says of a map, so that a damaged state reads as it did.
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attrs, A::Error> {
                // JSON gives no length: room for a resource's usual dozen attributes, so that a
                // large state is not read through three reallocations per resource.
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(12).min(64));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Attrs::from_entries(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_are_kept_in_key_order_and_the_last_repeat_wins() {
        let attrs: Attrs = [("b", json!(1)), ("a", json!(2)), ("b", json!(3))].into();
        assert_eq!(attrs.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(attrs.get("b"), Some(&json!(3)));
        let thrice: Attrs = [("a", json!(1)), ("a", json!(2)), ("a", json!(3))].into();
        assert_eq!(serde_json::to_string(&thrice).unwrap(), r#"{"a":3}"#);
        let parsed: Attrs = serde_json::from_str(r#"{"z": 1, "a": 2, "z": 4}"#).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), r#"{"a":2,"z":4}"#);
    }

    #[test]
    fn names_a_schema_has_are_its_own_text_and_others_are_kept_as_written() {
        let state: Attrs =
            serde_json::from_str(r#"{"kms_key": "k", "na\u006de": "n", "from_2030": 1}"#).unwrap();
        let names: Vec<&Name> = state.keys().collect();
        assert_eq!(names, ["from_2030", "kms_key", "name"]);
        // The schemas' text, not a copy; an escaped or unknown name is still itself.
        assert!(std::ptr::eq(
            names[1].as_str(),
            Name::known("kms_key").unwrap()
        ));
        assert!(crate::resources::KINDS.iter().any(|k| {
            k.schema()
                .iter()
                .any(|f| std::ptr::eq(f.name, names[1].as_str()))
        }));
        // Shown as a string is, padded.
        assert_eq!(format!("[{:<9}]", names[1]), "[kms_key  ]");
        assert_eq!(state.get("name"), Some(&json!("n")));
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            r#"{"from_2030":1,"kms_key":"k","name":"n"}"#
        );
        assert_eq!(
            Name::from("b".to_string()).cmp(&Name::from("a")),
            std::cmp::Ordering::Greater
        );
    }

    #[test]
    fn it_behaves_as_a_map_at_every_size() {
        // Across the switch from scanning to binary search.
        for n in [0, 1, 5, SCAN_BELOW - 1, SCAN_BELOW, SCAN_BELOW + 1, 40] {
            let mut attrs = Attrs::new();
            let mut map = std::collections::BTreeMap::new();
            // Names of varying length, inserted out of order, some twice.
            let name = |i: usize| format!("{}{i}", "k".repeat(i % 3 + 1));
            for i in (0..n).rev().chain(0..n / 2) {
                assert_eq!(
                    attrs.insert(name(i), json!(i)),
                    map.insert(name(i), json!(i))
                );
            }
            let more = (n..n + 3).map(|i| (name(i), json!(i)));
            attrs.extend(more.clone());
            map.extend(more);
            for gone in [name(n / 2), "absent".to_string()] {
                assert_eq!(attrs.remove(&gone), map.remove(&gone), "{n} entries");
            }
            assert!(
                attrs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v))
                    .eq(map.iter().map(|(k, v)| (k.as_str(), v))),
                "{n} entries"
            );
            for name in map.keys() {
                assert_eq!(attrs.get(name), map.get(name));
                assert!(attrs.contains_key(name));
            }
            assert_eq!(attrs.get("absent"), None);
            // Byte for byte as the map wrote them, in its order.
            assert_eq!(
                serde_json::to_string(&attrs).unwrap(),
                serde_json::to_string(&map).unwrap()
            );
            assert_eq!(format!("{attrs:?}"), format!("{map:?}"));
            assert_eq!(attrs, map.clone().into_iter().rev().collect::<Attrs>());
            assert_ne!(attrs, Attrs::from([("other".to_string(), json!(0))]));
        }
    }
}
