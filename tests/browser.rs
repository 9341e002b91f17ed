//! The search page of `ai-search serve` in a real browser: headless Chromium driven over
//! WebDriver (chromedriver, started here on a free loopback port), as a person would use it.
//!
//! These tests need Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); without
//! them they fail and say so. `AI_SEARCH_CHROMIUM` and `AI_SEARCH_CHROMEDRIVER` name other
//! binaries.

mod common;

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixtures, Indexed, Server};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

const ARROW_DOWN: char = '\u{E015}';
const ARROW_UP: char = '\u{E013}';
const ENTER: char = '\u{E007}';
const TAB: char = '\u{E004}';
const ESCAPE: char = '\u{E00C}';

/// How long the page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(15);

/// The first of `candidates` that exists, or the program named by the variable `env`.
fn program(env: &str, candidates: &[&str], package: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for candidate in candidates {
        let candidate = PathBuf::from(candidate);
        if candidate.is_absolute() {
            if candidate.is_file() {
                return candidate;
            }
            continue;
        }
        for dir in std::env::split_paths(&path) {
            if dir.join(&candidate).is_file() {
                return dir.join(&candidate);
            }
        }
    }
    panic!(
        "the browser tests need {} and found none: install Debian's `{package}` \
         (`apt-get install -y chromium chromium-driver`, as .ci/run does) or name the binary in \
         {env}",
        candidates.join(" or ")
    );
}

