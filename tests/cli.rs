//! Runs the real `ai-search` binary on the fixtures corpus and checks exact outcomes.

mod common;

use common::{ai_search, hit_refs, hits, refs, Indexed};
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> std::path::PathBuf {
    common::fixtures("corpus")
}

#[test]
fn index_reports_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    ai_search()
        .current_dir(dir.path())
        .args(["index"])
        .arg(fixtures())
        .assert()
        .success()
        .stdout(predicate::str::is_match(
            "^Indexed .ai-search in [0-9.]+s: 5 added, 0 updated, 0 removed, 0 unchanged, 0 skipped; \
             read 6 documents, 17 paragraphs, 0.0 MB. The index holds 17 paragraphs from 5 files.\n$",
        ).unwrap());
    assert!(dir.path().join(".ai-search/meta.json").is_file());
}

#[test]
fn index_location_comes_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let env_index = dir.path().join("from-env");
    ai_search()
        .env("AI_SEARCH_INDEX", &env_index)
        .current_dir(dir.path())
        .arg("index")
        .arg(fixtures())
        .assert()
        .success();
    assert!(env_index.join("meta.json").is_file());
    assert!(!dir.path().join(".ai-search").exists());
}

#[test]
fn the_paragraph_about_the_query_ranks_first() {
    let indexed = Indexed::new();
    let results = indexed.json(&["alignment faking"]);
    assert_eq!(refs(&results)[0], "ann-lee/alignment-faking.md#1");
    let first = &hits(&results)[0];
    assert_eq!(first["rank"], 1);
    assert_eq!(first["author"], "Ann Lee");
    assert_eq!(first["topic"], "Alignment faking in practice");
    assert_eq!(
        first["text"],
        "Alignment faking is when a model complies during training only to avoid being modified."
    );
    assert_eq!(first["date"], "2024-12-18");
    assert_eq!(first["url"], "https://example.org/ann/alignment-faking");
    assert!(first["score"].as_f64().unwrap() > 0.0);
}

#[test]
fn json_has_the_documented_keys() {
    let indexed = Indexed::new();
    let results = indexed.json(&["scratchpad"]);
    assert_eq!(results["query"], "scratchpad");
    assert_eq!(results["total_hits"], 1);
    let hit = &hits(&results)[0];
    for key in [
        "rank",
        "score",
        "author",
        "authors",
        "topic",
        "path",
        "paragraph",
        "section",
        "text",
        "snippet",
        "highlights",
        "before",
        "after",
    ] {
        assert!(hit.get(key).is_some(), "missing {key} in {hit}");
    }
    assert_eq!(hit["section"], "Evidence");
    assert_eq!(hit["paragraph"], 2);
    // The snippet marks the matched word.
    let snippet = hit["snippet"].as_str().unwrap();
    let (start, end) = (
        hit["highlights"][0][0].as_u64().unwrap() as usize,
        hit["highlights"][0][1].as_u64().unwrap() as usize,
    );
    let marked: String = snippet.chars().skip(start).take(end - start).collect();
    assert_eq!(marked, "scratchpad");
}

#[test]
fn context_paragraphs_are_the_true_neighbours() {
    let indexed = Indexed::new();
    let hit = hits(&indexed.json(&["scratchpad"]))[0].clone();
    assert_eq!(
        hit["before"],
        serde_json::json!([
            "Alignment faking is when a model complies during training only to avoid being modified."
        ])
    );
    assert_eq!(
        hit["after"],
        serde_json::json!([
            "The faking of benchmark reports is a separate problem from alignment in the strict sense."
        ])
    );

    let hit = hits(&indexed.json(&["--context", "2", "benchmark reports"]))[0].clone();
    assert_eq!(hit["paragraph"], 3);
    assert_eq!(hit["before"].as_array().unwrap().len(), 2);
    assert!(hit["before"][1]
        .as_str()
        .unwrap()
        .starts_with("A scratchpad"));
    assert_eq!(
        hit["after"],
        serde_json::json!(["See the shutdown paper and bold claims about deference."])
    );

    let hit = hits(&indexed.json(&["--context", "0", "scratchpad"]))[0].clone();
    assert_eq!(hit["before"], serde_json::json!([]));
    assert_eq!(hit["after"], serde_json::json!([]));
}

#[test]
fn text_is_clean_of_markup_and_code() {
    let indexed = Indexed::new();
    let results = indexed.json(&["shutdown paper"]);
    assert_eq!(
        hits(&results)[0]["text"],
        "See the shutdown paper and bold claims about deference."
    );
    // The code block is not indexed: only prose mentions of "inside a code block" could match.
    assert_eq!(indexed.json(&["\"code block\""])["total_hits"], 0);
    // Front matter is metadata, not text.
    assert_eq!(indexed.json(&["original_url"])["total_hits"], 0);
}

