//! `ai-search serve` over HTTP: every endpoint, its errors and caps, the embedded page, and
//! answers while `ai-search index` updates the index.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{fixtures, Indexed, Server};
use reqwest::blocking::{Client, Response};
use serde_json::Value;

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// `GET url` and the body as JSON, with the status.
fn get_json(client: &Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        content_type(&response),
        "application/json; charset=utf-8",
        "{url}"
    );
    (status, response.json().unwrap())
}

fn content_type(response: &Response) -> String {
    response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string()
}

/// An error answer's status, checked against the status in its body, and its message.
fn error(client: &Client, url: &str) -> (u16, String) {
    let (status, body) = get_json(client, url);
    assert_eq!(body["status"], status, "{body}");
    let message = body["error"].as_str().unwrap().to_string();
    (status, message)
}

/// The stdout of a successful command.
fn stdout(indexed: &Indexed, args: &[&str]) -> String {
    let output = indexed.cmd().args(args).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Sends `GET target` exactly as written (no URL normalisation); the status and the body.
fn raw_get(server: &Server, target: &str) -> (u16, String) {
    raw_get_from(server, target, server.address())
}

/// Sends `GET target` with this `Host` header; the status and the body.
fn raw_get_from(server: &Server, target: &str, host: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(server.address()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_string();
    (status, body)
}

#[test]
fn search_answers_with_the_json_of_query_with_facets() {
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    let client = client();
    let cases: [(&str, &[&str]); 5] = [
        ("q=oversight", &["oversight"]),
        (
            "q=oversight&author=Ann+Lee&limit=3&offset=1&context=2",
            &[
                "--author",
                "Ann Lee",
                "-n",
                "3",
                "--offset",
                "1",
                "-C",
                "2",
                "oversight",
            ],
        ),
        (
            "q=debate+judge&topic=&since=2020-01-01&sort=newest",
            &["--since", "2020-01-01", "--sort", "newest", "debate judge"],
        ),
        ("q=oversigth&context=0", &["-C", "0", "oversigth"]),
        ("q=zeppelin", &["zeppelin"]),
    ];
    for (params, args) in cases {
        let response = client
            .get(format!("{}/api/search?{params}", server.url))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{params}");
        assert_eq!(content_type(&response), "application/json; charset=utf-8");
        let timing = response.headers()["server-timing"].to_str().unwrap();
        assert!(timing.starts_with("search;dur="), "{timing}");
        let body = response.text().unwrap();
        let mut cli = vec!["query", "--json", "--facets"];
        cli.extend_from_slice(args);
        assert_eq!(body, stdout(&indexed, &cli), "{params}");
    }

    // The facets count every match, not only the page's.
    let (_, results) = get_json(
        &client,
        &format!("{}/api/search?q=oversight&limit=1", server.url),
    );
    assert_eq!(results["hits"].as_array().unwrap().len(), 1);
    let authors = results["facets"]["authors"].as_array().unwrap();
    let counted: u64 = authors
        .iter()
        .map(|count| count["paragraphs"].as_u64().unwrap())
        .sum();
    assert!(counted >= results["total_hits"].as_u64().unwrap());
    let names: Vec<&str> = authors
        .iter()
        .map(|count| count["value"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Ann Lee") && names.contains(&"bo-chen"),
        "{names:?}"
    );
    assert!(!results["facets"]["topics"].as_array().unwrap().is_empty());
}

#[test]
fn bad_searches_get_400_with_a_message_and_the_caps_hold() {
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    let client = client();
    let long_query = "oversight ".repeat(101);
    let long_author = "a".repeat(1001);
    let deep = format!("{}oversight{}", "(".repeat(40), ")".repeat(40));
    let cases = [
        ("", "`q` is required"),
        ("q=+++", "`q` is required"),
        ("q=x&limit=101", "`limit` is at most 100"),
        ("q=x&limit=-1", "limit"),
        ("q=x&limit=ten", "limit"),
        ("q=x&offset=10001", "`offset` is at most 10000"),
        ("q=x&context=11", "`context` is at most 10"),
        (&format!("q={long_query}"), "the query is too long"),
        (&format!("q={deep}"), "nests parentheses 40 deep"),
        (
            &format!("q=x&author={long_author}"),
            "`author` is over 1000",
        ),
        ("q=x&author=%21%21", "needs at least one word"),
        ("q=x&since=2024-13-01", "`2024-13-01` is not a date"),
        ("q=x&sort=random", "`sort` is relevance, newest or oldest"),
        ("q=x&q=y", "duplicate field"),
    ];
    for (params, message) in cases {
        let (status, text) = error(&client, &format!("{}/api/search?{params}", server.url));
        assert_eq!(status, 400, "{params}: {text}");
        assert!(text.contains(message), "{params}: {text}");
    }
    // At the caps, an answer.
    let (status, results) = get_json(
        &client,
        &format!("{}/api/search?q=oversight&limit=100&context=10", server.url),
    );
    assert_eq!(status, 200);
    assert_eq!(
        results["hits"].as_array().unwrap().len() as u64,
        results["total_hits"].as_u64().unwrap()
    );
    let (status, results) = get_json(
        &client,
        &format!("{}/api/search?q=oversight&offset=10000", server.url),
    );
    assert_eq!(status, 200);
    assert_eq!(results["hits"], serde_json::json!([]));
}

#[test]
fn paragraph_answers_with_the_json_of_show() {
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    let client = client();
    let cases = [
        (
            "path=ann-lee/scalable-oversight.md&n=3",
            "ann-lee/scalable-oversight.md#3",
            "1",
        ),
        (
            "path=ann-lee/scalable-oversight.md&n=3&context=3",
            "ann-lee/scalable-oversight.md#3",
            "3",
        ),
        (
            "ref=papers/records.jsonl:x5s01%232&context=0",
            "papers/records.jsonl:x5s01#2",
            "0",
        ),
        (
            "path=papers/records.jsonl:x5s01&n=1",
            "papers/records.jsonl:x5s01#1",
            "1",
        ),
    ];
    for (params, reference, context) in cases {
        let response = client
            .get(format!("{}/api/paragraph?{params}", server.url))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{params}");
        assert_eq!(
            response.text().unwrap(),
            stdout(&indexed, &["show", "--json", "-C", context, reference]),
            "{params}"
        );
    }
    let (_, passage) = get_json(
        &client,
        &format!(
            "{}/api/paragraph?path=ann-lee/scalable-oversight.md&n=3&context=1",
            server.url
        ),
    );
    assert_eq!(
        passage["text"],
        "Debate and recursive reward modelling both split one hard oversight question into \
         easier ones."
    );
    assert_eq!(passage["before"].as_array().unwrap().len(), 1);
    assert_eq!(passage["after"].as_array().unwrap().len(), 1);
}

#[test]
fn unknown_paragraphs_get_404_and_bad_references_400() {
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    let client = client();
    let cases = [
        (
            "path=ann-lee/scalable-oversight.md&n=99",
            404,
            "no paragraph ann-lee/scalable-oversight.md#99 in the index",
        ),
        ("path=nobody/nothing.md&n=1", 404, "no paragraph"),
        ("ref=nobody/nothing.md%231", 404, "no paragraph"),
        // Paths name paragraphs in the index, never files: nothing outside it can be read.
        ("path=../../../../../../etc/passwd&n=1", 404, "no paragraph"),
        ("path=/etc/passwd&n=1", 404, "no paragraph"),
        ("path=../Cargo.toml&n=1", 404, "no paragraph"),
        (
            "path=ann-lee/scalable-oversight.md&n=0",
            400,
            "counts from 1",
        ),
        (
            "path=ann-lee/scalable-oversight.md&n=x",
            400,
            "n: invalid digit",
        ),
        (
            "path=ann-lee/scalable-oversight.md",
            400,
            "give `path` and `n`",
        ),
        ("n=1", 400, "give `path` and `n`"),
        ("", 400, "give `path` and `n`"),
        ("ref=nothing", 400, "is not a paragraph reference"),
        (
            "path=ann-lee/scalable-oversight.md&n=1&context=11",
            400,
            "`context` is at most 10",
        ),
    ];
    for (params, expected, message) in cases {
        let (status, text) = error(&client, &format!("{}/api/paragraph?{params}", server.url));
        assert_eq!(status, expected, "{params}: {text}");
        assert!(text.contains(message), "{params}: {text}");
    }
}

#[test]
fn health_counts_the_paragraphs() {
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    let (status, health) = get_json(&client(), &format!("{}/api/health", server.url));
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["index"], indexed.index_dir().display().to_string());
    let check = stdout(&indexed, &["check"]);
    let paragraphs = health["paragraphs"].as_u64().unwrap();
    assert!(
        check.contains(&format!("OK ({paragraphs} paragraphs in")),
        "{check} vs {health}"
    );
}

#[test]
fn without_an_index_the_api_answers_503_until_one_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("index");
    let server = Server::start(&index_dir);
    let client = client();
    for endpoint in [
        "/api/health",
        "/api/search?q=oversight",
        "/api/paragraph?ref=ann-lee/scalable-oversight.md%231",
    ] {
        let (status, message) = error(&client, &format!("{}{endpoint}", server.url));
        assert_eq!(status, 503, "{endpoint}");
        assert!(
            message.starts_with("no index at ")
                && message.ends_with("create one with `ai-search index <CORPUS>`"),
            "{message}"
        );
    }
    // The page itself loads, and says so through the API.
    let page = client.get(format!("{}/", server.url)).send().unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        server
            .stderr()
            .contains("until then every search answers 503"),
        "{}",
        server.stderr()
    );

    common::ai_search()
        .arg("--index")
        .arg(&index_dir)
        .arg("index")
        .arg(fixtures("web"))
        .assert()
        .success();
    let (status, results) = get_json(&client, &format!("{}/api/search?q=oversight", server.url));
    assert_eq!(status, 200);
    assert!(results["total_hits"].as_u64().unwrap() > 10, "{results}");
}

