//! Answering queries: ranked paragraphs with snippets and the paragraphs around them.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::query::{
    BooleanQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::document::{
    DeserializeError, DocumentDeserialize, DocumentDeserializer, ValueDeserialize,
    ValueDeserializer, ValueVisitor,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

use crate::block_join::ParagraphsOf;
use crate::date::IsoDate;
use crate::error::{Error, Result};
use crate::facets::{count_matches, Facets, Timeline};
use crate::first_stage::best_paragraphs;
use crate::index::SearchIndex;
use crate::passage::{Location, PassageRef};
use crate::query::{self, FirstStage};
use crate::rescore::Ranking;
use crate::same_text::SameText;
use crate::schema::{names, DocumentFields};

/// How many of the best paragraphs by the first, cheaper score are scored again with every
/// bonus of the ranking.
const RESCORE_DEPTH: usize = 60;
/// Hits are counted up to this many (Lucene's default threshold too): an exact count of a common
/// word's hits would cost more than the rest of the query.
pub const MAX_COUNTED_HITS: usize = 1_000;
/// Copies of a paragraph listed with it, at most (the rest are counted).
pub const MAX_COPIES_LISTED: usize = 3;
/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 240;
/// A query and how to present its hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRequest {
    /// Query syntax: words, "phrases", AND / OR / NOT, + / -, `author:` and `topic:` prefixes.
    /// For [`SearchIndex::similar`], the reference of a paragraph (`PATH#N`).
    pub query: String,
    /// Hits to return.
    pub limit: usize,
    /// Hits to skip, for paging.
    pub offset: usize,
    /// Only paragraphs by this author (a case-insensitive phrase match on the canonical names and
    /// the other spellings the corpus's aliases file lists for them).
    pub author: Option<String>,
    /// Only paragraphs of documents whose topic contains this phrase.
    pub topic: Option<String>,
    /// Only paragraphs of documents dated on or after this day (undated documents are left out).
    pub since: Option<IsoDate>,
    /// Only paragraphs of documents dated on or before this day (undated documents are left out).
    pub until: Option<IsoDate>,
    /// The order of the hits.
    pub sort: Sort,
    /// Paragraphs of context to return on each side of a hit.
    pub context: usize,
    /// At most this many paragraphs of one document rank ahead of other documents' paragraphs
    /// (the rest follow them); 0 for no limit. Only under [`Sort::Relevance`].
    pub per_document: usize,
    /// Show paragraphs with the same normalised text once, with the other copies in
    /// [`Hit::also_in`].
    pub dedup: bool,
    /// Count the matching paragraphs by author and by topic ([`SearchResults::facets`]).
    pub facets: bool,
    /// Count the matching paragraphs by year ([`SearchResults::timeline`]).
    pub timeline: bool,
}

impl SearchRequest {
    /// A request with the defaults: 10 hits by relevance, 1 paragraph of context on each side, at
    /// most 3 paragraphs of one document ahead of the others, duplicates merged, no facets.
    pub fn new(query: impl Into<String>) -> SearchRequest {
        SearchRequest {
            query: query.into(),
            limit: 10,
            offset: 0,
            author: None,
            topic: None,
            since: None,
            until: None,
            sort: Sort::Relevance,
            context: 1,
            per_document: 3,
            dedup: true,
            facets: false,
            timeline: false,
        }
    }
}

/// The order of hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first.
    #[default]
    Relevance,
    /// Latest document date first, undated documents last; best match first within a day.
    Newest,
    /// Earliest document date first, undated documents last; best match first within a day.
    Oldest,
}

/// The answer to a [`SearchRequest`].
#[derive(Clone, Debug, Serialize)]
pub struct SearchResults {
    pub query: String,
    /// The query with misspelled words replaced by the spellings searched instead.
    pub corrected_query: Option<String>,
    /// What the user should know about how the query was read (syntax that was ignored).
    pub notices: Vec<String>,
    /// All hits of the whole ranking, not only those returned: the matching paragraphs, with
    /// copies of one text counted once unless `dedup` is off. Counting stops at
    /// [`MAX_COUNTED_HITS`]: past it, this is that number and `total_hits_exact` is false.
    pub total_hits: usize,
    /// False when more paragraphs match than `total_hits` says.
    pub total_hits_exact: bool,
    pub offset: usize,
    pub hits: Vec<Hit>,
    /// Counts of all matching paragraphs by author and topic, when asked for.
    pub facets: Option<Facets>,
    /// Counts of all matching paragraphs by year, when asked for.
    pub timeline: Option<Timeline>,
}

