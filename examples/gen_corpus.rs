// # Generating a benchmark corpus of a given size
//
// Writes a corpus of about `--size` bytes in ai-search's three formats (Markdown with YAML front
// matter, plain text essays and comment dumps, Alignment Research Dataset JSON Lines), made of
// paragraphs drawn from a real corpus and varied, spread over many author folders. The same
// source, size and seed always give byte-identical output.
//
//     cargo run --release --example gen_corpus -- --source ../shared/corpora --size 100MB \
//         --seed 42 --out /tmp/corpus-100m
//
// Drawing the same paragraphs again and again would stop the vocabulary from growing, which real
// corpora never do and which flatters an index (a small term dictionary). So the generator keeps
// the number of distinct words on a Heaps'-law curve, `V(n) = K * n^beta` for `n` words written,
// with `K` and `beta` fitted on the source corpus's own growth (its documents read in a shuffled
// order). Below the source's size the drawn paragraphs follow that curve by themselves; beyond
// it they would level off, so whenever the corpus falls behind the curve the generator coins new
// words (morphological variants of the word they replace such as `metaoptimizer` or
// `corrigibilitywise`, invented names, acronyms with digits), and it reuses earlier coinages now
// and then, older ones more often, so that rare words are not all seen exactly once.
//
// Output (`B` = bytes): about 50% Markdown essays in `<author>/`, 15% plain text essays and 10%
// comment dumps (one comment per line) in `<author>/`, 25% JSON Lines records in `ard-<source>/`.
// Authors follow a Zipf law over a pool that grows with the size, so the same few authors are the
// most prolific at every size (the performance benchmark filters on two of them). A summary of
// the run is written to `.generator.json` (hidden, so not indexed).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ai_search::corpus::{read_documents, Corpus, Paragraph};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Generate a deterministic benchmark corpus from a real one.
#[derive(Debug, Parser)]
struct Args {
    /// Corpus folder to draw paragraphs from (for example ../shared/corpora)
    #[arg(long, value_name = "DIR")]
    source: PathBuf,

    /// Approximate total size: 2MB, 10MB, 100MB, 1GB (powers of ten; KiB, MiB, GiB also work)
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    size: u64,

    /// Seed of the random generator: the same seed gives the same corpus
    #[arg(long, default_value_t = 42)]
    seed: u64,

    /// Folder to write; must not exist or be empty
    #[arg(long, value_name = "DIR")]
    out: PathBuf,

    /// Heaps' law exponent of the vocabulary's growth [default: fitted on the source]
    #[arg(long, value_name = "BETA")]
    heaps_beta: Option<f64>,
}

fn main() -> std::process::ExitCode {
    match run(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let report = generate(&Options {
        source: args.source,
        out: args.out.clone(),
        size: args.size,
        seed: args.seed,
        heaps_beta: args.heaps_beta,
    })?;
    println!(
        "wrote {} files, {:.1} MB ({} Markdown, {} text, {} JSON Lines) to {} in {:.1}s",
        report.files,
        report.bytes as f64 / 1e6,
        report.markdown_files,
        report.text_files,
        report.jsonl_files,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "{} documents, {} paragraphs, {} authors; {} words, {} distinct ({} coined)",
        report.documents,
        report.paragraphs,
        report.authors,
        report.words,
        report.distinct_words,
        report.coined_words
    );
    Ok(())
}

/// `10MB` → 10,000,000; `2MiB` → 2,097,152.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("not a size: {text:?} (try 10MB or 1GB)"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("unknown unit in {text:?} (use KB, MB or GB)")),
    };
    Ok((number * scale).round() as u64)
}

/// What to generate.
struct Options {
    source: PathBuf,
    out: PathBuf,
    size: u64,
    seed: u64,
    heaps_beta: Option<f64>,
}

/// What was generated; also written to `.generator.json`.
#[derive(Debug, Default, Serialize)]
struct Report {
    source: PathBuf,
    seed: u64,
    target_bytes: u64,
    bytes: u64,
    files: usize,
    markdown_files: usize,
    text_files: usize,
    jsonl_files: usize,
    documents: usize,
    paragraphs: usize,
    authors: usize,
    words: u64,
    distinct_words: usize,
    coined_words: usize,
    heaps_k: f64,
    heaps_beta: f64,
}

