//! Marking matched words for display: HTML-escaped text with each match wrapped in `<em>`.

use std::ops::Range;

/// `text`, escaped, with the byte ranges `spans` (in order, not overlapping, on character
/// boundaries) wrapped in `<em>…</em>`. A span that breaks those rules is left unmarked.
pub fn mark(text: &str, spans: impl IntoIterator<Item = Range<usize>>) -> String {
    let mut marked = String::with_capacity(text.len() + 16);
    let mut written = 0;
    for span in spans {
        if span.start < written || text.get(span.clone()).is_none() {
            continue;
        }
        escape_into(&mut marked, &text[written..span.start]);
        marked.push_str("<em>");
        escape_into(&mut marked, &text[span.clone()]);
        marked.push_str("</em>");
        written = span.end;
    }
    escape_into(&mut marked, &text[written..]);
    marked
}

/// Widens a match that ends inside a word (a prefix match) to the end of that word.
pub fn to_word_end(text: &str, span: Range<usize>) -> Range<usize> {
    let Some(rest) = text.get(span.end..) else { return span };
    let word = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
    span.start..span.end + word
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_spans_and_escapes_everything() {
        assert_eq!(mark("a <b> & c", [0..1, 8..9]), "<em>a</em> &lt;b&gt; &amp; <em>c</em>");
        assert_eq!(mark("\"x\" y", []), "&quot;x&quot; y");
    }

    #[test]
    fn skips_spans_out_of_order_or_off_boundaries() {
        assert_eq!(mark("ab cd", [3..5, 0..2]), "ab <em>cd</em>");
        assert_eq!(mark("é", std::iter::once(1..2)), "é");
        assert_eq!(mark("ab", std::iter::once(0..9)), "ab");
    }

    #[test]
    fn widens_prefix_matches_to_the_word() {
        assert_eq!(to_word_end("Espresso maker", 0..4), 0..8);
        assert_eq!(to_word_end("mug", 0..3), 0..3);
        assert_eq!(to_word_end("ab", 5..6), 5..6);
    }
}
