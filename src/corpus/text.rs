//! Plain text: paragraphs are blocks separated by blank lines; a text without any blank line
//! (a dump of comments) has one paragraph per line.

use super::{normalize_space, Paragraph};

pub(super) fn paragraphs(text: &str) -> Vec<Paragraph> {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return Vec::new();
    }
    let is_blank = |line: &&str| line.trim().is_empty();
    // Only blank lines between two lines of text count; trailing ones do not.
    let first = lines.iter().position(|l| !is_blank(l)).unwrap_or(0);
    let last = lines.iter().rposition(|l| !is_blank(l)).unwrap_or(0);
    let has_blank_line = lines[first..=last.max(first)].iter().any(is_blank);
    if has_blank_line {
        blocks(text)
    } else {
        collect(lines.iter().map(|line| normalize_space(line)))
    }
}

/// Paragraphs separated by blank lines only; the lines of a block are joined.
pub(super) fn blocks(text: &str) -> Vec<Paragraph> {
    let lines: Vec<&str> = text.lines().collect();
    collect(
        lines
            .split(|line| line.trim().is_empty())
            .map(|block| normalize_space(&block.join(" "))),
    )
}

fn collect(texts: impl Iterator<Item = String>) -> Vec<Paragraph> {
    texts
        .filter(|text| !text.is_empty())
        .map(|text| Paragraph {
            text,
            section: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        paragraphs(text).into_iter().map(|p| p.text).collect()
    }

    #[test]
    fn blank_lines_separate_paragraphs_and_lines_are_joined() {
        assert_eq!(
            texts("First line\ncontinues here.\n\n\nSecond   one.\n"),
            ["First line continues here.", "Second one."]
        );
    }

    #[test]
    fn without_blank_lines_each_line_is_a_paragraph() {
        assert_eq!(
            texts("Comment one.\nComment two.\r\nComment three."),
            ["Comment one.", "Comment two.", "Comment three."]
        );
    }

    #[test]
    fn trailing_blank_lines_do_not_turn_a_dump_into_one_block() {
        assert_eq!(texts("One.\nTwo.\n\n"), ["One.", "Two."]);
    }
}
