//! Instance lists as configured: `http://host:port` entries, optionally weighted with `=N`.

use std::str::FromStr;

use axum::http::{Uri, uri::Scheme};

/// Large enough for any sensible ratio, small enough to catch a typo.
const MAX_WEIGHT: u32 = 1000;

/// One instance: base URL like `http://127.0.0.1:8081` (no trailing slash) and a weight ≥ 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    pub url: String,
    pub weight: u32,
}

impl FromStr for InstanceSpec {
    type Err = String;

    /// `http://host:port` (weight 1) or `http://host:port=3`.
    fn from_str(entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        let (url, weight) = match entry.rsplit_once('=') {
            Some((url, weight)) => (url, parse_weight(entry, weight)?),
            None => (entry, 1),
        };
        Ok(Self {
            url: base_url(entry, url)?,
            weight,
        })
    }
}

/// A comma-separated list of instances: at least one, none twice.
pub fn parse_instances(list: &str) -> Result<Vec<InstanceSpec>, String> {
    if list.trim().is_empty() {
        return Err("no instances given: expected a comma-separated list like \
                    `http://10.0.0.1:8080,http://10.0.0.2:8080=2`"
            .into());
    }
    let mut instances: Vec<InstanceSpec> = Vec::new();
    for entry in list.split(',') {
        if entry.trim().is_empty() {
            return Err(format!("instance list `{list}` has an empty entry"));
        }
        let instance: InstanceSpec = entry.parse()?;
        if instances.iter().any(|known| known.url == instance.url) {
            return Err(format!("instance `{}` is listed twice", instance.url));
        }
        instances.push(instance);
    }
    Ok(instances)
}

fn parse_weight(entry: &str, weight: &str) -> Result<u32, String> {
    weight
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|w| (1..=MAX_WEIGHT).contains(w))
        .ok_or_else(|| {
            format!("instance `{entry}`: the weight after `=` must be a whole number from 1 to {MAX_WEIGHT}")
        })
}

/// `http://host[:port]`, normalised to lower case without a trailing slash.
fn base_url(entry: &str, url: &str) -> Result<String, String> {
    let invalid =
        |why: &str| format!("instance `{entry}`: {why}; expected `http://host:port` or `http://host:port=weight`");
    let uri: Uri = url.trim().parse().map_err(|_| invalid("not a URL"))?;
    if uri.scheme() != Some(&Scheme::HTTP) {
        return Err(invalid("the scheme must be http"));
    }
    let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
    if authority.host().is_empty() {
        return Err(invalid("no host"));
    }
    if authority.as_str().contains('@') {
        return Err(invalid("credentials are not allowed in the URL"));
    }
    // The host is a prefix of the authority (there are no credentials), so the rest is the port.
    let port = &authority.as_str()[authority.host().len()..];
    let bad_port = match authority.port_u16() {
        Some(number) => number == 0,
        None => !port.is_empty(),
    };
    if bad_port {
        return Err(invalid("the port must be a number from 1 to 65535"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(invalid("a base URL has no path or query"));
    }
    Ok(format!("http://{}", authority.as_str().to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str, weight: u32) -> InstanceSpec {
        InstanceSpec {
            url: url.into(),
            weight,
        }
    }

    #[test]
    fn an_instance_has_weight_one_unless_given() {
        assert_eq!("http://127.0.0.1:8081".parse(), Ok(spec("http://127.0.0.1:8081", 1)));
        assert_eq!("http://product-1:8080=3".parse(), Ok(spec("http://product-1:8080", 3)));
        assert_eq!(
            " http://product-1:8080 = 2 ".parse(),
            Ok(spec("http://product-1:8080", 2))
        );
    }

    #[test]
    fn urls_are_normalised() {
        assert_eq!("http://Product-1:8080/".parse(), Ok(spec("http://product-1:8080", 1)));
        assert_eq!("HTTP://[::1]:8080".parse(), Ok(spec("http://[::1]:8080", 1)));
        assert_eq!("http://product".parse(), Ok(spec("http://product", 1)));
    }

    #[test]
    fn bad_weights_are_rejected() {
        for entry in [
            "http://a:1=0",
            "http://a:1=-1",
            "http://a:1=1.5",
            "http://a:1=x",
            "http://a:1=",
            "http://a:1=1001",
        ] {
            let error = entry.parse::<InstanceSpec>().expect_err(entry);
            assert!(error.contains("weight"), "{entry}: {error}");
            assert!(error.contains(entry), "{entry}: {error}");
        }
    }

    #[test]
    fn bad_urls_are_rejected() {
        for (entry, why) in [
            ("", "not a URL"),
            ("product:8080", "scheme"),
            ("127.0.0.1:8080", "scheme"),
            ("https://a:8080", "scheme"),
            ("ftp://a:8080", "scheme"),
            ("http://", "not a URL"),
            ("http://:8080", "no host"),
            ("http://user:pw@a:8080", "credentials"),
            ("http://a:0", "port"),
            ("http://a:99999", "port"),
            ("http://a:", "port"),
            ("http://a:x", "port"),
            ("http://a:8080/api", "no path"),
            ("http://a:8080/?x=1", "no path"),
            ("http://a b:8080", "not a URL"),
        ] {
            let error = entry.parse::<InstanceSpec>().expect_err(entry);
            assert!(error.contains(why), "{entry}: {error}");
        }
    }

    #[test]
    fn a_list_is_comma_separated() {
        assert_eq!(
            parse_instances("http://a:1, http://b:2=3,http://c:3"),
            Ok(vec![
                spec("http://a:1", 1),
                spec("http://b:2", 3),
                spec("http://c:3", 1)
            ])
        );
        assert_eq!(parse_instances("http://a:1"), Ok(vec![spec("http://a:1", 1)]));
    }

    #[test]
    fn a_list_needs_an_instance() {
        for list in ["", "  "] {
            assert!(parse_instances(list).expect_err(list).contains("no instances"));
        }
        for list in [",", "http://a:1,", "http://a:1,,http://b:1", ",http://a:1"] {
            assert!(parse_instances(list).expect_err(list).contains("empty entry"), "{list}");
        }
    }

    #[test]
    fn a_list_has_no_duplicates() {
        for list in ["http://a:1,http://a:1", "http://a:1=2,http://b:1,http://A:1/"] {
            let error = parse_instances(list).expect_err(list);
            assert_eq!(error, "instance `http://a:1` is listed twice");
        }
    }

    #[test]
    fn a_bad_entry_fails_the_list() {
        let error = parse_instances("http://a:1,b:2").unwrap_err();
        assert!(error.contains("`b:2`"), "{error}");
    }
}
