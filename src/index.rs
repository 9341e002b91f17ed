//! Building the index from a corpus and opening it for search. Knows nothing about file formats.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::directory::error::LockError;
use tantivy::{IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError};

use crate::corpus::{self, Corpus, Document, Problem};
use crate::error::{Error, Result};
use crate::schema::{self, Fields, SCHEMA_VERSION};

/// tantivy's own file that marks a folder as an index.
const META_FILE: &str = "meta.json";

/// What the index records about itself in each commit.
#[derive(Serialize, Deserialize)]
struct CommitPayload {
    schema_version: u32,
    /// The corpus folder the index was built from.
    corpus: PathBuf,
}

/// An index opened for searching.
pub struct SearchIndex {
    pub(crate) index: tantivy::Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    pub(crate) stop_words: tantivy::tokenizer::TextAnalyzer,
    dir: PathBuf,
}

impl SearchIndex {
    /// Opens the index in `dir`.
    ///
    /// Fails with [`Error::IndexNotFound`] when there is none and with [`Error::SchemaMismatch`]
    /// when it was built by a version of ai-search with another schema.
    pub fn open(dir: impl AsRef<Path>) -> Result<SearchIndex> {
        let dir = dir.as_ref();
        let index = open_tantivy(dir)?.ok_or_else(|| Error::IndexNotFound(dir.to_path_buf()))?;
        let fields = Fields::resolve(&index.schema()).ok_or_else(|| mismatch(dir, "unknown"))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            stop_words: crate::query::stop_word_analyzer(),
            dir: dir.to_path_buf(),
        })
    }

    /// The folder the index lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of paragraphs in the index.
    pub fn num_paragraphs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Picks up commits made since the index was opened (or last reloaded).
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }
}

/// Opens the tantivy index in `dir` and checks its schema version; `None` if there is no index.
fn open_tantivy(dir: &Path) -> Result<Option<tantivy::Index>> {
    if !dir.join(META_FILE).is_file() {
        return Ok(None);
    }
    let index = tantivy::Index::open_in_dir(dir)?;
    schema::register_tokenizers(index.tokenizers());
    let payload = index.load_metas()?.payload;
    let version = payload
        .as_deref()
        .and_then(|payload| serde_json::from_str::<CommitPayload>(payload).ok())
        .map(|payload| payload.schema_version);
    if version != Some(SCHEMA_VERSION) || index.schema() != schema::build_schema() {
        let found = version.map_or_else(|| "unknown".to_string(), |v| v.to_string());
        return Err(mismatch(dir, &found));
    }
    Ok(Some(index))
}

fn mismatch(dir: &Path, found: &str) -> Error {
    Error::SchemaMismatch {
        path: dir.to_path_buf(),
        found: found.to_string(),
        expected: SCHEMA_VERSION,
    }
}

/// How to build an index.
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// Throw away an existing index (of any schema version) and start from scratch.
    pub rebuild: bool,
    /// Memory the indexer may use for its in-memory segments, in bytes.
    pub memory_budget: usize,
}

impl Default for IndexOptions {
    fn default() -> IndexOptions {
        IndexOptions {
            rebuild: false,
            memory_budget: 256 << 20,
        }
    }
}

/// What an indexing run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IndexSummary {
    /// Files read, in full or in part.
    pub files: usize,
    pub documents: usize,
    pub paragraphs: usize,
    /// Bytes of the files read.
    pub bytes: u64,
    /// Files that could not be indexed at all, with the reason.
    #[serde(serialize_with = "display_all")]
    pub skipped: Vec<Problem>,
    /// Parts of files that were left out (a malformed JSON line, bad front matter).
    #[serde(serialize_with = "display_all")]
    pub warnings: Vec<Problem>,
    pub elapsed: Duration,
}

impl IndexSummary {
    /// True when some file, or part of one, was left out.
    pub fn is_partial(&self) -> bool {
        !self.skipped.is_empty() || !self.warnings.is_empty()
    }
}

fn display_all<S: serde::Serializer>(
    problems: &[Problem],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(problems.iter().map(ToString::to_string))
}