fn generate(options: &Options) -> Result<Report, Box<dyn std::error::Error>> {
    if std::fs::read_dir(&options.out).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(format!(
            "{} exists and is not empty; remove it or choose another --out",
            options.out.display()
        )
        .into());
    }
    let source = Source::read(&options.source)?;
    let mut generator = Generator::new(&source, options);
    generator.run()?;
    let report = generator.report();
    std::fs::write(
        options.out.join(".generator.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// The source corpus

struct SourceDoc {
    title: String,
    tags: Vec<String>,
    paragraphs: Vec<Paragraph>,
}

struct Source {
    docs: Vec<SourceDoc>,
    /// Paragraphs of at least a few words, as (document, paragraph): material for comments.
    comments: Vec<(usize, usize)>,
}

impl Source {
    /// Reads every document of the corpus through the library, in its stable walk order.
    fn read(root: &Path) -> Result<Source, Box<dyn std::error::Error>> {
        let mut docs = Vec::new();
        for file in Corpus::new(root).walk() {
            let parsed = match file.map(|file| read_documents(&file)) {
                Ok(Ok(parsed)) => parsed,
                Ok(Err(problem)) | Err(problem) => {
                    eprintln!("warning: skipped {problem}");
                    continue;
                }
            };
            for doc in parsed.documents {
                if doc.paragraphs.is_empty() {
                    continue;
                }
                docs.push(SourceDoc {
                    title: doc.topic,
                    tags: doc.tags,
                    paragraphs: doc.paragraphs,
                });
            }
        }
        if docs.is_empty() {
            return Err(format!("no paragraphs to draw from in {}", root.display()).into());
        }
        let mut comments = Vec::new();
        for (d, doc) in docs.iter().enumerate() {
            for (p, paragraph) in doc.paragraphs.iter().enumerate() {
                if paragraph.text.split_whitespace().count() >= 8 {
                    comments.push((d, p));
                }
            }
        }
        if comments.is_empty() {
            comments.push((0, 0));
        }
        Ok(Source { docs, comments })
    }
}

// ---------------------------------------------------------------------------------------------
// The generator

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Markdown,
    TextEssay,
    TextComments,
    JsonLines,
}

/// Each kind of file with its share of the bytes.
const KINDS: [(Kind, f64); 4] = [
    (Kind::Markdown, 0.50),
    (Kind::TextEssay, 0.15),
    (Kind::TextComments, 0.10),
    (Kind::JsonLines, 0.25),
];

/// Sources of JSON Lines records, as named in the Alignment Research Dataset.
const ARD_SOURCES: &[&str] = &[
    "alignmentforum",
    "lesswrong",
    "arxiv",
    "eaforum",
    "blogs",
    "arbital",
];

struct Generator<'a> {
    source: &'a Source,
    options: &'a Options,
    rng: ChaCha8Rng,
    vocabulary: Vocabulary,
    authors: Authors,
    /// Bytes written per kind, in the order of `KINDS`.
    written: [u64; 4],
    report: Report,
    /// Makes every file name unique.
    serial: u64,
    authors_used: HashSet<usize>,
}

