//! The first stage of ranking: the best paragraphs by a cheap score, at most one per text.
//!
//! tantivy's `TopDocs` keeps the best paragraphs whatever their text, so a passage copied into a
//! hundred exports fills the top with its copies, and the page needs a second, deeper search.
//! Here each text counts once, and the threshold that block-max WAND prunes with is the score of
//! the worst text kept. The paragraphs can also be checked against required clauses, so that a
//! query with phrases can be ranked by a flat union of its terms, which WAND prunes, and still
//! keep only the paragraphs its phrases match: each phrase is then looked at only where a
//! paragraph could make the top, instead of everywhere its words are.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering as AtomicOrdering};

use rustc_hash::FxHashMap;
use tantivy::query::{EnableScoring, Query, Scorer, Weight};
use tantivy::{
    DocAddress, DocId, DocSet, Score, Searcher, SeekDangerResult, SegmentOrdinal, SegmentReader,
};

use crate::error::Result;
use crate::search::ColumnCache;

/// Paragraphs in the index from which its segments are searched on several threads.
pub(crate) const PARALLEL_MIN_PARAGRAPHS: u64 = 1_000_000;

/// The best `depth` paragraphs by `scoring`'s score among those that match, in every group of
/// `required`, one of its queries; best first. With `texts`, paragraphs with the same text hash
/// count once, by the best of them (the first in the index among equals).
pub(crate) fn best_paragraphs(
    searcher: &Searcher,
    scoring: &dyn Query,
    required: &[Vec<Box<dyn Query>>],
    depth: usize,
    texts: Option<&ColumnCache>,
) -> Result<Vec<(Score, DocAddress)>> {
    // Threads are worth waking only for a large index.
    let parallel = searcher.num_docs() >= PARALLEL_MIN_PARAGRAPHS;
    best_paragraphs_on(searcher, scoring, required, depth, texts, parallel)
}

/// [`best_paragraphs`], with the segments searched on several threads or on one.
fn best_paragraphs_on(
    searcher: &Searcher,
    scoring: &dyn Query,
    required: &[Vec<Box<dyn Query>>],
    depth: usize,
    texts: Option<&ColumnCache>,
    parallel: bool,
) -> Result<Vec<(Score, DocAddress)>> {
    if depth == 0 {
        return Ok(Vec::new());
    }
    let weight = scoring.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let required = required
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|query| query.weight(EnableScoring::disabled_from_searcher(searcher)))
                .collect::<tantivy::Result<Vec<_>>>()
        })
        .collect::<tantivy::Result<Vec<_>>>()?;
    // The segments are searched side by side, the largest first. A segment's own threshold
    // holds for all of them: its best paragraphs are in the whole index too. One just below it is
    // shared, so that a paragraph of another segment that ties with it is still looked at, and
    // ties go to the first paragraph in the index whatever the order the segments finish in.
    let shared = SharedThreshold::default();
    let segments = searcher.segment_readers();
    let search = |ord: usize| -> Result<Best> {
        let segment = &segments[ord];
        let mut best = Best::new(depth);
        let text_hash = texts
            .map(|columns| columns.text_hash(searcher, ord as SegmentOrdinal))
            .transpose()?;
        let alive = segment.alive_bitset();
        let mut required = Required::new(&required, segment)?;
        let mut threshold = shared.below();
        weight.for_each_pruning(threshold, segment, &mut |doc: DocId, score| {
            let deleted = alive.is_some_and(|alive| alive.is_deleted(doc));
            if !deleted && required.matches(doc) {
                let address = DocAddress::new(ord as SegmentOrdinal, doc);
                let key = match text_hash.as_ref().and_then(|column| column.first(doc)) {
                    Some(hash) => Key::Text(hash),
                    None => Key::Paragraph(address),
                };
                best.offer(key, score, address);
                shared.raise(best.threshold());
            }
            threshold = best.threshold().max(shared.below());
            threshold
        })?;
        Ok(best)
    };
    let bests = on_segments(segments, parallel, search)?;
    let mut all = Best::new(depth);
    for best in bests {
        for entry in best.kept.into_values() {
            all.offer(entry.key, entry.score, entry.address);
        }
    }
    Ok(all.into_sorted())
}

