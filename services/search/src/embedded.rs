//! The embedded search index (tantivy).
