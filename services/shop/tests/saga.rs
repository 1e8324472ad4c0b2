//! The checkout saga end to end: the real product and order services, each on its own
//! database, talking through the real NATS JetStream (and, for comparison, the in-process bus).
//! Every test ends by checking the stock invariant and that no order is left pending.

use std::time::Duration;

use order_service::shards::Shards;
use serde_json::{Value, json};
use shop_messaging::{EventBus, Namespace, in_process::InProcessBus, jetstream::JetStreamBus, runtime::Messaging};
use shop_testkit::{Actor, OwnServer, TempDir, TestApp, TestBus, TestDatabase, eventually, free_port};
use sqlx::PgPool;
use uuid::Uuid;

const PENDING_TIMEOUT: Duration = Duration::from_secs(300);

struct Service {
    app: TestApp,
    db: PgPool,
    _database: TestDatabase,
}

/// The order service over one database or several (its shards).
struct OrderService {
    app: TestApp,
    /// Shard 0: the only one, unsharded.
    db: PgPool,
    shards: Shards,
    _databases: Vec<TestDatabase>,
}

/// The product and order services, and their messaging on `bus`.
struct System<B: EventBus> {
    product: Service,
    order: OrderService,
    bus: B,
    namespace: Namespace,
    messaging: Vec<Messaging<B>>,
}

impl<B: EventBus> System<B> {
    async fn start(bus: B, namespace: Namespace) -> Self {
        Self::sharded(bus, namespace, 1).await
    }

    /// The system with the order service's carts and orders split over `shards` databases.
    async fn sharded(bus: B, namespace: Namespace, shards: usize) -> Self {
        let (product_db, product_database) = TestDatabase::migrated("saga_products", &product_service::MIGRATOR).await;
        let mut order_dbs = Vec::new();
        let mut order_databases = Vec::new();
        for _ in 0..shards {
            let (db, database) = TestDatabase::migrated("saga_orders", &order_service::MIGRATOR).await;
            order_dbs.push(db);
            order_databases.push(database);
        }
        let key = shop_testkit::identity_key();
        let product = Service {
            app: TestApp::spawn(product_service::app(product_db.clone().into(), key.clone())).await,
            db: product_db,
            _database: product_database,
        };
        let order_shards = Shards::over(order_dbs.clone());
        let order = OrderService {
            app: TestApp::spawn(order_service::sharded_app(order_shards.clone(), key)).await,
            db: order_dbs[0].clone(),
            shards: order_shards,
            _databases: order_databases,
        };
        let mut system = Self {
            product,
            order,
            bus,
            namespace,
            messaging: Vec::new(),
        };
        system.start_product_messaging();
        system.start_order_messaging();
        system
    }

    fn start_product_messaging(&mut self) {
        let messaging = product_service::messaging(self.bus.clone(), self.product.db.clone(), self.namespace.clone());
        self.messaging.push(messaging);
    }

    fn start_order_messaging(&mut self) {
        let messaging = order_service::messaging(
            self.bus.clone(),
            &self.order.shards,
            self.namespace.clone(),
            PENDING_TIMEOUT,
        );
        self.messaging.push(messaging);
    }

    async fn stop(self) {
        for messaging in self.messaging {
            messaging.stop().await;
        }
    }

