//! Building and refreshing the index from a corpus folder: incremental, parallel and crash-safe.
//!
//! Each run re-reads only the files whose size, modification time or content changed since the
//! last commit, and replaces their paragraphs; the paragraphs of deleted files go. The manifest of
//! indexed files (path, size, modification time, content hash) is written to a file of its own
//! that the commit's payload names, so a commit and its manifest can never disagree: a run killed
//! at any moment leaves the last commit, with its manifest, intact.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tantivy::directory::error::LockError;
use tantivy::indexer::UserOperation;
use tantivy::merge_policy::{LogMergePolicy, MergeCandidate, MergePolicy};
use tantivy::{IndexWriter, SegmentMeta, TantivyDocument, TantivyError, Term};

use crate::corpus::{self, Corpus, CorpusFile, Document, Problem};
use crate::error::{Error, Result};
use crate::index::{self, CommitPayload, META_FILE};
use crate::schema::{self, Fields, SCHEMA_VERSION};

/// The lock that keeps a second indexer out (held with `flock`, so a killed process leaves no
/// stale lock behind).
const LOCK_FILE: &str = "ai-search.lock";
/// Manifest files are `ai-search-manifest-<generation>.json.zst` (zstd-compressed JSON; indexes
/// of earlier versions have plain `.json` ones, still read).
const MANIFEST_PREFIX: &str = "ai-search-manifest-";
/// Bytes of paragraphs that may wait in tantivy's queue for its indexing threads.
const MAX_QUEUED_BYTES: usize = 32 << 20;

/// How to build an index.
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// Throw away an existing index (of any schema version) and read every file again.
    pub rebuild: bool,
    /// Memory the indexer may use for its in-memory segments, in bytes (default 128 MiB: at
    /// 256 MiB a 1 GB corpus peaked at 1.7 GiB of RSS, with bigger merges, and built no faster).
    pub memory_budget: usize,
    /// Threads that read and parse files, and tantivy's indexing threads (0: one per core, and
    /// one indexing thread for a corpus under 16 MiB).
    pub threads: usize,
}

impl Default for IndexOptions {
    fn default() -> IndexOptions {
        IndexOptions {
            rebuild: false,
            memory_budget: 128 << 20,
            threads: 0,
        }
    }
}

/// Told how an indexing run advances, for a progress bar. Every method may be called from any of
/// the indexer's threads.
pub trait Progress: Sync {
    /// The corpus has been listed: this many files of our formats, this many bytes.
    fn start(&self, _files: u64, _bytes: u64) {}
    /// One more file was dealt with (read, found unchanged, or skipped).
    fn file_done(&self, _bytes: u64) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {}

/// What an indexing run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IndexSummary {
    /// Files indexed for the first time.
    pub added: usize,
    /// Files whose content changed and that were indexed again.
    pub updated: usize,
    /// Files gone from the corpus, whose paragraphs were removed.
    pub removed: usize,
    /// Files found unchanged (not read again, or read and found identical).
    pub unchanged: usize,
    /// Files read this run (added and updated).
    pub files: usize,
    /// Documents and paragraphs indexed this run.
    pub documents: usize,
    pub paragraphs: usize,
    /// Bytes of the files read this run.
    pub bytes: u64,
    /// Files that could not be indexed, with the reason; a file indexed before keeps its old
    /// paragraphs.
    #[serde(serialize_with = "display_all")]
    pub skipped: Vec<Problem>,
    /// Parts of files that were left out or cut (a malformed JSON line, bad front matter).
    #[serde(serialize_with = "display_all")]
    pub warnings: Vec<Problem>,
    /// Files and paragraphs in the index after the run.
    pub total_files: usize,
    pub total_paragraphs: u64,
    /// False when nothing had changed and no commit was made.
    pub committed: bool,
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

/// What the index knows of one corpus file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileRecord {
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime: u64,
    /// xxh3 hash of the content.
    pub hash: u64,
    pub paragraphs: u64,
}

/// Relative path → record, for every file whose paragraphs are in the index.
pub(crate) type Manifest = BTreeMap<String, FileRecord>;

