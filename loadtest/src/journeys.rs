//! The shoppers. Each journey is a short sequence of pages a real visitor would load, each
//! step depending on what the previous answer showed; steps follow one another without
//! think time, and a journey stops at its first failed step.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use clap::ValueEnum;
use rand::{Rng, rngs::SmallRng, seq::IndexedRandom};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    api::{Reply, Request, Session, Shop},
    catalog::{Catalog, ProductPage, with_typo},
    ledger::Ledger,
    stats::Context,
    users::{Account, Users},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Journey {
    /// Anonymous: home listing, a category page (sometimes the next page), a few products.
    Browse,
    /// Anonymous: a search built from catalog words (a quarter with a typo), often filtered
    /// by category, price or stock and sorted; sometimes page 2; then a product.
    Search,
    /// Signs in (or is still signed in), looks at the cart, adds one to three products,
    /// sometimes changes a quantity, checks out (one in ten with a declining card), looks at
    /// the order, leaves.
    Buy,
    /// A returning customer: signs in (or is still signed in), lists their orders, opens the
    /// latest, leaves.
    Orders,
    /// Signs in (or is still signed in), opens an order placed earlier in the run and cancels
    /// it if it was confirmed, leaves.
    Cancel,
    /// Anonymous, through the storefront's web pages instead of the API (see `pages`).
    Storefront,
}

impl Journey {
    pub fn name(self) -> &'static str {
        match self {
            Self::Browse => "browse",
            Self::Search => "search",
            Self::Buy => "buy",
            Self::Orders => "orders",
            Self::Cancel => "cancel",
            Self::Storefront => "storefront",
        }
    }
}

/// What every shopper shares.
pub struct World {
    pub shop: Arc<Shop>,
    pub catalog: Catalog,
    pub users: Users,
    pub ledger: Ledger,
    /// The share of signed-in journeys that end without signing out, so that the shopper's
    /// next journey continues the session instead of signing in again.
    pub session_reuse: f64,
}

/// Runs `journey` as one shopper who was due at `due`, and records it as a whole.
pub async fn run(world: Arc<World>, journey: Journey, phase: usize, due: Instant, rng: SmallRng) {
    let context = Context {
        phase,
        journey: journey.name(),
    };
    let mut shopper = Shopper {
        session: Session::recorded(world.shop.clone(), context, due),
        world: world.clone(),
        rng,
        account: None,
    };
    let result = match journey {
        Journey::Browse => shopper.browse().await,
        Journey::Search => shopper.search().await,
        Journey::Buy => shopper.buy().await,
        Journey::Orders => shopper.orders().await,
        Journey::Cancel => shopper.cancel().await,
        Journey::Storefront => crate::pages::storefront(&mut shopper.session, &world.catalog, &mut shopper.rng).await,
    };
    if let Some(account) = shopper.account.take() {
        world.users.give_back(account);
    }
    world
        .shop
        .recorder()
        .journey(journey.name(), due.elapsed(), result.is_err());
}

#[derive(Deserialize)]
struct Cart {
    item_count: u32,
}

#[derive(Deserialize)]
struct SearchPage {
    hits: Vec<Hit>,
    total: u64,
}

#[derive(Deserialize)]
struct Hit {
    id: Uuid,
}

#[derive(Deserialize)]
struct OrderPage {
    items: Vec<OrderSummary>,
}

#[derive(Deserialize)]
struct OrderSummary {
    id: Uuid,
}

#[derive(Deserialize)]
struct Order {
    id: Uuid,
    status: String,
}

/// The pauses before each retry of a checkout that got no answer (about 15 s in all: longer
/// than the faults loadtest/faults.sh causes last).
const CHECKOUT_RETRIES: [Duration; 4] = [
    Duration::from_millis(1000),
    Duration::from_millis(2000),
    Duration::from_millis(4000),
    Duration::from_millis(8000),
];

const SORTS: [&str; 4] = ["newest", "price_asc", "price_desc", "name"];
const SEARCH_SORTS: [&str; 4] = ["relevance", "price_asc", "price_desc", "newest"];

struct Shopper {
    session: Session,
    world: Arc<World>,
    rng: SmallRng,
    account: Option<Account>,
}

impl Shopper {
    fn chance(&mut self, probability: f64) -> bool {
        self.rng.random_bool(probability)
    }

    async fn view_product(&mut self, id: Uuid) -> anyhow::Result<()> {
        self.session
            .call(Request::get(
                "GET /api/products/{id}",
                "product",
                format!("/api/products/{id}"),
            ))
            .await?;
        Ok(())
    }

