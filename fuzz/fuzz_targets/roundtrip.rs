//! Decode, encode, decode: the codec must give back what it read (first byte: version).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roost::fuzzing::roundtrip(data));
