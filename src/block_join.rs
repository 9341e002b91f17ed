//! Queries on the fields of a document as a whole, which only its first paragraph holds (Lucene
//! calls this a block join: a document's paragraphs are one block, its first paragraph the parent).
//!
//! The indexer adds a document's paragraphs together and in order, so that in a segment they are
//! the addresses from its first paragraph (the only one with a `doc_hash`) up to the next first
//! paragraph. [`ParagraphsOf`]
//! runs a query on the first paragraphs and matches every paragraph of the documents it finds:
//! the `author`, `author_aliases` and `tags` fields are then indexed once per document rather than
//! once per paragraph, and a filter by author checks its phrase once per document.

use std::sync::Arc;

use tantivy::columnar::{Column, ColumnIndex};
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, TERMINATED};

use crate::search::{first_paragraph, ColumnCache};

/// Every paragraph of the documents whose first paragraph matches `documents`, scored as the
/// first paragraph is. The columns that say where documents start come from the index's cache.
pub(crate) struct ParagraphsOf {
    documents: Box<dyn Query>,
    columns: Arc<ColumnCache>,
}

impl Clone for ParagraphsOf {
    fn clone(&self) -> ParagraphsOf {
        ParagraphsOf::new(self.documents.box_clone(), Arc::clone(&self.columns))
    }
}

impl std::fmt::Debug for ParagraphsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ParagraphsOf")
            .field(&self.documents)
            .finish()
    }
}

impl ParagraphsOf {
    pub(crate) fn new(documents: Box<dyn Query>, columns: Arc<ColumnCache>) -> ParagraphsOf {
        ParagraphsOf { documents, columns }
    }
}

impl Query for ParagraphsOf {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(ParagraphsOfWeight {
            documents: self.documents.weight(scoring)?,
            columns: Arc::clone(&self.columns),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        self.documents.query_terms(visitor);
    }
}

struct ParagraphsOfWeight {
    documents: Box<dyn Weight>,
    columns: Arc<ColumnCache>,
}

impl Weight for ParagraphsOfWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let (numbers, starts) = self.columns.paragraphs(reader)?;
        Ok(Box::new(ParagraphsOfScorer::new(
            self.documents.scorer(reader, boost)?,
            numbers,
            starts.index,
            reader.max_doc(),
        )))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "paragraph {doc} is not in a matching document"
            )));
        }
        Ok(Explanation::new(
            "paragraph of a matching document",
            scorer.score(),
        ))
    }
}

struct ParagraphsOfScorer {
    /// Positioned on the first paragraph of the document that holds `doc`.
    documents: Box<dyn Scorer>,
    /// The paragraphs' numbers, to find the first paragraph of a document from another.
    numbers: Column<u64>,
    /// The first paragraphs: those with a value in the `doc_hash` column.
    starts: ColumnIndex,
    max_doc: DocId,
    doc: DocId,
    /// Where the document that holds `doc` ends.
    end: DocId,
}

impl ParagraphsOfScorer {
    fn new(
        documents: Box<dyn Scorer>,
        numbers: Column<u64>,
        starts: ColumnIndex,
        max_doc: DocId,
    ) -> ParagraphsOfScorer {
        let mut scorer = ParagraphsOfScorer {
            documents,
            numbers,
            starts,
            max_doc,
            doc: TERMINATED,
            end: TERMINATED,
        };
        scorer.enter(scorer.documents.doc());
        scorer
    }

    /// Moves to `doc` (or past the end), at the start of its document's paragraphs.
    fn enter(&mut self, doc: DocId) -> DocId {
        self.doc = doc;
        self.end = self.document_end(doc);
        doc
    }

    /// Where the document that holds `doc` ends: at the next first paragraph.
    fn document_end(&self, doc: DocId) -> DocId {
        if doc >= self.max_doc {
            return TERMINATED;
        }
        match &self.starts {
            ColumnIndex::Optional(starts) => starts.next_non_null_doc(doc + 1),
            // Every paragraph is a first one.
            ColumnIndex::Full => Some(doc + 1),
            _ => None,
        }
        .unwrap_or(self.max_doc)
    }
}