    async fn browse(&mut self) -> anyhow::Result<()> {
        self.session
            .call(Request::get("GET /api/products", "home", "/api/products?limit=20"))
            .await?;
        let category = self
            .world
            .catalog
            .categories
            .choose(&mut self.rng)
            .cloned()
            .unwrap_or_default();
        self.session
            .call(Request::get(
                "GET /api/categories/{slug}",
                "category",
                format!("/api/categories/{category}"),
            ))
            .await?;
        let sort = SORTS.choose(&mut self.rng).copied().unwrap_or("newest");
        let mut page: ProductPage = self
            .session
            .get(
                "GET /api/products",
                "category page",
                format!("/api/products?category={category}&sort={sort}&limit=20"),
            )
            .await?;
        if let Some(cursor) = page.next_cursor.clone().filter(|_| self.rng.random_bool(0.4)) {
            page = self
                .session
                .get(
                    "GET /api/products",
                    "next page",
                    format!("/api/products?cursor={cursor}"),
                )
                .await?;
        }
        let views = self.rng.random_range(1..=3);
        let picks: Vec<Uuid> = page.items.choose_multiple(&mut self.rng, views).map(|p| p.id).collect();
        for id in picks {
            self.view_product(id).await?;
        }
        Ok(())
    }

    fn search_query(&mut self) -> String {
        let catalog = &self.world.catalog;
        let words = self.rng.random_range(1..=2);
        let mut terms: Vec<String> = catalog.words.choose_multiple(&mut self.rng, words).cloned().collect();
        if self.rng.random_bool(0.25)
            && let Some(term) = terms.first_mut()
        {
            *term = with_typo(term, &mut self.rng);
        }
        let mut query = format!("q={}", terms.join("+"));
        if self.rng.random_bool(0.3)
            && let Some(category) = catalog.categories.choose(&mut self.rng)
        {
            query.push_str(&format!("&category={category}"));
        }
        if self.rng.random_bool(0.3) && !catalog.prices.is_empty() {
            let at = self.rng.random_range(catalog.prices.len() / 4..catalog.prices.len());
            query.push_str(&format!("&max_price={}", catalog.prices[at]));
        }
        if self.rng.random_bool(0.3) {
            query.push_str("&in_stock=true");
        }
        if self.rng.random_bool(0.4) {
            query.push_str(&format!(
                "&sort={}",
                SEARCH_SORTS.choose(&mut self.rng).unwrap_or(&"relevance")
            ));
        }
        query
    }

    async fn search(&mut self) -> anyhow::Result<()> {
        let query = self.search_query();
        let mut page: SearchPage = self
            .session
            .get("GET /api/search", "search", format!("/api/search?{query}&per_page=20"))
            .await?;
        if page.total > 20 && self.chance(0.3) {
            page = self
                .session
                .get(
                    "GET /api/search",
                    "search page 2",
                    format!("/api/search?{query}&per_page=20&page=2"),
                )
                .await?;
        }
        if let Some(hit) = page.hits.choose(&mut self.rng).map(|hit| hit.id) {
            self.view_product(hit).await?;
        }
        Ok(())
    }

    /// Takes an idle shopper (or signs a new one up) and continues the session they left
    /// signed in, or signs in.
    async fn sign_in(&mut self, with_orders: bool) -> anyhow::Result<()> {
        let mut account = match self.world.users.lease(with_orders) {
            Some(account) => account,
            None => self.world.users.sign_up(&mut self.session).await?,
        };
        let signed_in = match account.session.take() {
            Some(cookie) => {
                self.session.resume(cookie);
                Ok(())
            }
            None => self.session.sign_in("login", &account.email, account.password()).await,
        };
        self.account = Some(account);
        signed_in
    }

    /// Ends a signed-in journey: staying signed in (the share `session_reuse`) or signing out.
    async fn leave(&mut self) -> anyhow::Result<()> {
        if self.chance(self.world.session_reuse)
            && let Some(account) = &mut self.account
        {
            account.session = self.session.keep_signed_in();
            return Ok(());
        }
        self.session.sign_out("logout").await
    }

