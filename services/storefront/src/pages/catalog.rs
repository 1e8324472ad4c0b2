//! Browsing: the home page, category pages with sorting and paging, and the product page.

use askama::Template;
use axum::extract::{Path, Query};
use serde::Deserialize;
use uuid::Uuid;

use super::{Layout, PageError, PageResult, render};
use crate::{
    api::{CallError, Shopper},
    model::{Category, Product, ProductPage},
    views::{self, Availability, Tile},
};

const PER_PAGE: u32 = 24;
const FEATURED: u32 = 10;

/// The catalog's sort orders, as the product API names them, with their labels.
pub const SORTS: [(&str, &str); 4] = [
    ("newest", "Newest"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("name", "Name"),
];

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    categories: Vec<Category>,
    tiles: Vec<Tile>,
}

pub async fn home(shopper: Shopper) -> PageResult {
    let newest_path = format!("/api/products?sort=newest&limit={FEATURED}");
    let (layout, categories, newest) = tokio::join!(
        Layout::load(&shopper, "Shop"),
        shopper.get::<Vec<Category>>("/api/categories"),
        shopper.get::<ProductPage>(&newest_path),
    );
    Ok(render(&HomePage {
        layout,
        categories: categories?,
        tiles: newest?.items.iter().map(Tile::of).collect(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct CategoryQuery {
    sort: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "category.html")]
struct CategoryPage {
    layout: Layout,
    category: Category,
    sorts: Vec<views::Choice>,
    tiles: Vec<Tile>,
    next_page: Option<String>,
    first_page: Option<String>,
}

pub async fn category(shopper: Shopper, Path(slug): Path<String>, Query(query): Query<CategoryQuery>) -> PageResult {
    if slug.is_empty()
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(PageError::NotFound("category"));
    }
    let sort = SORTS
        .iter()
        .map(|(key, _)| *key)
        .find(|key| Some(*key) == query.sort.as_deref())
        .unwrap_or("newest");
    let cursor = query.cursor.unwrap_or_default();
    let api_path = views::with_query(
        "/api/products",
        &[
            ("category", &slug),
            ("sort", sort),
            ("limit", &PER_PAGE.to_string()),
            ("cursor", &cursor),
        ],
    );
    let category_path = format!("/api/categories/{slug}");
    let (layout, category, products) = tokio::join!(
        Layout::load(&shopper, "Category"),
        shopper.get::<Category>(&category_path),
        shopper.get::<ProductPage>(&api_path),
    );
    let category = category.map_err(not_found("category"))?;
    let products = products?;
    let here = format!("/categories/{}", category.slug);
    Ok(render(&CategoryPage {
        layout: Layout {
            title: category.name.clone(),
            ..layout
        },
        sorts: views::choices(&SORTS, sort),
        tiles: products.items.iter().map(Tile::of).collect(),
        next_page: products
            .next_cursor
            .map(|cursor| views::with_query(&here, &[("sort", sort), ("cursor", &cursor)])),
        first_page: (!cursor.is_empty()).then(|| views::with_query(&here, &[("sort", sort)])),
        category,
    }))
}

/// A 404 from the API is this page's 404; anything else stays what it was.
pub fn not_found(what: &'static str) -> impl Fn(CallError) -> PageError {
    move |error| match error.status() {
        axum::http::StatusCode::NOT_FOUND | axum::http::StatusCode::UNPROCESSABLE_ENTITY => PageError::NotFound(what),
        _ => PageError::Api(error),
    }
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPageView {
    layout: Layout,
    product: Product,
    price: String,
    image: String,
    stock: Availability,
    max_quantity: u32,
    added: bool,
}

#[derive(Debug, Deserialize)]
pub struct ProductQuery {
    added: Option<String>,
}

pub async fn product(shopper: Shopper, Path(id): Path<String>, Query(query): Query<ProductQuery>) -> PageResult {
    let id: Uuid = id.parse().map_err(|_| PageError::NotFound("product"))?;
    let product_path = format!("/api/products/{id}");
    let (layout, product) = tokio::join!(Layout::load(&shopper, "Product"), shopper.get::<Product>(&product_path),);
    let product = product.map_err(not_found("product"))?;
    let stock = Availability::of(product.available);
    Ok(render(&ProductPageView {
        layout: Layout {
            title: product.name.clone(),
            ..layout
        },
        price: views::price(&product.price),
        image: views::image_path(&product.category.slug, &product.sku),
        max_quantity: u32::try_from(product.available)
            .unwrap_or(0)
            .clamp(1, views::MAX_QUANTITY),
        added: query.added.is_some(),
        stock,
        product,
    }))
}