#[test]
fn phrase_query_differs_from_the_same_words_unquoted() {
    let indexed = Indexed::new();
    let loose = refs(&indexed.json(&["--limit", "50", "faking alignment"]));
    let phrase = refs(&indexed.json(&["--limit", "50", "\"faking alignment\""]));
    // "The faking of benchmark reports ... alignment ..." has both words, not the phrase.
    assert!(loose.contains(&"ann-lee/alignment-faking.md#3".to_string()));
    assert!(!phrase.contains(&"ann-lee/alignment-faking.md#3".to_string()));
    assert!(phrase.is_empty(), "{phrase:?}");
    let mut phrase = refs(&indexed.json(&["--limit", "50", "\"compliance gap\""]));
    phrase.sort();
    assert_eq!(
        phrase,
        ["ann-lee/alignment-faking.md#2", "bo-chen/comments.txt#3"]
    );
}

#[test]
fn author_filter_returns_only_that_authors_paragraphs() {
    let indexed = Indexed::new();
    let query = "probes OR faking";
    let everyone = indexed.json(&["--limit", "50", query]);
    let by_ann: Vec<String> = hits(&everyone)
        .iter()
        .filter(|hit| {
            hit["authors"]
                .as_array()
                .unwrap()
                .contains(&"Ann Lee".into())
        })
        .map(|hit| format!("{}#{}", hit["path"].as_str().unwrap(), hit["paragraph"]))
        .collect();
    assert!(by_ann.len() >= 3 && by_ann.len() < hits(&everyone).len());
    for name in ["Ann Lee", "ann lee", "ANN LEE"] {
        let mut found = refs(&indexed.json(&["--author", name, "--limit", "50", query]));
        found.sort();
        let mut expected = by_ann.clone();
        expected.sort();
        assert_eq!(found, expected, "for --author {name}");
    }
    // A partial name is a phrase match too; a name that is nobody's finds nothing.
    assert_eq!(
        indexed.json(&["--author", "lee", query])["total_hits"],
        by_ann.len()
    );
    assert_eq!(
        indexed.json(&["--author", "Lee Ann", query])["total_hits"],
        0
    );
    // The folder name is the author of files that name none.
    let results = indexed.json(&["--author", "bo-chen", "reward"]);
    assert_eq!(refs(&results)[0], "bo-chen/reward-hacking.txt#1");
    assert!(hits(&results).iter().all(|hit| hit["author"] == "bo-chen"));
    // `author:` in the query does the same.
    let results = indexed.json(&["author:diaz AND probes"]);
    assert!(hits(&results)
        .iter()
        .all(|hit| hit["author"] == "Cara Diaz, Ann Lee"));
}

/// Authors and tags are indexed on a document's first paragraph only; a clause on them stands for
/// every paragraph of the documents it finds.
#[test]
fn author_and_tags_clauses_cover_whole_documents() {
    let indexed = Indexed::new();
    let refs_of = |query: &str| {
        let mut found = hit_refs(&indexed.json(&["--limit", "50", query]));
        found.sort();
        found
    };
    assert_eq!(
        refs_of("tags:deception AND scratchpad"),
        ["ann-lee/alignment-faking.md#2"]
    );
    assert_eq!(
        refs_of("tags:arxiv AND evaluation"),
        ["papers/ard.jsonl:f00d01#2", "papers/ard.jsonl:f00d01#3"]
    );
    let everyone = refs_of("probes OR faking");
    let without_diaz = refs_of("(probes OR faking) -author:diaz");
    assert_eq!(
        everyone
            .iter()
            .filter(|reference| !reference.starts_with("papers/ard.jsonl:f00d01#"))
            .collect::<Vec<_>>(),
        without_diaz.iter().collect::<Vec<_>>()
    );
    assert_eq!(everyone.len(), without_diaz.len() + 3);
    // Only exclusions: tantivy's parser refuses them, and the words are searched instead.
    let results = indexed.json(&["NOT author:diaz"]);
    assert_eq!(
        results["notices"][0].as_str().unwrap().split(" (").next(),
        Some("could not read the query's operators")
    );
}

