//! The index schema: every field name and tokenizer choice lives here.
//!
//! The declared schema is the data file `index_schema/schema-v{VERSION}.json`; the test at the
//! bottom of this module checks that [`build_schema`] produces exactly that file, so the code and
//! the declaration cannot drift apart.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter,
    TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer, TokenizerManager,
};

/// Version of the on-disk schema. Bump it (and add a new `index_schema/` file) whenever a field,
/// a field option or a tokenizer changes; an index of another version must be rebuilt.
pub const SCHEMA_VERSION: u32 = 7;

/// The declared schema this code must agree with.
pub const SCHEMA_FILE: &str = include_str!("../index_schema/schema-v7.json");

/// Field names, as stored in the index and accepted as query prefixes (`author:`, `topic:`).
pub mod names {
    /// Unique key of a source document: the path, or `path:id` for a JSON Lines record. Indexed on
    /// every paragraph (a paragraph is looked up by its document's key and number).
    pub const DOC: &str = "doc";
    /// A 64-bit hash of `doc`, as a fast field: which hits share a document, cheaply. On the
    /// document's first paragraph only (see `search::first_paragraph`).
    pub const DOC_HASH: &str = "doc_hash";
    /// Path of the source file, relative to the corpus root, with `/` separators. Indexed on every
    /// paragraph: re-indexing a file deletes its paragraphs by path.
    pub const PATH: &str = "path";
    /// The fields of the document as a whole ([`DocumentFields`](super::DocumentFields)) as JSON,
    /// stored on its first paragraph only: the key, path, record id, topic, authors, tags, date
    /// and url. The indexed fields that hold some of them (`doc`, `path`, `topic`, `author`,
    /// `tags`) do not store them.
    pub const DOCUMENT: &str = "document";
    /// Number of the paragraph within its document, starting at 1; a fast field only (a
    /// paragraph is looked up by its document's key and this column, and a hit's number read from
    /// it: stored as well, it took 3% of the doc store).
    pub const PARAGRAPH: &str = "paragraph";
    /// Number of words in the paragraph, for the length prior of the ranking.
    pub const WORDS: &str = "words";
    /// Plain text of the paragraph; stored, like `section` and `paragraph`.
    pub const TEXT: &str = "text";
    /// Words of the document, unstemmed, on its first paragraph only: the vocabulary that
    /// spelling corrections are drawn from. A word is listed on a few of the documents that use
    /// it, not all (see `ALWAYS_LISTED_USES` in the indexer).
    pub const SPELLING: &str = "spelling";
    /// Title or topic of the document, indexed on every paragraph (a match in it counts for each).
    pub const TOPIC: &str = "topic";
    /// The exact topic, as a fast field: facet counts by topic. On the document's first paragraph
    /// only, like `doc_hash`.
    pub const TOPIC_FACET: &str = "topic_facet";
    /// The nearest heading above the paragraph.
    pub const SECTION: &str = "section";
    /// One value per author: the canonical name where the corpus's aliases file names one. On the
    /// document's first paragraph only: filters and `author:` match the paragraphs of the
    /// documents it finds there (see `block_join`).
    pub const AUTHOR: &str = "author";
    /// The other spellings of the document's authors listed in the aliases file, so that
    /// `--author` finds a person by any of them. Indexed, not stored; on the first paragraph
    /// only, like `author`.
    pub const AUTHOR_ALIASES: &str = "author_aliases";
    /// The exact author names, as a fast field: facet counts by author. On the document's first
    /// paragraph only, like `doc_hash`.
    pub const AUTHOR_FACET: &str = "author_facet";
    /// One value per tag; on the first paragraph only, like `author`.
    pub const TAGS: &str = "tags";
    /// Publication date as the number `YYYYMMDD` (absent when the document has no date), as a fast
    /// field: date filters (range queries read the column), date sorts and timelines.
    pub const DAY: &str = "day";
    /// A 64-bit hash of the paragraph's normalised text (see [`text_hash`](super::text_hash)),
    /// as a fast field: one result per text, and finding copies of a paragraph in other
    /// documents.
    pub const TEXT_HASH: &str = "text_hash";
    /// The top bits of `text_hash` (see [`text_bucket`](super::text_bucket)), indexed: the
    /// paragraphs that may be copies of a text, checked against their `text_hash` column.
    pub const TEXT_BUCKET: &str = "text_bucket";
}

