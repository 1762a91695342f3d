//! The retained message store: the last retained message of each topic.
//!
//! Owns the index from topic names to retained values and the lookup of a new subscription's
//! filter against it. Must not decide what a retained message is (payload, expiry, QoS): the caller
//! maps a PUBLISH with retain and an empty payload to a deletion (MQTT-3.3.1-6) and skips expired
//! messages.

use super::{shrink_map, split_level, LevelMap, TopicFilter, TopicName};

/// Retained values indexed by the levels of their topic names.
///
/// A filter without wildcards is one lookup per level; a wildcard filter visits only the branches
/// it can match, not every retained topic.
///
/// Invariant: every node other than the root holds a value or has a child (empty nodes are pruned
/// on deletion).
pub(crate) struct RetainedStore<V> {
    /// The node before the first level.
    root: Node<V>,
    /// Number of retained values.
    len: usize,
}

impl<V> RetainedStore<V> {
    /// An empty store.
    pub(crate) fn new() -> Self {
        Self {
            root: Node::new(),
            len: 0,
        }
    }

    /// Number of retained values.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is retained.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Retains `value` for `topic`, replacing the previous one (MQTT-3.3.1-5), or deletes it when
    /// `value` is `None` (MQTT-3.3.1-6, MQTT-3.3.1-7). Returns the previous value.
    pub(crate) fn set(&mut self, topic: &TopicName, value: Option<V>) -> Option<V> {
        match value {
            Some(value) => {
                let node = self.root.descend_or_create(topic.as_str());
                match &mut node.retained {
                    Some((_, old)) => Some(std::mem::replace(old, value)),
                    None => {
                        node.retained = Some((topic.clone(), value));
                        self.len += 1;
                        None
                    }
                }
            }
            None => {
                let old = self.root.remove(topic.as_str());
                if old.is_some() {
                    self.len -= 1;
                }
                old
            }
        }
    }

    /// The value retained for exactly `topic`.
    pub(crate) fn get(&self, topic: &str) -> Option<&V> {
        self.root.lookup(topic).map(|(_, value)| value)
    }

    /// Calls `f` for every retained topic that `filter` matches, in no particular order.
    pub(crate) fn for_each_matching<'a>(
        &'a self,
        filter: &TopicFilter,
        mut f: impl FnMut(&'a TopicName, &'a V),
    ) {
        if !filter.has_wildcards() {
            if let Some((topic, value)) = self.root.lookup(filter.as_str()) {
                f(topic, value);
            }
            return;
        }
        self.root.walk(Some(filter.as_str()), true, &mut f);
    }
}

impl<V> Default for RetainedStore<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// One level of the store.
struct Node<V> {
    /// Children by the text of the next level.
    children: LevelMap<Node<V>>,
    /// The value retained for the topic ending here, with that topic.
    retained: Option<(TopicName, V)>,
}

impl<V> Node<V> {
    fn new() -> Self {
        Self {
            children: LevelMap::default(),
            retained: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.retained.is_none()
    }

    /// The node where `topic` ends, created as needed.
    fn descend_or_create(&mut self, topic: &str) -> &mut Self {
        let mut node = self;
        for level in topic.split('/') {
            node = node
                .children
                .entry(Box::from(level))
                .or_insert_with(Node::new);
        }
        node
    }

    /// The entry retained for exactly `topic`.
    fn lookup(&self, topic: &str) -> Option<&(TopicName, V)> {
        let mut node = self;
        for level in topic.split('/') {
            node = node.children.get(level)?;
        }
        node.retained.as_ref()
    }

    /// Deletes the value of the topic whose levels left to descend are `rest`; prunes children
    /// left empty. Recurses once per level: topic names have at most
    /// [`MAX_LEVELS`](super::MAX_LEVELS).
    fn remove(&mut self, rest: &str) -> Option<V> {
        let (level, next) = split_level(rest);
        let child = self.children.get_mut(level)?;
        let old = match next {
            Some(next) => child.remove(next),
            None => child.retained.take().map(|(_, value)| value),
        };
        if child.is_empty() {
            self.children.remove(level);
            shrink_map(&mut self.children);
        }
        old
    }

    /// Reports the values below this node that the filter levels `rest` match. `root`: this is the
    /// root, where wildcards do not match topics starting with `$`.
    fn walk<'a>(
        &'a self,
        rest: Option<&str>,
        root: bool,
        f: &mut impl FnMut(&'a TopicName, &'a V),
    ) {
        let Some(text) = rest else {
            self.report(f);
            return;
        };
        let (level, next) = split_level(text);
        match level {
            // MQTT-4.7.1-2: the parent level and every level below.
            "#" => {
                self.report(f);
                self.report_below(root, f);
            }
            // MQTT-4.7.1-3: exactly one level.
            "+" => {
                for (name, child) in &self.children {
                    // MQTT-4.7.2-1
                    if !(root && name.starts_with('$')) {
                        child.walk(next, false, f);
                    }
                }
            }
            _ => {
                if let Some(child) = self.children.get(level) {
                    child.walk(next, false, f);
                }
            }
        }
    }

