//! Turning what a person typed into the tantivy query that ranks paragraphs.
//!
//! Free text (words and "quoted phrases") gets our own ranking: BM25 over paragraph, topic and
//! section with stop words left out of the bag of words; bonuses for paragraphs holding every word
//! and for words standing close together; hyphenated and joined spellings find each other; and a
//! word the index does not know, or knows far less than a close spelling, is corrected. Queries
//! that use the operator syntax (AND, OR, NOT, +, -, field:) go to tantivy's query parser; when
//! that fails they are read as free text, with a notice.

use std::sync::Arc;

use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, QueryParser,
    QueryParserError, TermQuery,
};
use tantivy::query_grammar::{UserInputAst, UserInputLeaf};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, StopWordFilter, TextAnalyzer, Token};
use tantivy::{Searcher, SegmentReader, Term};

use crate::block_join::ParagraphsOf;
use crate::error::{Error, Result};
use crate::first_stage::{on_segments, PARALLEL_MIN_PARAGRAPHS};
use crate::index::SearchIndex;
use crate::rescore::Ranking;
use crate::schema::{names, INDEXED_STOP_WORDS, UNINDEXED_WORDS};
use crate::search::ColumnCache;

/// The analyzer that drops English stop words (and nothing else survives for them): those the
/// index leaves out, and the negations it keeps for phrases.
pub(crate) fn stop_word_analyzer() -> TextAnalyzer {
    let words = UNINDEXED_WORDS.iter().chain(&INDEXED_STOP_WORDS);
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(words.map(|word| word.to_string())))
        .build()
}

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Deepest nesting of parentheses accepted.
pub const MAX_QUERY_NESTING: usize = 32;
/// A match in the topic counts this much more than one in the paragraph.
const TOPIC_BOOST: f32 = 1.0;
/// A match in the section heading counts this much compared with one in the paragraph (it is
/// shared by every paragraph of the section, so it only helps to break ties between documents).
const SECTION_BOOST: f32 = 0.5;
/// Extra weight of paragraphs that match every word of the query...
const ALL_TERMS_BOOST: f32 = 1.0;
/// ... and of those that match all but one of three or more words.
const MOST_TERMS_BOOST: f32 = 1.0;
/// Extra weight of paragraphs where two neighbouring query words stand close together.
const PROXIMITY_BOOST: f32 = 1.0;
/// How many other words may stand between two query words for the proximity bonus.
const PROXIMITY_SLOP: u32 = 3;
/// Words shorter than this are never corrected.
const MIN_CORRECTED_CHARS: usize = 4;
/// Words shorter than this are corrected by one edit at most.
const MIN_TWO_EDITS_CHARS: usize = 7;
/// A known word is still corrected when it is this rare...
const RARE_DOC_FREQ: u64 = 3;
/// ... and a close spelling is this many times more common.
const CORRECTION_RATIO: u64 = 20;

/// The query to run, and what to tell the user about how it was read.
pub(crate) struct Plan {
    /// Selects the paragraphs that match, with a first, cheaper score: the words' BM25 over the
    /// paragraph's text and its document's topic, as a flat union of terms where it can be, so
    /// that tantivy's block-max WAND can skip paragraphs that cannot reach the top.
    pub matching: Box<dyn Query>,
    /// When `matching` holds phrases (a quoted phrase, a word made of parts), which block-max
    /// WAND cannot prune: a cheaper way to the same paragraphs for the first stage.
    pub first_stage: Option<FirstStage>,
    /// Scores the best paragraphs by `matching` again, with every bonus; `None` when the first
    /// score is the ranking.
    pub ranking: Option<Ranking>,
    /// Corrected spellings: (what was typed, the stem searched instead).
    pub corrections: Vec<(String, String)>,
    /// Things the user should know, such as syntax that was ignored.
    pub notices: Vec<String>,
}

