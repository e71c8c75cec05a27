//! One storage contract, run against the in-memory table and DynamoDB (moto's server).

use std::sync::Arc;

use chrono::Duration;
use portal_adapters::{ManualClock, MemoryTable};
use portal_domain::ports::{attr, Condition, Item, Key, Update, Value, Write};
use portal_domain::{Clock, StoreError, Table};
use portal_tests::{fresh_dynamo_table, test_now};
use rust_decimal::Decimal;

type Fixture = (Arc<dyn Table>, Arc<ManualClock>);

fn item(pk: &str, sk: &str, extra: &[(&str, Value)]) -> Item {
    let mut item = Item::new();
    item.insert(attr::PK.into(), Value::S(pk.into()));
    item.insert(attr::SK.into(), Value::S(sk.into()));
    for (k, v) in extra {
        item.insert((*k).into(), v.clone());
    }
    item
}

fn n(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn put(item: Item, condition: Option<Condition>) -> Write {
    Write::Put { item, condition }
}

async fn round_trips_every_value_kind((table, _): Fixture) {
    let stored = item(
        "A#1",
        "X",
        &[
            ("s", Value::S("text with ünïcode <&>".into())),
            ("n", Value::N(n("1234567.89"))),
            ("b", Value::Bool(true)),
            ("z", Value::N(n("0"))),
        ],
    );
    table.write(put(stored.clone(), None)).await.unwrap();
    assert_eq!(table.get(&Key::new("A#1", "X")).await.unwrap(), Some(stored));
    assert_eq!(table.get(&Key::new("A#1", "missing")).await.unwrap(), None);
}

async fn queries_a_partition_by_prefix_in_order((table, _): Fixture) {
    for sk in ["INVOICE#2026-02-01#b", "INVOICE#2026-01-01#a", "MEMBER#m1", "ACCOUNT"] {
        table.write(put(item("ACCOUNT#1", sk, &[]), None)).await.unwrap();
    }
    table.write(put(item("ACCOUNT#2", "INVOICE#2026-01-01#z", &[]), None)).await.unwrap();
    let sks = |items: Vec<Arc<Item>>| items.iter().map(|i| i[attr::SK].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(sks(table.query("ACCOUNT#1", "INVOICE#").await.unwrap()), ["INVOICE#2026-01-01#a", "INVOICE#2026-02-01#b"]);
    assert_eq!(sks(table.query("ACCOUNT#1", "").await.unwrap()), ["ACCOUNT", "INVOICE#2026-01-01#a", "INVOICE#2026-02-01#b", "MEMBER#m1"]);
    assert!(table.query("ACCOUNT#3", "").await.unwrap().is_empty());
}

async fn queries_a_range_of_sort_keys((table, clock): Fixture) {
    for sk in ["!PAYMENT#2026-01-02", "#INVOICE#2026-01-01#a", "ACCOUNT", "MEMBER#m1", "SOURCE#s1", "~"] {
        table.write(put(item("ACCOUNT#1", sk, &[]), None)).await.unwrap();
    }
    table.write(put(item("ACCOUNT#0", "MEMBER#m0", &[]), None)).await.unwrap();
    table.write(put(item("ACCOUNT#2", "ACCOUNT", &[]), None)).await.unwrap();
    let expiring = clock.now().timestamp() + 60;
    table.write(put(item("ACCOUNT#1", "PREFS#p", &[(attr::EXPIRES_AT, Value::from(expiring))]), None)).await.unwrap();
    let sks = |items: Vec<Arc<Item>>| items.iter().map(|i| i[attr::SK].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(sks(table.query_range("ACCOUNT#1", "ACCOUNT", "~").await.unwrap()), ["ACCOUNT", "MEMBER#m1", "PREFS#p", "SOURCE#s1", "~"]);
    assert_eq!(sks(table.query_range("ACCOUNT#1", "", "#~").await.unwrap()), ["!PAYMENT#2026-01-02", "#INVOICE#2026-01-01#a"]);
    assert_eq!(sks(table.query_range("ACCOUNT#1", "MEMBER#m1", "MEMBER#m1").await.unwrap()), ["MEMBER#m1"], "both ends included");
    assert!(table.query_range("ACCOUNT#1", "Z", "A").await.unwrap().is_empty(), "reversed bounds");
    assert!(table.query_range("ACCOUNT#3", "", "~").await.unwrap().is_empty());
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(sks(table.query_range("ACCOUNT#1", "N", "Z").await.unwrap()), ["SOURCE#s1"], "expired items are not read");
}

async fn gets_several_items_by_key_in_one_request((table, clock): Fixture) {
    table.write(put(item("ACCOUNT#1", "ACCOUNT", &[("n", Value::from(1u64))]), None)).await.unwrap();
    table.write(put(item("ACCOUNT#1", "#INVOICE#2026-01-01#a", &[]), None)).await.unwrap();
    table.write(put(item("ACCOUNT#2", "ACCOUNT", &[]), None)).await.unwrap();
    let expiring = clock.now().timestamp() + 60;
    table.write(put(item("ACCOUNT#1", "PREFS#p", &[(attr::EXPIRES_AT, Value::from(expiring))]), None)).await.unwrap();
    let keys = [
        Key::new("ACCOUNT#1", "#INVOICE#2026-01-01#a"),
        Key::new("ACCOUNT#1", "MISSING"),
        Key::new("ACCOUNT#1", "ACCOUNT"),
        Key::new("ACCOUNT#1", "ACCOUNT"),
        Key::new("ACCOUNT#1", "PREFS#p"),
    ];
    let sk = |i: &Option<Item>| i.as_ref().map(|i| i[attr::SK].as_str().unwrap().to_owned());
    let found = table.get_many(&keys).await.unwrap();
    assert_eq!(
        found.iter().map(sk).collect::<Vec<_>>(),
        [Some("#INVOICE#2026-01-01#a".into()), None, Some("ACCOUNT".into()), Some("ACCOUNT".into()), Some("PREFS#p".into())],
        "in the order asked, a key asked twice answered twice"
    );
    assert_eq!(found[2].as_ref().unwrap()["n"].as_number(), Some(Decimal::ONE));
    assert!(table.get_many(&[]).await.unwrap().is_empty());
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(table.get_many(&keys[4..]).await.unwrap(), [None], "expired items are not read");
    // More keys than one request takes.
    let many: Vec<Key> = (0..150).map(|n| Key::new("ACCOUNT#9", format!("K#{n:03}"))).collect();
    for key in many.iter().step_by(7) {
        table.write(put(item(&key.pk, &key.sk, &[]), None)).await.unwrap();
    }
    let found = table.get_many(&many).await.unwrap();
    assert_eq!(found.iter().filter(|i| i.is_some()).count(), many.iter().step_by(7).count());
    assert!(found.iter().zip(&many).all(|(i, k)| i.as_ref().is_none_or(|i| i[attr::SK].as_str() == Some(k.sk.as_str()))));
}

async fn upsert_creates_or_updates((table, _): Fixture) {
    let key = Key::new("ACCOUNT#1", "#SUMMARY");
    let first = Update::default().set("o#a", "open").add("p#a", Decimal::from(5));
    table.write(Write::Upsert { key: key.clone(), update: first }).await.unwrap();
    let item = table.get(&key).await.unwrap().expect("created");
    assert_eq!((item[attr::PK].as_str(), item[attr::SK].as_str()), (Some("ACCOUNT#1"), Some("#SUMMARY")));
    assert_eq!((item["o#a"].as_str(), item["p#a"].as_number()), (Some("open"), Some(Decimal::from(5))));
    table.write(Write::Upsert { key: key.clone(), update: Update::default().add("p#a", Decimal::from(7)).remove("o#a") }).await.unwrap();
    let item = table.get(&key).await.unwrap().unwrap();
    assert_eq!((item.get("o#a"), item["p#a"].as_number()), (None, Some(Decimal::from(12))));
    // In a transaction that fails elsewhere, nothing is written.
    let failing = vec![
        Write::Upsert { key: key.clone(), update: Update::default().add("p#a", Decimal::ONE) },
        Write::Check { key: Key::new("NOPE", "1"), condition: Condition::Exists },
    ];
    assert!(matches!(table.transact(failing).await, Err(StoreError::ConditionFailed)));
    assert_eq!(table.get(&key).await.unwrap().unwrap()["p#a"].as_number(), Some(Decimal::from(12)));
    let together = vec![
        Write::Upsert { key: Key::new("ACCOUNT#2", "#SUMMARY"), update: Update::default().set("type", "summary") },
        Write::Upsert { key: key.clone(), update: Update::default().add("p#a", Decimal::ONE) },
    ];
    table.transact(together).await.unwrap();
    assert_eq!(table.get(&key).await.unwrap().unwrap()["p#a"].as_number(), Some(Decimal::from(13)));
    assert!(table.get(&Key::new("ACCOUNT#2", "#SUMMARY")).await.unwrap().is_some());
}

async fn not_exists_refuses_a_second_put((table, _): Fixture) {
    table.write(put(item("P", "S", &[("v", Value::from(1i64))]), Some(Condition::NotExists))).await.unwrap();
    let second = table.write(put(item("P", "S", &[("v", Value::from(2i64))]), Some(Condition::NotExists))).await;
    assert!(matches!(second, Err(StoreError::ConditionFailed)));
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap().unwrap()["v"], Value::from(1i64));
}

async fn exists_needs_the_item((table, _): Fixture) {
    let missing = table.write(put(item("P", "S", &[]), Some(Condition::Exists))).await;
    assert!(matches!(missing, Err(StoreError::ConditionFailed)));
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap(), None);
    table.write(put(item("P", "S", &[]), None)).await.unwrap();
    table.write(put(item("P", "S", &[("x", Value::Bool(true))]), Some(Condition::Exists))).await.unwrap();
}

async fn equals_guards_versions((table, _): Fixture) {
    table.write(put(item("P", "S", &[(attr::VERSION, Value::from(1i64))]), None)).await.unwrap();
    let bump = |from: i64| Write::Update {
        key: Key::new("P", "S"),
        update: Update::default().set(attr::VERSION, from + 1),
        condition: Some(Condition::Equals(attr::VERSION.into(), Value::from(from))),
    };
    table.write(bump(1)).await.unwrap();
    assert!(matches!(table.write(bump(1)).await, Err(StoreError::ConditionFailed)), "a stale version is refused");
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap().unwrap()[attr::VERSION], Value::from(2i64));
}

