//! Inputs the fuzz targets found, replayed through the same hooks, and a check that every seed
//! in `fuzz/seeds/` is a valid packet (a broken seed would quietly weaken the fuzzers).

use std::fs;
use std::path::Path;

use roost::fuzzing;
use roost::packets::{decode, Status, Version};

/// Inputs that once made a hook panic, per target; the hook must now return normally.
const REGRESSIONS: &[(&str, &[u8])] = &[];

#[test]
fn regressions_do_not_panic() {
    for (target, bytes) in REGRESSIONS {
        match *target {
            "decode_v3" => fuzzing::decode_v3(bytes),
            "decode_v5" => fuzzing::decode_v5(bytes),
            "roundtrip" => fuzzing::roundtrip(bytes),
            other => panic!("unknown target {other}"),
        }
    }
}

#[test]
fn every_seed_decodes_completely() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (target, version) in [
        ("decode_v3", Version::V3_1_1),
        ("decode_v5", Version::V5),
        ("roundtrip", Version::V5),
    ] {
        let dir = root.join(target);
        let mut count = 0;
        for entry in fs::read_dir(&dir).expect("seed directory") {
            let path = entry.expect("seed entry").path();
            let data = fs::read(&path).expect("seed file");
            let (version, mut rest) = if target == "roundtrip" {
                let (&sel, rest) = data.split_first().expect("selector byte");
                let v = [Version::V3_1, Version::V3_1_1, version][usize::from(sel % 3)];
                (v, rest)
            } else {
                (version, &data[..])
            };
            while !rest.is_empty() {
                match decode(rest, version, fuzzing::MAX_PACKET) {
                    Ok(Status::Complete((_, used))) => rest = &rest[used..],
                    other => panic!("{}: {other:?}", path.display()),
                }
            }
            if target == "roundtrip" {
                fuzzing::roundtrip(&data);
            }
            count += 1;
        }
        assert!(count >= 12, "{target}: only {count} seeds");
    }
}
