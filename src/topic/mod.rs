//! Topics: validated topic names and filters (parsed once), the subscription trie and the retained
//! message store.
//!
//! Owns every rule of MQTT section 4.7 (topic names, filters, wildcards, the `$` rule) and the
//! shared subscription syntax of section 4.8.2. Pure: takes strings and values, returns values. Must
//! not do IO, read the clock, lock, or know about sessions, packets or QoS; the caller decides what a
//! match means (one delivery per client, highest QoS, all subscription ids).

use std::collections::HashMap;
use std::hash::{BuildHasher, DefaultHasher, RandomState};
use std::sync::OnceLock;

mod filter;
mod name;
mod retained;
mod trie;

pub(crate) use filter::{matches, SharedFilter, SubscriptionFilter, TopicFilter};
pub(crate) use name::{validate_topic_name, TopicName};
pub(crate) use retained::RetainedStore;
pub(crate) use trie::{Match, SubscriptionTrie};

/// The longest topic name or filter in bytes: a UTF-8 string's length prefix is a u16.
// MQTT-4.7.3-3
pub(crate) const MAX_TOPIC_LEN: usize = 65_535;

/// The most levels a topic name or filter may have (a broker limit, not a spec rule).
///
/// Matching, insertion and removal recurse once per level, so this bounds their stack use; without
/// it one SUBSCRIBE to a 64 KiB filter of `/` would recurse 32 768 levels deep. Mosquitto refuses
/// more than 200 separators (`TOPIC_HIERARCHY_LIMIT`, CVE-2019-11779); we accept exactly what it
/// accepts.
pub(crate) const MAX_LEVELS: usize = 201;

/// The children of a trie level, by the level's text.
pub(crate) type LevelMap<V> = HashMap<Box<str>, V, SharedState>;

/// The hasher of every [`LevelMap`]: SipHash with one random key per process, so the tries
/// resist hash flooding like `RandomState` does, without `RandomState`'s 16 bytes in every node.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SharedState;

impl BuildHasher for SharedState {
    type Hasher = DefaultHasher;

    fn build_hasher(&self) -> DefaultHasher {
        static KEY: OnceLock<RandomState> = OnceLock::new();
        KEY.get_or_init(RandomState::new).build_hasher()
    }
}

/// The prefix that makes a topic filter a shared subscription.
// MQTT-4.8.2-1
pub(crate) const SHARE_PREFIX: &str = "$share/";

/// Why a topic name or topic filter is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TopicError {
    /// MQTT-4.7.3-1: topic names and filters are at least one character long.
    #[error("topic is empty")]
    Empty,
    /// MQTT-4.7.3-3: at most 65 535 bytes.
    #[error("topic is longer than 65535 bytes")]
    TooLong,
    /// MQTT-4.7.3-2: U+0000 is not allowed.
    #[error("topic contains the null character")]
    NullCharacter,
    /// More than [`MAX_LEVELS`] levels.
    #[error("topic has too many levels")]
    TooManyLevels,
    /// MQTT-3.3.2-2: a topic name has no wildcards.
    #[error("topic name contains a wildcard")]
    WildcardInName,
    /// MQTT-4.7.1-2: `#` must be alone in the last level.
    #[error("multi-level wildcard is not alone in the last level")]
    MisplacedMultiLevelWildcard,
    /// MQTT-4.7.1-3: `+` must be alone in its level.
    #[error("single-level wildcard is not alone in its level")]
    MisplacedSingleLevelWildcard,
    /// MQTT-4.8.2-1: the share name is at least one character long.
    #[error("shared subscription has an empty share name")]
    EmptyShareName,
    /// MQTT-4.8.2-2: the share name has no `/`, `+` or `#`.
    #[error("share name contains '+' or '#'")]
    InvalidShareName,
    /// MQTT-4.8.2-2: the share name is followed by `/` and a topic filter.
    #[error("shared subscription has no topic filter")]
    MissingShareFilter,
}

/// Splits the first level off `rest`: `"a/b/c"` gives `("a", Some("b/c"))`, `"a"` gives `("a", None)`.
///
/// Walking a topic with this never allocates; `None` means no level is left.
fn split_level(rest: &str) -> (&str, Option<&str>) {
    match rest.split_once('/') {
        Some((level, next)) => (level, Some(next)),
        None => (rest, None),
    }
}

/// Gives back most of a map's memory once it is mostly empty, so that churn (clients coming and
/// going under one level) does not hold its peak forever. Amortised O(1) per removal.
fn shrink_map<V>(map: &mut LevelMap<V>) {
    if map.capacity() > 16 && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}

/// [`shrink_map`] for a vector.
fn shrink_vec<T>(vec: &mut Vec<T>) {
    if vec.capacity() > 16 && vec.len() * 4 < vec.capacity() {
        vec.shrink_to(vec.len() * 2);
    }
}
