// # Relevance benchmark: ai-search against a plain BM25 engine (SQLite FTS5)
//
// Runs the judged queries of `benches/relevance_queries.json` over a real corpus with ai-search and
// with SQLite FTS5 (`porter unicode61` tokenizer, `bm25()` ranking) over the very same paragraphs,
// and prints MRR@10, success@1 and success@10, overall and per kind of query, plus warm query
// latency of ai-search (snippets and context included, as the command line produces them).
//
//     cargo bench --bench relevance -- ../shared/corpora [--verbose] [--pool FILE]
//
// `--pool FILE` also writes, for each query, the union of both engines' top 10 in a neutral order
// (sorted by text), for judging which paragraphs a reader would accept without knowing which
// engine found them: the judged set was first written from the corpus alone, then completed by
// judging such a pool.
//
// The corpus is arranged as one folder per author (symbolic links in a temporary folder), so that
// files which name no author get the right one: see `AUTHOR_OF_FOLDER`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ai_search::corpus::{read_file, Corpus};
use ai_search::{build_index, IndexOptions, NoProgress, SearchIndex, SearchRequest};
use rusqlite::Connection;
use serde::Deserialize;

/// Who wrote the files of each folder of `../shared/corpora/` that name no author themselves.
const AUTHOR_OF_FOLDER: &[(&str, &str)] = &[
    ("turntrout", "Alex Turner"),
    ("profile-page", "Vili Kohonen"),
];
const QUERIES: &str = include_str!("relevance_queries.json");
/// Hits judged per query.
const DEPTH: usize = 10;
/// Rounds of the whole query list for the latency figures (after one warm-up round).
const LATENCY_ROUNDS: usize = 10;

#[derive(Deserialize)]
struct Judged {
    id: String,
    kind: String,
    query: String,
    author: Option<String>,
    topic: Option<String>,
    relevant: Vec<Relevant>,
}

#[derive(Deserialize)]
struct Relevant {
    /// File name (without folders).
    file: String,
    /// Phrases the paragraph must contain, case-insensitively.
    contains: Vec<String>,
}

impl Judged {
    /// The 1-based rank of the first relevant hit among `hits` (file path, paragraph text).
    fn first_relevant(&self, hits: &[(String, String)]) -> Option<usize> {
        hits.iter()
            .position(|(path, text)| {
                let file = path.rsplit('/').next().unwrap_or(path);
                let text = text.to_lowercase();
                self.relevant.iter().any(|rel| {
                    rel.file == file
                        && rel
                            .contains
                            .iter()
                            .all(|needle| text.contains(&needle.to_lowercase()))
                })
            })
            .map(|i| i + 1)
    }
}

#[derive(Default)]
struct Scores {
    queries: usize,
    reciprocal_ranks: f64,
    at_1: usize,
    at_10: usize,
}

impl Scores {
    fn add(&mut self, rank: Option<usize>) {
        self.queries += 1;
        if let Some(rank) = rank {
            self.reciprocal_ranks += 1.0 / rank as f64;
            self.at_1 += usize::from(rank == 1);
            self.at_10 += usize::from(rank <= DEPTH);
        }
    }

