//! The fuzz targets over the `protocol` crate: what each target does with its bytes
//! ([`targets`]), the properties it asserts besides "does not panic" ([`check`]), and
//! the seed corpora, taken from the test cases ([`seeds`]).
//!
//! The binaries in `fuzz_targets/` only hand libFuzzer's bytes to [`targets`], so the
//! same code runs under the fuzzer and in this crate's tests, which replay the
//! committed corpora without libFuzzer (`scripts/fuzz seeds`).

pub mod check;
pub mod seeds;
pub mod targets;
