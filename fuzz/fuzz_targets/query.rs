//! Query strings, then every action's fields: see [`protocol_fuzz::targets::query`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol_fuzz::targets::query(data));
