//! The dependencies every handler shares, built once per process.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use portal_domain::{store, Clock, Mailer, PaymentGateway, Practice, Random, StoreError, Table};

use crate::config::Config;

/// How long a warm function keeps the practice profile before reading it again.
const PRACTICE_CACHE: Duration = Duration::from_secs(300);

pub struct App {
    pub table: Arc<dyn Table>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub config: Config,
    practice: Mutex<Option<(Instant, Arc<Practice>)>>,
}

impl App {
    pub fn new(
        table: Arc<dyn Table>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        gateway: Arc<dyn PaymentGateway>,
        config: Config,
    ) -> App {
        App { table, mailer, clock, random, gateway, config, practice: Mutex::new(None) }
    }

    /// Waits until `code_send_floor` after `started`: answers whose work differs with whether an
    /// address is a member's (a code or notice mailed, or not) all take at least that long.
    pub async fn pace(&self, started: tokio::time::Instant) {
        let floor = self.config.code_send_floor;
        if floor.is_zero() {
            return;
        }
        if tokio::time::Instant::now() > started + floor {
            tracing::warn!("an answer took longer than the floor that hides whether an address is known");
        } else {
            tokio::time::sleep_until(started + floor).await;
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today's date in the practice's time zone.
    pub fn today(&self) -> NaiveDate {
        self.date_of(self.clock.now())
    }

    /// The practice's calendar date of an instant.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.config.time_zone).date_naive()
    }

    /// The practice profile, read once and then kept for a few minutes, so a warm page costs
    /// no extra table request for it.
    pub async fn practice(&self) -> Result<Arc<Practice>, StoreError> {
        if let Some((at, practice)) = self.practice.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if at.elapsed() < PRACTICE_CACHE {
                return Ok(Arc::clone(practice));
            }
        }
        let practice =
            Arc::new(store::practice(self.table.as_ref()).await?.ok_or_else(|| StoreError::Malformed("no practice profile".into()))?);
        *self.practice.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), Arc::clone(&practice)));
        Ok(practice)
    }
}