    /// A product with `stock` units, known to the order service's replica when this returns.
    async fn product(&self, stock: u32) -> Uuid {
        let admin = Actor::admin(Uuid::now_v7());
        let category = json!({"slug": "saga", "name": "Saga"});
        let created = self.product.app.post("/api/categories", &admin, category).await;
        assert!(created.status.is_success() || created.status == 409);
        let sku = format!("SAGA-{}", &Uuid::now_v7().simple().to_string()[24..]);
        let body = json!({"sku": sku, "name": format!("Widget {sku}"), "category": "saga",
                          "price": {"amount_minor": 250, "currency": "USD"}, "initial_stock": stock});
        let product = self.product.app.post("/api/products", &admin, body).await.expect(201);
        let id: Uuid = product["id"].as_str().unwrap().parse().unwrap();
        for shard in self.order.shards.iter() {
            eventually("every order shard's replica has the product", async || {
                sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM product_replica WHERE product_id = $1)")
                    .bind(id)
                    .fetch_one(&shard.db)
                    .await
                    .unwrap()
            })
            .await;
        }
        id
    }

    /// `customer` puts `quantity` of `product` in the cart and checks out; returns the order id.
    async fn checkout(&self, customer: &Actor, product: Uuid, quantity: u32, payment_token: &str) -> Uuid {
        let item = json!({"product_id": product, "quantity": quantity});
        self.order.app.post("/api/cart/items", customer, item).await.expect(200);
        let body = json!({
            "shipping_address": {"recipient": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
                                 "postal_code": "SW1Y 4JH", "country": "GB"},
            "payment_token": payment_token,
        });
        let response = self
            .order
            .app
            .send_with_headers(
                shop_testkit::Method::POST,
                "/api/orders",
                customer,
                Some(body),
                &[("Idempotency-Key", &Uuid::now_v7().to_string())],
            )
            .await;
        response.expect(201)["id"].as_str().unwrap().parse().unwrap()
    }

    async fn order(&self, customer: &Actor, id: Uuid) -> Value {
        self.order
            .app
            .get(&format!("/api/orders/{id}"), customer)
            .await
            .expect(200)
    }

    /// Waits until the order leaves `pending`; returns it.
    async fn settled(&self, customer: &Actor, id: Uuid) -> Value {
        let mut order = Value::Null;
        eventually("the order leaves pending", async || {
            order = self.order(customer, id).await;
            order["status"] != "pending"
        })
        .await;
        order
    }

    /// (on_hand, reserved, sold)
    async fn stock(&self, product: Uuid) -> (i32, i32, i32) {
        sqlx::query_as("SELECT on_hand, reserved, sold FROM inventory WHERE product_id = $1")
            .bind(product)
            .fetch_one(&self.product.db)
            .await
            .unwrap()
    }

    /// The status of the product service's reservation for `order`, once it has one.
    async fn reservation(&self, order: Uuid) -> Option<String> {
        sqlx::query_scalar("SELECT status FROM reservations WHERE order_id = $1")
            .bind(order)
            .fetch_optional(&self.product.db)
            .await
            .unwrap()
    }

    /// How many orders each order shard holds, shard 0 first.
    async fn orders_per_shard(&self) -> Vec<i64> {
        let mut counts = Vec::new();
        for shard in self.order.shards.iter() {
            let count = sqlx::query_scalar("SELECT count(*) FROM orders")
                .fetch_one(&shard.db)
                .await
                .unwrap();
            counts.push(count);
        }
        counts
    }

    /// initial = available + reserved + sold for every product, nothing reserved once every
    /// saga has finished, and no order left pending on any shard.
    async fn assert_consistent(&self) {
        let mut confirmed = 0;
        for shard in self.order.shards.iter() {
            let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'pending'")
                .fetch_one(&shard.db)
                .await
                .unwrap();
            assert_eq!(pending, 0, "orders left pending on shard {}", shard.id.index);
            let units: i64 = sqlx::query_scalar(
                "SELECT COALESCE(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
                 WHERE o.status = 'confirmed'",
            )
            .fetch_one(&shard.db)
            .await
            .unwrap();
            confirmed += units;
        }
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations WHERE status = 'held'")
            .fetch_one(&self.product.db)
            .await
            .unwrap();
        assert_eq!(held, 0, "reservations still held");
        let reserved: i64 = sqlx::query_scalar("SELECT COALESCE(sum(reserved), 0) FROM inventory")
            .fetch_one(&self.product.db)
            .await
            .unwrap();
        assert_eq!(reserved, 0);
        // Every confirmed order line is sold stock, and nothing else is.
        let sold: i64 = sqlx::query_scalar("SELECT COALESCE(sum(sold), 0) FROM inventory")
            .fetch_one(&self.product.db)
            .await
            .unwrap();
        assert_eq!(sold, confirmed, "sold stock matches confirmed orders");
    }
}

fn statuses(order: &Value) -> Vec<&str> {
    order["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect()
}

async fn happy_path_and_compensations<B: EventBus>(bus: B, namespace: Namespace) {
    let system = System::start(bus, namespace).await;
    let product = system.product(5).await;
    let ada = Actor::customer(Uuid::now_v7());

    // Confirmed: reserved, paid, then sold.
    let confirmed = system.checkout(&ada, product, 2, "tok_visa").await;
    let order = system.settled(&ada, confirmed).await;
    assert_eq!(order["status"], "confirmed");
    assert_eq!(statuses(&order), ["pending", "confirmed"]);
    eventually("the sale is committed", async || {
        system.stock(product).await == (3, 0, 2)
    })
    .await;

    // Declined payment: the reservation is released.
    let declined = system.checkout(&ada, product, 1, "tok_decline").await;
    let order = system.settled(&ada, declined).await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["history"][1]["reason"], "payment_declined");
    eventually("the declined order's reservation is released", async || {
        system.reservation(declined).await.as_deref() == Some("released")
    })
    .await;
    assert_eq!(system.stock(product).await, (3, 0, 2));

    // Out of stock: rejected, nothing reserved.
    let rejected = system.checkout(&ada, product, 4, "tok_visa").await;
    let order = system.settled(&ada, rejected).await;
    assert_eq!(order["status"], "rejected");
    assert_eq!(system.stock(product).await, (3, 0, 2));

    // The customer cancels a confirmed order: the sold stock comes back.
    system
        .order
        .app
        .post(&format!("/api/orders/{confirmed}/cancel"), &ada, json!({}))
        .await
        .expect(200);
    eventually("the sold stock returns", async || {
        system.stock(product).await == (5, 0, 0)
    })
    .await;
    assert_eq!(
        statuses(&system.order(&ada, confirmed).await),
        ["pending", "confirmed", "cancelled"]
    );

    system.assert_consistent().await;
    system.stop().await;
}

