//! Markdown with optional YAML front matter, turned into plain-text paragraphs.
//!
//! Link text is kept and URLs dropped, HTML tags removed (the text of HTML blocks is kept), code
//! blocks and display math are not prose, footnote definitions are paragraphs, and headings become
//! the `section` of the paragraphs below them.

use pulldown_cmark::{Event, HeadingLevel, MetadataBlockKind, Options, Parser, Tag, TagEnd};
use serde_yaml_ng::Value;

use super::{normalize_date, normalize_space, Defaults, Paragraph, ParsedFile, Problem};

pub(super) fn parse(input: &str, defaults: &Defaults) -> Result<ParsedFile, Problem> {
    let body = Body::read(input);
    if body.front_matter.is_none() && starts_front_matter(input) {
        return Err(Problem::new(
            defaults.relative,
            "front matter is not closed (no `---` line after the opening one)",
        ));
    }
    let mut doc = defaults.document(body.paragraphs);
    if let Some(heading) = body.first_h1 {
        doc.topic = heading;
    }
    let mut problems = Vec::new();
    if let Some(yaml) = body.front_matter {
        match FrontMatter::parse(&yaml) {
            Ok(meta) => meta.apply(&mut doc),
            Err(message) => problems.push(Problem::new(defaults.relative, message)),
        }
    }
    Ok(ParsedFile {
        documents: vec![doc],
        problems,
    })
}

/// A first line of `---` opens front matter; a file whose front matter never closes would
/// otherwise have its metadata indexed as text.
fn starts_front_matter(input: &str) -> bool {
    input
        .lines()
        .next()
        .is_some_and(|line| line.trim_end() == "---")
        && input
            .lines()
            .nth(1)
            .is_some_and(|line| !line.trim().is_empty())
}

/// The metadata keys we use; everything else in the front matter is ignored.
#[derive(Default)]
struct FrontMatter {
    topic: Option<String>,
    authors: Vec<String>,
    tags: Vec<String>,
    date: Option<String>,
    url: Option<String>,
}

impl FrontMatter {
    fn parse(yaml: &str) -> Result<FrontMatter, String> {
        let value: Value = serde_yaml_ng::from_str(yaml)
            .map_err(|err| format!("front matter is not valid YAML ({err}); indexed without it"))?;
        let map = match value {
            Value::Mapping(map) => map,
            Value::Null => return Ok(FrontMatter::default()),
            _ => return Err("front matter is not a YAML mapping; indexed without it".into()),
        };
        let get = |keys: &[&str]| keys.iter().find_map(|key| map.get(*key)).map(strings);
        let first = |keys: &[&str]| get(keys).and_then(|values| values.into_iter().next());
        Ok(FrontMatter {
            topic: first(&["topic", "title"]),
            authors: get(&["author", "authors"]).unwrap_or_default(),
            tags: get(&["tags"]).unwrap_or_default(),
            date: first(&["date", "date_published"]).and_then(|d| normalize_date(&d)),
            url: first(&["url", "original_url"]),
        })
    }

    fn apply(self, doc: &mut super::Document) {
        if let Some(topic) = self.topic {
            doc.topic = topic;
        }
        if !self.authors.is_empty() {
            doc.authors = self.authors;
        }
        doc.tags = self.tags;
        doc.date = self.date;
        doc.url = self.url;
    }
}

