//! Topic filters: plain ([`TopicFilter`]), shared ([`SharedFilter`]) and either
//! ([`SubscriptionFilter`]), parsed once at SUBSCRIBE; and [`matches`], the one reference matcher.
//!
//! Owns the wildcard placement rules and the `$share/{group}/{filter}` syntax. Must not hold
//! subscriptions (the trie does) nor allocate while matching.

use std::fmt;
use std::sync::Arc;

use super::{split_level, TopicError, MAX_LEVELS, MAX_TOPIC_LEN, SHARE_PREFIX};

/// Whether the valid `filter` matches the valid topic name `topic`.
///
/// The reference semantics the trie and the retained store must agree with; never allocates.
pub(crate) fn matches(filter: &str, topic: &str) -> bool {
    // MQTT-4.7.2-1: a filter starting with a wildcard does not match a topic starting with `$`.
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut filter_rest = Some(filter);
    let mut topic_rest = Some(topic);
    loop {
        let (filter_level, filter_next) = match filter_rest {
            Some(rest) => split_level(rest),
            None => return topic_rest.is_none(),
        };
        // MQTT-4.7.1-2: `#` matches the parent level and any number of child levels.
        if filter_level == "#" {
            return true;
        }
        let Some(rest) = topic_rest else {
            return false;
        };
        let (topic_level, topic_next) = split_level(rest);
        // MQTT-4.7.1-3: `+` matches exactly one level, which may be empty.
        if filter_level != "+" && filter_level != topic_level {
            return false;
        }
        filter_rest = filter_next;
        topic_rest = topic_next;
    }
}

/// A valid topic filter without the shared subscription prefix, owned and cheap to clone.
///
/// `$share/g/t` is a valid *plain* filter too (a 3.1.1 client may mean it literally); the
/// SUBSCRIBE path of a 5.0 session parses with [`SubscriptionFilter::parse`] instead.
///
/// Invariant: the text is non-empty, at most [`MAX_TOPIC_LEN`] bytes and [`MAX_LEVELS`] levels, has
/// no U+0000, and every `+` or `#` is alone in its level, `#` only in the last one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TopicFilter {
    /// The filter as the client sent it.
    text: Arc<str>,
    /// Whether any level is `+` or `#`; a filter without is matched by a single lookup.
    wildcard: bool,
}

impl TopicFilter {
    /// Validates `filter` and copies it once.
    pub(crate) fn parse(filter: &str) -> Result<Self, TopicError> {
        let wildcard = validate_filter(filter)?;
        Ok(Self {
            text: Arc::from(filter),
            wildcard,
        })
    }

    /// The filter text.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether any level is a wildcard (`+` or `#`).
    pub(crate) fn has_wildcards(&self) -> bool {
        self.wildcard
    }

    /// The levels of the filter, split by `/`; never empty.
    pub(crate) fn levels(&self) -> std::str::Split<'_, char> {
        self.text.split('/')
    }

    /// Whether this filter matches the topic name `topic`.
    pub(crate) fn matches(&self, topic: &str) -> bool {
        if self.wildcard {
            matches(&self.text, topic)
        } else {
            *self.text == *topic
        }
    }
}

/// A shared subscription `$share/{group}/{filter}`: each message matching `filter` goes to one
/// member of `group`.
///
/// Invariant: `group` is non-empty and has no `/`, `+` or `#`; `filter` is a valid filter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SharedFilter {
    /// The share name; subscriptions with the same group and filter share one queue.
    group: Arc<str>,
    /// The filter that messages are matched against.
    filter: TopicFilter,
}

impl SharedFilter {
    /// The share name.
    pub(crate) fn group(&self) -> &str {
        &self.group
    }

    /// The filter messages are matched against (without the `$share/{group}/` prefix).
    pub(crate) fn filter(&self) -> &TopicFilter {
        &self.filter
    }
}

/// The filter of one SUBSCRIBE or UNSUBSCRIBE entry: plain or shared.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SubscriptionFilter {
    /// Every subscriber receives each matching message.
    Normal(TopicFilter),
    /// One member of the group receives each matching message.
    Shared(SharedFilter),
}

