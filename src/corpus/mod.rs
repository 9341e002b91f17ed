//! Reading a corpus folder: walking it, parsing each format and splitting documents into
//! paragraphs. Knows nothing about the index.

mod aliases;
mod jsonl;
mod markdown;
mod text;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use aliases::{Aliases, ALIASES_FILE};

use walkdir::WalkDir;

/// The formats a corpus may hold, chosen by file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.md`, `.markdown`: Markdown with optional YAML front matter.
    Markdown,
    /// `.txt`: paragraphs separated by blank lines, or one per line.
    Text,
    /// `.jsonl`: one Alignment Research Dataset record per line.
    JsonLines,
}

impl Format {
    /// The format of a file with this path, or `None` if it is not one of ours.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Text),
            "jsonl" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// One source document: a Markdown or text file, or one JSON Lines record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    /// Unique key: the relative path, or `path:id` for a JSON Lines record.
    pub key: String,
    /// Path relative to the corpus root, with `/` separators.
    pub path: String,
    /// Record id, for JSON Lines records.
    pub id: Option<String>,
    pub topic: String,
    /// The authors' names; the canonical names where the corpus has an aliases file.
    pub authors: Vec<String>,
    /// Other spellings of the authors' names, from the aliases file.
    pub author_aliases: Vec<String>,
    pub tags: Vec<String>,
    /// Publication date as `YYYY-MM-DD`.
    pub date: Option<String>,
    pub url: Option<String>,
    pub paragraphs: Vec<Paragraph>,
}

/// One paragraph of plain text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paragraph {
    /// The text, its white space collapsed to single spaces and trimmed.
    pub text: String,
    /// The nearest heading above the paragraph.
    pub section: Option<String>,
}

/// A problem with one corpus file (or one line of it). The rest of the corpus is still read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based line number, where the problem is confined to one line.
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<PathBuf>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// A file of the corpus that has one of our formats.
#[derive(Clone, Debug)]
pub struct CorpusFile {
    /// Path as found on disk.
    pub path: PathBuf,
    /// Path relative to the corpus root, with `/` separators.
    pub relative: String,
    pub format: Format,
    /// The corpus's author aliases, applied to the documents read from the file.
    pub aliases: Option<Arc<Aliases>>,
}

/// The documents read from one file, with any problems that did not stop the rest from being read
/// (a malformed JSON line, unparsable front matter).
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub documents: Vec<Document>,
    pub problems: Vec<Problem>,
}

/// A corpus folder.
#[derive(Clone, Debug)]
pub struct Corpus {
    root: PathBuf,
    exclude: Vec<PathBuf>,
}

impl Corpus {
    pub fn new(root: impl Into<PathBuf>) -> Corpus {
        Corpus {
            root: root.into(),
            exclude: Vec::new(),
        }
    }

    /// Leaves out a folder (typically the index itself, when it lies inside the corpus).
    pub fn exclude(mut self, folder: &Path) -> Corpus {
        if let Ok(folder) = folder.canonicalize() {
            self.exclude.push(folder);
        }
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The author aliases of the corpus, from [`ALIASES_FILE`] in its root; `Ok(None)` when it has
    /// none.
    pub fn aliases(&self) -> Result<Option<Aliases>, Problem> {
        let path = self.root.join(ALIASES_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Problem::new(ALIASES_FILE, describe_io_error(&err))),
        };
        Aliases::parse(&text)
            .map(Some)
            .map_err(|message| Problem::new(ALIASES_FILE, format!("{message}; names not merged")))
    }

