//! Topic names: the topic of a PUBLISH, a will or a retained message.
//!
//! Owns the rules a topic name must follow and the validated owned [`TopicName`]. Must not know
//! about filters or wildcards beyond refusing them, nor allocate while validating.

use std::fmt;
use std::sync::Arc;

use super::{TopicError, MAX_LEVELS, MAX_TOPIC_LEN};

/// Checks that `topic` is a valid topic name, without allocating.
///
/// The decoder calls this on the borrowed topic; [`TopicName::parse`] calls it before copying.
pub(crate) fn validate_topic_name(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty); // MQTT-4.7.3-1
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong); // MQTT-4.7.3-3
    }
    let mut levels = 1;
    for byte in topic.bytes() {
        match byte {
            b'+' | b'#' => return Err(TopicError::WildcardInName), // MQTT-3.3.2-2
            b'\0' => return Err(TopicError::NullCharacter),        // MQTT-4.7.3-2
            b'/' => levels += 1,
            _ => {}
        }
    }
    if levels > MAX_LEVELS {
        return Err(TopicError::TooManyLevels);
    }
    Ok(())
}

/// A valid topic name, owned and cheap to clone.
///
/// Invariant: the text passed [`validate_topic_name`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TopicName(Arc<str>);

impl TopicName {
    /// Validates `topic` and copies it once.
    pub(crate) fn parse(topic: &str) -> Result<Self, TopicError> {
        validate_topic_name(topic)?;
        Ok(Self(Arc::from(topic)))
    }

    /// Validates a topic the caller already holds as a shared string, without copying it.
    pub(crate) fn from_shared(topic: Arc<str>) -> Result<Self, TopicError> {
        validate_topic_name(&topic)?;
        Ok(Self(topic))
    }

    /// The topic text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the topic starts with `$` (such as `$SYS/...`), which the wildcards `+` and `#` at
    /// the first level do not match.
    // MQTT-4.7.2-1
    pub(crate) fn is_dollar(&self) -> bool {
        self.0.starts_with('$')
    }
}

impl fmt::Debug for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_shared_validates_and_keeps_the_string() {
        let topic: Arc<str> = Arc::from("a/b");
        let name = TopicName::from_shared(Arc::clone(&topic)).unwrap();
        assert!(std::ptr::eq(name.as_str(), &*topic));
        assert_eq!(
            TopicName::from_shared(Arc::from("a/+")),
            Err(TopicError::WildcardInName)
        );
    }

    #[test]
    fn topic_name_validation_table() {
        let long_ok = "a".repeat(MAX_TOPIC_LEN);
        let too_long = "a".repeat(MAX_TOPIC_LEN + 1);
        let most_levels = "/".repeat(MAX_LEVELS - 1);
        let too_many_levels = "/".repeat(MAX_LEVELS);
        let cases: &[(&str, Result<(), TopicError>)] = &[
            ("a", Ok(())),
            ("sport/tennis/player1", Ok(())),
            ("/", Ok(())),
            ("//", Ok(())),
            ("/finance", Ok(())),
            ("finance/", Ok(())),
            ("$SYS/broker/load", Ok(())),
            ("$share/group/topic", Ok(())),
            ("Accounts payable", Ok(())),
            ("ünïcødé/тема/话题", Ok(())),
            (" ", Ok(())),
            (&long_ok, Ok(())),
            (&most_levels, Ok(())),
            ("", Err(TopicError::Empty)),
            (&too_long, Err(TopicError::TooLong)),
            (&too_many_levels, Err(TopicError::TooManyLevels)),
            ("+", Err(TopicError::WildcardInName)),
            ("#", Err(TopicError::WildcardInName)),
            ("sport/+", Err(TopicError::WildcardInName)),
            ("sport/#", Err(TopicError::WildcardInName)),
            ("sport+", Err(TopicError::WildcardInName)),
            ("a#b", Err(TopicError::WildcardInName)),
            ("a\0b", Err(TopicError::NullCharacter)),
            ("\0", Err(TopicError::NullCharacter)),
        ];
        for (topic, expect) in cases {
            assert_eq!(validate_topic_name(topic), *expect, "topic {topic:?}");
            assert_eq!(
                TopicName::parse(topic).map(|t| t.as_str().to_owned()),
                expect.map(|()| (*topic).to_owned()),
                "topic {topic:?}"
            );
        }
    }

    #[test]
    fn topic_name_is_dollar() {
        let cases = [
            ("$SYS/x", true),
            ("$", true),
            ("a/$SYS", false),
            ("/$SYS", false),
        ];
        for (topic, expect) in cases {
            let name = TopicName::parse(topic).expect("valid in the table");
            assert_eq!(name.is_dollar(), expect, "topic {topic:?}");
        }
    }

    #[test]
    fn topic_name_clone_shares_the_text() {
        let name = TopicName::parse("a/b").expect("valid");
        let copy = name.clone();
        assert!(std::ptr::eq(name.as_str(), copy.as_str()));
        assert_eq!(format!("{name} {name:?}"), "a/b \"a/b\"");
    }
}
