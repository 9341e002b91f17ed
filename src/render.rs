//! Rendering search results: human-readable text (coloured or plain) and JSON. Both write to any
//! writer, so tests render into a `Vec<u8>`.

use std::io::{self, Write};

use termcolor::{Color, ColorSpec, WriteColor};

use crate::search::{Hit, SearchResults};

/// Context paragraphs longer than this are cut in human output (JSON has them whole).
const CONTEXT_CHARS: usize = 320;

/// Writes `results` as one JSON object followed by a newline.
pub fn write_json<W: Write>(mut out: W, results: &SearchResults) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, results)?;
    writeln!(out)
}

/// Writes `results` for a person: per hit its rank, topic, author, path and paragraph number,
/// the snippet with matched words highlighted, and the context paragraphs set apart.
pub fn write_human<W: WriteColor>(out: &mut W, results: &SearchResults) -> io::Result<()> {
    for notice in &results.notices {
        writeln!(out, "note: {notice}")?;
    }
    if let Some(corrected) = &results.corrected_query {
        out.set_color(ColorSpec::new().set_italic(true))?;
        write!(out, "Showing results for {corrected:?}")?;
        out.reset()?;
        writeln!(out, " (searched instead of {:?})\n", results.query)?;
    }
    if results.hits.is_empty() {
        return if results.total_hits == 0 {
            writeln!(out, "No paragraphs match {:?}.", results.query)
        } else {
            writeln!(
                out,
                "No hits past number {} ({} paragraphs match {:?}).",
                results.offset, results.total_hits, results.query
            )
        };
    }
    for hit in &results.hits {
        write_hit(out, hit)?;
    }
    let last = results.offset + results.hits.len();
    out.set_color(ColorSpec::new().set_dimmed(true))?;
    write!(
        out,
        "{}-{} of {} paragraphs matching {:?}",
        results.offset + 1,
        last,
        results.total_hits,
        results.query
    )?;
    if last < results.total_hits {
        write!(out, "; --offset {last} for more")?;
    }
    out.reset()?;
    writeln!(out)
}

fn write_hit<W: WriteColor>(out: &mut W, hit: &Hit) -> io::Result<()> {
    out.set_color(ColorSpec::new().set_bold(true))?;
    write!(out, "{}. {}", hit.rank, hit.topic)?;
    out.reset()?;
    writeln!(out)?;

    write!(out, "   ")?;
    out.set_color(ColorSpec::new().set_fg(Some(Color::Cyan)))?;
    write!(out, "{}", hit.author)?;
    out.reset()?;
    write!(out, " · ")?;
    out.set_color(ColorSpec::new().set_fg(Some(Color::Magenta)))?;
    write!(out, "{} ¶{}", hit.path, hit.paragraph)?;
    out.reset()?;
    if let Some(section) = &hit.section {
        write!(out, " · § {section}")?;
    }
    if let Some(date) = &hit.date {
        write!(out, " · {date}")?;
    }
    writeln!(out)?;

    for text in &hit.before {
        write_context(out, text)?;
    }
    write!(out, "   > ")?;
    write_highlighted(out, &hit.snippet, &hit.highlights)?;
    writeln!(out)?;
    for text in &hit.after {
        write_context(out, text)?;
    }
    writeln!(out)
}

fn write_context<W: WriteColor>(out: &mut W, text: &str) -> io::Result<()> {
    out.set_color(ColorSpec::new().set_dimmed(true))?;
    write!(out, "   | {}", shorten(text, CONTEXT_CHARS))?;
    out.reset()?;
    writeln!(out)
}

/// Writes `text` with the character ranges in `highlights` in bold colour.
fn write_highlighted<W: WriteColor>(
    out: &mut W,
    text: &str,
    highlights: &[(usize, usize)],
) -> io::Result<()> {
    let byte_at = |char_offset: usize| {
        text.char_indices()
            .nth(char_offset)
            .map_or(text.len(), |(byte, _)| byte)
    };
    let mut written = 0;
    for &(start, end) in highlights {
        let (start, end) = (byte_at(start), byte_at(end));
        if start < written || end < start {
            continue;
        }
        write!(out, "{}", &text[written..start])?;
        out.set_color(ColorSpec::new().set_bold(true).set_fg(Some(Color::Red)))?;
        write!(out, "{}", &text[start..end])?;
        out.reset()?;
        written = end;
    }
    write!(out, "{}", &text[written..])
}

/// `text` cut to at most `max_chars` characters, with an ellipsis where it was cut.
fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((byte, _)) => format!("{}…", text[..byte].trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use termcolor::{Ansi, NoColor};

    fn hit() -> Hit {
        Hit {
            rank: 1,
            score: 2.5,
            author: "Ann Lee".into(),
            authors: vec!["Ann Lee".into()],
            topic: "On faking".into(),
            path: "ann/faking.md".into(),
            id: None,
            paragraph: 3,
            section: Some("Results".into()),
            date: Some("2024-01-02".into()),
            url: None,
            tags: vec![],
            text: "Models fake alignment.".into(),
            snippet: "Models fake alignment.".into(),
            highlights: vec![(7, 11)],
            before: vec!["Before.".into()],
            after: vec!["After.".into()],
        }
    }

    fn results(hits: Vec<Hit>, total_hits: usize) -> SearchResults {
        SearchResults {
            query: "fake".into(),
            corrected_query: None,
            notices: vec![],
            total_hits,
            offset: 0,
            hits,
        }
    }

    #[test]
    fn plain_output_has_no_escape_codes() {
        let mut out = NoColor::new(Vec::new());
        write_human(&mut out, &results(vec![hit()], 3)).unwrap();
        let text = String::from_utf8(out.into_inner()).unwrap();
        assert_eq!(
            text,
            "1. On faking\n   Ann Lee · ann/faking.md ¶3 · § Results · 2024-01-02\n   | Before.\n   > Models fake alignment.\n   | After.\n\n1-1 of 3 paragraphs matching \"fake\"; --offset 1 for more\n"
        );
    }

    #[test]
    fn colour_output_highlights_the_match() {
        let mut out = Ansi::new(Vec::new());
        write_human(&mut out, &results(vec![hit()], 1)).unwrap();
        let text = String::from_utf8(out.into_inner()).unwrap();
        assert!(
            text.contains("Models \x1b[0m\x1b[1m\x1b[31mfake\x1b[0m alignment."),
            "{text:?}"
        );
    }

    #[test]
    fn no_hits_says_so() {
        let mut out = NoColor::new(Vec::new());
        write_human(&mut out, &results(vec![], 0)).unwrap();
        assert_eq!(out.into_inner(), b"No paragraphs match \"fake\".\n");
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("ééééé", 3), "ééé…");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
