//! Helpers shared by the integration tests: the binary with a clean environment, an index of a
//! fixtures corpus in a temporary folder, and readers for the JSON output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// A folder under `tests/fixtures/`.
pub fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The `ai-search` binary with an empty environment.
pub fn ai_search() -> Command {
    let mut cmd = Command::cargo_bin("ai-search").unwrap();
    cmd.env_clear();
    cmd
}

/// A temporary folder holding an index of a corpus.
pub struct Indexed {
    pub dir: TempDir,
}

impl Indexed {
    /// An index of `tests/fixtures/corpus`.
    pub fn new() -> Indexed {
        Indexed::of(&fixtures("corpus"))
    }

    pub fn of(corpus: &Path) -> Indexed {
        let indexed = Indexed {
            dir: tempfile::tempdir().unwrap(),
        };
        indexed.cmd().arg("index").arg(corpus).assert().success();
        indexed
    }

    pub fn index_dir(&self) -> PathBuf {
        self.dir.path().join("index")
    }

    /// The binary with a clean environment, pointed at this index.
    pub fn cmd(&self) -> Command {
        let mut cmd = ai_search();
        cmd.current_dir(self.dir.path())
            .arg("--index")
            .arg(self.index_dir());
        cmd
    }

    /// The `--json` output of `query` with these arguments.
    pub fn json(&self, args: &[&str]) -> Value {
        self.command_json("query", args)
    }

    /// The `--json` output of `command` (`show`, `similar`, `authors`, ...) with these arguments.
    pub fn command_json(&self, command: &str, args: &[&str]) -> Value {
        let output = self
            .cmd()
            .arg(command)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

pub fn hits(results: &Value) -> &Vec<Value> {
    results["hits"].as_array().unwrap()
}

/// The `ref` of every hit.
pub fn hit_refs(results: &Value) -> Vec<String> {
    hits(results)
        .iter()
        .map(|hit| hit["ref"].as_str().unwrap().to_string())
        .collect()
}

/// The `ref` of every copy listed under a hit.
pub fn also_in(hit: &Value) -> Vec<String> {
    hit["also_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|copy| copy["ref"].as_str().unwrap().to_string())
        .collect()
}

/// `path#paragraph` of every hit.
pub fn refs(results: &Value) -> Vec<String> {
    hits(results)
        .iter()
        .map(|hit| format!("{}#{}", hit["path"].as_str().unwrap(), hit["paragraph"]))
        .collect()
}