#[tokio::test]
async fn confirmed_declined_rejected_and_cancelled_orders_on_jetstream() {
    let test_bus = TestBus::jetstream().await;
    happy_path_and_compensations(test_bus.bus.clone(), test_bus.namespace.clone()).await;
}

#[tokio::test]
async fn confirmed_declined_rejected_and_cancelled_orders_in_process() {
    happy_path_and_compensations(InProcessBus::new(), Namespace::new("test").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_checkouts_for_ten_units_confirm_exactly_ten() {
    a_hundred_checkouts_for_ten_units(1).await;
}

/// The same over two order shards: each settles its own customers' orders from the one stream
/// of inventory answers, and the product service sells the ten units exactly once overall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_checkouts_over_two_order_shards_confirm_exactly_ten() {
    a_hundred_checkouts_for_ten_units(2).await;
}

async fn a_hundred_checkouts_for_ten_units(shards: usize) {
    let test_bus = TestBus::jetstream().await;
    let system = System::sharded(test_bus.bus.clone(), test_bus.namespace.clone(), shards).await;
    let product = system.product(10).await;

    let checkouts = (0..100).map(|_| async {
        let customer = Actor::customer(Uuid::now_v7());
        let id = system.checkout(&customer, product, 1, "tok_visa").await;
        system.settled(&customer, id).await["status"]
            .as_str()
            .unwrap()
            .to_owned()
    });
    let mut outcomes = std::collections::HashMap::<String, usize>::new();
    for status in futures_util::future::join_all(checkouts).await {
        *outcomes.entry(status).or_default() += 1;
    }
    assert_eq!(outcomes.get("confirmed"), Some(&10), "{outcomes:?}");
    assert_eq!(outcomes.get("rejected"), Some(&90), "{outcomes:?}");
    eventually("every sale is committed", async || {
        system.stock(product).await == (0, 0, 10)
    })
    .await;
    let per_shard = system.orders_per_shard().await;
    assert_eq!(per_shard.iter().sum::<i64>(), 100, "{per_shard:?}");
    assert!(
        per_shard.iter().all(|&orders| orders > 0),
        "orders on every shard: {per_shard:?}"
    );
    system.assert_consistent().await;
    system.stop().await;
}

/// The batched consumers at the rate they were built for: many customers checking out at
/// once, one after another, for two products, so every consumer is behind and applies its
/// events in batches. Exactly the stock there was is sold, the rest is rejected, and every
/// order ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_at_the_target_rate_sell_exactly_the_stock_and_all_end() {
    const CUSTOMERS: usize = 48;
    const ORDERS_EACH: usize = 8;
    const STOCK: u32 = 150;
    let test_bus = TestBus::jetstream().await;
    let system = System::start(test_bus.bus.clone(), test_bus.namespace.clone()).await;
    let products = [system.product(STOCK).await, system.product(STOCK).await];

    let customers = (0..CUSTOMERS).map(|n| {
        let system = &system;
        async move {
            let customer = Actor::customer(Uuid::now_v7());
            let mut placed = Vec::with_capacity(ORDERS_EACH);
            for order in 0..ORDERS_EACH {
                let product = products[(n + order) % products.len()];
                placed.push(system.checkout(&customer, product, 1, "tok_visa").await);
            }
            let mut statuses = Vec::with_capacity(ORDERS_EACH);
            for id in placed {
                statuses.push(
                    system.settled(&customer, id).await["status"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            statuses
        }
    });
    let mut outcomes = std::collections::HashMap::<String, usize>::new();
    for status in futures_util::future::join_all(customers).await.into_iter().flatten() {
        *outcomes.entry(status).or_default() += 1;
    }
    let sellable = products.len() * STOCK as usize;
    assert_eq!(outcomes.get("confirmed"), Some(&sellable), "{outcomes:?}");
    assert_eq!(
        outcomes.get("rejected"),
        Some(&(CUSTOMERS * ORDERS_EACH - sellable)),
        "{outcomes:?}"
    );
    for product in products {
        eventually("every sale is committed", async || {
            system.stock(product).await == (0, 0, STOCK as i32)
        })
        .await;
    }
    system.assert_consistent().await;
    system.stop().await;
}

#[tokio::test]
async fn an_event_published_twice_reserves_stock_once() {
    let test_bus = TestBus::jetstream().await;
    let system = System::start(test_bus.bus.clone(), test_bus.namespace.clone()).await;
    let product = system.product(5).await;
    let ada = Actor::customer(Uuid::now_v7());
    let id = system.checkout(&ada, product, 2, "tok_visa").await;
    system.settled(&ada, id).await;
    eventually("the sale is committed", async || {
        system.stock(product).await == (3, 0, 2)
    })
    .await;

    // A relay that crashed before marking its rows sent publishes them again, after the
    // broker's duplicate window: every event of the order arrives a second time.
    for envelope in shop_testkit::outbox_events(&system.order.db).await {
        let mut again = shop_messaging::outbox::outgoing(&system.namespace, &envelope);
        again.message_id = format!("again-{}", envelope.id);
        system.bus.publish(again).await.unwrap();
    }
    // The product service reads the order stream in order: once it has acted on a later
    // checkout, it has been through every duplicate before it.
    let marker = system.product(1).await;
    let later = system.checkout(&ada, marker, 1, "tok_visa").await;
    assert_eq!(system.settled(&ada, later).await["status"], "confirmed");
    eventually("the later sale is committed", async || {
        system.stock(marker).await == (0, 0, 1)
    })
    .await;
    assert_eq!(system.stock(product).await, (3, 0, 2));
    assert_eq!(system.order(&ada, id).await["status"], "confirmed");
    system.assert_consistent().await;
    system.stop().await;
}

#[tokio::test]
async fn orders_stuck_pending_are_cancelled_and_their_stock_released() {
    let test_bus = TestBus::jetstream().await;
    let mut system = System::start(test_bus.bus.clone(), test_bus.namespace.clone()).await;
    let product = system.product(5).await;
    // The product service stops reacting: checkouts stay pending.
    system.messaging.remove(0).stop().await;
    let ada = Actor::customer(Uuid::now_v7());
    let id = system.checkout(&ada, product, 2, "tok_visa").await;

    assert_eq!(
        order_service::deadline::cancel_stuck_orders(&system.order.db, Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    let order = system.order(&ada, id).await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["history"][1]["reason"], "timeout");

    // When the product service comes back it sees order.placed, then order.cancelled.
    system.start_product_messaging();
    eventually("the reservation is released", async || {
        system.reservation(id).await.as_deref() == Some("released")
    })
    .await;
    assert_eq!(system.stock(product).await, (5, 0, 0));
    assert_eq!(
        system.order(&ada, id).await["status"],
        "cancelled",
        "a late reservation changes nothing"
    );
    system.assert_consistent().await;
    system.stop().await;
}

/// A NATS server of this test's own, so it can be stopped and started again (fields drop in
/// order: the server stops before its store goes).
struct OwnNats {
    server: OwnServer,
    _store: TempDir,
}

impl OwnNats {
    fn start() -> Self {
        let (port, store) = (free_port(), TempDir::new("shop-test-nats"));
        let args = ["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"].map(std::ffi::OsString::from);
        let server = OwnServer::start(
            port,
            "/usr/sbin/nats-server",
            args.into_iter().chain([store.path.clone().into()]),
        );
        Self { server, _store: store }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.server.port)
    }
}

#[tokio::test]
async fn orders_placed_while_the_broker_is_down_complete_when_it_returns() {
    let mut nats = OwnNats::start();
    let bus = JetStreamBus::connect(&nats.url()).await.unwrap();
    let namespace = Namespace::new("outage").unwrap();
    let system = System::start(bus, namespace).await;
    let product = system.product(20).await;

    nats.server.stop();
    let customers: Vec<Actor> = (0..5).map(|_| Actor::customer(Uuid::now_v7())).collect();
    let mut orders = Vec::new();
    for customer in &customers {
        orders.push(system.checkout(customer, product, 1, "tok_visa").await);
    }
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&system.order.db)
        .await
        .unwrap();
    assert_eq!(waiting, 5, "the events wait in the outbox");

    nats.server.resume();
    for (customer, id) in customers.iter().zip(&orders) {
        assert_eq!(system.settled(customer, *id).await["status"], "confirmed");
    }
    eventually("every sale is committed", async || {
        system.stock(product).await == (15, 0, 5)
    })
    .await;
    system.assert_consistent().await;
    system.stop().await;
}
