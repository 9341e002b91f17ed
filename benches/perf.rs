// # Performance benchmark: ai-search against ripgrep and SQLite FTS5 on one corpus
//
// On a corpus folder (typically one written by `examples/gen_corpus.rs`), measures in one run:
//
// - the full index build with the real `ai-search` binary (`index --rebuild`): wall time, MB/s,
//   peak RSS and CPU time of the process (from `wait4`), index size against corpus size;
// - warm query latency in-process (`SearchIndex::search` plus the text rendering of the command
//   line: 10 hits with snippets and one paragraph of context), over rounds of a fixed list of
//   realistic queries (words, quoted phrases, an operator, a misspelling, `--author` and
//   `--topic` filters);
// - cold latency of one `ai-search query` process per query, from spawn to the last byte of its
//   output (page cache warm);
// - `rg -i -F` over the raw files for the same queries as literals, one process each (skipped,
//   with a message, when ripgrep is not installed);
// - SQLite FTS5 (`porter unicode61`, `bm25()`, `snippet()`, the neighbouring paragraphs fetched
//   by rowid) over the very same paragraphs: build time, MB/s, database size, warm latency;
// - the re-index after 1% of the files were touched (a paragraph appended to each), then
//   `ai-search index` again; the files are restored afterwards.
//
//     cargo run --release --example gen_corpus -- --source ../shared/corpora --size 10MB \
//         --seed 42 --out /tmp/corpus-10m
//     cargo bench --bench perf -- /tmp/corpus-10m [--work DIR] [--rounds N] [--cold-rounds N]
//         [--verbose]
//
// `--work DIR` keeps the index and the FTS5 database there (default: a temporary folder; the
// index kept still holds the paragraphs added by touching files, which are restored afterwards);
// `--rounds` is the number of timed rounds of the query list in-process (default 10, after one
// warm-up round), `--cold-rounds` the number for the process-per-query measures (default 2);
// `--verbose` adds a line per query.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ai_search::corpus::{read_documents, Corpus, CorpusFile, Format};
use ai_search::{render, SearchIndex, SearchRequest};
use rusqlite::Connection;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// One benchmark query, as a user would type it.
struct Query {
    query: &'static str,
    author: Option<&'static str>,
    topic: Option<&'static str>,
}

const fn words(query: &'static str) -> Query {
    Query {
        query,
        author: None,
        topic: None,
    }
}

/// Realistic searches of alignment writing. The `--author` filters name the two most prolific
/// authors of every corpus that `examples/gen_corpus.rs` writes (authors 0 and 1 of its pool).
const QUERIES: &[Query] = &[
    words("shard theory"),
    words("\"instrumental convergence\""),
    words("power-seeking optimal policies"),
    words("attainable utility preservation"),
    words("corrigibility"),
    words("steering vectors language models"),
    words("activation additions"),
    words("inner alignment"),
    words("\"reward is not the optimization target\""),
    words("impact measures side effects"),
    words("why would an agent seek power"),
    words("RLHF reward model"),
    words("\"specification gaming\""),
    words("sycophancy"),
    words("gradient routing unlearning"),
    words("human values"),
    words("superintelligence x-risk"),
    words("maze-solving policy network"),
    words("\"reinforcement learning\""),
    words("corrigibility AND shutdown"),
    words("corrigibilty"),
    words("deceptive alignment"),
    Query {
        author: Some("Mira Okafor"),
        ..words("interpretability")
    },
    Query {
        author: Some("lind"),
        ..words("diamond alignment")
    },
    Query {
        topic: Some("instrumental convergence"),
        ..words("optimal policies")
    },
    Query {
        topic: Some("impact"),
        ..words("\"side effects\"")
    },
];

impl Query {
    fn request(&self) -> SearchRequest {
        SearchRequest {
            author: self.author.map(str::to_string),
            topic: self.topic.map(str::to_string),
            ..SearchRequest::new(self.query)
        }
    }