/// Tokenizer for prose: words, lower-cased, accents folded, stop words left out (see
/// [`UNINDEXED_WORDS`]), English stemming.
pub const PROSE_TOKENIZER: &str = "ai_prose";
/// Tokenizer for names and tags: words, lower-cased, accents folded, no stemming.
pub const NAME_TOKENIZER: &str = "ai_name";

/// The English stop words (Lucene's list) that the prose tokenizer keeps: they turn a phrase's
/// meaning around (`"no free lunch"` is not "a free lunch"). Queries leave them out of the bag of
/// words, like the rest of the list ([`UNINDEXED_WORDS`]).
pub const INDEXED_STOP_WORDS: [&str; 2] = ["no", "not"];

/// The other English stop words of Lucene's list, which the prose tokenizer leaves out: a quarter
/// of the words of the corpus, which no ranking scores; not indexing them made the index 7% smaller
/// at 10 MB and 8% at 100 MB, and builds a little faster. A phrase keeps their places (`"reward is
/// not the optimization target"` is reward, not, optimization and target at positions 0, 2, 4 and
/// 5).
pub const UNINDEXED_WORDS: [&str; 31] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this",
    "to", "was", "will", "with",
];

/// Longest token kept; longer ones (hashes, base64, URLs glued together) are dropped.
const MAX_TOKEN_BYTES: usize = 40;

/// Handles to every field of the schema.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub doc: Field,
    pub doc_hash: Field,
    pub path: Field,
    pub document: Field,
    pub paragraph: Field,
    pub words: Field,
    pub text: Field,
    pub text_hash: Field,
    pub text_bucket: Field,
    pub spelling: Field,
    pub topic: Field,
    pub topic_facet: Field,
    pub section: Field,
    pub author: Field,
    pub author_aliases: Field,
    pub author_facet: Field,
    pub tags: Field,
    pub day: Field,
}

impl Fields {
    /// Resolves the fields by name in `schema`; `None` if one is missing.
    pub fn resolve(schema: &Schema) -> Option<Fields> {
        let get = |name| schema.get_field(name).ok();
        Some(Fields {
            doc: get(names::DOC)?,
            doc_hash: get(names::DOC_HASH)?,
            path: get(names::PATH)?,
            document: get(names::DOCUMENT)?,
            paragraph: get(names::PARAGRAPH)?,
            words: get(names::WORDS)?,
            text: get(names::TEXT)?,
            text_hash: get(names::TEXT_HASH)?,
            text_bucket: get(names::TEXT_BUCKET)?,
            spelling: get(names::SPELLING)?,
            topic: get(names::TOPIC)?,
            topic_facet: get(names::TOPIC_FACET)?,
            section: get(names::SECTION)?,
            author: get(names::AUTHOR)?,
            author_aliases: get(names::AUTHOR_ALIASES)?,
            author_facet: get(names::AUTHOR_FACET)?,
            tags: get(names::TAGS)?,
            day: get(names::DAY)?,
        })
    }
}

/// Builds the schema declared in [`SCHEMA_FILE`].
///
/// Only the fields that BM25 scores (`text`, `topic`, `section`) keep field norms; the others
/// are looked up or filtered on, and a norm would cost a byte per paragraph for nothing. A
/// paragraph stores its own text and section; what its document holds as a whole is
/// stored once, on the document's first paragraph (`document`).
pub fn build_schema() -> Schema {
    let indexed = |tokenizer: &str, record: IndexRecordOption, norms: bool| {
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record)
            .set_fieldnorms(norms)
    };
    let prose = || {
        TextOptions::default().set_indexing_options(indexed(
            PROSE_TOKENIZER,
            IndexRecordOption::WithFreqsAndPositions,
            true,
        ))
    };
    // Names and tags: matched as phrases by filters and prefixes, not scored.
    let names = || {
        TextOptions::default().set_indexing_options(indexed(
            NAME_TOKENIZER,
            IndexRecordOption::WithFreqsAndPositions,
            false,
        ))
    };
    let key = || {
        TextOptions::default().set_indexing_options(indexed("raw", IndexRecordOption::Basic, false))
    };
    let mut builder = Schema::builder();
    builder.add_text_field(names::DOC, key());
    builder.add_u64_field(names::DOC_HASH, FAST);
    builder.add_text_field(names::PATH, key());
    builder.add_bytes_field(names::DOCUMENT, STORED);
    builder.add_u64_field(names::PARAGRAPH, NumericOptions::default().set_fast());
    builder.add_u64_field(names::WORDS, FAST);
    builder.add_text_field(names::TEXT, prose().set_stored());
    builder.add_u64_field(names::TEXT_HASH, FAST);
    builder.add_u64_field(names::TEXT_BUCKET, NumericOptions::default().set_indexed());
    builder.add_text_field(
        names::SPELLING,
        TextOptions::default().set_indexing_options(indexed(
            NAME_TOKENIZER,
            IndexRecordOption::Basic,
            false,
        )),
    );
    builder.add_text_field(names::TOPIC, prose());
    builder.add_text_field(names::TOPIC_FACET, FAST);
    builder.add_text_field(names::SECTION, prose().set_stored());
    builder.add_text_field(names::AUTHOR, names());
    builder.add_text_field(names::AUTHOR_ALIASES, names());
    builder.add_text_field(names::AUTHOR_FACET, FAST);
    builder.add_text_field(names::TAGS, names());
    builder.add_u64_field(names::DAY, FAST);
    builder.build()
}

