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

/// A running `ai-search serve` on a free loopback port, killed when dropped.
pub struct Server {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Serves the index in `index_dir` (which need not exist yet).
    pub fn start(index_dir: &Path) -> Server {
        use std::io::{BufRead, BufReader, Read};
        use std::process::{Command, Stdio};

        let mut child = Command::new(assert_cmd::cargo::cargo_bin!("ai-search"))
            .env_clear()
            .arg("--index")
            .arg(index_dir)
            .args(["serve", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let line = lines
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("serve printed no URL; stderr: {}", stderr.lock().unwrap()));
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Server { child, url, stderr }
    }

    /// What the server wrote to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `host:port`.
    pub fn address(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