    /// The query as one literal for grep: quotes and operators dropped.
    fn literal(&self) -> String {
        self.query
            .replace('"', "")
            .split_whitespace()
            .filter(|word| !matches!(*word, "AND" | "OR" | "NOT"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn label(&self) -> String {
        let mut label = self.query.to_string();
        if let Some(author) = self.author {
            label.push_str(&format!(" --author {author:?}"));
        }
        if let Some(topic) = self.topic {
            label.push_str(&format!(" --topic {topic:?}"));
        }
        label
    }
}

struct Options {
    corpus: PathBuf,
    work: Option<PathBuf>,
    rounds: usize,
    cold_rounds: usize,
    verbose: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut corpus = None;
    let mut options = Options {
        corpus: PathBuf::new(),
        work: None,
        rounds: 10,
        cold_rounds: 2,
        verbose: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |text: String| {
            text.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(format!("not a positive number: {text}"))
        };
        match arg.as_str() {
            "--work" => options.work = Some(value("--work")?.into()),
            "--rounds" => options.rounds = number(value("--rounds")?)?,
            "--cold-rounds" => options.cold_rounds = number(value("--cold-rounds")?)?,
            "--verbose" => options.verbose = true,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ if corpus.is_none() => corpus = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    options.corpus = corpus.ok_or("no corpus folder given")?;
    Ok(options)
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> BoxResult<()> {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!(
                "usage: cargo bench --bench perf -- CORPUS [--work DIR] [--rounds N] \
                 [--cold-rounds N] [--verbose]"
            );
            std::process::exit(2);
        }
    };
    let corpus = options
        .corpus
        .canonicalize()
        .map_err(|err| format!("{}: {err}", options.corpus.display()))?;
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_ai-search"));
    let temporary;
    let work = match &options.work {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.canonicalize()?
        }
        None => {
            temporary = tempfile::Builder::new()
                .prefix("ai-search-perf-")
                .tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    let index_dir = work.join("index");

    let files: Vec<CorpusFile> = Corpus::new(&corpus).walk().flatten().collect();
    if files.is_empty() {
        return Err(format!("no .md, .txt or .jsonl files in {}", corpus.display()).into());
    }
    // Every engine reads the corpus from the page cache.
    let mut corpus_bytes = 0;
    for file in &files {
        corpus_bytes += std::fs::read(&file.path)?.len() as u64;
    }
    let mb = corpus_bytes as f64 / 1e6;
    println!("ai-search performance benchmark");
    println!("machine: {}", machine());
    println!(
        "corpus:  {}: {mb:.1} MB in {} files",
        corpus.display(),
        files.len()
    );
    println!();

    // Parsing alone, through the library on one thread: the floor under any build.
    let started = Instant::now();
    let mut paragraphs = 0;
    for file in &files {
        if let Ok(parsed) = read_documents(file) {
            paragraphs += parsed
                .documents
                .iter()
                .map(|d| d.paragraphs.len())
                .sum::<usize>();
        }
    }
    let parse_time = started.elapsed();
    eprintln!("parsed {paragraphs} paragraphs; building the index…");

    // Full build with the binary.
    let build = run_child(
        Command::new(&binary)
            .arg("--index")
            .arg(&index_dir)
            .args(["index", "--rebuild", "--quiet"])
            .arg(&corpus),
    )?;
    build.check("ai-search index --rebuild", &[0, 1])?;
    let index_bytes = folder_size(&index_dir)?;

    // Warm queries, in-process.
    let started = Instant::now();
    let index = SearchIndex::open(&index_dir)?;
    let open_time = started.elapsed();
    eprintln!("warm queries…");
    let mut total_hits = Vec::new();
    let mut warm = Latencies::default();
    for round in 0..=options.rounds {
        for (i, query) in QUERIES.iter().enumerate() {
            let request = query.request();
            let started = Instant::now();
            let results = index.search(&request)?;
            let mut out = termcolor::NoColor::new(Vec::new());
            render::write_human(&mut out, &results)?;
            std::hint::black_box(out);
            let elapsed = started.elapsed();
            if round == 0 {
                total_hits.push(results.total_hits);
            } else {
                warm.add(i, elapsed);
            }
        }
    }
    drop(index);

    // Cold queries: one process each, spawn to last byte of output.
    eprintln!("cold queries…");
    let mut cold = Latencies::default();
    let mut cold_rss = 0;
    for round in 0..=options.cold_rounds {
        for (i, query) in QUERIES.iter().enumerate() {
            let mut command = Command::new(&binary);
            command
                .arg("--index")
                .arg(&index_dir)
                .args(["query", "--color", "never"]);
            if let Some(author) = query.author {
                command.args(["--author", author]);
            }
            if let Some(topic) = query.topic {
                command.args(["--topic", topic]);
            }
            command.arg("--").arg(query.query);
            let result = run_child(&mut command)?;
            result.check("ai-search query", &[0])?;
            // Round 0 warms the page cache for the index files.
            if round > 0 {
                cold.add(i, result.last_byte);
                cold_rss = cold_rss.max(result.max_rss);
            }
        }
    }

    // ripgrep over the raw files.
    let rg = match Command::new("rg").arg("--version").output() {
        Ok(output) if output.status.success() => {
            eprintln!("rg…");
            let mut latencies = Latencies::default();
            for round in 0..=options.cold_rounds {
                for (i, query) in QUERIES.iter().enumerate() {
                    let result = run_child(
                        Command::new("rg")
                            .args(["-i", "-F", "--"])
                            .arg(query.literal())
                            .arg(&corpus),
                    )?;
                    result.check("rg", &[0, 1])?;
                    if round > 0 {
                        latencies.add(i, result.last_byte);
                    }
                }
            }
            Some(latencies)
        }
        _ => {
            println!(
                "note: ripgrep (rg) is not installed, so its column is skipped; \
                 install it with `apt-get install ripgrep` (Debian) or `cargo install ripgrep`"
            );
            None
        }
    };

    // SQLite FTS5 over the same paragraphs.
    eprintln!("SQLite FTS5…");
    let fts_path = work.join("fts5.db");
    let _ = std::fs::remove_file(&fts_path);
    let started = Instant::now();
    let fts = Fts5::build(&fts_path, &files)?;
    let fts_build = started.elapsed();
    let fts_bytes = std::fs::metadata(&fts_path)?.len();
    let mut fts_warm = Latencies::default();
    let mut fts_hits = Vec::new();
    for round in 0..=options.rounds {
        for (i, query) in QUERIES.iter().enumerate() {
            let started = Instant::now();
            let hits = fts.search(query)?;
            let elapsed = started.elapsed();
            if round == 0 {
                fts_hits.push(hits);
            } else {
                fts_warm.add(i, elapsed);
            }
        }
    }
    drop(fts);

    // Re-index after touching 1% of the files.
    eprintln!("re-index after touching 1% of the files…");
    let touched = Touched::touch(&files)?;
    let reindex = run_child(
        Command::new(&binary)
            .arg("--index")
            .arg(&index_dir)
            .args(["index", "--quiet"])
            .arg(&corpus),
    )?;
    reindex.check("ai-search index", &[0, 1])?;
    let touched_files = touched.files.len();
    // Every hit listed: the count of hits stops at MAX_COUNTED_HITS.
    let edits_found = SearchIndex::open(&index_dir)?
        .search(&SearchRequest {
            limit: touched_files + 1,
            per_document: 0,
            dedup: false,
            context: 0,
            ..SearchRequest::new(Touched::MARKER)
        })?
        .hits
        .len();
    drop(touched);

    // The report.
    let build_secs = build.wall.as_secs_f64();
    let fts_secs = fts_build.as_secs_f64();
    println!("paragraphs: {paragraphs}; queries: {}", QUERIES.len());
    println!();
    println!(
        "{:<42} {:>9} {:>8} {:>10} {:>7} {:>9}",
        "build", "wall", "MB/s", "peak RSS", "cores", "size"
    );
    println!(
        "{:<42} {:>7.2} s {:>8.2} {:>6.0} MiB {:>7.2} {:>8.2}x",
        "ai-search index --rebuild",
        build_secs,
        mb / build_secs,
        build.max_rss as f64 / 1024.0,
        build.cpu().as_secs_f64() / build_secs,
        index_bytes as f64 / corpus_bytes as f64
    );
    println!(
        "{:<42} {:>7.2} s {:>8} {:>6.0} MiB {:>7.2}",
        format!("ai-search index, {touched_files} files touched (1%)"),
        reindex.wall.as_secs_f64(),
        "",
        reindex.max_rss as f64 / 1024.0,
        reindex.cpu().as_secs_f64() / reindex.wall.as_secs_f64(),
    );
    println!(
        "{:<42} {:>7.2} s {:>8.2} {:>10} {:>7} {:>8.2}x",
        "SQLite FTS5 build (parse, insert, optimize)",
        fts_secs,
        mb / fts_secs,
        "",
        "",
        fts_bytes as f64 / corpus_bytes as f64
    );
    println!(
        "{:<42} {:>7.2} s {:>8.2}",
        "corpus parse only (library, 1 thread)",
        parse_time.as_secs_f64(),
        mb / parse_time.as_secs_f64()
    );
    println!(
        "(cores: CPU time / wall time of the process; size: index or database bytes / corpus \
         bytes)"
    );
    println!();
    println!(
        "{:<42} {:>9} {:>9} {:>9} {:>6}",
        "query latency", "p50", "p99", "mean", "runs"
    );
    let row = |name: &str, latencies: &Latencies| {
        println!(
            "{:<42} {:>6.2} ms {:>6.2} ms {:>6.2} ms {:>6}",
            name,
            ms(latencies.percentile(0.5)),
            ms(latencies.percentile(0.99)),
            ms(latencies.mean()),
            latencies.len()
        )
    };
    row("ai-search warm, in-process", &warm);
    row("ai-search cold, one process per query", &cold);
    if let Some(rg) = &rg {
        row("rg -i -F, one process per query", rg);
    }
    row("SQLite FTS5 warm, in-process", &fts_warm);
    println!(
        "(in-process: 10 hits, snippets, 1 paragraph of context, rendered as text; \
         SearchIndex::open {:.2} ms; peak RSS of a query process {:.0} MiB)",
        ms(open_time),
        cold_rss as f64 / 1024.0
    );
    println!();
    println!("ratios");
    println!(
        "  build rate     ai-search / FTS5        {:>7.2}x",
        fts_secs / build_secs
    );
    println!(
        "  index size     ai-search / FTS5        {:>7.2}x",
        index_bytes as f64 / fts_bytes as f64
    );
    println!(
        "  warm p50       FTS5 / ai-search        {:>7.2}x",
        ratio(&fts_warm, &warm, 0.5)
    );
    println!(
        "  warm p99       FTS5 / ai-search        {:>7.2}x",
        ratio(&fts_warm, &warm, 0.99)
    );
    if let Some(rg) = &rg {
        println!(
            "  cold p50       rg / ai-search          {:>7.2}x",
            ratio(rg, &cold, 0.5)
        );
        println!(
            "  cold p99       rg / ai-search          {:>7.2}x",
            ratio(rg, &cold, 0.99)
        );
    }
    println!(
        "  re-index       1% touched / full build {:>7.2}x",
        reindex.wall.as_secs_f64() / build_secs
    );

    println!();
    let empty: Vec<_> = QUERIES
        .iter()
        .zip(&total_hits)
        .filter(|(_, hits)| **hits == 0)
        .map(|(query, _)| query.label())
        .collect();
    if empty.is_empty() {
        println!(
            "checks: every query has hits (fewest: {})",
            total_hits.iter().min().expect("queries")
        );
    } else {
        println!("checks: NO HITS for {}", empty.join(", "));
    }
    println!(
        "        the re-index finds {edits_found} of the {touched_files} paragraphs added by \
         touching files{}",
        if edits_found == touched_files {
            ""
        } else {
            " (MISMATCH)"
        }
    );
    if options.verbose {
        println!();
        println!(
            "{:<58} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8}",
            "query", "hits", "FTS5", "warm", "cold", "rg", "FTS5"
        );
        for (i, query) in QUERIES.iter().enumerate() {
            println!(
                "{:<58} {:>7} {:>6} {:>5.2} ms {:>5.2} ms {:>8} {:>5.2} ms",
                query.label(),
                total_hits[i],
                fts_hits[i],
                ms(warm.median_of(i)),
                ms(cold.median_of(i)),
                rg.as_ref()
                    .map_or("-".into(), |rg| format!("{:.1} ms", ms(rg.median_of(i)))),
                ms(fts_warm.median_of(i)),
            );
        }
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn ratio(slow: &Latencies, fast: &Latencies, p: f64) -> f64 {
    slow.percentile(p).as_secs_f64() / fast.percentile(p).as_secs_f64()
}

/// Timings, each with the query it was for.
#[derive(Default)]
struct Latencies {
    runs: Vec<(usize, Duration)>,
}

impl Latencies {
    fn add(&mut self, query: usize, elapsed: Duration) {
        self.runs.push((query, elapsed));
    }

    fn len(&self) -> usize {
        self.runs.len()
    }

    /// Nearest-rank percentile.
    fn percentile(&self, p: f64) -> Duration {
        percentile(self.runs.iter().map(|r| r.1).collect(), p)
    }

    fn mean(&self) -> Duration {
        self.runs.iter().map(|r| r.1).sum::<Duration>() / self.runs.len().max(1) as u32
    }

    fn median_of(&self, query: usize) -> Duration {
        let runs = self.runs.iter().filter(|r| r.0 == query).map(|r| r.1);
        percentile(runs.collect(), 0.5)
    }
}

fn percentile(mut values: Vec<Duration>, p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort();
    let rank = (p * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Cores, CPU model and memory of this machine, and how busy it was when the run started.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .to_string();
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1} GiB RAM", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cores} cores ({model}), {memory}; load average at start {load}")
}

fn folder_size(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        total += if metadata.is_dir() {
            folder_size(&entry.path())?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------------
// Child processes, measured

/// A finished child process.
struct Run {
    /// From spawn to the end of its standard output.
    last_byte: Duration,
    /// From spawn to its exit.
    wall: Duration,
    /// Exit code, or `None` if a signal ended it.
    code: Option<i32>,
    /// Peak resident set size, KiB.
    max_rss: i64,
    user: Duration,
    system: Duration,
    stderr: Vec<u8>,
}

impl Run {
    fn cpu(&self) -> Duration {
        self.user + self.system
    }

    fn check(&self, what: &str, ok: &[i32]) -> BoxResult<()> {
        match self.code {
            Some(code) if ok.contains(&code) => Ok(()),
            code => Err(format!(
                "{what} failed ({}): {}",
                code.map_or("killed by a signal".into(), |c| format!("exit code {c}")),
                String::from_utf8_lossy(&self.stderr).trim()
            )
            .into()),
        }
    }
}

/// Runs a command to the end, reading its output, and measures it with `wait4`, which gives the
/// resources of this one child (peak RSS, CPU time) rather than of all children.
fn run_child(command: &mut Command) -> io::Result<Run> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stderr.read_to_end(&mut buffer);
        buffer
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut stdout)?;
    let last_byte = started.elapsed();
    let (status, usage) = wait4(child.id())?;
    let wall = started.elapsed();
    let timeval = |tv: libc::timeval| {
        Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
    };
    Ok(Run {
        last_byte,
        wall,
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        max_rss: usage.ru_maxrss,
        user: timeval(usage.ru_utime),
        system: timeval(usage.ru_stime),
        stderr: errors.join().unwrap_or_default(),
    })
}

/// Waits for the child `pid`, returning its wait status and resource usage.
fn wait4(pid: u32) -> io::Result<(i32, libc::rusage)> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    let mut status = 0;
    // SAFETY: `rusage` is plain old data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the right types.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            return Ok((status, usage));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Touching 1% of the files

/// Files with a paragraph appended, restored to their old content when dropped.
struct Touched {
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Touched {
    /// A word found nowhere else: the paragraphs added by touching files.
    const MARKER: &'static str = "perfbenchedit";

    /// Appends a paragraph, in the file's own format, to every hundredth file (at least one),
    /// spread evenly over the corpus.
    fn touch(files: &[CorpusFile]) -> BoxResult<Touched> {
        let count = files.len().div_ceil(100);
        let mut touched = Touched { files: Vec::new() };
        for i in 0..count {
            let file = &files[i * files.len() / count + files.len() / count / 2];
            let original = std::fs::read(&file.path)?;
            let text = String::from_utf8_lossy(&original);
            let paragraph = format!(
                "Edited for the benchmark: {} {i} marks a paragraph added to measure how fast \
                 the index catches up with a changed file.",
                Touched::MARKER
            );
            let addition = match file.format {
                Format::Markdown => format!("\n\n{paragraph}\n"),
                // A comment dump gets another line; an essay another block.
                Format::Text if !text.trim().contains("\n\n") => {
                    let newline = if text.ends_with('\n') { "" } else { "\n" };
                    format!("{newline}{paragraph}\n")
                }
                Format::Text => format!("\n\n{paragraph}\n"),
                Format::JsonLines => {
                    let newline = if text.ends_with('\n') { "" } else { "\n" };
                    let record = serde_json::json!({
                        "id": format!("perf-bench-{i}"),
                        "source": "benchmark",
                        "title": "Benchmark edit",
                        "text": paragraph,
                        "url": "https://example.org/benchmark",
                        "date_published": "2025-01-01T00:00:00Z",
                        "authors": ["Benchmark"],
                        "summary": [],
                    });
                    format!("{newline}{record}\n")
                }
            };
            touched.files.push((file.path.clone(), original.clone()));
            let mut changed = original;
            changed.extend_from_slice(addition.as_bytes());
            std::fs::write(&file.path, changed)?;
        }
        Ok(touched)
    }
}

impl Drop for Touched {
    fn drop(&mut self) {
        for (path, original) in &self.files {
            if let Err(err) = std::fs::write(path, original) {
                eprintln!("error: could not restore {}: {err}", path.display());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The SQLite FTS5 baseline

/// rowid, document key, [path, topic, author, text, snippet], paragraph number.
type FtsHit = (i64, String, [String; 5], i64);

/// The same paragraphs in an FTS5 table on disk, one row per paragraph in corpus order (so the
/// paragraphs around a hit are the rows around it).
struct Fts5 {
    db: Connection,
}

impl Fts5 {
    /// Parses the corpus with the library and loads it in one transaction, without a journal or
    /// syncs (its fastest bulk load), then merges the index's b-trees (`optimize`).
    fn build(path: &Path, files: &[CorpusFile]) -> BoxResult<Fts5> {
        let db = Connection::open(path)?;
        db.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             CREATE VIRTUAL TABLE paragraphs USING fts5(
                 text, topic, author, doc UNINDEXED, path UNINDEXED, paragraph UNINDEXED,
                 tokenize = 'porter unicode61');",
        )?;
        let tx = db.unchecked_transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO paragraphs (text, topic, author, doc, path, paragraph)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for file in files {
                let Ok(parsed) = read_documents(file) else {
                    continue;
                };
                for doc in parsed.documents {
                    let authors = doc.authors.join(", ");
                    for (i, paragraph) in doc.paragraphs.iter().enumerate() {
                        insert.execute((
                            &paragraph.text,
                            &doc.topic,
                            &authors,
                            &doc.key,
                            &doc.path,
                            i as i64 + 1,
                        ))?;
                    }
                }
            }
        }
        tx.commit()?;
        db.execute_batch("INSERT INTO paragraphs (paragraphs) VALUES ('optimize');")?;
        Ok(Fts5 { db })
    }

    /// The top 10 by `bm25()` over text and topic (author weighs nothing), with a snippet, and
    /// the paragraph before and after each; returns how many hits came back.
    fn search(&self, query: &Query) -> rusqlite::Result<usize> {
        let mut expression = format!("{{text topic}} : ({})", fts5_query(query.query));
        for (column, value) in [("author", query.author), ("topic", query.topic)] {
            if let Some(value) = value {
                expression.push_str(&format!(" AND {column} : \"{}\"", value.replace('"', "")));
            }
        }
        let mut statement = self.db.prepare_cached(
            "SELECT rowid, doc, path, paragraph, topic, author, text,
                    snippet(paragraphs, 0, '[', ']', '…', 40)
             FROM paragraphs WHERE paragraphs MATCH ?1
             ORDER BY bm25(paragraphs, 1.0, 1.0, 0.0) LIMIT 10",
        )?;
        let hits: Vec<FtsHit> = statement
            .query_map([&expression], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    [
                        row.get(2)?,
                        row.get(4)?,
                        row.get(5)?,
                        row.get(6)?,
                        row.get(7)?,
                    ],
                    row.get(3)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut context = self
            .db
            .prepare_cached("SELECT text FROM paragraphs WHERE rowid = ?1 AND doc = ?2")?;
        for (rowid, doc, _, _) in &hits {
            for neighbour in [rowid - 1, rowid + 1] {
                let texts: Vec<String> = context
                    .query_map((neighbour, doc), |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                std::hint::black_box(texts);
            }
        }
        Ok(std::hint::black_box(hits).len())
    }
}

/// The FTS5 form of a free-text query: quoted phrases stay phrases, every other word is quoted
/// (so punctuation cannot break the syntax), and words are OR-ed as BM25 engines do for free
/// text unless the query says AND, OR or NOT.
fn fts5_query(query: &str) -> String {
    let mut parts = Vec::new();
    for (i, chunk) in query.split('"').enumerate() {
        if i % 2 == 1 {
            parts.push(format!("\"{chunk}\""));
        } else {
            for word in chunk.split_whitespace() {
                match word {
                    "AND" | "OR" | "NOT" => parts.push(word.to_string()),
                    _ if word.chars().any(char::is_alphanumeric) => {
                        parts.push(format!("\"{word}\""))
                    }
                    _ => {}
                }
            }
        }
    }
    let mut expression = String::new();
    for (i, part) in parts.iter().enumerate() {
        let operator = |p: &String| matches!(p.as_str(), "AND" | "OR" | "NOT");
        if i > 0 {
            let joined = operator(part) || operator(&parts[i - 1]);
            expression.push_str(if joined { " " } else { " OR " });
        }
        expression.push_str(part);
    }
    expression
}