async fn at_least_compares_numbers_exactly((table, _): Fixture) {
    table.write(put(item("INV", "1", &[("available", Value::N(n("80.00")))]), None)).await.unwrap();
    let take = |amount: &str| Write::Update {
        key: Key::new("INV", "1"),
        update: Update::default().add("available", -n(amount)).add("pending", n(amount)),
        condition: Some(Condition::AtLeast("available".into(), n(amount))),
    };
    table.write(take("30.01")).await.unwrap();
    assert!(matches!(table.write(take("49.999")).await, Err(StoreError::ConditionFailed)));
    table.write(take("49.99")).await.unwrap();
    let stored = table.get(&Key::new("INV", "1")).await.unwrap().unwrap();
    assert_eq!(stored["available"].as_number().unwrap(), n("0"));
    assert_eq!(stored["pending"].as_number().unwrap(), n("80"));
    assert!(matches!(table.write(take("0.01")).await, Err(StoreError::ConditionFailed)), "never below zero");
}

async fn all_needs_every_condition((table, _): Fixture) {
    table.write(put(item("P", "S", &[("a", Value::from(1i64)), ("b", Value::from(5i64))]), None)).await.unwrap();
    let both = |a: i64, b: i64| {
        Condition::All(vec![Condition::Equals("a".into(), Value::from(a)), Condition::AtLeast("b".into(), Decimal::from(b))])
    };
    let del = |c| Write::Delete { key: Key::new("P", "S"), condition: Some(c) };
    assert!(matches!(table.write(del(both(1, 6))).await, Err(StoreError::ConditionFailed)));
    assert!(matches!(table.write(del(both(2, 5))).await, Err(StoreError::ConditionFailed)));
    table.write(del(both(1, 5))).await.unwrap();
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap(), None);
}

