//! Shared word knowledge of both engines: Chinese segmentation (jieba search mode, so that
//! 工程 also finds 在建工程; numbers and Latin words stay whole, Latin in lower case), the
//! query synonym table, and everyday words that name industries (饭店 → 餐饮业).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer};

use crate::policy::matching::industry_chain;

pub const SYNONYMS_CSV: &str = include_str!("../../assets/policies/synonyms.csv");
pub const INDUSTRY_WORDS_CSV: &str = include_str!("../../assets/policies/industry-synonyms.csv");

/// The analyzer of every full-text field and of queries.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .build()
}

/// The finest non-nested tokens in text order, for highlighting: jieba's search mode also
/// yields compounds overlapping their parts (在建工程 over 在建 and 工程), which the snippet
/// generator cannot handle, so a token that contains another is left out.
#[derive(Clone, Default)]
pub struct FinestTokenizer;

pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for FinestTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut all: Vec<Token> = Vec::new();
        while let Some(t) = stream.next() {
            all.push(t.clone());
        }
        all.sort_by(|a, b| {
            a.offset_from
                .cmp(&b.offset_from)
                .then(b.offset_to.cmp(&a.offset_to))
        });
        all.dedup_by(|a, b| a.offset_from == b.offset_from && a.offset_to == b.offset_to);
        let mut keep = vec![true; all.len()];
        let mut min_end = usize::MAX;
        for i in (0..all.len()).rev() {
            if min_end <= all[i].offset_to {
                keep[i] = false;
            }
            min_end = min_end.min(all[i].offset_to);
        }
        let tokens: Vec<Token> = all
            .into_iter()
            .zip(keep)
            .filter_map(|(t, k)| k.then_some(t))
            .enumerate()
            .map(|(i, mut t)| {
                t.position = i;
                t
            })
            .collect();
        VecTokenStream { tokens, next: 0 }
    }
}

/// Every token a search for `q` looks for (words, synonyms, industry names).
pub fn query_tokens(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in super::query_words(q) {
        for term in expand(&word.to_lowercase()).terms {
            for t in tokens(&term) {
                push(&mut out, &t);
            }
        }
    }
    out
}

/// The searchable tokens of a text (punctuation and spaces dropped), in order, deduplicated.
pub fn tokens(text: &str) -> Vec<String> {
    collect_tokens(analyzer(), text)
}

/// The words a query term must all match: jieba's default (not search) mode, so that
/// 小微企业 asks for 小微 and 企业 together (both indexed inside the compound) instead of
/// anything with 企业, and 工程 still finds 在建工程, whose parts the index holds.
pub fn term_tokens(term: &str) -> Vec<String> {
    let analyzer = TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::with_search_mode(false))
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .build();
    collect_tokens(analyzer, term)
}

fn collect_tokens(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out: Vec<String> = Vec::new();
    while let Some(t) = stream.next() {
        if t.text.chars().any(char::is_alphanumeric) && !out.contains(&t.text) {
            out.push(t.text.clone());
        }
    }
    out
}

fn parse_table(csv_text: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in csv_text.lines().skip(1) {
        let Some((word, rest)) = line.split_once(',') else {
            continue;
        };
        let word = word.trim();
        if word.is_empty() {
            continue;
        }
        let entry = map.entry(word.to_owned()).or_default();
        for v in rest.split('|').map(str::trim).filter(|v| !v.is_empty()) {
            if !entry.iter().any(|e| e == v) {
                entry.push(v.to_owned());
            }
        }
    }
    map
}

/// Query synonyms: word → words that mean the same.
pub fn synonyms() -> &'static BTreeMap<String, Vec<String>> {
    static T: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    T.get_or_init(|| parse_table(SYNONYMS_CSV))
}

/// Everyday words → GB/T 4754-2017 codes.
pub fn industry_words() -> &'static BTreeMap<String, Vec<String>> {
    static T: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    T.get_or_init(|| parse_table(INDUSTRY_WORDS_CSV))
}

/// One query word and everything it stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The word, its synonyms and the names of the industries it names.
    pub terms: Vec<String>,
    /// Industry codes it names, with their ancestors (class → … → section).
    pub industry_codes: Vec<String>,
}

fn push(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

/// Expands one query word by every dictionary word it contains.
pub fn expand(word: &str) -> Expansion {
    let mut e = Expansion::default();
    push(&mut e.terms, word);
    for (key, syns) in synonyms() {
        if word.contains(key.as_str()) {
            for s in syns {
                push(&mut e.terms, s);
            }
        }
    }
    for (key, codes) in industry_words() {
        if word.contains(key.as_str()) {
            for code in codes {
                for c in industry_chain(code) {
                    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_digit()) {
                        if let Some(i) = crate::identity::industries().get(&c) {
                            push(&mut e.terms, &i.name);
                        }
                    }
                    push(&mut e.industry_codes, &c);
                }
            }
        }
    }
    e
}

/// The synonym table both engines use, with industry words mapped to industry names (for
/// engines that only know word synonyms).
pub fn engine_synonyms() -> BTreeMap<String, Vec<String>> {
    let mut map = synonyms().clone();
    for word in industry_words().keys() {
        let e = expand(word);
        let entry = map.entry(word.clone()).or_default();
        for t in e.terms.into_iter().filter(|t| t != word) {
            push(entry, &t);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_mode_finds_words_inside_compounds_and_keeps_numbers_and_latin_whole() {
        let t = tokens("在建工程抵押贷款，2023年度AI软件研发Python");
        assert!(t.contains(&"工程".to_owned()), "{t:?}");
        assert!(
            t.contains(&"在建工程".to_owned()) || t.contains(&"在建".to_owned()),
            "{t:?}"
        );
        assert!(t.contains(&"2023".to_owned()), "{t:?}");
        assert!(t.contains(&"ai".to_owned()), "{t:?}");
        assert!(t.contains(&"python".to_owned()), "{t:?}");
        assert!(!t.iter().any(|x| x == "，"), "{t:?}");
    }

    #[test]
    fn highlighting_tokens_are_ordered_and_never_nested() {
        let mut t = FinestTokenizer;
        let mut stream = t.token_stream("支持在建工程抵押，中华人民共和国");
        let mut last = (0, 0);
        let mut texts = Vec::new();
        while let Some(tok) = stream.next() {
            assert!(
                tok.offset_from >= last.0 && tok.offset_to > last.1,
                "{texts:?} then {}",
                tok.text
            );
            last = (tok.offset_from, tok.offset_to);
            texts.push(tok.text.clone());
        }
        assert!(texts.contains(&"工程".to_owned()), "{texts:?}");
        assert!(!texts.contains(&"在建工程".to_owned()), "{texts:?}");
    }

    #[test]
    fn everyday_words_name_industries_and_synonyms_expand() {
        let e = expand("饭店");
        assert!(e.industry_codes.contains(&"62".to_owned()), "{e:?}");
        assert!(e.industry_codes.contains(&"H".to_owned()), "{e:?}");
        assert!(e.terms.contains(&"餐饮业".to_owned()), "{e:?}");
        let s = expand("稳岗");
        assert!(s.terms.len() > 1, "{s:?}");
    }

    #[test]
    fn every_industry_word_maps_to_known_codes() {
        for (word, codes) in industry_words() {
            for c in codes {
                assert!(crate::identity::industries().contains_key(c), "{word} → {c}");
            }
        }
        assert!(industry_words().len() >= 150);
        assert!(synonyms().len() >= 60);
    }
}
