//! Answering queries: ranked paragraphs with snippets and the paragraphs around them.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::ops::Bound;

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use crate::error::{Error, Result};
use crate::index::SearchIndex;
use crate::query;
use crate::schema::{names, Fields};

/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 240;
/// A query and how to present its hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRequest {
    /// Query syntax: words, "phrases", AND / OR / NOT, + / -, `author:` and `topic:` prefixes.
    pub query: String,
    /// Hits to return.
    pub limit: usize,
    /// Hits to skip, for paging.
    pub offset: usize,
    /// Only paragraphs by this author (a case-insensitive phrase match on the author field).
    pub author: Option<String>,
    /// Only paragraphs of documents whose topic contains this phrase.
    pub topic: Option<String>,
    /// Paragraphs of context to return on each side of a hit.
    pub context: usize,
    /// At most this many paragraphs of one document rank ahead of other documents' paragraphs
    /// (the rest follow them); 0 for no limit.
    pub per_document: usize,
}

impl SearchRequest {
    /// A request with the defaults: 10 hits, 1 paragraph of context on each side, at most 3
    /// paragraphs of one document ahead of the others.
    pub fn new(query: impl Into<String>) -> SearchRequest {
        SearchRequest {
            query: query.into(),
            limit: 10,
            offset: 0,
            author: None,
            topic: None,
            context: 1,
            per_document: 3,
        }
    }
}

/// The answer to a [`SearchRequest`].
#[derive(Clone, Debug, Serialize)]
pub struct SearchResults {
    pub query: String,
    /// The query with misspelled words replaced by the spellings searched instead.
    pub corrected_query: Option<String>,
    /// What the user should know about how the query was read (syntax that was ignored).
    pub notices: Vec<String>,
    /// All paragraphs that match, not only those returned.
    pub total_hits: usize,
    pub offset: usize,
    pub hits: Vec<Hit>,
}

/// One matching paragraph.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    /// Position in the whole ranking, starting at 1.
    pub rank: usize,
    pub score: f32,
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
}

impl SearchIndex {
    /// Runs a query.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let plan = query::plan(self, &searcher, &request.query)?;
        let mut clauses = vec![(Occur::Must, plan.ranking.box_clone())];
        for (field, value, flag) in [
            (self.fields.author, &request.author, "--author"),
            (self.fields.topic, &request.topic, "--topic"),
        ] {
            if let Some(value) = value {
                let filter = self.phrase_filter(field, value, flag)?;
                let filter: Box<dyn Query> = Box::new(ConstScoreQuery::new(filter, 0.0));
                clauses.push((Occur::Must, filter));
            }
        }
        let query = BooleanQuery::new(clauses);
        let (total_hits, page) = self.ranked_page(&searcher, &query, request)?;