async fn update_sets_adds_removes_and_never_creates((table, _): Fixture) {
    let update = Update::default().set("name", "x").add("count", Decimal::from(2)).remove("gone");
    let create = table.write(Write::Update { key: Key::new("P", "S"), update: update.clone(), condition: None }).await;
    assert!(matches!(create, Err(StoreError::ConditionFailed)), "an update never creates an item");
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap(), None);
    table.write(put(item("P", "S", &[("gone", Value::Bool(true)), ("count", Value::from(1i64))]), None)).await.unwrap();
    table.write(Write::Update { key: Key::new("P", "S"), update, condition: None }).await.unwrap();
    let stored = table.get(&Key::new("P", "S")).await.unwrap().unwrap();
    assert_eq!(stored["name"], Value::from("x"));
    assert_eq!(stored["count"].as_number(), Some(Decimal::from(3)));
    assert!(!stored.contains_key("gone"));
}

async fn transactions_are_all_or_nothing((table, _): Fixture) {
    table.write(put(item("INV", "1", &[("available", Value::from(10i64))]), None)).await.unwrap();
    let pay = |pid: &str, amount: i64| {
        vec![
            Write::Update {
                key: Key::new("INV", "1"),
                update: Update::default().add("available", Decimal::from(-amount)),
                condition: Some(Condition::AtLeast("available".into(), Decimal::from(amount))),
            },
            put(item("PAY", pid, &[]), Some(Condition::NotExists)),
        ]
    };
    table.transact(pay("p1", 4)).await.unwrap();
    // The payment id is new but the amount is too large: nothing at all is written.
    assert!(matches!(table.transact(pay("p2", 7)).await, Err(StoreError::ConditionFailed)));
    assert_eq!(table.get(&Key::new("PAY", "p2")).await.unwrap(), None);
    // The amount fits but the payment id was used: the invoice is untouched.
    assert!(matches!(table.transact(pay("p1", 1)).await, Err(StoreError::ConditionFailed)));
    assert_eq!(table.get(&Key::new("INV", "1")).await.unwrap().unwrap()["available"].as_number(), Some(Decimal::from(6)));
    // A check writes nothing but can stop the transaction.
    let checked = table
        .transact(vec![Write::Check { key: Key::new("NOPE", "1"), condition: Condition::Exists }, put(item("PAY", "p3", &[]), None)])
        .await;
    assert!(matches!(checked, Err(StoreError::ConditionFailed)));
    assert_eq!(table.get(&Key::new("PAY", "p3")).await.unwrap(), None);
}