/// The fields of a document as a whole, as its first paragraph stores them (`document`, as JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocumentFields {
    /// The document's key (see [`names::DOC`]).
    pub key: String,
    pub path: String,
    /// Record id inside a JSON Lines file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub topic: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Publication date as `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Where the document was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The value of the `doc_hash` field for a document key (64-bit FNV-1a: stable across builds).
pub fn doc_hash(key: &str) -> u64 {
    fnv1a(key.bytes())
}

/// Bits of `text_hash` that `text_bucket` keeps: 65,536 buckets, about 6 paragraphs each in a
/// 100 MB corpus and 65 in a gigabyte. With 12 bits the index was 0.3 MB smaller at 100 MB, but
/// walking a thousand paragraphs a bucket made warm queries at 1 GB 0.1–0.5 ms slower.
const TEXT_BUCKET_BITS: u32 = 16;

/// The value of the `text_bucket` field for a paragraph whose text hashes to `hash`.
pub fn text_bucket(hash: u64) -> u64 {
    hash >> (TEXT_HASH_BITS - TEXT_BUCKET_BITS)
}

/// Bits of `text_hash`: its column packs 6 bytes a paragraph instead of 8 (85 KB of a 10 MB
/// corpus's index, 8 MB of a gigabyte's), and two of the million distinct texts of a gigabyte
/// share a value with odds of 1 in 500.
const TEXT_HASH_BITS: u32 = 48;

/// The value of the `text_hash` field for a paragraph: the hash of its words, lower-cased, without
/// punctuation, one space apart, cut to [`TEXT_HASH_BITS`]. Copies of a passage from different
/// exports (Markdown or plain text, curly or straight quotes, other line breaks) get the same
/// value.
pub fn text_hash(text: &str) -> u64 {
    full_text_hash(text) >> (u64::BITS - TEXT_HASH_BITS)
}

fn full_text_hash(text: &str) -> u64 {
    // A capital sigma lower-cases by its place in the word, which only `str::to_lowercase` knows.
    if text.contains('\u{3a3}') {
        return fnv1a(normalized_words(text).bytes());
    }
    // The same bytes as `normalized_words`, hashed as they come: no string is built.
    let mut hash = FNV_OFFSET;
    let mut feed = |byte: u8| hash = (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
    let (mut in_word, mut started) = (false, false);
    for c in text.chars() {
        if !c.is_alphanumeric() {
            in_word = false;
            continue;
        }
        if !in_word && started {
            feed(b' ');
        }
        (in_word, started) = (true, true);
        if c.is_ascii() {
            feed(c.to_ascii_lowercase() as u8);
        } else {
            let mut buffer = [0; 4];
            for lower in c.to_lowercase() {
                lower.encode_utf8(&mut buffer).bytes().for_each(&mut feed);
            }
        }
    }
    hash
}

/// The words of `text`, lower-cased, one space apart.
fn normalized_words(text: &str) -> String {
    let mut words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase);
    let mut normalized = words.next().unwrap_or_default();
    for word in words {
        normalized.push(' ');
        normalized.push_str(&word);
    }
    normalized
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(FNV_OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    })
}

/// How the index stores paragraphs: zstd-compressed blocks of 64 KiB, which keep the paragraphs
/// and their metadata in under half the corpus's size (lz4, tantivy's default, needs about three
/// quarters). A hit costs the decompression of its block; 64 KiB blocks made a 100 MB corpus's
/// store 6% smaller than 32 KiB ones, and its queries no slower (a hit's neighbours are more often
/// in the same block, and a block's fixed costs count for more than its size).
pub fn index_settings() -> tantivy::IndexSettings {
    use tantivy::store::{Compressor, ZstdCompressor};
    tantivy::IndexSettings {
        docstore_compression: Compressor::Zstd(ZstdCompressor {
            compression_level: Some(3),
        }),
        docstore_blocksize: 64 << 10,
        ..tantivy::IndexSettings::default()
    }
}

