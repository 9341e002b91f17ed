// # Load test for `ai-search serve`
//
// Sends a fixed number of requests over a fixed number of keep-alive connections to a running
// server, from this process (a second one, as a real client would be), and reports the
// throughput, the latency percentiles and every failed request. Exits with status 1 if any
// request failed: a status other than 200, a transport error, or a body that is not the JSON of
// a complete answer.
//
//     cargo run --release --example load -- http://127.0.0.1:7878 --requests 20000 --connections 16
//
// `scripts/load-test` starts a server and re-indexes in a loop meanwhile. The requests are
// searches (nine in ten: a rotation of queries, some with filters or on the second page) and
// paragraph look-ups of references the searches returned.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const QUERIES: &[&str] = &[
    "power seeking",
    "shard theory",
    "reward is not the optimization target",
    "corrigibility",
    "instrumental convergence",
    "attainable utility preservation",
    "steering vectors",
    "activation additions",
    "goal misgeneralization",
    "\"reward hacking\"",
    "inner alignment OR outer alignment",
    "mesa optimizer",
    "deceptive alignment",
    "interpretability",
    "value learning",
    "retargetting the search",
    "diamond alignment",
    "optimal policies tend to seek power",
    "unlearning",
    "gradient hacking",
];

/// Counts and timings of one run.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut base = None;
    let mut requests = 20_000_usize;
    let mut connections = 16_usize;
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> usize {
            args.next()
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match arg.as_str() {
            "--requests" => requests = number("--requests"),
            "--connections" => connections = number("--connections"),
            url if base.is_none() => base = Some(url.trim_end_matches('/').to_string()),
            other => panic!("unexpected argument {other}"),
        }
    }
    let Some(base) = base else {
        eprintln!("usage: load URL [--requests N] [--connections C]");
        return ExitCode::from(2);
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tally, elapsed) = runtime.block_on(run(base, requests, connections.max(1)));
    report(&tally, requests, connections, elapsed)
}

async fn run(base: String, requests: usize, connections: usize) -> (Tally, Duration) {
    // One client per connection, each holding one keep-alive connection.
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (base, next, tally) = (base.clone(), next.clone(), tally.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut mine = Tally::default();
                let mut seen_refs: Vec<String> = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= requests {
                        break;
                    }
                    let url = request_url(&base, n, &seen_refs);
                    let sent = Instant::now();
                    match fetch(&client, &url).await {
                        Ok(body) => {
                            mine.latencies.push(sent.elapsed());
                            if let Some(hits) = body["hits"].as_array() {
                                if let Some(reference) =
                                    hits.first().and_then(|hit| hit["ref"].as_str())
                                {
                                    if seen_refs.len() < 64 {
                                        seen_refs.push(reference.to_string());
                                    }
                                }
                            }
                        }
                        Err(failure) => {
                            mine.latencies.push(sent.elapsed());
                            mine.failures.push(format!("{url}: {failure}"));
                        }
                    }
                }
                let mut tally = tally.lock().unwrap();
                tally.latencies.extend(mine.latencies);
                tally.failures.extend(mine.failures);
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    (tally, elapsed)
}

/// The `n`th request: mostly searches, every tenth a paragraph seen in an earlier answer.
fn request_url(base: &str, n: usize, seen_refs: &[String]) -> String {
    let query = QUERIES[n % QUERIES.len()];
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    (byte as char).to_string()
                }
                _ => format!("%{byte:02X}"),
            })
            .collect()
    };
    match n % 10 {
        9 if !seen_refs.is_empty() => format!(
            "{base}/api/paragraph?ref={}&context=2",
            encode(&seen_refs[n / 10 % seen_refs.len()])
        ),
        3 => format!("{base}/api/search?q={}&offset=10", encode(query)),
        6 => format!("{base}/api/search?q={}&since=2020-01-01", encode(query)),
        _ => format!("{base}/api/search?q={}", encode(query)),
    }
}

/// The body of a 200 answer, read whole and parsed; anything else is a failure.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|err| err.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|err| err.to_string())?;
    if status != 200 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    let json: Value = serde_json::from_slice(&body).map_err(|err| format!("not JSON: {err}"))?;
    if json.get("hits").is_none() && json.get("text").is_none() {
        return Err(format!("unexpected answer: {json}"));
    }
    Ok(json)
}

fn report(tally: &Tally, requests: usize, connections: usize, elapsed: Duration) -> ExitCode {
    let mut latencies = tally.latencies.clone();
    latencies.sort();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let at = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[at].as_secs_f64() * 1000.0
    };
    println!(
        "{requests} requests over {connections} connections in {:.2} s: {:.0} requests/s",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        percentile(1.0)
    );
    println!("failed: {}", tally.failures.len());
    for failure in tally.failures.iter().take(20) {
        println!("  {failure}");
    }
    if tally.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