async fn expired_items_are_invisible((table, clock): Fixture) {
    let soon = (clock.now() + Duration::minutes(10)).timestamp();
    let stored = item(
        "SIGNIN#x",
        "CODE",
        &[(attr::EXPIRES_AT, Value::from(soon)), (attr::GSI1PK, Value::from("EMAIL#x")), (attr::GSI1SK, Value::from("M#1"))],
    );
    table.write(put(stored, None)).await.unwrap();
    assert!(table.get(&Key::new("SIGNIN#x", "CODE")).await.unwrap().is_some());
    clock.advance(Duration::minutes(10));
    assert_eq!(table.get(&Key::new("SIGNIN#x", "CODE")).await.unwrap(), None, "get");
    assert!(table.query("SIGNIN#x", "").await.unwrap().is_empty(), "query");
    assert!(table.query_index("EMAIL#x").await.unwrap().is_empty(), "index");
    // An expired item that TTL has not deleted yet counts as absent for conditions too.
    table.write(put(item("SIGNIN#x", "CODE", &[]), Some(Condition::NotExists))).await.unwrap();
    let stale = Write::Update { key: Key::new("SIGNIN#y", "CODE"), update: Update::default().set("a", 1i64), condition: None };
    table.write(put(item("SIGNIN#y", "CODE", &[(attr::EXPIRES_AT, Value::from(soon))]), None)).await.unwrap();
    assert!(matches!(table.write(stale).await, Err(StoreError::ConditionFailed)), "an update does not revive an expired item");
}

