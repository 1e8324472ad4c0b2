//! "About this system": which evolution stage is running, which services answered this very
//! page, and where to read more.

use askama::Template;
use axum::extract::State;

use super::{Layout, PageResult, render};
use crate::{Storefront, api::Shopper, model::Category};

#[derive(Template)]
#[template(path = "about.html")]
struct AboutPage {
    layout: Layout,
    stage: String,
    category_count: usize,
}

pub async fn about(State(state): State<Storefront>, shopper: Shopper) -> PageResult {
    let (layout, categories) = tokio::join!(
        Layout::load(&shopper, "About this system"),
        shopper.get::<Vec<Category>>("/api/categories"),
    );
    Ok(render(&AboutPage {
        layout,
        stage: state.stage.to_string(),
        category_count: categories?.len(),
    }))
}
