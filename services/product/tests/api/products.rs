use serde_json::{Value, json};
use shop_testkit::{Actor, Method, TestApp};

use crate::helpers::{
    admin, assert_only_the_creation, count, create_category, create_product, id, outbox, product_body, snapshot, spawn,
};
use shop_contracts::events::InventoryAdjusted;

#[tokio::test]
async fn admins_add_products_that_anyone_can_read() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "kitchen").await;
    let created = app
        .post("/api/products", &admin(), product_body("kit-0001", "kitchen", 2499))
        .await
        .expect(201);
    assert_eq!(created["sku"], "KIT-0001", "SKUs are normalised to upper case");
    assert_eq!(created["price"], json!({"amount_minor": 2499, "currency": "USD"}));
    assert_eq!(created["category"], json!({"slug": "kitchen", "name": "KITCHEN"}));
    assert_eq!(created["available"], 10);
    assert_eq!(created["active"], true);
    assert_eq!(created["version"], 1);

    let read = app
        .get(&format!("/api/products/{}", id(&created)), &Actor::Anonymous)
        .await
        .expect(200);
    assert_eq!(read, created);
}

#[tokio::test]
async fn duplicate_skus_conflict_whatever_their_case() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "kitchen").await;
    let product = create_product(&app, "KIT-1", "kitchen", 100).await;
    app.post("/api/products", &admin(), product_body("kit-1", "kitchen", 200))
        .await
        .expect_problem(409, "conflict");
    assert_eq!(count(&db, "products").await, 1);
    assert_eq!(count(&db, "inventory").await, 1);
    assert_only_the_creation(&db, &product).await;
}

async fn all_pages(app: &TestApp, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = format!("/api/products?limit=3&{query}");
    loop {
        let page = app.get(&path, &Actor::Anonymous).await.expect(200);
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/products?limit=3&cursor={cursor}"),
            None => return items,
        }
    }
}