    /// Reports every value strictly below this node.
    fn report_below<'a>(&'a self, root: bool, f: &mut impl FnMut(&'a TopicName, &'a V)) {
        for (name, child) in &self.children {
            // MQTT-4.7.2-1
            if !(root && name.starts_with('$')) {
                child.report(f);
                child.report_below(false, f);
            }
        }
    }

    fn report<'a>(&'a self, f: &mut impl FnMut(&'a TopicName, &'a V)) {
        if let Some((topic, value)) = &self.retained {
            f(topic, value);
        }
    }

    #[cfg(test)]
    fn node_count(&self) -> usize {
        1 + self.children.values().map(Node::node_count).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::topic::filter::tests::MATCH_CASES;
    use crate::topic::matches;

    fn name(text: &str) -> TopicName {
        TopicName::parse(text).expect("test topics are valid")
    }

    fn filter(text: &str) -> TopicFilter {
        TopicFilter::parse(text).expect("test filters are valid")
    }

    /// The (topic, value) pairs `filter` finds, sorted.
    fn found<V: Clone + Ord>(store: &RetainedStore<V>, text: &str) -> Vec<(String, V)> {
        let mut out = Vec::new();
        store.for_each_matching(&filter(text), |topic, value| {
            out.push((topic.to_string(), value.clone()));
        });
        out.sort();
        out
    }

    #[test]
    fn set_replace_delete_script() {
        let mut store = RetainedStore::new();
        // (topic, value to set or None to delete, expected previous value, expected len after)
        let script: &[(&str, Option<u8>, Option<u8>, usize)] = &[
            ("a/b", Some(1), None, 1),
            ("a/b", Some(2), Some(1), 1),
            ("a", Some(3), None, 2),
            ("a/b/c", Some(4), None, 3),
            ("a/c", None, None, 3),
            ("a/b/c/d", None, None, 3),
            ("b", None, None, 3),
            ("a/b", None, Some(2), 2),
            ("a/b", None, None, 2),
            ("a/b/c", Some(5), Some(4), 2),
            ("a", None, Some(3), 1),
            ("a/b/c", None, Some(5), 0),
        ];
        for &(topic, value, expect, len) in script {
            assert_eq!(store.set(&name(topic), value), expect, "{topic} {value:?}");
            assert_eq!(store.get(topic).copied(), value, "{topic}");
            assert_eq!(store.len(), len, "{topic} {value:?}");
        }
        assert!(store.is_empty());
        assert_eq!(store.root.node_count(), 1);
    }

    #[test]
    fn wildcard_lookup_agrees_with_the_reference_matcher() {
        let topics: BTreeSet<&str> = MATCH_CASES.iter().map(|case| case.1).collect();
        let filters: BTreeSet<&str> = MATCH_CASES.iter().map(|case| case.0).collect();
        let mut store = RetainedStore::new();
        for (value, topic) in topics.iter().enumerate() {
            assert_eq!(store.set(&name(topic), Some(value)), None);
        }
        assert_eq!(store.len(), topics.len());
        for text in filters
            .iter()
            .copied()
            .chain(["#", "+", "+/+/+", "$SYS/#", "nothing/#"])
        {
            let expect: Vec<(String, usize)> = topics
                .iter()
                .enumerate()
                .filter(|(_, topic)| matches(text, topic))
                .map(|(value, topic)| ((*topic).to_owned(), value))
                .collect();
            assert_eq!(found(&store, text), expect, "filter {text:?}");
        }
    }

    #[test]
    fn match_table_one_topic_at_a_time() {
        for &(text, topic, expect) in MATCH_CASES {
            let mut store = RetainedStore::new();
            store.set(&name(topic), Some(()));
            assert_eq!(
                found(&store, text).len(),
                usize::from(expect),
                "{text:?} vs {topic:?}"
            );
        }
    }

    #[test]
    fn dollar_topics_need_a_dollar_filter() {
        let mut store = RetainedStore::new();
        for topic in ["$SYS/uptime", "$SYS/clients/count", "sys/uptime", "$"] {
            store.set(&name(topic), Some(topic.len()));
        }
        let cases: &[(&str, &[&str])] = &[
            ("#", &["sys/uptime"]),
            ("+/uptime", &["sys/uptime"]),
            ("+", &[]),
            ("$SYS/#", &["$SYS/clients/count", "$SYS/uptime"]),
            ("$SYS/+", &["$SYS/uptime"]),
            ("$SYS/clients/count", &["$SYS/clients/count"]),
            ("$", &["$"]),
            ("$/#", &["$"]),
        ];
        for (text, expect) in cases {
            let got: Vec<String> = found(&store, text).into_iter().map(|(t, _)| t).collect();
            assert_eq!(got, *expect, "filter {text:?}");
        }
    }

    #[test]
    fn deletion_prunes_and_churn_does_not_grow() {
        let mut store = RetainedStore::new();
        for device in 0..2_000u32 {
            store.set(&name(&format!("devices/{device}/status")), Some(device));
            if device >= 10 {
                let old = format!("devices/{}/status", device - 10);
                assert_eq!(store.set(&name(&old), None), Some(device - 10));
            }
        }
        assert_eq!(store.len(), 10);
        assert_eq!(store.root.node_count(), 1 + 1 + 10 * 2);
        let devices = store
            .root
            .children
            .get("devices")
            .expect("live topics remain");
        assert!(devices.children.capacity() <= 64);
        assert_eq!(found(&store, "devices/+/status").len(), 10);
    }

    #[test]
    fn stored_topic_is_shared_not_copied() {
        let mut store = RetainedStore::new();
        let topic = name("a/b");
        store.set(&topic, Some(1u8));
        store.for_each_matching(&filter("a/+"), |stored, value| {
            assert!(std::ptr::eq(stored.as_str(), topic.as_str()));
            assert_eq!(*value, 1);
        });
    }
}
