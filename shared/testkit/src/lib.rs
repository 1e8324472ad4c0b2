//! Test harness shared by every service's tests: spawn the real service router on a random
//! loopback port (against the real database the test was given) and talk to it over HTTP as
//! anonymous, customer or admin callers; run a whole service as its binary does; wait for
//! what happens in the background.

use std::{future::Future, net::SocketAddr, pin::Pin, time::Duration};

pub use reqwest::Method;
use reqwest::{StatusCode, header::CONTENT_TYPE};
use serde_json::Value;
use shop_contracts::{Identity, IdentityKey, Role, identity::IDENTITY_HEADER};
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

/// The secret behind [`identity_key`], for configuring a service the way its binary is
/// configured.
pub const IDENTITY_KEY: &str = "test-identity-key-0123456789abcdefghijklmnop";

/// The key services under test verify identity tokens with.
pub fn identity_key() -> IdentityKey {
    IdentityKey::new(IDENTITY_KEY).expect("key is long enough")
}

/// A token for `identity` signed with [`identity_key`], valid for five minutes: the value of
/// the identity header the gateway would send.
pub fn token(identity: &Identity) -> String {
    identity_key().mint(identity, chrono::Duration::minutes(5))
}

/// A service token of the gateway signed with [`identity_key`], valid for five minutes: what
/// one service sends another's internal endpoints.
pub fn service_token() -> String {
    identity_key().mint_service("gateway", chrono::Duration::minutes(5))
}

/// A service's configuration from `args` alone, as if none of its environment variables were
/// set: what a developer has exported (`LB_POLICY`, `SEARCH_UPSTREAMS`…) must not change what a
/// test runs.
pub fn config_from_args<C: clap::Parser>(args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>) -> C {
    let command = C::command().mut_args(|arg| arg.env(None::<&str>));
    let matches = command.try_get_matches_from(args).expect("valid arguments");
    C::from_arg_matches(&matches).expect("valid arguments")
}

/// Who makes a request.
#[derive(Debug, Clone)]
pub enum Actor {
    Anonymous,
    User(Identity),
    /// Another service of the shop, with a service token (internal endpoints).
    Service,
    /// Sends this raw value as the identity header (forged or garbage tokens).
    RawToken(String),
}

impl Actor {
    pub fn customer(user_id: Uuid) -> Self {
        Actor::User(Identity::new(user_id, vec![Role::Customer]))
    }

    pub fn admin(user_id: Uuid) -> Self {
        Actor::User(Identity::new(user_id, vec![Role::Admin]))
    }

    /// A customer with a fresh id the service has never seen.
    pub fn stranger() -> Self {
        Self::customer(Uuid::now_v7())
    }

    pub fn user_id(&self) -> Uuid {
        match self {
            Actor::User(identity) => identity.user_id,
            _ => panic!("{self:?} has no user id"),
        }
    }
}

/// A service running in this test process.
pub struct TestApp {
    pub address: SocketAddr,
    client: reqwest::Client,
}

impl TestApp {
    pub async fn spawn(router: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("bound address");
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await.expect("test server runs") });
        Self {
            address,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str, actor: &Actor) -> TestResponse {
        self.send(Method::GET, path, actor, None).await
    }

    pub async fn post(&self, path: &str, actor: &Actor, body: Value) -> TestResponse {
        self.send(Method::POST, path, actor, Some(body)).await
    }

    pub async fn put(&self, path: &str, actor: &Actor, body: Value) -> TestResponse {
        self.send(Method::PUT, path, actor, Some(body)).await
    }

    pub async fn patch(&self, path: &str, actor: &Actor, body: Value) -> TestResponse {
        self.send(Method::PATCH, path, actor, Some(body)).await
    }

    pub async fn delete(&self, path: &str, actor: &Actor) -> TestResponse {
        self.send(Method::DELETE, path, actor, None).await
    }

    pub async fn send(&self, method: Method, path: &str, actor: &Actor, body: Option<Value>) -> TestResponse {
        self.send_with_headers(method, path, actor, body, &[]).await
    }

    /// Like [`TestApp::send`], with extra request headers.
    pub async fn send_with_headers(
        &self,
        method: Method,
        path: &str,
        actor: &Actor,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = self.request(method, path, actor);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        finish(request).await
    }

    /// Sends `body` verbatim with the given content type: for malformed-input tests.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        actor: &Actor,
        body: Option<(&str, Vec<u8>)>,
    ) -> TestResponse {
        let mut request = self.request(method, path, actor);
        if let Some((content_type, bytes)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        finish(request).await
    }

    fn request(&self, method: Method, path: &str, actor: &Actor) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match actor {
            Actor::Anonymous => request,
            Actor::User(identity) => request.header(IDENTITY_HEADER, token(identity)),
            Actor::Service => request.header(IDENTITY_HEADER, service_token()),
            Actor::RawToken(token) => request.header(IDENTITY_HEADER, token),
        }
    }
}

