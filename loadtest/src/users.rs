//! The registered shoppers. Each is used by one journey at a time — a cart belongs to its
//! user, so two journeys sharing one would check out each other's items — and when all are
//! busy a journey signs a new shopper up, as a new customer would.

use std::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};

use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::api::{Request, Session, Shop};

const PASSWORD: &str = "loadtest-password-123";

#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    /// Orders this shopper placed during the run that may still be confirmed (and so cancelled).
    pub orders: Vec<Uuid>,
    /// The session cookie of a shopper who left signed in; their next journey continues it.
    pub session: Option<String>,
}

impl Account {
    pub fn password(&self) -> &str {
        PASSWORD
    }
}

pub struct Users {
    idle: Mutex<Vec<Account>>,
    /// Sign-ups during the run get addresses unique to it.
    run_tag: String,
    signed_up: AtomicU64,
}

fn registration(email: &str) -> serde_json::Value {
    json!({"email": email, "password": PASSWORD, "display_name": "Load Test Shopper"})
}

impl Users {
    /// Registers `count` shoppers `loadtest-<n>@loadtest.example` (already registered by an
    /// earlier run is fine: the same password), a few at a time.
    pub async fn prepare(shop: &std::sync::Arc<Shop>, count: usize) -> anyhow::Result<Self> {
        let mut accounts = Vec::with_capacity(count);
        let mut pending = (0..count).map(|n| format!("loadtest-{n}@loadtest.example"));
        let mut registering = JoinSet::new();
        loop {
            while registering.len() < 4 {
                let Some(email) = pending.next() else { break };
                let shop = shop.clone();
                registering.spawn(async move {
                    let mut session = Session::unrecorded(shop);
                    let reply = session
                        .send(Request::with_body(
                            Method::POST,
                            "",
                            "",
                            "/api/users",
                            registration(&email),
                        ))
                        .await?;
                    // 409: registered by an earlier run, with the same password.
                    if reply.status != 409 {
                        reply.success()?;
                    }
                    anyhow::Ok(email)
                });
            }
            match registering.join_next().await {
                Some(registered) => accounts.push(Account {
                    email: registered??,
                    orders: Vec::new(),
                    session: None,
                }),
                None => break,
            }
        }
        accounts.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(Self {
            idle: Mutex::new(accounts),
            run_tag: Uuid::now_v7().simple().to_string()[20..].to_owned(),
            signed_up: AtomicU64::new(0),
        })
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Account>> {
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An idle shopper, preferring one with orders of this run when `with_orders`.
    pub fn lease(&self, with_orders: bool) -> Option<Account> {
        let mut idle = self.idle();
        let index = with_orders
            .then(|| idle.iter().position(|account| !account.orders.is_empty()))
            .flatten()
            .or_else(|| (!idle.is_empty()).then_some(0))?;
        Some(idle.swap_remove(index))
    }

    pub fn give_back(&self, account: Account) {
        self.idle().push(account);
    }

    /// Signs a new shopper up (the journey's `register` step).
    pub async fn sign_up(&self, session: &mut Session) -> anyhow::Result<Account> {
        let n = self.signed_up.fetch_add(1, Ordering::Relaxed);
        let email = format!("loadtest-{}-{n}@loadtest.example", self.run_tag);
        session
            .call(Request::with_body(
                Method::POST,
                "POST /api/users",
                "register",
                "/api/users",
                registration(&email),
            ))
            .await?;
        Ok(Account {
            email,
            orders: Vec::new(),
            session: None,
        })
    }

    pub fn signed_up(&self) -> u64 {
        self.signed_up.load(Ordering::Relaxed)
    }

    pub fn pool_size(&self) -> usize {
        self.idle().len()
    }
}
