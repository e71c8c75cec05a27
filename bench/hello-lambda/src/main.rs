//! Answers every request with "hello": the baseline for the functions' cold starts (same profile).

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_req: Request| async { Ok::<_, Error>(Response::new(Body::from("hello"))) })).await
}
