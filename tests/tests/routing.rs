//! The route table, the function crates and the `cargo lambda watch` router agree, so a new
//! route or function cannot be forgotten in one of them.

use portal_templates::routes::{Function, Route};

/// `path pattern -> function` from `[workspace.metadata.lambda.watch.router]` in Cargo.toml.
fn watch_router() -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
    let section = manifest.split("[workspace.metadata.lambda.watch.router]").nth(1).expect("the router section");
    section
        .lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter_map(|l| {
            let (path, function) = l.split_once('=')?;
            Some((path.trim().trim_matches('"').to_owned(), function.trim().trim_matches('"').to_owned()))
        })
        .collect()
}

fn matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| (a.starts_with('{') && a.ends_with('}') && !b.is_empty()) || a == b)
}

#[test]
fn every_route_is_in_the_watch_router_with_its_function() {
    let router = watch_router();
    assert!(!router.is_empty());
    for route in Route::examples() {
        let path = route.path();
        let hits: Vec<&(String, String)> = router.iter().filter(|(pattern, _)| matches(pattern, &path)).collect();
        assert_eq!(hits.len(), 1, "{path} matches exactly one router pattern: {hits:?}");
        assert_eq!(hits[0].1, route.function().name(), "{path}");
    }
    for (pattern, _) in &router {
        let example = pattern
            .replace("/unsubscribe/{token}", "/unsubscribe/lopez.x1.0000")
            .replace("{token}", &"a".repeat(43))
            .replace("{file}", "portal.css")
            .replace("{id}", "x1")
            .replace("{year}", "2026");
        assert!(Route::parse(&example).is_some(), "the router's {pattern} is a route");
    }
}

#[test]
fn every_function_has_a_crate_and_every_crate_a_function() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    let mut crates: Vec<String> =
        std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    crates.sort();
    let mut names: Vec<String> = Function::ALL.iter().map(|f| f.name().to_owned()).collect();
    // Functions no browser reaches (invoked by the table's stream and a schedule) have no routes.
    names.push("practice-feed".to_owned());
    names.push("reminders".to_owned());
    names.sort();
    assert_eq!(crates, names);
}

/// The functions have the United States' time zones built in (`.cargo/config.toml`), and the
/// template lets an operator choose only those: no zone that would fail at start.
#[test]
fn the_template_offers_exactly_the_time_zones_built_in() {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml")).unwrap();
    let section = template.split("PracticeTimeZone:").nth(1).expect("the parameter");
    let allowed: Vec<&str> = section
        .split("AllowedValues:")
        .nth(1)
        .expect("its allowed values")
        .lines()
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- "))
        .collect();
    let built: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    for zone in &allowed {
        assert!(built.contains(zone), "{zone} is offered but not built in: the function would not start");
    }
    // The filter is in effect: the offered zones, the links to them, and the fixed-offset ones.
    assert!(built.len() < 150, "{} zones built in", built.len());
    assert!(!built.contains(&"Europe/Paris"));
    assert!(allowed.contains(&"America/Chicago"));
}