/// `work` on each segment, the largest first; with `parallel`, on the threads of rayon's pool,
/// each taking the largest segment left. Split in halves instead, as rayon's iterators split, the
/// two largest segments would fall to one thread. The calling thread starts at once; the pool's
/// workers join when they wake up. The results come in no particular order.
pub(crate) fn on_segments<T: Send>(
    segments: &[SegmentReader],
    parallel: bool,
    work: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let mut order: Vec<usize> = (0..segments.len()).collect();
    order.sort_by_key(|&ord| Reverse(segments[ord].max_doc()));
    if !parallel {
        return order.into_iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let worker = || -> Vec<Result<T>> {
        std::iter::from_fn(|| order.get(next.fetch_add(1, AtomicOrdering::Relaxed)))
            .map(|&ord| work(ord))
            .collect()
    };
    let helpers = rayon::current_num_threads()
        .min(order.len())
        .saturating_sub(1);
    let mut helped: Vec<Vec<Result<T>>> = (0..helpers).map(|_| Vec::new()).collect();
    let mut own = Vec::new();
    rayon::in_place_scope(|scope| {
        for results in &mut helped {
            let worker = &worker;
            scope.spawn(move |_| *results = worker());
        }
        own = worker();
    });
    own.into_iter()
        .chain(helped.into_iter().flatten())
        .collect()
}

/// The best threshold any segment has reached, as a float whose bits are ordered like the
/// numbers they stand for.
struct SharedThreshold(AtomicU32);

impl Default for SharedThreshold {
    fn default() -> SharedThreshold {
        SharedThreshold(AtomicU32::new(ordered_bits(Score::MIN)))
    }
}

impl SharedThreshold {
    fn raise(&self, threshold: Score) {
        self.0
            .fetch_max(ordered_bits(threshold), AtomicOrdering::Relaxed);
    }

    /// The greatest score below the threshold.
    fn below(&self) -> Score {
        let bits = self.0.load(AtomicOrdering::Relaxed);
        from_ordered_bits(bits.saturating_sub(1).max(ordered_bits(Score::MIN)))
    }
}

/// The bits of `score`, mapped so that they compare as the scores do.
fn ordered_bits(score: Score) -> u32 {
    let bits = score.to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

fn from_ordered_bits(bits: u32) -> Score {
    if bits >> 31 == 1 {
        Score::from_bits(bits & !(1 << 31))
    } else {
        Score::from_bits(!bits)
    }
}

/// The required clauses' scorers in one segment, asked about paragraphs in increasing order.
struct Required {
    groups: Vec<Vec<Probe>>,
}

impl Required {
    fn new(weights: &[Vec<Box<dyn Weight>>], segment: &SegmentReader) -> Result<Required> {
        let groups = weights
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|weight| Probe::new(&**weight, segment))
                    .collect()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Required { groups })
    }

    /// Whether paragraph `doc` (greater than any asked about before) matches a query of every
    /// group.
    fn matches(&mut self, doc: DocId) -> bool {
        self.groups
            .iter_mut()
            .all(|group| group.iter_mut().any(|probe| probe.contains(doc)))
    }
}

/// A scorer asked whether it matches given paragraphs. A phrase scorer's `seek` looks for the
/// next paragraph with the phrase, checking the positions of every paragraph with its words on
/// the way; `seek_danger` checks the target only.
struct Probe {
    scorer: Box<dyn Scorer>,
    /// No paragraph before this one matches.
    next: DocId,
    /// Whether the scorer stands on `next` (else it may only be moved by `seek_danger`).
    on_next: bool,
}

impl Probe {
    fn new(weight: &dyn Weight, segment: &SegmentReader) -> Result<Probe> {
        let scorer = weight.scorer(segment, 1.0)?;
        let next = scorer.doc();
        Ok(Probe {
            scorer,
            next,
            on_next: true,
        })
    }

    /// Whether the scorer matches `doc`; `doc` must grow from call to call.
    fn contains(&mut self, doc: DocId) -> bool {
        if doc < self.next {
            return false;
        }
        if doc == self.next && self.on_next {
            return true;
        }
        match self.scorer.seek_danger(doc) {
            SeekDangerResult::Found => {
                self.next = doc;
                self.on_next = true;
                true
            }
            SeekDangerResult::SeekLowerBound(bound) => {
                self.next = bound;
                self.on_next = false;
                false
            }
        }
    }
}

/// What counts once.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Text(u64),
    Paragraph(DocAddress),
}

/// A candidate in the heap, worst first: lowest score, then latest address.
#[derive(Clone, Copy)]
struct Entry {
    score: Score,
    address: DocAddress,
    key: Key,
}

impl Entry {
    fn rank(&self) -> (Score, Reverse<DocAddress>) {
        (self.score, Reverse(self.address))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        let (score, address) = self.rank();
        let (other_score, other_address) = other.rank();
        score
            .total_cmp(&other_score)
            .then_with(|| address.cmp(&other_address))
    }
}