    /// Walks the corpus in a stable (sorted) order, skipping hidden entries, excluded folders and
    /// files of other formats. Entries that cannot be read come back as problems, and so does an
    /// aliases file that cannot be used (first); the files carry the aliases otherwise.
    pub fn walk(&self) -> impl Iterator<Item = Result<CorpusFile, Problem>> + '_ {
        let (aliases, problem) = match self.aliases() {
            Ok(aliases) => (aliases.map(Arc::new), None),
            Err(problem) => (None, Some(problem)),
        };
        let files = WalkDir::new(&self.root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| entry.depth() == 0 || !self.is_skipped(entry.path()))
            .filter_map(move |entry| match entry {
                Err(err) => {
                    let path =
                        PathBuf::from(relative_path(&self.root, err.path().unwrap_or(&self.root)));
                    let message = match (err.io_error(), err.loop_ancestor()) {
                        (Some(io), _) => describe_io_error(io),
                        (None, Some(_)) => "symbolic link loop (links to a folder above it)".into(),
                        (None, None) => err.to_string(),
                    };
                    Some(Err(Problem::new(path, message)))
                }
                Ok(entry) if entry.file_type().is_dir() => None,
                Ok(entry) if !entry.file_type().is_file() => {
                    // A FIFO or a device with one of our extensions: reading it could block.
                    Format::from_path(entry.path())?;
                    Some(Err(Problem::new(
                        relative_path(&self.root, entry.path()),
                        "not a regular file (a FIFO, socket or device)",
                    )))
                }
                Ok(entry) => {
                    let format = Format::from_path(entry.path())?;
                    let relative = relative_path(&self.root, entry.path());
                    Some(Ok(CorpusFile {
                        path: entry.into_path(),
                        relative,
                        format,
                        aliases: aliases.clone(),
                    }))
                }
            });
        problem.map(Err).into_iter().chain(files)
    }

    fn is_skipped(&self, path: &Path) -> bool {
        let hidden = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with('.'));
        hidden
            || (!self.exclude.is_empty()
                && path.is_dir()
                && path
                    .canonicalize()
                    .is_ok_and(|path| self.exclude.contains(&path)))
    }
}

fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

pub(crate) fn describe_io_error(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::NotFound => "no such file or folder".to_string(),
        _ => err.to_string(),
    }
}

/// Largest document read: a Markdown or text file is cut after this many bytes, and a longer
/// JSON Lines record is skipped.
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;
/// Longest paragraph indexed, in bytes; longer ones (and so any single longer word) are cut.
pub const MAX_PARAGRAPH_BYTES: usize = 32 << 10;
/// A file with a NUL byte in its first this many bytes is binary.
const BINARY_SNIFF_BYTES: usize = 8 << 10;
/// Problems reported for one file at most; the rest are counted.
const MAX_PROBLEMS_PER_FILE: usize = 20;

/// What reading a file gave, besides the documents handed to the caller.
#[derive(Debug, Default)]
pub struct FileRead {
    pub documents: usize,
    /// Parts of the file that were left out or cut.
    pub problems: Vec<Problem>,
}

/// Reads and parses one corpus file, handing each document to `sink` as soon as it is read, so
/// memory stays bounded for a JSON Lines file of any size.
///
/// An `Err` means nothing of the file could be used; an `Ok` may still carry problems with parts
/// of it.
pub fn read_file(file: &CorpusFile, sink: &mut dyn FnMut(Document)) -> Result<FileRead, Problem> {
    use std::io::Read;
    let io_problem = |err: std::io::Error| Problem::new(&file.relative, describe_io_error(&err));
    let opened = std::fs::File::open(&file.path).map_err(io_problem)?;
    if !opened.metadata().map_err(io_problem)?.is_file() {
        return Err(Problem::new(&file.relative, "not a regular file"));
    }
    if file.format == Format::JsonLines {
        return read_json_lines(file, opened, sink);
    }
    let mut bytes = Vec::new();
    opened
        .take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_problem)?;
    let mut cut = None;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        bytes.truncate(MAX_DOCUMENT_BYTES);
        // Do not leave half a character at the end.
        let valid = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(err) if err.error_len().is_none() => err.valid_up_to(),
            Err(_) => bytes.len(),
        };
        bytes.truncate(valid);
        cut = Some(Problem::new(
            &file.relative,
            format!(
                "larger than {} MiB; indexed only its first {} MiB",
                MAX_DOCUMENT_BYTES >> 20,
                MAX_DOCUMENT_BYTES >> 20
            ),
        ));
    }
    let parsed = parse_bytes(file, &bytes)?;
    let mut read = FileRead {
        documents: parsed.documents.len(),
        problems: cut.into_iter().collect(),
    };
    read.problems.extend(parsed.problems);
    for document in parsed.documents {
        sink(document);
    }
    Ok(read)
}

