//! MQTT 5.0 properties (section 2.2.2): identifiers with their wire types, the table of which
//! property may appear in which packet, the one decoding loop that enforces it, and the encoding
//! primitives every packet's property set shares.
//!
//! Each packet kind has its own typed property struct (in its own file) so a property that does
//! not belong to a packet cannot be put into it. User Properties and the Subscription Identifiers
//! of a PUBLISH stay where they are in the received buffer ([`UserProperties::Wire`]) so that
//! decoding allocates nothing and keeps their order.

use std::num::NonZeroU32;

use super::error::{DecodeError, EncodeError};
use super::reader::Reader;
use super::writer::{self, varint_len};

/// A property identifier (MQTT 5.0 table 2-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)] // the names are the specification's
pub enum PropertyId {
    PayloadFormatIndicator = 0x01,
    MessageExpiryInterval = 0x02,
    ContentType = 0x03,
    ResponseTopic = 0x08,
    CorrelationData = 0x09,
    SubscriptionIdentifier = 0x0B,
    SessionExpiryInterval = 0x11,
    AssignedClientIdentifier = 0x12,
    ServerKeepAlive = 0x13,
    AuthenticationMethod = 0x15,
    AuthenticationData = 0x16,
    RequestProblemInformation = 0x17,
    WillDelayInterval = 0x18,
    RequestResponseInformation = 0x19,
    ResponseInformation = 0x1A,
    ServerReference = 0x1C,
    ReasonString = 0x1F,
    ReceiveMaximum = 0x21,
    TopicAliasMaximum = 0x22,
    TopicAlias = 0x23,
    MaximumQoS = 0x24,
    RetainAvailable = 0x25,
    UserProperty = 0x26,
    MaximumPacketSize = 0x27,
    WildcardSubscriptionAvailable = 0x28,
    SubscriptionIdentifierAvailable = 0x29,
    SharedSubscriptionAvailable = 0x2A,
}

/// Where a property block stands: one per packet kind, plus the will properties of CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum PropertyContext {
    Connect,
    Will,
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

/// The wire type of a property's value (section 1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum WireType {
    Byte,
    TwoByteInteger,
    FourByteInteger,
    VariableByteInteger,
    Utf8String,
    BinaryData,
    Utf8StringPair,
}

impl PropertyId {
    /// The property with this identifier, if MQTT 5.0 defines one.
    pub fn from_u32(id: u32) -> Option<Self> {
        use PropertyId as P;
        Some(match id {
            0x01 => P::PayloadFormatIndicator,
            0x02 => P::MessageExpiryInterval,
            0x03 => P::ContentType,
            0x08 => P::ResponseTopic,
            0x09 => P::CorrelationData,
            0x0B => P::SubscriptionIdentifier,
            0x11 => P::SessionExpiryInterval,
            0x12 => P::AssignedClientIdentifier,
            0x13 => P::ServerKeepAlive,
            0x15 => P::AuthenticationMethod,
            0x16 => P::AuthenticationData,
            0x17 => P::RequestProblemInformation,
            0x18 => P::WillDelayInterval,
            0x19 => P::RequestResponseInformation,
            0x1A => P::ResponseInformation,
            0x1C => P::ServerReference,
            0x1F => P::ReasonString,
            0x21 => P::ReceiveMaximum,
            0x22 => P::TopicAliasMaximum,
            0x23 => P::TopicAlias,
            0x24 => P::MaximumQoS,
            0x25 => P::RetainAvailable,
            0x26 => P::UserProperty,
            0x27 => P::MaximumPacketSize,
            0x28 => P::WildcardSubscriptionAvailable,
            0x29 => P::SubscriptionIdentifierAvailable,
            0x2A => P::SharedSubscriptionAvailable,
            _ => return None,
        })
    }