#[tokio::test]
async fn listings_page_through_every_active_product_once_in_each_order() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    create_category(&app, "books").await;
    // Equal prices and names on purpose: the id must break ties.
    let prices = [500, 100, 900, 100, 300, 700, 500, 200];
    for (i, price) in prices.iter().enumerate() {
        let category = if i % 2 == 0 { "toys" } else { "books" };
        create_product(&app, &format!("SKU-{i}"), category, *price).await;
    }
    let hidden = create_product(&app, "SKU-HIDDEN", "toys", 1).await;
    app.post(
        &format!("/api/products/{}/deactivate", id(&hidden)),
        &admin(),
        json!({}),
    )
    .await
    .expect(200);

    let skus = |items: &[Value]| {
        items
            .iter()
            .map(|p| p["sku"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let price_of = |items: &[Value]| {
        items
            .iter()
            .map(|p| p["price"]["amount_minor"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };

    let by_price = all_pages(&app, "sort=price_asc").await;
    let mut expected = prices.to_vec();
    expected.sort();
    assert_eq!(price_of(&by_price), expected);

    let by_price_desc = all_pages(&app, "sort=price_desc").await;
    expected.reverse();
    assert_eq!(price_of(&by_price_desc), expected);

    let newest = all_pages(&app, "sort=newest").await;
    let expected_newest: Vec<String> = (0..prices.len()).rev().map(|i| format!("SKU-{i}")).collect();
    assert_eq!(skus(&newest), expected_newest);

    let by_name = all_pages(&app, "sort=name").await;
    let mut names: Vec<String> = by_name.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    let listed = names.clone();
    names.sort();
    assert_eq!(listed, names);
    assert_eq!(by_name.len(), prices.len());

    let toys = all_pages(&app, "category=toys&sort=price_desc").await;
    assert_eq!(toys.len(), 4);
    assert!(toys.iter().all(|p| p["category"]["slug"] == "toys"));
    assert!(all_pages(&app, "category=garden").await.is_empty());
}

#[tokio::test]
async fn bad_listing_parameters_are_422() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    for i in 0..3 {
        create_product(&app, &format!("SKU-{i}"), "toys", 100).await;
    }
    let page = app
        .get("/api/products?limit=1&sort=price_asc", &Actor::Anonymous)
        .await
        .expect(200);
    let cursor = page["next_cursor"].as_str().unwrap();
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("sort=cheapest", "sort"),
        ("category=Not%20A%20Slug", "category"),
        ("cursor=garbage", "cursor"),
        (&format!("cursor={cursor}&sort=name") as &str, "cursor"),
        (&format!("cursor={cursor}&category=toys") as &str, "cursor"),
    ] {
        app.get(&format!("/api/products?{query}"), &Actor::Anonymous)
            .await
            .expect_invalid(field);
    }
    // One answer names every bad parameter.
    let problem = app
        .get(
            "/api/products?limit=-1&sort=cheapest&category=Not%20A%20Slug",
            &Actor::Anonymous,
        )
        .await
        .expect_problem(422, "validation");
    let fields: std::collections::BTreeSet<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["category", "limit", "sort"].into(), "{problem:#}");
    // The cursor carries its sort order, so it works on its own.
    let next = app
        .get(&format!("/api/products?limit=1&cursor={cursor}"), &Actor::Anonymous)
        .await
        .expect(200);
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_or_impossible_ids_are_404() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    let unknown = uuid::Uuid::now_v7();
    app.get(&format!("/api/products/{unknown}"), &Actor::Anonymous)
        .await
        .expect_problem(404, "not-found");
    app.get("/api/products/not-a-uuid", &Actor::Anonymous)
        .await
        .expect_problem(404, "not-found");
    app.patch(&format!("/api/products/{unknown}"), &admin(), json!({"name": "x"}))
        .await
        .expect_problem(404, "not-found");
    app.post(&format!("/api/products/{unknown}/deactivate"), &admin(), json!({}))
        .await
        .expect_problem(404, "not-found");
    app.put(
        &format!("/api/products/{unknown}/price"),
        &admin(),
        json!({"amount_minor": 1, "currency": "USD"}),
    )
    .await
    .expect_problem(404, "not-found");
    app.get(&format!("/api/products/{unknown}/inventory"), &admin())
        .await
        .expect_problem(404, "not-found");
    app.post(
        &format!("/api/products/{unknown}/stock-adjustments"),
        &admin(),
        json!({"delta": 1, "reason": "count"}),
    )
    .await
    .expect_problem(404, "not-found");
    assert_eq!(count(&db, "stock_adjustments").await, 0);
    assert_eq!(count(&db, "outbox").await, 0);
}

#[tokio::test]
async fn updates_change_only_what_is_sent_and_bump_the_version() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    create_category(&app, "books").await;
    let product = create_product(&app, "SKU-1", "toys", 100).await;
    let path = format!("/api/products/{}", id(&product));

    let updated = app
        .patch(
            &path,
            &admin(),
            json!({"name": "  Wooden Train  ", "category": "books"}),
        )
        .await
        .expect(200);
    assert_eq!(updated["name"], "Wooden Train");
    assert_eq!(updated["category"]["slug"], "books");
    assert_eq!(updated["description"], product["description"]);
    assert_eq!(updated["version"], 2);

    // Sending what is already there is not a change.
    let same = app
        .patch(&path, &admin(), json!({"name": "Wooden Train"}))
        .await
        .expect(200);
    assert_eq!(same["version"], 2);

    let priced = app
        .put(
            &format!("{path}/price"),
            &admin(),
            json!({"amount_minor": 1999, "currency": "EUR"}),
        )
        .await
        .expect(200);
    assert_eq!(priced["price"], json!({"amount_minor": 1999, "currency": "EUR"}));
    assert_eq!(priced["version"], 3);

    let inactive = app
        .post(&format!("{path}/deactivate"), &admin(), json!({}))
        .await
        .expect(200);
    assert_eq!(inactive["active"], false);
    assert_eq!(inactive["version"], 4);
    let again = app
        .post(&format!("{path}/deactivate"), &admin(), json!({}))
        .await
        .expect(200);
    assert_eq!(again["version"], 4, "deactivating twice is one change");
    // Still readable by id (orders link to it), gone from listings.
    app.get(&path, &Actor::Anonymous).await.expect(200);
    let listing = app.get("/api/products", &Actor::Anonymous).await.expect(200);
    assert!(listing["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn invalid_updates_are_refused_and_change_nothing() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    let product = create_product(&app, "SKU-1", "toys", 100).await;
    let path = format!("/api/products/{}", id(&product));
    let before = snapshot(&db).await;

    for (body, field) in [
        (json!({}), "body"),
        (json!({"name": ""}), "name"),
        (json!({"name": "n".repeat(201)}), "name"),
        (json!({"description": "d".repeat(2001)}), "description"),
        (json!({"category": "garden"}), "category"),
        (json!({"image_url": "ftp://nope"}), "image_url"),
        (json!({"price": {"amount_minor": 1, "currency": "USD"}}), "price"),
    ] {
        app.patch(&path, &admin(), body).await.expect_invalid(field);
    }
    for (body, field) in [
        (json!({"amount_minor": -1, "currency": "USD"}), "body"),
        (json!({"amount_minor": 100_000_001, "currency": "USD"}), "body"),
        (json!({"amount_minor": 100, "currency": "usd"}), "currency"),
        (json!({"amount_minor": 1.5, "currency": "USD"}), "amount_minor"),
        (json!({"amount_minor": "100", "currency": "USD"}), "amount_minor"),
        (json!({"currency": "USD"}), "amount_minor"),
    ] {
        app.put(&format!("{path}/price"), &admin(), body)
            .await
            .expect_invalid(field);
    }
    for endpoint in [Method::PATCH, Method::PUT] {
        let target = if endpoint == Method::PUT {
            format!("{path}/price")
        } else {
            path.clone()
        };
        for (content_type, bytes, status) in shop_testkit::malformed_bodies() {
            let response = app
                .send_raw(endpoint.clone(), &target, &admin(), Some((content_type, bytes)))
                .await;
            shop_testkit::assert_rejected(response, status);
        }
    }
    assert_eq!(snapshot(&db).await, before);
    assert_only_the_creation(&db, &product).await;
}

#[tokio::test]
async fn invalid_new_products_are_refused_and_nothing_is_written() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    let with = |key: &str, value: Value| {
        let mut body = product_body("SKU-1", "toys", 100);
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = product_body("SKU-1", "toys", 100);
        body.as_object_mut().unwrap().remove(key);
        body
    };
    for (body, field) in [
        (with("sku", json!("x")), "sku"),
        (with("sku", json!("BAD SKU")), "sku"),
        (with("sku", json!(12345)), "sku"),
        (with("name", json!("   ")), "name"),
        (with("name", json!("n".repeat(201))), "name"),
        (with("name", json!("tab\tin name")), "name"),
        (with("description", json!("d".repeat(2001))), "description"),
        (with("category", json!("garden")), "category"),
        (with("category", json!("NOT A SLUG")), "category"),
        (with("price", json!({"amount_minor": -5, "currency": "USD"})), "price"),
        (
            with("price", json!({"amount_minor": 5, "currency": "DOLLARS"})),
            "price.currency",
        ),
        (with("price", json!(100)), "price"),
        (with("image_url", json!("not a url")), "image_url"),
        (
            with("image_url", json!(format!("https://x/{}", "a".repeat(2048)))),
            "image_url",
        ),
        (with("initial_stock", json!(-1)), "initial_stock"),
        (with("initial_stock", json!(1_000_001)), "initial_stock"),
        (with("initial_stock", json!(1e20)), "initial_stock"),
        (with("colour", json!("red")), "colour"),
        (without("sku"), "sku"),
        (without("name"), "name"),
        (without("price"), "price"),
        (without("category"), "category"),
    ] {
        app.post("/api/products", &admin(), body).await.expect_invalid(field);
    }
    for (content_type, bytes, status) in shop_testkit::malformed_bodies() {
        let response = app
            .send_raw(Method::POST, "/api/products", &admin(), Some((content_type, bytes)))
            .await;
        shop_testkit::assert_rejected(response, status);
    }
    assert_eq!(count(&db, "products").await, 0);
    assert_eq!(count(&db, "inventory").await, 0);
    assert_eq!(count(&db, "outbox").await, 0);
}

#[tokio::test]
async fn stock_adjustments_are_applied_audited_and_never_go_negative() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    let product = create_product(&app, "SKU-1", "toys", 100).await;
    let path = format!("/api/products/{}", id(&product));

    let added = app
        .post(
            &format!("{path}/stock-adjustments"),
            &admin(),
            json!({"delta": 5, "reason": "delivery"}),
        )
        .await
        .expect(200);
    assert_eq!(
        added,
        json!({"product_id": id(&product), "on_hand": 15, "reserved": 0, "available": 15, "sold": 0})
    );
    let removed = app
        .post(
            &format!("{path}/stock-adjustments"),
            &admin(),
            json!({"delta": -15, "reason": "damaged"}),
        )
        .await
        .expect(200);
    assert_eq!(removed["on_hand"], 0);
    app.post(
        &format!("{path}/stock-adjustments"),
        &admin(),
        json!({"delta": -1, "reason": "oops"}),
    )
    .await
    .expect_problem(409, "conflict");
    for (body, field) in [
        (json!({"delta": 0, "reason": "nothing"}), "delta"),
        (json!({"delta": 1_000_001, "reason": "too much"}), "delta"),
        (json!({"delta": 1, "reason": ""}), "reason"),
        (json!({"delta": 1}), "reason"),
        (json!({"delta": "1", "reason": "x"}), "delta"),
    ] {
        app.post(&format!("{path}/stock-adjustments"), &admin(), body)
            .await
            .expect_invalid(field);
    }
    let inventory = app.get(&format!("{path}/inventory"), &admin()).await.expect(200);
    assert_eq!(inventory["on_hand"], 0);
    assert_eq!(count(&db, "stock_adjustments").await, 2);
    let events = outbox(&db).await;
    assert_eq!(events[0].event_type, "product.created");
    let levels: Vec<_> = events[1..]
        .iter()
        .map(|e| {
            assert_eq!(e.event_type, "inventory.adjusted");
            let levels = e.decode::<InventoryAdjusted>().unwrap();
            (e.aggregate_version, levels.on_hand)
        })
        .collect();
    assert_eq!(
        levels,
        [(1, 10), (2, 15), (3, 0)],
        "the starting stock and the two adjustments"
    );
    let listed = app.get(&path, &Actor::Anonymous).await.expect(200);
    assert_eq!(listed["available"], 0);
}