/// Reads one corpus file whole: [`read_file`] with its documents collected, for callers that
/// want them all at once.
pub fn read_documents(file: &CorpusFile) -> Result<ParsedFile, Problem> {
    let mut documents = Vec::new();
    let read = read_file(file, &mut |document| documents.push(document))?;
    Ok(ParsedFile {
        documents,
        problems: read.problems,
    })
}

/// Streams a JSON Lines file record by record; a record longer than [`MAX_DOCUMENT_BYTES`] is
/// skipped without being held in memory.
fn read_json_lines(
    file: &CorpusFile,
    opened: std::fs::File,
    sink: &mut dyn FnMut(Document),
) -> Result<FileRead, Problem> {
    use std::io::BufRead;
    let io_problem = |err: std::io::Error| Problem::new(&file.relative, describe_io_error(&err));
    let mut reader = std::io::BufReader::with_capacity(64 << 10, opened);
    let head = reader.fill_buf().map_err(io_problem)?;
    if head.iter().take(BINARY_SNIFF_BYTES).any(|b| *b == 0) {
        return Err(Problem::new(
            &file.relative,
            "binary file (contains NUL bytes)",
        ));
    }
    let defaults = Defaults::for_file(file);
    let mut read = FileRead::default();
    let mut skipped_problems = 0;
    let mut line = Vec::new();
    let mut any_text = false;
    for number in 1.. {
        let Some(complete) =
            read_line_capped(&mut reader, &mut line, MAX_DOCUMENT_BYTES).map_err(io_problem)?
        else {
            break;
        };
        let line_problem = |message: String| Problem {
            line: Some(number),
            ..Problem::new(&file.relative, message)
        };
        let result = if !complete {
            Err(line_problem(format!(
                "record larger than {} MiB skipped",
                MAX_DOCUMENT_BYTES >> 20
            )))
        } else {
            match std::str::from_utf8(&line) {
                Ok(text) => {
                    let text = if number == 1 {
                        text.strip_prefix('\u{feff}').unwrap_or(text)
                    } else {
                        text
                    };
                    any_text |= !text.trim().is_empty();
                    jsonl::parse_line(text, number, &defaults)
                }
                Err(err) => Err(line_problem(format!(
                    "not valid UTF-8 (bad byte at column {})",
                    err.valid_up_to() + 1
                ))),
            }
        };
        match result {
            Ok(Some(mut document)) => {
                cap_paragraphs(&mut document, &mut read.problems);
                if let Some(aliases) = &file.aliases {
                    aliases.apply(&mut document);
                }
                read.documents += 1;
                sink(document);
            }
            Ok(None) => {}
            Err(problem) if read.problems.len() < MAX_PROBLEMS_PER_FILE => {
                read.problems.push(problem)
            }
            Err(_) => skipped_problems += 1,
        }
    }
    if skipped_problems > 0 {
        read.problems.push(Problem::new(
            &file.relative,
            format!("{skipped_problems} more bad lines not listed"),
        ));
    }
    if !any_text && read.documents == 0 {
        return Err(Problem::new(&file.relative, "empty file"));
    }
    Ok(read)
}