    /// The type of this property's value.
    pub fn wire_type(self) -> WireType {
        use PropertyId as P;
        match self {
            P::PayloadFormatIndicator
            | P::RequestProblemInformation
            | P::RequestResponseInformation
            | P::MaximumQoS
            | P::RetainAvailable
            | P::WildcardSubscriptionAvailable
            | P::SubscriptionIdentifierAvailable
            | P::SharedSubscriptionAvailable => WireType::Byte,
            P::ServerKeepAlive | P::ReceiveMaximum | P::TopicAliasMaximum | P::TopicAlias => {
                WireType::TwoByteInteger
            }
            P::MessageExpiryInterval
            | P::SessionExpiryInterval
            | P::WillDelayInterval
            | P::MaximumPacketSize => WireType::FourByteInteger,
            P::SubscriptionIdentifier => WireType::VariableByteInteger,
            P::ContentType
            | P::ResponseTopic
            | P::AssignedClientIdentifier
            | P::AuthenticationMethod
            | P::ResponseInformation
            | P::ServerReference
            | P::ReasonString => WireType::Utf8String,
            P::CorrelationData | P::AuthenticationData => WireType::BinaryData,
            P::UserProperty => WireType::Utf8StringPair,
        }
    }

    /// Whether this property may appear in `ctx` (table 2-4).
    pub fn allowed_in(self, ctx: PropertyContext) -> bool {
        use PropertyContext as C;
        use PropertyId as P;
        match self {
            P::PayloadFormatIndicator
            | P::MessageExpiryInterval
            | P::ContentType
            | P::ResponseTopic
            | P::CorrelationData => matches!(ctx, C::Publish | C::Will),
            P::SubscriptionIdentifier => matches!(ctx, C::Publish | C::Subscribe),
            P::SessionExpiryInterval => matches!(ctx, C::Connect | C::ConnAck | C::Disconnect),
            P::AssignedClientIdentifier
            | P::ServerKeepAlive
            | P::ResponseInformation
            | P::MaximumQoS
            | P::RetainAvailable
            | P::WildcardSubscriptionAvailable
            | P::SubscriptionIdentifierAvailable
            | P::SharedSubscriptionAvailable => ctx == C::ConnAck,
            P::AuthenticationMethod | P::AuthenticationData => {
                matches!(ctx, C::Connect | C::ConnAck | C::Auth)
            }
            P::RequestProblemInformation | P::RequestResponseInformation => ctx == C::Connect,
            P::WillDelayInterval => ctx == C::Will,
            P::ServerReference => matches!(ctx, C::ConnAck | C::Disconnect),
            P::ReasonString => !matches!(
                ctx,
                C::Connect | C::Will | C::Publish | C::Subscribe | C::Unsubscribe
            ),
            P::ReceiveMaximum | P::TopicAliasMaximum | P::MaximumPacketSize => {
                matches!(ctx, C::Connect | C::ConnAck)
            }
            P::TopicAlias => ctx == C::Publish,
            P::UserProperty => true,
        }
    }

    /// Whether the property may appear more than once in `ctx`: User Property anywhere, and
    /// Subscription Identifier in a PUBLISH sent to a client (MQTT-3.3.4-4).
    pub fn repeatable_in(self, ctx: PropertyContext) -> bool {
        self == PropertyId::UserProperty
            || (self == PropertyId::SubscriptionIdentifier && ctx == PropertyContext::Publish)
    }
}

