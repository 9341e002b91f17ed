//! Paragraph references (`DOC#N`) and looking a paragraph up by its reference.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::index::SearchIndex;

/// The stable reference of a paragraph: its document's key (the path relative to the corpus
/// root, or `path:id` for a JSON Lines record) and its number in the document, written
/// `DOC#N`. It does not change when other files are added, changed or removed.
///
/// ```
/// use ai_search::PassageRef;
///
/// let reference: PassageRef = "papers/ard.jsonl:f00d01#2".parse()?;
/// assert_eq!(reference.doc, "papers/ard.jsonl:f00d01");
/// assert_eq!(reference.paragraph, 2);
/// assert!("notes.md".parse::<PassageRef>().is_err());
/// # Ok::<(), ai_search::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PassageRef {
    /// The document key.
    pub doc: String,
    /// The paragraph's number in the document, from 1.
    pub paragraph: u64,
}

impl FromStr for PassageRef {
    type Err = Error;

    fn from_str(text: &str) -> Result<PassageRef> {
        let bad = || Error::BadReference(text.to_string());
        // The number follows the last `#`: a path or a record id may hold one too.
        let (doc, number) = text.rsplit_once('#').ok_or_else(bad)?;
        if doc.is_empty() || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let paragraph: u64 = number.parse().map_err(|_| bad())?;
        if paragraph == 0 {
            return Err(bad());
        }
        Ok(PassageRef {
            doc: doc.to_string(),
            paragraph,
        })
    }
}

impl fmt::Display for PassageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.doc, self.paragraph)
    }
}

/// Where a paragraph is: a copy of a hit listed under it, or of a passage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    #[serde(rename = "ref")]
    pub reference: String,
    pub path: String,
    pub id: Option<String>,
    pub paragraph: u64,
    /// The authors, joined with ", ".
    pub author: String,
    pub topic: String,
    pub date: Option<String>,
    pub url: Option<String>,
}

/// One paragraph looked up by its reference, with its neighbours and its document's metadata.
#[derive(Clone, Debug, Serialize)]
pub struct Passage {
    #[serde(rename = "ref")]
    pub reference: String,
    /// The authors, joined with ", ".
    pub author: String,
    pub authors: Vec<String>,
    pub topic: String,
    pub path: String,
    pub id: Option<String>,
    pub paragraph: u64,
    pub section: Option<String>,
    pub date: Option<String>,
    pub url: Option<String>,
    pub tags: Vec<String>,
    pub text: String,
    /// Paragraphs before this one in the same document, nearest last.
    pub before: Vec<String>,
    /// Paragraphs after this one in the same document, nearest first.
    pub after: Vec<String>,
    /// Other paragraphs in the index with the same normalised text, in reference order: at most
    /// [`MAX_COPIES_LISTED`](crate::MAX_COPIES_LISTED) of them.
    pub also_in: Vec<Location>,
    /// How many such copies there are in all.
    pub also_in_total: usize,
}

impl SearchIndex {
    /// The paragraph with this reference and up to `context` paragraphs on each side of it.
    ///
    /// Fails with [`Error::PassageNotFound`] when the index has no such paragraph.
    pub fn passage(&self, reference: &PassageRef, context: usize) -> Result<Passage> {
        let searcher = self.reader.searcher();
        let address = self.find_paragraph(&searcher, reference)?;
        let stored = self.stored(&searcher, address)?;
        let (before, after) = self.context(&searcher, address, stored.paragraph, context)?;

        let copies = self.copies_of(
            &searcher,
            crate::schema::text_hash(&stored.text),
            &[],
            &HashSet::from([address]),
        )?;

        Ok(Passage {
            reference: stored.reference(),
            author: stored.document.authors.join(", "),
            also_in: copies.listed,
            also_in_total: copies.total,
            authors: stored.document.authors,
            topic: stored.document.topic,
            path: stored.document.path,
            id: stored.document.id,
            paragraph: stored.paragraph,
            section: stored.section,
            date: stored.document.date,
            url: stored.document.url,
            tags: stored.document.tags,
            text: stored.text,
            before,
            after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_read_and_print_back() {
        for text in ["a/b.md#1", "papers/x.jsonl:id#7#12", "odd#name.txt#3"] {
            let reference: PassageRef = text.parse().unwrap();
            assert_eq!(reference.to_string(), text);
        }
        let reference: PassageRef = "papers/x.jsonl:id#7#12".parse().unwrap();
        assert_eq!(reference.doc, "papers/x.jsonl:id#7");
        assert_eq!(reference.paragraph, 12);
        for bad in [
            "a.md", "a.md#", "#3", "a.md#0", "a.md#-1", "a.md#+2", "a.md#x", "a.md# 2",
        ] {
            let err = bad.parse::<PassageRef>().unwrap_err();
            assert!(matches!(err, Error::BadReference(_)), "{bad}");
        }
        assert_eq!(
            "a.md".parse::<PassageRef>().unwrap_err().to_string(),
            "`a.md` is not a paragraph reference (expected PATH#N, the `ref` of a hit)"
        );
    }
}