/// Indexes the corpus folder into the index in `index_dir`, creating it if needed, in one atomic
/// commit: readers see either the previous state or the new one.
///
/// Files that cannot be read are reported in the summary and the rest is indexed; a file that was
/// indexed before and cannot be read now keeps its paragraphs.
pub fn build_index(
    index_dir: impl AsRef<Path>,
    corpus_root: impl AsRef<Path>,
    options: &IndexOptions,
    progress: &dyn Progress,
) -> Result<IndexSummary> {
    let started = Instant::now();
    let (index_dir, corpus_root) = (index_dir.as_ref(), corpus_root.as_ref());
    check_corpus_root(corpus_root)?;
    prepare_index_dir(index_dir)?;
    let _lock = lock(index_dir)?;

    let (index, old_payload) = open_or_create(index_dir, options.rebuild)?;
    let fields = Fields::resolve(&index.schema()).ok_or_else(|| index::mismatch(index_dir, "?"))?;
    let old_manifest = match (&old_payload, options.rebuild) {
        (Some(payload), false) => read_manifest(index_dir, payload)?,
        _ => Manifest::new(),
    };
    let mut summary = IndexSummary::default();
    let corpus = Corpus::new(corpus_root).exclude(index_dir);
    let mut files = Vec::new();
    let mut unreadable_folders = Vec::new();
    for entry in corpus.walk() {
        match entry {
            Ok(file) => match std::fs::metadata(&file.path) {
                Ok(metadata) => files.push((file, Stat::of(&metadata))),
                Err(err) => summary.skipped.push(Problem::new(
                    &file.relative,
                    corpus::describe_io_error(&err),
                )),
            },
            Err(problem) => {
                // Whatever was indexed below a folder that cannot be listed now is kept.
                unreadable_folders.push(problem.path.to_string_lossy().into_owned());
                summary.skipped.push(problem);
            }
        }
    }
    let corpus_bytes = files.iter().map(|(_, stat)| stat.size).sum();
    progress.start(files.len() as u64, corpus_bytes);

    let indexing_threads = match options.threads {
        0 if corpus_bytes < ONE_SEGMENT_BYTES => 1,
        n => n,
    };
    let mut writer: IndexWriter<Queued> = match indexing_threads {
        0 => index.writer(options.memory_budget),
        n => index.writer_with_num_threads(n, options.memory_budget),
    }
    .map_err(|err| match err {
        TantivyError::LockFailure(LockError::LockBusy, _) => Error::Locked(index_dir.to_path_buf()),
        other => Error::Tantivy(other),
    })?;
    writer.set_merge_policy(Box::new(MergeSmallSegments::default()));
    if options.rebuild {
        writer.delete_all_documents()?;
    }

    let aliases = std::fs::read(corpus_root.join(corpus::ALIASES_FILE))
        .ok()
        .map(|bytes| xxhash_rust::xxh3::xxh3_64(&bytes));
    let reread_all = old_payload
        .as_ref()
        .is_some_and(|old| old.aliases != aliases);
    let outcomes = process_files(
        &files,
        &old_manifest,
        &fields,
        &writer,
        options,
        reread_all,
        progress,
    )?;

    let mut manifest = Manifest::new();
    let mut seen = BTreeSet::new();
    for ((file, _), outcome) in files.iter().zip(outcomes) {
        seen.insert(file.relative.clone());
        let old = old_manifest.get(&file.relative);
        match outcome {
            Outcome::Unchanged(record) => {
                summary.unchanged += 1;
                manifest.insert(file.relative.clone(), record);
            }
            Outcome::Indexed {
                record,
                documents,
                problems,
            } => {
                if old.is_some() {
                    summary.updated += 1;
                } else {
                    summary.added += 1;
                }
                summary.files += 1;
                summary.documents += documents;
                summary.paragraphs += record.paragraphs as usize;
                summary.bytes += record.size;
                summary.warnings.extend(problems);
                manifest.insert(file.relative.clone(), record);
            }
            Outcome::Skipped(problem) => {
                summary.skipped.push(problem);
                if let Some(old) = old {
                    manifest.insert(file.relative.clone(), old.clone());
                }
            }
        }
    }
    for (path, record) in &old_manifest {
        if seen.contains(path) {
            continue;
        }
        let under_unreadable = unreadable_folders
            .iter()
            .any(|folder| folder.is_empty() || path.starts_with(&format!("{folder}/")));
        if under_unreadable {
            manifest.insert(path.clone(), record.clone());
        } else {
            writer.delete_term(Term::from_field_text(fields.path, path));
            summary.removed += 1;
        }
    }

    let changed = options.rebuild
        || old_payload.is_none()
        || summary.files > 0
        || summary.removed > 0
        || manifest != old_manifest;
    if changed {
        let generation = old_payload.as_ref().map_or(0, |p| p.generation) + 1;
        let manifest_file = write_manifest(index_dir, generation, &manifest)?;
        let payload = CommitPayload {
            schema_version: SCHEMA_VERSION,
            corpus: corpus_root
                .canonicalize()
                .unwrap_or_else(|_| corpus_root.to_path_buf()),
            generation,
            manifest: manifest_file.clone(),
            aliases,
        };
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&serde_json::to_string(&payload).expect("payload serializes"));
        commit.commit()?;
        remove_stale_manifests(index_dir, &manifest_file);
        summary.committed = true;
    } else {
        writer.rollback()?;
    }
    // Merges finish before the lock is released; tantivy removes the files they free.
    writer.wait_merging_threads()?;

    let order = |a: &Problem, b: &Problem| (&a.path, a.line).cmp(&(&b.path, b.line));
    summary.skipped.sort_by(order);
    summary.warnings.sort_by(order);
    summary.total_files = manifest.len();
    summary.total_paragraphs = manifest.values().map(|record| record.paragraphs).sum();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// A corpus under this many bytes is indexed on one of tantivy's threads, which writes one