#[tokio::test]
async fn only_admins_change_the_catalog() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "toys").await;
    let product = create_product(&app, "SKU-1", "toys", 100).await;
    let path = format!("/api/products/{}", id(&product));
    let before = snapshot(&db).await;

    let expired = shop_testkit::identity_key().mint_expiring_at(
        &shop_contracts::Identity::new(uuid::Uuid::now_v7(), vec![shop_contracts::Role::Admin]),
        chrono::Utc::now() - chrono::Duration::seconds(5),
    );
    let forged = shop_contracts::IdentityKey::new([1u8; 32]).unwrap().mint(
        &shop_contracts::Identity::new(uuid::Uuid::now_v7(), vec![shop_contracts::Role::Admin]),
        chrono::Duration::minutes(5),
    );
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/products".into(),
            Some(product_body("SKU-2", "toys", 1)),
        ),
        (Method::PATCH, path.clone(), Some(json!({"name": "Hacked"}))),
        (Method::POST, format!("{path}/deactivate"), None),
        (
            Method::PUT,
            format!("{path}/price"),
            Some(json!({"amount_minor": 1, "currency": "USD"})),
        ),
        (
            Method::POST,
            format!("{path}/stock-adjustments"),
            Some(json!({"delta": 100, "reason": "free"})),
        ),
        (Method::GET, format!("{path}/inventory"), None),
    ];
    for (method, target, body) in &writes {
        for (actor, status, kind) in [
            (Actor::Anonymous, 401, "unauthorized"),
            (Actor::RawToken(expired.clone()), 401, "unauthorized"),
            (Actor::RawToken(forged.clone()), 401, "unauthorized"),
            (Actor::RawToken("garbage".into()), 401, "unauthorized"),
            (Actor::stranger(), 403, "forbidden"),
        ] {
            app.send(method.clone(), target, &actor, body.clone())
                .await
                .expect_problem(status, kind);
        }
    }
    assert_eq!(snapshot(&db).await, before);
    assert_eq!(count(&db, "stock_adjustments").await, 0);
    assert_only_the_creation(&db, &product).await;
    // And the admin can do each of them.
    for (method, target, body) in writes {
        let response = app.send(method, &target, &admin(), body).await;
        assert!(response.status.is_success(), "{target}: {:#}", response.body);
    }
}