async fn finds_members_by_email_through_the_index((table, _): Fixture) {
    let member = |account: &str, id: &str, email: &str| {
        item(
            &format!("ACCOUNT#{account}"),
            &format!("MEMBER#{id}"),
            &[(attr::GSI1PK, Value::S(format!("EMAIL#{email}"))), (attr::GSI1SK, Value::S(format!("MEMBER#{id}")))],
        )
    };
    table.write(put(member("1", "maria", "maria@example.com"), None)).await.unwrap();
    table.write(put(member("2", "sam", "sam@example.com"), None)).await.unwrap();
    table.write(put(item("ACCOUNT#1", "INVOICE#1", &[]), None)).await.unwrap();
    let found = table.query_index("EMAIL#maria@example.com").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0][attr::PK], Value::from("ACCOUNT#1"));
    assert!(table.query_index("EMAIL#nobody@example.com").await.unwrap().is_empty());
}

async fn one_item_twice_in_a_transaction_is_refused((table, _): Fixture) {
    let result = table.transact(vec![put(item("P", "S", &[]), None), Write::Delete { key: Key::new("P", "S"), condition: None }]).await;
    assert!(result.is_err());
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap(), None);
}

async fn an_update_naming_an_attribute_twice_is_refused((table, _): Fixture) {
    let twice = Update::default().set("y", Value::Bool(true)).set("y", Value::Bool(true));
    assert!(table.write(Write::Upsert { key: Key::new("P", "T"), update: twice.clone() }).await.is_err());
    assert_eq!(table.get(&Key::new("P", "T")).await.unwrap(), None, "nothing written");
    table.write(put(item("P", "T", &[]), None)).await.unwrap();
    assert!(table.write(Write::Update { key: Key::new("P", "T"), update: twice, condition: None }).await.is_err());
}

async fn a_batch_puts_every_item_and_replaces_existing_ones((table, _): Fixture) {
    table.write(put(item("B#1", "K#000", &[("v", Value::from("old"))]), None)).await.unwrap();
    // More than one BatchWriteItem request holds (25), across two partitions.
    let items: Vec<Item> =
        (0..60).map(|i| item(if i % 2 == 0 { "B#1" } else { "B#2" }, &format!("K#{i:03}"), &[("v", Value::from(i as i64))])).collect();
    table.put_batch(items.clone()).await.unwrap();
    assert_eq!(table.query("B#1", "K#").await.unwrap().len(), 30);
    assert_eq!(table.query("B#2", "").await.unwrap().len(), 30);
    assert_eq!(table.get(&Key::new("B#1", "K#000")).await.unwrap(), Some(items[0].clone()), "a put replaces the item");
    table.put_batch(Vec::new()).await.unwrap();
}

