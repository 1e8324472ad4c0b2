//! Every invalid field of a request in one answer. serde stops at the first value it refuses;
//! to find the others, that value is taken out of the document and the rest is tried again,
//! until what is left is accepted or misses only what was taken out.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::error::FieldError;

/// More than any request of the shop has fields, and a bound on the work a document full of
/// bad fields causes (each round deserializes what is left of it again).
const MAX_ROUNDS: usize = 32;

/// A request document whose values can be taken out one at a time.
pub(super) trait Document {
    type Error: std::fmt::Display;

    fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_path_to_error::Error<Self::Error>>;

    /// Takes out the value at `path`; false if there is none.
    fn take_out(&mut self, path: &[Segment]) -> bool;
}

/// What `T` refuses in `document`, each field once, in the order serde meets them; empty if
/// `T` accepts it.
pub(super) fn field_errors<T: DeserializeOwned>(mut document: impl Document) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut taken_out: Vec<String> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let Err(error) = document.deserialize::<T>() else {
            break;
        };
        let path: Vec<Segment> = error.path().iter().cloned().collect();
        let message = without_position(&error.inner().to_string());
        let field = super::field_name(&error.path().to_string(), &message);
        // A field reported missing because it was taken out was reported already.
        let missing_because_taken = message.starts_with("missing field `") && taken_out.contains(&field);
        if !missing_because_taken && !errors.iter().any(|known| known.field == field) {
            errors.push(FieldError {
                field,
                message: message.clone(),
            });
        }
        // serde checks for missing fields only after accepting every present one, so the
        // object that misses one can go as a whole. Inside an array, the whole array goes:
        // taking out one element would renumber the others.
        let out = match path.iter().position(|segment| matches!(segment, Segment::Seq { .. })) {
            Some(array) => &path[..array],
            None => &path[..],
        };
        if out.is_empty() || !document.take_out(out) {
            break;
        }
        taken_out.push(display(out));
    }
    errors
}

/// serde_json appends " at line 1 column 42"; the field path already says where.
pub(super) fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A path as serde_path_to_error writes it (`address.lines[0]`).
fn display(path: &[Segment]) -> String {
    let mut text = String::new();
    for segment in path {
        if !text.is_empty() && !matches!(segment, Segment::Seq { .. }) {
            text.push('.');
        }
        text.push_str(&segment.to_string());
    }
    text
}

/// A JSON body.
pub(super) struct JsonDocument(pub Value);

impl Document for JsonDocument {
    type Error = serde_json::Error;

    fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        serde_path_to_error::deserialize(&self.0)
    }

    fn take_out(&mut self, path: &[Segment]) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let mut value = &mut self.0;
        for segment in parents {
            let next = match (segment, value) {
                (Segment::Map { key } | Segment::Enum { variant: key }, Value::Object(object)) => object.get_mut(key),
                _ => None,
            };
            let Some(next) = next else {
                return false;
            };
            value = next;
        }
        match (last, value) {
            (Segment::Map { key } | Segment::Enum { variant: key }, Value::Object(object)) => {
                object.remove(key).is_some()
            }
            _ => false,
        }
    }
}

/// A query string's parameters.
pub(super) struct QueryDocument(pub Vec<(String, String)>);

impl QueryDocument {
    pub(super) fn parse(query: &str) -> Self {
        Self(form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }
}

impl Document for QueryDocument {
    type Error = serde_urlencoded::de::Error;

    fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_path_to_error::Error<Self::Error>> {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.0)
            .finish();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
    }

    fn take_out(&mut self, path: &[Segment]) -> bool {
        let [Segment::Map { key }] = path else {
            return false;
        };
        let before = self.0.len();
        self.0.retain(|(name, _)| name != key);
        self.0.len() < before
    }
}
