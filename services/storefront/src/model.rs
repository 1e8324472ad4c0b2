//! What the pages read from the public API: the fields they show, nothing more (unknown fields
//! are ignored, so the API can grow without breaking the shop). Money and addresses are the
//! shared contracts' types, as the services send them.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shop_contracts::{Address, Money};
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct SessionView {
    pub authenticated: bool,
}

#[derive(Debug, Deserialize)]
pub struct Category {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub product_count: i64,
}

#[derive(Debug, Deserialize)]
pub struct CategoryRef {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: CategoryRef,
    pub price: Money,
    pub available: i32,
}

#[derive(Debug, Deserialize)]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SearchResult {
    pub hits: Vec<Hit>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub facets: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
pub struct Hit {
    pub id: Uuid,
    pub sku: String,
    pub category: String,
    pub price: Money,
    pub in_stock: bool,
    /// The name with matches in `<em>`, everything else escaped by the search service.
    pub highlighted_name: String,
    pub highlighted_description: String,
}

#[derive(Debug, Deserialize)]
pub struct Cart {
    pub items: Vec<CartItem>,
    pub total: Option<Money>,
    pub item_count: u32,
}

#[derive(Debug, Deserialize)]
pub struct CartItem {
    pub product_id: Uuid,
    pub name: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
    pub available: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Cancelled,
    Rejected,
}

impl OrderStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Confirmed => "Confirmed",
            Self::Cancelled => "Cancelled",
            Self::Rejected => "Rejected",
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
        }
    }

    /// The saga has settled the order (only the customer's cancel can still change it).
    pub fn is_settled(self) -> bool {
        self != Self::Pending
    }

    /// The customer may still cancel (the order service has the last word).
    pub fn cancellable(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }
}

#[derive(Debug, Deserialize)]
pub struct OrderSummary {
    pub id: Uuid,
    pub status: OrderStatus,
    pub total: Money,
    pub item_count: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub struct OrderPage {
    pub items: Vec<OrderSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Order {
    pub id: Uuid,
    pub status: OrderStatus,
    pub total: Money,
    pub shipping_address: Address,
    pub items: Vec<OrderItem>,
    pub history: Vec<StatusChange>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub struct OrderItem {
    pub product_id: Uuid,
    pub name: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
}

#[derive(Debug, Deserialize)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// A saved address as the user service lists it: its id and the address itself, which
/// checkout takes as it is.
#[derive(Debug, Deserialize)]
pub struct SavedAddress {
    pub id: Uuid,
    #[serde(flatten)]
    pub address: Address,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub email: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}