    fn row(&self) -> String {
        let n = self.queries.max(1) as f64;
        format!(
            "{:>7.3} {:>7.3} {:>7.3}",
            self.reciprocal_ranks / n,
            self.at_1 as f64 / n,
            self.at_10 as f64 / n
        )
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let verbose = args.iter().any(|a| a == "--verbose");
    let pool_file = args
        .iter()
        .position(|a| a == "--pool")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let Some(corpora) = args
        .iter()
        .find(|a| !a.starts_with("--") && Some(*a) != pool_file.as_ref())
    else {
        eprintln!(
            "usage: cargo bench --bench relevance -- CORPORA_FOLDER [--verbose] [--pool FILE]"
        );
        std::process::exit(2);
    };
    let corpora = PathBuf::from(corpora).canonicalize()?;
    let judged: Vec<Judged> = serde_json::from_str(QUERIES)?;

    let work = tempfile::tempdir()?;
    let corpus = arrange_by_author(&corpora, &work.path().join("corpus"))?;
    let index_dir = work.path().join("index");
    let started = Instant::now();
    let summary = build_index(&index_dir, &corpus, &IndexOptions::default(), &NoProgress)?;
    println!(
        "corpus: {} files, {} paragraphs; ai-search index built in {:.2}s",
        summary.files,
        summary.paragraphs,
        started.elapsed().as_secs_f64()
    );
    let index = SearchIndex::open(&index_dir)?;
    let started = Instant::now();
    let fts = Fts5::build(&corpus)?;
    println!(
        "SQLite FTS5 baseline built in {:.2}s",
        started.elapsed().as_secs_f64()
    );

    let mut pool = Vec::new();
    let mut ours: BTreeMap<String, Scores> = BTreeMap::new();
    let mut theirs: BTreeMap<String, Scores> = BTreeMap::new();
    for query in &judged {
        let request = request_for(query);
        // A query the engine rejects counts as one that found nothing.
        let hits: Vec<_> = match index.search(&request) {
            Ok(results) => results
                .hits
                .iter()
                .map(|hit| (hit.path.clone(), hit.text.clone()))
                .collect(),
            Err(err) => {
                println!("  {} {:?}: {err}", query.id, query.query);
                Vec::new()
            }
        };
        let their_hits = fts.search(query)?;
        let our_rank = query.first_relevant(&hits);
        let their_rank = query.first_relevant(&their_hits);
        if pool_file.is_some() {
            let mut candidates: Vec<_> = hits.iter().chain(&their_hits).cloned().collect();
            candidates.sort_by(|a, b| a.1.cmp(&b.1));
            candidates.dedup();
            pool.push(serde_json::json!({
                "id": query.id,
                "query": query.query,
                "author": query.author,
                "topic": query.topic,
                "candidates": candidates
                    .iter()
                    .map(|(path, text)| serde_json::json!({"file": path, "text": text}))
                    .collect::<Vec<_>>(),
            }));
        }
        for kind in ["all", query.kind.as_str()] {
            ours.entry(kind.to_string()).or_default().add(our_rank);
            theirs.entry(kind.to_string()).or_default().add(their_rank);
        }
        if verbose && our_rank != Some(1) {
            println!(
                "  {} [{}] {:?}: ai-search rank {}, FTS5 rank {}; top: {}",
                query.id,
                query.kind,
                query.query,
                rank_text(our_rank),
                rank_text(their_rank),
                hits.first()
                    .map(|(path, text)| format!(
                        "{path}: {}",
                        text.chars().take(90).collect::<String>()
                    ))
                    .unwrap_or_default()
            );
        }
    }

    if let Some(file) = &pool_file {
        std::fs::write(file, serde_json::to_string_pretty(&pool)?)?;
        println!("wrote the judging pool to {file}");
    }
    println!(
        "\n{:<10} {:>3}  {:^23}  {:^23}",
        "", "", "ai-search", "SQLite FTS5 (bm25)"
    );
    println!(
        "{:<10} {:>3}  {:>7} {:>7} {:>7}  {:>7} {:>7} {:>7}",
        "kind", "n", "MRR@10", "S@1", "S@10", "MRR@10", "S@1", "S@10"
    );
    let mut kinds: Vec<_> = ours.keys().filter(|k| *k != "all").cloned().collect();
    kinds.push("all".to_string());
    for kind in kinds {
        println!(
            "{:<10} {:>3}  {}  {}",
            kind,
            ours[&kind].queries,
            ours[&kind].row(),
            theirs[&kind].row()
        );
    }

    let mut latencies = Vec::new();
    for round in 0..=LATENCY_ROUNDS {
        for query in &judged {
            let request = request_for(query);
            let started = Instant::now();
            let _ = std::hint::black_box(index.search(&request));
            if round > 0 {
                latencies.push(started.elapsed());
            }
        }
    }
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    println!(
        "\nai-search warm query latency over {} runs (10 hits, snippets, 1 paragraph of context): \
         p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms",
        latencies.len(),
        ms(percentile(0.5)),
        ms(percentile(0.99)),
        ms(mean)
    );
    Ok(())
}

fn request_for(query: &Judged) -> SearchRequest {
    SearchRequest {
        author: query.author.clone(),
        topic: query.topic.clone(),
        // Judged like FTS5, paragraph by paragraph: copies of a text are not merged.
        dedup: false,
        ..SearchRequest::new(&query.query)
    }
}

fn rank_text(rank: Option<usize>) -> String {
    rank.map_or_else(|| "-".to_string(), |r| r.to_string())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Links each folder of `corpora` into `target` under its author's name.
fn arrange_by_author(corpora: &Path, target: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(target)?;
    for entry in std::fs::read_dir(corpora)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let folder = entry.file_name().to_string_lossy().into_owned();
        let author = AUTHOR_OF_FOLDER
            .iter()
            .find(|(name, _)| *name == folder)
            .map_or(folder.as_str(), |(_, author)| author);
        std::os::unix::fs::symlink(entry.path(), target.join(author))?;
    }
    Ok(target.to_path_buf())
}

/// The baseline: the same paragraphs in an FTS5 table, ranked by `bm25()`.
struct Fts5 {
    db: Connection,
}

impl Fts5 {
    fn build(corpus: &Path) -> Result<Fts5, Box<dyn std::error::Error>> {
        let db = Connection::open_in_memory()?;
        db.execute_batch(
            "CREATE VIRTUAL TABLE paragraphs USING fts5(
                 text, topic, author UNINDEXED, path UNINDEXED,
                 tokenize = 'porter unicode61');",
        )?;
        let tx = db.unchecked_transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO paragraphs (text, topic, author, path) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut documents = Vec::new();
            for file in Corpus::new(corpus).walk().flatten() {
                // Files ai-search skips are skipped here too.
                let _ = read_file(&file, &mut |doc| documents.push(doc));
            }
            for doc in documents {
                let authors = doc.authors.join(", ");
                for paragraph in &doc.paragraphs {
                    insert.execute((&paragraph.text, &doc.topic, &authors, &doc.path))?;
                }
            }
        }
        tx.commit()?;
        Ok(Fts5 { db })
    }

    /// Top hits as (path, text). Words are OR-ed, as BM25 engines do for free text; quoted
    /// phrases stay phrases; filters are substring matches.
    fn search(&self, query: &Judged) -> rusqlite::Result<Vec<(String, String)>> {
        let match_expr = fts5_query(&query.query);
        if match_expr.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = "SELECT path, text FROM paragraphs WHERE paragraphs MATCH ?1".to_string();
        let mut params = vec![match_expr];
        for (column, value) in [("author", &query.author), ("topic", &query.topic)] {
            if let Some(value) = value {
                params.push(format!("%{value}%"));
                sql.push_str(&format!(" AND {column} LIKE ?{}", params.len()));
            }
        }
        sql.push_str(&format!(" ORDER BY bm25(paragraphs) LIMIT {DEPTH}"));
        let mut statement = self.db.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        rows.collect()
    }
}

/// The FTS5 form of a free-text query: every quoted phrase and every other word as a quoted
/// string (so punctuation cannot break the syntax), joined with OR.
fn fts5_query(query: &str) -> String {
    let mut parts = Vec::new();
    for (i, chunk) in query.split('"').enumerate() {
        if i % 2 == 1 {
            parts.push(chunk.to_string());
        } else {
            parts.extend(chunk.split_whitespace().map(str::to_string));
        }
    }
    parts
        .iter()
        .map(|part| part.trim())
        .filter(|part| part.chars().any(char::is_alphanumeric))
        .map(|part| format!("\"{}\"", part.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" OR ")
}
