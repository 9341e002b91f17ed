//! Helpers shared by the unit tests of queries.

use tantivy::collector::DocSetCollector;
use tantivy::query::Query;
use tantivy::{DocId, Index};

/// The addresses in the index's only segment that `query` matches, in order.
pub(crate) fn matching_docs(index: &Index, query: &dyn Query) -> Vec<DocId> {
    let searcher = index.reader().unwrap().searcher();
    assert_eq!(searcher.segment_readers().len(), 1);
    let mut docs: Vec<DocId> = searcher
        .search(query, &DocSetCollector)
        .unwrap()
        .into_iter()
        .map(|address| address.doc_id)
        .collect();
    docs.sort();
    docs
}
