//! `docs/architecture.md` stays true to the code: every route the portal serves and every
//! function crate is named in it, and every rule it points at exists.

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/architecture.md")).expect("docs/architecture.md")
}

#[test]
fn every_route_and_function_is_in_the_architecture() {
    let doc = doc();
    let cargo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).expect("Cargo.toml");
    // The production paths, as the local router lists them (`[workspace.metadata.lambda.watch.router]`).
    let router = cargo.split("[workspace.metadata.lambda.watch.router]").nth(1).expect("the router table");
    let paths: Vec<&str> = router.lines().take_while(|l| !l.starts_with('[')).filter_map(|l| l.split('"').nth(1)).collect();
    assert!(paths.len() > 20, "{paths:?}");
    for path in paths {
        assert!(doc.contains(&format!("`{path}`")), "docs/architecture.md does not name {path}");
    }
    for function in portal_templates::routes::Function::ALL {
        assert!(doc.contains(&format!("| {} |", function.name())), "docs/architecture.md does not list the {} function", function.name());
    }
}

#[test]
fn the_rules_it_points_at_exist() {
    let doc = doc();
    let src = |file: &str| std::fs::read_to_string(format!("{}/../shared/domain/src/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    for (file, names) in [
        ("access.rs", &["may_share_billing", "share_billing", "handles_billing_of"][..]),
        ("contact.rs", &["fn update", "fn request_email_change", "fn confirm_email_change"][..]),
        (
            "pay.rs",
            &["fn amount_to_pay", "fn preselected", "fn saved_source", "fn allocate", "fn due_oldest_first", "fn allocation_text"][..],
        ),
        ("membership.rs", &["fn accepts_new_members", "fn is_renewable"][..]),
        ("enrol.rs", &["fn already_enrolled", "fn quote", "fn carried_into"][..]),
        ("payment.rs", &["fn is_expired"][..]),
        ("agreement.rs", &["fn may_sign", "fn check_signature"][..]),
        ("receipts.rs", &["fn covered", "fn receipt", "fn receipts_in", "fn year_summary", "fn hsa_check"][..]),
        ("leaving.rs", &["fn quote", "fn leave", "fn withdraw", "fn carried_out"][..]),
        ("reminders.rs", &["fn due", "fn claim", "fn release", "fn note_waiting"][..]),
    ] {
        let code = src(file);
        for name in names {
            let bare = name.trim_start_matches("fn ");
            assert!(doc.contains(bare), "docs/architecture.md does not point at {bare}");
            assert!(code.contains(name), "{file} has no {name}, which docs/architecture.md points at");
        }
    }
}
