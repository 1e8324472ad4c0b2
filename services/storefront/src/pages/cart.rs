//! The cart and checkout. Checkout sends the order with an idempotency key the checkout page
//! was rendered with, so a double click, a resent form or a retry places one order.

use askama::Template;
use axum::{
    extract::Path,
    http::{Method, StatusCode},
};
use serde::{Deserialize, Serialize};
use shop_contracts::Address;
use uuid::Uuid;

use super::{FieldErrors, Layout, PageError, PageForm, PageResult, account::AddressForm, render_with, see_other};
use crate::{
    api::Shopper,
    model::{Cart, Order, SavedAddress},
    views::{self, MAX_QUANTITY},
};

/// The payment token the form suggests: approved, like any token but `tok_decline`.
const DEFAULT_PAYMENT_TOKEN: &str = "tok_visa";

pub struct Line {
    pub product_id: Uuid,
    pub href: String,
    pub name: String,
    pub unit_price: String,
    pub quantity: u32,
    pub line_total: String,
    pub available: bool,
}

fn lines(cart: &Cart) -> Vec<Line> {
    cart.items
        .iter()
        .map(|item| Line {
            product_id: item.product_id,
            href: views::product_path(item.product_id),
            name: item.name.clone(),
            unit_price: views::price(&item.unit_price),
            quantity: item.quantity,
            line_total: views::price(&item.line_total),
            available: item.available,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage {
    layout: Layout,
    lines: Vec<Line>,
    total: String,
    item_count: u32,
    max_quantity: u32,
    error: String,
}

async fn cart_page(shopper: &Shopper, status: StatusCode, error: String) -> PageResult {
    let (layout, cart) = tokio::join!(Layout::load(shopper, "Your cart"), shopper.get::<Cart>("/api/cart"));
    let cart = cart?;
    Ok(render_with(
        status,
        &CartPage {
            layout,
            lines: lines(&cart),
            total: cart.total.as_ref().map(views::price).unwrap_or_default(),
            item_count: cart.item_count,
            max_quantity: MAX_QUANTITY,
            error,
        },
    ))
}

pub async fn cart(shopper: Shopper) -> PageResult {
    cart_page(&shopper, StatusCode::OK, String::new()).await
}

#[derive(Debug, Deserialize, Serialize)]
pub struct AddForm {
    product_id: Uuid,
    quantity: u32,
}

pub async fn add(shopper: Shopper, PageForm(form): PageForm<AddForm>) -> PageResult {
    match shopper.send(Method::POST, "/api/cart/items", Some(&form)).await {
        Ok(()) => Ok(see_other(&format!("{}?added=1", views::product_path(form.product_id)))),
        Err(error) if matches!(error.status(), StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT) => {
            cart_page(&shopper, error.status(), cart_error(&error)).await
        }
        Err(error) => Err(error.into()),
    }
}

fn cart_error(error: &crate::api::CallError) -> String {
    match error.field_errors().first() {
        Some(field) => format!("That did not work: {}.", field.message),
        None => error.detail(),
    }
}

#[derive(Debug, Deserialize, Serialize)]
pub struct QuantityForm {
    quantity: u32,
}

pub async fn update(
    shopper: Shopper,
    Path(product_id): Path<Uuid>,
    PageForm(form): PageForm<QuantityForm>,
) -> PageResult {
    let path = format!("/api/cart/items/{product_id}");
    let outcome = if form.quantity == 0 {
        shopper.send(Method::DELETE, &path, None::<&()>).await
    } else {
        shopper.send(Method::PATCH, &path, Some(&form)).await
    };
    match outcome {
        Ok(()) => Ok(see_other("/cart")),
        Err(error) if matches!(error.status(), StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT) => {
            cart_page(&shopper, error.status(), cart_error(&error)).await
        }
        Err(error) if error.status() == StatusCode::NOT_FOUND => Ok(see_other("/cart")),
        Err(error) => Err(error.into()),
    }
}

pub async fn remove(shopper: Shopper, Path(product_id): Path<Uuid>) -> PageResult {
    match shopper
        .send(Method::DELETE, &format!("/api/cart/items/{product_id}"), None::<&()>)
        .await
    {
        Ok(()) => Ok(see_other("/cart")),
        Err(error) if error.status() == StatusCode::NOT_FOUND => Ok(see_other("/cart")),
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    idempotency_key: String,
    /// A saved address's id, or `new`.
    #[serde(default)]
    address: String,
    #[serde(flatten)]
    new_address: AddressForm,
    save_address: Option<String>,
    #[serde(default)]
    payment_token: String,
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    layout: Layout,
    lines: Vec<Line>,
    total: String,
    addresses: Vec<SavedAddress>,
    chosen: String,
    form: AddressForm,
    payment_token: String,
    idempotency_key: String,
    errors: FieldErrors,
}

async fn checkout_page(shopper: &Shopper, status: StatusCode, form: CheckoutForm, errors: FieldErrors) -> PageResult {
    let (layout, cart, addresses) = tokio::join!(
        Layout::load(shopper, "Checkout"),
        shopper.get::<Cart>("/api/cart"),
        shopper.get::<Vec<SavedAddress>>("/api/users/me/addresses"),
    );
    let cart = cart?;
    if cart.items.is_empty() {
        return Ok(see_other("/cart"));
    }
    let addresses = addresses?;
    let chosen = match form.address.as_str() {
        "" => addresses.first().map_or_else(|| "new".to_owned(), |a| a.id.to_string()),
        chosen => chosen.to_owned(),
    };
    Ok(render_with(
        status,
        &CheckoutPage {
            layout,
            lines: lines(&cart),
            total: cart.total.as_ref().map(views::price).unwrap_or_default(),
            addresses,
            chosen,
            form: form.new_address,
            payment_token: if form.payment_token.is_empty() {
                DEFAULT_PAYMENT_TOKEN.to_owned()
            } else {
                form.payment_token
            },
            idempotency_key: if form.idempotency_key.is_empty() {
                Uuid::now_v7().to_string()
            } else {
                form.idempotency_key
            },
            errors,
        },
    ))
}

pub async fn checkout_form(shopper: Shopper) -> PageResult {
    checkout_page(
        &shopper,
        StatusCode::OK,
        CheckoutForm::default(),
        FieldErrors::default(),
    )
    .await
}

/// Saves the address an order was placed with, as checkout took it, unless it is saved
/// already (a re-sent form). The order is placed either way; a failed save only means typing
/// it again next time.
async fn save_address(shopper: &Shopper, shipped_to: &Address) {
    let saved: Vec<SavedAddress> = shopper.get("/api/users/me/addresses").await.unwrap_or_default();
    if saved.iter().any(|saved| saved.address == *shipped_to) {
        return;
    }
    if let Err(error) = shopper
        .send(Method::POST, "/api/users/me/addresses", Some(shipped_to))
        .await
    {
        tracing::info!(error = error.detail(), "the checkout's address was not saved");
    }
}

#[derive(Serialize)]
struct CheckoutRequest<'a> {
    shipping_address: ShipTo<'a>,
    payment_token: &'a str,
}

/// A saved address as the user service lists it, or a new one as it was typed.
#[derive(Serialize)]
#[serde(untagged)]
enum ShipTo<'a> {
    Saved(&'a Address),
    Typed(&'a AddressForm),
}

pub async fn checkout(shopper: Shopper, PageForm(mut form): PageForm<CheckoutForm>) -> PageResult {
    if form.idempotency_key.is_empty() {
        return Err(PageError::BadRequest(
            "The checkout form was incomplete; open the checkout page again.".into(),
        ));
    }
    form.new_address.tidy();
    let saved: Vec<SavedAddress>;
    let shipping_address = if form.address == "new" || form.address.is_empty() {
        ShipTo::Typed(&form.new_address)
    } else {
        saved = shopper.get("/api/users/me/addresses").await?;
        match saved.iter().find(|a| a.id.to_string() == form.address) {
            Some(chosen) => ShipTo::Saved(&chosen.address),
            None => {
                let errors = FieldErrors::one("address", "That address is no longer saved; choose another.");
                return checkout_page(&shopper, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await;
            }
        }
    };
    let request = CheckoutRequest {
        shipping_address,
        payment_token: form.payment_token.trim(),
    };
    let key = [("idempotency-key", form.idempotency_key.clone())];
    let order = shopper
        .call::<Order>(Method::POST, "/api/orders", Some(&request), &key)
        .await;
    match order {
        Ok(order) => {
            if form.save_address.is_some() && form.address == "new" {
                save_address(&shopper, &order.shipping_address).await;
            }
            Ok(see_other(&format!("/orders/{}", order.id)))
        }
        Err(error) if matches!(error.status(), StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT) => {
            let mut errors = FieldErrors::from_api(&error);
            if errors.is_empty() {
                errors = FieldErrors::one("cart", error.detail());
            }
            checkout_page(&shopper, error.status(), form, errors).await
        }
        Err(error) => Err(error.into()),
    }
}