impl SubscriptionFilter {
    /// Parses a filter, recognising `$share/{group}/{filter}` as a shared subscription.
    pub(crate) fn parse(text: &str) -> Result<Self, TopicError> {
        let Some(shared) = text.strip_prefix(SHARE_PREFIX) else {
            return TopicFilter::parse(text).map(Self::Normal);
        };
        if text.len() > MAX_TOPIC_LEN {
            return Err(TopicError::TooLong); // MQTT-4.7.3-3
        }
        let Some((group, filter)) = shared.split_once('/') else {
            if shared.is_empty() {
                return Err(TopicError::EmptyShareName); // MQTT-4.8.2-1
            }
            return Err(TopicError::MissingShareFilter); // MQTT-4.8.2-2
        };
        if group.is_empty() {
            return Err(TopicError::EmptyShareName); // MQTT-4.8.2-1
        }
        // MQTT-4.8.2-2: `/` cannot occur, the group ends at the first one.
        if group.contains(['+', '#']) {
            return Err(TopicError::InvalidShareName);
        }
        if group.contains('\0') {
            return Err(TopicError::NullCharacter); // MQTT-4.7.3-2
        }
        if filter.is_empty() {
            return Err(TopicError::MissingShareFilter); // MQTT-4.8.2-2
        }
        let filter = TopicFilter::parse(filter)?;
        Ok(Self::Shared(SharedFilter {
            group: Arc::from(group),
            filter,
        }))
    }

    /// The filter messages are matched against (for a shared one, without its prefix).
    pub(crate) fn topic_filter(&self) -> &TopicFilter {
        match self {
            Self::Normal(filter) => filter,
            Self::Shared(shared) => &shared.filter,
        }
    }

    /// The share name of a shared subscription.
    pub(crate) fn group(&self) -> Option<&str> {
        match self {
            Self::Normal(_) => None,
            Self::Shared(shared) => Some(&shared.group),
        }
    }
}

impl fmt::Debug for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for SharedFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{SHARE_PREFIX}{}/{}\"", self.group, self.filter)
    }
}

impl fmt::Display for SharedFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SHARE_PREFIX}{}/{}", self.group, self.filter)
    }
}

impl fmt::Debug for SubscriptionFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal(filter) => fmt::Debug::fmt(filter, f),
            Self::Shared(shared) => fmt::Debug::fmt(shared, f),
        }
    }
}

impl fmt::Display for SubscriptionFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal(filter) => fmt::Display::fmt(filter, f),
            Self::Shared(shared) => fmt::Display::fmt(shared, f),
        }
    }
}

impl From<TopicFilter> for SubscriptionFilter {
    fn from(filter: TopicFilter) -> Self {
        Self::Normal(filter)
    }
}

