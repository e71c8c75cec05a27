//! Arbitrary requests through every function of the portal (memory table, demo data, a
//! signed-in browser): never a 5xx, never a blank page. See `portal_tests::fuzz` for the format.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portal_tests::fuzz::Harness;

struct Target {
    runtime: tokio::runtime::Runtime,
    harness: Harness,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let harness = runtime.block_on(Harness::new());
        Target { runtime, harness }
    })
}

fuzz_target!(|input: &[u8]| {
    let target = target();
    target.runtime.block_on(target.harness.check(input));
});