/// The best `capacity` keys, each by its best paragraph so far.
struct Best {
    capacity: usize,
    /// The best paragraph of each key kept.
    kept: FxHashMap<Key, Entry>,
    /// Every entry ever kept, worst on top; those no longer in `kept` are skipped on the way out.
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Best {
    fn new(capacity: usize) -> Best {
        Best {
            capacity,
            kept: FxHashMap::default(),
            heap: BinaryHeap::new(),
        }
    }

    /// The score a paragraph must beat to be kept: the worst kept once there are enough.
    fn threshold(&self) -> Score {
        if self.kept.len() < self.capacity {
            return Score::MIN;
        }
        self.heap
            .peek()
            .map_or(Score::MIN, |Reverse(worst)| worst.score)
    }

    fn offer(&mut self, key: Key, score: Score, address: DocAddress) {
        let entry = Entry {
            score,
            address,
            key,
        };
        match self.kept.get(&key) {
            Some(kept) if *kept >= entry => return,
            Some(_) => {}
            None if self.kept.len() < self.capacity => {}
            None => {
                let worst = self.heap.peek().map(|Reverse(worst)| *worst);
                match worst {
                    Some(worst) if worst < entry => {
                        self.heap.pop();
                        self.kept.remove(&worst.key);
                    }
                    _ => return,
                }
            }
        }
        self.kept.insert(key, entry);
        self.heap.push(Reverse(entry));
        self.drop_stale();
    }

    /// Pops the entries on top of the heap that a better paragraph of their key replaced.
    fn drop_stale(&mut self) {
        while let Some(Reverse(top)) = self.heap.peek() {
            if self.kept.get(&top.key) == Some(top) {
                break;
            }
            self.heap.pop();
        }
    }

    fn into_sorted(self) -> Vec<(Score, DocAddress)> {
        let mut entries: Vec<Entry> = self.kept.into_values().collect();
        entries.sort_by(|a, b| b.cmp(a));
        entries
            .into_iter()
            .map(|entry| (entry.score, entry.address))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(doc: u32) -> DocAddress {
        DocAddress::new(0, doc)
    }

    #[test]
    fn each_text_counts_once_by_its_best_paragraph() {
        let mut best = Best::new(2);
        best.offer(Key::Text(1), 1.0, address(0));
        best.offer(Key::Text(2), 2.0, address(1));
        assert_eq!(best.threshold(), 1.0);
        // A better copy of text 1 replaces the first; the threshold follows.
        best.offer(Key::Text(1), 3.0, address(2));
        assert_eq!(best.threshold(), 2.0);
        // A third text better than the worst pushes it out.
        best.offer(Key::Text(3), 2.5, address(3));
        assert_eq!(
            best.into_sorted(),
            vec![(3.0, address(2)), (2.5, address(3))]
        );
    }

    #[test]
    fn threshold_bits_order_like_scores() {
        let scores = [Score::MIN, -2.5, -0.0, 0.0, 1e-30, 0.75, 3.0, Score::MAX];
        for pair in scores.windows(2) {
            assert!(ordered_bits(pair[0]) <= ordered_bits(pair[1]), "{pair:?}");
            assert_eq!(from_ordered_bits(ordered_bits(pair[1])), pair[1]);
        }
        let shared = SharedThreshold::default();
        assert_eq!(shared.below(), Score::MIN);
        shared.raise(2.0);
        shared.raise(1.0);
        assert!(shared.below() < 2.0 && shared.below() > 1.999);
    }

    #[test]
    fn several_threads_find_what_one_finds() {
        use tantivy::query::QueryParser;
        use tantivy::schema::{Schema, TEXT};
        use tantivy::{doc, Index, IndexWriter};

        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        // Five segments of unequal sizes, with ties between segments.
        for (segment, size) in [3, 40, 7, 25, 1].into_iter().enumerate() {
            for i in 0..size {
                let words = [
                    "agent power",
                    "power",
                    "agent seeks power power",
                    "corrigible agent",
                ];
                let body = format!("{} filler{segment}{i}", words[(i + segment) % words.len()]);
                writer.add_document(doc!(text => body)).unwrap();
            }
            writer.commit().unwrap();
        }
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 5);
        let query = QueryParser::for_index(&index, vec![text])
            .parse_query("agent power")
            .unwrap();
        for depth in [1, 5, 30, 100] {
            let one = best_paragraphs_on(&searcher, &*query, &[], depth, None, false).unwrap();
            let several = best_paragraphs_on(&searcher, &*query, &[], depth, None, true).unwrap();
            assert_eq!(one.len(), depth.min(76));
            assert_eq!(one, several, "depth {depth}");
        }
    }

    #[test]
    fn equal_scores_keep_the_first_paragraph() {
        let mut best = Best::new(1);
        best.offer(Key::Paragraph(address(5)), 1.0, address(5));
        best.offer(Key::Paragraph(address(9)), 1.0, address(9));
        best.offer(Key::Text(7), 1.0, address(3));
        assert_eq!(best.into_sorted(), vec![(1.0, address(3))]);
    }
}
