//! The HTTP API: public account and address routes under `/api/users`, and the internal
//! credential check the gateway's sign-in uses.

mod addresses;
mod credentials;
mod users;

use shop_platform::openapi::IdentitySecurity;
use sqlx::PgPool;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "User service",
        description = "Accounts, credentials, profiles and shipping addresses."
    ),
    modifiers(&IdentitySecurity),
    tags(
        (name = "users", description = "Registration, your own profile, and accounts for administrators"),
        (name = "addresses", description = "Your shipping addresses"),
        (name = "internal", description = "Called by the gateway only; never routed to the public"),
    )
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<PgPool> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(users::register))
        .routes(routes!(users::get_me, users::update_me))
        .routes(routes!(users::get_user))
        .routes(routes!(users::change_role))
        .routes(routes!(addresses::list_addresses, addresses::create_address))
        .routes(routes!(addresses::replace_address, addresses::delete_address))
        .routes(routes!(credentials::verify_credentials))
}

/// Turns a role read back from the database into the API's role.
fn parse_role(stored: &str) -> anyhow::Result<shop_contracts::Role> {
    shop_contracts::Role::parse(stored).ok_or_else(|| anyhow::anyhow!("unknown role {stored:?} in the users table"))
}