impl<'a> Generator<'a> {
    fn new(source: &'a Source, options: &'a Options) -> Generator<'a> {
        let megabytes = options.size / 1_000_000;
        Generator {
            source,
            options,
            rng: ChaCha8Rng::seed_from_u64(options.seed),
            vocabulary: Vocabulary::fit(source, options.seed, options.heaps_beta),
            authors: Authors::new((40 + 2 * megabytes).min(20_000) as usize),
            written: [0; 4],
            report: Report::default(),
            serial: 0,
            authors_used: HashSet::new(),
        }
    }

    fn run(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        std::fs::create_dir_all(&self.options.out)?;
        let target = self.options.size;
        while self.total() < target {
            // The kind furthest behind its share of the bytes: the mix is exact at every size.
            let total = self.total() as f64;
            let (slot, (kind, _)) = KINDS
                .iter()
                .enumerate()
                .max_by(|(a, (_, share_a)), (b, (_, share_b))| {
                    let behind_a = share_a * total - self.written[*a] as f64;
                    let behind_b = share_b * total - self.written[*b] as f64;
                    behind_a.total_cmp(&behind_b).then(b.cmp(a))
                })
                .expect("kinds");
            let budget = target - self.total();
            let (path, content) = match kind {
                Kind::Markdown => self.markdown(budget),
                Kind::TextEssay => self.text_essay(budget),
                Kind::TextComments => self.text_comments(budget),
                Kind::JsonLines => self.json_lines(budget)?,
            };
            let path = self.options.out.join(path);
            std::fs::create_dir_all(path.parent().expect("a folder"))?;
            std::fs::write(&path, &content)?;
            self.written[slot] += content.len() as u64;
            self.report.files += 1;
            match kind {
                Kind::Markdown => self.report.markdown_files += 1,
                Kind::TextEssay | Kind::TextComments => self.report.text_files += 1,
                Kind::JsonLines => self.report.jsonl_files += 1,
            }
        }
        Ok(())
    }

    fn total(&self) -> u64 {
        self.written.iter().sum()
    }

    fn report(self) -> Report {
        Report {
            source: self.options.source.clone(),
            seed: self.options.seed,
            target_bytes: self.options.size,
            bytes: self.total(),
            authors: self.authors_used.len(),
            words: self.vocabulary.words,
            distinct_words: self.vocabulary.seen.len(),
            coined_words: self.vocabulary.coined.len(),
            heaps_k: self.vocabulary.k,
            heaps_beta: self.vocabulary.beta,
            ..self.report
        }
    }

    fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// One to three distinct authors, the first one most often alone.
    fn pick_authors(&mut self) -> Vec<usize> {
        let count = match self.rng.random_range(0..100) {
            0..75 => 1,
            75..92 => 2,
            _ => 3,
        };
        let mut picked: Vec<usize> = Vec::new();
        while picked.len() < count {
            let author = self.authors.pick(&mut self.rng);
            if !picked.contains(&author) {
                picked.push(author);
            }
        }
        self.authors_used.extend(&picked);
        picked
    }

    fn pick_doc(&mut self) -> usize {
        self.rng.random_range(0..self.source.docs.len())
    }

    /// A run of consecutive paragraphs of a source document: the paragraphs of a new document.
    fn window(&mut self, doc: usize, min: usize, max: usize) -> std::ops::Range<usize> {
        let len = self.source.docs[doc].paragraphs.len();
        let want = self.rng.random_range(min..=max).min(len);
        let start = self.rng.random_range(0..=len - want);
        start..start + want
    }

    /// A paragraph of a source document, varied: a sentence dropped or borrowed from elsewhere in
    /// the document, then words coined or reused to keep the vocabulary on its curve.
    fn paragraph(&mut self, doc: usize, index: usize) -> String {
        let source = &self.source.docs[doc];
        let text = &source.paragraphs[index].text;
        let mut parts = sentences(text);
        match self.rng.random_range(0..100) {
            0..12 if parts.len() >= 2 => {
                if self.rng.random_bool(0.5) {
                    parts.remove(0);
                } else {
                    parts.pop();
                }
            }
            12..24 => {
                let other = self.rng.random_range(0..source.paragraphs.len());
                let borrowed = sentences(&source.paragraphs[other].text);
                let pick = self.rng.random_range(0..borrowed.len());
                parts.push(borrowed[pick]);
            }
            _ => {}
        }
        let text = parts.join(" ");
        self.report.paragraphs += 1;
        self.vocabulary.vary(&text, &mut self.rng)
    }

    /// A short comment: the first sentences of some paragraph.
    fn comment(&mut self) -> String {
        let (doc, index) =
            self.source.comments[self.rng.random_range(0..self.source.comments.len())];
        let all = sentences(&self.source.docs[doc].paragraphs[index].text);
        let keep = self.rng.random_range(1..=3).min(all.len());
        let text = all[..keep].join(" ");
        self.report.paragraphs += 1;
        self.vocabulary.vary(&text, &mut self.rng)
    }

    fn title(&mut self, doc: usize) -> String {
        let title = &self.source.docs[doc].title;
        match self.rng.random_range(0..100) {
            0..60 => title.clone(),
            60..70 => format!("Notes on {title}"),
            70..76 => format!("Re: {title}"),
            76..82 => format!("More on {title}"),
            82..88 => format!("{title} (part {})", self.rng.random_range(2..=5)),
            88..94 => format!("Revisiting {title}"),
            _ => format!("{title}: a summary"),
        }
    }

    fn tags(&mut self, doc: usize) -> Vec<String> {
        let mut tags = self.source.docs[doc].tags.clone();
        tags.truncate(4);
        while tags.len() < 2 || self.rng.random_bool(0.2) && tags.len() < 5 {
            let tag = TAGS[self.rng.random_range(0..TAGS.len())].to_string();
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        tags
    }

    fn date(&mut self) -> String {
        // 2012-01-01 to 2025-06-30, as days since 1970-01-01.
        civil_date(self.rng.random_range(15_340..=20_269))
    }

    fn markdown(&mut self, budget: u64) -> (PathBuf, String) {
        let doc = self.pick_doc();
        let authors = self.pick_authors();
        let names: Vec<String> = authors.iter().map(|&a| self.authors.name(a)).collect();
        let title = self.title(doc);
        let site = if self.rng.random_bool(0.5) {
            "www.lesswrong.com"
        } else {
            "www.alignmentforum.org"
        };
        let front = FrontMatter {
            title: title.clone(),
            authors: names.clone(),
            tags: self.tags(doc),
            date_published: self.date(),
            original_url: format!(
                "https://{site}/posts/{}/{}",
                random_id(&mut self.rng, 17),
                slug(&title)
            ),
        };
        let mut out = String::from("---\n");
        out.push_str(&serde_yaml_ng::to_string(&front).expect("front matter serializes"));
        out.push_str("---\n\n");
        let mut section: Option<&str> = None;
        let mut footnotes = Vec::new();
        let window = self.window(doc, 3, 40);
        for index in window {
            let source_paragraph = &self.source.docs[doc].paragraphs[index];
            if source_paragraph.section.as_deref() != section {
                section = source_paragraph.section.as_deref();
                if let Some(heading) = section {
                    writeln!(out, "## {}\n", escape_markdown(heading)).expect("string");
                }
            }
            let text = self.paragraph(doc, index);
            match self.rng.random_range(0..100) {
                0..4 => {
                    // A list: each sentence an item (and a paragraph of its own when indexed).
                    for sentence in sentences(&text) {
                        writeln!(out, "- {}", escape_markdown(sentence)).expect("string");
                    }
                    out.push('\n');
                }
                4..7 => {
                    writeln!(out, "> {}\n", self.markup(&text)).expect("string");
                }
                7..10 => {
                    let note = footnotes.len() + 1;
                    writeln!(out, "{}[^{note}]\n", self.markup(&text)).expect("string");
                    let comment = self.comment();
                    footnotes.push(comment);
                }
                10..12 => {
                    writeln!(out, "{}\n\n{}", self.markup(&text), CODE_BLOCK).expect("string");
                }
                12..13 => {
                    writeln!(out, "{}\n\n{}", self.markup(&text), DISPLAY_MATH).expect("string");
                }
                _ => writeln!(out, "{}\n", self.markup(&text)).expect("string"),
            }
            if out.len() as u64 >= budget {
                break;
            }
        }
        for (i, note) in footnotes.iter().enumerate() {
            writeln!(out, "[^{}]: {}\n", i + 1, escape_markdown(note)).expect("string");
        }
        self.report.documents += 1;
        let path = format!(
            "{}/{}-{}.md",
            slug(&names[0]),
            slug(&title),
            self.next_serial()
        );
        (path.into(), out)
    }

    /// Escaped Markdown of a paragraph, with now and then a word in emphasis, code or a link (all
    /// of which keep the paragraph's text as it was).
    fn markup(&mut self, text: &str) -> String {
        let words: Vec<&str> = text.split(' ').collect();
        let mut out = String::with_capacity(text.len() + 32);
        let plain = |word: &str| !word.is_empty() && word.chars().all(char::is_alphanumeric);
        let mut i = 0;
        while i < words.len() {
            if i > 0 {
                out.push(' ');
            }
            let word = words[i];
            if plain(word) && self.rng.random_range(0..40) == 0 {
                match self.rng.random_range(0..3) {
                    0 => write!(out, "*{word}*").expect("string"),
                    1 => write!(out, "`{word}`").expect("string"),
                    _ => {
                        let end = (i + self.rng.random_range(1..=3)).min(words.len());
                        let run = words[i..end].iter().take_while(|w| plain(w)).count();
                        let linked = words[i..i + run].join(" ");
                        write!(
                            out,
                            "[{linked}](https://www.lesswrong.com/posts/{})",
                            random_id(&mut self.rng, 17)
                        )
                        .expect("string");
                        i += run;
                        continue;
                    }
                }
            } else {
                out.push_str(&escape_markdown_word(word, i == 0));
            }
            i += 1;
        }
        out
    }

    fn text_essay(&mut self, budget: u64) -> (PathBuf, String) {
        let doc = self.pick_doc();
        let author = self.pick_authors()[0];
        let title = self.title(doc);
        let mut paragraphs = Vec::new();
        let mut size = 0;
        for index in self.window(doc, 3, 30) {
            let text = self.paragraph(doc, index);
            size += text.len() + 2;
            paragraphs.push(text);
            if size as u64 >= budget {
                break;
            }
        }
        // Half the files are wrapped at 78 columns; not a file of one paragraph, whose lines
        // would read as one paragraph each.
        let wrap = paragraphs.len() > 1 && self.rng.random_bool(0.5);
        let mut out = String::with_capacity(size + size / 64);
        for text in &paragraphs {
            if wrap {
                wrap_into(&mut out, text, 78);
            } else {
                out.push_str(text);
            }
            out.push_str("\n\n");
        }
        self.report.documents += 1;
        let path = format!(
            "{}/{}-{}.txt",
            slug(&self.authors.name(author)),
            slug(&title),
            self.next_serial()
        );
        (path.into(), out)
    }

    fn text_comments(&mut self, budget: u64) -> (PathBuf, String) {
        let author = self.pick_authors()[0];
        let lines = self.rng.random_range(10..=120);
        let mut out = String::new();
        for _ in 0..lines {
            out.push_str(&self.comment());
            out.push('\n');
            if out.len() as u64 >= budget {
                break;
            }
        }
        self.report.documents += 1;
        let path = format!(
            "{}/comments-{}.txt",
            slug(&self.authors.name(author)),
            self.next_serial()
        );
        (path.into(), out)
    }

    fn json_lines(&mut self, budget: u64) -> Result<(PathBuf, String), serde_json::Error> {
        let file_size = (self.options.size / 100).clamp(64_000, 16_000_000);
        let budget = budget.min(file_size);
        let source = ARD_SOURCES[self.rng.random_range(0..ARD_SOURCES.len())];
        let mut out = String::new();
        while (out.len() as u64) < budget {
            let doc = self.pick_doc();
            let title = self.title(doc);
            let mut paragraphs = Vec::new();
            let mut size = out.len();
            for index in self.window(doc, 2, 50) {
                let text = self.paragraph(doc, index);
                size += text.len() + 4;
                paragraphs.push(text);
                if size as u64 >= budget {
                    break;
                }
            }
            let summary = if self.rng.random_bool(0.3) {
                vec![self.comment()]
            } else {
                Vec::new()
            };
            let authors = self.pick_authors();
            let id = random_hex(&mut self.rng, 32);
            let url = if source == "arxiv" {
                format!(
                    "https://arxiv.org/abs/{:02}{:02}.{:05}",
                    self.rng.random_range(15..=25),
                    self.rng.random_range(1..=12),
                    self.rng.random_range(0..100_000)
                )
            } else {
                format!("https://{source}.example.org/posts/{id}/{}", slug(&title))
            };
            let record = ArdRecord {
                id,
                source,
                title,
                text: paragraphs.join("\n\n"),
                url,
                date_published: format!("{}T00:00:00Z", self.date()),
                authors: authors.iter().map(|&a| self.authors.name(a)).collect(),
                summary,
            };
            out.push_str(&serde_json::to_string(&record)?);
            out.push('\n');
            self.report.documents += 1;
        }
        let path = format!("ard-{source}/{source}-{:05}.jsonl", self.next_serial());
        Ok((path.into(), out))
    }
}

