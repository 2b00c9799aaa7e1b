//! Path parameters of a row of the shapes table: see [`protocol_fuzz::targets::path`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol_fuzz::targets::path(data));
