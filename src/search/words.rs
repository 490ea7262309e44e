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

/// The passage of `text` a reader should see for a search: the sentence holding most of the
/// searched `terms` (a keyword list is not a sentence), cut to about `max_chars` around its
/// first match at character boundaries with "…" where it was cut, HTML-escaped, each term
/// marked with `<mark>`. `None` when no sentence holds a term.
pub fn snippet(text: &str, terms: &[String], max_chars: usize) -> Option<String> {
    let terms: Vec<String> = terms
        .iter()
        .map(|t| t.to_lowercase())
        .filter(|t| t.chars().count() >= 2)
        .collect();
    let mut sentences: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if "。！？；\n".contains(c) {
            sentences.push(&text[start..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    sentences.push(&text[start..]);
    // Words separated by spaces with no sentence punctuation are a list (keywords,
    // industries), not a sentence.
    let is_list = |s: &str| s.trim().contains(' ') && !s.contains(['，', '。', '；', '：', '！', '？']);
    let best = sentences
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && !is_list(s))
        .map(|s| {
            let lower = s.to_lowercase();
            (terms.iter().filter(|t| lower.contains(t.as_str())).count(), s)
        })
        .filter(|(n, _)| *n > 0)
        // Most searched words first; of equals, the fuller sentence (a title-like line
        // says less than the sentence that explains it).
        .fold(None::<(usize, &str)>, |acc, (n, s)| match acc {
            Some((m, kept)) if m > n || (m == n && kept.chars().count() >= s.chars().count()) => acc,
            _ => Some((n, s)),
        })?
        .1;
    let chars: Vec<char> = best.chars().collect();
    let lower: Vec<char> = best.to_lowercase().chars().collect();
    // Lower-casing keeps the length of the CJK and ASCII text searched here; if it did not,
    // fall back to marking nothing rather than marking the wrong characters.
    let same_len = lower.len() == chars.len();
    let mut marked = vec![false; chars.len()];
    if same_len {
        for t in &terms {
            let t: Vec<char> = t.chars().collect();
            for i in 0..chars.len().saturating_sub(t.len() - 1) {
                if lower[i..i + t.len()] == t[..] {
                    marked[i..i + t.len()].iter_mut().for_each(|m| *m = true);
                }
            }
        }
    }
    let first = marked.iter().position(|m| *m).unwrap_or(0);
    let (from, to) = if chars.len() <= max_chars {
        (0, chars.len())
    } else {
        let from = first.saturating_sub(max_chars / 4).min(chars.len() - max_chars);
        (from, from + max_chars)
    };
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut open = false;
    for i in from..to {
        if marked[i] != open {
            out.push_str(if marked[i] { "<mark>" } else { "</mark>" });
            open = marked[i];
        }
        out.push_str(&super::tantivy_index::escape(&chars[i].to_string()));
    }
    if open {
        out.push_str("</mark>");
    }
    if to < chars.len() {
        out.push('…');
    }
    Some(out)
}

/// The words a query asks for, each to be matched: what people type is split on spaces and
/// punctuation; within a run typed together, a word the dictionaries know (a synonym-table
/// or everyday industry word: 小微企业, 研发费用, 饭店) stays whole, so that it still finds
/// what it stands for (小型微利企业, 研发投入), and the rest of the run is split into its
/// dictionary words, of which those of one character (开) are dropped when longer ones remain.
pub fn search_words(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in super::query_words(q) {
        run_words(&word.chars().collect::<Vec<_>>(), true, &mut out);
    }
    out
}

/// Whether the dictionaries know `word` whole.
fn known(word: &str) -> bool {
    synonyms().contains_key(word) || industry_words().contains_key(word)
}

/// The words of a run of characters: its longest known word (the earliest of equals) whole,
/// the parts before and after it in the same way; a run with no known word split into its
/// dictionary words. `alone`: the run is all that was typed, so it is kept even when it is a
/// single character.
fn run_words(run: &[char], alone: bool, out: &mut Vec<String>) {
    let mut best: Option<(usize, usize)> = None;
    for i in 0..run.len() {
        for j in (i + 2..=run.len()).rev() {
            if best.is_some_and(|(a, b)| j - i <= b - a) {
                break;
            }
            if known(&run[i..j].iter().collect::<String>()) {
                best = Some((i, j));
                break;
            }
        }
    }
    match best {
        Some((i, j)) => {
            run_words(&run[..i], false, out);
            push(out, &run[i..j].iter().collect::<String>());
            run_words(&run[j..], false, out);
        }
        None => {
            let word: String = run.iter().collect();
            let parts: Vec<String> = term_tokens(&word)
                .into_iter()
                .filter(|t| t.chars().count() >= 2)
                .collect();
            if parts.len() > 1 {
                for p in parts {
                    push(out, &p);
                }
            } else if alone || run.len() >= 2 {
                push(out, &word);
            }
        }
    }
}

/// The words of a query with their synonyms and the industry names they stand for, whole:
/// what a snippet marks.
pub fn query_terms(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in search_words(q) {
        for term in expand(&word.to_lowercase()).terms {
            push(&mut out, &term);
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
    fn words_typed_together_are_searched_as_their_dictionary_words() {
        assert_eq!(search_words("开饭店补贴"), ["饭店", "补贴"]);
        assert_eq!(search_words("稳岗 返还"), ["稳岗", "返还"]);
        assert_eq!(search_words("饭店"), ["饭店"]);
        // A word with synonyms stays whole: split, 小微企业 would no longer find 小型微利企业.
        assert_eq!(search_words("小微企业"), ["小微企业"]);
        assert_eq!(search_words("研发费用"), ["研发费用"]);
        assert_eq!(search_words("小微企业所得税"), ["小微企业", "所得税"]);
        assert_eq!(search_words("我的饭店"), ["我的", "饭店"]);
        assert_eq!(search_words("开"), ["开"]);
    }

    #[test]
    fn a_snippet_is_the_sentence_around_the_match_never_a_keyword_list() {
        let text = "民宿 乡村旅游 文旅 等级评定 奖补\n对饭店、超市、酒店等个体工商户转为企业后入限的，给予一次性奖励5万元。其他内容。";
        let s = snippet(text, &["饭店".into(), "奖补".into()], 100).expect("a match");
        assert_eq!(
            s,
            "对<mark>饭店</mark>、超市、酒店等个体工商户转为企业后入限的，给予一次性奖励5万元。"
        );
        let long = format!("{}饭店{}", "前".repeat(200), "后".repeat(200));
        let cut = snippet(&long, &["饭店".into()], 40).expect("a match");
        assert!(
            cut.starts_with('…') && cut.ends_with('…') && cut.contains("<mark>饭店</mark>"),
            "{cut}"
        );
        assert_eq!(
            cut.chars().filter(|c| *c == '前' || *c == '后').count(),
            38,
            "{cut}"
        );
        assert!(snippet("无关内容。", &["饭店".into()], 40).is_none());
        assert_eq!(
            snippet("<b>饭店</b>。", &["饭店".into()], 40).as_deref(),
            Some("&lt;b&gt;<mark>饭店</mark>&lt;/b&gt;。")
        );
    }

    proptest::proptest! {
        #[test]
        fn a_snippet_of_any_text_is_escaped_and_never_panics(text in "\\PC{0,300}", term in "\\PC{0,4}") {
            if let Some(s) = snippet(&text, &[term], 50) {
                let without_marks = s.replace("<mark>", "").replace("</mark>", "");
                proptest::prop_assert!(!without_marks.contains('<'), "{}", s);
            }
        }
    }

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
