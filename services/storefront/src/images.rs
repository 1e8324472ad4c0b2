//! Product pictures drawn by the shop itself: a deterministic SVG per product, its motif from
//! the category and its colours and layout from the product's SKU, so every product has a
//! picture and none is loaded from another host. The same path always gives the same bytes,
//! which is why they can be cached for a year.

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// A small line drawing per seeded category, in a 100 × 100 box; other categories get a parcel.
fn motif(category: &str) -> &'static str {
    match category {
        "electronics" => r#"<rect x="22" y="28" width="56" height="38" rx="4"/><path d="M38 76h24M50 66v10"/>"#,
        "books" => r#"<path d="M50 30c-8-6-20-6-28-2v44c8-4 20-4 28 2 8-6 20-6 28-2V28c-8-4-20-4-28 2zM50 30v44"/>"#,
        "kitchen" => {
            r#"<path d="M24 44h52v8a20 20 0 0 1-20 20H44a20 20 0 0 1-20-20zM76 48h8M36 34c0-6 6-6 6-12M52 34c0-6 6-6 6-12"/>"#
        }
        "outdoor" => r#"<path d="M16 74 42 30l14 24 8-12 20 32z"/><circle cx="72" cy="26" r="6"/>"#,
        "toys" => {
            r#"<circle cx="50" cy="50" r="22"/><path d="M28 50h44M50 28c10 8 10 36 0 44M50 28c-10 8-10 36 0 44"/>"#
        }
        "clothing" => r#"<path d="M38 24 22 34l8 12 6-4v32h28V42l6 4 8-12-16-10c-2 6-6 8-12 8s-10-2-12-8z"/>"#,
        "beauty" => r#"<rect x="40" y="40" width="20" height="36" rx="3"/><path d="M44 40V28h12v12M46 28l4-6 4 6"/>"#,
        "sports" => {
            r#"<circle cx="50" cy="50" r="24"/><path d="M26 50h48M50 26v48M33 33c10 10 24 10 34 0M33 67c10-10 24-10 34 0"/>"#
        }
        "garden" => {
            r#"<path d="M50 78V46M50 56c-14 0-20-10-20-22 12 0 20 8 20 22zM50 48c0-14 8-22 20-22 0 12-6 22-20 22zM34 78h32"/>"#
        }
        "office" => r#"<path d="M30 24h30l10 10v42H30zM60 24v10h10M38 46h24M38 56h24M38 66h16"/>"#,
        "pets" => {
            r#"<circle cx="50" cy="60" r="12"/><circle cx="34" cy="42" r="6"/><circle cx="46" cy="32" r="6"/><circle cx="58" cy="32" r="6"/><circle cx="68" cy="42" r="6"/>"#
        }
        "music" => r#"<path d="M40 70V32l28-6v38"/><circle cx="34" cy="70" r="7"/><circle cx="62" cy="64" r="7"/>"#,
        "home" => r#"<path d="M22 50 50 26l28 24M30 44v32h40V44M44 76V58h12v18"/>"#,
        "automotive" => {
            r#"<path d="M18 60l8-18h48l8 18v10H18zM26 42l6-10h36l6 10"/><circle cx="32" cy="70" r="6"/><circle cx="68" cy="70" r="6"/>"#
        }
        "grocery" => r#"<path d="M22 34h56l-6 38H28zM36 34l6-12M64 34l-6-12M40 46v16M50 46v16M60 46v16"/>"#,
        "baby" => r#"<circle cx="50" cy="46" r="18"/><path d="M42 44h0M58 44h0M44 54c4 4 8 4 12 0M46 64h8l-4 12z"/>"#,
        _ => r#"<path d="M24 36 50 24l26 12v30L50 78 24 66zM24 36l26 12 26-12M50 48v30"/>"#,
    }
}

/// FNV-1a: tiny, stable across builds and platforms (unlike the standard hasher).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Lower-case letters, digits and dashes: the only names a picture can have.
fn is_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The picture of `sku` in `category`.
pub fn product_svg(category: &str, sku: &str) -> String {
    let hash = fnv1a(sku);
    let hue = hash % 360;
    let accent = (hue + 150 + (hash >> 16) % 60) % 360;
    let scale = 90 + (hash >> 24) % 20;
    let tilt = ((hash >> 32) % 21) as i64 - 10;
    let dots: String = (0..5)
        .map(|i| {
            let bits = hash.rotate_right(i * 11);
            format!(
                r#"<circle cx="{}" cy="{}" r="{}"/>"#,
                8 + bits % 84,
                8 + (bits >> 8) % 84,
                2 + (bits >> 16) % 5
            )
        })
        .collect();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" role="img"><rect width="100" height="100" fill="hsl({hue} 45% 92%)"/><g fill="hsl({accent} 55% 70%)" opacity=".55">{dots}</g><g transform="rotate({tilt} 50 50) translate(50 50) scale({}) translate(-50 -50)" fill="none" stroke="hsl({hue} 45% 30%)" stroke-width="3" stroke-linecap="round" stroke-linejoin="round">{}</g></svg>"##,
        f64::from(scale as u32) / 100.0,
        motif(category)
    )
}

/// `GET /images/products/{category}/{sku}.svg`
pub async fn product_image(Path((category, file)): Path<(String, String)>) -> Response {
    let Some(sku) = file.strip_suffix(".svg").filter(|sku| is_name(sku)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !is_name(&category) {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        product_svg(&category, sku),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_is_the_same_every_time_and_differs_between_products() {
        let one = product_svg("kitchen", "kitc-000001");
        assert_eq!(one, product_svg("kitchen", "kitc-000001"));
        assert_ne!(one, product_svg("kitchen", "kitc-000002"));
        assert!(one.starts_with("<svg") && one.ends_with("</svg>"));
        assert!(product_svg("no-such", "x").contains("M24 36"), "the parcel");
    }

    #[test]
    fn only_plain_names_are_pictures() {
        assert!(is_name("elec-000001"));
        for bad in ["", "ELEC", "a/b", "..", "a.b", &"a".repeat(65)] {
            assert!(!is_name(bad), "{bad:?}");
        }
    }
}
