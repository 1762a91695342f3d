//! The timer wheel: keepalive, CONNECT timeout, will delay, session and message expiry, retries.
//!
//! Owns pending deadlines and which of them are due. Pure: time is a `u64` of milliseconds since an
//! origin the caller chooses (the shell converts from `Instant`); this module must not read the
//! clock, sleep or do IO, and must not allocate in steady state (its storage is reused).
//!
//! Design: a hierarchical wheel of [`LEVELS`] levels of 64 slots; a level-0 slot spans
//! [`SLOT_MS`] ms and each level's slot spans 64 of the level below, so the levels cover 2^36
//! slots (about 34.8 years). A deadline further away than that waits in an overflow list that is
//! re-examined when the wheel enters its 2^36-slot block. Timers live in a slab-like vector with
//! generation-checked keys and are linked into their slot's list, so insert and cancel are O(1),
//! and expiry is O(levels) per occupied slot plus O(1) per timer.

/// A level-0 slot spans `1 << TICK_SHIFT` ms.
const TICK_SHIFT: u32 = 4;
/// Milliseconds per level-0 slot (a "tick").
pub(crate) const SLOT_MS: u64 = 1 << TICK_SHIFT;
/// log2 of the slots per level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels; together they span `1 << (SLOT_BITS * LEVELS)` ticks.
const LEVELS: usize = 6;
/// Ticks spanned by all levels; deadlines in a later block of this size wait in the overflow.
const BLOCK_TICKS: u64 = 1 << (SLOT_BITS as usize * LEVELS);
/// The list id of the overflow list; ids below are `level * SLOTS + slot`.
const OVERFLOW: usize = LEVELS * SLOTS;
/// No entry: the end of a list.
const NIL: usize = usize::MAX;

/// Identifies one inserted timer until it fires or is cancelled.
///
/// A key whose timer fired or was cancelled is stale: the generation tells it apart from a new
/// timer in the same storage slot (until that slot has been reused 2^32 times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TimerKey {
    /// Position in the storage.
    index: usize,
    /// The storage slot's generation when the timer was inserted.
    generation: u32,
}

/// Pending timers carrying values of type `T`.
///
/// A timer fires in the first [`expire`](Self::expire) whose `now_ms` is at or past its deadline:
/// never early, never later than that call.
///
/// Invariant: `now_tick` only grows; every timer in the level-`l` list of slot `s` has a tick whose
/// digits above `l` equal `now_tick`'s and whose digit `l` is `s` (at level 0 possibly a tick
/// clamped up to `now_tick`), with `s` at or past `now_tick`'s digit `l`; every timer in the
/// overflow list has a tick in a later block than `now_tick`.
pub(crate) struct TimerWheel<T> {
    /// Timer storage, reused through the free list.
    entries: Vec<Entry<T>>,
    /// First vacant entry, or `NIL`. Invariant: the free list holds only vacant entries.
    free: usize,
    /// First timer of each list (level slots, then the overflow), or `NIL`.
    heads: [usize; OVERFLOW + 1],
    /// Bit `s` of `occupied[l]` is set iff the list of level `l`, slot `s` is not empty.
    occupied: [u64; LEVELS],
    /// The tick (`ms >> TICK_SHIFT`) up to which the wheel has advanced.
    now_tick: u64,
    /// A lower bound of the deadlines in the level-0 slot of `now_tick`; the exact minimum after a
    /// partial expiry, so that `next_deadline` does not return a time already expired.
    current_min: u64,
    /// A lower bound of the ticks in the overflow list.
    overflow_min_tick: u64,
    /// Number of pending timers.
    len: usize,
}