/// Reads one line (without its `\n` or `\r\n`) into `line`, keeping at most `cap` bytes.
/// Returns `None` at the end of the input, `Some(false)` when the line was longer than `cap` (the
/// rest of it is consumed, not kept).
fn read_line_capped(
    reader: &mut impl std::io::BufRead,
    line: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut complete = true;
    let mut read_any = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            break;
        }
        read_any = true;
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(end) => (&available[..end], end + 1),
            None => (available, available.len()),
        };
        let room = cap.saturating_sub(line.len());
        if chunk.len() > room {
            complete = false;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let found_newline = done > chunk.len();
        reader.consume(done);
        if found_newline {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(read_any.then_some(complete))
}

/// Cuts paragraphs longer than [`MAX_PARAGRAPH_BYTES`] (at a word boundary where there is one),
/// with a problem for each.
fn cap_paragraphs(document: &mut Document, problems: &mut Vec<Problem>) {
    for (number, paragraph) in document.paragraphs.iter_mut().enumerate() {
        if paragraph.text.len() <= MAX_PARAGRAPH_BYTES {
            continue;
        }
        let mut end = MAX_PARAGRAPH_BYTES;
        while !paragraph.text.is_char_boundary(end) {
            end -= 1;
        }
        let cut_at = paragraph.text[..end].rfind(' ').filter(|at| *at > end / 2);
        let original = paragraph.text.len();
        paragraph.text.truncate(cut_at.unwrap_or(end));
        let what = if cut_at.is_some() {
            "paragraph"
        } else {
            "word"
        };
        let record = match &document.id {
            Some(id) => format!("record {id}, "),
            None => String::new(),
        };
        problems.push(Problem::new(
            &document.path,
            format!(
                "{record}paragraph {}: a {what} of {} KiB, cut to {} KiB",
                number + 1,
                original >> 10,
                MAX_PARAGRAPH_BYTES >> 10
            ),
        ));
    }
}

/// Parses the bytes of one corpus file; see [`read_file`].
pub fn parse_bytes(file: &CorpusFile, bytes: &[u8]) -> Result<ParsedFile, Problem> {
    let problem = |message: String| Problem::new(&file.relative, message);
    if bytes.iter().take(BINARY_SNIFF_BYTES).any(|b| *b == 0) || bytes.contains(&0) {
        return Err(problem("binary file (contains NUL bytes)".into()));
    }
    let text = std::str::from_utf8(bytes).map_err(|err| {
        problem(format!(
            "not valid UTF-8 (bad byte at offset {})",
            err.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(problem("empty file".into()));
    }
    let defaults = Defaults::for_file(file);
    let mut parsed = match file.format {
        Format::Markdown => markdown::parse(text, &defaults)?,
        Format::Text => ParsedFile {
            documents: vec![defaults.document(text::paragraphs(text))],
            problems: Vec::new(),
        },
        Format::JsonLines => jsonl::parse(text, &defaults),
    };
    if parsed.documents.iter().all(|doc| doc.paragraphs.is_empty()) && parsed.problems.is_empty() {
        return Err(problem("no text to index".into()));
    }
    for document in &mut parsed.documents {
        cap_paragraphs(document, &mut parsed.problems);
        if let Some(aliases) = &file.aliases {
            aliases.apply(document);
        }
    }
    Ok(parsed)
}

/// What a document falls back to when the file does not say.
struct Defaults<'a> {
    relative: &'a str,
    /// The top-level folder below the corpus root, or "unknown".
    author: String,
    /// The file name without extension.
    topic: String,
}

impl<'a> Defaults<'a> {
    fn for_file(file: &'a CorpusFile) -> Defaults<'a> {
        let author = match file.relative.split_once('/') {
            Some((folder, _)) => folder.to_string(),
            None => "unknown".to_string(),
        };
        let topic = file
            .path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        Defaults {
            relative: &file.relative,
            author,
            topic,
        }
    }

    /// A document keyed by the file path, with the fallback author and topic.
    fn document(&self, paragraphs: Vec<Paragraph>) -> Document {
        Document {
            key: self.relative.to_string(),
            path: self.relative.to_string(),
            topic: self.topic.clone(),
            authors: vec![self.author.clone()],
            paragraphs,
            ..Document::default()
        }
    }
}

/// Collapses all runs of white space to one space and trims the ends.
fn normalize_space(text: &str) -> String {
    let mut normalized = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !normalized.is_empty() {
            normalized.push(' ');
        }
        normalized.push_str(word);
    }
    normalized
}

/// `YYYY-MM-DD` from a date or timestamp string such as `2024-03-01T00:00:00Z`; `None` unless it
/// starts with a real calendar date.
fn normalize_date(raw: &str) -> Option<String> {
    let date = raw.trim().get(..10)?;
    crate::date::IsoDate::parse(date).map(|date| date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(relative: &str, format: Format) -> CorpusFile {
        CorpusFile {
            path: PathBuf::from("/corpus").join(relative),
            relative: relative.to_string(),
            format,
            aliases: None,
        }
    }

    #[test]
    fn format_follows_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/b.MD")),
            Some(Format::Markdown)
        );
        assert_eq!(
            Format::from_path(Path::new("x.jsonl")),
            Some(Format::JsonLines)
        );
        assert_eq!(Format::from_path(Path::new("x.pdf")), None);
        assert_eq!(Format::from_path(Path::new("README")), None);
    }

    #[test]
    fn author_falls_back_to_top_folder_and_topic_to_file_stem() {
        let parsed = parse_bytes(
            &file("mira/notes/reward.txt", Format::Text),
            b"Reward hacking again.",
        )
        .unwrap();
        let doc = &parsed.documents[0];
        assert_eq!(doc.authors, ["mira"]);
        assert_eq!(doc.topic, "reward");
        assert_eq!(doc.key, "mira/notes/reward.txt");

        let parsed = parse_bytes(&file("loose.txt", Format::Text), b"Hello.").unwrap();
        assert_eq!(parsed.documents[0].authors, ["unknown"]);
    }

    #[test]
    fn bad_bytes_are_problems_that_name_the_file() {
        let f = file("a/bin.txt", Format::Text);
        let err = parse_bytes(&f, b"abc\0def").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a/bin.txt: binary file (contains NUL bytes)"
        );
        let err = parse_bytes(&f, b"ok \xff\xfe").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a/bin.txt: not valid UTF-8 (bad byte at offset 3)"
        );
        let err = parse_bytes(&f, b" \n\n ").unwrap_err();
        assert_eq!(err.to_string(), "a/bin.txt: empty file");
    }

    #[test]
    fn bom_is_dropped() {
        let parsed = parse_bytes(
            &file("a/b.txt", Format::Text),
            "\u{feff}Hi there.".as_bytes(),
        )
        .unwrap();
        assert_eq!(parsed.documents[0].paragraphs[0].text, "Hi there.");
    }

    #[test]
    fn dates_are_normalized() {
        assert_eq!(
            normalize_date("2024-03-01T00:00:00Z").as_deref(),
            Some("2024-03-01")
        );
        assert_eq!(normalize_date("2022-11-29").as_deref(), Some("2022-11-29"));
        assert_eq!(normalize_date("last week"), None);
        assert_eq!(normalize_date("2024-02-30"), None);
        assert_eq!(normalize_date("2022"), None);
    }

    #[test]
    fn walk_hands_the_aliases_to_every_file_and_reports_a_bad_aliases_file_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("kim")).unwrap();
        std::fs::write(root.join("kim/a.txt"), "Words.").unwrap();
        std::fs::write(root.join(ALIASES_FILE), "Kim Hale: kim\n").unwrap();
        let corpus = Corpus::new(root);
        let files: Vec<_> = corpus.walk().collect::<Result<_, _>>().unwrap();
        assert_eq!(files.len(), 1);
        let read = |file: &CorpusFile| {
            let mut documents = Vec::new();
            read_file(file, &mut |doc| documents.push(doc)).unwrap();
            documents
        };
        let documents = read(&files[0]);
        assert_eq!(documents[0].authors, ["Kim Hale"]);
        assert_eq!(documents[0].author_aliases, ["kim"]);

        std::fs::write(root.join(ALIASES_FILE), "[not, a, mapping]\n").unwrap();
        let mut walk = corpus.walk();
        let problem = walk.next().unwrap().unwrap_err();
        assert_eq!(problem.path, Path::new(ALIASES_FILE));
        assert!(problem.message.ends_with("; names not merged"), "{problem}");
        let file = walk.next().unwrap().unwrap();
        assert!(file.aliases.is_none());
        assert_eq!(read(&file)[0].authors, ["kim"]);
    }

    #[test]
    fn walk_skips_hidden_excluded_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for path in [
            "b/one.md",
            "a/two.txt",
            ".hidden/three.md",
            "a/.four.md",
            "a/five.pdf",
            "index/meta.md",
            "six.jsonl",
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let corpus = Corpus::new(root).exclude(&root.join("index"));
        let found: Vec<_> = corpus.walk().map(|f| f.unwrap().relative).collect();
        assert_eq!(found, ["a/two.txt", "b/one.md", "six.jsonl"]);
    }
}
