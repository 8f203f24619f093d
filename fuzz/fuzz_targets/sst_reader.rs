#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lode::fuzz::fuzz_sst_reader(data));
