//! Paragraph references: the `ref` of hits, `ai-search show` and `ai-search similar`, on
//! `tests/fixtures/survey`.

mod common;

use common::{also_in, fixtures, hit_refs, hits, Indexed};
use predicates::prelude::*;
use serde_json::json;

fn indexed() -> Indexed {
    Indexed::of(&fixtures("survey"))
}

const GOAL_1: &str = "rosa-vance/goal-misgeneralization.md#1";
const GOAL_TEXT: &str = "Goal misgeneralization happens when a capable agent pursues the wrong goal outside its training distribution.";

#[test]
fn hits_carry_their_reference() {
    let indexed = indexed();
    let results = indexed.json(&["--sort", "newest", "\"goal misgeneralization\""]);
    let first = &hits(&results)[0];
    // A JSON Lines record's reference names the record; a file's is its path.
    assert_eq!(first["ref"], "mirror/dump.jsonl:m1#1");
    assert_eq!(first["path"], "mirror/dump.jsonl");
    assert_eq!(first["id"], "m1");
    assert_eq!(first["paragraph"], 1);
    let results = indexed.json(&["coin"]);
    assert_eq!(
        hit_refs(&results),
        ["rosa-vance/goal-misgeneralization.md#2"]
    );
    // The text output shows the reference in place of the path.
    indexed
        .cmd()
        .args(["query", "--context", "0", "coin"])
        .assert()
        .success()
        .stdout(
            "1. Goal misgeneralization in the wild\n\
             \x20  Rosa Vance · rosa-vance/goal-misgeneralization.md#2 · 2021-06-01\n\
             \x20  > The coin-run agent learned to run right instead of collecting the coin.\n\
             \n\
             1-1 of 1 paragraphs matching \"coin\"\n",
        );
}

#[test]
fn show_prints_the_paragraph_its_neighbours_and_metadata() {
    let indexed = indexed();
    indexed
        .cmd()
        .args(["show", "rosa-vance/goal-misgeneralization.md#2"])
        .assert()
        .success()
        .stdout(format!(
            "Goal misgeneralization in the wild\n\
             \x20  Rosa Vance · rosa-vance/goal-misgeneralization.md#2 · 2021-06-01\n\
             \x20  https://example.org/rosa/goal-misgeneralization\n\
             \x20  tags: generalization\n\
             \x20  | {GOAL_TEXT}\n\
             \x20  > The coin-run agent learned to run right instead of collecting the coin.\n\
             \x20  | Better evaluations could catch goal misgeneralization before deployment.\n"
        ));
    // The paragraph's copies in other files are listed.
    indexed
        .cmd()
        .args(["show", "--context", "0", GOAL_1])
        .assert()
        .success()
        .stdout(predicate::str::ends_with(format!(
            "   > {GOAL_TEXT}\n   = also in forum/goal-post.md#2, mirror/dump.jsonl:m1#1\n"
        )));
}

#[test]
fn show_json_has_the_documented_keys() {
    let indexed = indexed();
    let passage = indexed.command_json("show", &["mirror/dump.jsonl:m1#1"]);
    assert_eq!(
        passage,
        json!({
            "ref": "mirror/dump.jsonl:m1#1",
            "author": "Rosa Vance",
            "authors": ["Rosa Vance"],
            "topic": "Goal misgeneralization in the wild (mirror)",
            "path": "mirror/dump.jsonl",
            "id": "m1",
            "paragraph": 1,
            "section": null,
            "date": "2023-03-12",
            "url": "https://mirror.example.org/m1",
            "tags": ["mirror"],
            "text": GOAL_TEXT,
            "before": [],
            "after": ["Mirrored without changes."],
            "also_in": [
                {
                    "ref": "forum/goal-post.md#2",
                    "path": "forum/goal-post.md",
                    "id": null,
                    "paragraph": 2,
                    "author": "Rosa Vance",
                    "topic": "Forum thread on misgeneralization",
                    "date": "2023-03-10",
                    "url": null
                },
                {
                    "ref": GOAL_1,
                    "path": "rosa-vance/goal-misgeneralization.md",
                    "id": null,
                    "paragraph": 1,
                    "author": "Rosa Vance",
                    "topic": "Goal misgeneralization in the wild",
                    "date": "2021-06-01",
                    "url": "https://example.org/rosa/goal-misgeneralization"
                }
            ],
            "also_in_total": 2
        })
    );
    let passage = indexed.command_json("show", &["--context", "2", "forum/goal-post.md#3"]);
    assert_eq!(
        passage["before"],
        json!([
            "Reposting my notes for discussion.",
            "Goal Misgeneralization happens when a capable agent pursues the wrong goal, outside its training distribution!"
        ])
    );
    assert_eq!(passage["after"], json!([]));
    assert_eq!(passage["date"], "2023-03-10");
}

