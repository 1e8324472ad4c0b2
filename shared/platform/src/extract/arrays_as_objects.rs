//! serde lets a struct be written as the array of its fields' values, in order, so that
//! `["ada@example.com","secret"]` would pass for `{"email":…,"password":…}`, and
//! `{"address": ["Ada", "1 Main St", …]}` for an address. The body's schema knows where an
//! object is expected, at any depth (following `$ref`s into the components it names): an
//! array there is refused.

use std::collections::HashMap;

use serde_json::Value;
use utoipa::{
    ToSchema,
    openapi::{
        RefOr, Schema,
        schema::{ArrayItems, SchemaType, Type},
    },
};

/// The path (`body`, `address`, `items[2].product`) of the first array where `T`'s schema
/// has an object.
pub fn find<T: ToSchema>(document: &Value) -> Option<String> {
    let mut named = Vec::new();
    T::schemas(&mut named);
    let components: HashMap<String, RefOr<Schema>> = named.into_iter().collect();
    Walk { components }.array_for_object(&T::schema(), document, "")
}

struct Walk {
    components: HashMap<String, RefOr<Schema>>,
}

impl Walk {
    fn resolve<'a>(&'a self, mut schema: &'a RefOr<Schema>) -> Option<&'a Schema> {
        // A component may name another; a cycle of names alone would be a broken document.
        for _ in 0..8 {
            match schema {
                RefOr::T(schema) => return Some(schema),
                RefOr::Ref(reference) => {
                    let name = reference.ref_location.rsplit('/').next()?;
                    schema = self.components.get(name)?;
                }
            }
        }
        None
    }

    fn array_for_object(&self, schema: &RefOr<Schema>, value: &Value, path: &str) -> Option<String> {
        let here = || {
            if path.is_empty() {
                "body".to_owned()
            } else {
                path.to_owned()
            }
        };
        match (self.resolve(schema)?, value) {
            (Schema::Object(object), Value::Array(_)) if object.schema_type == SchemaType::Type(Type::Object) => {
                Some(here())
            }
            (Schema::Object(object), Value::Object(fields)) => fields.iter().find_map(|(name, value)| {
                let property = object.properties.get(name)?;
                let path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                self.array_for_object(property, value, &path)
            }),
            (Schema::Array(array), Value::Array(values)) => {
                let ArrayItems::RefOrSchema(items) = &array.items else {
                    return None;
                };
                values
                    .iter()
                    .enumerate()
                    .find_map(|(index, value)| self.array_for_object(items, value, &format!("{}[{index}]", here())))
            }
            (Schema::AllOf(all), _) => all
                .items
                .iter()
                .find_map(|part| self.array_for_object(part, value, path)),
            // `Option<Address>` is `oneOf: [null, Address]`: the array is refused when every
            // alternative that is not `null` refuses it.
            (Schema::OneOf(one), _) => self.refused_by_every(&one.items, value, path),
            (Schema::AnyOf(any), _) => self.refused_by_every(&any.items, value, path),
            _ => None,
        }
    }

    fn refused_by_every(&self, alternatives: &[RefOr<Schema>], value: &Value, path: &str) -> Option<String> {
        let is_null = |schema: &Schema| matches!(schema, Schema::Object(object) if object.schema_type == SchemaType::Type(Type::Null));
        let mut found = None;
        for alternative in alternatives {
            if self.resolve(alternative).is_some_and(is_null) {
                continue;
            }
            found = Some(self.array_for_object(alternative, value, path)?);
        }
        found
    }
}
