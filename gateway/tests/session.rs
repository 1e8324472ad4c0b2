//! The Redis session store against a real Redis, directly and behind the session layer of two
//! gateway-like servers that share it.

use std::collections::HashMap;

use axum::{Router, http::StatusCode, routing::post};
use gateway::session::{RedisSessionStore, SESSION_COOKIE, session_layer};
use redis::{AsyncCommands, aio::ConnectionManager};
use reqwest::{Method, header};
use serde_json::{Value, json};
use shop_platform::Json;
use shop_testkit::{Actor, RedisPrefix, TestApp, TestResponse};
use tower_sessions::{
    Session, SessionStore,
    cookie::{
        Cookie, SameSite,
        time::{Duration, OffsetDateTime},
    },
    session::{Id, Record},
};

async fn exists(conn: &mut ConnectionManager, key: &str) -> bool {
    conn.exists(key).await.expect("EXISTS")
}

fn record(expires_in: Duration) -> Record {
    Record {
        id: Id::default(),
        data: HashMap::from([("cart".to_owned(), json!({"items": 2}))]),
        expiry_date: OffsetDateTime::now_utc() + expires_in,
    }
}

#[tokio::test]
async fn a_record_round_trips_and_saves_changes() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let mut conn = test_redis.connection().await;
    let store = RedisSessionStore::new(conn.clone(), &prefix);

    let mut session = record(Duration::minutes(10));
    store.create(&mut session).await.unwrap();
    assert_eq!(store.load(&session.id).await.unwrap(), Some(session.clone()));
    let ttl_ms: i64 = conn.pttl(format!("{prefix}{}", session.id)).await.unwrap();
    assert!(
        (1..=600_000).contains(&ttl_ms),
        "Redis expires it, at the latest with the record: {ttl_ms} ms"
    );
    let created_ttl_ms = ttl_ms;

    session.data.insert("user".to_owned(), json!("0190b7a2"));
    session.expiry_date = OffsetDateTime::now_utc() + Duration::minutes(20);
    store.save(&session).await.unwrap();
    assert_eq!(store.load(&session.id).await.unwrap(), Some(session.clone()));
    let ttl_ms: i64 = conn.pttl(format!("{prefix}{}", session.id)).await.unwrap();
    assert!(
        created_ttl_ms < ttl_ms && ttl_ms <= 1_200_000,
        "saving moves the TTL to the new expiry date: {created_ttl_ms} → {ttl_ms} ms"
    );

    assert_eq!(
        store.load(&Id::default()).await.unwrap(),
        None,
        "an unknown id has no record"
    );
}

#[tokio::test]
async fn an_expired_record_is_gone() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let mut conn = test_redis.connection().await;
    let store = RedisSessionStore::new(conn.clone(), &prefix);

    let mut session = record(Duration::seconds(1));
    store.create(&mut session).await.unwrap();
    assert!(store.load(&session.id).await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(store.load(&session.id).await.unwrap(), None);
    assert!(
        !exists(&mut conn, &format!("{prefix}{}", session.id)).await,
        "Redis expired the key"
    );

    let mut stale = record(Duration::minutes(10));
    store.create(&mut stale).await.unwrap();
    stale.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
    store.save(&stale).await.unwrap();
    assert!(
        !exists(&mut conn, &format!("{prefix}{}", stale.id)).await,
        "saving it expired deletes it"
    );

    let mut born_expired = record(-Duration::seconds(1));
    store.create(&mut born_expired).await.unwrap();
    assert!(test_redis.keys().await.is_empty(), "an expired record is never stored");
}

#[tokio::test]
async fn delete_removes_the_record() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let mut conn = test_redis.connection().await;
    let store = RedisSessionStore::new(conn.clone(), &prefix);

    let mut session = record(Duration::minutes(10));
    store.create(&mut session).await.unwrap();
    store.delete(&session.id).await.unwrap();
    assert_eq!(store.load(&session.id).await.unwrap(), None);
    assert!(!exists(&mut conn, &format!("{prefix}{}", session.id)).await);
    store
        .delete(&session.id)
        .await
        .expect("deleting a missing session is fine");

    store.save(&session).await.unwrap();
    assert_eq!(
        store.load(&session.id).await.unwrap(),
        None,
        "a request still holding a deleted session does not bring it back"
    );
}

#[tokio::test]
async fn create_never_overwrites_an_existing_session() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let mut conn = test_redis.connection().await;
    let store = RedisSessionStore::new(conn.clone(), &prefix);

    let mut session = record(Duration::minutes(10));
    let taken = session.id;
    let taken_key = format!("{prefix}{taken}");
    conn.set_ex::<_, _, ()>(&taken_key, "someone else's session", 600)
        .await
        .unwrap();

    store.create(&mut session).await.unwrap();
    assert_ne!(session.id, taken, "create picked another id");
    let untouched: String = conn.get(&taken_key).await.unwrap();
    assert_eq!(untouched, "someone else's session");
    assert_eq!(store.load(&session.id).await.unwrap(), Some(session));
}