/// PostgreSQL cannot store NUL in text; a NUL anywhere in the input is the client's error.
#[tokio::test]
async fn a_nul_in_any_input_is_a_client_error_not_a_500() {
    let (db, _database) = shop_testkit::TestDatabase::migrated("product", &product_service::MIGRATOR).await;
    let app = spawn(&db).await;
    create_category(&app, "kitchen").await;
    for (path, field) in [
        ("/api/categories/%00", "path"),
        ("/api/categories/kit%00chen", "path"),
        ("/api/products?category=%00", "category"),
        ("/api/products?sort=name&cursor=%00", "cursor"),
    ] {
        let problem = app.get(path, &Actor::Anonymous).await.expect_problem(422, "validation");
        assert_eq!(problem["errors"][0]["field"], field, "{path}");
    }
    // A cursor of the right shape, as the endpoint would write it, with a NUL inside.
    let forged = shop_platform::pagination::encode_cursor(&json!({
        "category": "kit\u{0}chen",
        "after": {"sort": "name", "name": "a", "id": "0190b7a2-0000-7000-8000-000000000001"},
    }));
    let problem = app
        .get(&format!("/api/products?cursor={forged}"), &Actor::Anonymous)
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem["errors"][0]["field"], "cursor");
    let mut body = product_body("kit-9", "kitchen", 100);
    body["name"] = json!("Pan\u{0}");
    let problem = app
        .post("/api/products", &admin(), body)
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem["errors"][0]["field"], "name");
    assert_eq!(count(&db, "products").await, 0);
}
