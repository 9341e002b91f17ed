//! The `ai-search` command: argument handling and printing over the `ai_search` library.

mod cli;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use ai_search::{build_index, render, IndexOptions, IndexSummary, SearchIndex, SearchRequest};
use clap::Parser;
use termcolor::{BufferWriter, ColorChoice};

use cli::{Cli, ColorWhen, Command, IndexArgs, QueryArgs};

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
    }
}

fn index(index_dir: &std::path::Path, args: IndexArgs) -> anyhow::Result<ExitCode> {
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

fn print_summary(index_dir: &std::path::Path, summary: &IndexSummary) -> io::Result<()> {
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

fn query(index_dir: &std::path::Path, args: QueryArgs) -> anyhow::Result<ExitCode> {
    let index = SearchIndex::open(index_dir)?;
    let request = SearchRequest {
        query: args.query.join(" "),
        limit: args.limit,
        offset: args.offset,
        author: args.author,
        topic: args.topic,
        context: args.context,
        per_document: args.per_doc,
    };
    let results = index.search(&request)?;
    if args.json {
        let mut out = io::BufWriter::new(io::stdout().lock());
        render::write_json(&mut out, &results)?;
        out.flush()?;
    } else {
        let writer = BufferWriter::stdout(color_choice(args.color));
        let mut buffer = writer.buffer();
        render::write_human(&mut buffer, &results)?;
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