/// A flat union of terms that finds every paragraph a query finds (and more), and what those
/// paragraphs must also match to be the query's.
pub(crate) struct FirstStage {
    /// Ranks the paragraphs.
    pub scoring: Box<dyn Query>,
    /// The paragraphs the query finds are those where, in every group, one of the queries
    /// matches.
    pub required: Vec<Vec<Box<dyn Query>>>,
}

/// The clauses a query's units add up to.
#[derive(Default)]
struct Clauses {
    /// The matching query's: a quoted phrase must match, a word may.
    matching: Vec<(Occur, Box<dyn Query>)>,
    /// The first stage's terms.
    terms: Vec<(Occur, Box<dyn Query>)>,
    /// The ways each quoted phrase matches.
    required: Vec<Vec<Box<dyn Query>>>,
    /// The ways each other unit matches.
    optional: Vec<Box<dyn Query>>,
}

/// One thing to match: a word, a word made of parts (`mesa-optimizer`, `GPT-2`), or a phrase.
#[derive(Clone, Debug)]
enum Unit {
    /// `typed` is the word as typed, where a correction may replace it.
    Word {
        stem: String,
        typed: Option<String>,
    },
    /// A word with punctuation, as a phrase of its parts (`stems`, at their positions) or
    /// `joined` up.
    Compound {
        stems: Vec<(usize, String)>,
        joined: String,
    },
    Phrase {
        stems: Vec<(usize, String)>,
    },
}

impl Unit {
    /// The stems in order, for proximity.
    fn stems(&self) -> Vec<&str> {
        match self {
            Unit::Word { stem, .. } => vec![stem.as_str()],
            Unit::Compound { stems, .. } | Unit::Phrase { stems } => {
                stems.iter().map(|(_, s)| s.as_str()).collect()
            }
        }
    }
}

pub(crate) fn plan(index: &SearchIndex, searcher: &Searcher, query: &str) -> Result<Plan> {
    let chars = query.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(Error::QueryParse(format!(
            "the query is too long ({chars} characters; at most {MAX_QUERY_CHARS})"
        )));
    }
    if query.trim().is_empty() {
        return Err(Error::QueryParse("the query is empty".into()));
    }
    let depth = nesting(query);
    if depth > MAX_QUERY_NESTING {
        return Err(Error::QueryParse(format!(
            "the query nests parentheses {depth} deep (at most {MAX_QUERY_NESTING})"
        )));
    }
    let planner = Planner::new(index, searcher)?;
    if uses_operators(query) {
        match planner.parse_operators(query) {
            Ok(parsed) => {
                return Ok(Plan {
                    matching: parsed,
                    first_stage: None,
                    ranking: None,
                    corrections: Vec::new(),
                    notices: Vec::new(),
                })
            }
            Err(err) => {
                let mut plan = planner.free_text(query)?;
                plan.notices.insert(
                    0,
                    format!("could not read the query's operators ({err}); searched its words"),
                );
                return Ok(plan);
            }
        }
    }
    planner.free_text(query)
}

/// True when the query uses operator syntax rather than only words and "phrases".
fn uses_operators(query: &str) -> bool {
    const FIELDS: &[&str] = &[
        names::AUTHOR,
        names::TOPIC,
        names::SECTION,
        names::TAGS,
        names::TEXT,
    ];
    outside_quotes(query).split_whitespace().any(|word| {
        matches!(word, "AND" | "OR" | "NOT" | "&&" | "||")
            || (word.len() > 1 && word.starts_with(['+', '-', '(']))
            || FIELDS.iter().any(|field| {
                word.strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with(':'))
            })
    })
}

/// Fields that only a document's first paragraph holds (see `block_join`).
const DOCUMENT_FIELDS: &[&str] = &[names::AUTHOR, names::AUTHOR_ALIASES, names::TAGS];

/// True when a parsed clause is on a field of [`DOCUMENT_FIELDS`].
fn on_document_field(leaf: &UserInputLeaf) -> bool {
    let field = match leaf {
        UserInputLeaf::Literal(literal) => literal.field_name.as_deref(),
        UserInputLeaf::Range { field, .. }
        | UserInputLeaf::Set { field, .. }
        | UserInputLeaf::Regex { field, .. } => field.as_deref(),
        UserInputLeaf::Exists { field } => Some(field.as_str()),
        UserInputLeaf::All => None,
    };
    field.is_some_and(|field| DOCUMENT_FIELDS.contains(&field))
}

