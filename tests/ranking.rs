//! Ranking behaviours on `tests/fixtures/ranking`: what ranks above what, typo correction,
//! exact phrases, the per-document cap, and queries full of punctuation.

mod common;

use common::{fixtures, hits, refs, Indexed};
use predicates::prelude::*;

fn indexed() -> Indexed {
    Indexed::of(&fixtures("ranking"))
}

#[test]
fn a_title_match_beats_a_body_mention() {
    // Both paragraphs are the same words; one document is titled with the query.
    let indexed = indexed();
    let results = indexed.json(&["--no-dedup", "gradient hacking"]);
    let refs = refs(&results);
    let position = |r: &str| refs.iter().position(|x| x == r).unwrap();
    assert_eq!(refs[0], "kai/gradient-hacking.md#2");
    assert!(position("kai/gradient-hacking.md#2") < position("lu/misc-notes.md#2"));
    // Merged as copies, the better-ranked one is shown and the other listed under it.
    let results = indexed.json(&["gradient hacking"]);
    assert_eq!(common::refs(&results)[0], "kai/gradient-hacking.md#2");
    assert_eq!(hits(&results)[0]["also_in"][0]["ref"], "lu/misc-notes.md#2");
    assert!(!common::refs(&results).contains(&"lu/misc-notes.md#2".to_string()));
}

#[test]
fn words_close_together_beat_scattered_words() {
    let refs = refs(&indexed().json(&["reward hacking"]));
    assert_eq!(
        refs[..2],
        ["lu/proximity-close.md#2", "mo/proximity-scattered.md#2"]
    );
}

#[test]
fn a_misspelled_word_is_corrected_and_the_correction_reported() {
    let indexed = indexed();
    let results = indexed.json(&["corrigibilty shutdown"]);
    assert_eq!(results["corrected_query"], "corrigibility shutdown");
    assert_eq!(refs(&results)[0], "mo/corrigibility.md#2");
    // The snippet points at the corrected word.
    let hit = &hits(&results)[0];
    let (start, end) = (
        hit["highlights"][0][0].as_u64().unwrap() as usize,
        hit["highlights"][0][1].as_u64().unwrap() as usize,
    );
    let marked: String = hit["snippet"]
        .as_str()
        .unwrap()
        .chars()
        .skip(start)
        .take(end - start)
        .collect();
    assert_eq!(marked, "Corrigibility");
    indexed
        .cmd()
        .args(["query", "corrigibilty"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "Showing results for \"corrigibility\" (searched instead of \"corrigibilty\")\n\n1. Shutdown and deference\n",
        ));
}

#[test]
fn correctly_spelled_words_are_left_alone() {
    let results = indexed().json(&["corrigibility"]);
    assert_eq!(results["corrected_query"], serde_json::Value::Null);
}

#[test]
fn a_quoted_phrase_stays_exact() {
    let indexed = indexed();
    let results = indexed.json(&["\"corrigibilty\""]);
    assert_eq!(results["total_hits"], 0);
    assert_eq!(results["corrected_query"], serde_json::Value::Null);
    assert_eq!(indexed.json(&["\"hacking reward\""])["total_hits"], 0);
    assert_eq!(
        refs(&indexed.json(&["\"reward hacking\""])),
        ["lu/proximity-close.md#2"]
    );
}

#[test]
fn one_document_cannot_crowd_out_the_others() {
    let indexed = indexed();
    let capped = refs(&indexed.json(&["interpretability"]));
    assert!(capped[..3]
        .iter()
        .all(|r| r.starts_with("kai/interpretability.md")));
    assert_eq!(capped[3], "lu/interpretability-aside.md#2");
    // The rest of the long document is still there, after the other documents.
    assert_eq!(capped.len(), 7);
    assert!(capped[4..]
        .iter()
        .all(|r| r.starts_with("kai/interpretability.md")));
    let page = refs(&indexed.json(&["--offset", "4", "--limit", "2", "interpretability"]));
    assert_eq!(page, capped[4..6]);
    // A different cap, or none.
    let two = refs(&indexed.json(&["--per-doc", "2", "interpretability"]));
    assert_eq!(two[2], "lu/interpretability-aside.md#2");
    let uncapped = refs(&indexed.json(&["--per-doc", "0", "interpretability"]));
    assert!(uncapped[..6]
        .iter()
        .all(|r| r.starts_with("kai/interpretability.md")));
}

#[test]
fn phrases_keep_the_places_of_the_stop_words_the_index_leaves_out() {
    let indexed = indexed();
    let found = |query: &str| refs(&indexed.json(&["--", query]));
    // "the" and "of" are not indexed, but a phrase still needs its words that far apart.
    assert_eq!(found("\"state of the art\""), ["kai/small-words.md#3"]);
    assert_eq!(found("state-of-the-art"), ["kai/small-words.md#3"]);
    assert!(found("\"state art\"").is_empty());
    // "no" is indexed: it turns the phrase around.
    assert_eq!(found("\"no free lunch\""), ["kai/small-words.md#1"]);
    let mut both = found("\"free lunch\"");
    both.sort();
    assert_eq!(both, ["kai/small-words.md#1", "kai/small-words.md#2"]);
    // A query of stop words alone has nothing to look up, and says so.
    indexed
        .cmd()
        .args(["query", "the state of"])
        .assert()
        .success();
    indexed
        .cmd()
        .args(["query", "of the"])
        .assert()
        .code(2)
        .stderr(
            "error: cannot parse query: the query has only stop words (\"of the\"), which the \
             index leaves out\n",
        );
}

/// The files (without paragraph numbers) that a query finds.
fn files(indexed: &Indexed, query: &str) -> Vec<String> {
    let mut files: Vec<String> = hits(&indexed.json(&["--", query]))
        .iter()
        .map(|hit| hit["path"].as_str().unwrap().to_string())
        .collect();
    files.sort();
    files.dedup();
    files
}

#[test]
fn hyphenated_and_joined_spellings_find_each_other() {
    let indexed = indexed();
    let both = ["kai/joined.md", "mo/jargon.md"];
    for query in ["mesa-optimizer", "mesa optimizer", "mesaoptimizer"] {
        assert_eq!(files(&indexed, query), both, "{query}");
    }
    for query in ["RL(VR)", "RLVR", "GPT-2", "GPT2"] {
        assert_eq!(files(&indexed, query), both, "{query}");
    }
}

#[test]
fn punctuation_never_breaks_a_query() {
    let indexed = indexed();
    for query in [
        "don't agree",
        "a/b tests",
        "v1.2 evals",
        "agree:",
        "(agree",
        "agree)",
    ] {
        assert_eq!(files(&indexed, query), ["mo/jargon.md"], "{query}");
    }
}

#[test]
fn broken_operator_syntax_falls_back_to_words_with_a_notice() {
    let indexed = indexed();
    let results = indexed.json(&["reward AND (hacking"]);
    let notice = results["notices"][0].as_str().unwrap();
    assert!(
        notice.starts_with("could not read the query's operators"),
        "{notice}"
    );
    assert!(notice.ends_with("searched its words"), "{notice}");
    assert_eq!(refs(&results)[0], "lu/proximity-close.md#2");
    indexed
        .cmd()
        .args(["query", "reward AND (hacking"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "note: could not read the query's operators",
        ));
}

#[test]
fn working_operator_syntax_is_obeyed() {
    let indexed = indexed();
    assert_eq!(
        refs(&indexed.json(&["reward AND harness"])),
        ["mo/proximity-scattered.md#2"]
    );
    assert_eq!(
        refs(&indexed.json(&["+reward -harness"])),
        ["lu/proximity-close.md#2"]
    );
}
