//! The floor under a full build: tantivy alone indexing a corpus's paragraph text.
//!
//! ```sh
//! cargo run --release --example tantivy_floor -- /tmp/corpus-1g [--with-merges]
//! ```
//!
//! The corpus is read by the library first, into memory, and not timed. Then only each
//! paragraph's text is indexed, as `ai-search index` indexes it (the same tokenizer: stop words
//! left out, stems; positions; stored with the same zstd settings) on tantivy's default number
//! of threads with the same 128 MiB budget, without merges. The time printed is from the first
//! paragraph handed to tantivy to the end of the commit: what tantivy needs for the text before
//! any parsing, other field, column or merge that the real build adds. With `--with-merges`,
//! tantivy's own merge policy runs too, and the time is to the end of its merges (`ai-search
//! index` merges only small segments, see `MergeSmallSegments`).

use std::time::Instant;

use ai_search::corpus::{read_documents, Corpus};
use ai_search::schema::{index_settings, register_tokenizers, PROSE_TOKENIZER};
use ai_search::tantivy::indexer::NoMergePolicy;
use ai_search::tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use ai_search::tantivy::{doc, Index, IndexWriter, TantivyDocument};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_merges = args.iter().any(|arg| arg == "--with-merges");
    let Some(root) = args.iter().find(|arg| !arg.starts_with("--")) else {
        return Err("usage: tantivy_floor CORPUS [--with-merges]".into());
    };
    let mut texts = Vec::new();
    let mut bytes = 0;
    for file in Corpus::new(root).walk().flatten() {
        bytes += std::fs::metadata(&file.path)?.len();
        let Ok(parsed) = read_documents(&file) else {
            continue;
        };
        for document in parsed.documents {
            texts.extend(document.paragraphs.into_iter().map(|p| p.text));
        }
    }
    eprintln!("read {} paragraphs, {bytes} bytes", texts.len());

    let mut schema = Schema::builder();
    let text = schema.add_text_field(
        "text",
        TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(PROSE_TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
            .set_stored(),
    );
    let dir = tempfile::tempdir()?;
    let index = Index::builder()
        .schema(schema.build())
        .settings(index_settings())
        .create_in_dir(dir.path())?;
    register_tokenizers(index.tokenizers());
    let mut writer: IndexWriter<TantivyDocument> = index.writer(128 << 20)?;
    if !with_merges {
        writer.set_merge_policy(Box::new(NoMergePolicy));
    }

    let started = Instant::now();
    let cpu_before = cpu_seconds();
    for paragraph in texts {
        writer.add_document(doc!(text => paragraph))?;
    }
    writer.commit()?;
    if with_merges {
        writer.wait_merging_threads()?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    println!(
        "tantivy alone, paragraph text only{}: {seconds:.1} s ({:.1} MB/s of corpus), \
         {cpu:.1} s of CPU time ({:.2} cores)",
        if with_merges { ", with its merges" } else { "" },
        bytes as f64 / 1e6 / seconds,
        cpu / seconds
    );
    Ok(())
}

/// The CPU time of this process so far (user and system), in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