/// Slots in a thread's cache of stems (64 bytes each: 1 MiB).
const STEM_CACHE_SLOTS: usize = 1 << 14;
/// Slots in it until the thread has looked up [`LOOKUPS_BEFORE_GROWING`] words (16 KiB): a query
/// stems a few hundred words, and setting up the pages of the whole table took half a millisecond
/// here, more than its stemming.
const FIRST_STEM_SLOTS: usize = 1 << 8;
/// Look-ups after which a thread's cache of stems takes its full size.
const LOOKUPS_BEFORE_GROWING: u32 = 1 << 16;
/// Longest word a slot holds, padded with zero bytes (which no token contains).
const SLOT_WORD: usize = 32;
/// Longest stem a slot holds.
const SLOT_STEM: usize = 31;

/// One word and its stem, in one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct StemSlot {
    word: [u8; SLOT_WORD],
    stem_len: u8,
    stem: [u8; SLOT_STEM],
}

/// The stems of the words a thread has seen, by the hash of the word, one word a slot: a word
/// takes the slot of the last one with its hash, and frequent words win theirs back at once.
/// During a build the postings being written leave little of the processor's caches to anything
/// else, so a look-up reads one cache line. In a `HashMap<String, String>` it read control bytes,
/// a bucket, then the key and the stem elsewhere on the heap: 12–13% of a build's CPU samples, and
/// 5–6% more comparing keys.
struct StemCache {
    slots: Box<[StemSlot]>,
    lookups: u32,
}

impl Default for StemCache {
    fn default() -> StemCache {
        StemCache {
            slots: StemCache::empty(FIRST_STEM_SLOTS),
            lookups: 0,
        }
    }
}

impl StemCache {
    /// A table of `slots` empty slots.
    fn empty(slots: usize) -> Box<[StemSlot]> {
        let empty = StemSlot {
            word: [0; SLOT_WORD],
            stem_len: 0,
            stem: [0; SLOT_STEM],
        };
        vec![empty; slots].into_boxed_slice()
    }

    /// Replaces `word` by its stem.
    fn stem(&mut self, stemmer: &frostem::Stemmer, word: &mut String) {
        if self.lookups < LOOKUPS_BEFORE_GROWING {
            self.lookups += 1;
            if self.lookups == LOOKUPS_BEFORE_GROWING {
                self.slots = StemCache::empty(STEM_CACHE_SLOTS);
            }
        }
        let bytes = word.as_bytes();
        if bytes.len() > SLOT_WORD {
            *word = stemmer.stem(word).into_owned();
            return;
        }
        let mut key = [0; SLOT_WORD];
        key[..bytes.len()].copy_from_slice(bytes);
        let slot = &mut self.slots[StemCache::slot(&key, self.slots.len())];
        if slot.word != key {
            let stem = stemmer.stem(word);
            if stem.len() > SLOT_STEM {
                *word = stem.into_owned();
                return;
            }
            slot.word = key;
            slot.stem_len = stem.len() as u8;
            slot.stem[..stem.len()].copy_from_slice(stem.as_bytes());
        }
        let stem = std::str::from_utf8(&slot.stem[..usize::from(slot.stem_len)])
            .expect("a stem is stored whole");
        word.clear();
        word.push_str(stem);
    }

    /// The slot of a word, as padded in a slot, in a table of `slots` slots.
    fn slot(key: &[u8; SLOT_WORD], slots: usize) -> usize {
        use std::hash::BuildHasher;
        (rustc_hash::FxBuildHasher.hash_one(key) >> 32) as usize % slots
    }
}

thread_local! {
    /// The stems of the words this thread has seen, for every copy of the analyzer it uses:
    /// tantivy's indexing threads keep theirs from segment to segment, and a query's snippets
    /// find the words of earlier queries already stemmed.
    static STEMS: std::cell::RefCell<StemCache> = Default::default();
}

/// English (Snowball) stemming, with a cache of the words already stemmed: a corpus uses the same
/// words over and over, and a hash look-up costs a fraction of the stemmer.
#[derive(Clone, Copy)]
struct CachedStemmer;

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner: tokenizer,
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
        }
    }
}

#[derive(Clone)]
struct CachedStemmerFilter<T> {
    inner: T,
    stemmer: frostem::Stemmer,
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: self.stemmer,
        }
    }
}