/// segment: each segment repeats the term dictionaries, and the two halves that two threads wrote
/// of a 10 MB corpus made its index 5% larger (10.37 MB against 9.81), for 0.10–0.17 s saved on a
/// build of 0.5–0.8 s (five alternating builds each).
const ONE_SEGMENT_BYTES: u64 = 16 << 20;

/// Segments under this many paragraphs, and under a quarter of the largest, are small: tantivy's
/// policy leaves them until there are eight of a size, and they are merged sooner here. Each
/// indexing thread writes a segment whenever its share of the memory budget fills (about 200,000
/// paragraphs at the default budget), and one more at the commit with what it holds then; those
/// last ones, and a re-index's, are small. Every segment costs every query a fixed amount of work
/// (each stage looks the query's terms up in each segment): merging the two that a 100 MB corpus's
/// build left (8,000 and 19,000 paragraphs) took 0.13 s and made warm queries 5% faster; the two of
/// a 1 GB corpus (65,000 and 80,000) took 0.5 s, for 2–3% (one segment of eight, within the noise
/// of that machine).
///
/// Segments of like size are left to tantivy's policy: the two halves of a 10 MB build took a
/// third of the build time to merge (such a corpus is now indexed on one thread, see
/// [`ONE_SEGMENT_BYTES`]), and one segment instead of four made warm queries at 100 MB
/// slower, not faster, as the store's cache of decompressed blocks is per segment
/// (`STORE_CACHE_BLOCKS` in `src/index.rs`).
const SMALL_SEGMENT_PARAGRAPHS: u32 = 100_000;

/// A small segment joins the merge of the smaller ones only when it holds at most this many times
/// as many paragraphs as they do together: a re-index merges its few new paragraphs with each
/// other, and copies a small segment an earlier run left only once enough have gathered, so a
/// paragraph is copied a few times in all rather than at every run. Re-indexing 1% of the Markdown
/// files of a 100 MB corpus four times over took 0.16–0.17 s a run and left four segments; with
/// tantivy's policy alone, 0.14–0.16 s and six segments, and warm queries 6% slower.
const SMALL_SEGMENT_GROWTH: u32 = 4;

/// A segment whose paragraphs are more than this share deleted is merged (with the others of its
/// size): tantivy's default, 1.0, keeps a segment until every paragraph in it is gone, and 200
/// incremental runs over a small corpus, each rewriting 1% of its files, left its index at up to
/// 1.99 times the size of a fresh build.
const DELETED_SHARE_BEFORE_MERGE: f32 = 0.5;

/// tantivy's log merge policy, and besides it the small segments (see [`SMALL_SEGMENT_PARAGRAPHS`])
/// merged into one, from the smallest up.
#[derive(Debug)]
struct MergeSmallSegments(LogMergePolicy);

impl Default for MergeSmallSegments {
    fn default() -> MergeSmallSegments {
        let mut policy = LogMergePolicy::default();
        policy.set_del_docs_ratio_before_merge(DELETED_SHARE_BEFORE_MERGE);
        MergeSmallSegments(policy)
    }
}

impl MergePolicy for MergeSmallSegments {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let mut candidates = self.0.compute_merge_candidates(segments);
        let largest = segments
            .iter()
            .map(SegmentMeta::num_docs)
            .max()
            .unwrap_or(0);
        let limit = SMALL_SEGMENT_PARAGRAPHS.min(largest / 4);
        let mut small: Vec<&SegmentMeta> = segments
            .iter()
            .filter(|segment| segment.num_docs() < limit)
            .filter(|segment| {
                !candidates
                    .iter()
                    .any(|candidate| candidate.0.contains(&segment.id()))
            })
            .collect();
        small.sort_by_key(|segment| segment.num_docs());
        let mut merged = Vec::new();
        let mut paragraphs = 0;
        for segment in small {
            if !merged.is_empty() && segment.num_docs() > paragraphs * SMALL_SEGMENT_GROWTH {
                break;
            }
            merged.push(segment.id());
            paragraphs += segment.num_docs();
        }
        if merged.len() >= 2 {
            candidates.push(MergeCandidate(merged));
        }
        candidates
    }
}