async fn pages_a_long_partition_newest_first((table, clock): Fixture) {
    // A partition of 30 events, with an item of another kind on each side and a neighbouring partition.
    let mut items: Vec<Item> = (0..30).map(|i| item("H#1", &format!("EVENT#{i:03}"), &[])).collect();
    items.extend([item("H#1", "A", &[]), item("H#1", "Z", &[]), item("H#10", "EVENT#999", &[]), item("H#0", "EVENT#999", &[])]);
    table.put_batch(items).await.unwrap();
    let sks = |items: Vec<Arc<Item>>| items.iter().map(|i| i[attr::SK].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let names = |range: std::ops::Range<usize>| range.rev().map(|i| format!("EVENT#{i:03}")).collect::<Vec<_>>();
    assert_eq!(sks(table.query_newest("H#1", "EVENT#", "", 12).await.unwrap()), names(18..30));
    assert_eq!(sks(table.query_newest("H#1", "EVENT#", "EVENT#018", 12).await.unwrap()), names(6..18), "before, not including it");
    assert_eq!(sks(table.query_newest("H#1", "EVENT#", "EVENT#006", 12).await.unwrap()), names(0..6), "the last page is short");
    assert_eq!(sks(table.query_newest("H#1", "EVENT#", "EVENT#0175", 3).await.unwrap()), names(15..18), "a key between two");
    assert!(table.query_newest("H#1", "EVENT#", "EVENT#000", 12).await.unwrap().is_empty());
    assert!(table.query_newest("H#1", "EVENT#", "A", 12).await.unwrap().is_empty(), "a bound below the prefix");
    assert!(table.query_newest("H#1", "EVENT#", "", 0).await.unwrap().is_empty());
    assert_eq!(table.query_newest("H#1", "EVENT#", "", 100).await.unwrap().len(), 30, "only the prefix, only the partition");
    assert!(table.query_newest("H#2", "EVENT#", "", 5).await.unwrap().is_empty());
    // No prefix: the whole partition.
    assert_eq!(sks(table.query_newest("H#1", "", "", 2).await.unwrap()), ["Z", "EVENT#029"]);
    assert_eq!(sks(table.query_newest("H#1", "", "EVENT#001", 5).await.unwrap()), ["EVENT#000", "A"]);
    // Expired items in the middle of a page are skipped and the page is still full (on DynamoDB,
    // `Limit` counts them, so this takes a second request).
    let soon = (clock.now() + Duration::minutes(5)).timestamp();
    let expiring: Vec<Item> = (20..26).map(|i| item("H#1", &format!("EVENT#{i:03}"), &[(attr::EXPIRES_AT, Value::from(soon))])).collect();
    table.put_batch(expiring).await.unwrap();
    clock.advance(Duration::minutes(5));
    let mut expected = names(26..30);
    expected.extend(names(12..20));
    assert_eq!(sks(table.query_newest("H#1", "EVENT#", "", 12).await.unwrap()), expected);
}

async fn scans_the_whole_table_for_one_sort_key_page_by_page((table, _): Fixture) {
    let mut items: Vec<Item> = (0..250).map(|i| item(&format!("S#{i:03}"), if i % 10 == 0 { "ACCOUNT" } else { "OTHER" }, &[])).collect();
    items.push(item("S#999", "ACCOUNTS", &[]));
    table.put_batch(items).await.unwrap();
    let mut found = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let (page, next) = table.scan_sort_key("ACCOUNT", after).await.unwrap();
        found.extend(page.iter().map(|i| i[attr::PK].as_str().unwrap().to_owned()));
        pages += 1;
        assert!(pages < 100, "the scan ends");
        match next {
            Some(key) => after = Some(key),
            None => break,
        }
    }
    found.sort();
    assert_eq!(found, (0..25).map(|i| format!("S#{:03}", i * 10)).collect::<Vec<_>>(), "exactly the items with that sort key");
}

async fn memory() -> Fixture {
    let clock = Arc::new(ManualClock::new(test_now()));
    (Arc::new(MemoryTable::new(clock.clone())), clock)
}

async fn dynamodb() -> Fixture {
    let clock = Arc::new(ManualClock::new(test_now()));
    (Arc::new(fresh_dynamo_table(clock.clone()).await), clock)
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod in_memory {
            $( #[tokio::test] async fn $name() { super::$name(super::memory().await).await } )*
        }
        mod on_dynamodb {
            $( #[tokio::test] async fn $name() { super::$name(super::dynamodb().await).await } )*
        }
    };
}

contract!(
    round_trips_every_value_kind,
    queries_a_partition_by_prefix_in_order,
    queries_a_range_of_sort_keys,
    gets_several_items_by_key_in_one_request,
    upsert_creates_or_updates,
    not_exists_refuses_a_second_put,
    exists_needs_the_item,
    equals_guards_versions,
    at_least_compares_numbers_exactly,
    all_needs_every_condition,
    update_sets_adds_removes_and_never_creates,
    transactions_are_all_or_nothing,
    expired_items_are_invisible,
    finds_members_by_email_through_the_index,
    one_item_twice_in_a_transaction_is_refused,
    an_update_naming_an_attribute_twice_is_refused,
    a_batch_puts_every_item_and_replaces_existing_ones,
    pages_a_long_partition_newest_first,
    scans_the_whole_table_for_one_sort_key_page_by_page,
);