    async fn buy(&mut self) -> anyhow::Result<()> {
        self.sign_in(false).await?;
        let cart: Cart = self.session.get("GET /api/cart", "view cart", "/api/cart").await?;
        if cart.item_count > 0 {
            // Left over from an interrupted earlier run: start from an empty cart.
            self.session
                .call(Request::with_body(
                    Method::DELETE,
                    "DELETE /api/cart",
                    "empty cart",
                    "/api/cart",
                    json!({}),
                ))
                .await?;
        }
        let lines = self.rng.random_range(1..=3);
        let products: Vec<Uuid> = self
            .world
            .catalog
            .working_set
            .choose_multiple(&mut self.rng, lines)
            .map(|product| product.id)
            .collect();
        for product in &products {
            let quantity = self.rng.random_range(1..=2);
            self.session
                .call(Request::with_body(
                    Method::POST,
                    "POST /api/cart/items",
                    "add to cart",
                    "/api/cart/items",
                    json!({"product_id": product, "quantity": quantity}),
                ))
                .await?;
        }
        if self.chance(0.5)
            && let Some(product) = products.choose(&mut self.rng)
        {
            let quantity = self.rng.random_range(1..=3);
            self.session
                .call(Request::with_body(
                    Method::PATCH,
                    "PATCH /api/cart/items/{product_id}",
                    "change quantity",
                    format!("/api/cart/items/{product}"),
                    json!({"quantity": quantity}),
                ))
                .await?;
        }
        self.session
            .get::<Cart>("GET /api/cart", "review cart", "/api/cart")
            .await?;

        let token = if self.chance(0.1) { "tok_decline" } else { "tok_visa" };
        let checkout = Request::with_body(
            Method::POST,
            "POST /api/orders",
            "checkout",
            "/api/orders",
            json!({
                "shipping_address": {"recipient": "Load Test Shopper", "line1": "1 Load Street",
                                     "city": "Testville", "postal_code": "12345", "country": "US"},
                "payment_token": token,
            }),
        )
        .idempotency_key(Uuid::now_v7().to_string());
        let order: Order = self.check_out(checkout).await?.json()?;
        self.world.ledger.placed(order.id);
        if let Some(account) = &mut self.account {
            account.orders.push(order.id);
        }
        self.session
            .call(Request::get(
                "GET /api/orders/{id}",
                "order page",
                format!("/api/orders/{}", order.id),
            ))
            .await?;
        self.leave().await
    }

    /// Checks out as a shop's client should: a checkout that got no answer or a 5xx may
    /// have placed the order, so it is sent again with the same idempotency key (which
    /// answers with that order if it was placed) a few times, backing off. Still no
    /// answer: the run cannot account for an order that may exist.
    async fn check_out(&mut self, checkout: Request) -> anyhow::Result<Reply> {
        let mut attempt = 0;
        loop {
            let result = self.session.send(checkout.clone()).await;
            let answered = result.as_ref().is_ok_and(|reply| !reply.is_server_error());
            if answered || attempt == CHECKOUT_RETRIES.len() {
                if !answered {
                    self.world.ledger.unknown_checkout();
                }
                return result?.success();
            }
            tokio::time::sleep(CHECKOUT_RETRIES[attempt]).await;
            attempt += 1;
        }
    }

    async fn orders(&mut self) -> anyhow::Result<()> {
        self.sign_in(false).await?;
        let page: OrderPage = self
            .session
            .get("GET /api/orders", "my orders", "/api/orders?limit=10")
            .await?;
        if let Some(latest) = page.items.first() {
            self.session
                .call(Request::get(
                    "GET /api/orders/{id}",
                    "order page",
                    format!("/api/orders/{}", latest.id),
                ))
                .await?;
        }
        self.leave().await
    }

    /// Only a confirmed order is cancelled: this shopper is the only one who can change it
    /// then, so the cancellation cannot race the checkout saga (a pending order might be
    /// declined in between, and cancelling it would be a 409).
    async fn cancel(&mut self) -> anyhow::Result<()> {
        self.sign_in(true).await?;
        self.session
            .get::<OrderPage>("GET /api/orders", "my orders", "/api/orders?limit=10")
            .await?;
        let Some(id) = self
            .account
            .as_ref()
            .and_then(|account| account.orders.choose(&mut self.rng).copied())
        else {
            return self.leave().await;
        };
        let order: Order = self
            .session
            .get("GET /api/orders/{id}", "order page", format!("/api/orders/{id}"))
            .await?;
        if order.status != "pending"
            && let Some(account) = &mut self.account
        {
            account.orders.retain(|placed| *placed != order.id);
        }
        if order.status == "confirmed" {
            self.session
                .call(Request::with_body(
                    Method::POST,
                    "POST /api/orders/{id}/cancel",
                    "cancel",
                    format!("/api/orders/{id}/cancel"),
                    json!({}),
                ))
                .await?;
            self.world.ledger.cancelled(id);
        }
        self.leave().await
    }
}
