//! Surveying a subject on `tests/fixtures/survey`: author and topic counts, dates, sorting,
//! timelines, copies of one text merged into one hit, and author aliases.
//!
//! The fixture holds one paragraph in three places (`rosa-vance/goal-misgeneralization.md#1`,
//! `forum/goal-post.md#2` and the mirror record `mirror/dump.jsonl:m1#1`) under three spellings
//! of Rosa Vance's name, which `aliases.yaml` maps to her.

mod common;

use common::{also_in, fixtures, hit_refs, hits, Indexed};
use predicates::prelude::*;
use serde_json::json;

fn indexed() -> Indexed {
    Indexed::of(&fixtures("survey"))
}

/// Matches 7 paragraphs: all of the essay and of the mirror record (through their titles), the
/// forum copy and Tomas Ek's note.
const QUERY: &str = "\"goal misgeneralization\"";
const ESSAY: &str = "rosa-vance/goal-misgeneralization.md";

#[test]
fn authors_lists_canonical_names_with_counts() {
    let indexed = indexed();
    assert_eq!(
        indexed.command_json("authors", &[]),
        json!({"authors": [
            {"value": "Rosa Vance", "paragraphs": 8, "documents": 3},
            {"value": "Ines Roth", "paragraphs": 3, "documents": 2},
            {"value": "Tomas Ek", "paragraphs": 2, "documents": 1},
        ]})
    );
    indexed.cmd().arg("authors").assert().success().stdout(
        "paragraphs  documents  author\n\
         \x20        8          3  Rosa Vance\n\
         \x20        3          2  Ines Roth\n\
         \x20        2          1  Tomas Ek\n",
    );
}

#[test]
fn topics_lists_topics_by_count_then_name() {
    let indexed = indexed();
    let topics = indexed.command_json("topics", &[]);
    let listed: Vec<(String, u64, u64)> = topics["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["value"].as_str().unwrap().to_string(),
                t["paragraphs"].as_u64().unwrap(),
                t["documents"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("Forum thread on misgeneralization", 3, 1),
        ("Goal misgeneralization in the wild", 3, 1),
        ("Goal misgeneralization in the wild (mirror)", 2, 1),
        ("Proxies and goals", 2, 1),
        ("notes", 2, 1),
        ("Reward model overoptimization", 1, 1),
    ];
    let expected: Vec<(String, u64, u64)> = expected
        .iter()
        .map(|(t, p, d)| (t.to_string(), *p, *d))
        .collect();
    assert_eq!(listed, expected);
    indexed
        .cmd()
        .arg("topics")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
        "paragraphs  documents  topic\n         3          1  Forum thread on misgeneralization\n",
    ));
}

#[test]
fn facets_count_every_matching_paragraph_not_only_the_page() {
    let indexed = indexed();
    let results = indexed.json(&["--facets", "--limit", "1", QUERY]);
    assert_eq!(hits(&results).len(), 1);
    assert_eq!(
        results["facets"],
        json!({
            "authors": [
                {"value": "Rosa Vance", "paragraphs": 6, "documents": 3},
                {"value": "Tomas Ek", "paragraphs": 1, "documents": 1},
            ],
            "topics": [
                {"value": "Goal misgeneralization in the wild", "paragraphs": 3, "documents": 1},
                {"value": "Goal misgeneralization in the wild (mirror)", "paragraphs": 2, "documents": 1},
                {"value": "Forum thread on misgeneralization", "paragraphs": 1, "documents": 1},
                {"value": "notes", "paragraphs": 1, "documents": 1},
            ]
        })
    );
    // Filters narrow the counts too; without --facets there are none.
    let results = indexed.json(&["--facets", "--since", "2022-01-01", QUERY]);
    assert_eq!(
        results["facets"]["authors"],
        json!([{"value": "Rosa Vance", "paragraphs": 3, "documents": 2}])
    );
    assert_eq!(indexed.json(&[QUERY])["facets"], json!(null));
    indexed
        .cmd()
        .args(["query", "--facets", "--limit", "1", QUERY])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\nMatching paragraphs by author:\n\
             paragraphs  documents  author\n\
             \x20        6          3  Rosa Vance\n\
             \x20        1          1  Tomas Ek\n\
             \nMatching paragraphs by topic:\n",
        ));
}