/// One property with its value, borrowed from the packet buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Property<'a> {
    PayloadFormatIndicator(u8),
    MessageExpiryInterval(u32),
    ContentType(&'a str),
    ResponseTopic(&'a str),
    CorrelationData(&'a [u8]),
    SubscriptionIdentifier(NonZeroU32),
    SessionExpiryInterval(u32),
    AssignedClientIdentifier(&'a str),
    ServerKeepAlive(u16),
    AuthenticationMethod(&'a str),
    AuthenticationData(&'a [u8]),
    RequestProblemInformation(u8),
    WillDelayInterval(u32),
    RequestResponseInformation(u8),
    ResponseInformation(&'a str),
    ServerReference(&'a str),
    ReasonString(&'a str),
    ReceiveMaximum(u16),
    TopicAliasMaximum(u16),
    TopicAlias(u16),
    MaximumQoS(u8),
    RetainAvailable(u8),
    UserProperty(&'a str, &'a str),
    MaximumPacketSize(u32),
    WildcardSubscriptionAvailable(u8),
    SubscriptionIdentifierAvailable(u8),
    SharedSubscriptionAvailable(u8),
}

impl<'a> Property<'a> {
    /// This property's identifier.
    pub fn id(&self) -> PropertyId {
        use Property as P;
        use PropertyId as I;
        match self {
            P::PayloadFormatIndicator(_) => I::PayloadFormatIndicator,
            P::MessageExpiryInterval(_) => I::MessageExpiryInterval,
            P::ContentType(_) => I::ContentType,
            P::ResponseTopic(_) => I::ResponseTopic,
            P::CorrelationData(_) => I::CorrelationData,
            P::SubscriptionIdentifier(_) => I::SubscriptionIdentifier,
            P::SessionExpiryInterval(_) => I::SessionExpiryInterval,
            P::AssignedClientIdentifier(_) => I::AssignedClientIdentifier,
            P::ServerKeepAlive(_) => I::ServerKeepAlive,
            P::AuthenticationMethod(_) => I::AuthenticationMethod,
            P::AuthenticationData(_) => I::AuthenticationData,
            P::RequestProblemInformation(_) => I::RequestProblemInformation,
            P::WillDelayInterval(_) => I::WillDelayInterval,
            P::RequestResponseInformation(_) => I::RequestResponseInformation,
            P::ResponseInformation(_) => I::ResponseInformation,
            P::ServerReference(_) => I::ServerReference,
            P::ReasonString(_) => I::ReasonString,
            P::ReceiveMaximum(_) => I::ReceiveMaximum,
            P::TopicAliasMaximum(_) => I::TopicAliasMaximum,
            P::TopicAlias(_) => I::TopicAlias,
            P::MaximumQoS(_) => I::MaximumQoS,
            P::RetainAvailable(_) => I::RetainAvailable,
            P::UserProperty(..) => I::UserProperty,
            P::MaximumPacketSize(_) => I::MaximumPacketSize,
            P::WildcardSubscriptionAvailable(_) => I::WildcardSubscriptionAvailable,
            P::SubscriptionIdentifierAvailable(_) => I::SubscriptionIdentifierAvailable,
            P::SharedSubscriptionAvailable(_) => I::SharedSubscriptionAvailable,
        }
    }

    /// Reads one property (identifier and value) and checks its value range.
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        use Property as P;
        use PropertyId as I;
        let raw_id = r.varint()?;
        let id = I::from_u32(raw_id).ok_or(DecodeError::UnknownProperty(raw_id))?;
        let flag = |v: u8| {
            if v <= 1 {
                Ok(v)
            } else {
                Err(DecodeError::InvalidPropertyValue(id))
            }
        };
        Ok(match id {
            I::PayloadFormatIndicator => P::PayloadFormatIndicator(flag(r.u8()?)?),
            I::MessageExpiryInterval => P::MessageExpiryInterval(r.u32()?),
            I::ContentType => P::ContentType(r.utf8()?),
            I::ResponseTopic => {
                let topic = r.utf8()?;
                // MQTT-3.3.2-14: the Response Topic is a topic name, so no wildcards.
                if topic.is_empty() || topic.bytes().any(|b| b == b'+' || b == b'#') {
                    return Err(DecodeError::InvalidPropertyValue(id));
                }
                P::ResponseTopic(topic)
            }
            I::CorrelationData => P::CorrelationData(r.binary()?),
            I::SubscriptionIdentifier => P::SubscriptionIdentifier(
                // MQTT-3.3.4-... "It is a Protocol Error if the Subscription Identifier has a
                // value of 0" (section 3.8.2.1.2).
                NonZeroU32::new(r.varint()?).ok_or(DecodeError::InvalidPropertyValue(id))?,
            ),
            I::SessionExpiryInterval => P::SessionExpiryInterval(r.u32()?),
            I::AssignedClientIdentifier => P::AssignedClientIdentifier(r.utf8()?),
            I::ServerKeepAlive => P::ServerKeepAlive(r.u16()?),
            I::AuthenticationMethod => P::AuthenticationMethod(r.utf8()?),
            I::AuthenticationData => P::AuthenticationData(r.binary()?),
            I::RequestProblemInformation => P::RequestProblemInformation(flag(r.u8()?)?),
            I::WillDelayInterval => P::WillDelayInterval(r.u32()?),
            I::RequestResponseInformation => P::RequestResponseInformation(flag(r.u8()?)?),
            I::ResponseInformation => P::ResponseInformation(r.utf8()?),
            I::ServerReference => P::ServerReference(r.utf8()?),
            I::ReasonString => P::ReasonString(r.utf8()?),
            I::ReceiveMaximum => match r.u16()? {
                // Section 3.1.2.11.3: "It is a Protocol Error to include the Receive Maximum
                // value of 0."
                0 => return Err(DecodeError::InvalidPropertyValue(id)),
                v => P::ReceiveMaximum(v),
            },
            I::TopicAliasMaximum => P::TopicAliasMaximum(r.u16()?),
            I::TopicAlias => match r.u16()? {
                // MQTT-3.3.2-8: a Topic Alias of 0 is not permitted.
                0 => return Err(DecodeError::InvalidTopicAlias),
                v => P::TopicAlias(v),
            },
            I::MaximumQoS => P::MaximumQoS(flag(r.u8()?)?),
            I::RetainAvailable => P::RetainAvailable(flag(r.u8()?)?),
            I::UserProperty => P::UserProperty(r.utf8()?, r.utf8()?),
            I::MaximumPacketSize => match r.u32()? {
                // Section 3.1.2.11.4: a Maximum Packet Size of 0 is a Protocol Error.
                0 => return Err(DecodeError::InvalidPropertyValue(id)),
                v => P::MaximumPacketSize(v),
            },
            I::WildcardSubscriptionAvailable => P::WildcardSubscriptionAvailable(flag(r.u8()?)?),
            I::SubscriptionIdentifierAvailable => {
                P::SubscriptionIdentifierAvailable(flag(r.u8()?)?)
            }
            I::SharedSubscriptionAvailable => P::SharedSubscriptionAvailable(flag(r.u8()?)?),
        })
    }

    /// Encoded size, identifier included.
    pub(crate) fn len(&self) -> usize {
        use Property as P;
        1 + match self {
            P::PayloadFormatIndicator(_)
            | P::RequestProblemInformation(_)
            | P::RequestResponseInformation(_)
            | P::MaximumQoS(_)
            | P::RetainAvailable(_)
            | P::WildcardSubscriptionAvailable(_)
            | P::SubscriptionIdentifierAvailable(_)
            | P::SharedSubscriptionAvailable(_) => 1,
            P::ServerKeepAlive(_)
            | P::ReceiveMaximum(_)
            | P::TopicAliasMaximum(_)
            | P::TopicAlias(_) => 2,
            P::MessageExpiryInterval(_)
            | P::SessionExpiryInterval(_)
            | P::WillDelayInterval(_)
            | P::MaximumPacketSize(_) => 4,
            P::SubscriptionIdentifier(v) => varint_len(v.get() as usize),
            P::ContentType(s)
            | P::ResponseTopic(s)
            | P::AssignedClientIdentifier(s)
            | P::AuthenticationMethod(s)
            | P::ResponseInformation(s)
            | P::ServerReference(s)
            | P::ReasonString(s) => 2 + s.len(),
            P::CorrelationData(b) | P::AuthenticationData(b) => 2 + b.len(),
            P::UserProperty(k, v) => 4 + k.len() + v.len(),
        }
    }

    /// Checks what the type system cannot: string lengths and the Variable Byte Integer range.
    fn check(&self) -> Result<(), EncodeError> {
        use Property as P;
        match self {
            P::ContentType(s)
            | P::ResponseTopic(s)
            | P::AssignedClientIdentifier(s)
            | P::AuthenticationMethod(s)
            | P::ResponseInformation(s)
            | P::ServerReference(s)
            | P::ReasonString(s) => writer::check_binary(s.as_bytes()),
            P::CorrelationData(b) | P::AuthenticationData(b) => writer::check_binary(b),
            P::UserProperty(k, v) => {
                writer::check_binary(k.as_bytes())?;
                writer::check_binary(v.as_bytes())
            }
            P::SubscriptionIdentifier(v) if v.get() > writer::VARINT_MAX => Err(
                EncodeError::InvalidValue("subscription identifier above 268435455"),
            ),
            _ => Ok(()),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        use Property as P;
        writer::put_u8(out, self.id() as u8);
        match *self {
            P::PayloadFormatIndicator(v)
            | P::RequestProblemInformation(v)
            | P::RequestResponseInformation(v)
            | P::MaximumQoS(v)
            | P::RetainAvailable(v)
            | P::WildcardSubscriptionAvailable(v)
            | P::SubscriptionIdentifierAvailable(v)
            | P::SharedSubscriptionAvailable(v) => writer::put_u8(out, v),
            P::ServerKeepAlive(v)
            | P::ReceiveMaximum(v)
            | P::TopicAliasMaximum(v)
            | P::TopicAlias(v) => writer::put_u16(out, v),
            P::MessageExpiryInterval(v)
            | P::SessionExpiryInterval(v)
            | P::WillDelayInterval(v)
            | P::MaximumPacketSize(v) => writer::put_u32(out, v),
            P::SubscriptionIdentifier(v) => writer::put_varint(out, v.get() as usize),
            P::ContentType(s)
            | P::ResponseTopic(s)
            | P::AssignedClientIdentifier(s)
            | P::AuthenticationMethod(s)
            | P::ResponseInformation(s)
            | P::ServerReference(s)
            | P::ReasonString(s) => writer::put_str(out, s),
            P::CorrelationData(b) | P::AuthenticationData(b) => writer::put_binary(out, b),
            P::UserProperty(k, v) => {
                writer::put_str(out, k);
                writer::put_str(out, v);
            }
        }
    }
}

/// Reads a property block (its length, then the properties) for `ctx`, handing each property to
/// `visit` after checking it is allowed there and not repeated. Returns the raw properties, which
/// [`UserProperties::Wire`] and [`SubscriptionIds::Wire`] iterate later.
pub(crate) fn decode<'a>(
    r: &mut Reader<'a>,
    ctx: PropertyContext,
    mut visit: impl FnMut(Property<'a>),
) -> Result<&'a [u8], DecodeError> {
    let len = r.varint()? as usize;
    let block = r.take(len)?;
    let mut props = Reader::new(block);
    // Bit n is set once property id n was seen; ids are all below 64.
    let mut seen: u64 = 0;
    while !props.is_empty() {
        let p = Property::read(&mut props)?;
        let id = p.id();
        if !id.allowed_in(ctx) {
            return Err(DecodeError::PropertyNotAllowed(id));
        }
        let bit = 1u64 << (id as u8);
        if seen & bit != 0 && !id.repeatable_in(ctx) {
            return Err(DecodeError::DuplicateProperty(id));
        }
        seen |= bit;
        visit(p);
    }
    Ok(block)
}

/// An iterator over the properties of an already validated block; it stops at the first
/// property it cannot read.
#[derive(Debug, Clone)]
pub struct PropertyIter<'a> {
    /// What is left of the block.
    reader: Reader<'a>,
}

impl<'a> PropertyIter<'a> {
    /// Iterates the properties in `block` (the bytes after the Property Length).
    pub fn new(block: &'a [u8]) -> Self {
        Self {
            reader: Reader::new(block),
        }
    }
}

impl<'a> Iterator for PropertyIter<'a> {
    type Item = Property<'a>;

    fn next(&mut self) -> Option<Property<'a>> {
        if self.reader.is_empty() {
            return None;
        }
        let p = Property::read(&mut self.reader).ok();
        if p.is_none() {
            self.reader.rest();
        }
        p
    }
}

/// The User Properties of a packet, in the order they were sent (MQTT-3.3.2-18).
#[derive(Debug, Clone, Copy)]
pub enum UserProperties<'a> {
    /// The raw property block of a decoded packet, already validated; non-user properties in
    /// it are skipped. This is how decoding stays allocation-free and how a broker forwards
    /// user properties untouched.
    Wire(&'a [u8]),
    /// Name/value pairs supplied by the caller.
    Pairs(&'a [(&'a str, &'a str)]),
}

impl Default for UserProperties<'_> {
    fn default() -> Self {
        UserProperties::Pairs(&[])
    }
}

impl<'a> UserProperties<'a> {
    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        match *self {
            UserProperties::Wire(block) => wire_or_list(block, &[], |p| match p {
                Property::UserProperty(k, v) => Some((k, v)),
                _ => None,
            }),
            UserProperties::Pairs(pairs) => wire_or_list(&[], pairs, |_| None),
        }
    }

    /// True when there is no user property.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for UserProperties<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for UserProperties<'_> {}

/// The values `pick` finds in a validated property block, then those of `list`: the one
/// iterator behind [`UserProperties::iter`] and [`SubscriptionIds::iter`].
fn wire_or_list<'a, T: Copy + 'a>(
    wire: &'a [u8],
    list: &'a [T],
    pick: fn(Property<'a>) -> Option<T>,
) -> impl Iterator<Item = T> + 'a {
    PropertyIter::new(wire)
        .filter_map(pick)
        .chain(list.iter().copied())
}

/// The Subscription Identifiers of a PUBLISH sent to a client: one per matching subscription
/// that has one (MQTT-3.3.4-3, MQTT-3.3.4-4).
#[derive(Debug, Clone, Copy)]
pub enum SubscriptionIds<'a> {
    /// The raw property block of a decoded PUBLISH; other properties are skipped.
    Wire(&'a [u8]),
    /// Identifiers supplied by the caller.
    List(&'a [NonZeroU32]),
}

impl Default for SubscriptionIds<'_> {
    fn default() -> Self {
        SubscriptionIds::List(&[])
    }
}

impl<'a> SubscriptionIds<'a> {
    /// The identifiers, in order.
    pub fn iter(&self) -> impl Iterator<Item = NonZeroU32> + 'a {
        match *self {
            SubscriptionIds::Wire(block) => wire_or_list(block, &[], |p| match p {
                Property::SubscriptionIdentifier(id) => Some(id),
                _ => None,
            }),
            SubscriptionIds::List(list) => wire_or_list(&[], list, |_| None),
        }
    }

    /// True when there is no identifier.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for SubscriptionIds<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SubscriptionIds<'_> {}

/// Where a property set's visitor sends its properties: a measurer or a writer, so that the
/// size computed in advance and the bytes written always come from the same walk.
pub(crate) trait Sink<'a> {
    /// One property.
    fn prop(&mut self, p: Property<'a>);
    /// Properties already encoded (identifiers included) and validated, copied as they are:
    /// how User Properties and Subscription Identifiers of a decoded packet are re-encoded
    /// without decoding them again.
    fn raw(&mut self, bytes: &'a [u8]);
}

/// The size of a property block, without its Property Length.
pub(crate) struct Block {
    /// Sum of the encoded sizes of the properties.
    pub(crate) len: usize,
}

struct Measure {
    len: usize,
    err: Result<(), EncodeError>,
}

impl<'a> Sink<'a> for Measure {
    fn prop(&mut self, p: Property<'a>) {
        self.len += p.len();
        if self.err.is_ok() {
            self.err = p.check();
        }
    }

    fn raw(&mut self, bytes: &'a [u8]) {
        self.len += bytes.len();
    }
}

struct Write<'o> {
    out: &'o mut Vec<u8>,
}

impl<'a> Sink<'a> for Write<'_> {
    fn prop(&mut self, p: Property<'a>) {
        p.write(self.out);
    }

    fn raw(&mut self, bytes: &'a [u8]) {
        self.out.extend_from_slice(bytes);
    }
}

impl Block {
    /// Measures the properties `each` yields and checks they can be encoded.
    pub(crate) fn measure<'a>(each: impl FnOnce(&mut dyn Sink<'a>)) -> Result<Self, EncodeError> {
        let mut m = Measure {
            len: 0,
            err: Ok(()),
        };
        each(&mut m);
        m.err?;
        writer::check_varint(m.len)?;
        Ok(Self { len: m.len })
    }

    /// Property Length plus properties.
    pub(crate) fn encoded_len(&self) -> usize {
        varint_len(self.len) + self.len
    }
}

/// Writes a property block (Property Length, then each property `each` yields) in one walk:
/// the properties first, then their length is put in front of them. The size the caller
/// reserved includes the Property Length, so this never reallocates.
///
/// Invariant: the caller measured the same properties with [`Block::measure`] without error.
pub(crate) fn write_block<'a>(out: &mut Vec<u8>, each: impl FnOnce(&mut dyn Sink<'a>)) {
    let start = out.len();
    each(&mut Write { out: &mut *out });
    let len = out.len() - start;
    let mut prefix = [0u8; 4];
    let mut n = 0;
    let mut v = len;
    for slot in prefix.iter_mut() {
        let mut byte = (v % 128) as u8;
        v /= 128;
        if v > 0 {
            byte |= 0x80;
        }
        *slot = byte;
        n += 1;
        if v == 0 {
            break;
        }
    }
    out.splice(start..start, prefix.iter().take(n).copied());
}

