//! Command-line definition. Help text comes from the doc comments.

use std::path::PathBuf;

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

    /// Number of hits to show
    #[arg(long, short = 'n', default_value_t = 10, value_name = "N")]
    pub limit: usize,

    /// Number of hits to skip (for paging)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub offset: usize,

    /// Only paragraphs by this author (case-insensitive phrase match)
    #[arg(long, value_name = "NAME")]
    pub author: Option<String>,

    /// Only documents whose topic contains this phrase
    #[arg(long, value_name = "TEXT")]
    pub topic: Option<String>,

    /// Paragraphs of context to show before and after each hit
    #[arg(long, short = 'C', default_value_t = 1, value_name = "N")]
    pub context: usize,

    /// At most N paragraphs of one document rank ahead of other documents (0: no limit); the rest
    /// follow them
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub per_doc: usize,

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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
