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
        "the index at {} {}; run `ai-search index --rebuild <CORPUS>`",
        path.display(),
        describe_mismatch(found, *expected)
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

    #[error("{}: {message}; run `ai-search index --rebuild <CORPUS>`", path.display())]
    Corrupt { path: PathBuf, message: String },

    #[error("index error: {0}; if it persists, run `ai-search index --rebuild <CORPUS>`")]
    Tantivy(#[from] tantivy::TantivyError),
}

/// For the queries of this crate, whose scorers can only fail with tantivy's error type.
impl From<Error> for tantivy::TantivyError {
    fn from(err: Error) -> tantivy::TantivyError {
        match err {
            Error::Tantivy(err) => err,
            other => tantivy::TantivyError::InternalError(other.to_string()),
        }
    }
}

/// What is wrong with the schema of an index: another version, or (from a development build)
/// another schema under the same version number.
fn describe_mismatch(found: &str, expected: u32) -> String {
    if found == expected.to_string() {
        format!(
            "was built with another schema of version {expected} (by another build of ai-search)"
        )
    } else {
        format!("has schema version {found}, this ai-search needs version {expected}")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_mismatch_says_what_differs() {
        let mismatch = |found: &str| Error::SchemaMismatch {
            path: PathBuf::from("idx"),
            found: found.to_string(),
            expected: 1,
        };
        assert_eq!(
            mismatch("0").to_string(),
            "the index at idx has schema version 0, this ai-search needs version 1; \
             run `ai-search index --rebuild <CORPUS>`"
        );
        assert_eq!(
            mismatch("1").to_string(),
            "the index at idx was built with another schema of version 1 (by another build of \
             ai-search); run `ai-search index --rebuild <CORPUS>`"
        );
    }
}
