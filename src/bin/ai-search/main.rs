//! The `ai-search` command: argument handling and printing over the `ai_search` library.

/// mimalloc instead of the system allocator: a build allocates every paragraph's strings on the
/// reading threads and frees them on tantivy's, and on two cores 1 GB builds took 51.8 s instead
/// of 58.3 s (100 MB: 4.7–5.0 s instead of 5.3–5.6 s, 15% less CPU time), at a like peak RSS. A
/// one-shot query pays about 0.3 ms more for it (5.6–5.7 ms instead of 5.3–5.5 at 100 MB). The
/// library leaves the choice to the program that embeds it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod mcp;
mod serve;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use ai_search::{
    build_index, render, Error, IndexOptions, IndexSummary, NoProgress, PassageRef, Progress,
    SearchIndex, SearchRequest, Sort,
};
use clap::Parser;
use serde::Serialize;
use termcolor::{Buffer, BufferWriter, ColorChoice};

use cli::{
    Cli, ColorWhen, Command, IndexArgs, ListArgs, OutputArgs, QueryArgs, ResultArgs, ServeArgs,
    ShowArgs, SimilarArgs, SortArg,
};

/// Transparent huge pages off for this process, which mimalloc would ask for. On a virtual
/// machine that hands freed memory back to its host (free page reporting, as the benchmark's
/// machine does), the first touch of a fresh 2 MiB page waits for the host, 10–22 ms a page there:
/// 1 GB builds were 8–10% faster without them, and one-shot queries lost their slowest runs (see
/// the README's Allocator notes).
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integers and reads or writes no memory of ours. A kernel
    // without it says so with an error, and the process goes on with huge pages.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Exit status when a run finished but left some input out.
const EXIT_PARTIAL: u8 = 1;
/// Exit status when a run failed.
const EXIT_ERROR: u8 = 2;
/// Exit status when another process is updating the index.
const EXIT_LOCKED: u8 = 3;

const DEFAULT_INDEX_DIR: &str = ".ai-search";

