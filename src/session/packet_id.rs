//! Outgoing packet identifiers: an allocator that never hands out an id still in flight
//! (MQTT-2.2.1-3 and section 2.2.1: an id is reusable only after its acknowledgement).
//!
//! Pure: a bitset of the 65,535 ids, allocated only when the session first sends a QoS 1 or 2
//! message so that QoS 0-only and idle sessions cost nothing here.

use crate::packets::PacketId;

/// 65,536 bits; bit 0 (id 0) is never used.
const WORDS: usize = 1024;

/// Hands out packet identifiers in sequence, skipping those still in use.
#[derive(Debug, Default)]
pub(crate) struct PacketIds {
    /// Bit n set: id n is in flight. Empty until the first allocation.
    used: Vec<u64>,
    /// The id to try next. Invariant: 1..=65535 once `used` is allocated.
    next: u16,
    /// How many ids are in use.
    count: usize,
}

impl PacketIds {
    /// The next free id, or `None` when all 65,535 are in flight.
    pub(crate) fn allocate(&mut self) -> Option<PacketId> {
        if self.used.is_empty() {
            self.used = vec![0; WORDS];
            self.next = 1;
        }
        if self.count >= usize::from(u16::MAX) {
            return None;
        }
        loop {
            let id = self.next;
            self.next = if id == u16::MAX { 1 } else { id + 1 };
            if !self.is_used(id) {
                self.set(id, true);
                self.count += 1;
                return PacketId::new(id);
            }
        }
    }

    /// Returns `id` to the pool; false if it was not in use.
    pub(crate) fn release(&mut self, id: PacketId) -> bool {
        if !self.is_used(id.get()) {
            return false;
        }
        self.set(id.get(), false);
        self.count -= 1;
        true
    }

    /// How many ids are in use.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.count
    }

    fn is_used(&self, id: u16) -> bool {
        let (word, bit) = (usize::from(id) / 64, id % 64);
        self.used.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    fn set(&mut self, id: u16, on: bool) {
        let (word, bit) = (usize::from(id) / 64, id % 64);
        if let Some(w) = self.used.get_mut(word) {
            if on {
                *w |= 1 << bit;
            } else {
                *w &= !(1 << bit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_then_skips_ids_in_flight_after_wrapping() {
        let mut ids = PacketIds::default();
        let first = ids.allocate().unwrap();
        assert_eq!(first.get(), 1);
        let second = ids.allocate().unwrap();
        assert_eq!(second.get(), 2);
        assert!(ids.release(second));
        // Go all the way round: id 1 is still in flight and must be skipped, 2 is free again.
        for expect in 3..=u16::MAX {
            let id = ids.allocate().unwrap();
            assert_eq!(id.get(), expect);
            ids.release(id);
        }
        assert_eq!(ids.allocate().unwrap().get(), 2);
        assert_eq!(ids.in_use(), 2);
    }

    #[test]
    fn exhaustion_and_release() {
        let mut ids = PacketIds::default();
        for _ in 0..u16::MAX {
            assert!(ids.allocate().is_some());
        }
        assert_eq!(ids.allocate(), None);
        let id = PacketId::new(777).unwrap();
        assert!(ids.release(id));
        assert!(!ids.release(id));
        assert_eq!(ids.allocate(), Some(id));
    }
}
