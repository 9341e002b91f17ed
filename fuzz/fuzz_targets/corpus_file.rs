// # Fuzzing: parse a corpus file
//
// Any bytes, as Markdown, plain text and JSON Lines: reading must give documents or a problem,
// never panic.

#![no_main]

use ai_search::corpus::{parse_bytes, CorpusFile, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (relative, format) in [
        ("ann/post.md", Format::Markdown),
        ("ann/notes.txt", Format::Text),
        ("ann/records.jsonl", Format::JsonLines),
    ] {
        let file = CorpusFile {
            path: std::path::PathBuf::from("/corpus").join(relative),
            relative: relative.to_string(),
            format,
        };
        let _ = parse_bytes(&file, data);
    }
});
