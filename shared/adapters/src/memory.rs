//! The in-memory table: the same contract as DynamoDB, for local runs and tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portal_domain::ports::{attr, Condition, Item, Key, Table, Update, Value, Write};
use portal_domain::{Clock, StoreError};
use rust_decimal::Decimal;

/// A table held in memory; conditions and transactions behave as in DynamoDB.
pub struct MemoryTable {
    /// Items are shared with the readers that query them, as a store's response is theirs to keep.
    items: Mutex<BTreeMap<Key, Arc<Item>>>,
    clock: Arc<dyn Clock>,
}

impl MemoryTable {
    pub fn new(clock: Arc<dyn Clock>) -> MemoryTable {
        MemoryTable { items: Mutex::new(BTreeMap::new()), clock }
    }

    /// How many items are stored, expired ones included (as DynamoDB keeps them until TTL runs).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every stored item (for inspection in tests and local tools; the portal itself never scans).
    pub fn items(&self) -> Vec<Item> {
        self.lock().values().map(|i| Item::clone(i)).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Arc<Item>>> {
        // A panic while holding the lock cannot leave a half-written item: writes replace whole items.
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_secs(&self) -> Decimal {
        Decimal::from(self.clock.now().timestamp())
    }
}

/// Whether an item is still live: no `expires_at`, or one that has not passed.
pub(crate) fn is_live(item: &Item, now_secs: Decimal) -> bool {
    match item.get(attr::EXPIRES_AT) {
        Some(Value::N(t)) => *t > now_secs,
        _ => true,
    }
}

fn holds(condition: &Condition, item: Option<&Item>) -> bool {
    match condition {
        Condition::Exists => item.is_some(),
        Condition::NotExists => item.is_none(),
        Condition::Equals(name, value) => item.and_then(|i| i.get(name)) == Some(value),
        Condition::AtLeast(name, min) => item.and_then(|i| i.get(name)).and_then(Value::as_number).is_some_and(|n| n >= *min),
        Condition::All(all) => all.iter().all(|c| holds(c, item)),
    }
}

/// Applies `update`, refusing one that names an attribute twice, as DynamoDB does ("two
/// document paths overlap"), so what passes here passes there.
fn apply(item: &mut Item, update: &Update) -> Result<(), StoreError> {
    let mut named = std::collections::BTreeSet::new();
    let names = update.set.iter().map(|(n, _)| n).chain(update.add.iter().map(|(n, _)| n)).chain(&update.remove);
    for name in names {
        if !named.insert(name) {
            return Err(StoreError::Malformed(format!("an update names {name} twice")));
        }
    }
    update.apply_to(item);
    Ok(())
}

fn key_of_write(write: &Write) -> Result<Key, StoreError> {
    match write {
        Write::Put { item, .. } => Key::of(item).ok_or_else(|| StoreError::Malformed("put without pk/sk".into())),
        Write::Update { key, .. } | Write::Upsert { key, .. } | Write::Delete { key, .. } | Write::Check { key, .. } => Ok(key.clone()),
    }
}

impl MemoryTable {
    /// Checks a write against the current items; returns what to store (None: delete, or nothing for a check).
    fn plan(items: &BTreeMap<Key, Arc<Item>>, now: Decimal, write: &Write) -> Result<(Key, Option<Option<Item>>), StoreError> {
        let key = key_of_write(write)?;
        let current = items.get(&key).map(|i| &**i).filter(|i| is_live(i, now));
        let (condition, outcome) = match write {
            Write::Put { item, condition } => (condition.as_ref(), Some(Some(item.clone()))),
            Write::Update { update, condition, .. } => {
                let Some(existing) = current else {
                    return Err(StoreError::ConditionFailed);
                };
                let mut next = Item::clone(existing);
                apply(&mut next, update)?;
                (condition.as_ref(), Some(Some(next)))
            }
            Write::Upsert { key, update } => {
                let mut next = match current {
                    Some(existing) => Item::clone(existing),
                    None => Item::from([(attr::PK.to_owned(), Value::S(key.pk.clone())), (attr::SK.to_owned(), Value::S(key.sk.clone()))]),
                };
                apply(&mut next, update)?;
                (None, Some(Some(next)))
            }
            Write::Delete { condition, .. } => (condition.as_ref(), Some(None)),
            Write::Check { condition, .. } => (Some(condition), None),
        };
        if condition.is_some_and(|c| !holds(c, current)) {
            return Err(StoreError::ConditionFailed);
        }
        Ok((key, outcome))
    }
}

#[async_trait]
impl Table for MemoryTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let now = self.now_secs();
        Ok(self.lock().get(key).filter(|i| is_live(i, now)).map(|i| Item::clone(i)))
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let now = self.now_secs();
        let items = self.lock();
        Ok(keys.iter().map(|key| items.get(key).filter(|i| is_live(i, now)).map(|i| Item::clone(i))).collect())
    }

    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        let now = self.now_secs();
        let items = self.lock();
        let start = Key::new(pk, sk_prefix);
        Ok(items
            .range(start..)
            .take_while(|(k, _)| k.pk == pk && k.sk.starts_with(sk_prefix))
            .filter(|(_, i)| is_live(i, now))
            .map(|(_, i)| Arc::clone(i))
            .collect())
    }

    async fn query_range(&self, pk: &str, from: &str, to: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        let now = self.now_secs();
        let items = self.lock();
        if to < from {
            return Ok(Vec::new());
        }
        Ok(items.range(Key::new(pk, from)..=Key::new(pk, to)).filter(|(_, i)| is_live(i, now)).map(|(_, i)| Arc::clone(i)).collect())
    }

    async fn query_newest(&self, pk: &str, sk_prefix: &str, before: &str, limit: usize) -> Result<Vec<Arc<Item>>, StoreError> {
        let now = self.now_secs();
        let items = self.lock();
        let start = Key::new(pk, sk_prefix);
        // Before `before`, or the end of the partition (no other partition sorts below `{pk}\0`).
        let end = if before.is_empty() { Key::new(format!("{pk}\0"), "") } else { Key::new(pk, before) };
        if end <= start {
            return Ok(Vec::new());
        }
        Ok(items
            .range(start..end)
            .rev()
            .filter(|(k, i)| k.sk.starts_with(sk_prefix) && is_live(i, now))
            .take(limit)
            .map(|(_, i)| Arc::clone(i))
            .collect())
    }

    async fn query_index(&self, gsi1pk: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        let now = self.now_secs();
        let items = self.lock();
        let mut found: Vec<Arc<Item>> =
            items.values().filter(|i| i.get(attr::GSI1PK).and_then(Value::as_str) == Some(gsi1pk) && is_live(i, now)).cloned().collect();
        found.sort_by(|a, b| a.get(attr::GSI1SK).and_then(Value::as_str).cmp(&b.get(attr::GSI1SK).and_then(Value::as_str)));
        Ok(found)
    }

    async fn scan_sort_key(&self, sk: &str, after: Option<Key>) -> Result<(Vec<Arc<Item>>, Option<Key>), StoreError> {
        // Pages of 100 items examined, as a scan's pages hold a bounded amount whatever matches.
        const PAGE: usize = 100;
        let now = self.now_secs();
        let items = self.lock();
        let mut examined = match &after {
            Some(key) => items.range((std::ops::Bound::Excluded(key.clone()), std::ops::Bound::Unbounded)),
            None => items.range::<Key, _>(..),
        };
        let mut found = Vec::new();
        let mut last = None;
        for _ in 0..PAGE {
            let Some((key, item)) = examined.next() else { return Ok((found, None)) };
            if key.sk == sk && is_live(item, now) {
                found.push(Arc::clone(item));
            }
            last = Some(key.clone());
        }
        Ok((found, last))
    }

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.transact(vec![write]).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let now = self.now_secs();
        let mut items = self.lock();
        let mut planned = Vec::with_capacity(writes.len());
        for write in &writes {
            let (key, outcome) = Self::plan(&items, now, write)?;
            if planned.iter().any(|(k, _)| *k == key) {
                // DynamoDB refuses two writes to one item in a transaction; so do we.
                return Err(StoreError::Unavailable(anyhow::anyhow!("a transaction touches one item twice")));
            }
            planned.push((key, outcome));
        }
        for (key, outcome) in planned {
            match outcome {
                Some(Some(item)) => {
                    items.insert(key, Arc::new(item));
                }
                Some(None) => {
                    items.remove(&key);
                }
                None => {}
            }
        }
        Ok(())
    }

    async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let mut stored = self.lock();
        for item in items {
            let key = Key::of(&item).ok_or_else(|| StoreError::Malformed("put without pk/sk".into()))?;
            stored.insert(key, Arc::new(item));
        }
        Ok(())
    }
}