#[test]
fn since_and_until_filter_on_the_document_date() {
    let indexed = indexed();
    let since = indexed.json(&["--no-dedup", "--since", "2022-01-01", QUERY]);
    assert_eq!(
        hit_refs(&since),
        [
            "mirror/dump.jsonl:m1#1",
            "forum/goal-post.md#2",
            "mirror/dump.jsonl:m1#2"
        ]
    );
    // The undated note is left out as soon as a date is asked for.
    let until = indexed.json(&["--no-dedup", "--until", "2021-12-31", QUERY]);
    let mut refs = hit_refs(&until);
    refs.sort();
    assert_eq!(
        refs,
        [
            format!("{ESSAY}#1"),
            format!("{ESSAY}#2"),
            format!("{ESSAY}#3")
        ]
    );
    // Both ends are included.
    let day = indexed.json(&["--since", "2023-03-10", "--until", "2023-03-10", QUERY]);
    assert_eq!(hit_refs(&day), ["forum/goal-post.md#2"]);
    let none = indexed.json(&["--since", "2024-01-01", QUERY]);
    assert_eq!(none["total_hits"], 0);
    // Without a date filter the undated note is there.
    assert!(hit_refs(&indexed.json(&[QUERY])).contains(&"tomas-ek/notes.txt#1".to_string()));
}

#[test]
fn a_bad_date_is_an_error() {
    let indexed = indexed();
    for bad in ["2023-02-30", "2023-3-1", "March 2023"] {
        indexed
            .cmd()
            .args(["query", "--since", bad, "goal"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(format!(
                "`{bad}` is not a date (expected YYYY-MM-DD)"
            )));
    }
}

#[test]
fn sort_by_date_puts_undated_documents_last() {
    let indexed = indexed();
    let newest = indexed.json(&["--sort", "newest", QUERY]);
    assert_eq!(
        hit_refs(&newest),
        [
            "mirror/dump.jsonl:m1#1",
            "mirror/dump.jsonl:m1#2",
            &format!("{ESSAY}#3"),
            &format!("{ESSAY}#2"),
            "tomas-ek/notes.txt#1",
        ]
    );
    // The newest copy of the shared paragraph stands for it.
    assert_eq!(
        also_in(&hits(&newest)[0]),
        ["forum/goal-post.md#2", &format!("{ESSAY}#1")]
    );
    let oldest = indexed.json(&["--sort", "oldest", QUERY]);
    assert_eq!(
        hit_refs(&oldest),
        [
            &format!("{ESSAY}#1"),
            &format!("{ESSAY}#3"),
            &format!("{ESSAY}#2"),
            "mirror/dump.jsonl:m1#2",
            "tomas-ek/notes.txt#1",
        ]
    );
    let newest_all = indexed.json(&["--sort", "newest", "--no-dedup", QUERY]);
    assert_eq!(
        hit_refs(&newest_all),
        [
            "mirror/dump.jsonl:m1#1",
            "mirror/dump.jsonl:m1#2",
            "forum/goal-post.md#2",
            &format!("{ESSAY}#1"),
            &format!("{ESSAY}#3"),
            &format!("{ESSAY}#2"),
            "tomas-ek/notes.txt#1",
        ]
    );
    // Under relevance the undated note keeps its place by score.
    let relevance = hit_refs(&indexed.json(&[QUERY]));
    assert_eq!(
        relevance[1..3],
        [format!("{ESSAY}#3"), "tomas-ek/notes.txt#1".into()]
    );
}

#[test]
fn timeline_counts_matching_paragraphs_per_year() {
    let indexed = indexed();
    let results = indexed.json(&["--timeline", "--limit", "1", QUERY]);
    assert_eq!(
        results["timeline"],
        json!({
            "years": [
                {"year": 2021, "paragraphs": 3},
                {"year": 2022, "paragraphs": 0},
                {"year": 2023, "paragraphs": 3},
            ],
            "undated": 1
        })
    );
    indexed
        .cmd()
        .args(["query", "--timeline", "--limit", "1", QUERY])
        .assert()
        .success()
        .stdout(predicate::str::ends_with(format!(
            "\nMatching paragraphs by year:\n\
             \x20  2021  {bar} 3\n\
             \x20  2022  0\n\
             \x20  2023  {bar} 3\n\
             undated  {third} 1\n",
            bar = "█".repeat(40),
            third = "█".repeat(14)
        )));
    let results = indexed.json(&["--timeline", "proxy"]);
    assert_eq!(
        results["timeline"],
        json!({"years": [{"year": 2022, "paragraphs": 3}], "undated": 0})
    );
}

#[test]
fn copies_of_a_paragraph_are_one_hit_unless_no_dedup() {
    let indexed = indexed();
    let merged = indexed.json(&[QUERY]);
    assert_eq!(merged["total_hits"], 5);
    assert_eq!(
        hit_refs(&merged),
        [
            &format!("{ESSAY}#1"),
            &format!("{ESSAY}#3"),
            "tomas-ek/notes.txt#1",
            &format!("{ESSAY}#2"),
            "mirror/dump.jsonl:m1#2",
        ]
    );
    assert_eq!(
        also_in(&hits(&merged)[0]),
        ["forum/goal-post.md#2", "mirror/dump.jsonl:m1#1"]
    );
    assert!(hits(&merged)[1..].iter().all(|hit| also_in(hit).is_empty()));

    let separate = indexed.json(&["--no-dedup", QUERY]);
    assert_eq!(separate["total_hits"], 7);
    let refs = hit_refs(&separate);
    for copy in ["forum/goal-post.md#2", "mirror/dump.jsonl:m1#1"] {
        assert!(refs.contains(&copy.to_string()), "{copy} in {refs:?}");
    }
    assert!(hits(&separate).iter().all(|hit| also_in(hit).is_empty()));

    indexed
        .cmd()
        .args(["query", "--context", "0", "--limit", "1", QUERY])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "   = also in forum/goal-post.md#2, mirror/dump.jsonl:m1#1\n\n1-1 of 5 paragraphs",
        ));
}