struct CachedStemmerStream<T> {
    tail: T,
    stemmer: frostem::Stemmer,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        STEMS.with_borrow_mut(|stems| stems.stem(&self.stemmer, &mut token.text));
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Registers this schema's tokenizers; every index must be given them before use.
pub fn register_tokenizers(manager: &TokenizerManager) {
    manager.register(
        PROSE_TOKENIZER,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(StopWordFilter::remove(
                UNINDEXED_WORDS.iter().map(|word| word.to_string()),
            ))
            .filter(CachedStemmer)
            .build(),
    );
    manager.register(
        NAME_TOKENIZER,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .build(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With `AI_SEARCH_BLESS_SCHEMA=1`, first writes the schema that the code builds to the
    /// declared file (after a deliberate schema change; review the diff).
    #[test]
    fn code_and_declared_schema_agree() {
        let built = serde_json::json!({
            "fields": build_schema(),
            "prose_stop_words": UNINDEXED_WORDS,
            "version": SCHEMA_VERSION,
        });
        if std::env::var_os("AI_SEARCH_BLESS_SCHEMA").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/index_schema/schema-v7.json");
            let text = serde_json::to_string_pretty(&built).unwrap() + "\n";
            std::fs::write(path, text).unwrap();
            return;
        }
        let declared: serde_json::Value = serde_json::from_str(SCHEMA_FILE).unwrap();
        assert_eq!(
            declared, built,
            "src/schema.rs and index_schema/schema-v{SCHEMA_VERSION}.json disagree"
        );
    }

    #[test]
    fn text_hash_ignores_case_punctuation_and_spacing() {
        let hash = text_hash("Alignment faking is \u{201c}real\u{201d} - see the paper.");
        assert_eq!(
            hash,
            text_hash("alignment faking is \"real\"\n\nsee the  paper")
        );
        assert_ne!(hash, text_hash("Alignment faking is real; see the papers."));
        assert_eq!(hash >> TEXT_HASH_BITS, 0);
        // Hashed as it streams, the text gives the hash of its normalised words.
        for text in [
            "",
            " -- ",
            "Ünïcode ÇAFÉ İstanbul",
            "ΣΟΦΟΣ σοφός",
            "a1 b2—c3",
        ] {
            assert_eq!(
                full_text_hash(text),
                fnv1a(normalized_words(text).bytes()),
                "{text}"
            );
        }
        assert_eq!(doc_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn every_field_name_resolves() {
        assert!(Fields::resolve(&build_schema()).is_some());
    }

    #[test]
    fn the_stem_cache_gives_the_stemmers_stems() {
        let stemmer = frostem::Stemmer::new(frostem::Algorithm::English);
        let padded = |word: &str| {
            let mut key = [0; SLOT_WORD];
            key[..word.len()].copy_from_slice(word.as_bytes());
            key
        };
        let mut cache = StemCache::default();
        let check = |cache: &mut StemCache| {
            // A word of the same slot as "running" takes it, then gives it back.
            let slots = cache.slots.len();
            let slot = |word: &str| StemCache::slot(&padded(word), slots);
            let rival = (0..)
                .map(|i| format!("deceptions{i}"))
                .find(|word| slot(word) == slot("running"))
                .unwrap();
            let long = "superintelligences".repeat(2);
            for word in [
                "running", "running", &rival, "running", &long, "aligned", "",
            ] {
                let mut stemmed = word.to_string();
                cache.stem(&stemmer, &mut stemmed);
                assert_eq!(stemmed, stemmer.stem(word), "{word}");
            }
        };
        check(&mut cache);
        assert_eq!(cache.slots.len(), FIRST_STEM_SLOTS);
        let mut word = String::new();
        for _ in 0..LOOKUPS_BEFORE_GROWING {
            word.replace_range(.., "agents");
            cache.stem(&stemmer, &mut word);
        }
        assert_eq!(cache.slots.len(), STEM_CACHE_SLOTS);
        assert_eq!(word, "agent");
        check(&mut cache);
    }

    #[test]
    fn prose_tokenizer_stems_and_folds() {
        let manager = TokenizerManager::default();
        register_tokenizers(&manager);
        let mut analyzer = manager.get(PROSE_TOKENIZER).unwrap();
        let mut stream = analyzer.token_stream("Faking naïve Optimizers");
        let mut tokens = Vec::new();
        while let Some(token) = stream.next() {
            tokens.push(token.text.clone());
        }
        assert_eq!(tokens, ["fake", "naiv", "optim"]);
    }
}
