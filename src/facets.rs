//! Counting paragraphs: by author and topic (facets), by year (timeline), and the number of hits.
//! Facets and timelines cover all the paragraphs a query matches, read from fast fields by
//! collectors; the number of hits is counted up to a limit.

use std::collections::{BTreeMap, HashMap, HashSet};

use rustc_hash::FxHashSet;
use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{AllQuery, EnableScoring, Query};
use tantivy::{DocId, Score, Searcher, SegmentOrdinal, SegmentReader, TERMINATED};

use crate::date::IsoDate;
use crate::error::Result;
use crate::index::SearchIndex;
use crate::schema::names;
use crate::search::{first_paragraph, ColumnCache};

/// How many paragraphs, and of how many documents, have one value (an author, a topic).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    pub value: String,
    pub paragraphs: usize,
    pub documents: usize,
}

/// Counts of matching paragraphs by author and by topic, most paragraphs first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Facets {
    pub authors: Vec<FacetCount>,
    pub topics: Vec<FacetCount>,
}

/// How many matching paragraphs were published in each year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// Every year from the first to the last with a matching paragraph, in order; years without
    /// one have a count of 0.
    pub years: Vec<YearCount>,
    /// Matching paragraphs of documents without a date.
    pub undated: usize,
}

/// The number of matching paragraphs of one year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct YearCount {
    pub year: u64,
    pub paragraphs: usize,
}

impl SearchIndex {
    /// Every author with the number of their paragraphs and documents, most paragraphs first.
    pub fn authors(&self) -> Result<Vec<FacetCount>> {
        let searcher = self.reader.searcher();
        Ok(searcher.search(&AllQuery, &ValueCounts(names::AUTHOR_FACET))?)
    }

    /// Every topic with the number of its paragraphs and documents, most paragraphs first.
    pub fn topics(&self) -> Result<Vec<FacetCount>> {
        let searcher = self.reader.searcher();
        Ok(searcher.search(&AllQuery, &ValueCounts(names::TOPIC_FACET))?)
    }
}

impl Facets {
    pub(crate) fn of(searcher: &Searcher, query: &dyn Query) -> Result<Facets> {
        let collector = (
            ValueCounts(names::AUTHOR_FACET),
            ValueCounts(names::TOPIC_FACET),
        );
        let (authors, topics) = searcher.search(query, &collector)?;
        Ok(Facets { authors, topics })
    }
}

impl Timeline {
    pub(crate) fn of(searcher: &Searcher, query: &dyn Query) -> Result<Timeline> {
        Ok(searcher.search(query, &YearCounts)?)
    }
}