#[derive(Serialize)]
struct FrontMatter {
    title: String,
    authors: Vec<String>,
    tags: Vec<String>,
    date_published: String,
    original_url: String,
}

/// A record in the schema of the Alignment Research Dataset.
#[derive(Serialize)]
struct ArdRecord<'a> {
    id: String,
    source: &'a str,
    title: String,
    text: String,
    url: String,
    date_published: String,
    authors: Vec<String>,
    summary: Vec<String>,
}

/// Not prose: the indexer leaves them out, but has to parse past them.
const CODE_BLOCK: &str = "```python\ndef reward(state, action):\n    return model.score(state, action) - penalty(state)\n```\n";
const DISPLAY_MATH: &str = "$$\nR_{\\text{AUP}}(s, a) = R(s, a) - \\lambda \\sum_i |Q_i(s, a) - Q_i(s, \\varnothing)|\n$$\n";

const TAGS: &[&str] = &[
    "AI",
    "alignment",
    "corrigibility",
    "interpretability",
    "reward hacking",
    "RLHF",
    "inner alignment",
    "outer alignment",
    "deception",
    "evaluations",
    "scalable oversight",
    "power-seeking",
    "shard theory",
    "agent foundations",
    "AI governance",
    "forecasting",
    "steering",
    "language models",
    "threat models",
    "world modeling",
];

