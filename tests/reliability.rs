//! Incremental indexing, bad input, locks, read-only and damaged indexes, concurrent use and
//! hostile queries. The long runs (50 kills, 200 incremental runs, a 1 GB file) are `#[ignore]`d:
//! `cargo test --release --test reliability -- --ignored` runs them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{ai_search, hits};
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

/// A corpus folder and an index folder, both temporary.
struct Workspace {
    dir: TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let workspace = Workspace {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(workspace.corpus()).unwrap();
        workspace
    }

    fn corpus(&self) -> PathBuf {
        self.dir.path().join("corpus")
    }

    fn index_dir(&self) -> PathBuf {
        self.dir.path().join("index")
    }

    fn write(&self, relative: &str, content: impl AsRef<[u8]>) {
        let path = self.corpus().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = ai_search();
        cmd.arg("--index").arg(self.index_dir());
        cmd
    }

    fn index(&self) -> assert_cmd::assert::Assert {
        self.cmd().arg("index").arg(self.corpus()).assert()
    }

    fn query(&self, query: &str) -> Value {
        let output = self
            .cmd()
            .args(["query", "--json", "--limit", "100", "--", query])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// The payload of the last commit.
    fn payload(&self) -> Value {
        let meta: Value =
            serde_json::from_slice(&std::fs::read(self.index_dir().join("meta.json")).unwrap())
                .unwrap();
        serde_json::from_str(meta["payload"].as_str().unwrap()).unwrap()
    }
}

/// The summary's counts, as printed: "N added, N updated, N removed, N unchanged, N skipped".
fn counts(
    added: usize,
    updated: usize,
    removed: usize,
    unchanged: usize,
    skipped: usize,
) -> String {
    format!(
        "{added} added, {updated} updated, {removed} removed, {unchanged} unchanged, {skipped} skipped"
    )
}

fn texts(results: &Value) -> Vec<String> {
    hits(results)
        .iter()
        .map(|hit| {
            format!(
                "{}: {}",
                hit["path"].as_str().unwrap(),
                hit["text"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_second_run_reads_only_what_changed() {
    let ws = Workspace::new();
    ws.write("ann/a.md", "Apple paragraph about oversight.\n");
    ws.write("ann/b.md", "Banana paragraph about oversight.\n");
    ws.write("bo/c.txt", "Cherry paragraph about oversight.\n");
    ws.write("bo/d.txt", "Damson paragraph about oversight.\n");
    ws.index()
        .success()
        .stdout(predicate::str::contains(counts(4, 0, 0, 0, 0)));
    ws.index()
        .success()
        .stdout(predicate::str::contains(counts(0, 0, 0, 4, 0)))
        .stdout(predicate::str::contains("read 0 documents, 0 paragraphs"));

    std::thread::sleep(Duration::from_millis(20));
    ws.write("ann/a.md", "Apricot paragraph about oversight.\n");
    std::fs::remove_file(ws.corpus().join("ann/b.md")).unwrap();
    std::fs::rename(ws.corpus().join("bo/c.txt"), ws.corpus().join("bo/e.txt")).unwrap();
    ws.write("bo/d.txt", "Damson paragraph about oversight.\n"); // same bytes, new mtime
    ws.write("bo/f.txt", "Fig paragraph about oversight.\n");
    ws.index()
        .success()
        .stdout(predicate::str::contains(counts(2, 1, 2, 1, 0)))
        .stdout(predicate::str::contains(
            "The index holds 4 paragraphs from 4 files.",
        ));
    let mut found = texts(&ws.query("oversight"));
    found.sort();
    assert_eq!(
        found,
        [
            "ann/a.md: Apricot paragraph about oversight.",
            "bo/d.txt: Damson paragraph about oversight.",
            "bo/e.txt: Cherry paragraph about oversight.",
            "bo/f.txt: Fig paragraph about oversight.",
        ]
    );

    // --rebuild reads everything again and ends in the same state.
    ws.cmd()
        .args(["index", "--rebuild"])
        .arg(ws.corpus())
        .assert()
        .success()
        .stdout(predicate::str::contains(counts(4, 0, 0, 0, 0)));
    let mut again = texts(&ws.query("oversight"));
    again.sort();
    assert_eq!(again, found);
}

#[test]
fn the_manifest_is_committed_with_the_index() {
    let ws = Workspace::new();
    ws.write("ann/a.md", "One.\n\nTwo.\n");
    ws.index().success();
    let payload = ws.payload();
    assert_eq!(payload["schema_version"], 7);
    assert_eq!(payload["generation"], 1);
    let name = payload["manifest"].as_str().unwrap();
    assert_eq!(name, "ai-search-manifest-1.json.zst");
    let compressed = std::fs::read(ws.index_dir().join(name)).unwrap();
    let manifest: Value =
        serde_json::from_slice(&zstd::decode_all(&compressed[..]).unwrap()).unwrap();
    let record = &manifest["ann/a.md"];
    assert_eq!(record["size"], 11);
    assert_eq!(record["paragraphs"], 2);
    assert!(record["mtime"].as_u64().unwrap() > 0);
    assert!(record["hash"].as_u64().is_some());

    // A run that changes nothing commits nothing; one that does names a new manifest and the
    // old one goes.
    ws.index().success();
    assert_eq!(ws.payload()["generation"], 1);
    ws.write("ann/a.md", "One.\n\nTwo.\n\nThree.\n");
    ws.index().success();
    assert_eq!(ws.payload()["manifest"], "ai-search-manifest-2.json.zst");
    assert!(!ws.index_dir().join(name).exists());
    ws.cmd()
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::ends_with(
            "OK (3 paragraphs in 1 segment, 1 file listed in the manifest)\n",
        ));
}

/// Runs `cmd` as the unprivileged user `nobody` when the tests run as root, so that file
/// permissions apply.
fn unprivileged(program: &Path) -> std::process::Command {
    if is_root() {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(program);
        cmd
    } else {
        std::process::Command::new(program)
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn bad_files_are_reported_and_everything_else_indexed() {
    let ws = Workspace::new();
    ws.write("eve/good.md", "Good paragraph about interpretability.\n");
    ws.write("eve/binary.txt", b"PK\x03\x04\x00\x00binary");
    ws.write("eve/latin1.txt", b"caf\xe9 au lait");
    ws.write("eve/empty.md", "");
    ws.write("eve/unclosed.md", "---\ntitle: Never closed\n\nBody.\n");
    ws.write(
        "eve/malformed.md",
        "---\ntitle: [oops\n---\n\nBody of malformed.\n",
    );
    let mut bomb = String::from(
        "---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut previous = 'a';
    for name in 'b'..='i' {
        let refs = vec![format!("*{previous}"); 9].join(",");
        bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
        previous = name;
    }
    bomb.push_str("---\n\nBody of the bomb.\n");
    ws.write("eve/bomb.md", bomb);
    ws.write(
        "eve/records.jsonl",
        "{\"id\":\"r1\",\"text\":\"First record.\"}\n{\"id\":\"r2\",\"text\" oops}\n{\"id\":\"r3\",\"text\":\"Third record.\"}\n{\"id\":\"r4\",\"text\":\"cut",
    );
    ws.write(
        "eve/windows.md",
        "\u{feff}---\r\ntitle: Windows file\r\n---\r\n\r\nA line from Windows\r\nwith CRLF endings.\r\n",
    );
    ws.write(
        "eve/long-paragraph.txt",
        "word ".repeat(20_000).trim_end().to_string() + "\n\nShort closing paragraph.\n",
    );
    ws.write("eve/long-word.txt", "x".repeat(70_000));
    ws.write(
        "eve/huge.txt",
        "lorem ".repeat(7_000_000), // 42 MB on one line
    );
    ws.write("eve/unreadable.md", "Secret paragraph.\n");
    set_mode(&ws.corpus().join("eve/unreadable.md"), 0o000);
    ws.write("locked/inside.md", "Inside a closed folder.\n");
    set_mode(&ws.corpus().join("locked"), 0o000);
    std::os::unix::fs::symlink(
        ws.corpus().join("nowhere.md"),
        ws.corpus().join("eve/dangling.md"),
    )
    .unwrap();
    std::os::unix::fs::symlink(ws.corpus().join("eve"), ws.corpus().join("eve/loop")).unwrap();
    let fifo = ws.corpus().join("eve/pipe.md");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // Folders and files readable by the unprivileged user, but for the two closed ones.
    for path in [
        ws.dir.path().to_path_buf(),
        ws.corpus(),
        ws.corpus().join("eve"),
    ] {
        set_mode(&path, 0o777);
    }

    let output = unprivileged(&assert_cmd::cargo::cargo_bin("ai-search"))
        .arg("--index")
        .arg(ws.index_dir())
        .arg("index")
        .arg("-v")
        .arg(ws.corpus())
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "warning: skipped eve/binary.txt: binary file (contains NUL bytes)\n\
         warning: skipped eve/dangling.md: no such file or folder\n\
         warning: skipped eve/empty.md: empty file\n\
         warning: skipped eve/latin1.txt: not valid UTF-8 (bad byte at offset 3)\n\
         warning: skipped eve/loop: symbolic link loop (links to a folder above it)\n\
         warning: skipped eve/pipe.md: not a regular file (a FIFO, socket or device)\n\
         warning: skipped eve/unclosed.md: front matter is not closed (no `---` line after the opening one)\n\
         warning: skipped eve/unreadable.md: permission denied\n\
         warning: skipped locked: permission denied\n\
         warning: eve/bomb.md: front matter is not valid YAML (repetition limit exceeded); indexed without it\n\
         warning: eve/huge.txt: larger than 32 MiB; indexed only its first 32 MiB\n\
         warning: eve/huge.txt: paragraph 1: a paragraph of 32768 KiB, cut to 32 KiB\n\
         warning: eve/long-paragraph.txt: paragraph 1: a paragraph of 97 KiB, cut to 32 KiB\n\
         warning: eve/long-word.txt: paragraph 1: a word of 68 KiB, cut to 32 KiB\n\
         warning: eve/malformed.md: front matter is not valid YAML (did not find expected ',' or ']' at line 2 column 1, while parsing a flow sequence at line 1 column 8); indexed without it\n\
         warning: eve/records.jsonl:2: malformed JSON at column 19\n\
         warning: eve/records.jsonl:4: truncated JSON record\n"
    );
    assert!(stdout.contains(&counts(8, 0, 0, 0, 9)), "{stdout}");

    let found = |query: &str| texts(&ws.query(query));
    assert_eq!(
        found("interpretability"),
        ["eve/good.md: Good paragraph about interpretability."]
    );
    assert_eq!(
        found("windows crlf"),
        ["eve/windows.md: A line from Windows with CRLF endings."]
    );
    assert_eq!(
        ws.query("\"windows file\"")["hits"][0]["topic"],
        "Windows file"
    );
    let mut records = found("record");
    records.sort();
    assert_eq!(
        records,
        [
            "eve/records.jsonl: First record.",
            "eve/records.jsonl: Third record."
        ]
    );
    assert_eq!(found("bomb"), ["eve/bomb.md: Body of the bomb."]);
    let cut = &ws.query("closing")["hits"][0];
    assert_eq!(cut["text"], "Short closing paragraph.");
    let long = &ws.query("\"word word\"")["hits"][0];
    assert!(long["text"].as_str().unwrap().len() <= 32 << 10);
}

#[test]
fn a_file_that_turns_bad_keeps_what_was_indexed() {
    let ws = Workspace::new();
    ws.write("ann/notes.md", "Corrigibility notes that matter.\n");
    ws.write("ann/other.md", "Other words.\n");
    ws.index().success();
    std::thread::sleep(Duration::from_millis(20));
    ws.write("ann/notes.md", b"\x00\x01 corrupted by a bad export");
    ws.index()
        .code(1)
        .stderr("warning: skipped ann/notes.md: binary file (contains NUL bytes)\n")
        .stdout(predicate::str::contains(counts(0, 0, 0, 1, 1)))
        .stdout(predicate::str::contains(
            "The index holds 2 paragraphs from 2 files.",
        ));
    assert_eq!(
        texts(&ws.query("corrigibility")),
        ["ann/notes.md: Corrigibility notes that matter."]
    );
}

#[test]
fn a_second_indexer_is_turned_away_and_a_stale_lock_is_harmless() {
    let ws = Workspace::new();
    ws.write("ann/a.md", "Text.\n");
    ws.index().success();
    let lock = std::fs::File::options()
        .write(true)
        .open(ws.index_dir().join("ai-search.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    ws.index().code(3).stdout("").stderr(format!(
        "error: index is being updated by another process ({})\n",
        ws.index_dir().display()
    ));
    // Queries go on meanwhile.
    assert_eq!(ws.query("text")["total_hits"], 1);
    drop(lock);
    // The lock file is still there, but nobody holds it.
    assert!(ws.index_dir().join("ai-search.lock").exists());
    ws.index().success();
}

#[test]
fn a_read_only_index_can_be_queried() {
    let ws = Workspace::new();
    ws.write("ann/a.md", "Read-only oversight paragraph.\n");
    ws.index().success();
    set_mode(ws.dir.path(), 0o755);
    for entry in std::fs::read_dir(ws.index_dir()).unwrap() {
        set_mode(&entry.unwrap().path(), 0o444);
    }
    set_mode(&ws.index_dir(), 0o555);
    let output = unprivileged(&assert_cmd::cargo::cargo_bin("ai-search"))
        .arg("--index")
        .arg(ws.index_dir())
        .args(["query", "--json", "oversight"])
        .env_clear()
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let results: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(results["total_hits"], 1);
    set_mode(&ws.index_dir(), 0o755);
}

/// The segment files of an index with this extension.
fn segment_files(index_dir: &Path, extension: &str) -> Vec<PathBuf> {
    std::fs::read_dir(index_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect()
}

#[test]
fn a_damaged_index_says_to_rebuild_and_never_panics() {
    let ws = Workspace::new();
    for i in 0..30 {
        ws.write(
            &format!("ann/{i}.md"),
            format!("Paragraph {i} about debate.\n"),
        );
    }
    ws.index().success();
    let store = &segment_files(&ws.index_dir(), "store")[0];
    let bytes = std::fs::read(store).unwrap();
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(store, &damaged).unwrap();
    ws.cmd()
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("checksum mismatch"))
        .stderr(predicate::str::ends_with(
            "error: the index is damaged; run `ai-search index --rebuild <CORPUS>`\n",
        ));

    // A truncated file: queries fail with one line that names --rebuild.
    std::fs::write(store, &bytes[..bytes.len() / 3]).unwrap();
    ws.cmd()
        .args(["query", "debate"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::str::contains("--rebuild"))
        .stderr(predicate::str::contains("panicked").not())
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));

    // A missing file likewise.
    std::fs::remove_file(&segment_files(&ws.index_dir(), "idx")[0]).unwrap();
    ws.cmd()
        .args(["query", "debate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--rebuild"))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
    ws.cmd()
        .args(["index", "--rebuild"])
        .arg(ws.corpus())
        .assert()
        .success();
    assert_eq!(ws.query("debate")["total_hits"], 30);
}

#[test]
fn hostile_queries_get_an_answer_or_one_clear_line() {
    let ws = Workspace::new();
    ws.write("ann/a.md", "Plain text about topics and fields.\n");
    ws.index().success();
    let deep = "(".repeat(10_000);
    let long = "a".repeat(100_000);
    let nested = format!("{}a", "(".repeat(500));
    let cases: [(&str, Option<&str>); 9] = [
        ("- *", Some("error: cannot parse query: the query has no words to search for\n")),
        // Its one word is a stop word, which the index leaves out.
        (
            "a:(^",
            Some("error: cannot parse query: the query has only stop words (\"a\"), which the index leaves out\n"),
        ),
        (&deep, Some("error: cannot parse query: the query is too long (10000 characters; at most 1000)\n")),
        (&long, Some("error: cannot parse query: the query is too long (100000 characters; at most 1000)\n")),
        (&nested, Some("error: cannot parse query: the query nests parentheses 500 deep (at most 32)\n")),
        ("\"unbalanced quote", None),
        ("*text", None),
        ("nosuchfield:value", None),
        ("topic:", None),
    ];
    for (query, error) in cases {
        let assert = ws
            .cmd()
            .args(["query", "--", query])
            .timeout(Duration::from_secs(10))
            .assert();
        match error {
            Some(message) => assert.code(2).stderr(message.to_string()),
            None => assert.code(0).stderr(""),
        };
    }
}

#[test]
fn queries_during_commits_always_see_a_complete_commit() {
    let ws = Workspace::new();
    let version = |word: &str| {
        (0..20)
            .map(|i| format!("{word} paragraph number {i}."))
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    ws.write("ann/changing.md", version("alpha"));
    ws.write("ann/steady.md", "Steady alpha and beta text.\n");
    ws.index().success();
    let binary = assert_cmd::cargo::cargo_bin("ai-search");
    let (index_dir, corpus) = (ws.index_dir(), ws.corpus());
    let writer = std::thread::spawn(move || {
        for round in 0..12 {
            let word = if round % 2 == 0 { "beta" } else { "alpha" };
            std::fs::write(corpus.join("ann/changing.md"), version(word)).unwrap();
            let status = std::process::Command::new(&binary)
                .arg("--index")
                .arg(&index_dir)
                .arg("index")
                .arg(&corpus)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        }
    });
    let mut observed = 0;
    while !writer.is_finished() || observed == 0 {
        // Every commit holds 21 paragraphs with one of the words: never 1, never 41.
        assert_eq!(ws.query("alpha OR beta")["total_hits"], 21);
        observed += 1;
    }
    writer.join().unwrap();
    assert!(observed > 1);
}

/// A deterministic corpus of `files` Markdown files of `paragraphs` paragraphs each, from a
/// made-up vocabulary; `round` varies the words, so that rewriting a file changes it.
fn synthetic_file(file: usize, paragraphs: usize, round: usize) -> String {
    let mut state = (file as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((round as u64) << 32);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let syllables = [
        "ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "ze", "pa", "qu", "de",
    ];
    let mut text = format!("---\ntitle: Synthetic note {file}\n---\n\n");
    for _ in 0..paragraphs {
        let words = 25 + next() as usize % 30;
        for _ in 0..words {
            let length = 2 + next() as usize % 3;
            for _ in 0..length {
                text.push_str(syllables[next() as usize % syllables.len()]);
            }
            text.push(' ');
        }
        text.push_str("\n\n");
    }
    text
}

const SYNTHETIC_QUERIES: [&str; 5] = [
    "kalo",
    "mine suta",
    "\"rivo zepa\"",
    "deka OR quta",
    "tazesu",
];

/// `path#paragraph` of the top 10 of each synthetic query, each list sorted.
fn top_tens(index_dir: &Path) -> Vec<Vec<String>> {
    SYNTHETIC_QUERIES
        .iter()
        .map(|query| {
            let output = ai_search()
                .arg("--index")
                .arg(index_dir)
                .args(["query", "--json", "--", query])
                .output()
                .unwrap();
            assert!(output.status.success(), "{output:?}");
            let results: Value = serde_json::from_slice(&output.stdout).unwrap();
            let mut refs = common::refs(&results);
            refs.sort();
            refs
        })
        .collect()
}

#[test]
#[ignore = "long: kills the indexer 50 times; run with --ignored"]
fn an_indexer_killed_at_any_moment_leaves_the_last_commit() {
    const FILES: usize = 400;
    const PARAGRAPHS: usize = 60; // 24,000 paragraphs
    let ws = Workspace::new();
    for file in 0..FILES {
        ws.write(
            &format!("a{}/note-{file}.md", file % 8),
            synthetic_file(file, PARAGRAPHS, 0),
        );
    }
    ws.index().success();
    let binary = assert_cmd::cargo::cargo_bin("ai-search");
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut random = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below.max(1)
    };
    // How long a run with this much to do takes: kills fall anywhere within it.
    for file in 0..FILES / 10 {
        ws.write(
            &format!("a{}/note-{file}.md", file % 8),
            synthetic_file(file, PARAGRAPHS, 99),
        );
    }
    let started = std::time::Instant::now();
    ws.index().success();
    let run_time = started.elapsed();
    let mut interrupted = 0;
    for round in 1..=50 {
        // Rewrite 10% of the files, delete one and add one, so the run has work to do.
        for _ in 0..FILES / 10 {
            let file = random(FILES as u64) as usize;
            ws.write(
                &format!("a{}/note-{file}.md", file % 8),
                synthetic_file(file, PARAGRAPHS, round),
            );
        }
        let _ = std::fs::remove_file(ws.corpus().join(format!("a{}/note-{round}.md", round % 8)));
        ws.write(
            &format!("new/note-{round}.md"),
            synthetic_file(1000 + round, 10, round),
        );
        let mut child = std::process::Command::new(&binary)
            .arg("--index")
            .arg(ws.index_dir())
            .arg("index")
            .arg(ws.corpus())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = random(run_time.as_millis() as u64 + 1);
        std::thread::sleep(Duration::from_millis(wait));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The index opens, holds exactly what its manifest lists, and answers queries.
        ws.cmd().arg("check").assert().success();
        for query in SYNTHETIC_QUERIES {
            ws.cmd().args(["query", "--", query]).assert().success();
        }
    }
    eprintln!("{interrupted} of 50 runs were killed before they finished");
    assert!(
        interrupted >= 25,
        "only {interrupted} runs were killed while running"
    );
    ws.index().success();
    let clean = ws.dir.path().join("clean");
    ai_search()
        .arg("--index")
        .arg(&clean)
        .arg("index")
        .arg(ws.corpus())
        .assert()
        .success();
    assert_eq!(top_tens(&ws.index_dir()), top_tens(&clean));
}

/// Total size of the files in a folder.
fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
#[ignore = "long: 200 incremental runs; run with --ignored"]
fn disk_use_stays_bounded_over_many_incremental_runs() {
    const FILES: usize = 400;
    let ws = Workspace::new();
    for file in 0..FILES {
        ws.write(
            &format!("a{}/note-{file}.md", file % 8),
            synthetic_file(file, 60, 0),
        );
    }
    ws.index().success();
    let fresh = folder_size(&ws.index_dir());
    let mut largest = fresh;
    for round in 1..=200 {
        for k in 0..FILES / 100 {
            let file = (round * 7 + k * 101) % FILES;
            ws.write(
                &format!("a{}/note-{file}.md", file % 8),
                synthetic_file(file, 60, round),
            );
        }
        ws.index().success();
        largest = largest.max(folder_size(&ws.index_dir()));
    }
    let rebuilt = ws.dir.path().join("rebuilt");
    ai_search()
        .arg("--index")
        .arg(&rebuilt)
        .arg("index")
        .arg(ws.corpus())
        .assert()
        .success();
    let fresh = fresh.max(folder_size(&rebuilt));
    eprintln!("fresh build {fresh} bytes; largest after an incremental run {largest} bytes");
    assert!(largest < 2 * fresh, "{largest} >= 2 x {fresh}");
}

#[test]
#[ignore = "long: writes a 1 GB file; run with --ignored"]
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its peak memory
fn a_one_gigabyte_line_is_cut_with_bounded_memory() {
    use std::io::Write;
    let ws = Workspace::new();
    ws.write("big/ok.md", "A normal paragraph.\n");
    {
        let mut file = std::fs::File::create(ws.corpus().join("big/line.txt")).unwrap();
        let chunk = "alignment ".repeat(100_000); // 1 MB
        for _ in 0..1024 {
            file.write_all(chunk.as_bytes()).unwrap();
        }
    }
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ai-search"))
        .arg("--index")
        .arg(ws.index_dir())
        .arg("index")
        .arg(ws.corpus())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child and fills a zeroed rusage.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let peak_mib = usage.ru_maxrss / 1024;
    eprintln!("peak RSS {peak_mib} MiB");
    assert_eq!(libc::WEXITSTATUS(status), 1);
    assert!(peak_mib < 400, "peak RSS {peak_mib} MiB");
    assert_eq!(ws.query("normal")["total_hits"], 1);
    assert_eq!(ws.query("alignment")["total_hits"], 1);
}

#[test]
fn a_changed_aliases_file_reindexes_every_file() {
    let ws = Workspace::new();
    ws.write("kim/a.md", "Kim's paragraph on debate.\n");
    ws.write("lee/b.md", "Lee's paragraph on debate.\n");
    let authors = |ws: &Workspace| {
        let mut authors: Vec<String> = hits(&ws.query("debate"))
            .iter()
            .map(|hit| hit["author"].as_str().unwrap().to_string())
            .collect();
        authors.sort();
        authors
    };
    ws.index().success();
    assert_eq!(authors(&ws), ["kim", "lee"]);
    std::fs::write(ws.corpus().join("aliases.yaml"), "Kim Hale: kim\n").unwrap();
    ws.index()
        .success()
        .stdout(predicate::str::contains(counts(0, 2, 0, 0, 0)));
    assert_eq!(authors(&ws), ["Kim Hale", "lee"]);
    // Unchanged aliases: nothing to read again.
    ws.index()
        .success()
        .stdout(predicate::str::contains(counts(0, 0, 0, 2, 0)));
}