/// Counts paragraphs and documents by the values of a string fast field.
struct ValueCounts(&'static str);

/// Per value: paragraphs, and the documents they belong to.
type Tally = HashMap<String, (usize, HashSet<u64>)>;

/// The counts of one value in one segment.
#[derive(Default)]
struct OrdinalTally {
    paragraphs: usize,
    documents: HashSet<u64>,
    /// The document of the last paragraph counted: a document's paragraphs mostly come one after
    /// the other, and need not be looked up in `documents` each time.
    last_document: Option<u64>,
}

struct ValueCountsSegment {
    values: Option<StrColumn>,
    doc_hash: Option<Column<u64>>,
    paragraph: Column<u64>,
    /// By the value's ordinal in the segment's dictionary.
    by_ordinal: HashMap<u64, OrdinalTally>,
}

impl Collector for ValueCounts {
    type Fruit = Vec<FacetCount>;
    type Child = ValueCountsSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let fast = segment.fast_fields();
        Ok(ValueCountsSegment {
            values: fast.str(self.0)?,
            doc_hash: fast.u64(names::DOC_HASH).ok(),
            paragraph: fast.u64(names::PARAGRAPH)?,
            by_ordinal: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<Tally>) -> tantivy::Result<Vec<FacetCount>> {
        let mut merged = Tally::new();
        for segment in segments {
            for (value, (paragraphs, documents)) in segment {
                let entry = merged.entry(value).or_default();
                entry.0 += paragraphs;
                entry.1.extend(documents);
            }
        }
        let mut counts: Vec<FacetCount> = merged
            .into_iter()
            .map(|(value, (paragraphs, documents))| FacetCount {
                value,
                paragraphs,
                documents: documents.len(),
            })
            .collect();
        counts.sort_by(|a, b| {
            (b.paragraphs, b.documents)
                .cmp(&(a.paragraphs, a.documents))
                .then_with(|| a.value.cmp(&b.value))
        });
        Ok(counts)
    }
}

impl SegmentCollector for ValueCountsSegment {
    type Fruit = Tally;

    fn collect(&mut self, doc: DocId, _: Score) {
        let Some(values) = &self.values else {
            return;
        };
        let first = self
            .paragraph
            .first(doc)
            .and_then(|number| first_paragraph(doc, number))
            .unwrap_or(doc);
        let doc_hash = self
            .doc_hash
            .as_ref()
            .and_then(|column| column.first(first));
        for ordinal in values.term_ords(first) {
            let tally = self.by_ordinal.entry(ordinal).or_default();
            tally.paragraphs += 1;
            if doc_hash.is_some() && tally.last_document != doc_hash {
                tally.last_document = doc_hash;
                tally.documents.extend(doc_hash);
            }
        }
    }

    fn harvest(self) -> Tally {
        let Some(values) = &self.values else {
            return Tally::new();
        };
        let mut counted: Vec<(u64, OrdinalTally)> = self.by_ordinal.into_iter().collect();
        counted.sort_unstable_by_key(|(ordinal, _)| *ordinal);
        let ordinals: Vec<u64> = counted.iter().map(|(ordinal, _)| *ordinal).collect();
        // One pass over the dictionary for all the values, in order: looking each ordinal up on
        // its own decodes its block of the dictionary again every time.
        let mut names = Vec::with_capacity(ordinals.len());
        let found = values
            .dictionary()
            .sorted_ords_to_term_cb(&ordinals, |bytes| {
                names.push(String::from_utf8_lossy(bytes).into_owned());
            })
            .unwrap_or(false);
        // An ordinal the column gave out is always in its dictionary.
        if !found || names.len() != counted.len() {
            return Tally::new();
        }
        names
            .into_iter()
            .zip(counted)
            .map(|(name, (_, counts))| (name, (counts.paragraphs, counts.documents)))
            .collect()
    }
}

/// Counts paragraphs by the year of their document's date.
struct YearCounts;

struct YearCountsSegment {
    day: Option<Column<u64>>,
    years: BTreeMap<u64, usize>,
    undated: usize,
}

impl Collector for YearCounts {
    type Fruit = Timeline;
    type Child = YearCountsSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(YearCountsSegment {
            day: segment.fast_fields().u64(names::DAY).ok(),
            years: BTreeMap::new(),
            undated: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        segments: Vec<(BTreeMap<u64, usize>, usize)>,
    ) -> tantivy::Result<Timeline> {
        let mut years = BTreeMap::new();
        let mut undated = 0;
        for (segment_years, segment_undated) in segments {
            undated += segment_undated;
            for (year, count) in segment_years {
                *years.entry(year).or_default() += count;
            }
        }
        let (Some(&first), Some(&last)) = (years.keys().next(), years.keys().next_back()) else {
            return Ok(Timeline {
                years: Vec::new(),
                undated,
            });
        };
        let years = (first..=last)
            .map(|year| YearCount {
                year,
                paragraphs: years.get(&year).copied().unwrap_or(0),
            })
            .collect();
        Ok(Timeline { years, undated })
    }
}

impl SegmentCollector for YearCountsSegment {
    type Fruit = (BTreeMap<u64, usize>, usize);

    fn collect(&mut self, doc: DocId, _: Score) {
        match self.day.as_ref().and_then(|day| day.first(doc)) {
            Some(day) => *self.years.entry(IsoDate::year_of_number(day)).or_default() += 1,
            None => self.undated += 1,
        }
    }

    fn harvest(self) -> Self::Fruit {
        (self.years, self.undated)
    }
}

/// The number of paragraphs `query` matches, counted up to `limit`; with `texts`, paragraphs with
/// the same normalised text count once. Returns the count and whether it is
/// exact: on finding more than `limit` it stops counting and returns `limit` (an exact count
/// would visit every match, which costs more than answering the query does on a large corpus).
pub(crate) fn count_matches(
    searcher: &Searcher,
    query: &dyn Query,
    texts: Option<&ColumnCache>,
    limit: usize,
) -> Result<(usize, bool)> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    // Paragraphs counted without their text, and the texts of the others.
    let mut count = 0;
    let mut distinct = FxHashSet::default();
    if texts.is_some() {
        distinct.reserve(limit + 1);
    }
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let text_hash = texts
            .map(|columns| columns.text_hash(searcher, ord as SegmentOrdinal))
            .transpose()?;
        let alive = segment.alive_bitset();
        let mut scorer = weight.scorer(segment, 1.0)?;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|alive| alive.is_alive(doc)) {
                match text_hash.as_ref().map(|column| column.first(doc)) {
                    Some(Some(hash)) => {
                        distinct.insert(hash);
                    }
                    _ => count += 1,
                }
                if count + distinct.len() > limit {
                    return Ok((limit, false));
                }
            }
            doc = scorer.advance();
        }
    }
    Ok((count + distinct.len(), true))
}
