//! Request bodies under every content type, then every action's fields: see
//! [`protocol_fuzz::targets::body`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol_fuzz::targets::body(data));