impl<T> TimerWheel<T> {
    /// An empty wheel at time 0.
    pub(crate) fn new() -> Self {
        Self {
            entries: Vec::new(),
            free: NIL,
            heads: [NIL; OVERFLOW + 1],
            occupied: [0; LEVELS],
            now_tick: 0,
            current_min: 0,
            overflow_min_tick: u64::MAX,
            len: 0,
        }
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no timer is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Arms a timer that fires at `deadline_ms` (at once if that is already past). O(1); allocates
    /// only when more timers are pending than ever before.
    pub(crate) fn insert(&mut self, deadline_ms: u64, value: T) -> TimerKey {
        let timer = Timer {
            deadline: deadline_ms,
            list: OVERFLOW,
            prev: NIL,
            next: NIL,
            value,
        };
        let index = match self.entries.get_mut(self.free) {
            Some(entry) => {
                let index = self.free;
                self.free = match entry.state {
                    State::Vacant { next_free } => next_free,
                    State::Occupied(_) => NIL,
                };
                entry.state = State::Occupied(timer);
                index
            }
            None => {
                self.entries.push(Entry {
                    generation: 0,
                    state: State::Occupied(timer),
                });
                self.entries.len() - 1
            }
        };
        self.len += 1;
        self.place(index, deadline_ms);
        let generation = self.entries.get(index).map_or(0, |entry| entry.generation);
        TimerKey { index, generation }
    }

    /// Disarms a pending timer and returns its value; `None` if the key is stale (the timer fired
    /// or was cancelled). O(1).
    pub(crate) fn cancel(&mut self, key: TimerKey) -> Option<T> {
        self.live(key)?;
        self.unlink(key.index);
        self.release(key.index)
    }

    /// Moves a pending timer to `deadline_ms`, keeping its key (a keepalive re-armed on every
    /// packet). Returns false if the key is stale. O(1).
    pub(crate) fn reschedule(&mut self, key: TimerKey, deadline_ms: u64) -> bool {
        if self.live(key).is_none() {
            return false;
        }
        self.unlink(key.index);
        if let Some(timer) = self.timer_mut(key.index) {
            timer.deadline = deadline_ms;
        }
        self.place(key.index, deadline_ms);
        true
    }

    /// The deadline of a pending timer; `None` if the key is stale.
    pub(crate) fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.live(key).map(|timer| timer.deadline)
    }

    /// Removes every timer whose deadline is at or before `now_ms` and pushes its value onto `out`
    /// (reused by the caller), in order of their [`SLOT_MS`] slots; returns how many.
    ///
    /// A `now_ms` earlier than a previous call's does not move the wheel back.
    pub(crate) fn expire(&mut self, now_ms: u64, out: &mut Vec<T>) -> usize {
        let before = out.len();
        let target = (now_ms >> TICK_SHIFT).max(self.now_tick);
        while let Some((list, start)) = self.next_occupied() {
            if start > target {
                break;
            }
            if start > self.now_tick {
                self.advance(start);
            }
            if list >= SLOTS {
                // A coarser slot (or the overflow block) has begun: spread its timers below.
                if list == OVERFLOW {
                    self.overflow_min_tick = u64::MAX;
                }
                let mut index = self.take_list(list);
                while let Some(timer) = self.timer(index) {
                    let (next, deadline) = (timer.next, timer.deadline);
                    self.place(index, deadline);
                    index = next;
                }
            } else if start < target {
                // The whole slot is before `now_ms`'s slot: everything in it is due.
                let mut index = self.take_list(list);
                while let Some(timer) = self.timer(index) {
                    let next = timer.next;
                    out.extend(self.release(index));
                    index = next;
                }
            } else {
                // The slot of `now_ms` itself: only deadlines up to `now_ms` are due.
                let mut index = self.heads[list];
                let mut remaining_min = u64::MAX;
                while let Some(timer) = self.timer(index) {
                    let (next, deadline) = (timer.next, timer.deadline);
                    if deadline <= now_ms {
                        self.unlink(index);
                        out.extend(self.release(index));
                    } else {
                        remaining_min = remaining_min.min(deadline);
                    }
                    index = next;
                }
                self.current_min = remaining_min;
                break;
            }
        }
        if target > self.now_tick {
            self.advance(target);
        }
        out.len() - before
    }