/// The non-empty scalars of a YAML scalar or list.
fn strings(value: &Value) -> Vec<String> {
    let scalar = |value: &Value| match value {
        Value::String(s) => Some(normalize_space(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let values: Vec<String> = match value {
        Value::Sequence(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    };
    values.into_iter().filter(|s| !s.is_empty()).collect()
}

/// The result of walking the Markdown events once.
#[derive(Default)]
struct Body {
    front_matter: Option<String>,
    paragraphs: Vec<Paragraph>,
    first_h1: Option<String>,
    // Walking state.
    text: String,
    section: Option<String>,
    heading: Option<(HeadingLevel, String)>,
    html: Option<String>,
    in_front_matter: bool,
    /// Inside a code block or an image: text is not prose.
    skip_depth: usize,
}

impl Body {
    fn read(input: &str) -> Body {
        let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_MATH
            | Options::ENABLE_GFM
            | Options::ENABLE_HEADING_ATTRIBUTES
            | Options::ENABLE_WIKILINKS;
        let mut body = Body::default();
        for (event, range) in Parser::new_ext(input, options).into_offset_iter() {
            match event {
                // Only a block at the very top is front matter.
                Event::Start(Tag::MetadataBlock(MetadataBlockKind::YamlStyle))
                    if range.start == 0 =>
                {
                    body.front_matter = Some(String::new());
                    body.in_front_matter = true;
                }
                Event::Start(Tag::MetadataBlock(_)) => body.skip_depth += 1,
                Event::End(TagEnd::MetadataBlock(_)) if body.in_front_matter => {
                    body.in_front_matter = false
                }
                Event::End(TagEnd::MetadataBlock(_)) => body.skip_depth -= 1,
                event => body.event(event),
            }
        }
        body.flush();
        body
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Text(text) if self.in_front_matter => {
                if let Some(yaml) = self.front_matter.as_mut() {
                    yaml.push_str(&text);
                }
            }
            Event::Start(Tag::CodeBlock(_) | Tag::Image { .. }) => {
                self.flush();
                self.skip_depth += 1;
            }
            Event::End(TagEnd::CodeBlock | TagEnd::Image) => self.skip_depth -= 1,
            Event::Start(Tag::Heading { level, .. }) => {
                self.flush();
                self.heading = Some((level, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text)) = self.heading.take() {
                    let text = normalize_space(&text);
                    if level == HeadingLevel::H1 && self.first_h1.is_none() && !text.is_empty() {
                        self.first_h1 = Some(text.clone());
                    }
                    self.section = Some(text).filter(|t| !t.is_empty());
                }
            }
            Event::Start(Tag::HtmlBlock) => {
                self.flush();
                self.html = Some(String::new());
            }
            Event::Html(html) => {
                if let Some(buffer) = self.html.as_mut() {
                    buffer.push_str(&html);
                }
            }
            Event::End(TagEnd::HtmlBlock) => {
                if let Some(html) = self.html.take() {
                    for text in html_text_blocks(&html) {
                        self.push_text(&text);
                        self.flush();
                    }
                }
            }
            // Inline tags such as <sup> or <br>: drop the tag, keep words apart.
            Event::InlineHtml(_) | Event::SoftBreak | Event::HardBreak => self.push_text(" "),
            Event::Text(text) | Event::Code(text) | Event::InlineMath(text) => {
                self.push_text(&text)
            }
            Event::End(TagEnd::TableCell) => self.push_text(" "),
            Event::Start(
                Tag::Paragraph
                | Tag::Item
                | Tag::List(_)
                | Tag::BlockQuote(_)
                | Tag::FootnoteDefinition(_)
                | Tag::Table(_)
                | Tag::TableRow
                | Tag::DefinitionListTitle
                | Tag::DefinitionListDefinition,
            )
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::List(_)
                | TagEnd::BlockQuote(_)
                | TagEnd::FootnoteDefinition
                | TagEnd::Table
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            )
            | Event::Rule => self.flush(),
            // Display math, footnote markers, task boxes and inline styling carry no prose.
            _ => {}
        }
    }

    fn push_text(&mut self, text: &str) {
        if self.skip_depth > 0 {
            return;
        }
        match self.heading.as_mut() {
            Some((_, heading)) => heading.push_str(text),
            None => self.text.push_str(text),
        }
    }

    fn flush(&mut self) {
        let text = normalize_space(&std::mem::take(&mut self.text));
        let text = strip_callout_marker(&text);
        if !text.is_empty() {
            self.paragraphs.push(Paragraph {
                text: text.to_string(),
                section: self.section.clone(),
            });
        }
    }
}

/// Drops an Obsidian-style callout marker such as `[!quote]` from the start of a paragraph.
fn strip_callout_marker(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("[!") else {
        return text;
    };
    match rest.split_once(']') {
        Some((kind, after))
            if !kind.is_empty() && kind.chars().all(|c| c.is_alphanumeric() || c == '-') =>
        {
            after.trim_start_matches(['+', '-']).trim_start()
        }
        _ => text,
    }
}

/// The text of an HTML block, split where block-level elements start or end. Scripts and styles
/// are dropped.
fn html_text_blocks(html: &str) -> Vec<String> {
    use html5gum::{Token, Tokenizer};
    const BLOCK_TAGS: &[&[u8]] = &[
        b"p",
        b"div",
        b"section",
        b"article",
        b"figure",
        b"figcaption",
        b"blockquote",
        b"li",
        b"ul",
        b"ol",
        b"table",
        b"tr",
        b"td",
        b"th",
        b"h1",
        b"h2",
        b"h3",
        b"h4",
        b"h5",
        b"h6",
        b"details",
        b"summary",
        b"hr",
    ];
    let mut blocks = vec![String::new()];
    let mut hidden: Option<Vec<u8>> = None;
    for token in Tokenizer::new(html).flatten() {
        match token {
            Token::StartTag(tag) if hidden.is_none() => {
                let name = tag.name.to_ascii_lowercase();
                if matches!(name.as_slice(), b"script" | b"style" | b"svg") && !tag.self_closing {
                    hidden = Some(name);
                } else if BLOCK_TAGS.contains(&name.as_slice()) {
                    blocks.push(String::new());
                } else if let Some(block) = blocks.last_mut() {
                    block.push(' ');
                }
            }
            Token::EndTag(tag) => {
                let name = tag.name.to_ascii_lowercase();
                if hidden.as_deref() == Some(name.as_slice()) {
                    hidden = None;
                } else if BLOCK_TAGS.contains(&name.as_slice()) {
                    blocks.push(String::new());
                }
            }
            Token::String(text) if hidden.is_none() => {
                if let Some(block) = blocks.last_mut() {
                    block.push_str(&String::from_utf8_lossy(&text));
                }
            }
            _ => {}
        }
    }
    blocks
        .iter()
        .map(|block| normalize_space(block))
        .filter(|block| !block.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{parse_bytes, CorpusFile, Document, Format};
    use std::path::PathBuf;

    fn parse(input: &str) -> super::super::ParsedFile {
        let file = CorpusFile {
            path: PathBuf::from("/c/ann/post.md"),
            relative: "ann/post.md".into(),
            format: Format::Markdown,
            aliases: None,
        };
        parse_bytes(&file, input.as_bytes()).unwrap()
    }

    fn doc(input: &str) -> Document {
        let mut parsed = parse(input);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        parsed.documents.remove(0)
    }

    fn texts(doc: &Document) -> Vec<&str> {
        doc.paragraphs.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn front_matter_is_metadata_not_text() {
        let doc = doc("---\ntitle: Alignment faking, revisited\nauthors:\n  - Ann Lee\n  - Bo Chen\ntags: [deception, evals]\ndate_published: 2024-12-18\noriginal_url: https://example.org/af\nlw-base-score: 60\n---\n\nThe body.\n");
        assert_eq!(doc.topic, "Alignment faking, revisited");
        assert_eq!(doc.authors, ["Ann Lee", "Bo Chen"]);
        assert_eq!(doc.tags, ["deception", "evals"]);
        assert_eq!(doc.date.as_deref(), Some("2024-12-18"));
        assert_eq!(doc.url.as_deref(), Some("https://example.org/af"));
        assert_eq!(texts(&doc), ["The body."]);
    }

    #[test]
    fn text_of_code_and_images_right_after_front_matter_stays_out_of_it() {
        let doc = doc("---\ntitle: T\n---\n![alt: text](x.png)\n\n```\nkey: [oops\n```\n\nBody.\n");
        assert_eq!(doc.topic, "T");
        assert_eq!(texts(&doc), ["Body."]);
    }

    #[test]
    fn single_author_topic_and_url_keys() {
        let doc = doc("---\nauthor: Ann Lee\ntopic: Reward hacking\ntitle: ignored\nurl: https://example.org/x\ndate: 2021-01-02\n---\nText.\n");
        assert_eq!(doc.authors, ["Ann Lee"]);
        assert_eq!(doc.topic, "Reward hacking");
        assert_eq!(doc.url.as_deref(), Some("https://example.org/x"));
        assert_eq!(doc.date.as_deref(), Some("2021-01-02"));
    }

    #[test]
    fn without_front_matter_topic_is_first_h1_and_author_the_folder() {
        let doc = doc("Intro line.\n\n## Not this\n\n# Corrigibility notes\n\nBody.\n");
        assert_eq!(doc.topic, "Corrigibility notes");
        assert_eq!(doc.authors, ["ann"]);
        let doc = doc_without_heading();
        assert_eq!(doc.topic, "post");
    }

    fn doc_without_heading() -> Document {
        doc("Just text.\n")
    }

    #[test]
    fn links_html_code_and_images_are_cleaned() {
        let doc = doc(concat!(
            "See [the paper](https://example.org/p \"t\") and <https://example.org/raw> too.\n\n",
            "Words with <sup>inline</sup> tags and **bold** `code` and $x^2$ math.<br>Next.\n\n",
            "```python\nprint('not prose')\n```\n\n",
            "![an image](https://example.org/i.png)\n\n",
            "<figure>\n<img src=\"x.png\" alt=\"alt\"/>\n<figcaption>The <b>caption</b> stays.</figcaption>\n</figure>\n\n",
            "<script>alert(1)</script>\n\n",
            "$$\n\\frac{a}{b}\n$$\n\n",
            "Last &amp; final.\n"
        ));
        assert_eq!(
            texts(&doc),
            [
                "See the paper and https://example.org/raw too.",
                "Words with inline tags and bold code and x^2 math. Next.",
                "The caption stays.",
                "Last & final.",
            ]
        );
    }

    #[test]
    fn headings_are_sections_not_paragraphs() {
        let doc = doc("Before any heading.\n\n# Title\n\nUnder title.\n\n## Results\n\nFirst result.\n\n- item one\n- item two\n");
        let sections: Vec<_> = doc
            .paragraphs
            .iter()
            .map(|p| (p.text.as_str(), p.section.as_deref()))
            .collect();
        assert_eq!(
            sections,
            [
                ("Before any heading.", None),
                ("Under title.", Some("Title")),
                ("First result.", Some("Results")),
                ("item one", Some("Results")),
                ("item two", Some("Results")),
            ]
        );
    }

    #[test]
    fn footnote_definitions_are_paragraphs_and_markers_vanish() {
        let doc = doc("A claim.[^1]\n\n[^1]: The footnote text.\n");
        assert_eq!(texts(&doc), ["A claim.", "The footnote text."]);
    }

    #[test]
    fn callout_markers_are_dropped() {
        let doc = doc("> [!quote] Someone said\n> a wise thing.\n\n> [!NOTE]\n> GitHub style.\n");
        assert_eq!(texts(&doc), ["Someone said a wise thing.", "GitHub style."]);
    }

    #[test]
    fn crlf_and_nested_lists() {
        let doc = doc("---\r\ntitle: T\r\n---\r\n\r\n- outer\r\n  - inner\r\n\r\nEnd.\r\n");
        assert_eq!(doc.topic, "T");
        assert_eq!(texts(&doc), ["outer", "inner", "End."]);
    }

    #[test]
    fn malformed_front_matter_is_reported_and_body_kept() {
        let parsed = parse("---\ntitle: [unclosed\n---\nBody text.\n");
        assert_eq!(parsed.problems.len(), 1);
        let message = parsed.problems[0].to_string();
        assert!(
            message.starts_with("ann/post.md: front matter is not valid YAML"),
            "{message}"
        );
        assert!(message.ends_with("indexed without it"), "{message}");
        assert_eq!(texts(&parsed.documents[0]), ["Body text."]);
        assert_eq!(parsed.documents[0].topic, "post");
    }

    #[test]
    fn unclosed_front_matter_skips_the_file() {
        let file = CorpusFile {
            path: PathBuf::from("/c/ann/post.md"),
            relative: "ann/post.md".into(),
            format: Format::Markdown,
            aliases: None,
        };
        let err = parse_bytes(&file, b"---\ntitle: Oops\nauthors: [A]\n\nBody.\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ann/post.md: front matter is not closed (no `---` line after the opening one)"
        );
    }

    #[test]
    fn a_rule_at_the_top_is_not_front_matter() {
        let doc = doc("---\n\nText after a rule.\n");
        assert_eq!(texts(&doc), ["Text after a rule."]);
    }
}