async fn finish(request: reqwest::RequestBuilder) -> TestResponse {
    let response = request.send().await.expect("request reaches the test server");
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    TestResponse {
        status,
        content_type,
        headers,
        body,
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {:#}", self.body);
        self.body
    }

    /// Asserts a problem+json error of the given status and kind (`validation`, `not-found`…).
    #[track_caller]
    pub fn expect_problem(self, status: u16, kind: &str) -> Value {
        assert_eq!(self.content_type, "application/problem+json", "body: {:#}", self.body);
        let body = self.expect(status);
        assert_eq!(body["type"], format!("urn:shop:problem:{kind}"), "body: {body:#}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "problem without detail: {body:#}"
        );
        body
    }

    /// Asserts a 422 that names `field` among its field errors.
    #[track_caller]
    pub fn expect_invalid(self, field: &str) -> Value {
        let body = self.expect_problem(422, "validation");
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(
            fields
                .iter()
                .any(|f| *f == field || f.starts_with(&format!("{field}."))),
            "expected an error on {field}, got {body:#}"
        );
        body
    }
}

/// The standard set of malformed bodies every JSON endpoint must turn away with a 4xx.
pub fn malformed_bodies() -> Vec<(&'static str, Vec<u8>, u16)> {
    vec![
        ("application/json", b"{not json".to_vec(), 400),
        ("application/json", b"".to_vec(), 400),
        ("application/json", b"[]".to_vec(), 422),
        ("text/plain", b"{}".to_vec(), 415),
        ("application/json", vec![b' '; 70 * 1024], 413),
    ]
}

/// Asserts that `status` is what an endpoint answers to a body it cannot use.
#[track_caller]
pub fn assert_rejected(response: TestResponse, expected: u16) {
    assert_eq!(
        response.status,
        StatusCode::from_u16(expected).unwrap(),
        "body: {:#}",
        response.body
    );
    assert_eq!(response.content_type, "application/problem+json");
}

/// A uniquely named database on the test server (`DATABASE_URL`), dropped again when this
/// value is dropped — also when the test panics. Every run gets databases of its own, so two
/// runs of the same test at once on a shared server never meet.
pub struct TestDatabase {
    pub url: String,
    name: String,
    server: String,
}

impl TestDatabase {
    /// Creates an empty database whose name starts with `label`.
    pub async fn create(label: &str) -> Self {
        let server = std::env::var("DATABASE_URL").expect("DATABASE_URL points at the test PostgreSQL server");
        let name = format!("test_{label}_{}", Uuid::now_v7().simple());
        let mut admin = admin_connection(&server).await;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
        Self {
            url: format!("{base}/{name}"),
            name,
            server,
        }
    }

    /// Creates a database as [`TestDatabase::create`] does, applies `migrations` and returns a
    /// pool on it with the database; keep the second alive for as long as the test runs.
    pub async fn migrated(label: &str, migrations: &sqlx::migrate::Migrator) -> (sqlx::PgPool, Self) {
        let database = Self::create(label).await;
        let pool = sqlx::PgPool::connect(&database.url)
            .await
            .expect("connect to the test database");
        migrations.run(&pool).await.expect("migrate the test database");
        (pool, database)
    }
}

async fn admin_connection(server: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(server)
        .await
        .expect("connect to the test PostgreSQL server")
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs outside any async context we could borrow, so use a runtime of our own.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let mut admin = admin_connection(&server).await;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await
                })
        })
        .join();
        if !matches!(dropped, Ok(Ok(_))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// A folder name of this test's own under the system's temporary directory (not created);
/// the folder, if anything made it, is removed with everything in it when this value is
/// dropped — also when the test panics.
pub struct TempDir {
    pub path: std::path::PathBuf,
}

impl TempDir {
    /// A path whose last part starts with `label`.
    pub fn new(label: &str) -> Self {
        Self {
            path: std::env::temp_dir().join(format!("{label}-{}", Uuid::now_v7().simple())),
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                eprintln!("warning: could not remove {}: {error}", self.path.display());
            }
            _ => {}
        }
    }
}

