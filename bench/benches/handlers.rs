//! Handler time per page and per POST with the in-memory table (no store latency): the budget is
//! ≤ 1 ms median for the demo households and for a household with 500 invoices and 200 payments.
//! Each POST runs on a fresh signed-in app, so every iteration does the full work (and only the
//! handler is timed).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use lambda_http::http::Method;
use portal_bench::{grow_household, grow_household_by, history_of, signed_in, GROWN_BY, LONG_STATEMENT, MARIA, PAGES, PUBLIC_PAGES};
use portal_tests::TestApp;
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

/// 5013 as "5,013".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn pages(c: &mut Criterion) {
    let rt = runtime();
    let demo = rt.block_on(signed_in());
    let big = rt.block_on(async {
        let app = signed_in().await;
        grow_household(app.app.table.as_ref()).await;
        app
    });
    let anonymous = rt.block_on(TestApp::memory());
    // The households of growing history, named by their invoices ("5,013 invoices").
    let grown: Vec<(String, TestApp)> = GROWN_BY
        .iter()
        .map(|by| {
            rt.block_on(async {
                let app = signed_in().await;
                grow_household_by(app.app.table.as_ref(), *by, *by).await;
                let (invoices, _) = history_of(app.app.table.as_ref()).await;
                (format!("{} invoices, grown", thousands(invoices)), app)
            })
        })
        .collect();
    let mut households: Vec<(&str, &TestApp)> = vec![("demo", &demo), ("500 invoices", &big)];
    households.extend(grown.iter().map(|(name, app)| (name.as_str(), app)));
    let mut group = c.benchmark_group("page");
    for (name, path) in PAGES {
        for &(household, app) in &households {
            let path = &rt.block_on(portal_bench::as_linked(app, path));
            let (status, _) = rt.block_on(portal_bench::open(app, path));
            assert!(status == 200, "{path} answered {status}");
            group.bench_function(format!("{name} ({household})"), |b| {
                b.iter(|| rt.block_on(portal_cli::dispatch(&app.app, app.build_request(Method::GET, path, None))))
            });
        }
    }
    for (name, path) in PUBLIC_PAGES {
        group.bench_function(format!("{name} (signed out)"), |b| {
            b.iter(|| rt.block_on(portal_cli::dispatch(&anonymous.app, anonymous.build_request(Method::GET, path, None))))
        });
    }
    group.finish();
    // A report whose size is the period's: ten years of the grown household's history, every
    // invoice and payment on it (the pages above show the default year).
    let mut group = c.benchmark_group("report");
    let (status, _) = rt.block_on(portal_bench::open(&big, LONG_STATEMENT));
    assert!(status == 200, "{LONG_STATEMENT} answered {status}");
    group.bench_function("statement 2010–2019, 700 lines", |b| {
        b.iter(|| rt.block_on(portal_cli::dispatch(&big.app, big.build_request(Method::GET, LONG_STATEMENT, None))))
    });
    group.finish();
}

/// A POST: `prepare` returns the form (after opening whatever page provides its tokens) on a fresh app.
struct Post {
    name: &'static str,
    path: &'static str,
    signed_in: bool,
    form_page: &'static str,
    fields: &'static [(&'static str, &'static str)],
    /// The status the POST answers when it did its work.
    expect: u16,
}

const POSTS: &[Post] = &[
    Post {
        name: "request a sign-in code",
        path: "/sign-in",
        signed_in: false,
        form_page: "/sign-in",
        fields: &[("email", MARIA)],
        expect: 303,
    },
    Post {
        name: "pay part of an invoice (saved card)",
        path: "/invoices/inv-1008/pay",
        signed_in: true,
        form_page: "/invoices/inv-1008/pay",
        fields: &[("amount", "20.00"), ("source", "src-visa"), ("confirm", "1"), ("allocation", "inv-1008=20.00")],
        expect: 303,
    },
    Post {
        name: "save contact details",
        path: "/members/maria/contact",
        signed_in: true,
        form_page: "/members/maria/contact",
        fields: &[
            ("email", MARIA),
            ("phone_mobile", "512-555-0111"),
            ("phone_home", ""),
            ("phone_work", ""),
            ("address_line1", "1208 Pecan Street"),
            ("address_line2", ""),
            ("city", "Cedar Valley"),
            ("state", "TX"),
            ("postal_code", "78613"),
        ],
        expect: 303,
    },
    Post {
        name: "add a bank account",
        path: "/payment-methods/new",
        signed_in: true,
        form_page: "/payment-methods/new",
        fields: &[
            ("new_kind", "bank"),
            ("account_holder", "Maria Lopez"),
            ("routing_number", "021000021"),
            ("account_number", "55554444"),
            ("account_type", "savings"),
        ],
        expect: 303,
    },
    Post {
        name: "remove a payment method",
        path: "/payment-methods/src-checking/remove",
        signed_in: true,
        form_page: "/payment-methods",
        fields: &[],
        expect: 303,
    },
    Post {
        name: "sign an agreement",
        path: "/agreements/agr-financial/sign",
        signed_in: true,
        form_page: "/agreements/agr-financial",
        fields: &[("signer_name", "Maria Lopez"), ("consent", "yes")],
        expect: 303,
    },
    Post {
        name: "renew a membership",
        path: "/memberships/ms-lopez-2/renew",
        signed_in: true,
        form_page: "/memberships/ms-lopez-2/renew",
        fields: &[],
        expect: 303,
    },
    Post {
        name: "price a new dependent",
        path: "/memberships/ms-lopez-2/dependents/new",
        signed_in: true,
        form_page: "/memberships/ms-lopez-2/dependents/new",
        fields: &[
            ("first_name", "Lucas"),
            ("last_name", "Lopez"),
            ("date_of_birth", "2020-05-01"),
            ("sex", "male"),
            ("relationship", "child"),
        ],
        expect: 200,
    },
];

/// A fresh app (signed in when the POST needs it) and the POST's request with its tokens.
async fn prepare(post: &Post, grow: bool) -> (TestApp, lambda_http::Request) {
    let mut app = if post.signed_in { signed_in().await } else { TestApp::memory().await };
    if grow {
        grow_household(app.app.table.as_ref()).await;
    }
    let form = app.get(post.form_page).await;
    let csrf = form.csrf_token();
    let mut fields = vec![("csrf_token".to_owned(), csrf)];
    for hidden in ["idempotency_key", "version"] {
        if form.body.contains(&format!(r#"name="{hidden}""#)) {
            fields.push((hidden.to_owned(), TestApp::hidden(&form, hidden)));
        }
    }
    fields.extend(post.fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let request = app.build_request(Method::POST, post.path, Some(&fields));
    (app, request)
}

fn posts(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("post");
    for post in POSTS {
        for (household, grow) in [("demo", false), ("500 invoices", true)] {
            if grow && !post.signed_in {
                continue;
            }
            // Once outside the measurement: the POST does its work (and not an error page).
            let (app, request) = rt.block_on(prepare(post, grow));
            let status = rt.block_on(portal_cli::dispatch(&app.app, request)).status().as_u16();
            assert_eq!(status, post.expect, "{} answered {status}", post.name);
            group.bench_function(format!("{} ({household})", post.name), |b| {
                b.iter_batched(
                    || rt.block_on(prepare(post, grow)),
                    |(app, request)| {
                        let response = rt.block_on(portal_cli::dispatch(&app.app, request));
                        (app, response)
                    },
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_secs(1));
    targets = pages, posts
}
criterion_main!(benches);
