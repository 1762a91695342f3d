//! The subscription trie: which subscriptions match a topic.
//!
//! Owns the index from filters to subscribers (normal and shared groups) and the walk that finds
//! the matches of one PUBLISH. Must not decide delivery: the caller deduplicates per client
//! (highest QoS, all subscription ids) and picks the member of a shared group. Matching must not
//! allocate: it splits the topic lazily by `/` and recurses once per level, at most
//! [`MAX_LEVELS`](super::MAX_LEVELS) deep because filters are validated.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{shrink_map, shrink_vec, split_level, LevelMap, SharedFilter, SubscriptionFilter};

/// Subscriptions indexed by the levels of their filters.
///
/// `K` identifies a subscriber (a session key), `V` is what the caller needs at delivery (QoS,
/// options, subscription id). One subscriber has at most one subscription per filter
/// (MQTT-3.8.4-3: a SUBSCRIBE with an existing filter replaces it).
///
/// Invariant: every node other than the root holds a subscription or has a child (empty nodes are
/// pruned on removal), so memory follows the live subscriptions, not their history.
pub(crate) struct SubscriptionTrie<K, V> {
    /// The node before the first level.
    root: Node<K, V>,
    /// Number of subscriptions: normal ones plus the members of every shared group.
    len: usize,
}

/// One match of a topic, as [`SubscriptionTrie::for_each_match`] reports it.
pub(crate) enum Match<'a, K, V> {
    /// A normal subscription: the subscriber receives the message.
    Normal(&'a K, &'a V),
    /// A shared subscription group: one of its members receives the message.
    Shared(SharedMatch<'a, K, V>),
}

/// A shared subscription group that matched a topic: its filter, its members and its turn.
pub(crate) struct SharedMatch<'a, K, V> {
    /// The group in the trie.
    group: &'a Group<K, V>,
}

impl<K: Copy + Eq, V> SubscriptionTrie<K, V> {
    /// An empty trie.
    pub(crate) fn new() -> Self {
        Self {
            root: Node::new(),
            len: 0,
        }
    }