/// A server process of this test's own, listening on `port` (a `nats-server` or
/// `redis-server` to take down on purpose). A shell stands between it and this process and
/// stops it once its stdin closes, which happens however this process ends: a test that dies
/// leaves no server behind.
pub struct OwnServer {
    pub port: u16,
    program: String,
    args: Vec<std::ffi::OsString>,
    process: Option<std::process::Child>,
}

impl OwnServer {
    /// Starts `program` with `args` and returns once `port` accepts connections.
    pub fn start(port: u16, program: &str, args: impl IntoIterator<Item = impl Into<std::ffi::OsString>>) -> Self {
        let mut server = Self {
            port,
            program: program.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
            process: None,
        };
        server.resume();
        server
    }

    /// Starts the server again after [`OwnServer::stop`].
    pub fn resume(&mut self) {
        let process = std::process::Command::new("sh")
            .args([
                "-c",
                r#""$0" "$@" & server=$!; read -r _; kill "$server"; wait "$server""#,
            ])
            .arg(&self.program)
            .args(&self.args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.program));
        self.process = Some(process);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} did not start listening on port {}", self.program, self.port);
    }

    /// Stops the server and waits until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            drop(process.stdin.take());
            let _ = process.wait();
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The machine's NATS server (`NATS_URL`, default `nats://127.0.0.1:4222`) under a namespace
/// of this test's own, whose streams are deleted when this value is dropped.
pub struct TestBus {
    pub bus: shop_messaging::jetstream::JetStreamBus,
    pub namespace: shop_messaging::Namespace,
    /// The NATS server's URL, for configuring a service to use the same server.
    pub url: String,
}

impl TestBus {
    pub async fn jetstream() -> Self {
        use shop_messaging::EventBus;
        let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
        let bus = shop_messaging::jetstream::JetStreamBus::connect(&url)
            .await
            .expect("connect to NATS");
        let namespace = shop_messaging::Namespace::new(&format!("test_{}", Uuid::now_v7().simple())).unwrap();
        bus.ensure_streams(&namespace).await.expect("create the test streams");
        Self { bus, namespace, url }
    }

    /// The names of the namespace's streams that exist on the server, sorted.
    pub async fn streams(&self) -> Vec<String> {
        use futures_util::StreamExt;
        let client = async_nats::connect(&self.url).await.expect("connect to NATS");
        let prefix = format!("{}_", self.namespace.as_str());
        let mut names: Vec<String> = async_nats::jetstream::new(client)
            .stream_names()
            .map(|name| name.expect("list the streams"))
            .filter(|name| std::future::ready(name.starts_with(&prefix)))
            .collect()
            .await;
        names.sort();
        names
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let (url, namespace) = (self.url.clone(), self.namespace.clone());
        let deleted = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let bus = shop_messaging::jetstream::JetStreamBus::connect(&url).await?;
                    bus.delete_streams(&namespace).await
                })
        })
        .join();
        if !matches!(deleted, Ok(Ok(()))) {
            eprintln!(
                "warning: could not delete the streams of test namespace {}",
                self.namespace
            );
        }
    }
}

