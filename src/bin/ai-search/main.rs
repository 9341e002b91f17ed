//! The `ai-search` command: argument handling and printing over the `ai_search` library.

mod cli;
mod mcp;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ai_search::{
    build_index, render, IndexOptions, IndexSummary, PassageRef, SearchIndex, SearchRequest, Sort,
};
use clap::Parser;
use serde::Serialize;
use termcolor::{Buffer, BufferWriter, ColorChoice};

use cli::{
    Cli, ColorWhen, Command, IndexArgs, ListArgs, OutputArgs, QueryArgs, ResultArgs, ShowArgs,
    SimilarArgs, SortArg,
};

/// Exit status when a run finished but left some input out.
const EXIT_PARTIAL: u8 = 1;
/// Exit status when a run failed.
const EXIT_ERROR: u8 = 2;

const DEFAULT_INDEX_DIR: &str = ".ai-search";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let index_dir = cli
        .index
        .unwrap_or_else(|| PathBuf::from(DEFAULT_INDEX_DIR));
    match cli.command {
        Command::Index(args) => index(&index_dir, args),
        Command::Query(args) => query(&index_dir, args),
        Command::Show(args) => show(&index_dir, args),
        Command::Similar(args) => similar(&index_dir, args),
        Command::Authors(args) => list(&index_dir, args, Listing::Authors),
        Command::Topics(args) => list(&index_dir, args, Listing::Topics),
        Command::Mcp => {
            mcp::serve(SearchIndex::open(&index_dir)?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn index(index_dir: &Path, args: IndexArgs) -> anyhow::Result<ExitCode> {
    let options = IndexOptions {
        rebuild: args.rebuild,
        ..IndexOptions::default()
    };
    let summary = build_index(index_dir, &args.corpus, &options)?;
    for problem in summary.skipped.iter() {
        eprintln!("warning: skipped {problem}");
    }
    for problem in summary.warnings.iter() {
        eprintln!("warning: {problem}");
    }
    if !args.quiet {
        print_summary(index_dir, &summary)?;
    }
    Ok(if summary.is_partial() {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(index_dir: &Path, summary: &IndexSummary) -> io::Result<()> {
    let mut out = io::stdout().lock();
    write!(
        out,
        "Indexed {} ({}, {}, {:.1} MB) into {} in {:.2}s",
        counted(summary.files, "file"),
        counted(summary.documents, "document"),
        counted(summary.paragraphs, "paragraph"),
        summary.bytes as f64 / 1e6,
        index_dir.display(),
        summary.elapsed.as_secs_f64()
    )?;
    match summary.skipped.len() {
        0 => writeln!(out, "."),
        n => writeln!(out, "; {} skipped.", counted(n, "file")),
    }
}

/// "1 file", "2 files".
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
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