// ---------------------------------------------------------------------------------------------
// Authors

const FIRST_NAMES: &[&str] = &[
    "Mira", "Tomas", "Ines", "Priya", "Dariusz", "Halvard", "Noor", "Ann", "Bo", "Kai", "Lu", "Mo",
    "Ada", "Felix", "Sana", "Jonas", "Leila", "Ravi", "Elena", "Omar", "Yuki", "Grace", "Mateo",
    "Zofia", "Idris", "Hana", "Lars", "Amara", "Chen", "Nadia", "Pablo", "Ruth", "Soren", "Talia",
    "Viktor", "Wen", "Xavier", "Yara", "Zane", "Ilse",
];
const LAST_NAMES: &[&str] = &[
    "Okafor",
    "Lind",
    "Achterberg",
    "Venkataraman",
    "Halloran",
    "Quist",
    "Belkacem",
    "Lee",
    "Chen",
    "Moreau",
    "Nakamura",
    "Fischer",
    "Osei",
    "Kowalski",
    "Haddad",
    "Iyer",
    "Petrova",
    "Santos",
    "Berg",
    "Novak",
    "Adeyemi",
    "Larsen",
    "Takahashi",
    "Rossi",
    "Duarte",
    "Kaur",
    "Weber",
    "Mendes",
    "Popescu",
    "Abara",
    "Lindqvist",
    "Sato",
    "Gallo",
    "Horvat",
    "Eze",
    "Varga",
    "Nilsen",
    "Ortiz",
    "Brandt",
    "Yilmaz",
    "Costa",
    "Dubois",
    "Ivanova",
    "Jensen",
    "Kim",
    "Laine",
    "Mwangi",
    "Nair",
    "Olsen",
    "Park",
    "Quinn",
    "Reyes",
    "Schmidt",
    "Tran",
    "Ueda",
    "Vidal",
    "Wong",
    "Xu",
    "Young",
    "Zamora",
];

/// A pool of authors with Zipf-distributed output: author 0 writes the most at every size.
struct Authors {
    cumulative: Vec<f64>,
}