/// The events a service's outbox holds, oldest first.
pub async fn outbox_events(db: &sqlx::PgPool) -> Vec<shop_contracts::events::Envelope> {
    let rows: Vec<sqlx::types::Json<shop_contracts::events::Envelope>> = sqlx::query_scalar!(
        r#"SELECT envelope AS "envelope: sqlx::types::Json<shop_contracts::events::Envelope>" FROM outbox ORDER BY id"#
    )
    .fetch_all(db)
    .await
    .expect("read the outbox");
    rows.into_iter().map(|row| row.0).collect()
}

/// Signs in through a gateway at `gateway` and returns the session cookie (`name=value`) to send
/// with later requests.
pub async fn sign_in(client: &reqwest::Client, gateway: &str, email: &str, password: &str) -> String {
    let login = client
        .post(format!("{gateway}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(login.status(), 200, "signing in as {email}");
    login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Checks an OpenAPI document as tools read it: every `$ref` points at something in the
/// document, and every operation that takes a body documents the answers the JSON extractor
/// gives before the handler runs (400, 413, 415).
pub fn assert_openapi_complete(document: &Value) {
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(object) => {
                if let Some(Value::String(target)) = object.get("$ref") {
                    found.push(target);
                }
                object.values().for_each(|child| refs(child, found));
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
            _ => {}
        }
    }
    let mut targets = Vec::new();
    refs(document, &mut targets);
    for target in targets {
        let resolves = target
            .strip_prefix('#')
            .is_some_and(|pointer| document.pointer(pointer).is_some());
        assert!(resolves, "dangling reference {target}");
    }
    let paths = document["paths"].as_object().expect("the document has paths");
    for (path, item) in paths {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(
                        operation["responses"][status].is_object(),
                        "{method} {path} takes a body and does not document {status}"
                    );
                }
            }
        }
    }
}

/// A loopback TCP port that is free and that no other test is handed while this process runs:
/// for a service or server the test starts and cannot hand a bound listener, or, left unused,
/// for an address where nothing listens.
///
/// It is picked at random below Linux's ephemeral range (32768–60999), from which the kernel
/// takes the ports of outgoing connections and of `bind(0)`, so nothing binds it by accident.
/// The reservation against other tests (other processes, under nextest) is the UDP port of the
/// same number, bound here and held until this process ends: a TCP listener cannot be held
/// open for the service to bind, but UDP and TCP ports are separate, and another test's
/// `free_port` fails to bind the UDP one. The kernel releases it however the process ends.
pub fn free_port() -> u16 {
    free_ports(1)
}

/// `count` consecutive free ports, as [`free_port`] finds and reserves one: the first of them.
/// For a program that takes one port and uses the ones after it.
pub fn free_ports(count: u16) -> u16 {
    const FIRST: u16 = 20_000;
    const COUNT: u16 = 12_000;
    static RESERVED: std::sync::Mutex<Vec<std::net::UdpSocket>> = std::sync::Mutex::new(Vec::new());
    'search: loop {
        // The low bits of a v7 UUID are random.
        let first = FIRST + (Uuid::now_v7().as_u128() % u128::from(COUNT - count)) as u16;
        let mut reservations = Vec::new();
        for port in first..first + count {
            let Ok(reservation) = std::net::UdpSocket::bind(("127.0.0.1", port)) else {
                continue 'search;
            };
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                continue 'search;
            }
            reservations.push(reservation);
        }
        RESERVED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(reservations);
        return first;
    }
}

/// Polls `check` every 50 ms until it holds; panics with `timed out waiting until {what}`
/// once 30 seconds have passed.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits, if needed, until at least `margin` is left of the current fixed `window` (counted
/// from the Unix epoch, as the gateway's rate limiter counts): calls made within `margin` from
/// then on share one window.
pub async fn away_from_window_end(window: Duration, margin: Duration) {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is past 1970");
    let left = Duration::from_millis((window.as_millis() - since_epoch.as_millis() % window.as_millis()) as u64);
    if left < margin {
        tokio::time::sleep(left + Duration::from_millis(10)).await;
    }
}