#[test]
fn unknown_endpoints_methods_and_oversized_requests_are_turned_away() {
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    let client = client();

    let (status, message) = error(&client, &format!("{}/api/nothing", server.url));
    assert_eq!(
        (status, message.as_str()),
        (404, "no such page or endpoint")
    );

    let response = client
        .post(format!("{}/api/search?q=oversight", server.url))
        .send()
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"], "only GET (and HEAD) are served");

    let response = client
        .get(format!("{}/api/search?q=oversight", server.url))
        // Just over the limit: a body much larger than the socket buffers could still be being
        // written when the server answers and closes the connection (a broken pipe, not a 413).
        .body(vec![b'x'; 20 << 10])
        .send()
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"], "the request body is over 16384 bytes");

    let response = client
        .get(format!(
            "{}/api/search?q=oversight&author={}",
            server.url,
            "a".repeat(9000)
        ))
        .send()
        .unwrap();
    assert_eq!(response.status(), 414);
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"], "the request target is over 8192 bytes");

    // A small body is tolerated.
    let response = client
        .get(format!("{}/api/health", server.url))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn no_file_outside_the_page_is_served() {
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    for target in [
        "/../Cargo.toml",
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/app.js/../../Cargo.toml",
        "/..%2f..%2fCargo.toml",
        "/meta.json",
        "/index/meta.json",
        "/index.html",
        "/src/bin/ai-search/web/app.js",
        "//etc/passwd",
    ] {
        let (status, body) = raw_get(&server, target);
        assert!(status == 404 || status == 400, "{target}: {status}");
        assert!(!body.contains("root:"), "{target}: {body}");
        assert!(!body.contains("[package]"), "{target}: {body}");
    }
}

#[test]
fn requests_naming_another_host_are_refused() {
    // A page of another site whose name resolves to 127.0.0.1 (DNS rebinding) sends its own name.
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    let port = server.address().rsplit(':').next().unwrap().to_string();
    for host in ["evil.example", &format!("evil.example:{port}"), "10.1.2.3"] {
        let (status, body) = raw_get_from(&server, "/api/search?q=oversight", host);
        assert_eq!(status, 403, "{host}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body["error"],
            "this server answers only requests to localhost, 127.0.0.1 or [::1]"
        );
        let (status, _) = raw_get_from(&server, "/", host);
        assert_eq!(status, 403, "{host}");
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let (status, _) = raw_get_from(&server, "/api/search?q=oversight", &host);
        assert_eq!(status, 200, "{host}");
    }
}

#[test]
fn the_page_is_embedded_and_loads_nothing_from_other_hosts() {
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    let client = client();
    for (path, kind) in [
        ("/", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/favicon.svg", "image/svg+xml"),
    ] {
        let response = client.get(format!("{}{path}", server.url)).send().unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(content_type(&response), kind);
        let headers = response.headers();
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'; script-src 'self';"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let text = response.text().unwrap();
        // The SVG namespace is a name, not something loaded.
        let text = text.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for other_host in ["http:", "https:", "//cdn", "src=\"//", "href=\"//", "url("] {
            assert!(!text.contains(other_host), "{path} has {other_host}");
        }
    }
    let page = client.get(&server.url).send().unwrap().text().unwrap();
    assert!(page.contains(r#"<script src="/app.js" defer></script>"#));
    let head = client.head(&server.url).send().unwrap();
    assert_eq!(head.status(), 200);
}

#[test]
fn serve_prints_a_loopback_url_and_a_taken_port_is_an_error() {
    let indexed = Indexed::of(&fixtures("web"));
    let server = Server::start(&indexed.index_dir());
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let port = server.address().rsplit(':').next().unwrap();
    indexed
        .cmd()
        .args(["serve", "--port", port])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "error: cannot listen on 127.0.0.1:{port} (`--port` chooses another port)"
        )));
}

/// Copies the files of `from` into `to`.
fn copy_folder(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn no_request_fails_while_the_index_is_updated_and_new_documents_show() {
    let corpus = tempfile::tempdir().unwrap();
    copy_folder(&fixtures("web"), corpus.path());
    let indexed = Indexed::of(corpus.path());
    let server = Server::start(&indexed.index_dir());
    let base = server.url.clone();

    let (_, before) = get_json(&client(), &format!("{base}/api/search?q=zeppelin"));
    assert_eq!(before["total_hits"], 0);

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|worker| {
            let (stop, answered, base) = (stop.clone(), answered.clone(), base.clone());
            std::thread::spawn(move || {
                let client = client();
                let endpoints = [
                    "/api/search?q=oversight&context=2",
                    "/api/search?q=zeppelin+airship",
                    "/api/paragraph?ref=ann-lee/scalable-oversight.md%232&context=2",
                    "/api/health",
                ];
                let mut failures = Vec::new();
                let mut turn = worker;
                while !stop.load(Ordering::Relaxed) {
                    let url = format!("{base}{}", endpoints[turn % endpoints.len()]);
                    turn += 1;
                    match client.get(&url).send() {
                        Ok(response) if response.status() == 200 => {
                            // The whole answer arrives and is JSON.
                            if response.json::<Value>().is_err() {
                                failures.push(format!("{url}: not JSON"));
                            }
                        }
                        Ok(response) => failures.push(format!(
                            "{url}: {} {}",
                            response.status(),
                            response.text().unwrap_or_default()
                        )),
                        Err(err) => failures.push(format!("{url}: {err}")),
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                failures
            })
        })
        .collect();

    let started = Instant::now();
    for round in 0..6 {
        std::fs::create_dir_all(corpus.path().join("zed")).unwrap();
        let mut text = String::new();
        for paragraph in 0..40 {
            text.push_str(&format!(
                "Round {round}, paragraph {paragraph}: the zeppelin airship carries oversight \
                 notes across the bay.\n\n"
            ));
        }
        std::fs::write(corpus.path().join(format!("zed/airship-{round}.txt")), text).unwrap();
        // Change a file that is already indexed, too.
        std::fs::write(
            corpus.path().join("bo-chen/comments.txt"),
            format!("Oversight comment number {round} about the zeppelin.\n"),
        )
        .unwrap();
        indexed
            .cmd()
            .args(["index", "--quiet"])
            .arg(corpus.path())
            .assert()
            .success();
    }
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|client| client.join().unwrap())
        .collect();
    let answered = answered.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
    );
    assert!(
        answered >= 20,
        "only {answered} requests in {:?}",
        started.elapsed()
    );

    // The last commit's documents, without a restart.
    let (_, after) = get_json(&client(), &format!("{base}/api/search?q=zeppelin&limit=1"));
    assert_eq!(after["total_hits"], 6 * 40 + 1, "{after}");
    let (status, _) = get_json(
        &client(),
        &format!("{base}/api/paragraph?path=zed/airship-5.txt&n=40"),
    );
    assert_eq!(status, 200);
}