#[test]
fn topic_filter_and_topic_fallbacks() {
    let indexed = Indexed::new();
    let results = indexed.json(&["--topic", "off switch", "--limit", "50", "agent"]);
    let mut found = refs(&results);
    found.sort();
    assert_eq!(
        found,
        ["ann-lee/corrigibility.md#1", "ann-lee/corrigibility.md#2"]
    );
    // No front matter: the first `#` heading is the topic, the folder the author.
    assert_eq!(
        hits(&results)[0]["topic"],
        "Corrigibility and the off switch"
    );
    assert_eq!(hits(&results)[0]["author"], "ann-lee");
    // A text file's topic is its file name.
    let results = indexed.json(&["--topic", "reward-hacking", "boat"]);
    assert_eq!(refs(&results), ["bo-chen/reward-hacking.txt#2"]);
    // Footnote definitions are paragraphs.
    let results = indexed.json(&["interpretability tools"]);
    assert_eq!(refs(&results)[0], "ann-lee/corrigibility.md#3");
}

#[test]
fn a_topic_match_counts_more_than_a_body_match() {
    let indexed = Indexed::new();
    // "debate" is in the topic and text of one record; "oversight" only in its topic.
    let results = indexed.json(&["oversight"]);
    assert_eq!(refs(&results), ["papers/ard.jsonl#1"]);
    assert_eq!(hits(&results)[0]["topic"], "Debate as oversight");
}

#[test]
fn json_lines_records_are_documents_of_their_own() {
    let indexed = Indexed::new();
    let results = indexed.json(&["accuracy"]);
    let first = &hits(&results)[0];
    assert_eq!(first["path"], "papers/ard.jsonl");
    assert_eq!(first["id"], "f00d01");
    assert_eq!(first["paragraph"], 2);
    assert_eq!(
        first["authors"],
        serde_json::json!(["Cara Diaz", "Ann Lee"])
    );
    assert_eq!(first["date"], "2023-05-02");
    assert_eq!(
        first["before"],
        serde_json::json!(["We train linear probes on residual stream activations."])
    );
    // The summary is the record's last paragraph, in its own section.
    assert_eq!(
        first["after"],
        serde_json::json!(["Linear probes detect evaluation awareness."])
    );
}

#[test]
fn paging_with_limit_and_offset() {
    let indexed = Indexed::new();
    let all = refs(&indexed.json(&["--limit", "50", "alignment OR reward OR probes"]));
    assert!(all.len() >= 6, "{all:?}");
    let page = indexed.json(&[
        "--limit",
        "2",
        "--offset",
        "2",
        "alignment OR reward OR probes",
    ]);
    assert_eq!(refs(&page), all[2..4]);
    assert_eq!(hits(&page)[0]["rank"], 3);
    assert_eq!(page["total_hits"], all.len());
}