impl DocSet for ParagraphsOfScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        if self.doc + 1 < self.end {
            self.doc += 1;
            return self.doc;
        }
        let next = if self.documents.doc() < self.end {
            self.documents.seek(self.end)
        } else {
            self.documents.doc()
        };
        self.enter(next)
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        if target < self.end {
            self.doc = target;
            return target;
        }
        if target >= self.max_doc {
            return self.enter(TERMINATED);
        }
        let number = self.numbers.first(target).unwrap_or(1);
        let first = first_paragraph(target, number).unwrap_or(target);
        if self.documents.doc() < first {
            self.documents.seek(first);
        }
        // No document starts between `first` and `target`: a match up to `target` is one of the
        // target's document, and otherwise the next matching document starts after it.
        let found = self.documents.doc();
        if found <= target {
            self.enter(found);
            self.doc = target;
            return target;
        }
        self.enter(found)
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        // Paragraphs per document, on average.
        let documents = match &self.starts {
            ColumnIndex::Optional(starts) => starts.num_non_nulls(),
            _ => self.max_doc,
        };
        let per_document = (self.max_doc / documents.max(1)).max(1);
        self.documents.size_hint().saturating_mul(per_document)
    }
}

impl Scorer for ParagraphsOfScorer {
    fn score(&mut self) -> Score {
        self.documents.score()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{self, Fields};
    use crate::test_support::matching_docs as matches;
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::schema::IndexRecordOption;
    use tantivy::{Index, IndexWriter, TantivyDocument, Term};

    /// Four documents in one segment, as (author, the words of each paragraph): paragraphs 0–2,
    /// 3–4, 5 and 6–7.
    const DOCUMENTS: &[(&str, &[&str])] = &[
        ("ann", &["wolf", "vole", "wolf"]),
        ("bo", &["wolf", "wolf"]),
        ("ann", &["vole"]),
        ("ann", &["vole", "wolf"]),
    ];

    /// An index of `documents`, in one segment.
    fn indexed(documents: &[(&str, &[&str])]) -> (Index, Fields) {
        let index = Index::create_in_ram(schema::build_schema());
        schema::register_tokenizers(index.tokenizers());
        let fields = Fields::resolve(&index.schema()).unwrap();
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for (key, (author, texts)) in documents.iter().enumerate() {
            for (i, text) in texts.iter().enumerate() {
                let mut doc = TantivyDocument::default();
                doc.add_u64(fields.paragraph, i as u64 + 1);
                doc.add_text(fields.text, text);
                if i == 0 {
                    doc.add_u64(fields.doc_hash, key as u64);
                    doc.add_text(fields.author, author);
                }
                writer.add_document(doc).unwrap();
            }
        }
        writer.commit().unwrap();
        (index, fields)
    }

    fn of(documents: Box<dyn Query>) -> ParagraphsOf {
        ParagraphsOf::new(documents, Arc::default())
    }

    fn term(field: tantivy::schema::Field, word: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, word),
            IndexRecordOption::Basic,
        ))
    }

    #[test]
    fn every_paragraph_of_the_matching_documents_matches() {
        let (index, fields) = indexed(DOCUMENTS);
        let by_ann = of(term(fields.author, "ann"));
        assert_eq!(matches(&index, &by_ann), [0, 1, 2, 5, 6, 7]);
        let by_bo = of(term(fields.author, "bo"));
        assert_eq!(matches(&index, &by_bo), [3, 4]);
        let by_nobody = of(term(fields.author, "cy"));
        assert_eq!(matches(&index, &by_nobody), [] as [DocId; 0]);

        // Documents of one paragraph each: every paragraph starts one.
        let (index, fields) = indexed(&[("ann", &["wolf"]), ("bo", &["wolf"]), ("ann", &["vole"])]);
        assert_eq!(matches(&index, &of(term(fields.author, "ann"))), [0, 2]);
    }

    #[test]
    fn seeking_lands_inside_or_after_a_matching_document() {
        let (index, fields) = indexed(DOCUMENTS);
        // The intersection seeks this query to where the word is.
        for (word, expected) in [("wolf", &[0, 2, 7][..]), ("vole", &[1, 5, 6])] {
            let query = BooleanQuery::new(vec![
                (Occur::Must, term(fields.text, word)),
                (Occur::Must, Box::new(of(term(fields.author, "ann")))),
            ]);
            assert_eq!(matches(&index, &query), expected, "{word}");
        }
        // Excluded, a document's every paragraph goes.
        let query = BooleanQuery::new(vec![
            (Occur::Must, term(fields.text, "wolf")),
            (Occur::MustNot, Box::new(of(term(fields.author, "ann")))),
        ]);
        assert_eq!(matches(&index, &query), [3, 4]);
    }
}
