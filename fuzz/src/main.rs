//! One fuzz binary for every target of `porta_core::fuzz_targets`:
//! `porta-fuzz <target>` reads AFL++'s inputs (persistent mode) and hands
//! each to that target. `scripts/fuzz` runs it under `cargo afl fuzz`.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some((_, target)) = porta_core::fuzz_targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
    else {
        let names: Vec<&str> = porta_core::fuzz_targets::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("usage: porta-fuzz <target>; targets: {}", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| target(data));
}
