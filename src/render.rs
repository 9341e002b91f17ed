//! Rendering search results, passages and counts: human-readable text (coloured or plain) and
//! JSON. All write to any writer, so tests render into a `Vec<u8>`.

use std::io::{self, Write};

use serde::Serialize;
use termcolor::{Color, ColorSpec, WriteColor};

use crate::facets::{FacetCount, Facets, Timeline};
use crate::passage::{Location, Passage};
use crate::search::{Hit, SearchResults};

/// Context paragraphs longer than this are cut in human output (JSON has them whole).
const CONTEXT_CHARS: usize = 320;
/// Width of the longest bar of a timeline, in characters.
const TIMELINE_WIDTH: usize = 40;

/// Writes `value` (search results, a passage, a list of counts) as one JSON object followed by a
/// newline.
pub fn write_json<W: Write, T: Serialize + ?Sized>(mut out: W, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, value)?;
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
        if results.total_hits == 0 {
            writeln!(out, "No paragraphs match {:?}.", results.query)?;
        } else {
            writeln!(
                out,
                "No hits past number {} ({} paragraphs match {:?}).",
                results.offset,
                total(results),
                results.query
            )?;
        }
    } else {
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
            total(results),
            results.query
        )?;
        if last < results.total_hits || !results.total_hits_exact {
            write!(out, "; --offset {last} for more")?;
        }
        out.reset()?;
        writeln!(out)?;
    }
    if let Some(facets) = &results.facets {
        write_facets(out, facets)?;
    }
    if let Some(timeline) = &results.timeline {
        write_timeline(out, timeline)?;
    }
    Ok(())
}

/// Writes the counts of matching paragraphs by author and topic as two tables.
/// The number of hits, with a `+` where counting stopped before the end.
fn total(results: &SearchResults) -> String {
    match results.total_hits_exact {
        true => results.total_hits.to_string(),
        false => format!("{}+", results.total_hits),
    }
}

fn write_facets<W: WriteColor>(out: &mut W, facets: &Facets) -> io::Result<()> {
    writeln!(out, "\nMatching paragraphs by author:")?;
    write_counts(out, "author", &facets.authors)?;
    writeln!(out, "\nMatching paragraphs by topic:")?;
    write_counts(out, "topic", &facets.topics)
}

/// Writes counts of paragraphs and documents as a table whose last column is `label`.
pub fn write_counts<W: WriteColor>(
    out: &mut W,
    label: &str,
    counts: &[FacetCount],
) -> io::Result<()> {
    out.set_color(ColorSpec::new().set_bold(true))?;
    write!(out, "paragraphs  documents  {label}")?;
    out.reset()?;
    writeln!(out)?;
    for count in counts {
        writeln!(
            out,
            "{:>10}  {:>9}  {}",
            count.paragraphs, count.documents, count.value
        )?;
    }
    Ok(())
}

/// Writes the number of matching paragraphs per year as a bar chart.
fn write_timeline<W: WriteColor>(out: &mut W, timeline: &Timeline) -> io::Result<()> {
    writeln!(out, "\nMatching paragraphs by year:")?;
    let rows = timeline
        .years
        .iter()
        .map(|year| (year.year.to_string(), year.paragraphs))
        .chain((timeline.undated > 0).then(|| ("undated".to_string(), timeline.undated)));
    let rows: Vec<(String, usize)> = rows.collect();
    let max = rows
        .iter()
        .map(|(_, count)| *count)
        .max()
        .unwrap_or(0)
        .max(1);
    let label_width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    for (label, count) in rows {
        // Any year with a paragraph gets at least one block.
        let width = (count * TIMELINE_WIDTH).div_ceil(max);
        write!(out, "{label:>label_width$}  ")?;
        out.set_color(ColorSpec::new().set_fg(Some(Color::Cyan)))?;
        write!(out, "{}", "█".repeat(width))?;
        out.reset()?;
        let gap = if width > 0 { " " } else { "" };
        writeln!(out, "{gap}{count}")?;
    }
    Ok(())
}

/// Writes a passage for a person: its document's metadata, then the paragraph whole between its
/// context paragraphs, then where else the same text is.
pub fn write_passage<W: WriteColor>(out: &mut W, passage: &Passage) -> io::Result<()> {
    out.set_color(ColorSpec::new().set_bold(true))?;
    write!(out, "{}", passage.topic)?;
    out.reset()?;
    writeln!(out)?;
    write_byline(
        out,
        &passage.author,
        &passage.reference,
        passage.section.as_deref(),
        passage.date.as_deref(),
    )?;
    if let Some(url) = &passage.url {
        writeln!(out, "   {url}")?;
    }
    if !passage.tags.is_empty() {
        writeln!(out, "   tags: {}", passage.tags.join(", "))?;
    }
    for text in &passage.before {
        write_context(out, text)?;
    }
    writeln!(out, "   > {}", passage.text)?;
    for text in &passage.after {
        write_context(out, text)?;
    }
    write_also_in(out, &passage.also_in, passage.also_in_total)
}

