//! The shopper's orders: the list, and an order's page whose status block follows the saga
//! live (the script polls `/orders/{id}/status` until the order is settled).

use askama::Template;
use axum::{
    extract::{Path, Query},
    http::{Method, StatusCode},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{Layout, PageError, PageResult, catalog::not_found, render, see_other};
use crate::{
    api::Shopper,
    model::{Order, OrderPage, OrderStatus, StatusChange},
    views,
};

const PER_PAGE: u32 = 20;

pub struct Row {
    pub href: String,
    pub number: String,
    pub placed: String,
    pub status: OrderStatus,
    pub item_count: i64,
    pub total: String,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    layout: Layout,
    rows: Vec<Row>,
    next_page: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OrdersQuery {
    cursor: Option<String>,
}

/// Short enough to read out on the phone, long enough to tell orders apart.
fn number(id: Uuid) -> String {
    id.simple().to_string()[20..].to_ascii_uppercase()
}

fn when(time: &chrono::DateTime<chrono::Utc>) -> String {
    time.format("%d %b %Y, %H:%M:%S UTC").to_string()
}

pub async fn list(shopper: Shopper, Query(query): Query<OrdersQuery>) -> PageResult {
    let cursor = query.cursor.unwrap_or_default();
    let api_path = views::with_query("/api/orders", &[("limit", &PER_PAGE.to_string()), ("cursor", &cursor)]);
    let (layout, page) = tokio::join!(
        Layout::load(&shopper, "Your orders"),
        shopper.get::<OrderPage>(&api_path)
    );
    let page = page.map_err(|error| match error.status() {
        StatusCode::UNPROCESSABLE_ENTITY => PageError::BadRequest("That page of orders does not exist.".into()),
        _ => error.into(),
    })?;
    Ok(render(&OrdersPage {
        layout,
        rows: page
            .items
            .iter()
            .map(|order| Row {
                href: format!("/orders/{}", order.id),
                number: number(order.id),
                placed: when(&order.created_at),
                status: order.status,
                item_count: order.item_count,
                total: views::price(&order.total),
            })
            .collect(),
        next_page: page
            .next_cursor
            .map(|cursor| views::with_query("/orders", &[("cursor", &cursor)])),
    }))
}

pub struct HistoryEntry {
    pub status: OrderStatus,
    pub reason: String,
    pub at: String,
}

/// The part of the order page that changes while the saga runs.
#[derive(Template)]
#[template(path = "order_status.html")]
struct StatusBlock {
    id: Uuid,
    status: OrderStatus,
    history: Vec<HistoryEntry>,
}

impl StatusBlock {
    fn of(order: &Order) -> Self {
        Self {
            id: order.id,
            status: order.status,
            history: order.history.iter().map(entry).collect(),
        }
    }

    fn explanation(&self) -> &'static str {
        match self.status {
            OrderStatus::Pending => "We are reserving the stock and taking the payment. This page updates by itself.",
            OrderStatus::Confirmed => "The stock is reserved and the payment went through.",
            OrderStatus::Cancelled => {
                "This order was cancelled; nothing was charged and the stock is back on the shelf."
            }
            OrderStatus::Rejected => "This order could not be placed: some of it is no longer in stock.",
        }
    }
}

fn entry(change: &StatusChange) -> HistoryEntry {
    HistoryEntry {
        status: change.status,
        reason: change.reason.clone().unwrap_or_default(),
        at: when(&change.occurred_at),
    }
}

pub struct ItemRow {
    pub href: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: String,
    pub line_total: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderDetailPage {
    layout: Layout,
    number: String,
    placed: String,
    total: String,
    order: Order,
    items: Vec<ItemRow>,
    status: String,
    pending: bool,
}

async fn fetch(shopper: &Shopper, id: &str) -> Result<Order, PageError> {
    let id: Uuid = id.parse().map_err(|_| PageError::NotFound("order"))?;
    shopper
        .get::<Order>(&format!("/api/orders/{id}"))
        .await
        .map_err(not_found("order"))
}

pub async fn detail(shopper: Shopper, Path(id): Path<String>) -> PageResult {
    let (layout, order) = tokio::join!(Layout::load(&shopper, "Order"), fetch(&shopper, &id));
    let order = order?;
    let status = StatusBlock::of(&order).render().map_err(|e| {
        tracing::error!(error = %e, "the status block failed to render");
        PageError::Unavailable("The order cannot be shown right now.")
    })?;
    Ok(render(&OrderDetailPage {
        layout: Layout {
            title: format!("Order {}", number(order.id)),
            ..layout
        },
        number: number(order.id),
        placed: when(&order.created_at),
        total: views::price(&order.total),
        items: order
            .items
            .iter()
            .map(|item| ItemRow {
                href: views::product_path(item.product_id),
                name: item.name.clone(),
                quantity: item.quantity,
                unit_price: views::price(&item.unit_price),
                line_total: views::price(&item.line_total),
            })
            .collect(),
        pending: order.status == OrderStatus::Pending,
        status,
        order,
    }))
}

/// `GET /orders/{id}/status`: the status block alone, for the page's script.
pub async fn status(shopper: Shopper, Path(id): Path<String>) -> PageResult {
    let order = fetch(&shopper, &id).await?;
    Ok(render(&StatusBlock::of(&order)))
}

pub async fn cancel(shopper: Shopper, Path(id): Path<String>) -> PageResult {
    let order = fetch(&shopper, &id).await?;
    match shopper
        .send(Method::POST, &format!("/api/orders/{}/cancel", order.id), None::<&()>)
        .await
    {
        // A conflict is an order that settled meanwhile: its page says what it is now.
        Ok(()) => Ok(see_other(&format!("/orders/{}", order.id))),
        Err(error) if error.status() == StatusCode::CONFLICT => Ok(see_other(&format!("/orders/{}", order.id))),
        Err(error) => Err(error.into()),
    }
}
