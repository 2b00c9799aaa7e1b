//! The binary's start: an invalid setting stops it at once, naming the variable, with
//! the exit status every consumer uses for "cannot start".

#[test]
fn an_invalid_setting_stops_the_consumer_naming_the_variable() {
    test_support::assert_refuses_setting(env!("CARGO_BIN_EXE_consumer-health"), "PREFETCH", "0");
}
