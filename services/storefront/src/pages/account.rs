//! Signing in and out, registering, and the account page: the profile and saved addresses.

use askama::Template;
use axum::{
    extract::{Path, Query},
    http::{Method, StatusCode},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{FieldErrors, Layout, PageError, PageForm, PageResult, local_path, render, render_with, see_other};
use crate::{
    api::Shopper,
    model::{SavedAddress, User},
};

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SigninForm {
    #[serde(flatten)]
    credentials: Credentials,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    layout: Layout,
    email: String,
    next: String,
    error: String,
}

pub async fn signin_form(shopper: Shopper, Query(query): Query<NextQuery>) -> PageResult {
    Ok(render(&SigninPage {
        layout: Layout::load(&shopper, "Sign in").await,
        email: String::new(),
        next: local_path(query.next.as_deref()),
        error: String::new(),
    }))
}

pub async fn signin(shopper: Shopper, PageForm(form): PageForm<SigninForm>) -> PageResult {
    let next = local_path(form.next.as_deref());
    let outcome = shopper
        .post::<serde::de::IgnoredAny>("/api/auth/login", &form.credentials)
        .await;
    let Err(error) = outcome else {
        return Ok(see_other(&next));
    };
    let (status, message) = match error.status() {
        StatusCode::UNAUTHORIZED | StatusCode::UNPROCESSABLE_ENTITY => (
            StatusCode::UNAUTHORIZED,
            "That email and password do not match an account.".to_owned(),
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts; wait a minute and try again.".to_owned(),
        ),
        _ => return Err(PageError::Api(error)),
    };
    Ok(render_with(
        status,
        &SigninPage {
            layout: Layout::load(&shopper, "Sign in").await,
            email: form.credentials.email,
            next,
            error: message,
        },
    ))
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Registration {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: Layout,
    form: Registration,
    errors: FieldErrors,
}

pub async fn register_form(shopper: Shopper) -> PageResult {
    Ok(render(&RegisterPage {
        layout: Layout::load(&shopper, "Create an account").await,
        form: Registration::default(),
        errors: FieldErrors::default(),
    }))
}

pub async fn register(shopper: Shopper, PageForm(form): PageForm<Registration>) -> PageResult {
    let errors = match shopper.post::<serde::de::IgnoredAny>("/api/users", &form).await {
        Ok(_) => {
            let credentials = Credentials {
                email: form.email.clone(),
                password: form.password.clone(),
            };
            shopper
                .post::<serde::de::IgnoredAny>("/api/auth/login", &credentials)
                .await?;
            return Ok(see_other("/account"));
        }
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => FieldErrors::from_api(&error),
        Err(error) if error.status() == StatusCode::CONFLICT => {
            FieldErrors::one("email", "An account with this email already exists; sign in instead.")
        }
        Err(error) => return Err(error.into()),
    };
    Ok(render_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &RegisterPage {
            layout: Layout::load(&shopper, "Create an account").await,
            form: Registration {
                password: String::new(),
                ..form
            },
            errors,
        },
    ))
}

pub async fn signout(shopper: Shopper) -> PageResult {
    shopper.send(Method::POST, "/api/auth/logout", None::<&()>).await?;
    Ok(see_other("/"))
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct AddressForm {
    #[serde(default)]
    pub recipient: String,
    #[serde(default)]
    pub line1: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub line2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub country: String,
}

impl AddressForm {
    /// What a browser's form needs before the API reads it: the country code upper-cased (the
    /// form asks for `US`; people type `us`) and a blank second line left out.
    pub fn tidy(&mut self) {
        self.country = self.country.trim().to_ascii_uppercase();
        if self.line2.trim().is_empty() {
            self.line2.clear();
        }
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    user: User,
    member_since: String,
    addresses: Vec<SavedAddress>,
    form: AddressForm,
    errors: FieldErrors,
}

async fn account_page(shopper: &Shopper, status: StatusCode, form: AddressForm, errors: FieldErrors) -> PageResult {
    let (layout, user, addresses) = tokio::join!(
        Layout::load(shopper, "Your account"),
        shopper.get::<User>("/api/users/me"),
        shopper.get::<Vec<SavedAddress>>("/api/users/me/addresses"),
    );
    let user = user?;
    Ok(render_with(
        status,
        &AccountPage {
            layout,
            member_since: user.created_at.format("%B %Y").to_string(),
            user,
            addresses: addresses?,
            form,
            errors,
        },
    ))
}

pub async fn account(shopper: Shopper) -> PageResult {
    account_page(&shopper, StatusCode::OK, AddressForm::default(), FieldErrors::default()).await
}

pub async fn add_address(shopper: Shopper, PageForm(mut form): PageForm<AddressForm>) -> PageResult {
    form.tidy();
    match shopper.send(Method::POST, "/api/users/me/addresses", Some(&form)).await {
        Ok(()) => Ok(see_other("/account")),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let errors = FieldErrors::from_api(&error);
            account_page(&shopper, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await
        }
        Err(error) if error.status() == StatusCode::CONFLICT => {
            let errors = FieldErrors::one("recipient", error.detail());
            account_page(&shopper, StatusCode::CONFLICT, form, errors).await
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
}

pub async fn update_profile(shopper: Shopper, PageForm(form): PageForm<ProfileForm>) -> PageResult {
    match shopper.send(Method::PATCH, "/api/users/me", Some(&form)).await {
        Ok(()) => Ok(see_other("/account")),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let errors = FieldErrors::from_api(&error);
            account_page(
                &shopper,
                StatusCode::UNPROCESSABLE_ENTITY,
                AddressForm::default(),
                errors,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn delete_address(shopper: Shopper, Path(id): Path<Uuid>) -> PageResult {
    match shopper
        .send(Method::DELETE, &format!("/api/users/me/addresses/{id}"), None::<&()>)
        .await
    {
        Ok(()) => Ok(see_other("/account")),
        Err(error) if error.status() == StatusCode::NOT_FOUND => Err(PageError::NotFound("address")),
        Err(error) => Err(error.into()),
    }
}
