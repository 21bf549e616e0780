//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through
//! every target of [`porta_core::fuzz_targets`], so the targets keep
//! compiling and hold for every input the fuzzer kept, without afl. Long
//! runs are `scripts/fuzz`; a crash it finds is added to the corpus.

use std::path::Path;

use porta_core::fuzz_targets::TARGETS;

#[test]
fn every_corpus_input_passes_its_target() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut replayed = 0;
    for (name, target) in TARGETS {
        let dir = corpus.join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("no corpus for {name} ({}): {e}", dir.display()));
        let mut inputs = 0;
        for entry in entries {
            let path = entry.expect("a corpus entry").path();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} failed on {}", path.display());
            inputs += 1;
        }
        assert!(inputs > 0, "the corpus of {name} is empty");
        replayed += inputs;
    }
    assert!(replayed >= TARGETS.len());
}

#[test]
fn every_target_has_a_corpus_and_nothing_else_does() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut dirs: Vec<String> = std::fs::read_dir(&corpus)
        .expect("fuzz/corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    names.sort();
    assert_eq!(dirs, names);
}
