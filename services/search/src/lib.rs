//! The search service: a read replica of the catalog in a search index, built once from the
//! product service's data and kept current by product events. (Being built: the embedded
//! index comes first; the service around it follows.)

pub mod document;
pub mod embedded;