/// Size and modification time of a file.
#[derive(Clone, Copy)]
struct Stat {
    size: u64,
    mtime: u64,
}

impl Stat {
    fn of(metadata: &std::fs::Metadata) -> Stat {
        let mtime = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_nanos() as u64);
        Stat {
            size: metadata.len(),
            mtime,
        }
    }
}

enum Outcome {
    Unchanged(FileRecord),
    Indexed {
        record: FileRecord,
        documents: usize,
        problems: Vec<Problem>,
    },
    Skipped(Problem),
}

/// Deals with every file on a pool of threads; the outcomes come back in the order of `files`.
/// With `reread_all`, unchanged files are read again too.
fn process_files(
    files: &[(CorpusFile, Stat)],
    old_manifest: &Manifest,
    fields: &Fields,
    writer: &IndexWriter<Queued>,
    options: &IndexOptions,
    reread_all: bool,
    progress: &dyn Progress,
) -> Result<Vec<Outcome>> {
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let backlog = Arc::new(Backlog::default());
    let outcomes: Mutex<Vec<Option<Outcome>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(files.len()).collect());
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let writing = Writing {
                    fields,
                    writer,
                    backlog: &backlog,
                };
                let mut vocabulary = Vocabulary::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((file, stat)) = files.get(i) else {
                        break;
                    };
                    let old = old_manifest.get(&file.relative);
                    match process_file(file, *stat, old, reread_all, &writing, &mut vocabulary) {
                        Ok(outcome) => {
                            outcomes.lock().expect("no panics while held")[i] = Some(outcome)
                        }
                        Err(err) => {
                            failure
                                .lock()
                                .expect("no panics while held")
                                .get_or_insert(err);
                            next.store(files.len(), Ordering::Relaxed);
                        }
                    }
                    progress.file_done(stat.size);
                }
            });
        }
    });
    if let Some(err) = failure.into_inner().expect("threads are done") {
        return Err(err);
    }
    Ok(outcomes
        .into_inner()
        .expect("threads are done")
        .into_iter()
        .map(|outcome| outcome.expect("every file was dealt with"))
        .collect())
}

/// Where a reading thread sends the paragraphs it reads.
struct Writing<'a> {
    fields: &'a Fields,
    writer: &'a IndexWriter<Queued>,
    backlog: &'a Arc<Backlog>,
}

/// Indexes one file if it changed. Its old paragraphs are deleted only once new ones are there
/// to replace them.
fn process_file(
    file: &CorpusFile,
    stat: Stat,
    old: Option<&FileRecord>,
    reread: bool,
    writing: &Writing,
    vocabulary: &mut Vocabulary,
) -> Result<Outcome> {
    let Writing {
        fields,
        writer,
        backlog,
    } = *writing;
    let unchanged = |old: &&FileRecord| !reread && old.size == stat.size && old.mtime == stat.mtime;
    if let Some(old) = old.filter(unchanged) {
        return Ok(Outcome::Unchanged(old.clone()));
    }
    let hash = match content_hash(&file.path) {
        Ok(hash) => hash,
        Err(err) => {
            return Ok(Outcome::Skipped(Problem::new(
                &file.relative,
                corpus::describe_io_error(&err),
            )))
        }
    };
    if let Some(old) = old.filter(|old| !reread && old.hash == hash) {
        return Ok(Outcome::Unchanged(FileRecord {
            mtime: stat.mtime,
            ..old.clone()
        }));
    }
    let mut replaced = false;
    let mut paragraphs = 0u64;
    let mut failure = None;
    let read = corpus::read_file(file, &mut |document: Document| {
        if failure.is_some() {
            return;
        }
        if !replaced {
            writer.delete_term(Term::from_field_text(fields.path, &file.relative));
            replaced = true;
        }
        let mut ticket = Some(backlog.enter(queued_bytes(&document)));
        let count = document.paragraphs.len();
        // One batch: a document's paragraphs go to one segment, side by side and in order, where
        // search finds a hit's context without a query. The ticket goes with the last paragraph.
        let words = vocabulary.listed_words(&document);
        let batch: Vec<_> = tantivy_documents(fields, &document, words)
            .enumerate()
            .map(|(i, doc)| {
                let ticket = if i + 1 == count { ticket.take() } else { None };
                UserOperation::Add(Queued {
                    doc,
                    _ticket: ticket,
                })
            })
            .collect();
        let count = count as u64;
        if let Err(err) = writer.run(batch) {
            failure = Some(err);
            return;
        }
        paragraphs += count;
    });
    if let Some(err) = failure {
        return Err(err.into());
    }
    match read {
        Ok(read) if read.documents > 0 => Ok(Outcome::Indexed {
            record: FileRecord {
                size: stat.size,
                mtime: stat.mtime,
                hash,
                paragraphs,
            },
            documents: read.documents,
            problems: read.problems,
        }),
        // Nothing usable in it: report every problem, keep what was indexed before.
        Ok(read) => {
            let reason = read
                .problems
                .first()
                .map(|problem| match problem.line {
                    Some(line) => format!("no usable record (line {line}: {})", problem.message),
                    None => format!("nothing usable ({})", problem.message),
                })
                .unwrap_or_else(|| "no text to index".to_string());
            Ok(Outcome::Skipped(Problem::new(&file.relative, reason)))
        }
        Err(problem) => Ok(Outcome::Skipped(problem)),
    }
}

