//! The second stage of free-text ranking: the best paragraphs by a cheap first score are scored
//! again with every bonus.
//!
//! The first stage is a flat union of terms, which tantivy's block-max WAND answers without
//! looking at most of the paragraphs that match. The bonuses (every word present, words close
//! together) need phrase scorers, which cost something for every paragraph they look at: here
//! each clause of the ranking seeks straight to the few candidates, and the score is put
//! together from the clauses that match.

use tantivy::query::{EnableScoring, Query};
use tantivy::{DocAddress, DocSet, Score, Searcher};

use crate::error::Result;

/// A score made of independent clauses (terms and phrases, each with its BM25 score where it
/// matches), added up by [`Part`]s.
#[derive(Default)]
pub(crate) struct Ranking {
    clauses: Vec<Box<dyn Query>>,
    parts: Vec<Part>,
}

enum Part {
    /// `boost` × the clause's score, where it matches.
    Clause { clause: usize, boost: Score },
    /// `boost` × the summed scores of the groups that match, where at least `min` of them match.
    /// A group matches where one of its clauses does, and scores the sum of those that do.
    Coverage {
        groups: Vec<Vec<usize>>,
        min: usize,
        boost: Score,
    },
}

impl Ranking {
    /// Adds a clause, scored by nothing yet; returns its number for [`Ranking::coverage`].
    pub fn clause(&mut self, query: Box<dyn Query>) -> usize {
        self.clauses.push(query);
        self.clauses.len() - 1
    }

    /// Adds a clause that counts `boost` × its score where it matches; returns its number.
    pub fn scored_clause(&mut self, query: Box<dyn Query>, boost: Score) -> usize {
        let clause = self.clause(query);
        self.parts.push(Part::Clause { clause, boost });
        clause
    }

    /// Adds `boost` × the scores of the `groups` of clauses that match, where at least `min` of
    /// them do.
    pub fn coverage(&mut self, groups: Vec<Vec<usize>>, min: usize, boost: Score) {
        self.parts.push(Part::Coverage { groups, min, boost });
    }

    /// `hits` with their scores under this ranking, in the order of their addresses.
    pub fn rescore(
        &self,
        searcher: &Searcher,
        mut hits: Vec<(Score, DocAddress)>,
    ) -> Result<Vec<(Score, DocAddress)>> {
        let scoring = EnableScoring::enabled_from_searcher(searcher);
        let weights = self
            .clauses
            .iter()
            .map(|clause| clause.weight(scoring))
            .collect::<tantivy::Result<Vec<_>>>()?;
        hits.sort_by_key(|(_, address)| *address);
        let mut scores = vec![None; weights.len()];
        let mut rescored = Vec::with_capacity(hits.len());
        for segment in hits.chunk_by(|a, b| a.1.segment_ord == b.1.segment_ord) {
            let reader = searcher.segment_reader(segment[0].1.segment_ord);
            let mut scorers = weights
                .iter()
                .map(|weight| weight.scorer(reader, 1.0))
                .collect::<tantivy::Result<Vec<_>>>()?;
            for &(_, address) in segment {
                let target = address.doc_id;
                for (scorer, score) in scorers.iter_mut().zip(&mut scores) {
                    let doc = match scorer.doc() {
                        doc if doc < target => scorer.seek(target),
                        doc => doc,
                    };
                    *score = (doc == target).then(|| scorer.score());
                }
                rescored.push((self.combine(&scores), address));
            }
        }
        Ok(rescored)
    }

    /// The score of a paragraph whose clauses score `scores` (`None` where one does not match).
    fn combine(&self, scores: &[Option<Score>]) -> Score {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Clause { clause, boost } => scores[*clause].map_or(0.0, |s| s * boost),
                Part::Coverage { groups, min, boost } => {
                    let mut matched = 0;
                    let mut sum = 0.0;
                    for group in groups {
                        let mut found = false;
                        for score in group.iter().filter_map(|clause| scores[*clause]) {
                            found = true;
                            sum += score;
                        }
                        matched += usize::from(found);
                    }
                    if matched >= *min {
                        boost * sum
                    } else {
                        0.0
                    }
                }
            })
            .sum()
    }
}