fn main() -> ExitCode {
    no_huge_pages();
    let cli = Cli::parse();
    // A bug or a damaged index file must not end in a backtrace: one line, and what to do.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        eprintln!(
            "error: internal error ({message}); if the index is damaged, `ai-search check` \
             says so and `ai-search index --rebuild <CORPUS>` repairs it"
        );
    }));
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("error: {err:#}");
            let locked = matches!(err.downcast_ref::<Error>(), Some(Error::Locked(_)));
            ExitCode::from(if locked { EXIT_LOCKED } else { EXIT_ERROR })
        }
        Err(_) => ExitCode::from(EXIT_ERROR),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let index_dir = cli
        .index
        .unwrap_or_else(|| PathBuf::from(DEFAULT_INDEX_DIR));
    match cli.command {
        Command::Index(args) => index(&index_dir, args),
        Command::Query(args) => query(&index_dir, args),
        Command::Check => check(&index_dir),
        Command::Show(args) => show(&index_dir, args),
        Command::Similar(args) => similar(&index_dir, args),
        Command::Authors(args) => list(&index_dir, args, Listing::Authors),
        Command::Topics(args) => list(&index_dir, args, Listing::Topics),
        Command::Mcp => {
            mcp::serve(SearchIndex::open(&index_dir)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(ServeArgs { bind, port }) => {
            serve::serve(index_dir, (bind, port).into())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn index(index_dir: &Path, args: IndexArgs) -> anyhow::Result<ExitCode> {
    let options = IndexOptions {
        rebuild: args.rebuild,
        ..IndexOptions::default()
    };
    let bar = (!args.quiet && io::stderr().is_terminal()).then(ProgressBar::new);
    let summary = match &bar {
        Some(bar) => build_index(index_dir, &args.corpus, &options, bar),
        None => build_index(index_dir, &args.corpus, &options, &NoProgress),
    };
    if let Some(bar) = &bar {
        bar.finish();
    }
    let summary = summary?;
    let shown = if args.verbose {
        usize::MAX
    } else {
        SHOWN_PROBLEMS
    };
    report_problems("skipped ", &summary.skipped, shown);
    report_problems("", &summary.warnings, shown);
    if !args.quiet {
        print_summary(index_dir, &summary)?;
    }
    Ok(if summary.is_partial() {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    })
}

/// Problems of each kind listed without `-v`.
const SHOWN_PROBLEMS: usize = 10;

fn report_problems(what: &str, problems: &[ai_search::corpus::Problem], shown: usize) {
    for problem in problems.iter().take(shown) {
        eprintln!("warning: {what}{problem}");
    }
    if problems.len() > shown {
        eprintln!(
            "warning: … and {} more (-v lists them all)",
            problems.len() - shown
        );
    }
}

fn print_summary(index_dir: &Path, summary: &IndexSummary) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "Indexed {} in {:.2}s: {} added, {} updated, {} removed, {} unchanged, {} skipped; \
         read {}, {}, {:.1} MB. The index holds {} from {}.",
        index_dir.display(),
        summary.elapsed.as_secs_f64(),
        summary.added,
        summary.updated,
        summary.removed,
        summary.unchanged,
        summary.skipped.len(),
        counted(summary.documents, "document"),
        counted(summary.paragraphs, "paragraph"),
        summary.bytes as f64 / 1e6,
        counted(summary.total_paragraphs as usize, "paragraph"),
        counted(summary.total_files, "file"),
    )
}

/// "1 file", "2 files".
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A progress bar on standard error: bytes done, rate, time left, files done.
struct ProgressBar {
    bar: indicatif::ProgressBar,
    files: AtomicU64,
    total_files: AtomicU64,
}

impl ProgressBar {
    fn new() -> ProgressBar {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("the template is valid"),
        );
        ProgressBar {
            bar,
            files: AtomicU64::new(0),
            total_files: AtomicU64::new(0),
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for ProgressBar {
    fn start(&self, files: u64, bytes: u64) {
        self.total_files.store(files, Ordering::Relaxed);
        self.bar.set_length(bytes);
    }

    fn file_done(&self, bytes: u64) {
        let done = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.total_files.load(Ordering::Relaxed);
        self.bar.inc(bytes);
        self.bar.set_message(format!("{done}/{total} files"));
    }
}

fn check(index_dir: &Path) -> anyhow::Result<ExitCode> {
    let report = ai_search::check_index(index_dir)?;
    if report.is_ok() {
        println!(
            "{}: OK ({} in {}, {} listed in the manifest)",
            index_dir.display(),
            counted(report.paragraphs as usize, "paragraph"),
            counted(report.segments, "segment"),
            counted(report.files, "file"),
        );
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &report.problems {
        eprintln!("error: {}: {problem}", index_dir.display());
    }
    eprintln!("error: the index is damaged; run `ai-search index --rebuild <CORPUS>`");
    Ok(ExitCode::from(EXIT_ERROR))
}

fn query(index_dir: &Path, args: QueryArgs) -> anyhow::Result<ExitCode> {
    let index = SearchIndex::open(index_dir)?;
    let request = request(args.query.join(" "), &args.results);
    let results = index.search(&request)?;
    print(&args.results.output, &results, |buffer| {
        render::write_human(buffer, &results)
    })
}

fn similar(index_dir: &Path, args: SimilarArgs) -> anyhow::Result<ExitCode> {
    let index = SearchIndex::open(index_dir)?;
    let request = request(args.reference, &args.results);
    let results = index.similar(&request)?;
    print(&args.results.output, &results, |buffer| {
        render::write_human(buffer, &results)
    })
}

/// The library's request for the options of `query` and `similar`.
fn request(query: String, args: &ResultArgs) -> SearchRequest {
    SearchRequest {
        limit: args.limit,
        offset: args.offset,
        author: args.author.clone(),
        topic: args.topic.clone(),
        since: args.since,
        until: args.until,
        sort: match args.sort {
            SortArg::Relevance => Sort::Relevance,
            SortArg::Newest => Sort::Newest,
            SortArg::Oldest => Sort::Oldest,
        },
        context: args.context,
        per_document: args.per_doc,
        dedup: !args.no_dedup,
        facets: args.facets,
        timeline: args.timeline,
        ..SearchRequest::new(query)
    }
}

fn show(index_dir: &Path, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let reference: PassageRef = args.reference.parse()?;
    let index = SearchIndex::open(index_dir)?;
    let passage = index.passage(&reference, args.context)?;
    print(&args.output, &passage, |buffer| {
        render::write_passage(buffer, &passage)
    })
}

/// What `authors` and `topics` list.
enum Listing {
    Authors,
    Topics,
}

fn list(index_dir: &Path, args: ListArgs, listing: Listing) -> anyhow::Result<ExitCode> {
    let index = SearchIndex::open(index_dir)?;
    let (counts, key, label) = match listing {
        Listing::Authors => (index.authors()?, "authors", "author"),
        Listing::Topics => (index.topics()?, "topics", "topic"),
    };
    let json = serde_json::json!({ key: counts });
    print(&args.output, &json, |buffer| {
        render::write_counts(buffer, label, &counts)
    })
}

/// Prints `value` as JSON with `--json`, else as `human` writes it.
fn print<T: Serialize>(
    output: &OutputArgs,
    value: &T,
    human: impl FnOnce(&mut Buffer) -> io::Result<()>,
) -> anyhow::Result<ExitCode> {
    if output.json {
        let mut out = io::BufWriter::new(io::stdout().lock());
        render::write_json(&mut out, value)?;
        out.flush()?;
    } else {
        let writer = BufferWriter::stdout(color_choice(output.color));
        let mut buffer = writer.buffer();
        human(&mut buffer)?;
        writer.print(&buffer)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn color_choice(when: ColorWhen) -> ColorChoice {
    match when {
        ColorWhen::Always => ColorChoice::Always,
        ColorWhen::Never => ColorChoice::Never,
        ColorWhen::Auto if io::stdout().is_terminal() => ColorChoice::Auto,
        ColorWhen::Auto => ColorChoice::Never,
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