/// One matching paragraph.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    /// Position in the whole ranking, starting at 1.
    pub rank: usize,
    pub score: f32,
    /// The paragraph's reference, `DOC#N`: what `ai-search show` takes.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The authors, joined with ", ".
    pub author: String,
    pub authors: Vec<String>,
    pub topic: String,
    /// Path of the source file relative to the corpus root.
    pub path: String,
    /// Record id, for hits from JSON Lines files.
    pub id: Option<String>,
    /// Number of the paragraph within its document, starting at 1.
    pub paragraph: u64,
    pub section: Option<String>,
    pub date: Option<String>,
    pub url: Option<String>,
    pub tags: Vec<String>,
    /// The whole paragraph as plain text.
    pub text: String,
    /// The part of the paragraph that best shows the match.
    pub snippet: String,
    /// Matched words in `snippet`, as `[start, end)` offsets in Unicode characters.
    pub highlights: Vec<(usize, usize)>,
    /// Paragraphs before the hit in the same document, nearest last.
    pub before: Vec<String>,
    /// Paragraphs after the hit in the same document, nearest first.
    pub after: Vec<String>,
    /// Other matching paragraphs with the same normalised text (copies of the passage in other
    /// exports), merged into this hit: at most [`MAX_COPIES_LISTED`] of them.
    pub also_in: Vec<Location>,
    /// How many such copies there are in all.
    pub also_in_total: usize,
}

/// Some of the copies of a paragraph, and how many there are.
#[derive(Default)]
pub(crate) struct Copies {
    pub(crate) listed: Vec<Location>,
    pub(crate) total: usize,
}

/// A matching paragraph with what ranking and grouping need, read from the fast fields.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    /// Relevance, with the length and position priors applied.
    score: Score,
    /// The document's date as `YYYYMMDD`.
    day: Option<u64>,
    doc_hash: u64,
    paragraph: u64,
    text_hash: u64,
    address: DocAddress,
}