/// A paragraph on its way to tantivy's indexing threads. tantivy's queue holds 10,000 batches (a
/// document's paragraphs each) whatever their size: the reading threads, faster than the
/// indexing ones, would keep it full, and at a gigabyte of corpus that was half the indexer's
/// memory. So each batch holds a [`Ticket`] from the [`Backlog`] until it is indexed.
struct Queued {
    doc: TantivyDocument,
    _ticket: Option<Ticket>,
}

impl tantivy::Document for Queued {
    type Value<'a> = <TantivyDocument as tantivy::Document>::Value<'a>;
    type FieldsValuesIter<'a> = <TantivyDocument as tantivy::Document>::FieldsValuesIter<'a>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        self.doc.iter_fields_and_values()
    }
}

/// The bytes of paragraphs waiting in tantivy's queue.
#[derive(Default)]
struct Backlog {
    queued: Mutex<usize>,
    drained: Condvar,
}

impl Backlog {
    /// Waits until the queue has room for `bytes` more (or nothing left it for a second: the
    /// indexing threads may have stopped on an error, which the writer then reports), and counts
    /// them in.
    fn enter(self: &Arc<Backlog>, bytes: usize) -> Ticket {
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        while *queued > 0 && *queued + bytes > MAX_QUEUED_BYTES {
            let before = *queued;
            let (after, wait) = self
                .drained
                .wait_timeout(queued, Duration::from_secs(1))
                .unwrap_or_else(PoisonError::into_inner);
            queued = after;
            if wait.timed_out() && *queued >= before {
                break;
            }
        }
        *queued += bytes;
        Ticket {
            backlog: Arc::clone(self),
            bytes,
        }
    }
}

/// Room taken in the [`Backlog`], given back when dropped.
struct Ticket {
    backlog: Arc<Backlog>,
    bytes: usize,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut queued = self
            .backlog
            .queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *queued -= self.bytes;
        self.backlog.drained.notify_all();
    }
}

/// About what a document's paragraphs take in memory as tantivy documents: each carries the
/// document's metadata.
fn queued_bytes(document: &Document) -> usize {
    let metadata = document.key.len()
        + document.path.len()
        + 2 * document.topic.len()
        + document.tags.iter().map(String::len).sum::<usize>()
        + 2 * document.authors.iter().map(String::len).sum::<usize>()
        + document.url.as_ref().map_or(0, String::len)
        + 256;
    document
        .paragraphs
        .iter()
        .map(|paragraph| paragraph.text.len() + metadata)
        .sum()
}

/// xxh3 hash of a file's content, read in blocks.
fn content_hash(path: &Path) -> std::io::Result<u64> {
    let mut file = File::open(path)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0; 256 << 10];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hasher.digest());
        }
        hasher.update(&buffer[..read]);
    }
}

fn check_corpus_root(corpus_root: &Path) -> Result<()> {
    let corpus_error = |message: String| Error::Corpus {
        path: corpus_root.to_path_buf(),
        message,
    };
    match std::fs::metadata(corpus_root) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(corpus_error("not a folder".into())),
        Err(err) => Err(corpus_error(corpus::describe_io_error(&err))),
    }
}

/// Creates the index folder; refuses a folder that holds something other than an index.
fn prepare_index_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, err))?;
    if dir.join(META_FILE).is_file() {
        return Ok(());
    }
    let foreign = std::fs::read_dir(dir)
        .map_err(|err| Error::io(dir, err))?
        .filter_map(|entry| entry.ok())
        .any(|entry| entry.file_name() != LOCK_FILE);
    if foreign {
        return Err(Error::io(
            dir,
            std::io::Error::other("exists and is not an ai-search index; refusing to write there"),
        ));
    }
    Ok(())
}

/// Takes the indexer's lock, or fails at once with [`Error::Locked`].
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| Error::io(&path, err))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(err)) => Err(Error::io(&path, err)),
    }
}