    /// A time at or before the earliest pending deadline, for the poll timeout; `None` if no timer
    /// is pending. Exact for deadlines in the current slot; otherwise the start of the earliest
    /// occupied slot, which may be earlier (calling `expire` then moves the bound closer). After
    /// `expire(now)`, it is later than `now` unless a past deadline was inserted since.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        let (list, start) = self.next_occupied()?;
        if list < SLOTS && start == self.now_tick {
            return Some(self.current_min);
        }
        Some(start.saturating_mul(SLOT_MS))
    }

    /// The occupied list with the earliest start tick, and that tick; coarser lists first on ties,
    /// so that they are spread before the finer ones are expired.
    fn next_occupied(&self) -> Option<(usize, u64)> {
        let mut best: Option<(usize, u64)> = None;
        if self.heads[OVERFLOW] != NIL {
            let next_block = ((self.now_tick / BLOCK_TICKS) + 1).saturating_mul(BLOCK_TICKS);
            let first_block = self.overflow_min_tick - self.overflow_min_tick % BLOCK_TICKS;
            best = Some((OVERFLOW, next_block.max(first_block)));
        }
        for level in (0..LEVELS).rev() {
            let digit = slot_of(self.now_tick, level);
            let mask = self.occupied[level] & (u64::MAX << digit);
            if mask == 0 {
                continue;
            }
            let slot = mask.trailing_zeros() as usize;
            let span_bits = SLOT_BITS as usize * (level + 1);
            let above = self.now_tick >> span_bits << span_bits;
            let start = above | ((slot as u64) << (SLOT_BITS as usize * level));
            if best.map_or(true, |(_, earliest)| start < earliest) {
                best = Some((level * SLOTS + slot, start));
            }
        }
        best
    }

    /// Moves `now_tick` forward to `tick`.
    fn advance(&mut self, tick: u64) {
        self.now_tick = tick;
        self.current_min = tick.saturating_mul(SLOT_MS);
    }

    /// Links the timer at `index` into the list its deadline belongs to.
    fn place(&mut self, index: usize, deadline: u64) {
        let tick = (deadline >> TICK_SHIFT).max(self.now_tick);
        // The highest base-64 digit in which `tick` differs from `now_tick` picks the level.
        let differing = (tick ^ self.now_tick) | (SLOTS as u64 - 1);
        let level = ((u64::BITS - 1 - differing.leading_zeros()) / SLOT_BITS) as usize;
        let list = if level < LEVELS {
            level * SLOTS + slot_of(tick, level)
        } else {
            self.overflow_min_tick = self.overflow_min_tick.min(tick);
            OVERFLOW
        };
        if tick == self.now_tick {
            self.current_min = self.current_min.min(deadline);
        }
        let head = self.heads[list];
        if let Some(timer) = self.timer_mut(index) {
            timer.list = list;
            timer.prev = NIL;
            timer.next = head;
        }
        if let Some(first) = self.timer_mut(head) {
            first.prev = index;
        }
        self.heads[list] = index;
        if list < OVERFLOW {
            self.occupied[list / SLOTS] |= 1 << (list % SLOTS);
        }
    }

    /// Unlinks the timer at `index` from its list.
    fn unlink(&mut self, index: usize) {
        let Some(timer) = self.timer(index) else {
            return;
        };
        let (list, prev, next) = (timer.list, timer.prev, timer.next);
        match self.timer_mut(prev) {
            Some(before) => before.next = next,
            None => self.heads[list] = next,
        }
        if let Some(after) = self.timer_mut(next) {
            after.prev = prev;
        }
        if self.heads[list] == NIL {
            self.clear_bit(list);
        }
    }

    /// Empties `list` and returns its first timer; the timers keep their `next` links.
    fn take_list(&mut self, list: usize) -> usize {
        let head = std::mem::replace(&mut self.heads[list], NIL);
        self.clear_bit(list);
        head
    }

    fn clear_bit(&mut self, list: usize) {
        if list < OVERFLOW {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
    }

    /// Frees the (already unlinked) timer at `index` and returns its value.
    fn release(&mut self, index: usize) -> Option<T> {
        let entry = self.entries.get_mut(index)?;
        if !matches!(entry.state, State::Occupied(_)) {
            return None;
        }
        let state = std::mem::replace(
            &mut entry.state,
            State::Vacant {
                next_free: self.free,
            },
        );
        entry.generation = entry.generation.wrapping_add(1);
        self.free = index;
        self.len -= 1;
        match state {
            State::Occupied(timer) => Some(timer.value),
            State::Vacant { .. } => None,
        }
    }

    /// The pending timer `key` names, if the key is not stale.
    fn live(&self, key: TimerKey) -> Option<&Timer<T>> {
        match self.entries.get(key.index) {
            Some(Entry {
                generation,
                state: State::Occupied(timer),
            }) if *generation == key.generation => Some(timer),
            _ => None,
        }
    }

    fn timer(&self, index: usize) -> Option<&Timer<T>> {
        match self.entries.get(index) {
            Some(Entry {
                state: State::Occupied(timer),
                ..
            }) => Some(timer),
            _ => None,
        }
    }

    fn timer_mut(&mut self, index: usize) -> Option<&mut Timer<T>> {
        match self.entries.get_mut(index) {
            Some(Entry {
                state: State::Occupied(timer),
                ..
            }) => Some(timer),
            _ => None,
        }
    }
}

impl<T> Default for TimerWheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// One storage slot.
struct Entry<T> {
    /// Bumped each time the slot is freed, so that stale keys miss.
    generation: u32,
    state: State<T>,
}