/// Checks a plain filter; returns whether it has wildcards.
fn validate_filter(filter: &str) -> Result<bool, TopicError> {
    if filter.is_empty() {
        return Err(TopicError::Empty); // MQTT-4.7.3-1
    }
    if filter.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong); // MQTT-4.7.3-3
    }
    if filter.contains('\0') {
        return Err(TopicError::NullCharacter); // MQTT-4.7.3-2
    }
    let mut wildcard = false;
    let mut levels = 0;
    let mut rest = Some(filter);
    while let Some(text) = rest {
        let (level, next) = split_level(text);
        levels += 1;
        match level {
            // MQTT-4.7.1-2: `#` is the last level.
            "#" if next.is_some() => return Err(TopicError::MisplacedMultiLevelWildcard),
            "#" | "+" => wildcard = true,
            // MQTT-4.7.1-2, MQTT-4.7.1-3: a wildcard is alone in its level.
            _ if level.contains('#') => return Err(TopicError::MisplacedMultiLevelWildcard),
            _ if level.contains('+') => return Err(TopicError::MisplacedSingleLevelWildcard),
            _ => {}
        }
        rest = next;
    }
    if levels > MAX_LEVELS {
        return Err(TopicError::TooManyLevels);
    }
    Ok(wildcard)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// (filter, topic, expect): the examples of MQTT 5.0 section 4.7 (and 3.1.1 section 4.7) and
    /// the edges around them.
    pub(in crate::topic) const MATCH_CASES: &[(&str, &str, bool)] = &[
        // 4.7.1.2 multi-level wildcard.
        ("sport/tennis/player1/#", "sport/tennis/player1", true),
        (
            "sport/tennis/player1/#",
            "sport/tennis/player1/ranking",
            true,
        ),
        (
            "sport/tennis/player1/#",
            "sport/tennis/player1/score/wimbledon",
            true,
        ),
        ("sport/tennis/player1/#", "sport/tennis/player2", false),
        ("sport/tennis/player1/#", "sport/tennis", false),
        ("sport/#", "sport", true),
        ("sport/#", "sport/", true),
        ("sport/#", "sport/tennis/player1", true),
        ("sport/#", "sports", false),
        ("sport/#", "Sport", false),
        ("#", "sport", true),
        ("#", "sport/tennis/player1", true),
        ("#", "/", true),
        ("#", "/finance", true),
        ("sport/tennis/#", "sport/tennis", true),
        ("sport/tennis/#", "sport", false),
        // 4.7.1.3 single-level wildcard.
        ("sport/tennis/+", "sport/tennis/player1", true),
        ("sport/tennis/+", "sport/tennis/player2", true),
        ("sport/tennis/+", "sport/tennis/player1/ranking", false),
        ("sport/tennis/+", "sport/tennis", false),
        ("sport/tennis/+", "sport/tennis/", true),
        ("sport/+", "sport", false),
        ("sport/+", "sport/", true),
        ("+", "sport", true),
        ("+", "/finance", false),
        ("+", "/", false),
        ("+/+", "/finance", true),
        ("+/+", "/", true),
        ("+/+", "a/b/c", false),
        ("/+", "/finance", true),
        ("/+", "finance", false),
        ("+/tennis/#", "sport/tennis/player1/ranking", true),
        ("+/tennis/#", "sport/tennis", true),
        ("+/tennis/#", "sport/golf", false),
        ("sport/+/player1", "sport/tennis/player1", true),
        ("sport/+/player1", "sport/tennis/player2", false),
        ("+/+/+", "a//c", true),
        ("+/#", "a", true),
        ("+/#", "/", true),
        // 4.7.2 topics beginning with `$`: MQTT-4.7.2-1.
        ("#", "$SYS", false),
        ("#", "$SYS/monitor/Clients", false),
        ("+", "$SYS", false),
        ("+/monitor/Clients", "$SYS/monitor/Clients", false),
        ("+/#", "$SYS/monitor", false),
        ("$SYS/#", "$SYS/monitor/Clients", true),
        ("$SYS/#", "$SYS", true),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
        ("$SYS/monitor/Clients", "$SYS/monitor/Clients", true),
        ("$SYS/+", "$SYS/monitor/Clients", false),
        ("$SYS", "$SYS", true),
        ("a/#", "a/$SYS", true),
        ("+/$SYS", "a/$SYS", true),
        ("+/+", "/$SYS", true),
        ("#", "a$", true),
        // 4.7.3 case, spaces and exact matching.
        ("ACCOUNTS", "Accounts", false),
        ("Accounts payable", "Accounts payable", true),
        ("Accounts payable", "Accounts", false),
        ("/finance", "/finance", true),
        ("/finance", "finance", false),
        ("finance/", "finance", false),
        ("finance", "finance/", false),
        ("a/b", "a/b/c", false),
        ("a/b/c", "a/b", false),
        ("//", "//", true),
        ("/", "//", false),
        ("ünï/+", "ünï/кот", true),
    ];

    #[test]
    fn match_table() {
        assert!(MATCH_CASES.len() >= 40);
        for &(filter, topic, expect) in MATCH_CASES {
            assert_eq!(matches(filter, topic), expect, "{filter:?} vs {topic:?}");
            let parsed = TopicFilter::parse(filter).expect("table filters are valid");
            assert_eq!(parsed.matches(topic), expect, "{filter:?} vs {topic:?}");
            assert!(validate_topic_name_ok(topic), "table topic {topic:?}");
        }
    }

    fn validate_topic_name_ok(topic: &str) -> bool {
        super::super::validate_topic_name(topic).is_ok()
    }

    #[test]
    fn filter_validation_table() {
        let long_ok = "a".repeat(MAX_TOPIC_LEN);
        let too_long = "a".repeat(MAX_TOPIC_LEN + 1);
        let most_levels = "+/".repeat(MAX_LEVELS - 1) + "#";
        let too_many_levels = "+/".repeat(MAX_LEVELS) + "#";
        let cases: &[(&str, Result<bool, TopicError>)] = &[
            ("a", Ok(false)),
            ("sport/tennis/player1", Ok(false)),
            ("/", Ok(false)),
            ("$SYS/broker", Ok(false)),
            ("$share/g/t", Ok(false)),
            ("#", Ok(true)),
            ("+", Ok(true)),
            ("sport/#", Ok(true)),
            ("sport/tennis/#", Ok(true)),
            ("+/tennis/#", Ok(true)),
            ("sport/+/player1", Ok(true)),
            ("+/+", Ok(true)),
            ("/+", Ok(true)),
            ("+/", Ok(true)),
            ("$SYS/#", Ok(true)),
            (&long_ok, Ok(false)),
            (&most_levels, Ok(true)),
            ("", Err(TopicError::Empty)),
            (&too_long, Err(TopicError::TooLong)),
            (&too_many_levels, Err(TopicError::TooManyLevels)),
            ("a\0", Err(TopicError::NullCharacter)),
            (
                "sport/tennis#",
                Err(TopicError::MisplacedMultiLevelWildcard),
            ),
            (
                "sport/tennis/#/ranking",
                Err(TopicError::MisplacedMultiLevelWildcard),
            ),
            ("#/", Err(TopicError::MisplacedMultiLevelWildcard)),
            ("##", Err(TopicError::MisplacedMultiLevelWildcard)),
            ("#+", Err(TopicError::MisplacedMultiLevelWildcard)),
            ("a/b#", Err(TopicError::MisplacedMultiLevelWildcard)),
            ("sport+", Err(TopicError::MisplacedSingleLevelWildcard)),
            (
                "sport/+tennis",
                Err(TopicError::MisplacedSingleLevelWildcard),
            ),
            ("++", Err(TopicError::MisplacedSingleLevelWildcard)),
            ("a/+b/c", Err(TopicError::MisplacedSingleLevelWildcard)),
        ];
        for (filter, expect) in cases {
            let parsed = TopicFilter::parse(filter);
            assert_eq!(
                parsed
                    .as_ref()
                    .map(TopicFilter::has_wildcards)
                    .map_err(|e| *e),
                *expect,
                "filter {filter:?}"
            );
            if let Ok(parsed) = parsed {
                assert_eq!(parsed.as_str(), *filter);
                assert_eq!(parsed.levels().count(), filter.split('/').count());
            }
        }
    }

    #[test]
    fn subscription_filter_table() {
        let too_long = format!("$share/g/{}", "a".repeat(MAX_TOPIC_LEN));
        // (text, Ok((group, filter)) or the error); group "" means a normal filter.
        type Expect = Result<(&'static str, &'static str), TopicError>;
        let cases: &[(&str, Expect)] = &[
            ("a/b", Ok(("", "a/b"))),
            ("#", Ok(("", "#"))),
            ("$share", Ok(("", "$share"))),
            ("$shared/g/a", Ok(("", "$shared/g/a"))),
            ("$SHARE/g/a", Ok(("", "$SHARE/g/a"))),
            ("a/$share/g/b", Ok(("", "a/$share/g/b"))),
            ("$share/g/a", Ok(("g", "a"))),
            (
                "$share/group/sport/tennis/+",
                Ok(("group", "sport/tennis/+")),
            ),
            ("$share/g/#", Ok(("g", "#"))),
            ("$share/g//", Ok(("g", "/"))),
            ("$share/g/$SYS/#", Ok(("g", "$SYS/#"))),
            ("$share/$share/a", Ok(("$share", "a"))),
            ("$share/", Err(TopicError::EmptyShareName)),
            ("$share//a", Err(TopicError::EmptyShareName)),
            ("$share/g", Err(TopicError::MissingShareFilter)),
            ("$share/g/", Err(TopicError::MissingShareFilter)),
            ("$share/+/a", Err(TopicError::InvalidShareName)),
            ("$share/#/a", Err(TopicError::InvalidShareName)),
            ("$share/g+/a", Err(TopicError::InvalidShareName)),
            ("$share/g#", Err(TopicError::MissingShareFilter)),
            ("$share/g\0/a", Err(TopicError::NullCharacter)),
            ("$share/g/a\0", Err(TopicError::NullCharacter)),
            ("$share/g/a#", Err(TopicError::MisplacedMultiLevelWildcard)),
            ("$share/g/#/a", Err(TopicError::MisplacedMultiLevelWildcard)),
            ("$share/g/a+", Err(TopicError::MisplacedSingleLevelWildcard)),
            (&too_long, Err(TopicError::TooLong)),
            ("", Err(TopicError::Empty)),
            ("a/#/b", Err(TopicError::MisplacedMultiLevelWildcard)),
        ];
        for (text, expect) in cases {
            let parsed = SubscriptionFilter::parse(text);
            let got = parsed
                .as_ref()
                .map(|f| (f.group().unwrap_or(""), f.topic_filter().as_str()))
                .map_err(|e| *e);
            assert_eq!(got, *expect, "filter {text:?}");
            if let Ok(parsed) = parsed {
                assert_eq!(parsed.to_string(), *text, "display round trip");
                assert_eq!(format!("{parsed:?}"), format!("{text:?}"));
            }
        }
    }

    #[test]
    fn shared_filter_accessors() {
        let Ok(SubscriptionFilter::Shared(shared)) = SubscriptionFilter::parse("$share/g/a/+")
        else {
            panic!("a shared filter");
        };
        assert_eq!(shared.group(), "g");
        assert_eq!(shared.filter().as_str(), "a/+");
        assert!(shared.filter().matches("a/b"));
        let normal = TopicFilter::parse("a/+").expect("valid");
        assert_eq!(
            SubscriptionFilter::from(normal.clone()),
            SubscriptionFilter::Normal(normal)
        );
    }
}