/// True when a clause of `ast` is on a field of [`DOCUMENT_FIELDS`].
fn names_document_field(ast: &UserInputAst) -> bool {
    match ast {
        UserInputAst::Clause(clauses) => clauses.iter().any(|(_, ast)| names_document_field(ast)),
        UserInputAst::Boost(ast, _) => names_document_field(ast),
        UserInputAst::Leaf(leaf) => on_document_field(leaf),
    }
}

/// True when `ast` only excludes, at every level (as tantivy's parser judges it).
fn all_negative(ast: &UserInputAst) -> bool {
    match ast {
        UserInputAst::Clause(clauses) => clauses
            .iter()
            .all(|(occur, ast)| *occur == Some(Occur::MustNot) || all_negative(ast)),
        UserInputAst::Boost(ast, _) => all_negative(ast),
        UserInputAst::Leaf(_) => false,
    }
}

/// The query `parser` builds from `ast`, clause by clause, with the clauses on fields of the
/// document as a whole matching every paragraph of the documents they find.
fn build_joined(
    parser: &QueryParser,
    ast: UserInputAst,
    columns: &Arc<ColumnCache>,
) -> Result<Box<dyn Query>, QueryParserError> {
    match ast {
        UserInputAst::Clause(clauses) => {
            let clauses = clauses
                .into_iter()
                // Like the parser: OR unless said otherwise.
                .map(|(occur, ast)| {
                    Ok((
                        occur.unwrap_or(Occur::Should),
                        build_joined(parser, ast, columns)?,
                    ))
                })
                .collect::<Result<Vec<_>, QueryParserError>>()?;
            Ok(Box::new(BooleanQuery::new(clauses)))
        }
        UserInputAst::Boost(ast, boost) => Ok(Box::new(BoostQuery::new(
            build_joined(parser, *ast, columns)?,
            boost.into_inner() as f32,
        ))),
        UserInputAst::Leaf(leaf) => {
            let joined = on_document_field(&leaf);
            let query = parser.build_query_from_user_input_ast(UserInputAst::Leaf(leaf))?;
            Ok(if joined {
                Box::new(ParagraphsOf::new(query, Arc::clone(columns)))
            } else {
                query
            })
        }
    }
}

