//! Carts and their lines. Every change to a cart first takes [`lock`], so concurrent
//! requests for one user apply one after another and the cart's rules hold.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::catalog::ProductRow;
use crate::domain::{
    cart::{CartLine, Product},
    quantity::Quantity,
};

/// Creates the user's cart if needed and locks it until the transaction ends.
pub async fn lock(tx: &mut PgConnection, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO carts (user_id) VALUES ($1)
         ON CONFLICT (user_id) DO UPDATE SET updated_at = now()",
        user_id,
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// The user's cart lines in the order they were added, with the replica's current products.
pub async fn lines(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<Vec<CartLine>> {
    sqlx::query!(
        "SELECT p.product_id, p.sku, p.name, p.price_minor, p.currency, p.active, i.quantity
         FROM cart_items i JOIN product_replica p USING (product_id)
         WHERE i.user_id = $1
         ORDER BY i.added_at, i.product_id",
        user_id,
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|row| {
        Ok(CartLine {
            product: Product::try_from(ProductRow {
                product_id: row.product_id,
                sku: row.sku,
                name: row.name,
                price_minor: row.price_minor,
                currency: row.currency,
                active: row.active,
            })?,
            quantity: super::quantity(row.quantity)?,
        })
    })
    .collect()
}

pub async fn insert_line(
    tx: &mut PgConnection,
    user_id: Uuid,
    product_id: Uuid,
    quantity: Quantity,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO cart_items (user_id, product_id, quantity, added_at) VALUES ($1, $2, $3, now())",
        user_id,
        product_id,
        i32::from(quantity),
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Sets the quantity of a line; false if the cart has no line for the product.
pub async fn set_quantity(
    tx: &mut PgConnection,
    user_id: Uuid,
    product_id: Uuid,
    quantity: Quantity,
) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE cart_items SET quantity = $3 WHERE user_id = $1 AND product_id = $2",
        user_id,
        product_id,
        i32::from(quantity),
    )
    .execute(tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Removes a line; false if the cart has no line for the product.
pub async fn remove_line(tx: &mut PgConnection, user_id: Uuid, product_id: Uuid) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "DELETE FROM cart_items WHERE user_id = $1 AND product_id = $2",
        user_id,
        product_id
    )
    .execute(tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn clear(tx: &mut PgConnection, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM cart_items WHERE user_id = $1", user_id)
        .execute(tx)
        .await?;
    Ok(())
}