impl SearchIndex {
    /// Runs a query.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let plan = query::plan(self, &searcher, &request.query)?;
        let mut results = self.results(
            &searcher,
            &*plan.matching,
            plan.first_stage.as_ref(),
            plan.ranking.as_ref(),
            &*plan.matching,
            request,
        )?;
        results.corrected_query =
            self.corrected_query(&request.query, &plan.corrections, &results.hits)?;
        results.notices = plan.notices;
        Ok(results)
    }

    /// Paragraphs of other documents most like the one whose reference is `request.query`
    /// (tantivy's more-like-this query over the paragraph's words), with the request's filters,
    /// order and paging. Copies of the paragraph itself are left out.
    pub fn similar(&self, request: &SearchRequest) -> Result<SearchResults> {
        let reference: PassageRef = request.query.parse()?;
        let searcher = self.reader.searcher();
        let address = self.find_paragraph(&searcher, &reference)?;
        let stored = self.stored(&searcher, address)?;
        let words = self.content_words(&stored.text);
        let like = tantivy::query::MoreLikeThisQuery::builder()
            .with_min_doc_frequency(1)
            .with_min_term_frequency(1)
            .with_max_query_terms(25)
            .with_min_word_length(2)
            .with_document_fields(vec![(
                self.fields.text,
                vec![tantivy::schema::OwnedValue::Str(words.join(" "))],
            )]);
        let clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, Box::new(like)),
            (
                Occur::MustNot,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.doc, &stored.document.key),
                    IndexRecordOption::Basic,
                )),
            ),
            (
                Occur::MustNot,
                Box::new(self.same_text(crate::schema::text_hash(&stored.text))),
            ),
        ];
        let query = BooleanQuery::new(clauses);
        // Snippets show where the paragraph's own words are.
        let mut analyzer = self.index.tokenizer_for_field(self.fields.text)?;
        let mut terms = Vec::new();
        for word in &words {
            let mut stream = analyzer.token_stream(word);
            while let Some(token) = stream.next() {
                terms.push((
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.text, &token.text),
                        IndexRecordOption::WithFreqs,
                    )) as Box<dyn Query>,
                ));
            }
        }
        let highlight = BooleanQuery::new(terms);
        self.results(&searcher, &query, None, None, &highlight, request)
    }

    /// The words of `text` that are not stop words.
    fn content_words(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.stop_words.clone();
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while let Some(token) = stream.next() {
            words.push(token.text.clone());
        }
        words
    }

    /// The filter clauses of a request: author, topic, dates.
    fn filters(&self, request: &SearchRequest) -> Result<Vec<(Occur, Box<dyn Query>)>> {
        let mut filters: Vec<Box<dyn Query>> = Vec::new();
        if let Some(author) = &request.author {
            let canonical = self.phrase_filter(self.fields.author, author, "--author")?;
            let alias = self.phrase_filter(self.fields.author_aliases, author, "--author")?;
            filters.push(Box::new(ParagraphsOf::new(
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, canonical),
                    (Occur::Should, alias),
                ])),
                Arc::clone(&self.columns),
            )));
        }
        if let Some(topic) = &request.topic {
            let topic = self.phrase_filter(self.fields.topic, topic, "--topic")?;
            // Every paragraph of a document holds its topic: a phrase's positions are checked at
            // the document's first paragraph only (a single word needs none).
            filters.push(if topic.is::<PhraseQuery>() {
                Box::new(ParagraphsOf::new(topic, Arc::clone(&self.columns)))
            } else {
                topic
            });
        }
        if request.since.is_some() || request.until.is_some() {
            let bound = |date: Option<IsoDate>| match date {
                Some(date) => Bound::Included(Term::from_field_u64(self.fields.day, date.number())),
                None => Bound::Unbounded,
            };
            let (since, until) = (bound(request.since), bound(request.until));
            // An unbounded side needs the field too: it comes from the other bound's term.
            let (since, until) = match (since, until) {
                (Bound::Unbounded, until) => (
                    Bound::Included(Term::from_field_u64(self.fields.day, 0)),
                    until,
                ),
                (since, Bound::Unbounded) => (
                    since,
                    Bound::Included(Term::from_field_u64(self.fields.day, u64::MAX)),
                ),
                bounds => bounds,
            };
            filters.push(Box::new(RangeQuery::new(since, until)));
        }
        Ok(filters
            .into_iter()
            .map(|filter| {
                let filter: Box<dyn Query> = Box::new(ConstScoreQuery::new(filter, 0.0));
                (Occur::Must, filter)
            })
            .collect())
    }

    /// The page of hits of `matching` within the request's filters that `request` asks for, with
    /// counts and facets. The hits are ranked first by `matching`'s score, or by `first_stage`'s
    /// (see [`query::Plan::first_stage`]) when there are no filters; with `rescore`, the best of
    /// them are ranked again by `rescore`'s.
    fn results(
        &self,
        searcher: &Searcher,
        matching: &dyn Query,
        first_stage: Option<&FirstStage>,
        rescore: Option<&Ranking>,
        highlight: &dyn Query,
        request: &SearchRequest,
    ) -> Result<SearchResults> {
        let filters = self.filters(request)?;
        let query = filtered(matching.box_clone(), &filters);
        let query = &*query;
        // With filters, the matching query's intersection with them is the cheaper first stage:
        // the union of terms would bring up paragraphs the filters then throw away.
        let first_stage = first_stage.filter(|_| filters.is_empty());
        let (total_hits, total_hits_exact, page) =
            self.ranked_page(searcher, query, first_stage, rescore, request)?;
        let mut also_in = if request.dedup && !page.is_empty() {
            self.copies(searcher, &filters, &page)?
        } else {
            HashMap::new()
        };

        let mut snippets = SnippetGenerator::create(searcher, highlight, self.fields.text)?;
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let hits = page
            .into_iter()
            .enumerate()
            .map(|(i, candidate)| {
                let stored = self.stored(searcher, candidate.address)?;
                let (snippet, highlights) = snippet_of(&snippets, &stored.text);
                let (before, after) = self.context(
                    searcher,
                    candidate.address,
                    stored.paragraph,
                    request.context,
                )?;
                let copies = also_in.remove(&candidate.text_hash).unwrap_or_default();
                Ok(Hit {
                    rank: request.offset + i + 1,
                    score: candidate.score,
                    reference: stored.reference(),
                    author: stored.document.authors.join(", "),
                    authors: stored.document.authors,
                    topic: stored.document.topic,
                    path: stored.document.path,
                    id: stored.document.id,
                    paragraph: stored.paragraph,
                    section: stored.section,
                    date: stored.document.date,
                    url: stored.document.url,
                    tags: stored.document.tags,
                    text: stored.text,
                    snippet,
                    highlights,
                    before,
                    after,
                    also_in: copies.listed,
                    also_in_total: copies.total,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let facets = if request.facets {
            Some(Facets::of(searcher, query)?)
        } else {
            None
        };
        let timeline = if request.timeline {
            Some(Timeline::of(searcher, query)?)
        } else {
            None
        };
        Ok(SearchResults {
            query: request.query.clone(),
            corrected_query: None,
            notices: Vec::new(),
            total_hits,
            total_hits_exact,
            offset: request.offset,
            hits,
            facets,
            timeline,
        })
    }

    /// The number of hits (counted up to [`MAX_COUNTED_HITS`]), whether that is all of them, and
    /// the requested page of them, in the request's order. Under
    /// relevance, at most `per_document` paragraphs of one document come ahead of the paragraphs
    /// of other documents. With `dedup`, paragraphs whose text is a copy of a paragraph ranked
    /// higher are left out (they are listed with it), before the cap and the paging: every page
    /// shows each text once, and only the copy shown counts towards its document's cap.
    fn ranked_page(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        first_stage: Option<&FirstStage>,
        rescore: Option<&Ranking>,
        request: &SearchRequest,
    ) -> Result<(usize, bool, Vec<Candidate>)> {
        let texts = request.dedup.then_some(&*self.columns);
        let (total, exact) = count_matches(searcher, query, texts, MAX_COUNTED_HITS)?;
        if request.limit == 0 {
            return Ok((total, exact, Vec::new()));
        }
        let wanted = request.offset.saturating_add(request.limit);
        let capped = request.per_document > 0 && request.sort == Sort::Relevance;
        // The length prior, the bonuses of `rescore` and the per-document cap reorder the best
        // candidates by the first score: fetch well beyond the page (and rescore at least
        // RESCORE_DEPTH), then fetch more only if the page is still not full.
        let mut fetch = wanted.saturating_mul(3).saturating_add(30);
        loop {
            // The hits, and whether their scores have the priors in them already.
            let (exhausted, top, with_priors) = match request.sort {
                Sort::Relevance => {
                    let depth = match rescore {
                        Some(_) => fetch.max(RESCORE_DEPTH),
                        None => fetch,
                    };
                    let (scoring, required) = match first_stage {
                        Some(stage) => (&*stage.scoring, &stage.required[..]),
                        None => (query, &[][..]),
                    };
                    let top = best_paragraphs(searcher, scoring, required, depth, texts)?;
                    (top.len() < depth, top, false)
                }
                Sort::Newest | Sort::Oldest => {
                    let sort = request.sort;
                    // Date first, then the score with its priors.
                    let top_docs =
                        TopDocs::with_limit(fetch).tweak_score(move |segment: &SegmentReader| {
                            let columns = PriorColumns::open(segment);
                            move |doc, score: Score| {
                                let day = columns.day(doc);
                                let rank = match (sort, day) {
                                    (_, None) => 0,
                                    (Sort::Oldest, Some(day)) => u64::MAX - day,
                                    (_, Some(day)) => day,
                                };
                                (rank, score * columns.prior(doc))
                            }
                        });
                    let top = searcher.search(query, &top_docs)?;
                    let exhausted = top.len() < fetch;
                    let top = top
                        .into_iter()
                        .map(|((_, score), address)| (score, address))
                        .collect();
                    (exhausted, top, true)
                }
            };
            // Under every order, the best match first by the whole ranking (within a day, under
            // the date orders).
            let (top, with_priors) = match rescore {
                Some(ranking) => (ranking.rescore(searcher, top)?, false),
                None => (top, with_priors),
            };
            let mut candidates = self.candidates(searcher, top, !with_priors)?;
            candidates.sort_by(|a, b| compare(request.sort, a, b));
            let mut ahead = Vec::new();
            let mut behind = Vec::new();
            let mut per_document: HashMap<u64, usize> = HashMap::new();
            let mut texts = HashSet::new();
            for candidate in candidates {
                if request.dedup && !texts.insert(candidate.text_hash) {
                    continue;
                }
                let seen = per_document.entry(candidate.doc_hash).or_default();
                *seen += 1;
                if !capped || *seen <= request.per_document {
                    ahead.push(candidate);
                } else {
                    behind.push(candidate);
                }
            }
            if ahead.len() >= wanted || exhausted {
                ahead.extend(behind);
                let page = ahead.into_iter().skip(request.offset).take(request.limit);
                return Ok((total, exact, page.collect()));
            }
            fetch = fetch.saturating_mul(4);
        }
    }

    /// Each hit with its document's hash, its paragraph number, its text hash and its date, read
    /// from the fast fields; with `apply_prior`, its score scaled by the length and position
    /// priors.
    fn candidates(
        &self,
        searcher: &Searcher,
        hits: Vec<(Score, DocAddress)>,
        apply_prior: bool,
    ) -> Result<Vec<Candidate>> {
        hits.into_iter()
            .map(|(score, address)| {
                let columns = self.columns.get(searcher, address.segment_ord)?;
                let doc = address.doc_id;
                let paragraph = columns.prior.paragraph.first(doc);
                let prior = if apply_prior {
                    columns.prior.prior(doc)
                } else {
                    1.0
                };
                Ok(Candidate {
                    score: score * prior,
                    day: columns.prior.day(doc),
                    doc_hash: paragraph
                        .and_then(|number| first_paragraph(doc, number))
                        .and_then(|first| columns.doc_hash.first(first))
                        .unwrap_or_default(),
                    paragraph: paragraph.unwrap_or_default(),
                    text_hash: columns.text_hash.first(doc).unwrap_or_default(),
                    address,
                })
            })
            .collect()
    }

    /// For each text of the page, the other paragraphs with that text that pass `filters` (a
    /// paragraph with the same words matches the same words of the query).
    fn copies(
        &self,
        searcher: &Searcher,
        filters: &[(Occur, Box<dyn Query>)],
        page: &[Candidate],
    ) -> Result<HashMap<u64, Copies>> {
        let on_page: HashSet<DocAddress> = page.iter().map(|candidate| candidate.address).collect();
        let texts: HashSet<u64> = page.iter().map(|candidate| candidate.text_hash).collect();
        texts
            .into_iter()
            .map(|text_hash| {
                let copies = self.copies_of(searcher, text_hash, filters, &on_page)?;
                Ok((text_hash, copies))
            })
            .collect()
    }

    /// The paragraphs whose text hashes to `text_hash`.
    fn same_text(&self, text_hash: u64) -> SameText {
        SameText::new(
            self.fields.text_bucket,
            text_hash,
            Arc::clone(&self.columns),
        )
    }

    /// The paragraphs whose text hashes to `text_hash` and that pass `filters`, but for those in
    /// `except`: the first [`MAX_COPIES_LISTED`] in the index, in reference order, and how many
    /// there are in all. (A text copied a hundred times would otherwise cost a hundred reads of
    /// the store.)
    pub(crate) fn copies_of(
        &self,
        searcher: &Searcher,
        text_hash: u64,
        filters: &[(Occur, Box<dyn Query>)],
        except: &HashSet<DocAddress>,
    ) -> Result<Copies> {
        let same_text = filtered(Box::new(self.same_text(text_hash)), filters);
        let mut addresses: Vec<DocAddress> = searcher
            .search(&*same_text, &DocSetCollector)?
            .into_iter()
            .filter(|address| !except.contains(address))
            .collect();
        addresses.sort();
        let total = addresses.len();
        let mut listed = addresses
            .into_iter()
            .take(MAX_COPIES_LISTED)
            .map(|address| self.document_of(searcher, address))
            .collect::<Result<Vec<_>>>()?;
        listed.sort_by(|(a, a_number), (b, b_number)| (&a.key, a_number).cmp(&(&b.key, b_number)));
        Ok(Copies {
            listed: listed
                .into_iter()
                .map(|(document, number)| location(document, number))
                .collect(),
            total,
        })
    }

    /// The address of the paragraph a reference names.
    pub(crate) fn find_paragraph(
        &self,
        searcher: &Searcher,
        reference: &PassageRef,
    ) -> Result<DocAddress> {
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.doc, &reference.doc),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>,
            ),
            (
                Occur::Must,
                equal_to(self.fields.paragraph, reference.paragraph),
            ),
        ]);
        let found = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        found
            .first()
            .map(|(_, address)| *address)
            .ok_or_else(|| Error::PassageNotFound(reference.to_string()))
    }

    /// The query as typed, with corrected words replaced by the spelling found in the hits.
    fn corrected_query(
        &self,
        query: &str,
        corrections: &[(String, String)],
        hits: &[Hit],
    ) -> Result<Option<String>> {
        if corrections.is_empty() {
            return Ok(None);
        }
        let mut analyzer = self.index.tokenizer_for_field(self.fields.text)?;
        let mut corrected = query.to_string();
        for (typed, stem) in corrections {
            let surface = hits
                .iter()
                .flat_map(|hit| [hit.text.as_str(), hit.topic.as_str()])
                .find_map(|text| {
                    let mut stream = analyzer.token_stream(text);
                    while let Some(token) = stream.next() {
                        if token.text == *stem {
                            return Some(text[token.offset_from..token.offset_to].to_lowercase());
                        }
                    }
                    None
                })
                .unwrap_or_else(|| stem.clone());
            corrected = corrected.replacen(typed.as_str(), &surface, 1);
        }
        Ok(Some(corrected))
    }

    /// A query matching documents whose `field` contains the words of `value` in order.
    fn phrase_filter(&self, field: Field, value: &str, flag: &str) -> Result<Box<dyn Query>> {
        let mut analyzer = self.index.tokenizer_for_field(field)?;
        let mut stream = analyzer.token_stream(value);
        let mut terms = Vec::new();
        while let Some(token) = stream.next() {
            terms.push((token.position, Term::from_field_text(field, &token.text)));
        }
        match terms.len() {
            0 => Err(Error::QueryParse(format!("{flag} needs at least one word"))),
            1 => Ok(Box::new(TermQuery::new(
                terms.remove(0).1,
                IndexRecordOption::Basic,
            ))),
            _ => Ok(Box::new(PhraseQuery::new_with_offset(terms))),
        }
    }

    /// The texts of up to `context` paragraphs on each side of the paragraph at `address` (number
    /// `number` of its document), in reading order. The indexer adds a document's paragraphs
    /// together and in order, so they sit side by side in one segment: the context is read from
    /// the neighbouring addresses, up to the first that holds another document (whose number
    /// does not follow on).
    pub(crate) fn context(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        number: u64,
        context: usize,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let segment = searcher.segment_reader(address.segment_ord);
        let numbers = self.columns.paragraph(searcher, address.segment_ord)?;
        // The text of the paragraph stored `offset` places from the hit, if it is paragraph
        // `number + offset` of the same document (its column says so before the store is read).
        let neighbour = |offset: i64| -> Result<Option<String>> {
            let Some(doc_id) = address
                .doc_id
                .checked_add_signed(offset as i32)
                .filter(|doc_id| *doc_id < segment.max_doc() && !segment.is_deleted(*doc_id))
                .filter(|doc_id| numbers.first(*doc_id) == number.checked_add_signed(offset))
            else {
                return Ok(None);
            };
            let mut stored: StoredValues =
                searcher.doc(DocAddress::new(address.segment_ord, doc_id))?;
            Ok(stored.take_text(self.fields.text))
        };
        // Up to `context` paragraphs on one side (`step` -1 or 1), nearest first.
        let side = |step: i64| -> Result<Vec<String>> {
            let mut texts = Vec::new();
            for offset in 1..=context as i64 {
                match neighbour(step * offset)? {
                    Some(text) => texts.push(text),
                    None => break,
                }
            }
            Ok(texts)
        };
        let mut before = side(-1)?;
        before.reverse();
        Ok((before, side(1)?))
    }
}

