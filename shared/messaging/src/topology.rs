//! Names on the broker. Every subject and stream of one deployment lives under a namespace
//! (`shop` by default), so several systems — or several test runs — can share one NATS
//! server without seeing each other's events.

use std::time::Duration;

/// The bounded contexts that publish events; one stream each.
pub const CONTEXTS: [&str; 4] = ["user", "product", "inventory", "order"];

/// How long the broker remembers an event id to drop a re-published duplicate.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long streams keep events (replicas can be rebuilt from them within this time).
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace(String);

#[derive(Debug, thiserror::Error)]
#[error("namespace must be 1 to 64 lower-case letters, digits or underscores")]
pub struct InvalidNamespace;

impl Namespace {
    pub fn new(name: &str) -> Result<Self, InvalidNamespace> {
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(InvalidNamespace)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `shop.order.placed` for the event type `order.placed`.
    pub fn subject(&self, event_type: &str) -> String {
        format!("{}.{event_type}", self.0)
    }

    /// The event type of a subject in this namespace.
    pub fn event_type<'a>(&self, subject: &'a str) -> Option<&'a str> {
        subject.strip_prefix(self.0.as_str())?.strip_prefix('.')
    }

    /// `shop_order` for the context `order`.
    pub fn stream(&self, context: &str) -> String {
        format!("{}_{context}", self.0)
    }

    /// Everything a context's stream captures: `shop.order.>`.
    pub fn stream_subjects(&self, context: &str) -> String {
        format!("{}.{context}.>", self.0)
    }

    /// Where a consumer's poison messages go: `shop.dlq.<consumer>`.
    pub fn dead_letter_subject(&self, consumer: &str) -> String {
        format!("{}.dlq.{consumer}", self.0)
    }

    pub fn dead_letter_stream(&self) -> String {
        self.stream("dlq")
    }
}

impl std::str::FromStr for Namespace {
    type Err = InvalidNamespace;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl std::fmt::Display for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a NATS subject matches a filter with `*` (one token) and `>` (the rest) wildcards.
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in filter.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (expected, Some(actual)) if expected == actual => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_namespaced() {
        let ns = Namespace::new("shop").unwrap();
        assert_eq!(ns.subject("order.placed"), "shop.order.placed");
        assert_eq!(ns.event_type("shop.order.placed"), Some("order.placed"));
        assert_eq!(ns.event_type("other.order.placed"), None);
        assert_eq!(ns.stream("order"), "shop_order");
        assert_eq!(ns.stream_subjects("order"), "shop.order.>");
        assert_eq!(ns.dead_letter_subject("product-saga"), "shop.dlq.product-saga");
        assert!(Namespace::new("Shop").is_err());
        assert!(Namespace::new("a.b").is_err());
        assert!(Namespace::new("").is_err());
    }

    #[test]
    fn wildcards_match_like_nats() {
        assert!(subject_matches("shop.order.>", "shop.order.placed"));
        assert!(subject_matches("shop.order.>", "shop.order.a.b"));
        assert!(!subject_matches("shop.order.>", "shop.order"));
        assert!(subject_matches("shop.*.placed", "shop.order.placed"));
        assert!(!subject_matches("shop.*.placed", "shop.order.confirmed"));
        assert!(subject_matches("shop.order.placed", "shop.order.placed"));
        assert!(!subject_matches("shop.order.placed", "shop.order.placed.x"));
        assert!(!subject_matches("shop.order", "shop.order.placed"));
    }
}