impl Authors {
    fn new(count: usize) -> Authors {
        let mut total = 0.0;
        let cumulative = (0..count.max(1))
            .map(|i| {
                total += 1.0 / (i + 1) as f64;
                total
            })
            .collect();
        Authors { cumulative }
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = *self.cumulative.last().expect("authors");
        let at = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= at)
            .min(self.cumulative.len() - 1)
    }

    /// The name of author `i`, the same at every size: distinct for every `i`.
    fn name(&self, i: usize) -> String {
        let (f, l) = (FIRST_NAMES.len(), LAST_NAMES.len());
        let first = FIRST_NAMES[i % f];
        let round = i / f;
        // `f + 1` and `l` are coprime, so every (first, last) pair comes once per round.
        let last = LAST_NAMES[(i % f + (f + 1) * round) % l];
        match round / l {
            0 => format!("{first} {last}"),
            initial => {
                let letter = char::from(b'A' + ((initial - 1) % 26) as u8);
                let suffix = if initial > 26 {
                    format!(" {}", initial / 26 + 1)
                } else {
                    String::new()
                };
                format!("{first} {letter}. {last}{suffix}")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary growth

/// Keeps the number of distinct words on the curve `K * n^beta`.
struct Vocabulary {
    k: f64,
    beta: f64,
    /// Words are coined only past this many words written, where the fit starts: the first
    /// paragraphs of any corpus are far from a power law.
    start: u64,
    words: u64,
    /// Hashes of the distinct lower-cased words written so far.
    seen: HashSet<u64>,
    /// Words coined so far, oldest first.
    coined: Vec<String>,
}

impl Vocabulary {
    /// Fits `K` and `beta` to the source's vocabulary growth, reading its documents in a shuffled
    /// order (the generator draws runs of paragraphs from random documents), by least squares on a log-log scale over
    /// the last five doublings. With `beta` given, only `K` is fitted, so that the curve passes
    /// through the whole source's vocabulary.
    fn fit(source: &Source, seed: u64, beta: Option<f64>) -> Vocabulary {
        let mut docs: Vec<&SourceDoc> = source.docs.iter().collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x05ee_d0f4_ea95);
        for i in (1..docs.len()).rev() {
            docs.swap(i, rng.random_range(0..=i));
        }
        let paragraphs: Vec<&str> = docs
            .iter()
            .flat_map(|doc| doc.paragraphs.iter().map(|p| p.text.as_str()))
            .collect();
        let total: u64 = paragraphs
            .iter()
            .map(|p| p.split_whitespace().count() as u64)
            .sum();
        let checkpoints: Vec<u64> = (0..6).rev().map(|d| (total >> d).max(1)).collect();
        let mut points = Vec::new();
        let mut seen = HashSet::new();
        let mut words = 0;
        for text in paragraphs {
            words += text.split_whitespace().count() as u64;
            seen.extend(word_hashes(text));
            if points.len() < checkpoints.len() && words >= checkpoints[points.len()] {
                points.push(((words as f64).ln(), (seen.len() as f64).ln()));
            }
        }
        let (end_x, end_y) = *points.last().expect("a checkpoint");
        let (k, beta) = match beta {
            Some(beta) => ((end_y - beta * end_x).exp(), beta),
            None if points.len() < 2 => ((end_y - 0.5 * end_x).exp(), 0.5),
            None => {
                let n = points.len() as f64;
                let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
                let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
                let covariance: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
                let variance: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
                let beta = covariance / variance;
                ((mean_y - beta * mean_x).exp(), beta)
            }
        };
        Vocabulary {
            k,
            beta,
            start: checkpoints[0],
            words: 0,
            seen: HashSet::new(),
            coined: Vec::new(),
        }
    }

    fn vary(&mut self, text: &str, rng: &mut ChaCha8Rng) -> String {
        let mut words: Vec<String> = text.split(' ').map(str::to_string).collect();
        let count = words.len() as u64;
        let target = self.k * ((self.words + count) as f64).powf(self.beta);
        let behind = if self.words < self.start {
            0
        } else {
            (target - self.seen.len() as f64).max(0.0) as usize
        };
        // Word slots that can take a variant: plain lower-case words of four letters or more.
        let slots: Vec<usize> = (0..words.len())
            .filter(|&i| words[i].len() >= 4 && words[i].bytes().all(|b| b.is_ascii_lowercase()))
            .collect();
        // At most one word in four is coined; whatever is left over waits for the next paragraph.
        let coin = behind.min(slots.len().div_ceil(4));
        for _ in 0..coin {
            let slot = slots[rng.random_range(0..slots.len())];
            let word = self.coin(&words[slot], rng);
            words[slot] = word;
        }
        if !self.coined.is_empty() && rng.random_bool(0.3) {
            // Earlier coinages come back, the oldest most often.
            let pick = (self.coined.len() as f64 * rng.random::<f64>().powi(3)) as usize;
            let at = rng.random_range(0..=words.len());
            words.insert(at, self.coined[pick].clone());
        }
        let text = words.join(" ");
        self.words += text.split_whitespace().count() as u64;
        self.seen.extend(word_hashes(&text));
        text
    }

    /// A word not seen before, derived from `base` or invented.
    fn coin(&mut self, base: &str, rng: &mut ChaCha8Rng) -> String {
        let mut word = String::new();
        for attempt in 0.. {
            word = match rng.random_range(0..100) {
                0..30 => format!("{}{base}", PREFIXES[rng.random_range(0..PREFIXES.len())]),
                30..60 => format!("{base}{}", SUFFIXES[rng.random_range(0..SUFFIXES.len())]),
                60..85 => {
                    let mut name = String::new();
                    for _ in 0..rng.random_range(2..=3) {
                        name.push_str(SYLLABLES[rng.random_range(0..SYLLABLES.len())]);
                    }
                    let mut chars = name.chars();
                    let first = chars.next().expect("a syllable").to_ascii_uppercase();
                    std::iter::once(first).chain(chars).collect()
                }
                _ => {
                    let letters: String = (0..rng.random_range(2..=4))
                        .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
                        .collect();
                    format!("{letters}{}", rng.random_range(1..1000))
                }
            };
            if attempt > 4 {
                // Crowded: lengthen it until it is new.
                for _ in 0..attempt - 4 {
                    word.push_str(SYLLABLES[rng.random_range(0..SYLLABLES.len())]);
                }
            }
            if !self.seen.contains(&word_hash(&word.to_lowercase())) {
                break;
            }
        }
        self.coined.push(word.clone());
        word
    }
}

const PREFIXES: &[&str] = &[
    "meta", "proto", "hyper", "quasi", "anti", "pre", "post", "sub", "super", "counter", "neo",
    "pseudo", "non", "semi", "ultra", "multi", "inter", "intra", "trans", "micro", "macro", "auto",
    "co", "re", "un", "over", "under", "mis", "de", "cross",
];
const SUFFIXES: &[&str] = &[
    "ness", "ity", "ize", "ization", "ish", "wise", "like", "ful", "less", "ology", "ist", "ian",
    "oid", "ward", "ality", "ism", "able", "ed", "ing", "er", "ic", "ics", "ly", "ment", "hood",
    "ship", "scape", "verse", "space", "ist",
];
const SYLLABLES: &[&str] = &[
    "ka", "ro", "vex", "li", "tor", "an", "mi", "zel", "qua", "dra", "no", "sen", "tri", "ox",
    "el", "va", "mur", "pha", "gen", "sys", "ion", "bel", "cor", "dax", "ev", "fyn", "gal", "hex",
    "ix", "jor",
];

/// Hashes of the lower-cased alphanumeric words of `text`.
fn word_hashes(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| word_hash(&word.to_lowercase()))
}

/// FNV-1a: stable across Rust versions, so the output depends on the seed alone.
fn word_hash(word: &str) -> u64 {
    word.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/// The sentences of a paragraph, split after `.`, `?` or `!` followed by a space and a capital.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for i in 1..bytes.len().saturating_sub(1) {
        if matches!(bytes[i - 1], b'.' | b'?' | b'!')
            && bytes[i] == b' '
            && bytes[i + 1].is_ascii_uppercase()
        {
            out.push(&text[start..i]);
            start = i + 1;
        }
    }
    out.push(&text[start..]);
    out
}