/// The values of a paragraph's stored fields (text, section, and on a document's first paragraph
/// its `document` fields), read from the store as they are. tantivy's own document would first
/// copy each value into an arena of its own, from which it would be copied out again: that cost
/// a warm query more than the read of the store block itself.
struct StoredValues(Vec<(Field, StoredValue)>);

enum StoredValue {
    Text(String),
    Bytes(Vec<u8>),
}

impl StoredValues {
    /// The first text of `field`, moved out.
    fn take_text(&mut self, field: Field) -> Option<String> {
        self.0.iter_mut().find_map(|(f, value)| match value {
            StoredValue::Text(text) if *f == field => Some(std::mem::take(text)),
            _ => None,
        })
    }

    /// The first bytes of `field`.
    fn bytes(&self, field: Field) -> Option<&[u8]> {
        self.0.iter().find_map(|(f, value)| match value {
            StoredValue::Bytes(bytes) if *f == field => Some(bytes.as_slice()),
            _ => None,
        })
    }
}

impl DocumentDeserialize for StoredValues {
    fn deserialize<'de, D>(mut deserializer: D) -> std::result::Result<Self, DeserializeError>
    where
        D: DocumentDeserializer<'de>,
    {
        let mut values = Vec::with_capacity(deserializer.size_hint());
        while let Some(value) = deserializer.next_field()? {
            values.push(value);
        }
        Ok(StoredValues(values))
    }
}

