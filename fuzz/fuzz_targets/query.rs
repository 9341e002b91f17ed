// # Fuzzing: parse and run a query
//
// Any string, as a query with and without filters, against a small index built once: it must
// give results or an error, never panic, hang or overflow the stack.

#![no_main]

use std::sync::OnceLock;

use ai_search::{build_index, IndexOptions, NoProgress, SearchIndex, SearchRequest};
use libfuzzer_sys::fuzz_target;

fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<(tempfile::TempDir, SearchIndex)> = OnceLock::new();
    &INDEX
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let corpus = dir.path().join("corpus");
            std::fs::create_dir_all(corpus.join("ann")).unwrap();
            std::fs::write(
                corpus.join("ann/a.md"),
                "---\ntitle: Alignment faking\nauthors: [Ann Lee]\n---\n\nA model may fake \
                 alignment during training.\n\n## Reward\n\nReward hacking and mesa-optimizers, \
                 GPT-2 and RL(VR).\n",
            )
            .unwrap();
            std::fs::write(corpus.join("ann/b.txt"), "Corrigibility.\nShutdown problems.\n").unwrap();
            let index_dir = dir.path().join("index");
            build_index(&index_dir, &corpus, &IndexOptions::default(), &NoProgress).unwrap();
            let index = SearchIndex::open(&index_dir).unwrap();
            (dir, index)
        })
        .1
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (query, filter) = text.split_once('\u{1}').unwrap_or((text, ""));
    let index = index();
    let _ = index.search(&SearchRequest::new(query));
    let _ = index.search(&SearchRequest {
        author: Some(filter.to_string()),
        topic: Some(filter.to_string()),
        limit: 3,
        offset: 1,
        context: 2,
        ..SearchRequest::new(query)
    });
});
