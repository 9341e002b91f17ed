//! Opening an index for search, and what each commit records about itself.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
};
use tantivy::{IndexReader, ReloadPolicy, TantivyError};

use crate::error::{Error, Result};
use crate::schema::{self, Fields, SCHEMA_VERSION};

/// tantivy's own file that marks a folder as an index.
pub(crate) const META_FILE: &str = "meta.json";

/// What the index records about itself in each commit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CommitPayload {
    pub schema_version: u32,
    /// The corpus folder the index was built from.
    pub corpus: PathBuf,
    /// Counts commits; names the manifest file.
    pub generation: u64,
    /// The file, in the index folder, that lists the files this commit holds.
    pub manifest: String,
    /// xxh3 hash of the corpus's aliases file when this commit was made, if it had one: names
    /// are resolved while indexing, so a changed aliases file means reading every file again.
    #[serde(default)]
    pub aliases: Option<u64>,
}

/// An index opened for searching.
pub struct SearchIndex {
    pub(crate) index: tantivy::Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    pub(crate) stop_words: tantivy::tokenizer::TextAnalyzer,
    pub(crate) columns: std::sync::Arc<crate::search::ColumnCache>,
    dir: PathBuf,
    /// `meta.json` as it was just before the reader last loaded, for [`SearchIndex::refresh`].
    loaded: Mutex<Option<MetaStamp>>,
}

impl SearchIndex {
    /// Opens the index in `dir`.
    ///
    /// Fails with [`Error::IndexNotFound`] when there is none and with [`Error::SchemaMismatch`]
    /// when it was built by a version of ai-search with another schema.
    ///
    /// An index in a read-only folder can be opened. An indexer committing meanwhile is harmless:
    /// the index opens at its last complete commit.
    pub fn open(dir: impl AsRef<Path>) -> Result<SearchIndex> {
        let dir = dir.as_ref();
        // Taken before opening: a commit landing meanwhile makes the next refresh reload.
        let stamp = MetaStamp::of(dir);
        let mut attempts = 0;
        let (index, reader) = loop {
            // A concurrent commit may remove a file of the commit being opened: try again.
            match open_for_search(dir) {
                Err(Error::Tantivy(err)) if attempts < OPEN_ATTEMPTS && is_missing_file(&err) => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let fields = Fields::resolve(&index.schema()).ok_or_else(|| mismatch(dir, "unknown"))?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            stop_words: crate::query::stop_word_analyzer(),
            columns: Default::default(),
            dir: dir.to_path_buf(),
            loaded: Mutex::new(stamp),
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

    /// Picks up a commit made since the index was opened or last refreshed, and tells whether it
    /// reloaded. Cheap when nothing changed (one `stat` of `meta.json`, which every commit
    /// replaces), so a long-running server can call it before every query; [`reload`] instead
    /// opens every segment again and starts with cold caches.
    ///
    /// On an error (a concurrent commit can delete files while they are being opened) the
    /// searches go on over the commit loaded before, and the next call tries again.
    ///
    /// [`reload`]: SearchIndex::reload
    pub fn refresh(&self) -> Result<bool> {
        let stamp = MetaStamp::of(&self.dir);
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if stamp.is_some() && *loaded == stamp {
            return Ok(false);
        }
        self.reader.reload()?;
        *loaded = stamp;
        Ok(true)
    }
}

/// What identifies one version of `meta.json`: tantivy writes it to a new file and renames that
/// over the old one at every commit, so the inode changes even within one clock tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MetaStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl MetaStamp {
    /// The stamp of the `meta.json` in `dir`; `None` when it cannot be read.
    fn of(dir: &Path) -> Option<MetaStamp> {
        let metadata = std::fs::metadata(dir.join(META_FILE)).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Some(MetaStamp {
            modified: metadata.modified().ok(),
            len: metadata.len(),
            inode,
        })
    }
}

/// Times to try opening an index that a concurrent commit changes under us.
const OPEN_ATTEMPTS: usize = 5;

/// Opens the index in `dir` through [`SearchDirectory`], without taking a writer's locks.
fn open_read_only(dir: &Path) -> Result<tantivy::Index> {
    if !dir.join(META_FILE).is_file() {
        return Err(Error::IndexNotFound(dir.to_path_buf()));
    }
    let directory = SearchDirectory(
        MmapDirectory::open(dir)
            .map_err(|err| Error::Tantivy(TantivyError::OpenDirectoryError(err)))?,
    );
    Ok(tantivy::Index::open(directory)?)
}

/// Decompressed blocks of the doc store a reader keeps per segment (64 KiB each: at most 16 MiB a
/// segment, filled only by the blocks that queries read). A hit reads its own block and its
/// document's first paragraph's, each copy listed another: tantivy's default of 100 held too few
/// of them for a session of queries on a 100 MB index, and a miss decompresses the block again.
const STORE_CACHE_BLOCKS: usize = 256;

fn open_for_search(dir: &Path) -> Result<(tantivy::Index, IndexReader)> {
    let index = open_read_only(dir)?;
    check_version(dir, &index)?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .doc_store_cache_num_blocks(STORE_CACHE_BLOCKS)
        .try_into()?;
    Ok((index, reader))
}

fn is_missing_file(err: &TantivyError) -> bool {
    matches!(
        err,
        TantivyError::OpenReadError(OpenReadError::FileDoesNotExist(_))
    )
}

/// Opens the tantivy index in `dir` for writing, with its last commit's payload, and checks its
/// schema version; `None` if there is no index.
pub(crate) fn open_tantivy(dir: &Path) -> Result<Option<(tantivy::Index, Option<CommitPayload>)>> {
    if !dir.join(META_FILE).is_file() {
        return Ok(None);
    }
    let index = tantivy::Index::open_in_dir(dir)?;
    let payload = check_version(dir, &index)?;
    Ok(Some((index, payload)))
}

/// Registers our tokenizers and checks the schema version the last commit recorded.
fn check_version(dir: &Path, index: &tantivy::Index) -> Result<Option<CommitPayload>> {
    schema::register_tokenizers(index.tokenizers());
    /// Only the version, which every version of the payload has.
    #[derive(Deserialize)]
    struct Version {
        schema_version: u32,
    }
    let payload = index.load_metas()?.payload;
    let version = payload
        .as_deref()
        .and_then(|payload| serde_json::from_str::<Version>(payload).ok())
        .map(|payload| payload.schema_version);
    let payload = payload
        .as_deref()
        .and_then(|payload| serde_json::from_str::<CommitPayload>(payload).ok());
    if version != Some(SCHEMA_VERSION) || index.schema() != schema::build_schema() {
        let found = version.map_or_else(|| "unknown".to_string(), |v| v.to_string());
        return Err(mismatch(dir, &found));
    }
    Ok(payload)
}

/// A memory-mapped index folder for searching: where the folder is read-only, reading goes on
/// without tantivy's lock files (no writer can change such a folder anyway).
#[derive(Clone, Debug)]
struct SearchDirectory(MmapDirectory);

impl Directory for SearchDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.0.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.0.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.0.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.0.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.0.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        self.0.atomic_write(path, data)
    }

