//! Answering queries: ranked paragraphs with snippets and the paragraphs around them.

use std::ops::Bound;

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, QueryParser, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use crate::error::{Error, Result};
use crate::index::SearchIndex;
use crate::schema::Fields;

/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 240;
/// A match in the topic counts this much more than one in the paragraph.
const TOPIC_BOOST: f32 = 2.0;
/// A match in the section heading counts this much more than one in the paragraph.
const SECTION_BOOST: f32 = 1.5;
/// Extra weight, for a query of plain words, of paragraphs that match every word...
const ALL_TERMS_BOOST: f32 = 1.0;
/// ... and of paragraphs where they stand close together, in order.
const PROXIMITY_BOOST: f32 = 2.0;
/// How many words may stand between the query's words for the proximity bonus.
const PROXIMITY_SLOP: u32 = 3;

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
}

impl SearchRequest {
    /// A request with the defaults: 10 hits, 1 paragraph of context on each side.
    pub fn new(query: impl Into<String>) -> SearchRequest {
        SearchRequest {
            query: query.into(),
            limit: 10,
            offset: 0,
            author: None,
            topic: None,
            context: 1,
        }
    }
}

/// The answer to a [`SearchRequest`].
#[derive(Clone, Debug, Serialize)]
pub struct SearchResults {
    pub query: String,
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
        let user_query = self.parse_query(&request.query)?;
        let mut clauses = vec![(
            Occur::Must,
            self.ranking_query(&request.query, &user_query)?,
        )];
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

        let (total_hits, top) = if request.limit == 0 {
            (searcher.search(&query, &Count)?, Vec::new())
        } else {
            let top_docs = TopDocs::with_limit(request.limit)
                .and_offset(request.offset)
                .order_by_score();
            searcher.search(&query, &(Count, top_docs))?
        };

        let mut snippets = SnippetGenerator::create(&searcher, &*user_query, self.fields.text)?;
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let hits = top
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
        // Equal scores (paragraphs matched only through their topic, say) come in document order,
        // whatever the order the indexing threads wrote them in.
        let mut hits = hits;
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.path.cmp(&b.path))
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.paragraph.cmp(&b.paragraph))
        });
        for (i, hit) in hits.iter_mut().enumerate() {
            hit.rank = request.offset + i + 1;
        }
        Ok(SearchResults {
            query: request.query.clone(),
            total_hits,
            offset: request.offset,
            hits,
        })
    }

    fn query_parser(&self) -> QueryParser {
        let fields = &self.fields;
        let mut parser =
            QueryParser::for_index(&self.index, vec![fields.text, fields.topic, fields.section]);
        parser.set_field_boost(fields.topic, TOPIC_BOOST);
        parser.set_field_boost(fields.section, SECTION_BOOST);
        parser
    }

    fn parse_query(&self, query: &str) -> Result<Box<dyn Query>> {
        if query.trim().is_empty() {
            return Err(Error::QueryParse("the query is empty".into()));
        }
        self.query_parser()
            .parse_query(query)
            .map_err(|err| Error::QueryParse(err.to_string()))
    }

    /// The query that ranks: for plain words, BM25 over the words plus bonuses for paragraphs that
    /// hold all of them and hold them close together; other queries rank as written.
    fn ranking_query(&self, query: &str, parsed: &dyn Query) -> Result<Box<dyn Query>> {
        let words = query.split_whitespace().count();
        if words < 2 || !is_plain(query) {
            return Ok(parsed.box_clone());
        }
        let mut all_terms = self.query_parser();
        all_terms.set_conjunction_by_default();
        let parse = |parser: &QueryParser, text: &str| {
            parser
                .parse_query(text)
                .map_err(|err| Error::QueryParse(err.to_string()))
        };
        let all_terms = parse(&all_terms, query)?;
        let close = parse(
            &self.query_parser(),
            &format!("\"{query}\"~{PROXIMITY_SLOP}"),
        )?;
        Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Should, parsed.box_clone()),
            (
                Occur::Should,
                Box::new(BoostQuery::new(all_terms, ALL_TERMS_BOOST)),
            ),
            (
                Occur::Should,
                Box::new(BoostQuery::new(close, PROXIMITY_BOOST)),
            ),
        ])))
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

/// True for a query of plain words, without any query syntax.
fn is_plain(query: &str) -> bool {
    !query.contains(['"', '(', ')', ':', '^', '*', '~', '[', ']', '{', '}'])
        && query
            .split_whitespace()
            .all(|word| !word.starts_with(['+', '-']) && !matches!(word, "AND" | "OR" | "NOT"))
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