impl ValueDeserialize for StoredValue {
    fn deserialize<'de, D>(deserializer: D) -> std::result::Result<Self, DeserializeError>
    where
        D: ValueDeserializer<'de>,
    {
        // The schema stores only texts and bytes; the visitor's defaults refuse any other value.
        struct Visitor;
        impl ValueVisitor for Visitor {
            type Value = StoredValue;

            fn visit_string(
                &self,
                text: String,
            ) -> std::result::Result<StoredValue, DeserializeError> {
                Ok(StoredValue::Text(text))
            }

            fn visit_bytes(
                &self,
                bytes: Vec<u8>,
            ) -> std::result::Result<StoredValue, DeserializeError> {
                Ok(StoredValue::Bytes(bytes))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The stored fields of one paragraph, with those of its document.
pub(crate) struct Stored {
    pub(crate) document: DocumentFields,
    pub(crate) paragraph: u64,
    pub(crate) text: String,
    pub(crate) section: Option<String>,
}

impl SearchIndex {
    /// The stored fields of the paragraph at `address`, and of its document.
    pub(crate) fn stored(&self, searcher: &Searcher, address: DocAddress) -> Result<Stored> {
        let mut doc: StoredValues = searcher.doc(address)?;
        let paragraph = self
            .columns
            .paragraph(searcher, address.segment_ord)?
            .first(address.doc_id)
            .unwrap_or_default();
        Ok(Stored {
            document: self.document_fields(searcher, address, paragraph, Some(&doc))?,
            paragraph,
            text: doc.take_text(self.fields.text).unwrap_or_default(),
            section: doc.take_text(self.fields.section),
        })
    }

    /// The fields of the document whose paragraph `number` is at `address`, stored on the
    /// document's first paragraph (`read`, when that is the one at `address` and it is read
    /// already).
    fn document_fields(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        number: u64,
        read: Option<&StoredValues>,
    ) -> Result<DocumentFields> {
        let first = first_paragraph(address.doc_id, number)
            .map(|doc_id| DocAddress::new(address.segment_ord, doc_id));
        let fetched: StoredValues;
        let doc = match (first, read) {
            (Some(first), Some(read)) if first == address => Some(read),
            (Some(first), _) => {
                fetched = searcher.doc(first)?;
                Some(&fetched)
            }
            (None, _) => None,
        };
        doc.and_then(|doc| doc.bytes(self.fields.document))
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .ok_or_else(|| Error::Corrupt {
                path: self.dir().to_path_buf(),
                message: format!(
                    "no readable fields for the document of paragraph {number} (segment {}, \
                     address {})",
                    address.segment_ord, address.doc_id
                ),
            })
    }

    /// The document of the paragraph at `address` and the paragraph's number, without the
    /// paragraph's own stored fields: the number comes from its column, the rest from one read of
    /// the store at the document's first paragraph.
    fn document_of(
        &self,
        searcher: &Searcher,
        address: DocAddress,
    ) -> Result<(DocumentFields, u64)> {
        let number = self
            .columns
            .paragraph(searcher, address.segment_ord)?
            .first(address.doc_id)
            .unwrap_or_default();
        let document = self.document_fields(searcher, address, number, None)?;
        Ok((document, number))
    }
}

impl Stored {
    /// The paragraph's reference, `DOC#N`.
    pub(crate) fn reference(&self) -> String {
        reference(&self.document, self.paragraph)
    }
}

/// The reference of paragraph `number` of `document`, `DOC#N`.
fn reference(document: &DocumentFields, number: u64) -> String {
    PassageRef {
        doc: document.key.clone(),
        paragraph: number,
    }
    .to_string()
}

/// Where paragraph `number` of `document` is, for lists of copies.
fn location(document: DocumentFields, number: u64) -> Location {
    Location {
        reference: reference(&document, number),
        author: document.authors.join(", "),
        path: document.path,
        id: document.id,
        paragraph: number,
        topic: document.topic,
        date: document.date,
        url: document.url,
    }
}

/// Paragraphs whose value of the fast field `field` is `value` (a range query on a fast field reads
/// its column).
fn equal_to(field: Field, value: u64) -> Box<dyn Query> {
    let term = Term::from_field_u64(field, value);
    Box::new(RangeQuery::new(
        Bound::Included(term.clone()),
        Bound::Included(term),
    ))
}

/// `query` within `filters` (clauses of a boolean query).
fn filtered(query: Box<dyn Query>, filters: &[(Occur, Box<dyn Query>)]) -> Box<dyn Query> {
    if filters.is_empty() {
        return query;
    }
    let mut clauses = vec![(Occur::Must, query)];
    clauses.extend(
        filters
            .iter()
            .map(|(occur, filter)| (*occur, filter.box_clone())),
    );
    Box::new(BooleanQuery::new(clauses))
}

/// The order of two candidates under `sort`. Equal scores (paragraphs matched only through their
/// topic, say) come in document order, whatever order the indexing threads wrote them in.
fn compare(sort: Sort, a: &Candidate, b: &Candidate) -> Ordering {
    let by_day = match sort {
        Sort::Relevance => Ordering::Equal,
        // Undated last under both date orders.
        Sort::Newest => b.day.cmp(&a.day),
        Sort::Oldest => match (a.day, b.day) {
            (Some(a), Some(b)) => a.cmp(&b),
            (a, b) => b.is_some().cmp(&a.is_some()),
        },
    };
    by_day
        .then_with(|| b.score.total_cmp(&a.score))
        .then_with(|| (a.doc_hash, a.paragraph).cmp(&(b.doc_hash, b.paragraph)))
}

/// The fast fields the priors and the date orders read.
pub(crate) struct PriorColumns {
    paragraph: Column<u64>,
    words: Option<Column<u64>>,
    day: Option<Column<u64>>,
}

impl PriorColumns {
    /// Columns missing from a segment read as absent values.
    fn open(segment: &SegmentReader) -> PriorColumns {
        let fast = segment.fast_fields();
        let column = |name| fast.u64(name).ok();
        PriorColumns {
            paragraph: column(names::PARAGRAPH)
                .unwrap_or_else(|| Column::build_empty_column(segment.max_doc())),
            words: column(names::WORDS),
            day: column(names::DAY),
        }
    }

    /// The factor by which the paragraph's score is scaled for its length and place.
    fn prior(&self, doc: tantivy::DocId) -> f32 {
        let words = self
            .words
            .as_ref()
            .and_then(|words| words.first(doc))
            .unwrap_or(u64::MAX);
        let number = self.paragraph.first(doc).unwrap_or_default();
        length_prior(words) * position_prior(number)
    }

    fn day(&self, doc: tantivy::DocId) -> Option<u64> {
        self.day.as_ref().and_then(|day| day.first(doc))
    }
}

/// The first paragraph of the document that paragraph `doc`, its number `number`, is part of. A
/// document's paragraphs sit side by side and in order, so the first one is `doc` less `number`
/// plus one. Fields of the document as a whole (`doc_hash` and the facets) are on its first
/// paragraph only.
pub(crate) fn first_paragraph(doc: tantivy::DocId, number: u64) -> Option<tantivy::DocId> {
    let before = number.checked_sub(1)?;
    doc.checked_sub(tantivy::DocId::try_from(before).ok()?)
}

/// The fast fields a candidate is read from.
pub(crate) struct CandidateColumns {
    prior: PriorColumns,
    doc_hash: Column<u64>,
    text_hash: Column<u64>,
}

impl CandidateColumns {
    fn open(segment: &SegmentReader) -> Result<CandidateColumns> {
        let fast = segment.fast_fields();
        Ok(CandidateColumns {
            prior: PriorColumns::open(segment),
            doc_hash: fast.u64(names::DOC_HASH)?,
            text_hash: fast.u64(names::TEXT_HASH)?,
        })
    }
}

/// The [`CandidateColumns`] of each segment, opened once: opening a column reads its header (a
/// blockwise-linear one decodes a table of blocks), which costs more than the reads of a query.
#[derive(Default)]
pub(crate) struct ColumnCache(Mutex<HashMap<SegmentId, Arc<CandidateColumns>>>);

impl ColumnCache {
    /// The `paragraph` column of a segment.
    pub(crate) fn paragraph(
        &self,
        searcher: &Searcher,
        segment_ord: SegmentOrdinal,
    ) -> Result<Column<u64>> {
        Ok(self.get(searcher, segment_ord)?.prior.paragraph.clone())
    }

    /// The `text_hash` column of a segment.
    pub(crate) fn text_hash(
        &self,
        searcher: &Searcher,
        segment_ord: SegmentOrdinal,
    ) -> Result<Column<u64>> {
        Ok(self.get(searcher, segment_ord)?.text_hash.clone())
    }

    /// The `text_hash` column of `segment`.
    pub(crate) fn text_hashes(&self, segment: &SegmentReader) -> Result<Column<u64>> {
        Ok(self.of_segment(segment, None)?.text_hash.clone())
    }

    /// The `paragraph` and `doc_hash` columns of `segment` (the latter holds a value on first
    /// paragraphs only).
    pub(crate) fn paragraphs(&self, segment: &SegmentReader) -> Result<(Column<u64>, Column<u64>)> {
        let columns = self.of_segment(segment, None)?;
        Ok((columns.prior.paragraph.clone(), columns.doc_hash.clone()))
    }

    fn get(
        &self,
        searcher: &Searcher,
        segment_ord: SegmentOrdinal,
    ) -> Result<Arc<CandidateColumns>> {
        self.of_segment(searcher.segment_reader(segment_ord), Some(searcher))
    }

    /// The columns of `segment`; opening them, it forgets the segments that `searcher`, a new
    /// generation of the index, no longer has.
    fn of_segment(
        &self,
        segment: &SegmentReader,
        searcher: Option<&Searcher>,
    ) -> Result<Arc<CandidateColumns>> {
        let id = segment.segment_id();
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(columns) = cache.get(&id) {
            return Ok(Arc::clone(columns));
        }
        if let Some(searcher) = searcher {
            let live: HashSet<SegmentId> = searcher
                .segment_readers()
                .iter()
                .map(SegmentReader::segment_id)
                .collect();
            cache.retain(|id, _| live.contains(id));
        }
        let columns = Arc::new(CandidateColumns::open(segment)?);
        cache.insert(id, Arc::clone(&columns));
        Ok(columns)
    }
}

/// The snippet of `text` with its highlights as character offsets; `…` marks where the
/// paragraph goes on. Falls back to the paragraph's start when no word of it matched.
fn snippet_of(generator: &SnippetGenerator, text: &str) -> (String, Vec<(usize, usize)>) {
    let snippet = generator.snippet(text);
    if snippet.is_empty() {
        return (leading_text(text, SNIPPET_CHARS), Vec::new());
    }
    let fragment = snippet.fragment();
    let range = snippet.fragment_range();
    // Keep leftover punctuation (a closing period, an opening quote); mark cut words with `…`.
    let no_words = |part: &str| !part.chars().any(char::is_alphanumeric);
    let before = &text[..range.start];
    let after = &text[range.end..];
    let prefix = if no_words(before) {
        before.trim_start()
    } else {
        "…"
    };
    let suffix = if no_words(after) {
        after.trim_end()
    } else {
        "…"
    };
    let shift = prefix.chars().count();
    let chars_to = |byte: usize| shift + fragment[..byte].chars().count();
    let highlights = snippet
        .highlighted()
        .iter()
        .map(|r| (chars_to(r.start), chars_to(r.end)))
        .collect();
    (format!("{prefix}{fragment}{suffix}"), highlights)
}

/// Paragraphs shorter than this many words (headings in disguise, captions, list labels) rank
/// lower than BM25 alone would put them...
const FULL_WEIGHT_WORDS: u64 = 20;
/// ... by this power of their length's share of it.
const SHORT_PENALTY_POWER: f32 = 0.5;

/// The factor by which a paragraph's score is scaled for its length.
fn length_prior(words: u64) -> f32 {
    if words >= FULL_WEIGHT_WORDS {
        1.0
    } else {
        (words.max(1) as f32 / FULL_WEIGHT_WORDS as f32).powf(SHORT_PENALTY_POWER)
    }
}

/// The opening paragraphs of a document usually say what it is about (an abstract, a summary, a
/// thesis); they rank this much higher.
const FIRST_PARAGRAPH_PRIOR: f32 = 1.3;
const EARLY_PARAGRAPH_PRIOR: f32 = 1.1;
const EARLY_PARAGRAPHS: u64 = 3;

/// The factor by which a paragraph's score is scaled for its place in its document.
fn position_prior(number: u64) -> f32 {
    match number {
        1 => FIRST_PARAGRAPH_PRIOR,
        n if n <= EARLY_PARAGRAPHS => EARLY_PARAGRAPH_PRIOR,
        _ => 1.0,
    }
}

/// The start of `text`, cut at a word boundary to at most `max_chars` characters.
fn leading_text(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(max_chars).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > 0 => &cut[..space],
        _ => &cut,
    };
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_text_cuts_at_a_word() {
        assert_eq!(leading_text("short", 10), "short");
        assert_eq!(leading_text("one two three four", 10), "one two…");
    }
}
