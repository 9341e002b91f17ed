//! JSON Lines in the schema of the Alignment Research Dataset: one record per line with `id`,
//! `source`, `title`, `text`, `url`, `date_published`, `authors` (a list) and `summary` (a list);
//! other keys are ignored. A bad line is reported with its number and the other lines are kept.

use serde::Deserialize;
use serde_json::Value;

use super::{
    normalize_date, normalize_space, text, Defaults, Document, Paragraph, ParsedFile, Problem,
};

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    date_published: Option<String>,
    #[serde(default)]
    authors: Value,
    #[serde(default)]
    summary: Value,
}

pub(super) fn parse(input: &str, defaults: &Defaults) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    for (index, line) in input.lines().enumerate() {
        match parse_line(line, index + 1, defaults) {
            Ok(Some(doc)) => parsed.documents.push(doc),
            Ok(None) => {}
            Err(problem) => parsed.problems.push(problem),
        }
    }
    parsed
}

/// The document of line `number`; `None` for a blank line.
pub(super) fn parse_line(
    line: &str,
    number: usize,
    defaults: &Defaults,
) -> Result<Option<Document>, Problem> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let problem = |message: String| Problem {
        line: Some(number),
        ..Problem::new(defaults.relative, message)
    };
    let record: Record = serde_json::from_str(line).map_err(|err| problem(describe(&err)))?;
    let mut paragraphs = record.text.as_deref().map(text::blocks).unwrap_or_default();
    paragraphs.extend(
        strings(&record.summary)
            .into_iter()
            .map(|summary| Paragraph {
                text: normalize_space(&summary),
                section: Some("Summary".to_string()),
            }),
    );
    paragraphs.retain(|p| !p.text.is_empty());
    if paragraphs.is_empty() {
        return Err(problem("record has no text".into()));
    }
    let id = match &record.id {
        Value::String(id) if !id.trim().is_empty() => id.trim().to_string(),
        Value::Number(id) => id.to_string(),
        _ => format!("line{number}"),
    };
    let mut doc = defaults.document(paragraphs);
    doc.key = format!("{}:{id}", defaults.relative);
    doc.id = Some(id);
    if let Some(title) = record.title.filter(|t| !t.trim().is_empty()) {
        doc.topic = normalize_space(&title);
    }
    let authors = strings(&record.authors);
    if !authors.is_empty() {
        doc.authors = authors;
    }
    doc.tags = record.source.into_iter().collect();
    doc.date = record.date_published.as_deref().and_then(normalize_date);
    doc.url = record.url.filter(|u| !u.trim().is_empty());
    Ok(Some(doc))
}

/// The non-empty strings of a string or a list of strings.
fn strings(value: &Value) -> Vec<String> {
    let items = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .filter_map(Value::as_str)
        .map(normalize_space)
        .filter(|s| !s.is_empty())
        .collect()
}

fn describe(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Eof => "truncated JSON record".to_string(),
        Category::Syntax => format!("malformed JSON at column {}", err.column()),
        Category::Data => {
            let message = err.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            format!("unexpected JSON record: {message}")
        }
        Category::Io => format!("cannot read record: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_bytes, CorpusFile, Format};
    use std::path::PathBuf;

    fn parse(input: &str) -> super::ParsedFile {
        let file = CorpusFile {
            path: PathBuf::from("/c/papers/ard.jsonl"),
            relative: "papers/ard.jsonl".into(),
            format: Format::JsonLines,
            aliases: None,
        };
        parse_bytes(&file, input.as_bytes()).unwrap()
    }

    #[test]
    fn records_become_documents() {
        let parsed = parse(concat!(
            r#"{"id":"ab12","source":"arxiv","title":"On  Probes","text":"First para.\n\nSecond\npara.","url":"https://example.org/p","date_published":"2024-03-01T00:00:00Z","authors":["Ann Lee","Bo Chen"],"summary":["Short summary."],"extra":1}"#,
            "\n",
            r#"{"text":"No metadata here."}"#,
            "\n"
        ));
        assert!(parsed.problems.is_empty());
        let doc = &parsed.documents[0];
        assert_eq!(doc.key, "papers/ard.jsonl:ab12");
        assert_eq!(doc.topic, "On Probes");
        assert_eq!(doc.authors, ["Ann Lee", "Bo Chen"]);
        assert_eq!(doc.tags, ["arxiv"]);
        assert_eq!(doc.date.as_deref(), Some("2024-03-01"));
        let texts: Vec<_> = doc.paragraphs.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["First para.", "Second para.", "Short summary."]);
        assert_eq!(doc.paragraphs[2].section.as_deref(), Some("Summary"));

        let bare = &parsed.documents[1];
        assert_eq!(bare.key, "papers/ard.jsonl:line2");
        assert_eq!(bare.authors, ["papers"]);
        assert_eq!(bare.topic, "ard");
    }

    #[test]
    fn bad_lines_are_reported_and_the_rest_kept() {
        let parsed = parse(concat!(
            r#"{"id":"1","text":"Good one."}"#,
            "\n",
            r#"{"id":"2","text": oops}"#,
            "\n",
            r#"{"id":"3","text":42}"#,
            "\n",
            r#"{"id":"4","title":"empty"}"#,
            "\n",
            r#"{"id":"5","text":"Good two."}"#,
            "\n",
            r#"{"id":"6","text":"cut off"#
        ));
        let ids: Vec<_> = parsed.documents.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(ids, ["papers/ard.jsonl:1", "papers/ard.jsonl:5"]);
        let problems: Vec<_> = parsed.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            problems,
            [
                "papers/ard.jsonl:2: malformed JSON at column 19",
                "papers/ard.jsonl:3: unexpected JSON record: invalid type: integer `42`, expected a string",
                "papers/ard.jsonl:4: record has no text",
                "papers/ard.jsonl:6: truncated JSON record",
            ]
        );
    }
}
