//! A record's three fields, parsed and deserialised: see
//! [`protocol_fuzz::targets::record`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol_fuzz::targets::record(data));
