use std::path::PathBuf;

/// Everything that can go wrong in the library.
///
/// Problems with single corpus files are not errors: indexing reports them in
/// [`IndexSummary::skipped`](crate::IndexSummary) and goes on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no index at {}; create one with `ai-search index <CORPUS>`", .0.display())]
    IndexNotFound(PathBuf),

    #[error(
        "the index at {} has schema version {found}, this ai-search needs version {expected}; \
         run `ai-search index --rebuild <CORPUS>`",
        path.display()
    )]
    SchemaMismatch {
        path: PathBuf,
        found: String,
        expected: u32,
    },

    #[error("index is being updated by another process ({})", .0.display())]
    Locked(PathBuf),

    #[error("cannot parse query: {0}")]
    QueryParse(String),

    #[error("`{0}` is not a date (expected YYYY-MM-DD)")]
    BadDate(String),

    #[error("`{0}` is not a paragraph reference (expected PATH#N, the `ref` of a hit)")]
    BadReference(String),

    #[error("no paragraph {0} in the index")]
    PassageNotFound(String),

    #[error("{}: {}", path.display(), crate::corpus::describe_io_error(error))]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("cannot read the corpus folder {}: {message}", path.display())]
    Corpus { path: PathBuf, message: String },

    #[error("index error: {0}; if it persists, run `ai-search index --rebuild <CORPUS>`")]
    Tantivy(#[from] tantivy::TantivyError),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}
