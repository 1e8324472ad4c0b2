//! Demo accounts for trying the shop out locally. Never run this against a real deployment:
//! the passwords are printed in the README.

use anyhow::Context;
use shop_contracts::Role;
use shop_platform::db::is_constraint_violation;
use sqlx::PgPool;

use crate::{
    credentials,
    domain::{DisplayName, Email, Password},
    store::users::{self, NewUser},
};

/// One demo account and the password to sign in with.
#[derive(Debug, Clone, Copy)]
pub struct DemoAccount {
    pub email: &'static str,
    pub password: &'static str,
    pub display_name: &'static str,
    pub role: Role,
}

pub const ADMIN_EMAIL: &str = "admin@shop.local";
pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const CUSTOMER_EMAIL: &str = "customer@shop.local";
pub const CUSTOMER_PASSWORD: &str = "customer-password-123";

pub const ADMIN: DemoAccount = DemoAccount {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
    display_name: "Demo Admin",
    role: Role::Admin,
};
pub const CUSTOMER: DemoAccount = DemoAccount {
    email: CUSTOMER_EMAIL,
    password: CUSTOMER_PASSWORD,
    display_name: "Demo Customer",
    role: Role::Customer,
};
pub const DEMO_ACCOUNTS: [DemoAccount; 2] = [ADMIN, CUSTOMER];

/// Creates the [`DEMO_ACCOUNTS`] that do not exist yet. Existing accounts with those addresses
/// are left exactly as they are (their passwords may have been changed on purpose), so running
/// this again is harmless.
pub async fn demo_accounts(db: &PgPool) -> anyhow::Result<()> {
    for account in DEMO_ACCOUNTS {
        create_if_missing(db, account)
            .await
            .with_context(|| format!("cannot create demo account {}", account.email))?;
    }
    Ok(())
}

async fn create_if_missing(db: &PgPool, account: DemoAccount) -> anyhow::Result<()> {
    let email = Email::parse(account.email)?;
    // Checked first so an existing account costs a query, not an argon2 hash.
    if users::credentials_by_email(db, &email).await?.is_some() {
        return Ok(());
    }
    // The demo passwords contain their e-mail's name part on purpose (easy to remember), so
    // only the policy that needs no other field applies.
    let password = Password::parse(account.password)?;
    let display_name = DisplayName::parse(account.display_name)?;
    let password_hash = credentials::hash(&password).await?;
    let new_user = NewUser {
        email: &email,
        display_name: &display_name,
        role: account.role,
        password_hash: &password_hash,
    };
    match users::insert(db, new_user).await {
        Ok(_) => {
            tracing::info!(
                email = account.email,
                role = account.role.as_str(),
                "created demo account"
            );
            Ok(())
        }
        // Another process seeding at the same moment got there first.
        Err(e) if is_constraint_violation(&e, users::EMAIL_TAKEN) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
