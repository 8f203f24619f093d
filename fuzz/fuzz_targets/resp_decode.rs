#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lode_resp::fuzz_decode(data));