/// A free port on the loopback interface.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver and a headless Chromium session on a fresh profile, with the page's server.
struct Browser {
    client: Client,
    /// chromedriver, leader of its own process group (Chromium and its helpers join it).
    driver: Child,
    server: Server,
    _indexed: Indexed,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser and a server over an index of `tests/fixtures/web`.
    async fn start() -> Browser {
        let indexed = Indexed::of(&fixtures("web"));
        let server = Server::start(&indexed.index_dir());
        let chromium = program(
            "AI_SEARCH_CHROMIUM",
            &[
                "/usr/lib/chromium/chromium",
                "chromium",
                "chromium-browser",
                "google-chrome",
            ],
            "chromium",
        );
        let chromedriver = program(
            "AI_SEARCH_CHROMEDRIVER",
            &["chromedriver"],
            "chromium-driver",
        );
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", chromedriver.display()));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < PATIENCE,
                "{} did not listen on port {port}",
                chromedriver.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                // Without these, Chromium on a machine with no network stalls at start.
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--disable-default-apps",
                    "--disable-crash-reporter",
                    "--disable-breakpad",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        // An alert stays open, so that a test can see whether one fired.
        capabilities.insert("unhandledPromptBehavior".into(), json!("ignore"));
        // On a busy machine Chromium now and then fails to start in time: a session gets three
        // tries.
        let mut tries = 0;
        let client = loop {
            tries += 1;
            let connected =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities.clone())
                    .connect(&format!("http://127.0.0.1:{port}"))
                    .await;
            match connected {
                Ok(client) => break client,
                Err(err) if tries == 3 => {
                    panic!("chromedriver could not start {}: {err}", chromium.display())
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        };
        Browser {
            client,
            driver,
            server,
            _indexed: indexed,
            _profile: profile,
        }
    }

    /// Opens the page at `path_and_query`.
    async fn open(&self, path_and_query: &str) {
        self.client
            .goto(&format!("{}{path_and_query}", self.server.url))
            .await
            .unwrap();
    }

    /// The value of a JavaScript expression in the page.
    async fn js(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .unwrap_or_else(|err| panic!("{expression}: {err}"))
    }

    /// Waits until a JavaScript expression is truthy; its value.
    async fn until(&self, what: &str, expression: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.js(expression).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(value) => *value,
                Value::Number(number) => number.as_f64() != Some(0.0),
                Value::String(text) => !text.is_empty(),
                Value::Array(_) | Value::Object(_) => true,
            };
            if truthy {
                return value;
            }
            if started.elapsed() > PATIENCE {
                let status = self
                    .js("document.querySelector('#status').textContent")
                    .await;
                let error = self
                    .js("document.querySelector('#error').textContent")
                    .await;
                panic!(
                    "waited {PATIENCE:?} for {what} ({expression}); status {status}, error {error}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Presses and releases keys, one after the other, in whatever has the focus.
    async fn press(&self, keys: &[char]) {
        let mut actions = KeyActions::new("keyboard".into());
        for &key in keys {
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    /// `id`, or the class, of the element with the focus.
    async fn focused(&self) -> String {
        self.js("document.activeElement.id || document.activeElement.className")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A JSON list of one field of every hit shown: a CSS selector inside each hit, or an
    /// attribute with `@`.
    async fn hits(&self, field: &str) -> Vec<String> {
        let expression = match field.strip_prefix('@') {
            Some(attribute) => format!("hit.getAttribute('{attribute}')"),
            None => format!("hit.querySelector('{field}').textContent"),
        };
        let values = self
            .js(&format!(
                "Array.from(document.querySelectorAll('#results .hit'), (hit) => {expression})"
            ))
            .await;
        serde_json::from_value(values).unwrap()
    }

    /// Waits for the results of a search to be shown: `count` hits, the first of rank `rank`.
    async fn wait_for_hits(&self, count: usize, rank: usize) {
        self.until(
            &format!("{count} hits from rank {rank}"),
            &format!(
                "document.querySelectorAll('#results .hit').length === {count} && \
                 document.querySelector('#results .hit .rank').textContent === '{rank}.'"
            ),
        )
        .await;
    }

    /// Ends the session (Chromium quits) and chromedriver.
    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        // The group holds chromedriver and any Chromium it left behind.
        unsafe {
            libc::kill(-(self.driver.id() as i32), libc::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failed assertion: nothing of the browser may outlive the test.
        if self.driver.try_wait().ok().flatten().is_none() {
            self.stop_driver();
        }
    }
}

#[tokio::test]
async fn typing_a_query_shows_highlighted_hits_with_their_count_and_time() {
    let browser = Browser::start().await;
    browser.open("/").await;
    assert_eq!(
        browser.focused().await,
        "q",
        "the search box has the focus on load"
    );

    // Type into whatever has the focus; no Enter: the page searches as you type.
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys("oversight")
        .await
        .unwrap();
    browser.wait_for_hits(10, 1).await;

    let status = browser
        .js("document.querySelector('#status').textContent")
        .await;
    let status = status.as_str().unwrap();
    assert!(status.starts_with("1–10 of "), "{status}");
    assert!(
        status.contains(" paragraphs in ") && status.ends_with(" ms"),
        "{status}"
    );
    let total: usize = browser
        .js("document.querySelector('#total').textContent")
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total > 10, "{total}");

    // Matches are highlighted, in every hit.
    let marks: Vec<String> = serde_json::from_value(
        browser
            .js("Array.from(document.querySelectorAll('#results .hit .snippet mark'), (m) => m.textContent.toLowerCase())")
            .await,
    )
    .unwrap();
    assert!(marks.len() >= 10, "{marks:?}");
    assert!(marks.iter().all(|mark| mark == "oversight"), "{marks:?}");
    // Each hit has its author, topic, path, paragraph number and reference.
    let refs = browser.hits(".ref").await;
    let paths = browser.hits(".path").await;
    let paragraphs = browser.hits(".paragraph").await;
    for ((reference, path), paragraph) in refs.iter().zip(&paths).zip(&paragraphs) {
        let number = paragraph.strip_prefix("¶ ").unwrap();
        assert!(
            reference.ends_with(&format!("#{number}")),
            "{reference} {paragraph}"
        );
        assert!(reference.starts_with(path.as_str()), "{reference} {path}");
    }
    assert!(browser
        .hits(".author")
        .await
        .iter()
        .all(|author| !author.is_empty()));
    assert!(browser
        .hits(".topic")
        .await
        .iter()
        .all(|topic| topic.len() > 3));
    assert_eq!(browser.hits("@data-ref").await, refs);
    // The query is in the address, for a reload or a bookmark.
    assert_eq!(browser.js("location.search").await, "?q=oversight");

    // Enter searches at once.
    let q = browser.client.active_element().await.unwrap();
    q.clear().await.unwrap();
    q.send_keys(&format!("recursive reward modelling{ENTER}"))
        .await
        .unwrap();
    browser
        .until(
            "the new search",
            "document.querySelector('#results .hit .ref').textContent === 'ann-lee/scalable-oversight.md#3'",
        )
        .await;

    // Everything the page loaded came from this server.
    let loaded: Vec<String> = serde_json::from_value(
        browser
            .js("performance.getEntriesByType('resource').map((entry) => entry.name)")
            .await,
    )
    .unwrap();
    assert!(!loaded.is_empty());
    for url in &loaded {
        assert!(url.starts_with(&browser.server.url), "{url}");
    }
    browser.close().await;
}

#[tokio::test]
async fn clicking_an_author_facet_shows_only_that_authors_hits() {
    let browser = Browser::start().await;
    browser.open("/?q=oversight").await;
    browser.wait_for_hits(10, 1).await;
    let mut authors = browser.hits(".author").await;
    authors.sort();
    authors.dedup();
    assert!(authors.len() >= 3, "{authors:?}");

    let facet = "#authors .facet[data-value='bo-chen']";
    let count = browser
        .js(&format!(
            "document.querySelector(\"{facet} .count\").textContent"
        ))
        .await;
    browser
        .client
        .find(fantoccini::Locator::Css(facet))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .until(
            "only bo-chen's hits",
            "document.querySelector('.author-filter') !== null && \
             Array.from(document.querySelectorAll('#results .hit .author')).every((a) => a.textContent === 'bo-chen')",
        )
        .await;
    let shown = browser.hits(".author").await;
    assert_eq!(
        shown.len().to_string(),
        count.as_str().unwrap().to_string(),
        "all of bo-chen's matching paragraphs, as the facet counted"
    );
    assert_eq!(
        browser
            .js("document.querySelector('#total').textContent")
            .await,
        count
    );
    assert_eq!(
        browser
            .js(&format!(
                "document.querySelector(\"{facet}\").getAttribute('aria-pressed')"
            ))
            .await,
        "true"
    );
    let search = browser.js("location.search").await;
    assert_eq!(search, "?q=oversight&author=bo-chen");

    // Clearing the filter brings the others back.
    browser
        .client
        .find(fantoccini::Locator::Css(".author-filter .clear"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .until(
            "every author again",
            "document.querySelector('.author-filter') === null && \
             new Set(Array.from(document.querySelectorAll('#results .hit .author'), (a) => a.textContent)).size >= 3",
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn expanding_a_hit_shows_its_context_and_more_on_request() {
    let browser = Browser::start().await;
    browser.open("/?q=%22recursive+reward+modelling%22").await;
    browser.wait_for_hits(1, 1).await;
    let visible = |selector: &str| {
        format!(
            "Array.from(document.querySelectorAll('#results .hit {selector}'), \
             (p) => p.checkVisibility() ? p.textContent : null).filter((t) => t !== null)"
        )
    };
    assert_eq!(browser.js(&visible(".context p")).await, json!([]));
    assert_eq!(
        browser.js(&visible(".snippet mark")).await,
        json!(["recursive", "reward", "modelling"])
    );

    browser
        .client
        .find(fantoccini::Locator::Css(".toggle-context"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        browser.js(&visible(".context.before p")).await,
        json!(["Human oversight breaks down once the model's answers take longer to check than to write."])
    );
    assert_eq!(
        browser.js(&visible(".context.after p")).await,
        json!(["Start with the papers on debate, then read the critiques of amplification."])
    );
    // The whole paragraph, still highlighted.
    assert_eq!(
        browser.js(&visible(".text")).await,
        json!(["Debate and recursive reward modelling both split one hard oversight question into easier ones."])
    );
    assert_eq!(
        browser.js(&visible(".text mark")).await,
        json!(["recursive", "reward", "modelling"])
    );
    assert_eq!(
        browser
            .js("document.querySelector('.toggle-context').getAttribute('aria-expanded')")
            .await,
        "true"
    );

    // More context comes from /api/paragraph.
    browser
        .client
        .find(fantoccini::Locator::Css(".more-context"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .until(
            "three paragraphs after the hit",
            "document.querySelectorAll('#results .hit .context.after p').length === 3",
        )
        .await;
    assert_eq!(
        browser.js(&visible(".context.before p")).await,
        json!([
            "Scalable oversight asks how a weaker overseer can check the work of a stronger model.",
            "Human oversight breaks down once the model's answers take longer to check than to write."
        ])
    );

    // And it folds away again.
    browser
        .client
        .find(fantoccini::Locator::Css(".toggle-context"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(browser.js(&visible(".context p")).await, json!([]));
    browser.close().await;
}

#[tokio::test]
async fn paging_forward_shows_the_next_hits() {
    let browser = Browser::start().await;
    browser.open("/?q=oversight").await;
    browser.wait_for_hits(10, 1).await;
    let first_page = browser.hits(".ref").await;
    assert_eq!(
        browser.js("document.querySelector('#prev').disabled").await,
        true
    );
    let pages = browser
        .js("document.querySelector('#page').textContent")
        .await;
    assert!(pages.as_str().unwrap().starts_with("Page 1 of "), "{pages}");

    browser
        .client
        .find(fantoccini::Locator::Css("#next"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .until(
            "the second page",
            "document.querySelector('#results .hit .rank').textContent === '11.'",
        )
        .await;
    let second_page = browser.hits(".ref").await;
    assert!(!second_page.is_empty());
    assert!(
        second_page
            .iter()
            .all(|reference| !first_page.contains(reference)),
        "{first_page:?} {second_page:?}"
    );
    let status = browser
        .js("document.querySelector('#status').textContent")
        .await;
    assert!(status.as_str().unwrap().starts_with("11–"), "{status}");
    assert!(browser
        .js("document.querySelector('#page').textContent")
        .await
        .as_str()
        .unwrap()
        .starts_with("Page 2 of "));
    assert_eq!(
        browser.js("location.search").await,
        "?q=oversight&offset=10"
    );
    assert_eq!(
        browser.js("document.querySelector('#prev').disabled").await,
        false
    );
    // The first hit of the new page has the focus, for the keyboard.
    assert_eq!(
        browser.js("document.activeElement.dataset.ref").await,
        json!(second_page[0])
    );

    browser
        .client
        .find(fantoccini::Locator::Css("#prev"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for_hits(10, 1).await;
    assert_eq!(browser.hits(".ref").await, first_page);
    browser.close().await;
}

#[tokio::test]
async fn markup_in_documents_shows_as_text_and_no_script_runs() {
    let browser = Browser::start().await;
    browser.open("/?q=%22oversight+payload%22").await;
    browser.wait_for_hits(1, 1).await;
    let snippet = browser.hits(".snippet").await.remove(0);
    assert!(
        snippet.contains("<script>alert(1)</script> and <img src=x onerror=alert(2)>"),
        "{snippet}"
    );
    browser
        .client
        .find(fantoccini::Locator::Css(".toggle-context"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        browser
            .js("document.querySelector('#results .context.after p').textContent")
            .await,
        "The paragraph after the payload closes the file & says <b>nothing</b> bold."
    );

    // A topic and an author made of markup, in the hit and in the facets.
    let q = browser
        .client
        .find(fantoccini::Locator::Id("q"))
        .await
        .unwrap();
    q.clear().await.unwrap();
    q.send_keys(&format!("tool calls{ENTER}")).await.unwrap();
    browser
        .until(
            "the paper's hit",
            "document.querySelector('#results .hit .topic')?.textContent.includes('Oversight of tool use')",
        )
        .await;
    let topic = browser.hits(".topic").await.remove(0);
    assert_eq!(topic, "1. <script>alert(3)</script> Oversight of tool use");
    assert_eq!(
        browser.hits(".author").await.remove(0),
        "<img src=x onerror=alert(4)>"
    );
    assert_eq!(
        browser
            .js("document.querySelector('#authors .facet .value').textContent")
            .await,
        "<img src=x onerror=alert(4)>"
    );

    // Time for an error handler to have fired, had an image been made.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        browser
            .js("document.querySelectorAll('main script, main img, main b, aside script, aside img').length")
            .await,
        0
    );
    match browser.client.get_alert_text().await {
        Err(err) if err.is_no_such_alert() => {}
        Ok(text) => panic!("an alert fired: {text}"),
        Err(err) => panic!("{err}"),
    }
    browser.close().await;
}

#[tokio::test]
async fn results_can_be_used_with_the_keyboard() {
    let browser = Browser::start().await;
    browser.open("/").await;
    assert_eq!(browser.focused().await, "q");
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys("oversight")
        .await
        .unwrap();
    browser.wait_for_hits(10, 1).await;
    let refs = browser.hits(".ref").await;
    let focused_ref = "document.activeElement.dataset.ref || document.activeElement.id";

    // Arrows move from the box through the results and back.
    browser.press(&[ARROW_DOWN]).await;
    assert_eq!(browser.js(focused_ref).await, json!(refs[0]));
    browser.press(&[ARROW_DOWN, ARROW_DOWN]).await;
    assert_eq!(browser.js(focused_ref).await, json!(refs[2]));
    browser.press(&[ARROW_UP]).await;
    assert_eq!(browser.js(focused_ref).await, json!(refs[1]));

    // Enter on a result shows its context.
    browser.press(&[ENTER]).await;
    assert_eq!(
        browser
            .js("document.activeElement.querySelector('.toggle-context').getAttribute('aria-expanded')")
            .await,
        "true"
    );
    // Tab reaches the result's controls; Enter on one uses it.
    browser.press(&[TAB]).await;
    assert_eq!(browser.focused().await, "toggle-context");
    browser.press(&[ENTER]).await;
    assert_eq!(
        browser
            .js("document.activeElement.getAttribute('aria-expanded')")
            .await,
        "false"
    );
    browser.press(&[TAB]).await;
    assert_eq!(browser.focused().await, "copy-ref");

    // Escape goes back to the box; up from the first result too.
    browser.press(&[ESCAPE]).await;
    assert_eq!(browser.focused().await, "q");
    browser.press(&[ARROW_DOWN, ARROW_UP]).await;
    assert_eq!(browser.focused().await, "q");
    browser.close().await;
}