/// Opens the index with its last commit's payload, or creates an empty one. With `rebuild`, an
/// index of another schema version is replaced instead of refused.
fn open_or_create(dir: &Path, rebuild: bool) -> Result<(tantivy::Index, Option<CommitPayload>)> {
    match index::open_tantivy(dir) {
        Ok(Some(opened)) => return Ok(opened),
        Ok(None) => {}
        Err(Error::SchemaMismatch { .. }) if rebuild => remove_index_files(dir)?,
        Err(err) => return Err(err),
    }
    let index = tantivy::Index::builder()
        .schema(schema::build_schema())
        .settings(schema::index_settings())
        .create_in_dir(dir)?;
    schema::register_tokenizers(index.tokenizers());
    Ok((index, None))
}

/// Removes everything in an index folder but the lock.
fn remove_index_files(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|err| Error::io(dir, err))? {
        let entry = entry.map_err(|err| Error::io(dir, err))?;
        if entry.file_name() == LOCK_FILE {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|err| Error::io(&path, err))?;
    }
    Ok(())
}

/// The manifest that a commit's payload names.
pub(crate) fn read_manifest(dir: &Path, payload: &CommitPayload) -> Result<Manifest> {
    let path = dir.join(&payload.manifest);
    let bytes = std::fs::read(&path).map_err(|err| Error::io(&path, err))?;
    let corrupt = |message: String| Error::Corrupt {
        path: path.clone(),
        message,
    };
    let json = if payload.manifest.ends_with(".zst") {
        zstd::decode_all(&bytes[..]).map_err(|err| corrupt(err.to_string()))?
    } else {
        bytes
    };
    serde_json::from_slice(&json).map_err(|err| corrupt(err.to_string()))
}