/// The deepest nesting of parentheses outside quotes.
fn nesting(query: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0;
    for c in outside_quotes(query).chars() {
        match c {
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// True when every opening quote has its closing quote.
fn quotes_balanced(query: &str) -> bool {
    query.matches('"').count().is_multiple_of(2)
}

/// The query with the inside of balanced quotes blanked out.
fn outside_quotes(query: &str) -> String {
    let balanced = quotes_balanced(query);
    let mut inside = false;
    query
        .chars()
        .map(|c| {
            if c == '"' && balanced {
                inside = !inside;
                ' '
            } else if inside {
                ' '
            } else {
                c
            }
        })
        .collect()
}

struct Planner<'a> {
    index: &'a SearchIndex,
    searcher: &'a Searcher,
    prose: TextAnalyzer,
    stop_words: TextAnalyzer,
}

impl<'a> Planner<'a> {
    fn new(index: &'a SearchIndex, searcher: &'a Searcher) -> Result<Planner<'a>> {
        Ok(Planner {
            index,
            searcher,
            prose: index.index.tokenizer_for_field(index.fields.text)?,
            stop_words: index.stop_words.clone(),
        })
    }

    fn parser(&self) -> QueryParser {
        let fields = &self.index.fields;
        let mut parser = QueryParser::for_index(
            &self.index.index,
            vec![fields.text, fields.topic, fields.section],
        );
        parser.set_field_boost(fields.topic, TOPIC_BOOST);
        parser.set_field_boost(fields.section, SECTION_BOOST);
        parser
    }

    /// Reads a query with operators through tantivy's parser. A clause on a field that only a
    /// document's first paragraph holds (`author:`, `tags:`) matches every paragraph of the
    /// documents it finds.
    fn parse_operators(&self, query: &str) -> Result<Box<dyn Query>, QueryParserError> {
        let parser = self.parser();
        let ast = tantivy::query_grammar::parse_query(query)
            .map_err(|_| QueryParserError::SyntaxError(query.to_string()))?;
        if !names_document_field(&ast) {
            return parser.parse_query(query);
        }
        // The parser refuses a query of exclusions only (`-author:lind`); so do we.
        if all_negative(&ast) {
            return Err(QueryParserError::AllButQueryForbidden);
        }
        build_joined(&parser, ast, &self.index.columns)
    }

    /// Plans a query of words and "quoted phrases".
    fn free_text(&self, query: &str) -> Result<Plan> {
        let mut notices = Vec::new();
        let mut corrections = Vec::new();
        let balanced = quotes_balanced(query);
        if !balanced {
            notices.push("ignored an unbalanced quote".to_string());
        }
        let mut units = Vec::new();
        let mut stop_units = Vec::new();
        for (i, chunk) in query.split('"').enumerate() {
            if balanced && i % 2 == 1 {
                let stems = self.stems(chunk);
                match stems.len() {
                    0 => {}
                    1 => units.push(Unit::Word {
                        stem: stems[0].text.clone(),
                        typed: None,
                    }),
                    _ => units.push(Unit::Phrase {
                        stems: stems.into_iter().map(|t| (t.position, t.text)).collect(),
                    }),
                }
                continue;
            }
            for word in chunk.split_whitespace() {
                let stems = self.stems(word);
                let unit = match stems.len() {
                    0 => continue,
                    1 => Unit::Word {
                        stem: stems[0].text.clone(),
                        typed: Some(word.to_string()),
                    },
                    _ => Unit::Compound {
                        joined: self.joined(word),
                        stems: stems.into_iter().map(|t| (t.position, t.text)).collect(),
                    },
                };
                if self.is_stop_word(word) {
                    stop_units.push(unit);
                } else {
                    units.push(unit);
                }
            }
        }
        if units.is_empty() {
            units = stop_units;
        }
        if units.is_empty() {
            // Stop words other than `no` and `not` are not indexed (see `schema::UNINDEXED_WORDS`).
            let words: Vec<&str> = query
                .split(|c: char| !c.is_alphanumeric())
                .filter(|word| !word.is_empty())
                .collect();
            let message = if !words.is_empty() && words.iter().all(|w| self.is_stop_word(w)) {
                format!(
                    "the query has only stop words (\"{}\"), which the index leaves out",
                    words.join(" ")
                )
            } else {
                "the query has no words to search for".into()
            };
            return Err(Error::QueryParse(message));
        }
        for i in 0..units.len() {
            let Unit::Word {
                stem,
                typed: Some(word),
            } = &units[i]
            else {
                continue;
            };
            if let Some(parts) = self.split(word)? {
                units[i] = Unit::Compound {
                    joined: stem.clone(),
                    stems: parts.into_iter().enumerate().collect(),
                };
                continue;
            }
            let others: Vec<_> = (0..units.len())
                .filter(|j| *j != i)
                .map(|j| self.unit_query(&units[j]))
                .collect();
            if let Some(fixed) = self.correct(word, stem, others)? {
                corrections.push((word.clone(), fixed.clone()));
                units[i] = Unit::Word {
                    stem: fixed,
                    typed: None,
                };
            }
        }

        let mut ranking = Ranking::default();
        let mut clauses = Clauses::default();
        // The coverage bonuses count words in the paragraph itself, not in its headings.
        let in_text: Vec<Vec<usize>> = units
            .iter()
            .map(|unit| self.add_unit(unit, &mut ranking, &mut clauses))
            .collect();
        if units.len() >= 2 {
            ranking.coverage(in_text.clone(), units.len(), ALL_TERMS_BOOST);
        }
        if units.len() >= 3 {
            ranking.coverage(in_text, units.len() - 1, MOST_TERMS_BOOST);
        }
        for pair in units.windows(2) {
            // Two words that are also written as one: "mesa optimizer" finds "mesaoptimizer".
            if let [Unit::Word {
                typed: Some(first), ..
            }, Unit::Word {
                typed: Some(second),
                ..
            }] = pair
            {
                let joined = self.joined(&format!("{first}{second}"));
                if self.doc_freq(self.index.fields.text, &joined)? > 0 {
                    let unit = Unit::Word {
                        stem: joined,
                        typed: None,
                    };
                    self.add_unit(&unit, &mut ranking, &mut clauses);
                }
            }
            let stems: Vec<&str> = pair.iter().flat_map(Unit::stems).collect();
            for field in [self.index.fields.text, self.index.fields.topic] {
                let mut phrase = phrase(field, stems.iter().copied().enumerate());
                phrase.set_slop(PROXIMITY_SLOP);
                ranking.scored_clause(Box::new(phrase), PROXIMITY_BOOST);
            }
        }
        let has_phrases = units.iter().any(|unit| !matches!(unit, Unit::Word { .. }));
        let Clauses {
            matching,
            terms,
            mut required,
            optional,
        } = clauses;
        // Where no phrase must match, any word will do.
        if required.is_empty() {
            required.push(optional);
        }
        Ok(Plan {
            matching: Box::new(BooleanQuery::new(matching)),
            first_stage: has_phrases.then(|| FirstStage {
                scoring: Box::new(BooleanQuery::new(terms)),
                required,
            }),
            ranking: Some(ranking),
            corrections,
            notices,
        })
    }

    /// Adds what a unit scores to `ranking`, and how it matches to `clauses`: a quoted phrase
    /// must be there, a word may. Returns the numbers of its clauses in the paragraph's text.
    fn add_unit(&self, unit: &Unit, ranking: &mut Ranking, clauses: &mut Clauses) -> Vec<usize> {
        let mut in_text = Vec::new();
        // The ways the unit matches: any one will do.
        let mut alternatives = Vec::new();
        for (field, boost) in self.all_fields() {
            // A word in a section heading ranks a paragraph higher, but is not enough to match:
            // that would make the first stage slower for little.
            if field != self.index.fields.section {
                for stem in self.first_stage_stems(unit) {
                    let term = boosted(term_query(field, stem), boost);
                    clauses.terms.push((Occur::Should, term));
                }
            }
            for clause in self.unit_clauses(unit, field) {
                if field != self.index.fields.section {
                    alternatives.push(boosted(clause.box_clone(), boost));
                }
                let number = ranking.scored_clause(clause, boost);
                if field == self.index.fields.text {
                    in_text.push(number);
                }
            }
        }
        let copies = || alternatives.iter().map(|query| query.box_clone()).collect();
        match unit {
            Unit::Phrase { .. } => {
                clauses.required.push(copies());
                let any = alternatives
                    .into_iter()
                    .map(|alternative| (Occur::Should, alternative))
                    .collect();
                let any: Box<dyn Query> = Box::new(BooleanQuery::new(any));
                clauses.matching.push((Occur::Must, any));
            }
            _ => {
                clauses.optional.extend(copies());
                let any = alternatives
                    .into_iter()
                    .map(|alternative| (Occur::Should, alternative));
                clauses.matching.extend(any);
            }
        }
        in_text
    }

    /// The fields a word is looked for in, with their boosts: the paragraph, the topic and the
    /// section heading.
    fn all_fields(&self) -> [(Field, f32); 3] {
        let fields = &self.index.fields;
        [
            (fields.text, 1.0),
            (fields.topic, TOPIC_BOOST),
            (fields.section, SECTION_BOOST),
        ]
    }

    /// The stems by which the first stage finds a unit: every paragraph where the unit matches
    /// has them all, and the first stage needs only one. A phrase's stop words are left out
    /// (unless it has nothing else): they would add long lists of paragraphs for little score.
    fn first_stage_stems<'u>(&self, unit: &'u Unit) -> Vec<&'u str> {
        match unit {
            Unit::Word { stem, .. } => vec![stem],
            Unit::Compound { joined, .. } => {
                let mut all = unit.stems();
                all.push(joined);
                all
            }
            Unit::Phrase { stems } => {
                let all = unit.stems();
                let content: Vec<&str> = stems
                    .iter()
                    .map(|(_, stem)| stem.as_str())
                    .filter(|stem| !self.is_stop_word(stem))
                    .collect();
                if content.is_empty() {
                    all
                } else {
                    content
                }
            }
        }
    }

    /// The query for one unit: in the paragraph, the topic or the section heading.
    fn unit_query(&self, unit: &Unit) -> Box<dyn Query> {
        let alternatives = self
            .all_fields()
            .into_iter()
            .flat_map(|(field, boost)| {
                self.unit_clauses(unit, field)
                    .into_iter()
                    .map(move |clause| (Occur::Should, boosted(clause, boost)))
            })
            .collect();
        Box::new(BooleanQuery::new(alternatives))
    }

    /// The ways one unit can match in one field (any one will do): a word's stem; a word made of
    /// parts as a phrase or joined up; a phrase.
    fn unit_clauses(&self, unit: &Unit, field: Field) -> Vec<Box<dyn Query>> {
        let parts = |stems: &[(usize, String)]| -> Box<dyn Query> {
            Box::new(phrase(
                field,
                stems.iter().map(|(pos, s)| (*pos, s.as_str())),
            ))
        };
        match unit {
            Unit::Word { stem, .. } => vec![term_query(field, stem)],
            Unit::Compound { stems, joined } => vec![parts(stems), term_query(field, joined)],
            Unit::Phrase { stems } => vec![parts(stems)],
        }
    }

    /// The prose tokens (stems) of some text.
    fn stems(&self, text: &str) -> Vec<Token> {
        let mut analyzer = self.prose.clone();
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while let Some(token) = stream.next() {
            tokens.push(token.clone());
        }
        tokens
    }

    /// The stem of a word with its punctuation removed: `mesa-optimizers` → `mesaoptim`.
    fn joined(&self, word: &str) -> String {
        let letters: String = word.chars().filter(|c| c.is_alphanumeric()).collect();
        self.stems(&letters)
            .into_iter()
            .next()
            .map(|t| t.text)
            .unwrap_or(letters)
    }

    /// The stems of the two words that a rare joined word is made of, where the text also has
    /// them as two words: "mesaoptimizer" is "mesa optimizer".
    fn split(&self, word: &str) -> Result<Option<Vec<String>>> {
        const MIN_PART_CHARS: usize = 2;
        const MAX_SPLITS_TRIED: usize = 3;
        let word = self.spelling_form(word);
        // Letters and digits: "gpt2" is also written "GPT-2".
        let runs: Vec<String> = letter_digit_runs(&word)
            .iter()
            .filter_map(|run| self.stems(run).into_iter().next())
            .map(|token| token.text)
            .collect();
        if runs.len() > 1 {
            return Ok(Some(runs));
        }
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() < 2 * MIN_PART_CHARS
            || !word.chars().all(char::is_alphabetic)
            || self.word_freq(&word)? > RARE_DOC_FREQ
        {
            return Ok(None);
        }
        let mut splits = Vec::new();
        for &(at, _) in &chars[MIN_PART_CHARS..=chars.len() - MIN_PART_CHARS] {
            let (first, second) = word.split_at(at);
            let parts: Vec<String> = [first, second]
                .iter()
                .filter_map(|part| self.stems(part).into_iter().next())
                .map(|token| token.text)
                .collect();
            if parts.len() != 2 {
                continue;
            }
            let text = self.index.fields.text;
            let freq = self
                .doc_freq(text, &parts[0])?
                .min(self.doc_freq(text, &parts[1])?);
            if freq > 0 {
                splits.push((freq, parts));
            }
        }
        // The most common parts first; the text must have them side by side.
        splits.sort_by_key(|split| std::cmp::Reverse(split.0));
        for (_, parts) in splits.into_iter().take(MAX_SPLITS_TRIED) {
            let together = phrase(
                self.index.fields.text,
                parts.iter().map(String::as_str).enumerate(),
            );
            if self
                .searcher
                .search(&together, &tantivy::collector::Count)?
                > 0
            {
                return Ok(Some(parts));
            }
        }
        Ok(None)
    }

    fn is_stop_word(&self, word: &str) -> bool {
        let mut analyzer = self.stop_words.clone();
        let mut stream = analyzer.token_stream(word);
        !stream.advance()
    }

    fn doc_freq(&self, field: Field, term: &str) -> Result<u64> {
        let term = Term::from_field_text(field, term);
        Ok(self.searcher.doc_freq(&term)?)
    }

    /// How many paragraphs hold `word`'s stem (0 when it has none).
    fn word_freq(&self, word: &str) -> Result<u64> {
        match self.stems(word).into_iter().next() {
            Some(stem) => self.doc_freq(self.index.fields.text, &stem.text),
            None => Ok(0),
        }
    }

    /// The stem of a better spelling of `word` (whose stem is `stem`) when the index does not
    /// know the word, or knows it far less than a spelling one or two edits away and never beside
    /// the query's `other` words (a rare word that stands with them is what the user meant:
    /// "costless collar" is not "costless dollar").
    fn correct(
        &self,
        word: &str,
        stem: &str,
        other: Vec<Box<dyn Query>>,
    ) -> Result<Option<String>> {
        let word = self.spelling_form(word);
        if word.chars().count() < MIN_CORRECTED_CHARS
            || !word.chars().all(char::is_alphabetic)
            || self.is_stop_word(&word)
        {
            return Ok(None);
        }
        let known = self.doc_freq(self.index.fields.text, stem)?;
        if known > RARE_DOC_FREQ {
            return Ok(None);
        }
        let max_edits = if word.chars().count() >= MIN_TWO_EDITS_CHARS {
            2
        } else {
            1
        };
        for edits in 1..=max_edits {
            let Some((best, freq)) = self.closest(&word, edits)? else {
                continue;
            };
            let rare_and_alone = freq >= known * CORRECTION_RATIO
                && !other.is_empty()
                && !self.stands_with(stem, other)?;
            if known > 0 && !rare_and_alone {
                return Ok(None);
            }
            let fixed = self.stems(&best).into_iter().next().map(|t| t.text);
            return Ok(fixed.filter(|fixed| fixed != stem));
        }
        Ok(None)
    }

    /// A word as the spelling field holds it: lower-cased, accents folded.
    fn spelling_form(&self, word: &str) -> String {
        let mut analyzer = self
            .index
            .index
            .tokenizer_for_field(self.index.fields.spelling)
            .expect("the spelling field has a tokenizer");
        let mut stream = analyzer.token_stream(word);
        let mut form = String::new();
        while let Some(token) = stream.next() {
            form.push_str(&token.text);
        }
        form
    }

    /// True when some paragraph holds `stem` and one of the `other` queries.
    fn stands_with(&self, stem: &str, other: Vec<Box<dyn Query>>) -> Result<bool> {
        let other = BooleanQuery::new(other.into_iter().map(|q| (Occur::Should, q)).collect());
        let both = BooleanQuery::new(vec![
            (Occur::Must, term_query(self.index.fields.text, stem)),
            (Occur::Must, Box::new(other)),
        ]);
        Ok(self.searcher.search(&both, &tantivy::collector::Count)? > 0)
    }

    /// The most frequent other word within `edits` edits of `word`, with the number of paragraphs
    /// that hold its stem. The words come from the `spelling` vocabulary, which only lists them.
    fn closest(&self, word: &str, edits: u8) -> Result<Option<(String, u64)>> {
        let field = self.index.fields.spelling;
        let fuzzy = FuzzyTermQuery::new(Term::from_field_text(field, word), edits, true);
        // The words near `word` in one segment's vocabulary.
        let near = |segment: &SegmentReader| -> Result<Vec<Vec<u8>>> {
            let inverted = segment.inverted_index(field)?;
            let mut stream = inverted
                .terms()
                .search(fuzzy.automaton()?)
                .into_stream()
                .map_err(|err| Error::Tantivy(err.into()))?;
            let mut found = Vec::new();
            while stream.advance() {
                if stream.key() != word.as_bytes() {
                    found.push(stream.key().to_vec());
                }
            }
            Ok(found)
        };
        // Walking a large vocabulary takes a while: a large index's segments are walked on all
        // cores.
        let segments = self.searcher.segment_readers();
        let parallel = self.searcher.num_docs() >= PARALLEL_MIN_PARAGRAPHS;
        let found = on_segments(segments, parallel, |ord| near(&segments[ord]))?;
        let words: std::collections::BTreeSet<String> = found
            .into_iter()
            .flatten()
            .filter_map(|key| String::from_utf8(key).ok())
            .collect();
        // The first in alphabetical order among equals, and never a word no paragraph holds.
        let mut best: Option<(String, u64)> = None;
        for word in words {
            let freq = self.word_freq(&word)?;
            if freq > best.as_ref().map_or(0, |(_, best)| *best) {
                best = Some((word, freq));
            }
        }
        Ok(best)
    }
}

