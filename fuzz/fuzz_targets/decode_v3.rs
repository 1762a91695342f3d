//! Decodes arbitrary bytes as a stream of MQTT 3.1.1 packets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roost::fuzzing::decode_v3(data));
