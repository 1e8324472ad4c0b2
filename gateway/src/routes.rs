//! Which service owns which public path. `/internal/…` and anything else not listed is never
//! routed.

use crate::upstream::Pool;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    User,
    Product,
    Order,
    Search,
}

/// Public path prefixes and the service behind each.
pub const ROUTES: [(&str, Owner); 7] = [
    ("/api/users", Owner::User),
    ("/api/products", Owner::Product),
    ("/api/categories", Owner::Product),
    ("/api/cart", Owner::Order),
    ("/api/orders", Owner::Order),
    ("/api/admin/orders", Owner::Order),
    ("/api/search", Owner::Search),
];

/// The route a path falls under: its prefix and owner.
pub fn route(path: &str) -> Option<(&'static str, Owner)> {
    ROUTES.iter().copied().find(|(prefix, _)| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
    })
}

/// The name of the service that owns `path`; `None` for the gateway's own paths.
pub fn service_of(path: &str) -> Option<&'static str> {
    route(path).map(|(_, owner)| match owner {
        Owner::User => "user",
        Owner::Product => "product",
        Owner::Order => "order",
        Owner::Search => "search",
    })
}

/// The instances of every service.
pub struct Pools {
    pub user: Pool,
    pub product: Pool,
    pub order: Pool,
    pub search: Option<Pool>,
}

impl Pools {
    pub fn of(&self, owner: Owner) -> Option<&Pool> {
        match owner {
            Owner::User => Some(&self.user),
            Owner::Product => Some(&self.product),
            Owner::Order => Some(&self.order),
            Owner::Search => self.search.as_ref(),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &Pool> {
        [
            Some(&self.user),
            Some(&self.product),
            Some(&self.order),
            self.search.as_ref(),
        ]
        .into_iter()
        .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments_only() {
        assert_eq!(route("/api/products"), Some(("/api/products", Owner::Product)));
        assert_eq!(
            route("/api/products/123/price"),
            Some(("/api/products", Owner::Product))
        );
        assert_eq!(
            route("/api/categories/kitchen"),
            Some(("/api/categories", Owner::Product))
        );
        assert_eq!(route("/api/cart/items"), Some(("/api/cart", Owner::Order)));
        assert_eq!(route("/api/productsX"), None);
        assert_eq!(route("/internal/credentials/verify"), None);
        assert_eq!(route("/api/users/../internal"), Some(("/api/users", Owner::User)));
        assert_eq!(route("/"), None);
    }
}