/// A word cut where letters meet digits ("gpt2" → "gpt", "2"), when it holds only those.
fn letter_digit_runs(word: &str) -> Vec<String> {
    if !word.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Vec::new();
    }
    let mut runs: Vec<String> = Vec::new();
    let mut previous: Option<bool> = None;
    for c in word.chars() {
        let digit = c.is_ascii_digit();
        match runs.last_mut() {
            Some(run) if previous == Some(digit) => run.push(c),
            _ => runs.push(c.to_string()),
        }
        previous = Some(digit);
    }
    runs
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if boost == 1.0 {
        query
    } else {
        Box::new(BoostQuery::new(query, boost))
    }
}

fn term_query(field: Field, stem: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, stem),
        IndexRecordOption::WithFreqs,
    ))
}

fn phrase<'s>(field: Field, stems: impl Iterator<Item = (usize, &'s str)>) -> PhraseQuery {
    PhraseQuery::new_with_offset(
        stems
            .map(|(pos, stem)| (pos, Term::from_field_text(field, stem)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unindexed_words_are_the_stop_words_but_no_and_not() {
        let mut analyzer = stop_word_analyzer();
        let mut is_stop_word = |word: &str| !analyzer.token_stream(word).advance();
        for word in UNINDEXED_WORDS {
            assert!(is_stop_word(word), "{word}");
        }
        assert!(is_stop_word("no") && is_stop_word("not"));
        assert!(!is_stop_word("reward"));
    }

    #[test]
    fn letters_and_digits_are_cut_apart() {
        assert_eq!(letter_digit_runs("gpt2"), ["gpt", "2"]);
        assert_eq!(letter_digit_runs("llama3b"), ["llama", "3", "b"]);
        assert_eq!(letter_digit_runs("word"), ["word"]);
        assert!(letter_digit_runs("naïve2").is_empty());
    }

    #[test]
    fn operators_are_told_apart_from_punctuation() {
        for query in [
            "reward AND hacking",
            "+reward hacking",
            "reward -hacking",
            "author:turner",
            "topic:impact AUP",
            "(a OR b)",
        ] {
            assert!(uses_operators(query), "{query}");
        }
        for query in [
            "mesa-optimizer",
            "RL(VR)",
            "don't",
            "GPT-2 and/or GPT-3",
            "what is AUP?",
            "\"author:x AND y\"",
            "note: this",
            "- *",
        ] {
            assert!(!uses_operators(query), "{query}");
        }
    }
}