/// Sets, reads, re-keys and ends the caller's session.
fn router(store: RedisSessionStore, secure: bool) -> Router {
    async fn put(session: Session, Json(value): Json<String>) -> Result<StatusCode, StatusCode> {
        let stored = session.insert("value", value).await;
        stored
            .map(|()| StatusCode::NO_CONTENT)
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
    }
    async fn get(session: Session) -> Result<Json<Option<String>>, StatusCode> {
        let value = session.get("value").await;
        value.map(Json).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
    }
    async fn cycle(session: Session) -> StatusCode {
        match session.cycle_id().await {
            Ok(()) => StatusCode::NO_CONTENT,
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    async fn end(session: Session) -> StatusCode {
        match session.flush().await {
            Ok(()) => StatusCode::NO_CONTENT,
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    Router::new()
        .route("/value", post(put).get(get))
        .route("/cycle", post(cycle))
        .route("/end", post(end))
        .layer(session_layer(store, secure, Duration::minutes(30)))
}

async fn send(app: &TestApp, method: Method, path: &str, cookie: Option<&str>, body: Option<Value>) -> TestResponse {
    let cookie = cookie.map(|id| format!("{SESSION_COOKIE}={id}"));
    let headers: Vec<_> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
    app.send_with_headers(method, path, &Actor::Anonymous, body, &headers)
        .await
}

fn set_cookie(response: &TestResponse) -> Cookie<'static> {
    let header = response.headers.get(header::SET_COOKIE).expect("a Set-Cookie header");
    Cookie::parse(header.to_str().unwrap().to_owned()).expect("a valid cookie")
}

#[tokio::test]
async fn a_session_started_on_one_instance_works_on_another() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let mut conn = test_redis.connection().await;
    let first = TestApp::spawn(router(
        RedisSessionStore::new(test_redis.connection().await, &prefix),
        false,
    ))
    .await;
    let second = TestApp::spawn(router(
        RedisSessionStore::new(test_redis.connection().await, &prefix),
        false,
    ))
    .await;

    let response = send(&first, Method::POST, "/value", None, Some(json!("hello"))).await;
    assert_eq!(response.status, 204);
    let cookie = set_cookie(&response);
    assert_eq!(cookie.name(), SESSION_COOKIE);
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    assert_eq!(cookie.secure(), None, "not Secure unless configured");
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.max_age(), Some(Duration::minutes(30)));
    let id = cookie.value().to_owned();
    let ttl_ms: i64 = conn.pttl(format!("{prefix}{id}")).await.unwrap();
    assert!(
        (1..=1_800_000).contains(&ttl_ms),
        "Redis expires it after the idle timeout at the latest: {ttl_ms} ms"
    );

    let read = send(&second, Method::GET, "/value", Some(&id), None).await;
    assert_eq!(read.expect(200), json!("hello"));
    let anonymous = send(&second, Method::GET, "/value", None, None).await;
    assert_eq!(anonymous.expect(200), Value::Null);

    let response = send(&second, Method::POST, "/cycle", Some(&id), None).await;
    assert_eq!(response.status, 204);
    let cycled = set_cookie(&response).value().to_owned();
    assert_ne!(cycled, id);
    assert!(
        !exists(&mut conn, &format!("{prefix}{id}")).await,
        "the old id is gone from Redis"
    );
    assert!(exists(&mut conn, &format!("{prefix}{cycled}")).await);
    let read = send(&first, Method::GET, "/value", Some(&cycled), None).await;
    assert_eq!(read.expect(200), json!("hello"), "the data moved to the new id");
    let read = send(&first, Method::GET, "/value", Some(&id), None).await;
    assert_eq!(read.expect(200), Value::Null, "the old id no longer works");

    let response = send(&first, Method::POST, "/end", Some(&cycled), None).await;
    assert_eq!(response.status, 204);
    assert_eq!(
        set_cookie(&response).max_age(),
        Some(Duration::ZERO),
        "the browser drops the cookie"
    );
    assert!(
        !exists(&mut conn, &format!("{prefix}{cycled}")).await,
        "the session is gone from Redis"
    );
    let read = send(&second, Method::GET, "/value", Some(&cycled), None).await;
    assert_eq!(read.expect(200), Value::Null);

    assert!(test_redis.keys().await.is_empty(), "reads of unknown ids store nothing");
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured() {
    let test_redis = RedisPrefix::new();
    let prefix = test_redis.prefix.clone();
    let app = TestApp::spawn(router(
        RedisSessionStore::new(test_redis.connection().await, &prefix),
        true,
    ))
    .await;

    let response = send(&app, Method::POST, "/value", None, Some(json!("hello"))).await;
    assert_eq!(response.status, 204);
    let cookie = set_cookie(&response);
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
}
