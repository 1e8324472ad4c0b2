//! Turns a [`SearchQuery`] into tantivy queries, ranks and counts the matches, and marks the
//! matched words for highlighting.

use std::collections::BTreeMap;
use std::io;
use std::ops::{Bound, Range};

use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::StrColumn;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, DocId, Order, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

use super::fields::{CATEGORY, CREATED_AT, Fields, PRICE};
use crate::document::{SearchQuery, SortOrder};
use shop_contracts::search::highlight;

/// A word in the name counts this much more than one in the description.
const NAME_BOOST: Score = 3.0;
/// A typo or prefix match scores this constant, below any exact (BM25) match of the word.
const LOOSE_MATCH_SCORE: Score = 0.1;
/// Shorter words must be typed correctly: one edit turns too many short words into others.
const MIN_TYPO_TOLERANT_CHARS: usize = 5;

/// One word of the user's query.
pub(super) struct Word {
    /// Lowercased as typed.
    plain: String,
    stem: String,
    typo_tolerant: bool,
    /// The last word may be unfinished (search as you type).
    prefix: bool,
}

impl Word {
    /// Whether a word of a text matched this query word, by the same rules the query uses.
    fn matches(&self, stem: &str, plain: &str) -> bool {
        stem == self.stem
            || (self.prefix && plain.starts_with(&self.plain))
            || (self.typo_tolerant && within_one_edit(plain, &self.plain))
    }
}

/// Splits the query text into words, with the analyzer the name and description are indexed
/// with.
pub(super) fn words(q: &str, stemmer: &mut TextAnalyzer) -> Vec<Word> {
    let mut words = Vec::new();
    let mut stream = stemmer.token_stream(q);
    while let Some(token) = stream.next() {
        let plain = q[token.offset_from..token.offset_to].to_lowercase();
        words.push(Word {
            typo_tolerant: plain.chars().count() >= MIN_TYPO_TOLERANT_CHARS,
            stem: token.text.clone(),
            plain,
            prefix: false,
        });
    }
    if let Some(last) = words.last_mut() {
        last.prefix = true;
    }
    words
}

/// Every word must match (exactly, by stem, or loosely); filters narrow without scoring.
/// `with_category` is false for the facet counts, which ignore the category filter.
pub(super) fn build(fields: &Fields, words: &[Word], query: &SearchQuery, with_category: bool) -> BooleanQuery {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .map(|word| (Occur::Must, word_query(fields, word)))
        .collect();
    let mut filter = |query: Box<dyn Query>| {
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0))));
    };
    filter(term(Term::from_field_bool(fields.live, true)));
    if let (Some(category), true) = (&query.category, with_category) {
        filter(term(Term::from_field_text(fields.category, category)));
    }
    if query.min_price.is_some() || query.max_price.is_some() {
        let bound = |price: Option<i64>| {
            price.map_or(Bound::Unbounded, |price| {
                Bound::Included(Term::from_field_i64(fields.price, price))
            })
        };
        filter(Box::new(RangeQuery::new(
            bound(query.min_price),
            bound(query.max_price),
        )));
    }
    if let Some(in_stock) = query.in_stock {
        filter(term(Term::from_field_bool(fields.in_stock, in_stock)));
    }
    BooleanQuery::new(clauses)
}

fn term(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}

fn word_query(fields: &Fields, word: &Word) -> Box<dyn Query> {
    let exact = |field, boost| -> (Occur, Box<dyn Query>) {
        let query = TermQuery::new(Term::from_field_text(field, &word.stem), IndexRecordOption::WithFreqs);
        (Occur::Should, Box::new(BoostQuery::new(Box::new(query), boost)))
    };
    let mut alternatives = vec![exact(fields.name, NAME_BOOST), exact(fields.description, 1.0)];
    for (field, boost) in [(fields.name_words, NAME_BOOST), (fields.description_words, 1.0)] {
        let term = Term::from_field_text(field, &word.plain);
        let mut loose = |query: FuzzyTermQuery| {
            let query = BoostQuery::new(Box::new(query), LOOSE_MATCH_SCORE * boost);
            alternatives.push((Occur::Should, Box::new(query) as Box<dyn Query>));
        };
        if word.typo_tolerant {
            loose(FuzzyTermQuery::new(term.clone(), 1, true));
        }
        if word.prefix {
            loose(FuzzyTermQuery::new_prefix(term, 0, false));
        }
    }
    Box::new(BooleanQuery::new(alternatives))
}

