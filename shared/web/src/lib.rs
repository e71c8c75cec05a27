//! portal-web: the HTTP edge shared by every portal function.

pub mod app;
pub mod config;
pub mod cookies;
pub mod edge;
pub mod form;
pub mod lambda;
pub mod payment_form;

pub use app::App;
pub use config::Config;
pub use edge::{asset, html, landing, redirect, ClientAddr, Ctx, PageError, PageResult};
pub use form::Form;
pub use lambda_http::{Body, Request};