    fn sync_directory(&self) -> std::io::Result<()> {
        self.0.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        match self.0.acquire_lock(lock) {
            Err(LockError::IoError(err)) if is_read_only(&err) => {
                Ok(DirectoryLock::from(Box::new(())))
            }
            other => other,
        }
    }

    fn watch(&self, callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.0.watch(callback)
    }
}

fn is_read_only(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

pub(crate) fn mismatch(dir: &Path, found: &str) -> Error {
    Error::SchemaMismatch {
        path: dir.to_path_buf(),
        found: found.to_string(),
        expected: SCHEMA_VERSION,
    }
}

/// What [`SearchIndex::check`] found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckReport {
    pub segments: usize,
    pub paragraphs: u64,
    /// Files the manifest lists.
    pub files: usize,
    /// Everything found wrong; empty when the index is sound.
    pub problems: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the index in `dir`: the checksum of every file first (a damaged file must not be
/// opened), then that every stored paragraph can be read and that the manifest agrees with the
/// index.
pub fn check_index(dir: impl AsRef<Path>) -> Result<CheckReport> {
    let dir = dir.as_ref();
    let index = open_read_only(dir)?;
    let payload = check_version(dir, &index)?;
    let mut report = CheckReport::default();
    for file in index.validate_checksum()? {
        report
            .problems
            .push(format!("{}: checksum mismatch", file.display()));
    }
    if !report.is_ok() {
        return Ok(report);
    }
    let fields = Fields::resolve(&index.schema()).ok_or_else(|| mismatch(dir, "?"))?;
    match read_every_paragraph(&index, &fields) {
        Ok((segments, paragraphs, problems)) => {
            report.segments = segments;
            report.paragraphs = paragraphs;
            report.problems.extend(problems);
        }
        Err(err) => report.problems.push(err.to_string()),
    }
    match payload {
        None => report
            .problems
            .push("the last commit records no manifest".into()),
        Some(payload) => match crate::indexer::read_manifest(dir, &payload) {
            Err(err) => report.problems.push(err.to_string()),
            Ok(manifest) => {
                report.files = manifest.len();
                let listed: u64 = manifest.values().map(|record| record.paragraphs).sum();
                if listed != report.paragraphs {
                    report.problems.push(format!(
                        "the manifest lists {listed} paragraphs, the index holds {}",
                        report.paragraphs
                    ));
                }
            }
        },
    }
    Ok(report)
}

/// Segments, paragraphs, and the problems met reading every stored paragraph (and the fields of
/// every document, on its first paragraph).
fn read_every_paragraph(
    index: &tantivy::Index,
    fields: &Fields,
) -> Result<(usize, u64, Vec<String>)> {
    use tantivy::schema::Value;
    let reader: IndexReader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    let searcher = reader.searcher();
    let mut problems = Vec::new();
    for segment in searcher.segment_readers() {
        let store = segment
            .get_store_reader(1)
            .map_err(|err| Error::Tantivy(err.into()))?;
        let paragraph = segment.fast_fields().u64(schema::names::PARAGRAPH)?;
        for doc in segment.doc_ids_alive() {
            let problem = match store.get::<tantivy::TantivyDocument>(doc) {
                Err(err) => format!("cannot be read ({err})"),
                Ok(stored) => {
                    let first = paragraph.first(doc) == Some(1);
                    let document = stored
                        .get_first(fields.document)
                        .and_then(|value| value.as_bytes())
                        .map(serde_json::from_slice::<schema::DocumentFields>);
                    match document {
                        Some(Err(err)) => format!("has unreadable document fields ({err})"),
                        None if first => "lacks its document's fields".to_string(),
                        _ => continue,
                    }
                }
            };
            problems.push(format!(
                "segment {}: paragraph {doc} {problem}",
                segment.segment_id().uuid_string()
            ));
            break;
        }
    }
    Ok((
        searcher.segment_readers().len(),
        searcher.num_docs(),
        problems,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build_index, IndexOptions, NoProgress};

    /// Writes `text` to the corpus file `name` and indexes the corpus.
    fn index_file(index_dir: &Path, corpus: &Path, name: &str, text: &str) {
        std::fs::write(corpus.join(name), text).unwrap();
        build_index(index_dir, corpus, &IndexOptions::default(), &NoProgress).unwrap();
    }

    #[test]
    fn check_reports_a_document_without_readable_fields() {
        let corpus = tempfile::tempdir().unwrap();
        let index_dir = tempfile::tempdir().unwrap();
        index_file(index_dir.path(), corpus.path(), "a.txt", "One.\n\nTwo.\n");
        assert!(check_index(index_dir.path()).unwrap().is_ok());

        // A first paragraph whose document fields are not JSON, committed like the indexer does.
        let index = tantivy::Index::open_in_dir(index_dir.path()).unwrap();
        schema::register_tokenizers(index.tokenizers());
        let fields = Fields::resolve(&index.schema()).unwrap();
        let payload = index.load_metas().unwrap().payload.unwrap();
        let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        let mut doc = tantivy::TantivyDocument::default();
        doc.add_u64(fields.paragraph, 1);
        doc.add_bytes(fields.document, b"{not json".as_slice());
        writer.add_document(doc).unwrap();
        let mut commit = writer.prepare_commit().unwrap();
        commit.set_payload(&payload);
        commit.commit().unwrap();

        let report = check_index(index_dir.path()).unwrap();
        assert!(
            report.problems.iter().any(|problem| problem
                .contains("paragraph 0 has unreadable document fields (key must be a string")),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn refresh_reloads_only_after_a_commit() {
        let corpus = tempfile::tempdir().unwrap();
        let index_dir = tempfile::tempdir().unwrap();
        let index =
            |text: &str, name: &str| index_file(index_dir.path(), corpus.path(), name, text);
        index("One paragraph.\n", "a.txt");
        let search = SearchIndex::open(index_dir.path()).unwrap();
        assert!(!search.refresh().unwrap(), "nothing changed since opening");
        assert_eq!(search.num_paragraphs(), 1);

        index("Another paragraph.\n", "b.txt");
        assert_eq!(search.num_paragraphs(), 1, "no reload without asking");
        assert!(search.refresh().unwrap());
        assert_eq!(search.num_paragraphs(), 2);
        assert!(!search.refresh().unwrap());
    }
}
