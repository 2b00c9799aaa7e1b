//! Broker messages (requests, replies, read replies): see
//! [`protocol_fuzz::targets::message`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol_fuzz::targets::message(data));
