//! Decodes arbitrary bytes as a stream of MQTT 5.0 packets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roost::fuzzing::decode_v5(data));
