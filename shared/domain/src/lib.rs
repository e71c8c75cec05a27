//! portal-domain: the patient portal's value types, business rules, use cases and ports.
//! It knows nothing of HTTP, AWS or HTML.

pub mod access;
pub mod address;
pub mod agreement;
pub mod audit;
pub mod autopay;
pub mod card;
pub mod contact;
pub mod dob;
pub mod email;
pub mod enrol;
pub mod exchange;
pub mod feed;
pub mod household;
pub mod ids;
pub mod invoice;
pub mod keys;
pub mod leaving;
pub mod membership;
pub mod money;
pub mod otc;
pub mod pay;
pub mod payment;
pub mod phone;
pub mod plan;
pub mod ports;
pub mod practice;
pub mod preferences;
pub mod processor_events;
pub mod receipts;
pub mod reminders;
pub mod session;
pub mod signin;
pub mod sources;
pub mod statement;
pub mod store;
#[cfg(test)]
mod testing;

pub use address::{AddressErrors, AddressInput, UsAddress};
pub use agreement::{Agreement, Signature};
pub use dob::{DateOfBirth, DateOfBirthError};
pub use email::{Email, EmailError};
pub use household::{Household, Member, Phones, Relationship, Sex};
pub use ids::{AccountId, AgreementId, IdError, InvoiceId, MemberId, MembershipId, PaymentId, PlanId, SourceId};
pub use invoice::{Invoice, InvoiceData, InvoiceError, InvoiceFigures, InvoiceStatus, LineItem};
pub use membership::{Enrollment, Membership, MembershipStatus};
pub use money::{Balance, Money, MoneyError};
pub use payment::{AchAuthorization, BankAccountType, Payment, PaymentSource, PaymentStatus, Reversals, SourceDetails};
pub use phone::{PhoneError, PhoneNumber};
pub use plan::{AgeBand, BillingPeriod, Plan, PlanData, PlanError};
pub use ports::{
    ChargeOutcome, ChargeRequest, Clock, GatewayError, MailError, Mailer, Message, PaymentGateway, Random, SetupResult, SetupSession,
    StoreError, Table, TokenizedSource,
};
pub use practice::{Npi, Practice, TaxId};
