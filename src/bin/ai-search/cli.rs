//! Command-line definition. Help text comes from the doc comments.

use std::net::IpAddr;
use std::path::PathBuf;

use ai_search::IsoDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Search a local corpus of AI alignment writing: index a folder, then query it for ranked
/// paragraphs with snippets and the paragraphs around them.
#[derive(Debug, Parser)]
#[command(name = "ai-search", version, about, max_term_width = 100)]
pub struct Cli {
    /// Index folder [default: $AI_SEARCH_INDEX, else .ai-search in the current folder]
    #[arg(long, global = true, value_name = "DIR", env = "AI_SEARCH_INDEX")]
    pub index: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build or refresh the index from a corpus folder (.md, .markdown, .txt, .jsonl files)
    Index(IndexArgs),
    /// Search the index
    Query(QueryArgs),
    /// Verify the index: checksums of its files, every stored paragraph, the manifest
    Check,
    /// Print one paragraph, by its reference (PATH#N), with its neighbours and its document's
    /// metadata
    Show(ShowArgs),
    /// Paragraphs of other documents most like the given one
    Similar(SimilarArgs),
    /// List the authors with their numbers of paragraphs and documents
    Authors(ListArgs),
    /// List the topics with their numbers of paragraphs and documents
    Topics(ListArgs),
    /// Serve the index to AI assistants: a Model Context Protocol server on stdin and stdout
    Mcp,
    /// Serve a search page and a JSON HTTP API over the index, on this machine only unless told
    /// otherwise
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The corpus folder
    #[arg(value_name = "CORPUS")]
    pub corpus: PathBuf,

    /// Start from scratch, also replacing an index made by another version of ai-search
    #[arg(long)]
    pub rebuild: bool,

    /// No progress bar and no summary; problems are still reported
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,

    /// List every skipped file and every problem (by default the first 10 of each)
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Words, "quoted phrases", AND / OR / NOT, +word / -word, author:NAME, topic:WORD
    #[arg(value_name = "QUERY", required = true, num_args = 1..)]
    pub query: Vec<String>,

    #[command(flatten)]
    pub results: ResultArgs,
}

#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// The paragraph's reference, as in the `ref` of a hit: PATH#N, or PATH:ID#N for JSON Lines
    #[arg(value_name = "REF")]
    pub reference: String,

    #[command(flatten)]
    pub results: ResultArgs,
}

/// What `query` and `similar` share: filters, order, paging and output.
#[derive(Debug, Args)]
pub struct ResultArgs {
    /// Number of hits to show
    #[arg(long, short = 'n', default_value_t = 10, value_name = "N")]
    pub limit: usize,

    /// Number of hits to skip (for paging)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub offset: usize,

    /// Only paragraphs by this author (case-insensitive phrase match; any spelling listed in the
    /// corpus's aliases file)
    #[arg(long, value_name = "NAME")]
    pub author: Option<String>,

    /// Only documents whose topic contains this phrase
    #[arg(long, value_name = "TEXT")]
    pub topic: Option<String>,

    /// Only documents dated on or after this day (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<IsoDate>,

    /// Only documents dated on or before this day (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub until: Option<IsoDate>,

    /// Order of the hits; undated documents come last under the date orders
    #[arg(long, value_enum, default_value_t = SortArg::Relevance, value_name = "ORDER")]
    pub sort: SortArg,

    /// Paragraphs of context to show before and after each hit
    #[arg(long, short = 'C', default_value_t = 1, value_name = "N")]
    pub context: usize,

    /// At most N paragraphs of one document rank ahead of other documents (0: no limit); the rest
    /// follow them. Relevance order only
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub per_doc: usize,

    /// Show copies of the same paragraph (same text in several files) as separate hits
    #[arg(long)]
    pub no_dedup: bool,

    /// Also count all matching paragraphs by author and by topic
    #[arg(long)]
    pub facets: bool,

    /// Also count all matching paragraphs by year
    #[arg(long)]
    pub timeline: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The paragraph's reference, as in the `ref` of a hit: PATH#N, or PATH:ID#N for JSON Lines
    #[arg(value_name = "REF")]
    pub reference: String,

    /// Paragraphs of context to show before and after it
    #[arg(long, short = 'C', default_value_t = 1, value_name = "N")]
    pub context: usize,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but a loopback address lets other machines read the index
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind: IpAddr,

    /// Port to listen on (0: any free port; the URL printed says which)
    #[arg(long, default_value_t = 7878, value_name = "PORT")]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,

    /// When to colour the output
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    /// Best match first
    Relevance,
    /// Latest document first
    Newest,
    /// Earliest document first
    Oldest,
}

fn parse_date(text: &str) -> Result<IsoDate, String> {
    text.parse()
        .map_err(|err: ai_search::Error| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