/// Markdown for plain text: the paragraph reads back as exactly this text.
fn escape_markdown(text: &str) -> String {
    text.split(' ')
        .enumerate()
        .map(|(i, word)| escape_markdown_word(word, i == 0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word of a paragraph, escaped; the first word also against starting a block (a list, a
/// heading, a quote, a thematic break).
fn escape_markdown_word(word: &str, first: bool) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    for (i, c) in word.char_indices() {
        let starts_block = first
            && (i == 0 && matches!(c, '-' | '+' | '=' | ':')
                || matches!(c, '.' | ')') && word[..i].bytes().all(|b| b.is_ascii_digit()));
        if starts_block
            || matches!(
                c,
                '\\' | '`'
                    | '*'
                    | '_'
                    | '['
                    | ']'
                    | '<'
                    | '>'
                    | '&'
                    | '$'
                    | '~'
                    | '|'
                    | '#'
                    | '{'
                    | '}'
                    | '!'
                    | '^'
            )
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends `text` wrapped at `width` columns (a long word stays whole).
fn wrap_into(out: &mut String, text: &str, width: usize) {
    let mut column = 0;
    for word in text.split(' ') {
        if column > 0 && column + 1 + word.len() > width {
            out.push('\n');
            column = 0;
        } else if column > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
    }
}

/// `Reward is not the optimization target` → `reward-is-not-the-optimization-target`, at most
/// 60 bytes.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "untitled".to_string()
    } else {
        out.to_string()
    }
}

fn random_id(rng: &mut ChaCha8Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

fn random_hex(rng: &mut ChaCha8Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_search::corpus::{parse_bytes, CorpusFile, Format};

    fn sample_corpus() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
    }

    fn generate_into(dir: &Path, size: u64, seed: u64) -> Report {
        generate_with(dir, size, seed, None)
    }

    fn generate_with(dir: &Path, size: u64, seed: u64, heaps_beta: Option<f64>) -> Report {
        generate(&Options {
            source: sample_corpus(),
            out: dir.to_path_buf(),
            size,
            seed,
            heaps_beta,
        })
        .unwrap()
    }

    /// Every file below `dir` with its bytes, in a stable order.
    fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = walkdir(dir)
            .into_iter()
            .map(|path| {
                let relative = path.strip_prefix(dir).unwrap().display().to_string();
                (relative, std::fs::read(&path).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    fn walkdir(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walkdir(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[test]
    fn sizes_are_read_in_powers_of_ten_or_two() {
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1.5 mb"), Ok(1_500_000));
        assert_eq!(parse_size("2MiB"), Ok(2 * 1024 * 1024));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10XB").is_err());
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        generate_into(a.path(), 300_000, 7);
        generate_into(b.path(), 300_000, 7);
        generate_into(c.path(), 300_000, 8);
        let first = contents(a.path());
        assert!(first.len() > 10);
        assert!(first == contents(b.path()));
        assert!(first != contents(c.path()));
    }

    #[test]
    fn output_has_the_size_asked_for_and_reads_back_without_problems() {
        let dir = tempfile::tempdir().unwrap();
        let report = generate_into(dir.path(), 400_000, 1);
        let deviation = report.bytes as f64 / 400_000.0 - 1.0;
        assert!(deviation.abs() < 0.02, "{} bytes", report.bytes);

        let mut formats = HashSet::new();
        let mut bytes = 0;
        let mut paragraphs = 0;
        let mut authors = HashSet::new();
        for file in Corpus::new(dir.path()).walk() {
            let file = file.unwrap();
            bytes += std::fs::metadata(&file.path).unwrap().len();
            formats.insert(format!("{:?}", file.format));
            let parsed = read_documents(&file).unwrap();
            assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
            for doc in &parsed.documents {
                assert!(!doc.paragraphs.is_empty(), "{}", doc.key);
                paragraphs += doc.paragraphs.len();
                authors.extend(doc.authors.iter().cloned());
                if file.format != Format::Text {
                    assert!(doc.date.is_some() && doc.url.is_some(), "{}", doc.key);
                }
            }
        }
        assert_eq!(bytes, report.bytes);
        assert_eq!(formats.len(), 3, "{formats:?}");
        assert!(paragraphs > 500);
        assert!(authors.contains("Mira Okafor") && authors.contains("mira-okafor"));
    }

    #[test]
    fn vocabulary_keeps_growing_on_the_heaps_curve() {
        let (small, large) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        // The sample corpus is tiny and its own exponent (about 0.7) would ask for more new words
        // than a real source does at any size; 0.5 is in the range of real ones.
        let small = generate_with(small.path(), 200_000, 3, Some(0.5));
        let large = generate_with(large.path(), 800_000, 3, Some(0.5));
        for report in [&small, &large] {
            let curve = report.heaps_k * (report.words as f64).powf(report.heaps_beta);
            let share = report.distinct_words as f64 / curve;
            assert!((0.95..1.1).contains(&share), "{report:?}");
        }
        // Four times the words: 4^0.5 times the vocabulary.
        assert!(large.distinct_words as f64 > 1.9 * small.distinct_words as f64);
    }

    #[test]
    fn escaped_markdown_reads_back_as_the_same_text() {
        let texts = [
            "1. Not a list, # not a heading, *not emphasis* and _not_ either.",
            "- no item; > no quote; <b>no tag</b> & no &amp; entity; $x$ and ~~y~~.",
            "[^1] [link](url) ![image](x) [[wiki]] `code` a|b {#id} \\ back\\slash",
            "--- is not a rule, nor === a heading, and 3) is no list.",
        ];
        for text in texts {
            let file = CorpusFile {
                path: PathBuf::from("a/b.md"),
                relative: "a/b.md".into(),
                format: Format::Markdown,
                aliases: None,
            };
            let markdown = format!("---\ntitle: t\n---\n\n{}\n", escape_markdown(text));
            let parsed = parse_bytes(&file, markdown.as_bytes()).unwrap();
            let read: Vec<_> = parsed.documents[0]
                .paragraphs
                .iter()
                .map(|p| p.text.as_str())
                .collect();
            assert_eq!(read, [text], "{markdown}");
        }
    }

    #[test]
    fn author_names_are_distinct() {
        let authors = Authors::new(20_000);
        let names: HashSet<_> = (0..20_000).map(|i| authors.name(i)).collect();
        assert_eq!(names.len(), 20_000);
        assert_eq!(authors.name(0), "Mira Okafor");
        assert_eq!(authors.name(1), "Tomas Lind");
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(15_340), "2012-01-01");
        assert_eq!(civil_date(20_269), "2025-06-30");
    }
}