#[test]
fn merged_copies_page_consistently_and_do_not_use_up_a_documents_cap() {
    let indexed = indexed();
    let all = hit_refs(&indexed.json(&["--limit", "50", QUERY]));
    // Pages of two put together give the same list, each text once.
    let mut paged = Vec::new();
    for offset in ["0", "2", "4"] {
        let page = indexed.json(&["--limit", "2", "--offset", offset, QUERY]);
        assert_eq!(page["total_hits"], 5);
        paged.extend(hit_refs(&page));
    }
    assert_eq!(paged, all);
    let past = indexed.json(&["--offset", "5", QUERY]);
    assert_eq!(hits(&past).len(), 0);

    // One paragraph per document ahead: the mirror record's copy is listed under the essay's,
    // so its other paragraph still counts as the record's first.
    let capped = indexed.json(&["--per-doc", "1", QUERY]);
    assert_eq!(
        hit_refs(&capped),
        [
            &format!("{ESSAY}#1"),
            "tomas-ek/notes.txt#1",
            "mirror/dump.jsonl:m1#2",
            &format!("{ESSAY}#3"),
            &format!("{ESSAY}#2"),
        ]
    );
    let page = indexed.json(&["--per-doc", "1", "--limit", "2", "--offset", "2", QUERY]);
    assert_eq!(hit_refs(&page), hit_refs(&capped)[2..4]);
}

#[test]
fn aliases_merge_spellings_into_the_canonical_name() {
    let indexed = indexed();
    // "rvance" (forum front matter) and "R. Vance" (mirror record) are Rosa Vance.
    let forum = indexed.command_json("show", &["forum/goal-post.md#1"]);
    assert_eq!(forum["authors"], json!(["Rosa Vance"]));
    let mirror = indexed.command_json("show", &["mirror/dump.jsonl:m1#2"]);
    assert_eq!(mirror["author"], "Rosa Vance");
    // A folder name can be an alias too.
    let note = indexed.command_json("show", &["tomas-ek/notes.txt#1"]);
    assert_eq!(note["author"], "Tomas Ek");

    // --author finds her by any spelling, and shows the canonical name.
    let by_name = hit_refs(&indexed.json(&["--no-dedup", "--author", "Rosa Vance", QUERY]));
    assert_eq!(by_name.len(), 6);
    for spelling in ["rvance", "R. Vance", "rosa vance"] {
        let results = indexed.json(&["--no-dedup", "--author", spelling, QUERY]);
        assert_eq!(hit_refs(&results), by_name, "--author {spelling}");
        assert!(hits(&results)
            .iter()
            .all(|hit| hit["author"] == "Rosa Vance"));
    }
    let results = indexed.json(&["--author", "tomas-ek", QUERY]);
    assert_eq!(hit_refs(&results), ["tomas-ek/notes.txt#1"]);
    assert_eq!(hits(&results)[0]["author"], "Tomas Ek");
    // `author:` in the query searches the words of the canonical names.
    let results = indexed.json(&["author:vance AND coin"]);
    assert_eq!(hit_refs(&results), [format!("{ESSAY}#2")]);
    assert_eq!(indexed.json(&["author:rvance AND coin"])["total_hits"], 0);
}

