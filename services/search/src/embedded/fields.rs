//! The index schema: which product fields are searched, filtered, sorted on and stored, and how.

use anyhow::Context;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{TantivyDocument, Term};
use uuid::Uuid;

use crate::document::ProductDocument;

/// Stems English words, so "headphones" and "headphone" score as the same word.
pub(super) const STEMMED: &str = "en_stem";
/// Lowercased words as written; typo and prefix matching run on these, since a stem is not
/// something a user types.
pub(super) const WORDS: &str = "default";

pub(super) const VERSION: &str = "version";
pub(super) const PRICE: &str = "price";
pub(super) const CREATED_AT: &str = "created_at";
pub(super) const CATEGORY: &str = "category";

pub(super) struct Fields {
    pub id: Field,
    /// false for a tombstone: the id and version of a removed product, kept so an older upsert
    /// that arrives late cannot bring it back.
    pub live: Field,
    pub version: Field,
    pub name: Field,
    pub description: Field,
    pub name_words: Field,
    pub description_words: Field,
    pub category: Field,
    pub price: Field,
    pub in_stock: Field,
    pub created_at: Field,
    /// The whole product as JSON, returned in hits.
    pub document: Field,
}

impl Fields {
    pub fn schema() -> Schema {
        let text = |tokenizer, record| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(record),
            )
        };
        let mut builder = Schema::builder();
        builder.add_text_field("id", STRING | STORED);
        builder.add_bool_field("live", INDEXED);
        builder.add_i64_field(VERSION, FAST | STORED);
        builder.add_text_field("name", text(STEMMED, IndexRecordOption::WithFreqsAndPositions));
        builder.add_text_field("description", text(STEMMED, IndexRecordOption::WithFreqsAndPositions));
        // Typo matches score a constant, so frequencies are not needed.
        builder.add_text_field("name_words", text(WORDS, IndexRecordOption::Basic));
        builder.add_text_field("description_words", text(WORDS, IndexRecordOption::Basic));
        builder.add_text_field(CATEGORY, STRING | FAST);
        builder.add_i64_field(PRICE, INDEXED | FAST);
        builder.add_bool_field("in_stock", INDEXED);
        builder.add_i64_field(CREATED_AT, FAST);
        builder.add_text_field("document", STORED);
        builder.build()
    }

    pub fn of(schema: &Schema) -> anyhow::Result<Self> {
        let field = |name| {
            schema
                .get_field(name)
                .with_context(|| format!("search index lacks field {name}"))
        };
        Ok(Self {
            id: field("id")?,
            live: field("live")?,
            version: field(VERSION)?,
            name: field("name")?,
            description: field("description")?,
            name_words: field("name_words")?,
            description_words: field("description_words")?,
            category: field(CATEGORY)?,
            price: field(PRICE)?,
            in_stock: field("in_stock")?,
            created_at: field(CREATED_AT)?,
            document: field("document")?,
        })
    }

    pub fn id_term(&self, id: Uuid) -> Term {
        Term::from_field_text(self.id, &id.to_string())
    }

    pub fn product(&self, product: &ProductDocument) -> anyhow::Result<TantivyDocument> {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.id, product.id.to_string());
        doc.add_bool(self.live, true);
        doc.add_i64(self.version, product.version);
        doc.add_text(self.name, &product.name);
        doc.add_text(self.description, &product.description);
        doc.add_text(self.name_words, &product.name);
        doc.add_text(self.description_words, &product.description);
        doc.add_text(self.category, &product.category);
        doc.add_i64(self.price, product.price_minor);
        doc.add_bool(self.in_stock, product.in_stock);
        doc.add_i64(self.created_at, product.created_at.timestamp_micros());
        doc.add_text(self.document, serde_json::to_string(product)?);
        Ok(doc)
    }

    pub fn tombstone(&self, id: Uuid, version: i64) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.id, id.to_string());
        doc.add_bool(self.live, false);
        doc.add_i64(self.version, version);
        doc
    }

    pub fn read_product(&self, doc: &TantivyDocument) -> anyhow::Result<ProductDocument> {
        let json = doc
            .get_first(self.document)
            .and_then(|value| value.as_str())
            .context("indexed product has no stored document")?;
        Ok(serde_json::from_str(json)?)
    }

    /// The id and version of a stored tombstone.
    pub fn read_tombstone(&self, doc: &TantivyDocument) -> anyhow::Result<(Uuid, i64)> {
        let id = doc
            .get_first(self.id)
            .and_then(|value| value.as_str())
            .context("tombstone has no id")?;
        let version = doc
            .get_first(self.version)
            .and_then(|value| value.as_i64())
            .context("tombstone has no version")?;
        Ok((id.parse()?, version))
    }
}