    /// Number of subscriptions, counting every member of every shared group.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no subscription.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Subscribes `key` to `filter`; returns the value it replaces if `key` already had a
    /// subscription to this exact filter (for a shared one: in this group).
    // MQTT-3.8.4-3
    pub(crate) fn insert(&mut self, filter: &SubscriptionFilter, key: K, value: V) -> Option<V> {
        let node = self.root.descend_or_create(filter.topic_filter().as_str());
        let old = match filter {
            SubscriptionFilter::Normal(_) => upsert(&mut node.subscribers, key, value),
            SubscriptionFilter::Shared(shared) => {
                let groups = node.groups.get_or_insert_with(Box::default);
                let position = groups
                    .iter()
                    .position(|group| group.filter.group() == shared.group());
                let index = match position {
                    Some(index) => index,
                    None => {
                        groups.push(Group::new(shared.clone()));
                        groups.len() - 1
                    }
                };
                // Invariant: `index` is in bounds, found or just pushed.
                let group = groups.get_mut(index)?;
                upsert(&mut group.members, key, value)
            }
        };
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Unsubscribes `key` from `filter`; returns the removed value, or `None` if there was no such
    /// subscription. Prunes the nodes left empty.
    pub(crate) fn remove(&mut self, filter: &SubscriptionFilter, key: K) -> Option<V> {
        let old = self
            .root
            .remove(Some(filter.topic_filter().as_str()), filter, key);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Removes every subscription of `key`; returns how many.
    ///
    /// Walks the whole trie: O(number of nodes). A session that remembers its filters should call
    /// [`remove`](Self::remove) for each instead; this is the fallback for cleanup.
    pub(crate) fn remove_all(&mut self, key: K) -> usize {
        let removed = self.root.remove_key(key);
        self.len -= removed;
        removed
    }

    /// Calls `f` for every normal subscription and every shared group whose filter matches the
    /// valid topic name `topic`. Never allocates.
    ///
    /// A subscriber with several matching filters is reported once per filter; the caller merges.
    pub(crate) fn for_each_match<'a>(&'a self, topic: &str, mut f: impl FnMut(Match<'a, K, V>)) {
        // MQTT-4.7.2-1: at the first level, wildcards do not match a topic starting with `$`.
        let dollar = topic.starts_with('$');
        self.root.walk(Some(topic), dollar, &mut f);
    }

    /// Calls `f` for every normal subscription matching `topic` and for the next member in turn of
    /// every matching shared group ([`SharedMatch::pick`]). Never allocates.
    pub(crate) fn matches<'a>(&'a self, topic: &str, mut f: impl FnMut(&'a K, &'a V)) {
        self.for_each_match(topic, |found| match found {
            Match::Normal(key, value) => f(key, value),
            Match::Shared(group) => {
                if let Some((key, value)) = group.pick() {
                    f(key, value);
                }
            }
        });
    }
}

impl<K: Copy + Eq, V> Default for SubscriptionTrie<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, K, V> SharedMatch<'a, K, V> {
    /// The share name.
    pub(crate) fn group(&self) -> &'a str {
        self.group.filter.group()
    }

    /// The shared filter (`$share/{group}/{filter}`).
    pub(crate) fn filter(&self) -> &'a SharedFilter {
        &self.group.filter
    }

    /// The members, in subscription order; never empty.
    pub(crate) fn members(&self) -> &'a [(K, V)] {
        &self.group.members
    }

    /// The member whose turn it is (round robin), advancing the turn.
    pub(crate) fn pick(&self) -> Option<&'a (K, V)> {
        let members = &self.group.members;
        if members.is_empty() {
            return None;
        }
        let turn = self.group.turn.fetch_add(1, Ordering::Relaxed) % members.len();
        members.get(turn)
    }

    /// The first member from the one whose turn it is that `accept`s (for example: is online, has
    /// room in its window); the turn moves past it. `None` if no member accepts.
    pub(crate) fn pick_where(&self, mut accept: impl FnMut(&K, &V) -> bool) -> Option<&'a (K, V)> {
        let members = &self.group.members;
        let count = members.len();
        if count == 0 {
            return None;
        }
        let start = self.group.turn.load(Ordering::Relaxed) % count;
        for offset in 0..count {
            let index = (start + offset) % count;
            let member = members.get(index)?;
            if accept(&member.0, &member.1) {
                self.group.turn.store(index + 1, Ordering::Relaxed);
                return Some(member);
            }
        }
        None
    }
}

/// One level of the trie.
struct Node<K, V> {
    /// Children by the literal text of the next level.
    literal: LevelMap<Node<K, V>>,
    /// The child for `+` at the next level.
    plus: Option<Box<Node<K, V>>>,
    /// The child for `#` at the next level; it has no children itself (MQTT-4.7.1-2).
    hash: Option<Box<Node<K, V>>>,
    /// Normal subscriptions whose filter ends here.
    /// Invariant: keys are unique.
    subscribers: Vec<(K, V)>,
    /// Shared subscription groups whose filter ends here; boxed, as most levels have none.
    /// Invariant: group names are unique and no group is empty.
    #[allow(clippy::box_collection)] // 8 bytes in every node instead of 24
    groups: Option<Box<Vec<Group<K, V>>>>,
}

/// The members of one shared subscription `$share/{group}/{filter}`.
struct Group<K, V> {
    /// The shared filter, handed to the caller with each match.
    filter: SharedFilter,
    /// Members in subscription order, so that turns are fair.
    /// Invariant: keys are unique; never empty while the group is in the trie.
    members: Vec<(K, V)>,
    /// Whose turn it is, modulo the member count. Atomic so that matching needs only `&self`: the
    /// trie is read by every worker at once.
    turn: AtomicUsize,
}

impl<K, V> Group<K, V> {
    fn new(filter: SharedFilter) -> Self {
        Self {
            filter,
            members: Vec::new(),
            turn: AtomicUsize::new(0),
        }
    }
}