#[test]
fn a_bad_aliases_file_is_reported_and_names_are_left_as_written() {
    let corpus = tempfile::tempdir().unwrap();
    let root = corpus.path();
    std::fs::create_dir(root.join("kim")).unwrap();
    std::fs::write(
        root.join("kim/a.md"),
        "---\nauthor: kimh\n---\nCorrigibility notes.\n",
    )
    .unwrap();
    std::fs::write(
        root.join("aliases.yaml"),
        "Kim Hale: [kimh]\nKim Hall: [kimh]\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("idx");
    common::ai_search()
        .arg("--index")
        .arg(&index_dir)
        .args(["index", "--quiet"])
        .arg(root)
        .assert()
        .code(1)
        .stderr(
            "warning: skipped aliases.yaml: `kimh` stands for both `Kim Hale` and `Kim Hall`; \
             names not merged\n",
        );
    let output = common::ai_search()
        .arg("--index")
        .arg(&index_dir)
        .args(["authors", "--json"])
        .output()
        .unwrap();
    let authors: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        authors,
        json!({"authors": [{"value": "kimh", "paragraphs": 1, "documents": 1}]})
    );

    // Once the file is fixed, re-indexing merges the names.
    std::fs::write(root.join("aliases.yaml"), "Kim Hale: kimh\n").unwrap();
    common::ai_search()
        .arg("--index")
        .arg(&index_dir)
        .args(["index", "--quiet"])
        .arg(root)
        .assert()
        .success()
        .stderr("");
    common::ai_search()
        .arg("--index")
        .arg(&index_dir)
        .arg("authors")
        .assert()
        .success()
        .stdout("paragraphs  documents  author\n         1          1  Kim Hale\n");
}

#[test]
fn hits_are_counted_up_to_a_thousand_and_copies_count_once() {
    let corpus = tempfile::tempdir().unwrap();
    std::fs::create_dir(corpus.path().join("notes")).unwrap();
    // 1,050 paragraphs on oversight, each with its own number; 1,050 copies of one sentence on
    // debate; one paragraph on both.
    let mut text = String::new();
    for n in 0..1_050 {
        text.push_str(&format!(
            "Oversight note number {n}.\n\nDebate helps judges.\n\n"
        ));
    }
    text.push_str("Oversight through debate.\n");
    std::fs::write(corpus.path().join("notes/many.txt"), text).unwrap();
    let indexed = Indexed::of(corpus.path());

    let oversight = indexed.json(&["oversight"]);
    assert_eq!(oversight["total_hits"], 1_000);
    assert_eq!(oversight["total_hits_exact"], false);
    assert_eq!(hits(&oversight).len(), 10);
    indexed
        .cmd()
        .args(["query", "--context", "0", "oversight"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1-10 of 1000+ paragraphs matching \"oversight\"; --offset 10 for more",
        ));
    // Paging goes on past the count.
    let far = indexed.json(&["--offset", "1045", "--per-doc", "0", "oversight"]);
    assert_eq!(hits(&far).len(), 6);

    // 1,051 paragraphs, but two texts; three of the 1,049 other copies are listed, the first ones.
    let debate = indexed.json(&["debate"]);
    assert_eq!(debate["total_hits"], 2);
    assert_eq!(debate["total_hits_exact"], true);
    let copied = hits(&debate)
        .iter()
        .find(|hit| hit["text"] == "Debate helps judges.")
        .unwrap();
    assert_eq!(copied["also_in_total"], 1_049);
    assert_eq!(
        also_in(copied),
        [4, 6, 8].map(|n| format!("notes/many.txt#{n}"))
    );
    let separate = indexed.json(&["--no-dedup", "debate"]);
    assert_eq!(separate["total_hits"], 1_000);
    assert_eq!(separate["total_hits_exact"], false);
}
