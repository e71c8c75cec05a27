//! The dependencies every handler shares, built once per process.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use portal_domain::{Clock, Mailer, Random, Table};

use crate::config::Config;

pub struct App {
    pub table: Arc<dyn Table>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub config: Config,
}

impl App {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today's date in the practice's time zone.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&self.config.time_zone).date_naive()
    }
}