#[test]
fn human_output_shows_hit_and_context_without_colour_when_piped() {
    let indexed = Indexed::new();
    indexed
        .cmd()
        .args(["query", "scratchpad"])
        .assert()
        .success()
        .stdout(
            "1. Alignment faking in practice\n\
             \x20  Ann Lee · ann-lee/alignment-faking.md#2 · § Evidence · 2024-12-18\n\
             \x20  | Alignment faking is when a model complies during training only to avoid being modified.\n\
             \x20  > A scratchpad can reveal the reasoning behind a compliance gap between monitored and unmonitored conditions.\n\
             \x20  | The faking of benchmark reports is a separate problem from alignment in the strict sense.\n\
             \n\
             1-1 of 1 paragraphs matching \"scratchpad\"\n",
        );
    indexed
        .cmd()
        .args(["query", "--color", "always", "scratchpad"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\x1b[31mscratchpad\x1b[0m"));
}

#[test]
fn reindexing_never_duplicates() {
    let indexed = Indexed::new();
    let before = indexed.json(&["--limit", "50", "alignment"]);
    indexed
        .cmd()
        .arg("index")
        .arg(fixtures())
        .assert()
        .success();
    let after = indexed.json(&["--limit", "50", "alignment"]);
    assert_eq!(before["total_hits"], after["total_hits"]);
    assert_eq!(refs(&before), refs(&after));
}

#[test]
fn no_hits_is_not_an_error() {
    let indexed = Indexed::new();
    indexed
        .cmd()
        .args(["query", "xylophone"])
        .assert()
        .code(0)
        .stdout("No paragraphs match \"xylophone\".\n");
    assert_eq!(indexed.json(&["xylophone"])["hits"], serde_json::json!([]));
}

#[test]
fn missing_index_says_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    ai_search()
        .current_dir(dir.path())
        .args(["query", "anything"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("error: no index at .ai-search; create one with `ai-search index <CORPUS>`\n");
}

#[test]
fn unusable_query_is_one_line_error() {
    let indexed = Indexed::new();
    indexed
        .cmd()
        .args(["query", "--", "- *"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("error: cannot parse query: the query has no words to search for\n");
    indexed
        .cmd()
        .args(["query", "   "])
        .assert()
        .code(2)
        .stderr("error: cannot parse query: the query is empty\n");
    indexed
        .cmd()
        .args(["query", &"word ".repeat(300)])
        .assert()
        .code(2)
        .stderr(
            "error: cannot parse query: the query is too long (1500 characters; at most 1000)\n",
        );
}

#[test]
fn unreadable_files_are_reported_and_the_rest_indexed() {
    let corpus = tempfile::tempdir().unwrap();
    let root = corpus.path();
    std::fs::create_dir(root.join("eve")).unwrap();
    std::fs::write(
        root.join("eve/good.txt"),
        "Mesa optimizers are learned optimizers.",
    )
    .unwrap();
    std::fs::write(root.join("eve/binary.txt"), b"PK\x03\x04\0\0").unwrap();
    std::fs::write(root.join("eve/latin1.md"), b"Caf\xe9 notes").unwrap();
    std::os::unix::fs::symlink(root.join("eve/missing.md"), root.join("eve/dangling.md")).unwrap();
    std::fs::write(
        root.join("eve/records.jsonl"),
        "{\"id\":\"1\",\"text\":\"Inner alignment record.\"}\n{\"id\":\"2\",\"text\":\n",
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("idx");
    ai_search()
        .arg("--index")
        .arg(&index_dir)
        .arg("index")
        .arg(root)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "2 added, 0 updated, 0 removed, 0 unchanged, 3 skipped; read 2 documents, 2 paragraphs",
        ))
        .stderr(
            "warning: skipped eve/binary.txt: binary file (contains NUL bytes)\n\
             warning: skipped eve/dangling.md: no such file or folder\n\
             warning: skipped eve/latin1.md: not valid UTF-8 (bad byte at offset 3)\n\
             warning: eve/records.jsonl:2: truncated JSON record\n",
        );
    ai_search()
        .arg("--index")
        .arg(&index_dir)
        .args(["query", "--json", "mesa optimizers"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"path\": \"eve/good.txt\""));
}

#[test]
fn corpus_that_is_not_a_folder_is_an_error() {
    let indexed = Indexed::new();
    indexed
        .cmd()
        .args(["index", "no-such-folder"])
        .assert()
        .code(2)
        .stderr("error: cannot read the corpus folder no-such-folder: no such file or folder\n");
    indexed
        .cmd()
        .arg("index")
        .arg(fixtures().join("bo-chen/comments.txt"))
        .assert()
        .code(2)
        .stderr(predicate::str::ends_with("comments.txt: not a folder\n"));
}

#[test]
fn index_of_another_schema_version_asks_for_rebuild() {
    let indexed = Indexed::new();
    let meta_path = indexed.index_dir().join("meta.json");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    let mut meta: Value = serde_json::from_str(&meta).unwrap();
    meta["payload"] = Value::String("{\"schema_version\":0,\"corpus\":\"/x\"}".into());
    std::fs::write(&meta_path, meta.to_string()).unwrap();

    let message = format!(
        "error: the index at {} has schema version 0, this ai-search needs version 7; \
         run `ai-search index --rebuild <CORPUS>`\n",
        indexed.index_dir().display()
    );
    indexed
        .cmd()
        .args(["query", "alignment"])
        .assert()
        .code(2)
        .stderr(message.clone());
    indexed
        .cmd()
        .arg("index")
        .arg(fixtures())
        .assert()
        .code(2)
        .stderr(message);
    indexed
        .cmd()
        .args(["index", "--rebuild"])
        .arg(fixtures())
        .assert()
        .success();
    assert_eq!(indexed.json(&["scratchpad"])["total_hits"], 1);
}

#[test]
fn index_folder_inside_the_corpus_is_not_indexed() {
    let corpus = tempfile::tempdir().unwrap();
    std::fs::create_dir(corpus.path().join("zed")).unwrap();
    std::fs::write(corpus.path().join("zed/a.md"), "Plain words about debate.").unwrap();
    let index = || {
        let mut cmd = ai_search();
        cmd.current_dir(corpus.path())
            .args(["--index", "zed/idx", "index", "."]);
        cmd
    };
    index().assert().success();
    std::fs::write(corpus.path().join("zed/idx/stray.md"), "Stray words.").unwrap();
    index().assert().success().stdout(predicate::str::contains(
        "0 added, 0 updated, 0 removed, 1 unchanged, 0 skipped; read 0 documents, 0 paragraphs, \
             0.0 MB. The index holds 1 paragraph from 1 file.",
    ));
}