enum State<T> {
    /// Free; links to the next free slot.
    Vacant {
        next_free: usize,
    },
    Occupied(Timer<T>),
}

/// A pending timer, linked into the list of its slot.
struct Timer<T> {
    /// When it is due, in ms.
    deadline: u64,
    /// The list it is in (`level * SLOTS + slot`, or `OVERFLOW`).
    list: usize,
    /// Previous timer in the list, or `NIL`.
    prev: usize,
    /// Next timer in the list, or `NIL`.
    next: usize,
    value: T,
}

/// The base-64 digit of `tick` at `level`.
fn slot_of(tick: u64, level: usize) -> usize {
    ((tick >> (SLOT_BITS as usize * level)) % SLOTS as u64) as usize
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A small deterministic generator (splitmix64), so that failures replay.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, bound: u64) -> u64 {
            if bound == 0 {
                0
            } else {
                self.next() % bound
            }
        }
    }

    const DAY_MS: u64 = 24 * 60 * 60 * 1000;

    fn expired(wheel: &mut TimerWheel<u32>, now: u64) -> Vec<u32> {
        let mut out = Vec::new();
        assert_eq!(wheel.expire(now, &mut out), out.len());
        out
    }

    #[test]
    fn fires_exactly_at_the_deadline_in_order() {
        let deadlines = [
            0u64, 1, 15, 16, 17, 31, 32, 100, 1_023, 1_024, 1_025, 4_095, 4_096, 70_000,
        ];
        let mut wheel = TimerWheel::new();
        for (id, deadline) in deadlines.iter().enumerate().rev() {
            wheel.insert(*deadline, id as u32);
        }
        let mut fired = Vec::new();
        for now in 0..=70_000u64 {
            for id in expired(&mut wheel, now) {
                fired.push((now, id));
            }
        }
        let expect: Vec<(u64, u32)> = deadlines
            .iter()
            .enumerate()
            .map(|(id, d)| (*d, id as u32))
            .collect();
        assert_eq!(fired, expect);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn never_early_never_late_table() {
        // (deadline, time of the first expire, time of the second, fired by first, by second)
        let cases: &[(u64, u64, u64, bool, bool)] = &[
            (100, 99, 100, false, true),
            (100, 100, 101, true, false),
            (100, 96, 111, false, true),
            (96, 95, 96, false, true),
            (111, 110, 111, false, true),
            (5_000, 4_999, 5_000, false, true),
            (5_000, 0, 10_000, false, true),
            (DAY_MS, DAY_MS - 1, DAY_MS, false, true),
            (
                30 * DAY_MS + 7,
                30 * DAY_MS + 6,
                30 * DAY_MS + 7,
                false,
                true,
            ),
            (u64::MAX, u64::MAX - 1, u64::MAX, false, true),
            (u64::MAX - 1, u64::MAX - 2, u64::MAX - 1, false, true),
            (1 << 40, (1 << 40) - 1, 1 << 40, false, true),
            ((1 << 40) + 3, 1 << 40, (1 << 40) + 3, false, true),
        ];
        for &(deadline, first, second, by_first, by_second) in cases {
            let mut wheel = TimerWheel::new();
            wheel.insert(deadline, 7);
            let next = wheel.next_deadline().expect("one timer");
            assert!(next <= deadline, "deadline {deadline}: next {next}");
            assert_eq!(
                expired(&mut wheel, first) == [7],
                by_first,
                "deadline {deadline} at {first}"
            );
            assert_eq!(
                expired(&mut wheel, second) == [7],
                by_second,
                "deadline {deadline} at {second}"
            );
            assert!(wheel.is_empty(), "deadline {deadline}");
        }
    }

    #[test]
    fn past_deadlines_fire_at_the_next_expire() {
        let mut wheel = TimerWheel::new();
        assert!(expired(&mut wheel, 10_000).is_empty());
        wheel.insert(5, 1);
        wheel.insert(9_999, 2);
        wheel.insert(10_000, 3);
        wheel.insert(10_001, 4);
        assert!(wheel.next_deadline().expect("pending") <= 5);
        let mut fired = expired(&mut wheel, 10_000);
        fired.sort();
        assert_eq!(fired, [1, 2, 3]);
        assert_eq!(wheel.next_deadline(), Some(10_001));
        assert!(
            expired(&mut wheel, 9_000).is_empty(),
            "time does not go back"
        );
        assert_eq!(expired(&mut wheel, 10_001), [4]);
    }

    #[test]
    fn cancel_and_stale_keys() {
        let mut wheel = TimerWheel::new();
        let a = wheel.insert(100, 1);
        let b = wheel.insert(200, 2);
        assert_eq!(wheel.len(), 2);
        assert_eq!(wheel.deadline(a), Some(100));
        assert_eq!(wheel.cancel(a), Some(1));
        assert_eq!(wheel.cancel(a), None);
        assert_eq!(wheel.deadline(a), None);
        assert!(!wheel.reschedule(a, 5));
        let c = wheel.insert(300, 3);
        assert_ne!(a, c, "the reused storage slot has a new generation");
        assert_eq!(
            wheel.cancel(a),
            None,
            "a stale key does not cancel the new timer"
        );
        assert_eq!(wheel.len(), 2);
        assert_eq!(expired(&mut wheel, 250), [2]);
        assert_eq!(wheel.cancel(b), None, "a fired timer's key is stale");
        assert_eq!(wheel.cancel(c), Some(3));
        assert!(wheel.is_empty());
        assert!(expired(&mut wheel, 1_000).is_empty());
    }

    #[test]
    fn reschedule_moves_a_timer() {
        let mut wheel = TimerWheel::new();
        let keepalive = wheel.insert(90_000, 1);
        for now in (0..=180_000).step_by(1_000) {
            assert!(expired(&mut wheel, now).is_empty(), "at {now}");
            assert!(wheel.reschedule(keepalive, now + 90_000));
        }
        assert_eq!(wheel.deadline(keepalive), Some(270_000));
        assert!(wheel.reschedule(keepalive, 180_500));
        let next = wheel.next_deadline().expect("pending");
        assert!((180_000..=180_500).contains(&next), "{next}");
        assert!(expired(&mut wheel, 180_499).is_empty());
        assert_eq!(wheel.next_deadline(), Some(180_500));
        assert_eq!(expired(&mut wheel, 180_500), [1]);
        assert!(!wheel.reschedule(keepalive, 1));
    }

    #[test]
    fn far_deadlines_do_not_overflow() {
        let mut wheel = TimerWheel::new();
        let mut deadlines = [
            DAY_MS,
            365 * DAY_MS,
            1 << 40,
            u64::from(u32::MAX) * 1_000, // the longest session expiry interval, ~136 years
            1 << 41,
            1 << 62,
            u64::MAX - SLOT_MS,
            u64::MAX - 1,
            u64::MAX,
        ];
        deadlines.sort_unstable();
        for (id, deadline) in deadlines.iter().enumerate() {
            wheel.insert(*deadline, id as u32);
        }
        for (id, deadline) in deadlines.iter().enumerate() {
            let next = wheel.next_deadline().expect("pending");
            assert!(next <= *deadline, "{next} > {deadline}");
            assert!(
                expired(&mut wheel, deadline - 1).is_empty(),
                "early at {deadline}"
            );
            assert_eq!(expired(&mut wheel, *deadline), [id as u32], "at {deadline}");
        }
        assert!(wheel.is_empty());
        wheel.insert(u64::MAX, 99);
        assert_eq!(expired(&mut wheel, u64::MAX), [99]);
        wheel.insert(0, 100);
        assert_eq!(expired(&mut wheel, u64::MAX), [100]);
    }

    #[test]
    fn sleeping_until_next_deadline_fires_each_timer_on_time() {
        let mut rng = Rng(7);
        let mut wheel = TimerWheel::new();
        let mut deadlines = BTreeMap::new();
        for id in 0..2_000u32 {
            let scale = [100, 10_000, DAY_MS, 400 * 365 * DAY_MS][id as usize % 4];
            let deadline = rng.below(scale);
            wheel.insert(deadline, id);
            deadlines.insert(id, deadline);
        }
        let mut now = 0;
        let mut wakeups = 0;
        let mut out = Vec::new();
        while let Some(next) = wheel.next_deadline() {
            assert!(next > now || now == 0, "no busy loop: {next} after {now}");
            now = next;
            wakeups += 1;
            assert!(wakeups < 2_000 * (LEVELS + 2), "{wakeups} wakeups");
            out.clear();
            wheel.expire(now, &mut out);
            for id in &out {
                assert_eq!(deadlines.remove(id), Some(now), "timer {id}");
            }
        }
        assert!(deadlines.is_empty());
    }

    #[test]
    fn many_timers() {
        let mut rng = Rng(42);
        let mut wheel = TimerWheel::new();
        let mut keys = Vec::with_capacity(100_000);
        for id in 0..100_000u32 {
            keys.push((wheel.insert(rng.below(600_000), id), id));
        }
        assert_eq!(wheel.len(), 100_000);
        let mut cancelled = 0;
        for (key, id) in keys.iter().step_by(3) {
            assert_eq!(wheel.cancel(*key), Some(*id));
            cancelled += 1;
        }
        let mut out = Vec::with_capacity(100_000);
        let mut fired = 0;
        let mut now = 0;
        while now < 600_000 {
            now = (now + 1 + rng.below(50)).min(600_000);
            out.clear();
            fired += wheel.expire(now, &mut out);
            assert!(out.len() <= 100_000);
        }
        assert_eq!(fired, 100_000 - cancelled);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn steady_state_reuses_storage() {
        let mut wheel = TimerWheel::new();
        let mut out = Vec::with_capacity(1_000);
        let mut now = 0;
        for id in 0..1_000u32 {
            wheel.insert(now + 100 + u64::from(id % 50), id);
        }
        let entries = wheel.entries.capacity();
        for round in 0..20_000u32 {
            now += 7;
            out.clear();
            let fired = wheel.expire(now, &mut out) as u32;
            for id in 0..fired {
                wheel.insert(now + 100 + u64::from((round + id) % 50), id);
            }
            assert_eq!(wheel.len(), 1_000);
        }
        assert_eq!(
            wheel.entries.capacity(),
            entries,
            "no growth in steady state"
        );
        assert_eq!(out.capacity(), 1_000);
    }

    /// Random inserts, cancels, reschedules and jumps of time, against a map of deadlines.
    #[test]
    fn agrees_with_a_brute_force_model() {
        for seed in 0..12u64 {
            let mut rng = Rng(seed);
            let mut wheel = TimerWheel::new();
            let mut model: BTreeMap<u32, (TimerKey, u64)> = BTreeMap::new();
            let mut now = [0, 1_000_000_007, u64::MAX - 10 * DAY_MS][seed as usize % 3];
            let mut next_id = 0u32;
            let mut out = Vec::new();
            for step in 0..3_000 {
                let scales = [16, 1_000, 100_000, DAY_MS, 1 << 44, u64::MAX];
                let scale = scales[rng.below(6) as usize];
                let delta = rng.below(scale);
                match rng.below(10) {
                    0..=4 => {
                        let deadline = if rng.below(10) == 0 {
                            now.saturating_sub(delta)
                        } else {
                            now.saturating_add(delta)
                        };
                        let key = wheel.insert(deadline, next_id);
                        model.insert(next_id, (key, deadline));
                        next_id += 1;
                    }
                    5..=6 => {
                        let pick = rng.below(model.len() as u64 + 1) as usize;
                        if let Some((&id, &(key, _))) = model.iter().nth(pick) {
                            assert_eq!(wheel.cancel(key), Some(id));
                            assert_eq!(wheel.cancel(key), None);
                            model.remove(&id);
                        }
                    }
                    7 => {
                        let pick = rng.below(model.len() as u64 + 1) as usize;
                        if let Some((_, (key, deadline))) = model.iter_mut().nth(pick) {
                            *deadline = now.saturating_add(delta);
                            assert!(wheel.reschedule(*key, *deadline));
                        }
                    }
                    _ => {
                        let scale = scales[rng.below(5) as usize];
                        now = now.saturating_add(rng.below(scale));
                        out.clear();
                        wheel.expire(now, &mut out);
                        out.sort();
                        let due: Vec<u32> = model
                            .iter()
                            .filter(|(_, (_, deadline))| *deadline <= now)
                            .map(|(id, _)| *id)
                            .collect();
                        assert_eq!(out, due, "seed {seed} step {step} now {now}");
                        for id in &due {
                            model.remove(id);
                        }
                        if let Some(next) = wheel.next_deadline() {
                            assert!(next > now, "seed {seed} step {step}: {next} <= {now}");
                        }
                    }
                }
                assert_eq!(wheel.len(), model.len(), "seed {seed} step {step}");
                let earliest = model.values().map(|(_, deadline)| *deadline).min();
                match (wheel.next_deadline(), earliest) {
                    (Some(next), Some(earliest)) => {
                        assert!(
                            next <= earliest,
                            "seed {seed} step {step}: {next} > {earliest}"
                        )
                    }
                    (next, earliest) => assert_eq!(next, earliest, "seed {seed} step {step}"),
                }
            }
        }
    }
}
