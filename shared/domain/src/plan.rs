//! Membership plans and their age-banded prices.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{DateOfBirth, Money, PlanId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingPeriod {
    Monthly,
    Annual,
}

impl BillingPeriod {
    pub fn months(self) -> u32 {
        match self {
            BillingPeriod::Monthly => 1,
            BillingPeriod::Annual => 12,
        }
    }

    /// "month" or "year", for "$80.00 per month".
    pub fn noun(self) -> &'static str {
        match self {
            BillingPeriod::Monthly => "month",
            BillingPeriod::Annual => "year",
        }
    }
}

/// The rate for members whose age falls in `min_age..=max_age` (no upper bound when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeBand {
    pub min_age: u32,
    pub max_age: Option<u32>,
    pub rate: Money,
}

impl AgeBand {
    pub fn contains(&self, age: u32) -> bool {
        age >= self.min_age && self.max_age.is_none_or(|max| age <= max)
    }

    /// "0–17", "65+".
    pub fn label(&self) -> String {
        match self.max_age {
            Some(max) => format!("{}–{}", self.min_age, max),
            None => format!("{}+", self.min_age),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("a plan needs at least one age band")]
    NoBands,
    #[error("age bands must start at 0, not overlap, leave no gaps, and end open")]
    BandsNotContiguous,
    #[error("a contract lasts 1 to 60 months")]
    ContractLength,
    #[error("a plan needs a name")]
    NoName,
}

/// A plan the practice offers: billing period, contract length and age-banded rates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PlanData", into = "PlanData")]
pub struct Plan {
    data: PlanData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanData {
    pub id: PlanId,
    pub name: String,
    pub period: BillingPeriod,
    pub contract_months: u32,
    pub bands: Vec<AgeBand>,
    /// What the contract says about leaving it (notice, fee, refunds).
    #[serde(default)]
    pub leaving: crate::leaving::LeavingTerms,
}

impl TryFrom<PlanData> for Plan {
    type Error = PlanError;
    fn try_from(data: PlanData) -> Result<Self, PlanError> {
        Plan::new(data)
    }
}

impl From<Plan> for PlanData {
    fn from(plan: Plan) -> Self {
        plan.data
    }
}

impl Plan {
    /// Checks that every age from 0 up has exactly one rate.
    pub fn new(mut data: PlanData) -> Result<Plan, PlanError> {
        if data.name.trim().is_empty() {
            return Err(PlanError::NoName);
        }
        if !(1..=60).contains(&data.contract_months) {
            return Err(PlanError::ContractLength);
        }
        if data.bands.is_empty() {
            return Err(PlanError::NoBands);
        }
        data.bands.sort_by_key(|b| b.min_age);
        let mut next = 0;
        for (i, band) in data.bands.iter().enumerate() {
            let last = i + 1 == data.bands.len();
            if band.min_age != next || (band.max_age.is_none() != last) {
                return Err(PlanError::BandsNotContiguous);
            }
            if let Some(max) = band.max_age {
                if max < band.min_age {
                    return Err(PlanError::BandsNotContiguous);
                }
                next = max + 1;
            }
        }
        Ok(Plan { data })
    }

    pub fn id(&self) -> &PlanId {
        &self.data.id
    }
    pub fn name(&self) -> &str {
        &self.data.name
    }
    pub fn period(&self) -> BillingPeriod {
        self.data.period
    }
    pub fn contract_months(&self) -> u32 {
        self.data.contract_months
    }
    pub fn bands(&self) -> &[AgeBand] {
        &self.data.bands
    }
    pub fn leaving(&self) -> &crate::leaving::LeavingTerms {
        &self.data.leaving
    }

    /// The rate for someone of `age`.
    pub fn rate_for_age(&self, age: u32) -> Money {
        self.data.bands.iter().find(|b| b.contains(age)).map(|b| b.rate).unwrap_or(Money::ZERO)
    }

    /// The rate for someone born on `dob`, priced on `on`.
    pub fn rate_for(&self, dob: DateOfBirth, on: NaiveDate) -> Money {
        self.rate_for_age(dob.age_on(on))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn standard() -> Plan {
        let m = |s: &str| Money::parse(s).unwrap();
        Plan::new(PlanData {
            id: PlanId::parse("standard").unwrap(),
            name: "Standard Membership".into(),
            period: BillingPeriod::Monthly,
            contract_months: 12,
            bands: vec![
                AgeBand { min_age: 18, max_age: Some(64), rate: m("80") },
                AgeBand { min_age: 0, max_age: Some(17), rate: m("30") },
                AgeBand { min_age: 65, max_age: None, rate: m("100") },
            ],
            leaving: Default::default(),
        })
        .unwrap()
    }

    #[test]
    fn prices_by_age_band() {
        let plan = standard();
        assert_eq!(plan.rate_for_age(0).to_string(), "$30.00");
        assert_eq!(plan.rate_for_age(17).to_string(), "$30.00");
        assert_eq!(plan.rate_for_age(18).to_string(), "$80.00");
        assert_eq!(plan.rate_for_age(64).to_string(), "$80.00");
        assert_eq!(plan.rate_for_age(65).to_string(), "$100.00");
        assert_eq!(plan.bands()[0].label(), "0–17");
    }

    #[test]
    fn refuses_gaps_and_overlaps() {
        let mut data: PlanData = standard().into();
        data.bands[1].min_age = 20;
        assert_eq!(Plan::new(data.clone()), Err(PlanError::BandsNotContiguous));
        data.bands[1].min_age = 18;
        data.bands[2].max_age = Some(99);
        assert_eq!(Plan::new(data), Err(PlanError::BandsNotContiguous));
    }

    proptest! {
        #[test]
        fn every_age_has_exactly_one_band(age in 0u32..130) {
            let plan = standard();
            prop_assert_eq!(plan.bands().iter().filter(|b| b.contains(age)).count(), 1);
        }
    }
}
