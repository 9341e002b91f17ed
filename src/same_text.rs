//! Finding the copies of a text: the paragraphs whose `text_hash` is a given value.
//!
//! The hash is a column, not a term: indexing four million random 64-bit values cost a term
//! dictionary of 13 bytes a paragraph, more than their postings and the column together. The
//! index holds instead the hash's top 16 bits (`text_bucket`, at most 65,536 terms), and
//! [`SameText`] walks the bucket's postings and keeps the paragraphs whose column holds the
//! whole hash.

use std::sync::Arc;

use tantivy::columnar::Column;
use tantivy::postings::SegmentPostings;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, Term, TERMINATED};

use crate::schema;
use crate::search::ColumnCache;

/// The paragraphs whose text hashes to `hash` (see [`schema::text_hash`]), unscored.
#[derive(Clone)]
pub(crate) struct SameText {
    bucket: Term,
    hash: u64,
    columns: Arc<ColumnCache>,
}

impl std::fmt::Debug for SameText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SameText").field(&self.hash).finish()
    }
}

impl SameText {
    /// `bucket_field` is the index's `text_bucket` field.
    pub(crate) fn new(bucket_field: Field, hash: u64, columns: Arc<ColumnCache>) -> SameText {
        SameText {
            bucket: Term::from_field_u64(bucket_field, schema::text_bucket(hash)),
            hash,
            columns,
        }
    }
}

impl Query for SameText {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        visitor(&self.bucket, false);
    }
}

impl Weight for SameText {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let hashes = self.columns.text_hashes(reader)?;
        let postings = reader
            .inverted_index(self.bucket.field())?
            .read_postings(&self.bucket, IndexRecordOption::Basic)?;
        Ok(Box::new(SameTextScorer::new(postings, hashes, self.hash)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "paragraph {doc} does not have this text"
            )));
        }
        Ok(Explanation::new("same text", 1.0))
    }
}

struct SameTextScorer {
    /// The bucket's paragraphs; `None` when the segment has none.
    postings: Option<SegmentPostings>,
    hashes: Column<u64>,
    hash: u64,
}

impl SameTextScorer {
    fn new(postings: Option<SegmentPostings>, hashes: Column<u64>, hash: u64) -> SameTextScorer {
        let mut scorer = SameTextScorer {
            postings,
            hashes,
            hash,
        };
        scorer.settle();
        scorer
    }

    /// Moves forward from the current paragraph to the first one with the whole hash.
    fn settle(&mut self) -> DocId {
        let Some(postings) = &mut self.postings else {
            return TERMINATED;
        };
        let mut doc = postings.doc();
        while doc != TERMINATED && self.hashes.first(doc) != Some(self.hash) {
            doc = postings.advance();
        }
        doc
    }
}

impl DocSet for SameTextScorer {
    fn advance(&mut self) -> DocId {
        match &mut self.postings {
            Some(postings) if postings.doc() != TERMINATED => {
                postings.advance();
                self.settle()
            }
            _ => TERMINATED,
        }
    }

    fn seek(&mut self, target: DocId) -> DocId {
        match &mut self.postings {
            Some(postings) if postings.doc() < target => {
                postings.seek(target);
                self.settle()
            }
            _ => self.doc(),
        }
    }

    fn doc(&self) -> DocId {
        self.postings.as_ref().map_or(TERMINATED, DocSet::doc)
    }

    fn size_hint(&self) -> u32 {
        // An upper bound: the rest of the bucket.
        self.postings.as_ref().map_or(0, DocSet::size_hint)
    }
}

impl Scorer for SameTextScorer {
    fn score(&mut self) -> Score {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Fields;
    use crate::test_support::matching_docs as matches;
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    /// Two texts in one bucket with different hashes, found by trying numbered texts.
    fn bucket_mates() -> (String, String) {
        let mut seen = std::collections::HashMap::new();
        for i in 0.. {
            let text = format!("paragraph number {i}");
            let hash = schema::text_hash(&text);
            if let Some(other) = seen.insert(schema::text_bucket(hash), text.clone()) {
                return (other, text);
            }
        }
        unreachable!()
    }

    #[test]
    fn a_bucket_mate_is_not_a_copy() {
        let (text, mate) = bucket_mates();
        let hash = schema::text_hash(&text);
        assert_ne!(hash, schema::text_hash(&mate));
        let index = Index::create_in_ram(schema::build_schema());
        schema::register_tokenizers(index.tokenizers());
        let fields = Fields::resolve(&index.schema()).unwrap();
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        // Paragraphs 0 and 3 have the text, 1 and 4 its bucket-mate, 2 another text.
        for (i, paragraph) in [&text, &mate, "unrelated", &text.to_uppercase(), &mate]
            .into_iter()
            .enumerate()
        {
            let text_hash = schema::text_hash(paragraph);
            let mut doc = TantivyDocument::default();
            doc.add_text(fields.text, paragraph);
            doc.add_text(fields.topic, if i < 3 { "kept" } else { "other" });
            doc.add_u64(fields.text_hash, text_hash);
            doc.add_u64(fields.text_bucket, schema::text_bucket(text_hash));
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let same = SameText::new(fields.text_bucket, hash, Arc::default());
        assert_eq!(matches(&index, &same), [0, 3]);
        let mate_hash = schema::text_hash(&mate);
        let mates = SameText::new(fields.text_bucket, mate_hash, Arc::default());
        assert_eq!(matches(&index, &mates), [1, 4]);
        let absent = SameText::new(fields.text_bucket, hash ^ 1, Arc::default());
        assert_eq!(matches(&index, &absent), [] as [DocId; 0]);

        // Intersected (seeked) and excluded, as the filters and `similar` use it.
        let topic = |word: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(fields.topic, word),
                IndexRecordOption::Basic,
            ))
        };
        let other = BooleanQuery::new(vec![
            (Occur::Must, topic("other")),
            (Occur::Must, Box::new(same.clone())),
        ]);
        assert_eq!(matches(&index, &other), [3]);
        let not_copies = BooleanQuery::new(vec![
            (Occur::Must, topic("kept")),
            (Occur::MustNot, Box::new(same)),
        ]);
        assert_eq!(matches(&index, &not_copies), [1, 2]);
    }
}
