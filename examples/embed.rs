// # Embedding ai-search in another program
//
// Builds an index of a corpus folder (the project's sample corpus by default), then asks it one
// question and prints the best paragraphs with their neighbours.
//
//     cargo run --example embed -- corpus "reward hacking"

use ai_search::{build_index, IndexOptions, NoProgress, SearchIndex, SearchRequest};

fn main() -> ai_search::Result<()> {
    let mut args = std::env::args().skip(1);
    let corpus = args.next().unwrap_or_else(|| "corpus".to_string());
    let query = args
        .next()
        .unwrap_or_else(|| "alignment faking".to_string());

    // The index can live anywhere; a temporary folder keeps this example tidy.
    let index_dir = std::env::temp_dir().join("ai-search-embed-example");
    let summary = build_index(&index_dir, &corpus, &IndexOptions::default(), &NoProgress)?;
    for problem in &summary.skipped {
        eprintln!("skipped {problem}");
    }
    println!(
        "indexed {} paragraphs from {} files",
        summary.paragraphs, summary.files
    );

    let index = SearchIndex::open(&index_dir)?;
    let request = SearchRequest {
        limit: 3,
        context: 1,
        ..SearchRequest::new(query)
    };
    let results = index.search(&request)?;
    println!(
        "{} paragraphs match {:?}",
        results.total_hits, results.query
    );
    for hit in &results.hits {
        println!(
            "\n#{} {:.2} {} — {} ({})",
            hit.rank, hit.score, hit.author, hit.topic, hit.reference
        );
        if let Some(before) = hit.before.last() {
            println!("  before: {before}");
        }
        println!("  hit:    {}", hit.text);
        if let Some(after) = hit.after.first() {
            println!("  after:  {after}");
        }
        for copy in &hit.also_in {
            println!("  also in {}", copy.reference);
        }
    }
    Ok(())
}