impl<K: Copy + Eq, V> Node<K, V> {
    fn new() -> Self {
        Self {
            literal: LevelMap::default(),
            plus: None,
            hash: None,
            subscribers: Vec::new(),
            groups: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.literal.is_empty()
            && self.plus.is_none()
            && self.hash.is_none()
            && self.subscribers.is_empty()
            && self.groups.is_none()
    }

    /// The node where the valid `filter` ends, created as needed.
    fn descend_or_create(&mut self, filter: &str) -> &mut Self {
        let mut node = self;
        for level in filter.split('/') {
            node = match level {
                "+" => node.plus.get_or_insert_with(|| Box::new(Node::new())),
                "#" => node.hash.get_or_insert_with(|| Box::new(Node::new())),
                _ => node
                    .literal
                    .entry(Box::from(level))
                    .or_insert_with(Node::new),
            };
        }
        node
    }

    /// Removes `key`'s subscription to `filter`, whose levels left to descend are `rest`; prunes
    /// children left empty.
    fn remove(&mut self, rest: Option<&str>, filter: &SubscriptionFilter, key: K) -> Option<V> {
        let Some(text) = rest else {
            return self.take(filter, key);
        };
        let (level, next) = split_level(text);
        match level {
            "+" | "#" => {
                let slot = if level == "+" {
                    &mut self.plus
                } else {
                    &mut self.hash
                };
                let child = slot.as_deref_mut()?;
                let old = child.remove(next, filter, key);
                if child.is_empty() {
                    *slot = None;
                }
                old
            }
            _ => {
                let child = self.literal.get_mut(level)?;
                let old = child.remove(next, filter, key);
                if child.is_empty() {
                    self.literal.remove(level);
                    shrink_map(&mut self.literal);
                }
                old
            }
        }
    }

    /// Removes `key`'s subscription that ends at this node.
    fn take(&mut self, filter: &SubscriptionFilter, key: K) -> Option<V> {
        match filter {
            SubscriptionFilter::Normal(_) => {
                let index = self.subscribers.iter().position(|(k, _)| *k == key)?;
                let (_, old) = self.subscribers.swap_remove(index);
                shrink_vec(&mut self.subscribers);
                Some(old)
            }
            SubscriptionFilter::Shared(shared) => {
                let groups = self.groups.as_mut()?;
                let group_index = groups
                    .iter()
                    .position(|group| group.filter.group() == shared.group())?;
                let group = groups.get_mut(group_index)?;
                let index = group.members.iter().position(|(k, _)| *k == key)?;
                let (_, old) = group.members.remove(index);
                shrink_vec(&mut group.members);
                if group.members.is_empty() {
                    groups.swap_remove(group_index);
                }
                if groups.is_empty() {
                    self.groups = None;
                }
                Some(old)
            }
        }
    }

    /// Removes every subscription of `key` here and below; returns how many. Prunes.
    fn remove_key(&mut self, key: K) -> usize {
        let mut removed = 0;
        let before = self.subscribers.len();
        self.subscribers.retain(|(k, _)| *k != key);
        removed += before - self.subscribers.len();
        if let Some(groups) = self.groups.as_mut() {
            for group in groups.iter_mut() {
                let before = group.members.len();
                group.members.retain(|(k, _)| *k != key);
                removed += before - group.members.len();
            }
            groups.retain(|group| !group.members.is_empty());
            if groups.is_empty() {
                self.groups = None;
            }
        }
        for slot in [&mut self.plus, &mut self.hash] {
            if let Some(child) = slot.as_deref_mut() {
                removed += child.remove_key(key);
                if child.is_empty() {
                    *slot = None;
                }
            }
        }
        self.literal.retain(|_, child| {
            removed += child.remove_key(key);
            !child.is_empty()
        });
        shrink_map(&mut self.literal);
        removed
    }

    /// Reports the subscriptions matching the topic levels `rest` below this node. `dollar`: this
    /// is the root and the topic starts with `$`, so the wildcard children do not match.
    fn walk<'a>(&'a self, rest: Option<&str>, dollar: bool, f: &mut impl FnMut(Match<'a, K, V>)) {
        // MQTT-4.7.1-2: `#` matches the remaining levels, also none ("sport/#" matches "sport").
        if !dollar {
            if let Some(hash) = &self.hash {
                hash.report(f);
            }
        }
        let Some(text) = rest else {
            self.report(f);
            return;
        };
        let (level, next) = split_level(text);
        if let Some(child) = self.literal.get(level) {
            child.walk(next, false, f);
        }
        // MQTT-4.7.1-3: `+` matches exactly one level, also an empty one.
        if !dollar {
            if let Some(plus) = &self.plus {
                plus.walk(next, false, f);
            }
        }
    }

    /// Reports the subscriptions whose filter ends here.
    fn report<'a>(&'a self, f: &mut impl FnMut(Match<'a, K, V>)) {
        for (key, value) in &self.subscribers {
            f(Match::Normal(key, value));
        }
        for group in self.groups.iter().flat_map(|g| g.iter()) {
            f(Match::Shared(SharedMatch { group }));
        }
    }

    #[cfg(test)]
    fn node_count(&self) -> usize {
        1 + self.literal.values().map(Node::node_count).sum::<usize>()
            + self.plus.as_deref().map_or(0, Node::node_count)
            + self.hash.as_deref().map_or(0, Node::node_count)
    }
}

/// Sets `key`'s value in `list`; returns the value it replaces.
fn upsert<K: Eq, V>(list: &mut Vec<(K, V)>, key: K, value: V) -> Option<V> {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, old)) => Some(std::mem::replace(old, value)),
        None => {
            list.push((key, value));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::topic::filter::tests::MATCH_CASES;
    use crate::topic::matches;

    fn filter(text: &str) -> SubscriptionFilter {
        SubscriptionFilter::parse(text).expect("test filters are valid")
    }

    /// Every (key, value) `matches` reports for `topic`, sorted.
    fn matched<K: Copy + Eq + Ord, V: Clone + Ord>(
        trie: &SubscriptionTrie<K, V>,
        topic: &str,
    ) -> Vec<(K, V)> {
        let mut out = Vec::new();
        trie.matches(topic, |k, v| out.push((*k, v.clone())));
        out.sort();
        out
    }

    #[test]
    fn trie_agrees_with_the_reference_matcher() {
        let filters: BTreeSet<&str> = MATCH_CASES.iter().map(|case| case.0).collect();
        let mut topics: BTreeSet<&str> = MATCH_CASES.iter().map(|case| case.1).collect();
        topics.extend([
            "a",
            "a/b",
            "$",
            "$SYS/a/b",
            "sport/tennis/player1/ranking/x",
        ]);
        let filters: Vec<&str> = filters.into_iter().collect();
        let mut trie = SubscriptionTrie::new();
        for (key, text) in filters.iter().enumerate() {
            assert_eq!(trie.insert(&filter(text), key, *text), None);
        }
        assert_eq!(trie.len(), filters.len());
        for topic in topics {
            let expect: Vec<(usize, &str)> = filters
                .iter()
                .enumerate()
                .filter(|(_, text)| matches(text, topic))
                .map(|(key, text)| (key, *text))
                .collect();
            assert_eq!(matched(&trie, topic), expect, "topic {topic:?}");
        }
    }

    #[test]
    fn match_table_one_filter_at_a_time() {
        for &(text, topic, expect) in MATCH_CASES {
            let mut trie = SubscriptionTrie::new();
            trie.insert(&filter(text), 1u8, ());
            assert_eq!(
                !matched(&trie, topic).is_empty(),
                expect,
                "{text:?} vs {topic:?}"
            );
            let shared = filter(&format!("$share/g/{text}"));
            let mut trie = SubscriptionTrie::new();
            trie.insert(&shared, 1u8, ());
            assert_eq!(
                !matched(&trie, topic).is_empty(),
                expect,
                "shared {text:?} vs {topic:?}"
            );
        }
    }

    #[test]
    fn insert_replaces_and_remove_returns() {
        let mut trie = SubscriptionTrie::new();
        // (operation, filter, key, value, expected return)
        let script: &[(&str, &str, u32, u8, Option<u8>)] = &[
            ("insert", "a/b", 1, 0, None),
            ("insert", "a/b", 1, 1, Some(0)),
            ("insert", "a/b", 2, 2, None),
            ("insert", "a/+", 1, 3, None),
            ("insert", "$share/g/a/b", 1, 4, None),
            ("insert", "$share/g/a/b", 1, 5, Some(4)),
            ("insert", "$share/h/a/b", 1, 6, None),
            ("remove", "a/b", 3, 0, None),
            ("remove", "a/c", 1, 0, None),
            ("remove", "a/b/c", 1, 0, None),
            ("remove", "a", 1, 0, None),
            ("remove", "a/#", 1, 0, None),
            ("remove", "$share/x/a/b", 1, 0, None),
            ("remove", "$share/g/a/b", 2, 0, None),
            ("remove", "a/b", 1, 0, Some(1)),
            ("remove", "a/b", 1, 0, None),
            ("remove", "$share/g/a/b", 1, 0, Some(5)),
            ("remove", "$share/g/a/b", 1, 0, None),
        ];
        for &(op, text, key, value, expect) in script {
            let got = match op {
                "insert" => trie.insert(&filter(text), key, value),
                _ => trie.remove(&filter(text), key),
            };
            assert_eq!(got, expect, "{op} {text} {key}");
        }
        assert_eq!(trie.len(), 3);
        assert_eq!(matched(&trie, "a/b"), vec![(1, 3), (1, 6), (2, 2)]);
    }

    #[test]
    fn removal_prunes_every_empty_node() {
        let mut trie = SubscriptionTrie::new();
        let texts = [
            "a",
            "a/b",
            "a/b/c",
            "a/+/c",
            "+/+",
            "#",
            "a/#",
            "+/#",
            "/",
            "//",
            "$share/g/a/b",
            "$share/g/+/#",
            "$share/h/#",
            "x/y/z/w",
        ];
        for round in 0..3 {
            for (key, text) in texts.iter().enumerate() {
                trie.insert(&filter(text), key, round);
            }
            assert_eq!(trie.len(), texts.len());
            assert!(trie.root.node_count() > texts.len());
            for (key, text) in texts.iter().enumerate().rev() {
                assert_eq!(trie.remove(&filter(text), key), Some(round), "{text}");
            }
            assert!(trie.is_empty());
            assert_eq!(trie.root.node_count(), 1, "round {round}");
        }
    }

    #[test]
    fn churn_does_not_grow_memory() {
        let mut trie = SubscriptionTrie::new();
        for client in 0..2_000u32 {
            let text = format!("clients/{client}/commands/+");
            trie.insert(&filter(&text), client, ());
            if client >= 10 {
                let old = format!("clients/{}/commands/+", client - 10);
                assert_eq!(trie.remove(&filter(&old), client - 10), Some(()));
            }
        }
        assert_eq!(trie.len(), 10);
        assert_eq!(trie.root.node_count(), 1 + 1 + 10 * 3);
        let clients = trie
            .root
            .literal
            .get("clients")
            .expect("live subscriptions remain");
        assert!(
            clients.literal.capacity() <= 64,
            "{}",
            clients.literal.capacity()
        );
    }

    #[test]
    fn remove_all_removes_one_key_everywhere() {
        let mut trie = SubscriptionTrie::new();
        let texts = ["a", "a/b", "+/b", "#", "$share/g/a/b", "$share/g/#"];
        for text in texts {
            trie.insert(&filter(text), 1u8, 1u8);
        }
        trie.insert(&filter("a/b"), 2, 2);
        trie.insert(&filter("$share/g/#"), 2, 2);
        assert_eq!(trie.remove_all(1), texts.len());
        assert_eq!(trie.remove_all(1), 0);
        assert_eq!(trie.len(), 2);
        assert_eq!(matched(&trie, "a/b"), vec![(2, 2), (2, 2)]);
        assert_eq!(trie.remove_all(2), 2);
        assert_eq!(trie.root.node_count(), 1);
    }

    #[test]
    fn shared_groups_report_their_members() {
        let mut trie = SubscriptionTrie::new();
        let subscriptions = [
            ("$share/g/sport/+", 1u32),
            ("$share/g/sport/+", 2),
            ("$share/g/sport/+", 3),
            ("$share/h/sport/+", 1),
            ("$share/g/sport/#", 4),
            ("sport/+", 5),
        ];
        for (text, key) in subscriptions {
            trie.insert(&filter(text), key, ());
        }
        let mut normal = Vec::new();
        let mut groups = Vec::new();
        trie.for_each_match("sport/tennis", |found| match found {
            Match::Normal(key, ()) => normal.push(*key),
            Match::Shared(group) => {
                let members: Vec<u32> = group.members().iter().map(|m| m.0).collect();
                assert_eq!(group.filter().group(), group.group());
                groups.push((group.filter().to_string(), members));
            }
        });
        groups.sort();
        assert_eq!(normal, vec![5]);
        assert_eq!(
            groups,
            vec![
                ("$share/g/sport/#".to_owned(), vec![4]),
                ("$share/g/sport/+".to_owned(), vec![1, 2, 3]),
                ("$share/h/sport/+".to_owned(), vec![1]),
            ]
        );
    }

    #[test]
    fn shared_group_takes_turns() {
        let mut trie = SubscriptionTrie::new();
        let shared = filter("$share/g/t");
        for key in [10u32, 20, 30] {
            trie.insert(&shared, key, ());
        }
        let mut picks = Vec::new();
        for _ in 0..7 {
            trie.matches("t", |key, ()| picks.push(*key));
        }
        assert_eq!(picks, vec![10, 20, 30, 10, 20, 30, 10]);

        let mut picks = Vec::new();
        for _ in 0..4 {
            trie.for_each_match("t", |found| {
                if let Match::Shared(group) = found {
                    let picked = group.pick_where(|key, ()| *key != 30);
                    picks.push(picked.map(|m| m.0));
                }
            });
        }
        assert_eq!(picks, vec![Some(20), Some(10), Some(20), Some(10)]);

        trie.for_each_match("t", |found| {
            if let Match::Shared(group) = found {
                assert!(group.pick_where(|_, ()| false).is_none());
            }
        });

        assert_eq!(trie.remove(&shared, 20), Some(()));
        let mut picks = Vec::new();
        for _ in 0..4 {
            trie.matches("t", |key, ()| picks.push(*key));
        }
        picks.sort();
        assert_eq!(picks, vec![10, 10, 30, 30]);
    }

    #[test]
    fn dollar_topics_reach_only_dollar_filters() {
        let mut trie = SubscriptionTrie::new();
        let texts = [
            "#",
            "+/#",
            "+/monitor/+",
            "$share/g/#",
            "$SYS/#",
            "$share/g/$SYS/+/+",
        ];
        for (key, text) in texts.iter().enumerate() {
            trie.insert(&filter(text), key, ());
        }
        assert_eq!(
            matched(&trie, "$SYS/monitor/Clients"),
            vec![(4, ()), (5, ())]
        );
        assert_eq!(matched(&trie, "SYS/monitor/Clients").len(), 4);
    }

    #[test]
    fn deep_filters_are_bounded() {
        let mut trie = SubscriptionTrie::new();
        let deep = "+/".repeat(crate::topic::MAX_LEVELS - 1) + "#";
        trie.insert(&filter(&deep), 1u8, ());
        let topic = "a/".repeat(100_000);
        assert_eq!(matched(&trie, &topic), vec![(1, ())]);
        assert_eq!(trie.remove(&filter(&deep), 1), Some(()));
        assert_eq!(trie.root.node_count(), 1);
    }
}