fn write_hit<W: WriteColor>(out: &mut W, hit: &Hit) -> io::Result<()> {
    out.set_color(ColorSpec::new().set_bold(true))?;
    write!(out, "{}. {}", hit.rank, hit.topic)?;
    out.reset()?;
    writeln!(out)?;

    write_byline(
        out,
        &hit.author,
        &hit.reference,
        hit.section.as_deref(),
        hit.date.as_deref(),
    )?;
    for text in &hit.before {
        write_context(out, text)?;
    }
    write!(out, "   > ")?;
    write_highlighted(out, &hit.snippet, &hit.highlights)?;
    writeln!(out)?;
    for text in &hit.after {
        write_context(out, text)?;
    }
    write_also_in(out, &hit.also_in, hit.also_in_total)?;
    writeln!(out)
}

/// The author, the reference, the section and the date, on one line.
fn write_byline<W: WriteColor>(
    out: &mut W,
    author: &str,
    reference: &str,
    section: Option<&str>,
    date: Option<&str>,
) -> io::Result<()> {
    write!(out, "   ")?;
    out.set_color(ColorSpec::new().set_fg(Some(Color::Cyan)))?;
    write!(out, "{author}")?;
    out.reset()?;
    write!(out, " · ")?;
    out.set_color(ColorSpec::new().set_fg(Some(Color::Magenta)))?;
    write!(out, "{reference}")?;
    out.reset()?;
    if let Some(section) = section {
        write!(out, " · § {section}")?;
    }
    if let Some(date) = date {
        write!(out, " · {date}")?;
    }
    writeln!(out)
}

/// The references of the other copies of a paragraph, if any, and how many more there are.
fn write_also_in<W: WriteColor>(out: &mut W, copies: &[Location], total: usize) -> io::Result<()> {
    if copies.is_empty() {
        return Ok(());
    }
    let references: Vec<&str> = copies.iter().map(|copy| copy.reference.as_str()).collect();
    out.set_color(ColorSpec::new().set_dimmed(true))?;
    write!(out, "   = also in {}", references.join(", "))?;
    if total > copies.len() {
        write!(out, " and {} more", total - copies.len())?;
    }
    out.reset()?;
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
            reference: "ann/faking.md#3".into(),
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
            also_in: vec![],
            also_in_total: 0,
        }
    }

    fn results(hits: Vec<Hit>, total_hits: usize) -> SearchResults {
        SearchResults {
            query: "fake".into(),
            corrected_query: None,
            notices: vec![],
            total_hits,
            total_hits_exact: true,
            offset: 0,
            hits,
            facets: None,
            timeline: None,
        }
    }

    #[test]
    fn plain_output_has_no_escape_codes() {
        let mut out = NoColor::new(Vec::new());
        write_human(&mut out, &results(vec![hit()], 3)).unwrap();
        let text = String::from_utf8(out.into_inner()).unwrap();
        assert_eq!(
            text,
            "1. On faking\n   Ann Lee · ann/faking.md#3 · § Results · 2024-01-02\n   | Before.\n   > Models fake alignment.\n   | After.\n\n1-1 of 3 paragraphs matching \"fake\"; --offset 1 for more\n"
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
    fn copies_and_counts_follow_the_hit() {
        let mut with_copy = hit();
        with_copy.also_in = vec![Location {
            reference: "mirror/faking.md#1".into(),
            path: "mirror/faking.md".into(),
            id: None,
            paragraph: 1,
            author: "Ann Lee".into(),
            topic: "On faking".into(),
            date: None,
            url: None,
        }];
        with_copy.also_in_total = 3;
        let mut results = results(vec![with_copy], 1);
        results.timeline = Some(Timeline {
            years: vec![
                crate::YearCount {
                    year: 2023,
                    paragraphs: 4,
                },
                crate::YearCount {
                    year: 2024,
                    paragraphs: 1,
                },
            ],
            undated: 0,
        });
        let mut out = NoColor::new(Vec::new());
        write_human(&mut out, &results).unwrap();
        let text = String::from_utf8(out.into_inner()).unwrap();
        assert!(
            text.contains("   | After.\n   = also in mirror/faking.md#1 and 2 more\n\n1-1 of 1"),
            "{text}"
        );
        assert!(
            text.ends_with(&format!(
                "\nMatching paragraphs by year:\n2023  {} 4\n2024  {} 1\n",
                "█".repeat(40),
                "█".repeat(10)
            )),
            "{text}"
        );
    }

    #[test]
    fn a_count_that_stopped_says_so() {
        let mut results = results(vec![hit()], 1_000);
        results.total_hits_exact = false;
        let mut out = NoColor::new(Vec::new());
        write_human(&mut out, &results).unwrap();
        let text = String::from_utf8(out.into_inner()).unwrap();
        assert!(
            text.ends_with("1-1 of 1000+ paragraphs matching \"fake\"; --offset 1 for more\n"),
            "{text}"
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