        let mut snippets = SnippetGenerator::create(&searcher, &*plan.highlight, self.fields.text)?;
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let hits = page
            .into_iter()
            .enumerate()
            .map(|(i, (score, address))| {
                let doc: TantivyDocument = searcher.doc(address)?;
                let stored = Stored::new(&self.fields, &doc);
                let (snippet, highlights) = snippet_of(&snippets, &stored.text);
                let (before, after) =
                    self.context(&searcher, &stored.doc, stored.paragraph, request.context)?;
                Ok(Hit {
                    rank: request.offset + i + 1,
                    score,
                    author: stored.authors.join(", "),
                    authors: stored.authors,
                    topic: stored.topic,
                    path: stored.path,
                    id: stored.id,
                    paragraph: stored.paragraph,
                    section: stored.section,
                    date: stored.date,
                    url: stored.url,
                    tags: stored.tags,
                    text: stored.text,
                    snippet,
                    highlights,
                    before,
                    after,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let corrected_query = self.corrected_query(&request.query, &plan.corrections, &hits)?;
        Ok(SearchResults {
            query: request.query.clone(),
            corrected_query,
            notices: plan.notices,
            total_hits,
            offset: request.offset,
            hits,
        })
    }

    /// The number of matches and the requested page of them, best first, with at most
    /// `per_document` paragraphs of one document ahead of the paragraphs of other documents.
    fn ranked_page(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        request: &SearchRequest,
    ) -> Result<(usize, Vec<(f32, DocAddress)>)> {
        let wanted = request.offset.saturating_add(request.limit);
        if request.limit == 0 {
            return Ok((searcher.search(query, &Count)?, Vec::new()));
        }
        let capped = request.per_document > 0;
        // The length prior and the per-document cap reorder the best BM25 candidates; fetching
        // well beyond the page keeps tantivy's pruning of hopeless candidates.
        let mut fetch = wanted.saturating_mul(3).saturating_add(30);
        loop {
            let top_docs = TopDocs::with_limit(fetch).order_by_score();
            let (total, top) = searcher.search(query, &(Count, top_docs))?;
            let exhausted = top.len() < fetch;
            let mut candidates = self.with_keys(searcher, top)?;
            // Equal scores (paragraphs matched only through their topic, say) come in document
            // order, whatever order the indexing threads wrote them in.
            candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let mut ahead = Vec::new();
            let mut behind = Vec::new();
            let mut per_document: HashMap<u64, usize> = HashMap::new();
            for (score, (doc, _), address) in candidates {
                let seen = per_document.entry(doc).or_default();
                *seen += 1;
                if !capped || *seen <= request.per_document {
                    ahead.push((score, address));
                } else {
                    behind.push((score, address));
                }
            }
            if ahead.len() >= wanted || exhausted {
                ahead.extend(behind);
                let page = ahead.into_iter().skip(request.offset).take(request.limit);
                return Ok((total, page.collect()));
            }
            fetch = fetch.saturating_mul(4);
        }
    }

    /// Each hit with its score scaled by the length prior, and its document's hash and its
    /// paragraph number, read from the fast fields.
    #[allow(clippy::type_complexity)]
    fn with_keys(
        &self,
        searcher: &Searcher,
        hits: Vec<(f32, DocAddress)>,
    ) -> Result<Vec<(f32, (u64, u64), DocAddress)>> {
        let mut columns = HashMap::new();
        hits.into_iter()
            .map(|(score, address)| {
                let (keys, numbers, words) = match columns.entry(address.segment_ord) {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => {
                        let fast = searcher.segment_reader(address.segment_ord).fast_fields();
                        let keys = fast.u64(names::DOC_HASH)?;
                        let numbers = fast.u64(names::PARAGRAPH)?;
                        let words = fast.u64(names::WORDS)?;
                        entry.insert((keys, numbers, words))
                    }
                };
                let key = keys.first(address.doc_id).unwrap_or_default();
                let number = numbers.first(address.doc_id).unwrap_or_default();
                let length = words.first(address.doc_id).unwrap_or(u64::MAX);
                let prior = length_prior(length) * position_prior(number);
                Ok((score * prior, (key, number), address))
            })
            .collect()
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

    /// The texts of up to `context` paragraphs on each side of paragraph `number` of `doc`.
    fn context(
        &self,
        searcher: &Searcher,
        doc: &str,
        number: u64,
        context: usize,
    ) -> Result<(Vec<String>, Vec<String>)> {
        if context == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        let context = context as u64;
        let paragraph = |n| Term::from_field_u64(self.fields.paragraph, n);
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.doc, doc),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>,
            ),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(paragraph(number.saturating_sub(context))),
                    Bound::Included(paragraph(number.saturating_add(context))),
                )),
            ),
        ]);
        let limit = 2 * context as usize + 1;
        let found: Vec<(f32, DocAddress)> =
            searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut neighbours = found
            .into_iter()
            .map(|(_, address)| {
                let doc: TantivyDocument = searcher.doc(address)?;
                let stored = Stored::new(&self.fields, &doc);
                Ok((stored.paragraph, stored.text))
            })
            .collect::<Result<Vec<_>>>()?;
        neighbours.sort_by_key(|(n, _)| *n);
        let (before, after): (Vec<_>, Vec<_>) = neighbours
            .into_iter()
            .filter(|(n, _)| *n != number)
            .partition(|(n, _)| *n < number);
        Ok((
            before.into_iter().map(|(_, text)| text).collect(),
            after.into_iter().map(|(_, text)| text).collect(),
        ))
    }
}

/// The stored fields of one paragraph.
struct Stored {
    doc: String,
    path: String,
    id: Option<String>,
    paragraph: u64,
    text: String,
    topic: String,
    section: Option<String>,
    authors: Vec<String>,
    tags: Vec<String>,
    date: Option<String>,
    url: Option<String>,
}

impl Stored {
    fn new(fields: &Fields, doc: &TantivyDocument) -> Stored {
        let all = |field| -> Vec<String> {
            doc.get_all(field)
                .filter_map(|value| value.as_str().map(str::to_string))
                .collect()
        };
        let first = |field| all(field).into_iter().next();
        Stored {
            doc: first(fields.doc).unwrap_or_default(),
            path: first(fields.path).unwrap_or_default(),
            id: first(fields.id),
            paragraph: doc
                .get_first(fields.paragraph)
                .and_then(|value| value.as_u64())
                .unwrap_or_default(),
            text: first(fields.text).unwrap_or_default(),
            topic: first(fields.topic).unwrap_or_default(),
            section: first(fields.section),
            authors: all(fields.author),
            tags: all(fields.tags),
            date: first(fields.date),
            url: first(fields.url),
        }
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
