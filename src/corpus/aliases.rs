//! Author aliases: the optional `aliases.yaml` in the corpus root maps the other spellings of a
//! person's name (a user handle, initials, a folder name) to one canonical name.
//!
//! The file is a YAML mapping from each canonical name to one other spelling or a list of them:
//!
//! ```yaml
//! Ann Lee: [annlee, A. Lee]
//! Bo Chen: bo-chen
//! ```
//!
//! Names are compared case-insensitively, with runs of white space counted as one space, so
//! `ANN  LEE` is Ann Lee too.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::Document;

/// Name of the aliases file, in the corpus root.
pub const ALIASES_FILE: &str = "aliases.yaml";

/// The spellings of each person's name, read from an aliases file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aliases {
    /// Folded spelling (or canonical name) → canonical name.
    canonical: HashMap<String, String>,
    /// Canonical name → its other spellings, as written in the file.
    spellings: HashMap<String, Vec<String>>,
}

/// One spelling or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Spellings {
    One(String),
    Many(Vec<String>),
}

impl Aliases {
    /// Reads an aliases file. The error says what is wrong with it in a few words.
    pub fn parse(yaml: &str) -> Result<Aliases, String> {
        let entries: Option<BTreeMap<String, Option<Spellings>>> = serde_yaml_ng::from_str(yaml)
            .map_err(|err| {
                format!("expected a mapping from canonical names to their other spellings ({err})")
            })?;
        let mut aliases = Aliases::default();
        for (name, spellings) in entries.unwrap_or_default() {
            let name = normalize_name(&name);
            if name.is_empty() {
                return Err("a canonical name is empty".into());
            }
            let spellings = match spellings {
                None => Vec::new(),
                Some(Spellings::One(one)) => vec![one],
                Some(Spellings::Many(many)) => many,
            };
            let spellings: Vec<String> = spellings
                .iter()
                .map(|spelling| normalize_name(spelling))
                .filter(|spelling| !spelling.is_empty())
                .collect();
            for spelling in std::iter::once(&name).chain(&spellings) {
                let folded = fold(spelling);
                match aliases.canonical.get(&folded) {
                    Some(other) if *other != name => {
                        return Err(format!(
                            "`{spelling}` stands for both `{other}` and `{name}`"
                        ));
                    }
                    _ => {
                        aliases.canonical.insert(folded, name.clone());
                    }
                }
            }
            let others: Vec<String> = spellings
                .into_iter()
                .filter(|spelling| fold(spelling) != fold(&name))
                .collect();
            aliases.spellings.insert(name, others);
        }
        Ok(aliases)
    }

    /// True when the file named no one.
    pub fn is_empty(&self) -> bool {
        self.canonical.is_empty()
    }

    /// The canonical name for `name`: itself when the file does not list it.
    pub fn canonical<'a>(&'a self, name: &'a str) -> &'a str {
        self.canonical.get(&fold(name)).map_or(name, String::as_str)
    }

    /// The other spellings of a canonical name, as listed in the file.
    pub fn other_spellings(&self, canonical: &str) -> &[String] {
        self.spellings.get(canonical).map_or(&[], Vec::as_slice)
    }

    /// Replaces the document's author names by their canonical names (once each, in the order
    /// they first appear) and records the other spellings of those names in `author_aliases`.
    pub fn apply(&self, document: &mut Document) {
        let mut authors: Vec<String> = Vec::with_capacity(document.authors.len());
        for author in &document.authors {
            let canonical = self.canonical(author);
            if !authors.iter().any(|known| known == canonical) {
                authors.push(canonical.to_string());
            }
        }
        document.author_aliases = authors
            .iter()
            .flat_map(|author| self.other_spellings(author).iter().cloned())
            .collect();
        document.authors = authors;
    }
}

/// A name with its runs of white space collapsed to one space and its ends trimmed.
fn normalize_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The form in which names are compared.
fn fold(name: &str) -> String {
    normalize_name(name).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(authors: &[&str]) -> Document {
        Document {
            authors: authors.iter().map(|a| a.to_string()).collect(),
            ..Document::default()
        }
    }

    #[test]
    fn spellings_map_to_the_canonical_name() {
        let aliases = Aliases::parse("Ann Lee: [annlee, 'A.  Lee']\nBo Chen: bo-chen\n").unwrap();
        assert_eq!(aliases.canonical("ANNLEE"), "Ann Lee");
        assert_eq!(aliases.canonical("a. lee"), "Ann Lee");
        assert_eq!(aliases.canonical("ann  lee"), "Ann Lee");
        assert_eq!(aliases.canonical("bo-chen"), "Bo Chen");
        assert_eq!(aliases.canonical("Cara Diaz"), "Cara Diaz");
        assert_eq!(aliases.other_spellings("Ann Lee"), ["annlee", "A. Lee"]);
    }

    #[test]
    fn applying_merges_and_records_the_other_spellings() {
        let aliases = Aliases::parse("Ann Lee: [annlee]\n").unwrap();
        let mut document = doc(&["annlee", "Cara Diaz", "Ann Lee"]);
        aliases.apply(&mut document);
        assert_eq!(document.authors, ["Ann Lee", "Cara Diaz"]);
        assert_eq!(document.author_aliases, ["annlee"]);
    }

    #[test]
    fn empty_file_and_empty_entries_are_fine() {
        assert!(Aliases::parse("").unwrap().is_empty());
        assert!(Aliases::parse("# nobody yet\n").unwrap().is_empty());
        let aliases = Aliases::parse("Ann Lee:\n").unwrap();
        assert_eq!(aliases.canonical("ann lee"), "Ann Lee");
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let err = Aliases::parse("Ann Lee: [annlee]\nAnna Lee: [annlee]\n").unwrap_err();
        assert_eq!(err, "`annlee` stands for both `Ann Lee` and `Anna Lee`");
        let err = Aliases::parse("- just\n- a list\n").unwrap_err();
        assert!(
            err.starts_with("expected a mapping from canonical names to their other spellings"),
            "{err}"
        );
        let err = Aliases::parse("Ann Lee: {nested: map}\n").unwrap_err();
        assert!(err.starts_with("expected a mapping"), "{err}");
    }
}