/// Indexes every file of the corpus folder into the index in `index_dir`, replacing what the
/// index held before in one atomic commit: readers see either the old or the new corpus.
///
/// Files that cannot be read are reported in the summary and the rest is indexed.
pub fn build_index(
    index_dir: impl AsRef<Path>,
    corpus_root: impl AsRef<Path>,
    options: &IndexOptions,
) -> Result<IndexSummary> {
    let started = Instant::now();
    let (index_dir, corpus_root) = (index_dir.as_ref(), corpus_root.as_ref());
    let corpus_error = |message: String| Error::Corpus {
        path: corpus_root.to_path_buf(),
        message,
    };
    match std::fs::metadata(corpus_root) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => return Err(corpus_error("not a folder".into())),
        Err(err) => return Err(corpus_error(corpus::describe_io_error(&err))),
    }
    let index = create_or_open(index_dir, options.rebuild)?;
    let fields = Fields::resolve(&index.schema()).ok_or_else(|| mismatch(index_dir, "unknown"))?;
    let mut writer: IndexWriter = index
        .writer(options.memory_budget)
        .map_err(|err| match err {
            TantivyError::LockFailure(LockError::LockBusy, _) => {
                Error::Locked(index_dir.to_path_buf())
            }
            other => Error::Tantivy(other),
        })?;
    writer.delete_all_documents()?;

    let mut summary = IndexSummary::default();
    let corpus = Corpus::new(corpus_root).exclude(index_dir);
    for file in corpus.walk() {
        let file = match file {
            Ok(file) => file,
            Err(problem) => {
                summary.skipped.push(problem);
                continue;
            }
        };
        match corpus::read_file(&file) {
            Ok(parsed) => {
                summary.files += 1;
                summary.bytes += std::fs::metadata(&file.path).map_or(0, |m| m.len());
                summary.warnings.extend(parsed.problems);
                for document in &parsed.documents {
                    summary.documents += 1;
                    summary.paragraphs += document.paragraphs.len();
                    for doc in tantivy_documents(&fields, document) {
                        writer.add_document(doc)?;
                    }
                }
            }
            Err(problem) => summary.skipped.push(problem),
        }
    }

    let payload = CommitPayload {
        schema_version: SCHEMA_VERSION,
        corpus: corpus_root
            .canonicalize()
            .unwrap_or_else(|_| corpus_root.to_path_buf()),
    };
    let mut commit = writer.prepare_commit()?;
    commit.set_payload(&serde_json::to_string(&payload).expect("payload serializes"));
    commit.commit()?;
    writer.wait_merging_threads()?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Opens the index in `dir`, or creates an empty one. With `rebuild`, an index of another schema
/// version is replaced instead of refused.
fn create_or_open(dir: &Path, rebuild: bool) -> Result<tantivy::Index> {
    match open_tantivy(dir) {
        Ok(Some(index)) => return Ok(index),
        Ok(None) => {}
        Err(Error::SchemaMismatch { .. }) if rebuild => remove_index_files(dir)?,
        Err(err) => return Err(err),
    }
    std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, err))?;
    let is_empty = std::fs::read_dir(dir)
        .map_err(|err| Error::io(dir, err))?
        .next()
        .is_none();
    if !is_empty {
        return Err(Error::io(
            dir,
            std::io::Error::other("exists and is not an ai-search index; refusing to write there"),
        ));
    }
    let index = tantivy::Index::create_in_dir(dir, schema::build_schema())?;
    schema::register_tokenizers(index.tokenizers());
    Ok(index)
}

/// Removes the files of an index of another schema version: everything in the folder, which
/// holds `meta.json` and so is an index folder.
fn remove_index_files(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|err| Error::io(dir, err))? {
        let path = entry.map_err(|err| Error::io(dir, err))?.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|err| Error::io(&path, err))?;
    }
    Ok(())
}

/// One tantivy document per paragraph.
fn tantivy_documents<'a>(
    fields: &'a Fields,
    document: &'a Document,
) -> impl Iterator<Item = TantivyDocument> + 'a {
    document
        .paragraphs
        .iter()
        .enumerate()
        .map(move |(number, paragraph)| {
            let doc_hash = schema::doc_hash(&document.key);
            let mut doc = TantivyDocument::default();
            doc.add_text(fields.doc, &document.key);
            doc.add_u64(fields.doc_hash, doc_hash);
            doc.add_text(fields.path, &document.path);
            if let Some(id) = &document.id {
                doc.add_text(fields.id, id);
            }
            doc.add_u64(fields.paragraph, number as u64 + 1);
            doc.add_u64(
                fields.words,
                paragraph.text.split_whitespace().count() as u64,
            );
            doc.add_text(fields.text, &paragraph.text);
            doc.add_u64(fields.text_hash, schema::text_hash(&paragraph.text));
            if number == 0 {
                for paragraph in &document.paragraphs {
                    doc.add_text(fields.spelling, &paragraph.text);
                }
            }
            doc.add_text(fields.topic, &document.topic);
            doc.add_text(fields.topic_facet, &document.topic);
            if let Some(section) = &paragraph.section {
                doc.add_text(fields.section, section);
            }
            for author in &document.authors {
                doc.add_text(fields.author, author);
                doc.add_text(fields.author_facet, author);
            }
            for alias in &document.author_aliases {
                doc.add_text(fields.author_aliases, alias);
            }
            for tag in &document.tags {
                doc.add_text(fields.tags, tag);
            }
            if let Some(date) = &document.date {
                doc.add_text(fields.date, date);
                if let Some(day) = crate::date::IsoDate::parse(date) {
                    doc.add_u64(fields.day, day.number());
                }
            }
            if let Some(url) = &document.url {
                doc.add_text(fields.url, url);
            }
            doc
        })
}