/// The encoded entries of property `want` in a validated block, in order, without decoding
/// their values.
pub(crate) fn raw_entries<'a>(
    block: &'a [u8],
    want: PropertyId,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut r = Reader::new(block);
    std::iter::from_fn(move || loop {
        let start = block.len() - r.remaining();
        let id = r.varint().ok()?;
        let prop = PropertyId::from_u32(id)?;
        match prop.wire_type() {
            WireType::Byte => r.take(1).ok()?,
            WireType::TwoByteInteger => r.take(2).ok()?,
            WireType::FourByteInteger => r.take(4).ok()?,
            WireType::VariableByteInteger => r.varint().map(|_| &[][..]).ok()?,
            WireType::Utf8String | WireType::BinaryData => r.binary().ok()?,
            WireType::Utf8StringPair => r.binary().and_then(|_| r.binary()).ok()?,
        };
        if prop == want {
            return block.get(start..block.len() - r.remaining());
        }
    })
}

/// Yields the user properties; used by every property set's visitor.
pub(crate) fn visit_user<'a>(user: &UserProperties<'a>, f: &mut dyn Sink<'a>) {
    match *user {
        UserProperties::Wire(block) => {
            for entry in raw_entries(block, PropertyId::UserProperty) {
                f.raw(entry);
            }
        }
        UserProperties::Pairs(pairs) => {
            for &(k, v) in pairs {
                f.prop(Property::UserProperty(k, v));
            }
        }
    }
}

