//! Local full-text search over AI alignment commentary.
//!
//! `ai_search` reads a folder of Markdown (with YAML front matter), plain text and JSON Lines
//! files in the schema of the Alignment Research Dataset, splits them into paragraphs, indexes
//! them with [tantivy] and answers queries with ranked snippets and the paragraphs around them.
//! The `ai-search` command-line tool is a thin layer over this API.
//!
//! Data flows one way: files ([`corpus`]) → documents → paragraphs → index ([`build_index`]) →
//! hits ([`SearchIndex::search`]) → rendered output ([`render`]).
//!
//! Beyond ranked search: every paragraph has a stable reference ([`PassageRef`], `DOC#N`) that
//! [`SearchIndex::passage`] looks up and [`SearchIndex::similar`] finds neighbours of;
//! [`SearchIndex::authors`] and [`SearchIndex::topics`] count paragraphs and documents; and a
//! [`SearchRequest`] can filter and sort by date, merge copies of one text, and count its matches
//! by author, topic ([`Facets`]) and year ([`Timeline`]).
//!
//! ```
//! use ai_search::{build_index, IndexOptions, NoProgress, SearchIndex, SearchRequest};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let corpus = tempfile::tempdir()?;
//! std::fs::create_dir(corpus.path().join("ann-lee"))?;
//! std::fs::write(
//!     corpus.path().join("ann-lee/faking.md"),
//!     "---\ntitle: Notes on alignment faking\n---\n\nA model may fake alignment during training.\n\nUnrelated closing words.\n",
//! )?;
//! let index_dir = tempfile::tempdir()?;
//!
//! let summary = build_index(
//!     index_dir.path(),
//!     corpus.path(),
//!     &IndexOptions::default(),
//!     &NoProgress,
//! )?;
//! assert_eq!(summary.paragraphs, 2);
//!
//! let index = SearchIndex::open(index_dir.path())?;
//! let results = index.search(&SearchRequest::new("faking alignment"))?;
//! let best = &results.hits[0];
//! assert_eq!(best.author, "ann-lee"); // no author in the file: its folder's name
//! assert_eq!(best.topic, "Notes on alignment faking");
//! assert_eq!(best.paragraph, 1);
//! assert_eq!(best.after, ["Unrelated closing words."]);
//! # Ok(())
//! # }
//! ```

mod block_join;
pub mod corpus;
mod date;
mod error;
mod facets;
mod first_stage;
mod index;
mod indexer;
mod passage;
mod query;
pub mod render;
mod rescore;
mod same_text;
pub mod schema;
mod search;
#[cfg(test)]
mod test_support;

pub use date::IsoDate;
pub use error::{Error, Result};
pub use facets::{FacetCount, Facets, Timeline, YearCount};
pub use index::{check_index, CheckReport, SearchIndex};
pub use indexer::{build_index, IndexOptions, IndexSummary, NoProgress, Progress};
pub use passage::{Location, Passage, PassageRef};
pub use search::{Hit, SearchRequest, SearchResults, Sort, MAX_COPIES_LISTED, MAX_COUNTED_HITS};
pub use tantivy;