/// Writes the manifest of generation `generation` durably, before the commit that names it.
fn write_manifest(dir: &Path, generation: u64, manifest: &Manifest) -> Result<String> {
    let name = format!("{MANIFEST_PREFIX}{generation}.json.zst");
    let path = dir.join(&name);
    let temporary = dir.join(format!("{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&temporary)?;
        let mut encoder = zstd::Encoder::new(std::io::BufWriter::new(&mut file), 3)?;
        serde_json::to_writer(&mut encoder, manifest)?;
        encoder.finish()?.flush()?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|err| Error::io(&path, err))?;
    Ok(name)
}

/// Removes manifests of older generations and ones left by killed runs.
fn remove_stale_manifests(dir: &Path, current: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(MANIFEST_PREFIX) && name != current {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The `spelling` field is a vocabulary: spelling corrections need a word to be listed there, not
/// how often it is used (that comes from the `text` field). Listing every word on every document
/// wrote 7% of the index and took about 15% of a build's CPU time. So a reading thread lists a word
/// on the first three documents that use it in a run and then on the 4th, 8th, 16th, … (18 listings
/// for a word in 100,000 documents), spread through the corpus, so that deleting or changing some
/// files later seldom takes a word out of the vocabulary (a rebuild puts back any that was).
const ALWAYS_LISTED_USES: u32 = 3;
/// Most words a reading thread keeps count of before starting afresh, which bounds its memory on
/// huge vocabularies (words are then listed a few more times).
const MAX_COUNTED_WORDS: usize = 1 << 18;

/// How many documents have used each word so far, for one reading thread.
#[derive(Default)]
struct Vocabulary {
    /// By the word's 64-bit hash (two words of a corpus sharing one are vanishingly rare, and would
    /// only list one of them less often): the number of documents that used it.
    uses: rustc_hash::FxHashMap<u64, u32>,
    /// The words of the document at hand so far, by their hash. About half the uses of a word
    /// repeat it in its document (52% of those in a 100 MB generated corpus); they are found here,
    /// in a table small enough to stay in the processor's caches, instead of in `uses` (a cache
    /// miss each, which took more than half of this method's time).
    in_document: rustc_hash::FxHashSet<u64>,
}

impl Vocabulary {
    /// The distinct words of two or more letters of `document` that it lists in the `spelling`
    /// field, separated by spaces: the tokenizer then sees each word once, not at every use.
    /// Corrections and splits of joined words are made of letters only.
    fn listed_words(&mut self, document: &Document) -> String {
        use std::hash::BuildHasher;
        self.in_document.clear();
        let mut words = String::new();
        for paragraph in &document.paragraphs {
            for word in paragraph.text.split(|c: char| !c.is_alphanumeric()) {
                if word.chars().nth(1).is_none() || !word.chars().all(char::is_alphabetic) {
                    continue;
                }
                let key = rustc_hash::FxBuildHasher.hash_one(word);
                if !self.in_document.insert(key) {
                    continue;
                }
                if self.uses.len() >= MAX_COUNTED_WORDS {
                    self.uses.clear();
                }
                let uses = self.uses.entry(key).or_default();
                *uses = uses.saturating_add(1);
                if *uses <= ALWAYS_LISTED_USES || uses.is_power_of_two() {
                    words.push_str(word);
                    words.push(' ');
                }
            }
        }
        words
    }
}

/// One tantivy document per paragraph; the first also stores the fields of the document as a
/// whole, holds its fast fields, authors and tags, and lists `words` in the `spelling` field.
fn tantivy_documents<'a>(
    fields: &'a Fields,
    document: &'a Document,
    mut words: String,
) -> impl Iterator<Item = TantivyDocument> + 'a {
    let doc_hash = schema::doc_hash(&document.key);
    let day = document
        .date
        .as_deref()
        .and_then(crate::date::IsoDate::parse)
        .map(|day| day.number());
    document
        .paragraphs
        .iter()
        .enumerate()
        .map(move |(number, paragraph)| {
            let mut doc = TantivyDocument::default();
            doc.add_text(fields.doc, &document.key);
            doc.add_text(fields.path, &document.path);
            doc.add_u64(fields.paragraph, number as u64 + 1);
            doc.add_u64(fields.words, word_count(&paragraph.text));
            doc.add_text(fields.text, &paragraph.text);
            let text_hash = schema::text_hash(&paragraph.text);
            doc.add_u64(fields.text_hash, text_hash);
            doc.add_u64(fields.text_bucket, schema::text_bucket(text_hash));
            if number == 0 {
                // Fields of the document as a whole (see `search::first_paragraph`).
                doc.add_bytes(fields.document, &stored_fields(document));
                doc.add_u64(fields.doc_hash, doc_hash);
                doc.add_text(fields.topic_facet, &document.topic);
                for author in &document.authors {
                    doc.add_text(fields.author_facet, author);
                }
                if !words.is_empty() {
                    doc.add_text(fields.spelling, std::mem::take(&mut words));
                }
                // Matched as a whole document (see `block_join`).
                for author in &document.authors {
                    doc.add_text(fields.author, author);
                }
                for alias in &document.author_aliases {
                    doc.add_text(fields.author_aliases, alias);
                }
                for tag in &document.tags {
                    doc.add_text(fields.tags, tag);
                }
            }
            // Scored with the paragraph: on every one.
            doc.add_text(fields.topic, &document.topic);
            if let Some(section) = &paragraph.section {
                doc.add_text(fields.section, section);
            }
            if let Some(day) = day {
                doc.add_u64(fields.day, day);
            }
            doc
        })
}

/// The number of words of a paragraph's text, whose white space the corpus has collapsed to
/// single spaces. Counting the spaces byte by byte takes 0.05 s for the paragraphs of a 100 MB
/// corpus, where `split_whitespace`, which decodes every character, took 0.23 s (2.5% of the
/// build's CPU samples).
fn word_count(text: &str) -> u64 {
    if text.is_empty() {
        0
    } else {
        1 + text.bytes().filter(|&byte| byte == b' ').count() as u64
    }
}

/// The `document` field's value: the document's own fields as JSON.
fn stored_fields(document: &Document) -> Vec<u8> {
    let fields = schema::DocumentFields {
        key: document.key.clone(),
        path: document.path.clone(),
        id: document.id.clone(),
        topic: document.topic.clone(),
        authors: document.authors.clone(),
        tags: document.tags.clone(),
        date: document.date.clone(),
        url: document.url.clone(),
    };
    serde_json::to_vec(&fields).expect("strings serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_segments_a_build_leaves_are_merged_into_one() {
        let index = tantivy::Index::create_in_ram(schema::build_schema());
        let segments = |sizes: &[u32]| -> Vec<SegmentMeta> {
            sizes
                .iter()
                .map(|&size| {
                    index.new_segment_meta(tantivy::index::SegmentId::generate_random(), size)
                })
                .collect()
        };
        // The sizes of the merge asked for besides tantivy's own, if any.
        let merged = |sizes: &[u32]| -> Vec<Vec<u32>> {
            let segments = segments(sizes);
            let size_of = |id: &tantivy::index::SegmentId| {
                segments
                    .iter()
                    .find(|segment| segment.id() == *id)
                    .unwrap()
                    .max_doc()
            };
            MergeSmallSegments::default()
                .compute_merge_candidates(&segments)
                .iter()
                .map(|candidate| candidate.0.iter().map(size_of).collect())
                .collect()
        };
        // What builds of 100 MB and 1 GB corpora left at their commits.
        assert_eq!(
            merged(&[197_385, 7_964, 198_767, 18_848]),
            [[7_964, 18_848]]
        );
        assert_eq!(
            merged(&[1_632_510, 64_628, 203_362, 80_035, 1_644_149]),
            [[64_628, 80_035]]
        );
        // The two halves of a 10 MB build stay apart, and so does one small segment alone.
        assert!(merged(&[20_662, 22_024]).is_empty());
        assert!(merged(&[197_385, 7_964, 198_767]).is_empty());
        // After re-indexing a few files: the new segments, not the large earlier leftovers, nor
        // a small one much larger than they are, until enough have gathered.
        assert_eq!(merged(&[1_632_510, 144_663, 1_200, 950]), [[950, 1_200]]);
        assert_eq!(
            merged(&[197_415, 27_324, 198_796, 1_500, 1_400]),
            [[1_400, 1_500]]
        );
        assert_eq!(
            merged(&[197_415, 27_324, 198_796, 1_500, 1_400, 5_000]),
            [[1_400, 1_500, 5_000, 27_324]]
        );
    }

    #[test]
    fn a_segment_more_than_half_deleted_is_merged() {
        let index = tantivy::Index::create_in_ram(schema::build_schema());
        let segment = |paragraphs: u32, deleted: u32| {
            index
                .new_segment_meta(tantivy::index::SegmentId::generate_random(), paragraphs)
                .with_delete_meta(deleted, 0)
        };
        let policy = MergeSmallSegments::default();
        let kept = [segment(1_900_000, 900_000), segment(240_000, 0)];
        assert!(policy.compute_merge_candidates(&kept).is_empty());
        let worn = [segment(1_900_000, 1_000_000), segment(240_000, 0)];
        let candidates = policy.compute_merge_candidates(&worn);
        assert!(candidates
            .iter()
            .any(|candidate| candidate.0.contains(&worn[0].id())));
    }

    #[test]
    fn a_small_corpus_is_indexed_into_one_segment() {
        let corpus = tempfile::tempdir().unwrap();
        let index_dir = tempfile::tempdir().unwrap();
        for i in 0..400 {
            let text = format!("Paragraph one of note {i}.\n\nParagraph two of note {i}.\n");
            std::fs::write(corpus.path().join(format!("note-{i}.txt")), text).unwrap();
        }
        let options = IndexOptions {
            rebuild: true,
            ..IndexOptions::default()
        };
        build_index(index_dir.path(), corpus.path(), &options, &NoProgress).unwrap();
        let index = tantivy::Index::open_in_dir(index_dir.path()).unwrap();
        assert_eq!(index.searchable_segment_ids().unwrap().len(), 1);
    }

    #[test]
    fn a_word_is_listed_on_its_first_documents_then_sparsely() {
        let mut vocabulary = Vocabulary::default();
        let document = |text: &str| Document {
            paragraphs: vec![corpus::Paragraph {
                text: text.into(),
                section: None,
            }],
            ..Document::default()
        };
        // Each word once per document; a letter alone and words with digits never.
        assert_eq!(
            vocabulary.listed_words(&document("Reward, reward hacking: a GPT2 reward")),
            "Reward reward hacking "
        );
        // Documents 2 to 20 that use "reward": listed on the 2nd, 3rd, 4th, 8th and 16th.
        let listed: Vec<usize> = (2..=20)
            .filter(|_| vocabulary.listed_words(&document("reward")) == "reward ")
            .collect();
        assert_eq!(listed, [2, 3, 4, 8, 16]);
    }

    #[test]
    fn manifests_are_read_compressed_or_plain() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::new();
        manifest.insert(
            "ann/a.md".into(),
            FileRecord {
                size: 11,
                mtime: 5,
                hash: 7,
                paragraphs: 2,
            },
        );
        let payload = |manifest: String| CommitPayload {
            schema_version: SCHEMA_VERSION,
            corpus: dir.path().into(),
            generation: 1,
            manifest,
            aliases: None,
        };
        let name = write_manifest(dir.path(), 1, &manifest).unwrap();
        assert_eq!(name, "ai-search-manifest-1.json.zst");
        assert_eq!(read_manifest(dir.path(), &payload(name)).unwrap(), manifest);
        // Indexes of earlier versions name a plain JSON manifest.
        let plain = "ai-search-manifest-1.json".to_string();
        std::fs::write(
            dir.path().join(&plain),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        assert_eq!(
            read_manifest(dir.path(), &payload(plain)).unwrap(),
            manifest
        );
    }

    #[test]
    fn a_full_backlog_waits_for_room() {
        let backlog = Arc::new(Backlog::default());
        let full = backlog.enter(MAX_QUEUED_BYTES);
        let indexer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(full);
        });
        // Room comes only when the first ticket is given back.
        let next = backlog.enter(1);
        assert_eq!(*backlog.queued.lock().unwrap(), 1);
        indexer.join().unwrap();
        drop(next);
        assert_eq!(*backlog.queued.lock().unwrap(), 0);
        // An empty backlog takes a document of any size.
        let _huge = backlog.enter(2 * MAX_QUEUED_BYTES);
    }
}