/// The shutdown future a service's `run(config, shutdown)` is given by [`RunningService`].
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A service's real `run(config, shutdown)` running in this test process, serving HTTP on
/// `127.0.0.1`.
pub struct RunningService {
    /// `http://127.0.0.1:{port}`.
    pub base_url: String,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningService {
    /// Spawns `run` with a shutdown future that completes on [`RunningService::stop`], and
    /// returns once `GET {base_url}/healthz` succeeds. `run` must listen on `port`, e.g.
    /// `|shutdown| my_service::run(config, shutdown)`.
    pub async fn start<Fut>(port: u16, run: impl FnOnce(Shutdown) -> Fut) -> Self
    where
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(Box::pin(async {
            let _ = stopped.await;
        })));
        let base_url = format!("http://127.0.0.1:{port}");
        let healthz = format!("{base_url}/healthz");
        let client = reqwest::Client::new();
        eventually("the service answers /healthz", async || {
            client.get(&healthz).send().await.is_ok_and(|r| r.status().is_success())
        })
        .await;
        Self {
            base_url,
            shutdown,
            task,
        }
    }

    /// Completes the service's shutdown future and waits for `run` to return: its error, a
    /// panic, or a service that had already stopped on its own is an error.
    pub async fn stop(self) -> anyhow::Result<()> {
        let asked = self.shutdown.send(()).is_ok();
        self.task.await??;
        anyhow::ensure!(asked, "the service stopped before it was asked to");
        Ok(())
    }
}

/// A [`RunningService`] on a fresh database of its own (which `run` migrates, as the binary
/// does), with a pool for the test to look into that database.
pub struct ServiceWithDatabase {
    pub service: RunningService,
    pub db: sqlx::PgPool,
    _database: TestDatabase,
}

impl ServiceWithDatabase {
    /// Creates a database whose name starts with `label` and starts `run` as
    /// [`RunningService::start`] does, giving it a free port to listen on and the database's
    /// URL.
    pub async fn start<Fut>(label: &str, run: impl FnOnce(u16, &str, Shutdown) -> Fut) -> Self
    where
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let database = TestDatabase::create(label).await;
        let port = free_port();
        let service = RunningService::start(port, |shutdown| run(port, &database.url, shutdown)).await;
        let db = sqlx::PgPool::connect(&database.url)
            .await
            .expect("connect to the service's database");
        Self {
            service,
            db,
            _database: database,
        }
    }

    /// The service's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.service.base_url)
    }

    /// Closes [`ServiceWithDatabase::db`] and stops the service; panics unless it stops
    /// cleanly within `limit`.
    pub async fn stop(self, limit: Duration) {
        self.db.close().await;
        tokio::time::timeout(limit, self.service.stop())
            .await
            .expect("the service stops in time")
            .expect("the service stops cleanly");
    }
}

/// A Redis key prefix of this test's own (`REDIS_URL`, default `redis://127.0.0.1:6379`);
/// every key under it is deleted when this value is dropped.
pub struct RedisPrefix {
    pub url: String,
    pub prefix: String,
}

impl RedisPrefix {
    pub fn new() -> Self {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        Self {
            url,
            prefix: format!("test:{}:", Uuid::now_v7().simple()),
        }
    }

    /// How many keys exist under the prefix.
    /// A connection to the test Redis.
    pub async fn connection(&self) -> redis::aio::ConnectionManager {
        redis::Client::open(self.url.as_str())
            .expect("valid REDIS_URL")
            .get_connection_manager()
            .await
            .expect("connect to Redis")
    }

    /// The keys that exist under the prefix.
    pub async fn keys(&self) -> Vec<String> {
        let mut conn = self.connection().await;
        redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut conn)
            .await
            .expect("list keys")
    }
}

impl Default for RedisPrefix {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        let deleted = std::thread::spawn(move || -> redis::RedisResult<()> {
            let mut conn = redis::Client::open(url.as_str())?.get_connection()?;
            let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut conn)?;
            if !keys.is_empty() {
                redis::cmd("DEL").arg(keys).query::<()>(&mut conn)?;
            }
            Ok(())
        })
        .join();
        if !matches!(deleted, Ok(Ok(()))) {
            eprintln!("warning: could not delete the Redis keys under {}", self.prefix);
        }
    }
}