/// The documents in `range` of the matches, in the requested order. Ties go to the newest,
/// which also orders a browse without query words under `Relevance`.
pub(super) fn top(
    searcher: &Searcher,
    query: &dyn Query,
    sort: SortOrder,
    range: Range<usize>,
) -> tantivy::Result<Vec<DocAddress>> {
    let top = TopDocs::for_doc_range(range);
    let newest = || (SortByStaticFastValue::<i64>::for_field(CREATED_AT), Order::Desc);
    let price = |order| (SortByStaticFastValue::<i64>::for_field(PRICE), order);
    Ok(match sort {
        SortOrder::Relevance => {
            addresses(searcher.search(query, &top.order_by(((SortBySimilarityScore, Order::Desc), newest())))?)
        }
        SortOrder::PriceAsc => addresses(searcher.search(query, &top.order_by((price(Order::Asc), newest())))?),
        SortOrder::PriceDesc => addresses(searcher.search(query, &top.order_by((price(Order::Desc), newest())))?),
        SortOrder::Newest => addresses(searcher.search(query, &top.order_by(newest()))?),
    })
}

fn addresses<K>(ranked: Vec<(K, DocAddress)>) -> Vec<DocAddress> {
    ranked.into_iter().map(|(_, address)| address).collect()
}

/// Counts the matches per category.
pub(super) struct CategoryCounts;

pub(super) struct SegmentCategoryCounts {
    column: Option<StrColumn>,
    /// Indexed by the category's ordinal in the segment's dictionary.
    counts: Vec<u64>,
}

impl Collector for CategoryCounts {
    type Fruit = BTreeMap<String, u64>;
    type Child = SegmentCategoryCounts;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentCategoryCounts> {
        let column = reader.fast_fields().str(CATEGORY)?;
        let counts = vec![0; column.as_ref().map_or(0, |column| column.num_terms())];
        Ok(SegmentCategoryCounts { column, counts })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<io::Result<BTreeMap<String, u64>>>) -> tantivy::Result<BTreeMap<String, u64>> {
        let mut total = BTreeMap::new();
        for segment in segments {
            for (category, count) in segment? {
                *total.entry(category).or_default() += count;
            }
        }
        Ok(total)
    }
}

impl SegmentCollector for SegmentCategoryCounts {
    type Fruit = io::Result<BTreeMap<String, u64>>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(column) = &self.column {
            for ord in column.term_ords(doc) {
                self.counts[ord as usize] += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut counts = BTreeMap::new();
        let Some(column) = self.column else {
            return Ok(counts);
        };
        for (ord, count) in self.counts.into_iter().enumerate() {
            if count > 0 {
                let mut category = String::new();
                column.ord_to_str(ord as u64, &mut category)?;
                counts.insert(category, count);
            }
        }
        Ok(counts)
    }
}

/// The text, HTML-escaped, with every word that matched a query word wrapped in `<em>`.
pub(super) fn highlight(text: &str, words: &[Word], stemmer: &mut TextAnalyzer) -> String {
    let mut spans = Vec::new();
    let mut stream = stemmer.token_stream(text);
    while let Some(token) = stream.next() {
        let plain = text[token.offset_from..token.offset_to].to_lowercase();
        if words.iter().any(|word| word.matches(&token.text, &plain)) {
            spans.push(token.offset_from..token.offset_to);
        }
    }
    highlight::mark(text, spans)
}

/// Damerau–Levenshtein distance (a transposition counts as one edit) of at most 1, as the
/// index's fuzzy query matches.
fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    match (a, b) {
        ([], []) | ([], [_]) | ([_], []) | ([_], [_]) => true,
        ([a0, a1], [b0, b1]) => a0 == b1 && a1 == b0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::TokenizerManager;

    use super::*;
    use crate::embedded::fields::STEMMED;

    fn stemmer() -> TextAnalyzer {
        TokenizerManager::default().get(STEMMED).unwrap()
    }

    #[test]
    fn one_edit_includes_transpositions() {
        assert!(within_one_edit("wireless", "wireless"));
        assert!(within_one_edit("wireless", "wireles"));
        assert!(within_one_edit("headphones", "headphnes"));
        assert!(within_one_edit("wireless", "wirelses"));
        assert!(within_one_edit("wireless", "wirelesz"));
        assert!(!within_one_edit("wireless", "wirles"));
        assert!(!within_one_edit("wireless", "wierlses"));
        assert!(!within_one_edit("abc", "cba"));
    }

    #[test]
    fn only_long_words_tolerate_typos_and_only_the_last_is_a_prefix() {
        let words = words("Wireless mug headphones", &mut stemmer());
        let shape: Vec<_> = words
            .iter()
            .map(|w| (w.plain.as_str(), w.typo_tolerant, w.prefix))
            .collect();
        assert_eq!(
            shape,
            [
                ("wireless", true, false),
                ("mug", false, false),
                ("headphones", true, true)
            ]
        );
        assert_eq!(words[2].stem, "headphon");
    }

    #[test]
    fn highlight_marks_stems_typos_and_prefixes_and_escapes_the_rest() {
        let words = words("headphnes mug charg", &mut stemmer());
        assert_eq!(
            highlight("Headphones <b>& Mugs</b> — charger, mugs, hug", &words, &mut stemmer()),
            "<em>Headphones</em> &lt;b&gt;&amp; <em>Mugs</em>&lt;/b&gt; — <em>charger</em>, \
             <em>mugs</em>, hug"
        );
    }
}
