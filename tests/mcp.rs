//! Drives `ai-search mcp` through the Model Context Protocol over stdio, as an AI assistant's
//! client would: initialize, tools/list, tools/call.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::{fixtures, Indexed};
use serde_json::{json, Value};

/// A running `ai-search mcp` and the lines it writes.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    next_id: u64,
}

impl Session {
    fn start(indexed: &Indexed) -> Session {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin!("ai-search"))
            .env_clear()
            .arg("--index")
            .arg(indexed.index_dir())
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Session {
            stdin: child.stdin.take(),
            child,
            lines,
            next_id: 1,
        }
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request and returns its response's `result`.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .expect("the server answers within 20 s");
            let message: Value = serde_json::from_str(&line).unwrap();
            // Skip anything that is not the answer (log notifications, say).
            if message["id"] == id {
                assert_eq!(message.get("error"), None, "{message}");
                return message["result"].clone();
            }
        }
    }

    /// Calls a tool and returns its result.
    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Closing stdin ends the session; the server then exits by itself.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

fn initialized(indexed: &Indexed) -> Session {
    let mut session = Session::start(indexed);
    let result = session.request(
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "ai-search-test", "version": "1.0"}
        }),
    );
    assert_eq!(result["protocolVersion"], "2025-06-18");
    assert_eq!(result["serverInfo"]["name"], "ai-search");
    assert!(result["capabilities"]["tools"].is_object(), "{result}");
    session.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    session
}

#[test]
fn mcp_lists_its_tools_and_answers_search_show_and_list_authors() {
    let indexed = Indexed::of(&fixtures("survey"));
    let mut session = initialized(&indexed);

    let tools = session.request("tools/list", json!({}));
    let mut names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["list_authors", "list_topics", "search", "show", "similar"]
    );
    let search_tool = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["name"] == "search")
        .unwrap();
    assert_eq!(search_tool["inputSchema"]["required"], json!(["query"]));
    for parameter in [
        "query", "author", "topic", "since", "until", "sort", "limit", "offset",
    ] {
        assert!(
            search_tool["inputSchema"]["properties"][parameter].is_object(),
            "search has no parameter {parameter}"
        );
    }

    let result = session.call(
        "search",
        json!({"query": "\"goal misgeneralization\"", "limit": 2}),
    );
    assert_eq!(result["isError"], false);
    let found = &result["structuredContent"];
    assert_eq!(found["total_hits"], 5);
    assert_eq!(found["hits"].as_array().unwrap().len(), 2);
    let first = &found["hits"][0];
    assert_eq!(first["ref"], "rosa-vance/goal-misgeneralization.md#1");
    assert_eq!(first["author"], "Rosa Vance");
    assert_eq!(first["topic"], "Goal misgeneralization in the wild");
    assert_eq!(
        first["text"],
        "Goal misgeneralization happens when a capable agent pursues the wrong goal outside its training distribution."
    );
    assert_eq!(first["snippet"], first["text"]);
    assert_eq!(
        first["also_in"],
        json!(["forum/goal-post.md#2", "mirror/dump.jsonl:m1#1"])
    );
    assert_eq!(
        found["hits"][1]["ref"],
        "rosa-vance/goal-misgeneralization.md#3"
    );
    // The same answer as text, for clients that read only that.
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(&text, found);

    // Filters and order.
    let result = session.call(
        "search",
        json!({
            "query": "\"goal misgeneralization\"",
            "author": "rvance",
            "since": "2022-01-01",
            "sort": "newest"
        }),
    );
    let refs: Vec<&str> = result["structuredContent"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["mirror/dump.jsonl:m1#1", "mirror/dump.jsonl:m1#2"]);

    let result = session.call("show", json!({"ref": "forum/goal-post.md#2", "context": 1}));
    assert_eq!(result["isError"], false);
    let passage = &result["structuredContent"];
    assert_eq!(passage["ref"], "forum/goal-post.md#2");
    assert_eq!(passage["author"], "Rosa Vance");
    assert_eq!(passage["topic"], "Forum thread on misgeneralization");
    assert_eq!(passage["date"], "2023-03-10");
    assert_eq!(
        passage["before"],
        json!(["Reposting my notes for discussion."])
    );
    assert_eq!(passage["after"], json!(["Replies welcome."]));
    assert_eq!(
        passage["also_in"],
        json!([
            "mirror/dump.jsonl:m1#1",
            "rosa-vance/goal-misgeneralization.md#1"
        ])
    );

    let result = session.call("list_authors", json!({}));
    assert_eq!(
        result["structuredContent"],
        json!({"authors": [
            {"value": "Rosa Vance", "paragraphs": 8, "documents": 3},
            {"value": "Ines Roth", "paragraphs": 3, "documents": 2},
            {"value": "Tomas Ek", "paragraphs": 2, "documents": 1},
        ]})
    );

    let result = session.call(
        "similar",
        json!({"ref": "mirror/dump.jsonl:m2#1", "limit": 1}),
    );
    assert_eq!(
        result["structuredContent"]["hits"][0]["ref"],
        "ines-roth/proxies.md#1"
    );
}

#[test]
fn mcp_reports_bad_input_as_tool_errors() {
    let indexed = Indexed::of(&fixtures("survey"));
    let mut session = initialized(&indexed);
    let result = session.call("show", json!({"ref": "forum/goal-post.md"}));
    assert_eq!(result["isError"], true);
    assert_eq!(
        result["content"][0]["text"],
        "`forum/goal-post.md` is not a paragraph reference (expected PATH#N, the `ref` of a hit)"
    );
    let result = session.call("show", json!({"ref": "forum/goal-post.md#7"}));
    assert_eq!(result["isError"], true);
    assert_eq!(
        result["content"][0]["text"],
        "no paragraph forum/goal-post.md#7 in the index"
    );
    let result = session.call("search", json!({"query": "goal", "since": "last year"}));
    assert_eq!(result["isError"], true);
    assert_eq!(
        result["content"][0]["text"],
        "`last year` is not a date (expected YYYY-MM-DD)"
    );
    // The session goes on after an error.
    let result = session.call("search", json!({"query": "coin"}));
    assert_eq!(result["structuredContent"]["total_hits"], 1);
}

#[test]
fn mcp_sees_a_reindex_without_restarting() {
    let corpus = tempfile::tempdir().unwrap();
    std::fs::create_dir(corpus.path().join("eve")).unwrap();
    std::fs::write(corpus.path().join("eve/a.md"), "Debate as oversight.\n").unwrap();
    let indexed = Indexed::of(corpus.path());
    let mut session = initialized(&indexed);
    let result = session.call("search", json!({"query": "sandbagging"}));
    assert_eq!(result["structuredContent"]["total_hits"], 0);
    std::fs::write(
        corpus.path().join("eve/b.md"),
        "Sandbagging on capability evaluations.\n",
    )
    .unwrap();
    indexed
        .cmd()
        .arg("index")
        .arg(corpus.path())
        .assert()
        .success();
    let result = session.call("search", json!({"query": "sandbagging"}));
    assert_eq!(result["structuredContent"]["hits"][0]["ref"], "eve/b.md#1");
}