#[test]
fn a_bad_reference_is_a_one_line_error() {
    let indexed = indexed();
    for bad in [
        "rosa-vance/goal-misgeneralization.md",
        "notes.txt#0",
        "x#two",
    ] {
        indexed
            .cmd()
            .args(["show", bad])
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!(
                "error: `{bad}` is not a paragraph reference (expected PATH#N, the `ref` of a hit)\n"
            ));
    }
    indexed
        .cmd()
        .args(["show", "rosa-vance/goal-misgeneralization.md#9"])
        .assert()
        .code(2)
        .stderr("error: no paragraph rosa-vance/goal-misgeneralization.md#9 in the index\n");
    indexed
        .cmd()
        .args(["show", "nowhere.md#1"])
        .assert()
        .code(2)
        .stderr("error: no paragraph nowhere.md#1 in the index\n");
    indexed
        .cmd()
        .args(["similar", "nowhere.md#1"])
        .assert()
        .code(2)
        .stderr("error: no paragraph nowhere.md#1 in the index\n");
}

#[test]
fn references_survive_reindexing_with_other_files_changed() {
    let corpus = tempfile::tempdir().unwrap();
    let root = corpus.path();
    for folder in ["alma", "zed"] {
        std::fs::create_dir(root.join(folder)).unwrap();
    }
    std::fs::write(
        root.join("zed/notes.md"),
        "First thought.\n\nSecond thought about inner alignment.\n\nThird thought.\n",
    )
    .unwrap();
    let indexed = Indexed::of(root);
    let reference = "zed/notes.md#2";
    let before = indexed.command_json("show", &[reference]);
    assert_eq!(before["text"], "Second thought about inner alignment.");

    // A file that sorts first, another that changes: the reference still names the same text.
    std::fs::write(
        root.join("alma/intro.md"),
        "Inner alignment, first words.\n\nMore.\n",
    )
    .unwrap();
    indexed.cmd().arg("index").arg(root).assert().success();
    assert_eq!(indexed.command_json("show", &[reference]), before);
    let results = indexed.json(&["\"thought about inner alignment\""]);
    assert_eq!(hit_refs(&results), [reference]);
}

#[test]
fn similar_finds_paragraphs_of_other_documents() {
    let indexed = indexed();
    let results = indexed.command_json("similar", &["mirror/dump.jsonl:m2#1"]);
    assert_eq!(results["query"], "mirror/dump.jsonl:m2#1");
    let refs = hit_refs(&results);
    // The paragraph that says the same about proxies comes first.
    assert_eq!(refs[0], "ines-roth/proxies.md#1");
    assert!(refs.iter().all(|r| !r.starts_with("mirror/dump.jsonl:m2#")));
    // Its highlights are words of the given paragraph.
    let hit = &hits(&results)[0];
    let snippet: Vec<char> = hit["snippet"].as_str().unwrap().chars().collect();
    let marked: Vec<String> = hit["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|range| {
            let (start, end) = (range[0].as_u64().unwrap(), range[1].as_u64().unwrap());
            snippet[start as usize..end as usize].iter().collect()
        })
        .collect();
    assert!(marked.contains(&"proxy".to_string()), "{marked:?}");
}

#[test]
fn similar_leaves_out_the_paragraph_its_document_and_its_copies() {
    let indexed = indexed();
    let results = indexed.command_json("similar", &[GOAL_1]);
    assert_eq!(
        hit_refs(&results),
        [
            "tomas-ek/notes.txt#1",
            "ines-roth/proxies.md#1",
            "mirror/dump.jsonl:m2#1"
        ]
    );
    assert_eq!(results["total_hits"], 3);
    // Filters and paging work as for queries.
    let results = indexed.command_json("similar", &["--author", "ines roth", GOAL_1]);
    assert_eq!(
        hit_refs(&results),
        ["ines-roth/proxies.md#1", "mirror/dump.jsonl:m2#1"]
    );
    let results = indexed.command_json("similar", &["--offset", "1", "--limit", "1", GOAL_1]);
    assert_eq!(hit_refs(&results), ["ines-roth/proxies.md#1"]);
    assert_eq!(hits(&results)[0]["rank"], 2);
    // The text output is that of a query.
    indexed
        .cmd()
        .args(["similar", "-n", "1", GOAL_1])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "1. notes\n   Tomas Ek · tomas-ek/notes.txt#1\n",
        ))
        .stdout(predicate::str::ends_with(format!(
            "1-1 of 3 paragraphs matching \"{GOAL_1}\"; --offset 1 for more\n"
        )));
}

#[test]
fn copies_in_a_hit_are_listed_under_it() {
    let indexed = indexed();
    let results = indexed.json(&["--context", "0", "\"goal misgeneralization\""]);
    let first = &hits(&results)[0];
    assert_eq!(first["ref"], GOAL_1);
    assert_eq!(
        also_in(first),
        ["forum/goal-post.md#2", "mirror/dump.jsonl:m1#1"]
    );
    assert_eq!(first["also_in"][1]["author"], "Rosa Vance");
    assert_eq!(first["also_in"][1]["date"], "2023-03-12");
}