/// Yields the subscription identifiers of a PUBLISH.
pub(crate) fn visit_sub_ids<'a>(ids: &SubscriptionIds<'a>, f: &mut dyn Sink<'a>) {
    match *ids {
        SubscriptionIds::Wire(block) => {
            for entry in raw_entries(block, PropertyId::SubscriptionIdentifier) {
                f.raw(entry);
            }
        }
        SubscriptionIds::List(list) => {
            for &id in list {
                f.prop(Property::SubscriptionIdentifier(id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_IDS: [u8; 27] = [
        0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A,
        0x1C, 0x1F, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A,
    ];

    #[test]
    fn ids_round_trip_and_unknown_ids_are_rejected() {
        for id in 0u32..=0x7F {
            match PropertyId::from_u32(id) {
                Some(p) => assert_eq!(p as u32, id),
                None => assert!(!ALL_IDS.contains(&(id as u8)), "{id:#x}"),
            }
        }
        assert_eq!(
            ALL_IDS
                .iter()
                .filter_map(|&i| PropertyId::from_u32(i.into()))
                .count(),
            27
        );
    }

    #[test]
    fn table_2_4_spot_checks() {
        use PropertyContext as C;
        use PropertyId as P;
        let cases = [
            (P::PayloadFormatIndicator, C::Publish, true),
            (P::PayloadFormatIndicator, C::Will, true),
            (P::PayloadFormatIndicator, C::Connect, false),
            (P::SubscriptionIdentifier, C::Subscribe, true),
            (P::SubscriptionIdentifier, C::Unsubscribe, false),
            (P::SessionExpiryInterval, C::Disconnect, true),
            (P::SessionExpiryInterval, C::Will, false),
            (P::WillDelayInterval, C::Will, true),
            (P::WillDelayInterval, C::Connect, false),
            (P::ReasonString, C::PubRel, true),
            (P::ReasonString, C::Publish, false),
            (P::TopicAlias, C::Publish, true),
            (P::TopicAlias, C::Connect, false),
            (P::MaximumQoS, C::ConnAck, true),
            (P::MaximumQoS, C::Connect, false),
            (P::AuthenticationData, C::Auth, true),
            (P::ServerReference, C::Disconnect, true),
            (P::UserProperty, C::Unsubscribe, true),
        ];
        for (id, ctx, want) in cases {
            assert_eq!(id.allowed_in(ctx), want, "{id:?} in {ctx:?}");
        }
    }

    fn block(bytes: &[u8], ctx: PropertyContext) -> Result<Vec<Property<'_>>, DecodeError> {
        let mut v = Vec::new();
        let mut r = Reader::new(bytes);
        decode(&mut r, ctx, |p| v.push(p))?;
        r.finish()?;
        Ok(v)
    }

    #[test]
    fn decode_checks_table_duplicates_and_values() {
        use PropertyContext as C;
        let cases: &[(&[u8], C, Result<usize, DecodeError>)] = &[
            (&[0], C::Publish, Ok(0)),
            (&[2, 0x01, 1], C::Publish, Ok(1)),
            (
                &[2, 0x01, 2],
                C::Publish,
                Err(DecodeError::InvalidPropertyValue(
                    PropertyId::PayloadFormatIndicator,
                )),
            ),
            (
                &[4, 0x01, 1, 0x01, 0],
                C::Publish,
                Err(DecodeError::DuplicateProperty(
                    PropertyId::PayloadFormatIndicator,
                )),
            ),
            (&[4, 0x0B, 1, 0x0B, 2], C::Publish, Ok(2)),
            (
                &[4, 0x0B, 1, 0x0B, 2],
                C::Subscribe,
                Err(DecodeError::DuplicateProperty(
                    PropertyId::SubscriptionIdentifier,
                )),
            ),
            (
                &[2, 0x0B, 0],
                C::Subscribe,
                Err(DecodeError::InvalidPropertyValue(
                    PropertyId::SubscriptionIdentifier,
                )),
            ),
            (
                &[3, 0x23, 0, 0],
                C::Publish,
                Err(DecodeError::InvalidTopicAlias),
            ),
            (
                &[3, 0x21, 0, 0],
                C::Connect,
                Err(DecodeError::InvalidPropertyValue(
                    PropertyId::ReceiveMaximum,
                )),
            ),
            (
                &[5, 0x27, 0, 0, 0, 0],
                C::Connect,
                Err(DecodeError::InvalidPropertyValue(
                    PropertyId::MaximumPacketSize,
                )),
            ),
            (
                &[2, 0x24, 1],
                C::Connect,
                Err(DecodeError::PropertyNotAllowed(PropertyId::MaximumQoS)),
            ),
            (
                &[2, 0x7F, 1],
                C::Connect,
                Err(DecodeError::UnknownProperty(0x7F)),
            ),
            (&[2, 0x21, 1], C::Connect, Err(DecodeError::Truncated)),
            (&[5, 0x21, 1], C::Connect, Err(DecodeError::Truncated)),
            (
                &[10, 0x26, 0, 1, b'a', 0, 1, b'b', 0x26, 0, 0],
                C::Disconnect,
                Err(DecodeError::Truncated),
            ),
            (
                &[12, 0x26, 0, 1, b'a', 0, 1, b'b', 0x26, 0, 0, 0, 0],
                C::Disconnect,
                Ok(2),
            ),
        ];
        for (bytes, ctx, want) in cases {
            assert_eq!(
                block(bytes, *ctx).map(|v| v.len()),
                *want,
                "{bytes:02x?} in {ctx:?}"
            );
        }
    }

    #[test]
    fn every_property_round_trips() {
        let n = NonZeroU32::new(268_435_455).unwrap();
        let all = [
            Property::PayloadFormatIndicator(1),
            Property::MessageExpiryInterval(7),
            Property::ContentType("text/plain"),
            Property::ResponseTopic("r/t"),
            Property::CorrelationData(b"\x00\x01"),
            Property::SubscriptionIdentifier(n),
            Property::SessionExpiryInterval(u32::MAX),
            Property::AssignedClientIdentifier("id"),
            Property::ServerKeepAlive(30),
            Property::AuthenticationMethod("SCRAM"),
            Property::AuthenticationData(b"x"),
            Property::RequestProblemInformation(0),
            Property::WillDelayInterval(9),
            Property::RequestResponseInformation(1),
            Property::ResponseInformation("ri"),
            Property::ServerReference("other"),
            Property::ReasonString("why"),
            Property::ReceiveMaximum(10),
            Property::TopicAliasMaximum(0),
            Property::TopicAlias(3),
            Property::MaximumQoS(1),
            Property::RetainAvailable(0),
            Property::UserProperty("k", "v"),
            Property::MaximumPacketSize(1024),
            Property::WildcardSubscriptionAvailable(1),
            Property::SubscriptionIdentifierAvailable(1),
            Property::SharedSubscriptionAvailable(0),
        ];
        for p in all {
            let mut out = Vec::new();
            p.write(&mut out);
            assert_eq!(out.len(), p.len(), "{p:?}");
            let mut r = Reader::new(&out);
            assert_eq!(Property::read(&mut r), Ok(p));
            assert!(r.is_empty());
        }
    }
}
