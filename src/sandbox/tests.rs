//! HTTP-level tests of the sandbox: raw requests against a running instance, one per route
//! and per fault knob.

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::routes::{CORRELATION_HEADER, REFRESH_PATH, TOKEN_PATH};
use super::*;

const INVITATIONS: &str = "/v1/private/business-units/46d6a890000064000500e0c3/email-invitations";
const TEMPLATES: &str = "/v1/private/business-units/46d6a890000064000500e0c3/templates";
const LINKS: &str = "/v1/private/business-units/46d6a890000064000500e0c3/invitation-links";

async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start_recording(config, 0, false, None).await.expect("the sandbox starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().expect("a client")
}

fn basic(key: &str, secret: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"));
    format!("Basic {encoded}")
}

fn demo_basic() -> String {
    basic(DEMO_API_KEY, DEMO_API_SECRET)
}

async fn token_request(sandbox: &Sandbox, path: &str, authorization: &str, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(format!("{}{path}", sandbox.api_url()))
        .header("authorization", authorization)
        .form(form)
        .send()
        .await
        .expect("an answer")
}

async fn password_grant(sandbox: &Sandbox) -> Value {
    let form = [("grant_type", "password"), ("username", DEMO_USERNAME), ("password", DEMO_PASSWORD)];
    let response = token_request(sandbox, TOKEN_PATH, &demo_basic(), &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn password_token(sandbox: &Sandbox) -> String {
    password_grant(sandbox).await["access_token"].as_str().unwrap().to_string()
}

async fn client_token(sandbox: &Sandbox) -> String {
    let form = [("grant_type", "client_credentials")];
    let response = token_request(sandbox, TOKEN_PATH, &demo_basic(), &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

fn invitation(email: &str, reference: &str) -> Value {
    json!({
        "consumerEmail": email,
        "consumerName": "John Doe",
        "referenceNumber": reference,
        "locale": "en-US",
        "serviceReviewInvitation": {"tags": ["vip"]}
    })
}

async fn invite(sandbox: &Sandbox, token: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
    http().post(format!("{}{INVITATIONS}", sandbox.invitations_url())).bearer_auth(token).json(body).send().await
}

/// An invitation asking for a service review and a review of each product (named after its SKU).
fn product_invitation(email: &str, reference: &str, skus: &[&str]) -> Value {
    let mut body = invitation(email, reference);
    let products: Vec<Value> = skus.iter().map(|sku| json!({"sku": sku, "name": format!("Product {sku}")})).collect();
    body["productReviewInvitation"] = json!({"products": products});
    body
}

fn link(email: &str, reference: &str) -> Value {
    json!({"referenceId": reference, "email": email, "name": "John Doe"})
}

async fn create_link(sandbox: &Sandbox, token: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
    http().post(format!("{}{LINKS}", sandbox.invitations_url())).bearer_auth(token).json(body).send().await
}

/// A POST of `body` to `path` on the invitations host, with a client that does not follow a
/// redirect.
async fn post_unredirected(sandbox: &Sandbox, path: &str, token: &str, body: &Value) -> reqwest::Response {
    let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = format!("{}{path}", sandbox.invitations_url());
    client.post(url).bearer_auth(token).json(body).send().await.unwrap()
}

/// `body` with the value at each JSON pointer set (`None`: removed).
fn edited(mut body: Value, edits: &[(&str, Option<Value>)]) -> Value {
    for (pointer, value) in edits {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        match (body.pointer_mut(parent).unwrap(), value.clone()) {
            (Value::Object(object), Some(value)) => drop(object.insert(key.to_string(), value)),
            (Value::Object(object), None) => drop(object.remove(key)),
            (Value::Array(items), Some(value)) => items[key.parse::<usize>().unwrap()] = value,
            (other, _) => panic!("{pointer}: {other}"),
        }
    }
    body
}

/// The 400 a body gets: Trustpilot's style, with these details.
#[track_caller]
fn assert_invalid(status: StatusCode, answer: &Value, details: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["message"], "Invalid request", "{answer}");
    assert_eq!(answer["errorCode"], 1001, "{answer}");
    assert_eq!(answer["details"], details);
    assert!(is_uuid_like(answer["correlationId"].as_str().unwrap()), "{answer}");
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn is_uuid_like(text: &str) -> bool {
    let groups: Vec<usize> = text.split('-').map(str::len).collect();
    groups == [8, 4, 4, 4, 12] && text.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

// ----- tokens -----

#[tokio::test]
async fn the_password_grant_answers_strings_only() {
    let sandbox = start(SandboxConfig::default()).await;
    let body = password_grant(&sandbox).await;
    let object = body.as_object().unwrap();
    for (key, value) in object {
        assert!(value.is_string(), "{key} is {value}");
    }
    assert_eq!(body["expires_in"], "359999");
    assert_eq!(body["token_type"], "BearerToken");
    assert_eq!(body["status"], "approved");
    assert!(body["issued_at"].as_str().unwrap().parse::<u64>().is_ok());
    assert!(body["access_token"].as_str().unwrap().len() >= 20);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 20);
    // Tokens are new on every issue.
    let again = password_grant(&sandbox).await;
    assert_ne!(again["access_token"], body["access_token"]);
    assert_eq!(sandbox.token_requests(), 2);
}

#[tokio::test]
async fn the_client_credentials_grant_has_no_refresh_token() {
    let sandbox = start(SandboxConfig { token_lifetime: Duration::from_secs(60), ..SandboxConfig::default() }).await;
    let response = token_request(&sandbox, TOKEN_PATH, &demo_basic(), &[("grant_type", "client_credentials")]).await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["access_token"].is_string());
    assert_eq!(body["expires_in"], "60");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn token_requests_are_refused_as_oauth_servers_do() {
    let sandbox = start(SandboxConfig::default()).await;
    let good = [("grant_type", "password"), ("username", DEMO_USERNAME), ("password", DEMO_PASSWORD)];
    let wrong_password = [("grant_type", "password"), ("username", DEMO_USERNAME), ("password", "guess")];
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(String, Form, StatusCode, &str)> = vec![
        (basic(DEMO_API_KEY, "wrong"), good.to_vec(), StatusCode::UNAUTHORIZED, "invalid_client"),
        (basic("wrong", DEMO_API_SECRET), good.to_vec(), StatusCode::UNAUTHORIZED, "invalid_client"),
        ("Bearer x".to_string(), good.to_vec(), StatusCode::UNAUTHORIZED, "invalid_client"),
        ("Basic !!!".to_string(), good.to_vec(), StatusCode::UNAUTHORIZED, "invalid_client"),
        (demo_basic(), wrong_password.to_vec(), StatusCode::BAD_REQUEST, "invalid_grant"),
        (demo_basic(), vec![("grant_type", "password")], StatusCode::BAD_REQUEST, "invalid_request"),
        (demo_basic(), vec![("username", DEMO_USERNAME)], StatusCode::BAD_REQUEST, "invalid_request"),
        (demo_basic(), vec![("grant_type", "authorization_code")], StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    ];
    for (authorization, form, status, error) in cases {
        let response = token_request(&sandbox, TOKEN_PATH, &authorization, &form).await;
        let (got, body) = json_of(response).await;
        assert_eq!(got, status, "{authorization} {form:?}: {body}");
        assert_eq!(body["error"], error, "{authorization} {form:?}: {body}");
        assert!(is_uuid_like(body["correlationId"].as_str().unwrap()));
    }

    // No Authorization header at all.
    let response = http().post(format!("{}{TOKEN_PATH}", sandbox.api_url())).form(&good).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Not form-encoded.
    let response = http()
        .post(format!("{}{TOKEN_PATH}", sandbox.api_url()))
        .header("authorization", demo_basic())
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn a_refresh_token_is_traded_once_for_a_new_pair() {
    let sandbox = start(SandboxConfig::default()).await;
    let first = password_grant(&sandbox).await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];

    let response = token_request(&sandbox, REFRESH_PATH, &demo_basic(), &form).await;
    let (status, renewed) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(renewed["access_token"], first["access_token"]);
    assert!(renewed["refresh_token"].is_string());
    assert!(renewed.as_object().unwrap().values().all(Value::is_string));
    let token = renewed["access_token"].as_str().unwrap();
    let accepted = invite(&sandbox, token, &invitation("a@example.com", "r1")).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);

    // Used up, unknown, or without the client's credentials: refused.
    let response = token_request(&sandbox, REFRESH_PATH, &demo_basic(), &form).await;
    let (status, body) = json_of(response).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let unknown = [("grant_type", "refresh_token"), ("refresh_token", "nope")];
    let response = token_request(&sandbox, REFRESH_PATH, &demo_basic(), &unknown).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let next = renewed["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", next)];
    let response = token_request(&sandbox, REFRESH_PATH, &basic("x", "y"), &form).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let wrong_grant = [("grant_type", "password"), ("refresh_token", next)];
    let response = token_request(&sandbox, REFRESH_PATH, &demo_basic(), &wrong_grant).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let missing = [("grant_type", "refresh_token")];
    let response = token_request(&sandbox, REFRESH_PATH, &demo_basic(), &missing).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The refresh grant also works on the access-token endpoint, as Trustpilot documents.
    let response = token_request(&sandbox, TOKEN_PATH, &demo_basic(), &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(sandbox.token_requests(), 8);
}

#[tokio::test]
async fn asking_for_tokens_too_often_is_answered_429() {
    let sandbox = start(SandboxConfig::default()).await;
    for _ in 0..10 {
        client_token(&sandbox).await;
    }
    let response = token_request(&sandbox, TOKEN_PATH, &demo_basic(), &[("grant_type", "client_credentials")]).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_none());
    let (_, body) = json_of(response).await;
    assert_eq!(body["fault"]["detail"]["errorcode"], "policies.ratelimit.SpikeArrestViolation");
    let refresh = token_request(&sandbox, REFRESH_PATH, &demo_basic(), &[("grant_type", "refresh_token")]).await;
    assert_eq!(refresh.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sandbox.token_requests(), 12);
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let sandbox =
        start(SandboxConfig { token_lifetime: Duration::from_millis(1000), ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let first = invite(&sandbox, &token, &invitation("a@example.com", "r1")).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let late = invite(&sandbox, &token, &invitation("b@example.com", "r2")).await.unwrap();
    let (status, body) = json_of(late).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["fault"]["detail"]["errorcode"], "oauth.v2.InvalidAccessToken");
    assert_eq!(sandbox.accepted().len(), 1);
}

// ----- business units and templates -----

#[tokio::test]
async fn business_units_are_found_by_domain_with_the_api_key() {
    let sandbox = start(SandboxConfig::default()).await;
    let find = |name: &str, key: Option<&str>| {
        let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let mut request = http().get(format!("{}/v1/business-units/find?name={name}", sandbox.api_url()));
        if let Some(key) = key {
            request = request.header("apikey", key);
        }
        request.send()
    };
    for name in ["example.com", "EXAMPLE.com", "www.example.com"] {
        let (status, body) = json_of(find(name, Some(DEMO_API_KEY)).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(body["id"], DEMO_BUSINESS_UNIT_ID);
        assert_eq!(body["displayName"], "Example Shop");
        assert_eq!(body["name"]["identifying"], DEMO_DOMAIN);
        assert!(body["links"].is_array());
    }
    for name in ["other.com", "https://example.com", "example"] {
        let (status, body) = json_of(find(name, Some(DEMO_API_KEY)).await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}");
        assert!(is_uuid_like(body["correlationId"].as_str().unwrap()));
    }
    for key in [None, Some("wrong")] {
        let (status, body) = json_of(find(DEMO_DOMAIN, key).await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["fault"]["faultstring"], "Invalid ApiKey");
    }
    let response = http()
        .get(format!("{}/v1/business-units/find", sandbox.api_url()))
        .header("apikey", DEMO_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn templates_are_listed_with_a_token() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let url = format!("{}{TEMPLATES}", sandbox.invitations_url());
    let (status, body) = json_of(http().get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let templates = body["templates"].as_array().unwrap();
    assert!(templates.len() >= 2);
    for template in templates {
        for key in ["id", "name", "locale", "type"] {
            assert!(template[key].is_string(), "{key}: {template}");
        }
        assert!(template["isDefaultTemplate"].is_boolean());
    }
    assert_eq!(templates.iter().filter(|t| t["isDefaultTemplate"] == true).count(), 1);

    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let other = url.replace(DEMO_BUSINESS_UNIT_ID, "000000000000000000000000");
    let response = http().get(&other).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let client = client_token(&sandbox).await;
    let response = http().get(&url).bearer_auth(&client).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response =
        http().get(&url).bearer_auth(&client).header("x-business-user-id", DEMO_BUSINESS_USER_ID).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

// ----- invitations -----

#[tokio::test]
async fn an_accepted_invitation_is_recorded() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let first = invitation("john.doe@example.com", "inv00001");
    let response = invite(&sandbox, &token, &first).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.text().await.unwrap().is_empty());
    // The next 202 carries a small body: a client has to cope with both.
    let response = invite(&sandbox, &token, &invitation("jane@example.com", "inv00002")).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (_, body) = json_of(response).await;
    assert!(is_uuid_like(body["correlationId"].as_str().unwrap()));

    let accepted = sandbox.accepted();
    assert_eq!(accepted.len(), 2);
    assert_eq!(accepted[0].email, "john.doe@example.com");
    assert_eq!(accepted[0].reference, "inv00001");
    assert_eq!(accepted[0].body, first);
    assert!(accepted[0].at <= accepted[1].at);
    assert_eq!(accepted[1].reference, "inv00002");
}

#[tokio::test]
async fn invitations_need_a_valid_token() {
    let sandbox = start(SandboxConfig::default()).await;
    let expected = json!({"fault": {"faultstring": "Invalid access token",
        "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}});
    let url = format!("{}{INVITATIONS}", sandbox.invitations_url());
    let body = invitation("a@example.com", "r1");
    let requests = [
        http().post(&url).json(&body),
        http().post(&url).bearer_auth("made-up").json(&body),
        http().post(&url).header("authorization", demo_basic()).json(&body),
        http().post(&url).header("authorization", "Bearer ").json(&body),
    ];
    for request in requests {
        let (status, answer) = json_of(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer, expected);
    }
    assert!(sandbox.accepted().is_empty());
}

#[tokio::test]
async fn a_client_credentials_token_needs_the_business_user_id() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = client_token(&sandbox).await;
    let url = format!("{}{INVITATIONS}", sandbox.invitations_url());
    let body = invitation("a@example.com", "r1");
    for user in [None, Some("000000000000000000000000"), Some(DEMO_BUSINESS_UNIT_ID)] {
        let mut request = http().post(&url).bearer_auth(&token).json(&body);
        if let Some(user) = user {
            request = request.header("x-business-user-id", user);
        }
        let (status, answer) = json_of(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user:?}");
        assert_eq!(answer["errorCode"], 1014);
        assert!(answer["message"].is_string() && answer["details"].is_string());
        assert!(is_uuid_like(answer["correlationId"].as_str().unwrap()));
    }
    let response = http()
        .post(&url)
        .bearer_auth(&token)
        .header("x-business-user-id", DEMO_BUSINESS_USER_ID)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(sandbox.accepted().len(), 1);
}

#[tokio::test]
async fn the_business_unit_must_exist_and_not_be_a_user_id() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let body = invitation("a@example.com", "r1");
    for (id, status) in
        [("000000000000000000000000", StatusCode::NOT_FOUND), (DEMO_BUSINESS_USER_ID, StatusCode::FORBIDDEN)]
    {
        let url = format!("{}/v1/private/business-units/{id}/email-invitations", sandbox.invitations_url());
        let response = http().post(url).bearer_auth(&token).json(&body).send().await.unwrap();
        let (got, answer) = json_of(response).await;
        assert_eq!(got, status, "{id}: {answer}");
        assert!(is_uuid_like(answer["correlationId"].as_str().unwrap()));
    }
    assert!(sandbox.accepted().is_empty());
}

#[tokio::test]
async fn invitations_must_be_json() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let url = format!("{}{INVITATIONS}", sandbox.invitations_url());
    let body = invitation("a@example.com", "r1").to_string();
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let mut request = http().post(&url).bearer_auth(&token).body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, answer) = json_of(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
        assert!(is_uuid_like(answer["correlationId"].as_str().unwrap()));
    }
    let response = http()
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_body_the_service_would_reject_gets_its_400() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let mut bad_email = invitation("john.doe", "r1");
    let (status, answer) = json_of(invite(&sandbox, &token, &bad_email).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["message"], "Invalid request");
    assert_eq!(answer["errorCode"], 1001);
    assert_eq!(answer["details"], "'Consumer Email' is not in the correct format.");
    assert!(is_uuid_like(answer["correlationId"].as_str().unwrap()));

    bad_email["referenceNumber"] = json!("#1001");
    bad_email["consumerEmail"] = json!("a@example.com");
    let (status, answer) = json_of(invite(&sandbox, &token, &bad_email).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["details"].as_str().unwrap().contains("Reference Number"));

    let response = http()
        .post(format!("{}{INVITATIONS}", sandbox.invitations_url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"consumerEmail\":")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(sandbox.accepted().is_empty());
}

#[tokio::test]
async fn each_host_serves_only_its_own_endpoints() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let response = http()
        .post(format!("{}{INVITATIONS}", sandbox.api_url()))
        .bearer_auth(&token)
        .json(&invitation("a@example.com", "r1"))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(is_uuid_like(body["correlationId"].as_str().unwrap()));
    let response = http()
        .post(format!("{}{TOKEN_PATH}", sandbox.invitations_url()))
        .header("authorization", demo_basic())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(sandbox.accepted().is_empty());
    assert_eq!(sandbox.token_requests(), 1);
}

#[tokio::test]
async fn every_request_is_logged_and_every_answer_has_a_correlation_id() {
    let sandbox = start(SandboxConfig::default()).await;
    assert!(sandbox.api_url().starts_with("http://127.0.0.1:"));
    assert!(sandbox.invitations_url().starts_with("http://127.0.0.1:"));
    let token = password_token(&sandbox).await;
    let responses = [
        http().get(format!("{}/nowhere", sandbox.api_url())).send().await.unwrap(),
        http().get(format!("{}{TOKEN_PATH}", sandbox.api_url())).send().await.unwrap(),
        invite(&sandbox, &token, &invitation("a@example.com", "r1")).await.unwrap(),
        invite(&sandbox, "bad", &invitation("a@example.com", "r1")).await.unwrap(),
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [404, 405, 202, 401]);
    for response in &responses {
        let id = response.headers()[CORRELATION_HEADER].to_str().unwrap();
        assert!(is_uuid_like(id), "{id}");
    }
    let log: Vec<(String, String, u16)> =
        sandbox.requests().into_iter().map(|r| (r.method, r.path, r.status)).collect();
    let expected = [
        ("POST", TOKEN_PATH, 200),
        ("GET", "/nowhere", 404),
        ("GET", TOKEN_PATH, 405),
        ("POST", INVITATIONS, 202),
        ("POST", INVITATIONS, 401),
    ];
    let expected: Vec<(String, String, u16)> =
        expected.iter().map(|(m, p, s)| (m.to_string(), p.to_string(), *s)).collect();
    assert_eq!(log, expected);
    let times: Vec<Duration> = sandbox.requests().iter().map(|r| r.at).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
}

// ----- fault knobs -----

#[tokio::test]
async fn latency_and_jitter_delay_every_answer() {
    let sandbox = start(SandboxConfig {
        latency: Duration::from_millis(150),
        jitter: Duration::from_millis(50),
        ..SandboxConfig::default()
    })
    .await;
    let started = Instant::now();
    let token = password_token(&sandbox).await;
    assert!(started.elapsed() >= Duration::from_millis(100), "token requests are delayed too");
    let mut elapsed = Vec::new();
    for i in 0..8 {
        let started = Instant::now();
        let response = invite(&sandbox, &token, &invitation("a@example.com", &format!("r{i}"))).await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        elapsed.push(started.elapsed());
    }
    assert!(elapsed.iter().all(|e| *e >= Duration::from_millis(100)), "{elapsed:?}");
    assert!(elapsed.iter().all(|e| *e < Duration::from_millis(1000)), "{elapsed:?}");
    let spread = *elapsed.iter().max().unwrap() - *elapsed.iter().min().unwrap();
    assert!(spread >= Duration::from_millis(10), "jitter varies the delay: {elapsed:?}");
}

#[tokio::test]
async fn failures_are_5xx_and_not_recorded() {
    let sandbox = start(SandboxConfig { fail_rate: 1.0, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let mut seen = Vec::new();
    for i in 0..30 {
        let response = invite(&sandbox, &token, &invitation("a@example.com", &format!("r{i}"))).await.unwrap();
        let status = response.status().as_u16();
        assert!(response.headers().contains_key(CORRELATION_HEADER));
        assert!(!response.text().await.unwrap().is_empty());
        seen.push(status);
    }
    for status in [500, 502, 503] {
        assert!(seen.contains(&status), "{status} in {seen:?}");
    }
    assert!(seen.iter().all(|s| [500, 502, 503].contains(s)));
    assert!(sandbox.accepted().is_empty());
    // Contract errors still come first: a bad body is a 400, not a 5xx.
    let response = invite(&sandbox, &token, &invitation("bad", "r")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// The statuses a sandbox answers `n` valid invitations with, in order.
async fn statuses(config: SandboxConfig, n: usize) -> Vec<u16> {
    let sandbox = start(config).await;
    let token = password_token(&sandbox).await;
    let mut statuses = Vec::new();
    for i in 0..n {
        let status = match invite(&sandbox, &token, &invitation("a@example.com", &format!("r{i}"))).await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        statuses.push(status);
    }
    statuses
}

#[tokio::test]
async fn faults_follow_the_seed() {
    let config = |seed| SandboxConfig { fail_rate: 0.3, drop_rate: 0.2, seed, ..SandboxConfig::default() };
    let first = statuses(config(42), 40).await;
    let again = statuses(config(42), 40).await;
    let other = statuses(config(43), 40).await;
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert!(first.contains(&202) && first.contains(&0), "{first:?}");
    assert!(first.iter().any(|s| *s >= 500), "{first:?}");
}

#[tokio::test]
async fn a_dropped_request_is_accepted_and_gets_no_answer() {
    let sandbox = start(SandboxConfig { drop_rate: 1.0, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let error = invite(&sandbox, &token, &invitation("a@example.com", "r1")).await.expect_err("no answer");
    assert!(!error.is_timeout(), "{error:?}");
    assert!(error.status().is_none());
    let accepted = sandbox.accepted();
    assert_eq!(accepted.len(), 1, "accepted once, and not re-sent by the client library");
    assert_eq!(accepted[0].reference, "r1");
    let last = sandbox.requests().pop().unwrap();
    assert_eq!((last.path.as_str(), last.status), (INVITATIONS, 0));

    // On the wire: the whole request went out, and not one byte came back.
    let address = sandbox.invitations_url().replace("http://", "");
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let body = invitation("b@example.com", "r2").to_string();
    let request = format!(
        "POST {INVITATIONS} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the connection is closed, not left hanging");
    match read {
        Ok(_) => assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer)),
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
    }
    assert_eq!(sandbox.accepted().len(), 2);

    // A request that is not accepted is answered as usual, on a fresh connection.
    let response = invite(&sandbox, "bad", &invitation("c@example.com", "r3")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

// ----- product review invitations -----

#[tokio::test]
async fn product_reviews_are_accepted_beside_or_instead_of_the_service_review_and_recorded() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let both = product_invitation("a@example.com", "r1", &["ABC-1234", "XYZ-9"]);
    let alone = edited(product_invitation("b@example.com", "r2", &["ABC-1234"]), &[("/serviceReviewInvitation", None)]);
    let listed = edited(
        invitation("c@example.com", "r3"),
        &[("/productReviewInvitation", Some(json!({"productSkus": ["SKU-1", "SKU-2", "SKU-3"]})))],
    );
    // Send times in order: the service one first, or both at once.
    let timed = |service: &str, product: &str| {
        edited(
            product_invitation("d@example.com", "r4", &["ABC-1234"]),
            &[
                ("/serviceReviewInvitation/preferredSendTime", Some(json!(service))),
                ("/productReviewInvitation/preferredSendTime", Some(json!(product))),
            ],
        )
    };
    let earlier = timed("2026-12-01T09:00:00", "2026-12-08T09:00:00");
    let together = timed("2026-12-01T09:00:00", "2026-12-01T09:00:00");
    for body in [&both, &alone, &listed, &earlier, &together] {
        let response = invite(&sandbox, &token, body).await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{body}");
    }
    let accepted = sandbox.accepted();
    let skus: Vec<Vec<&str>> = accepted.iter().map(Accepted::skus).collect();
    assert_eq!(
        skus,
        [
            vec!["ABC-1234", "XYZ-9"],
            vec!["ABC-1234"],
            vec!["SKU-1", "SKU-2", "SKU-3"],
            vec!["ABC-1234"],
            vec!["ABC-1234"]
        ]
    );
    assert_eq!(accepted[1].body, alone);
    assert!(sandbox.links().is_empty(), "an email invitation creates no link");
}

#[tokio::test]
async fn product_review_bodies_the_service_would_refuse_get_their_400() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let base = edited(
        product_invitation("a@example.com", "r1", &["ABC-1234", "XYZ-9"]),
        &[
            ("/serviceReviewInvitation/preferredSendTime", Some(json!("2026-12-01T09:00:00"))),
            ("/productReviewInvitation/preferredSendTime", Some(json!("2026-12-02T09:00:00"))),
        ],
    );
    let s = |text: &str| Some(json!(text));
    let products = "/productReviewInvitation/products";
    let skus = "/productReviewInvitation/productSkus";
    let sku_list = |list: Value| [(products, None), (skus, Some(list))];
    type Edits<'a> = Vec<(&'a str, Option<Value>)>;
    let table: Vec<(Edits, &str)> = vec![
        (
            vec![("/serviceReviewInvitation", None), ("/productReviewInvitation", None)],
            "'Service Review Invitation' or 'Product Review Invitation' is required.",
        ),
        (vec![("/productReviewInvitation", s("ABC-1234"))], "'Product Review Invitation' must be an object."),
        (
            vec![(skus, Some(json!(["ABC-1234"])))],
            "'productReviewInvitation' holds both 'products' and 'productSkus': send one of them.",
        ),
        (vec![(products, None)], "'productReviewInvitation' needs 'products' or 'productSkus'."),
        (vec![(products, Some(json!([])))], "'productReviewInvitation.products' must not be empty."),
        (vec![(products, s("ABC-1234"))], "'productReviewInvitation.products' must be a list of products."),
        (
            vec![("/productReviewInvitation/products/1", s("XYZ-9"))],
            "'productReviewInvitation.products[1]' must be an object.",
        ),
        (
            vec![("/productReviewInvitation/products/1/sku", None)],
            "'productReviewInvitation.products[1].sku' is required.",
        ),
        (
            vec![("/productReviewInvitation/products/1/name", None)],
            "'productReviewInvitation.products[1].name' is required.",
        ),
        (
            vec![("/productReviewInvitation/products/1/name", s("  "))],
            "'productReviewInvitation.products[1].name' must not be empty.",
        ),
        (
            vec![("/productReviewInvitation/products/0/sku", Some(json!(1234)))],
            "'productReviewInvitation.products[0].sku' must be a string.",
        ),
        (
            vec![("/productReviewInvitation/products/0/productUrl", s("example.com/car"))],
            "'productReviewInvitation.products[0].productUrl' is not in the correct format.",
        ),
        (
            vec![("/productReviewInvitation/products/0/imageUrl", s("ftp://example.com/car.png"))],
            "'productReviewInvitation.products[0].imageUrl' is not in the correct format.",
        ),
        (
            vec![("/productReviewInvitation/products/0/colour", s("red"))],
            "'productReviewInvitation.products[0].colour' is not a known field.",
        ),
        (
            vec![("/productReviewInvitation/products/1/sku", s("ABC-1234"))],
            "'productReviewInvitation.products[1].sku' 'ABC-1234' is already listed at \
             'productReviewInvitation.products[0].sku': list each product once.",
        ),
        (sku_list(json!([])).to_vec(), "'productReviewInvitation.productSkus' must not be empty."),
        (sku_list(json!("SKU-1")).to_vec(), "'productReviewInvitation.productSkus' must be a list of SKUs."),
        (sku_list(json!(["SKU-1", ""])).to_vec(), "'productReviewInvitation.productSkus[1]' must not be empty."),
        (sku_list(json!(["SKU-1", 2])).to_vec(), "'productReviewInvitation.productSkus[1]' must be a string."),
        (
            sku_list(json!(["SKU-1", "SKU-2", "SKU-1"])).to_vec(),
            "'productReviewInvitation.productSkus[2]' 'SKU-1' is already listed at \
             'productReviewInvitation.productSkus[0]': list each product once.",
        ),
        (
            vec![("/productReviewInvitation/templateId", s(""))],
            "'productReviewInvitation.templateId' must not be empty.",
        ),
        (
            vec![("/productReviewInvitation/redirectUri", s("/thanks"))],
            "'productReviewInvitation.redirectUri' is not in the correct format.",
        ),
        (
            vec![("/productReviewInvitation/preferredSendTime", s("2026-12-02"))],
            "'productReviewInvitation.preferredSendTime' is not in the correct format.",
        ),
        (
            vec![("/productReviewInvitation/tags", Some(json!(["vip"])))],
            "'productReviewInvitation.tags' is not a known field.",
        ),
        (
            vec![("/serviceReviewInvitation/preferredSendTime", s("2026-12-02T09:00:01"))],
            "The service review's 'Preferred Send Time' (2026-12-02T09:00:01) must not be later than the \
             product review's (2026-12-02T09:00:00).",
        ),
        // Every problem at once, in the order of the body's sections.
        (
            vec![
                ("/consumerEmail", s("a")),
                ("/productReviewInvitation/products/0/sku", None),
                ("/productReviewInvitation/products/1/productUrl", s("x")),
            ],
            "'Consumer Email' is not in the correct format. 'productReviewInvitation.products[0].sku' is \
             required. 'productReviewInvitation.products[1].productUrl' is not in the correct format.",
        ),
    ];
    for (edits, details) in table {
        let body = edited(base.clone(), &edits);
        let (status, answer) = json_of(invite(&sandbox, &token, &body).await.unwrap()).await;
        assert_invalid(status, &answer, details);
    }
    assert!(sandbox.accepted().is_empty());
    let response = invite(&sandbox, &token, &base).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED, "the base body itself is fine");
}

// ----- invitation links -----

#[tokio::test]
async fn every_link_request_creates_a_new_link_and_is_recorded() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let mut answers = Vec::new();
    for body in [link("a@example.com", "r1"), link("a@example.com", "r1"), link("b@example.com", "r2")] {
        let response = create_link(&sandbox, &token, &body).await.unwrap();
        assert!(response.headers().contains_key(CORRELATION_HEADER));
        let (status, answer) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer.as_object().unwrap().len(), 2, "{answer}");
        answers.push(answer);
    }
    let links = sandbox.links();
    assert_eq!(links.len(), 3);
    for (link, answer) in links.iter().zip(&answers) {
        assert_eq!(
            (link.id.as_str(), link.url.as_str()),
            (answer["id"].as_str().unwrap(), answer["url"].as_str().unwrap())
        );
        let url = url::Url::parse(&link.url).unwrap();
        assert_eq!(url.scheme(), "https");
        assert!(url.host_str().unwrap().ends_with(".invalid"), "{url}");
        let secrets = [DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD].map(String::from);
        assert_eq!(leaked(&link.url, &secrets), None, "a client's scrubber would take the link for a secret");
        assert!(link.id.len() >= 20 && link.id.chars().all(|c| c.is_ascii_hexdigit()), "{}", link.id);
    }
    // The same reference again: another link, as the real service makes.
    assert_ne!(links[0].url, links[1].url);
    assert_ne!(links[0].id, links[1].id);
    assert_eq!((links[1].email.as_str(), links[1].reference.as_str()), ("a@example.com", "r1"));
    assert_eq!(links[2].body, link("b@example.com", "r2"));
    assert!(links[0].at <= links[2].at);
    assert!(sandbox.accepted().is_empty(), "a link is not an email invitation");
    let statuses: Vec<(String, u16)> = sandbox.requests().into_iter().map(|r| (r.path, r.status)).collect();
    assert_eq!(&statuses[1..], [(LINKS.to_string(), 200), (LINKS.to_string(), 200), (LINKS.to_string(), 200)]);
}

#[tokio::test]
async fn links_need_a_token_json_and_the_business_unit_as_invitations_do() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let url = format!("{}{LINKS}", sandbox.invitations_url());
    let body = link("a@example.com", "r1");

    for request in [http().post(&url).json(&body), http().post(&url).bearer_auth("made-up").json(&body)] {
        let (status, answer) = json_of(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer["fault"]["detail"]["errorcode"], "oauth.v2.InvalidAccessToken");
    }
    let plain = http().post(&url).bearer_auth(&token).body(body.to_string()).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for (id, status) in
        [("000000000000000000000000", StatusCode::NOT_FOUND), (DEMO_BUSINESS_USER_ID, StatusCode::FORBIDDEN)]
    {
        let other = url.replace(DEMO_BUSINESS_UNIT_ID, id);
        let response = http().post(other).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), status, "{id}");
    }
    let client = client_token(&sandbox).await;
    let response = http().post(&url).bearer_auth(&client).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(sandbox.links().is_empty());
    let response =
        http().post(&url).bearer_auth(&client).header("x-business-user-id", DEMO_BUSINESS_USER_ID).json(&body).send();
    assert_eq!(response.await.unwrap().status(), StatusCode::OK);
    // Links live on the invitations host only.
    let response = http().post(format!("{}{LINKS}", sandbox.api_url())).bearer_auth(&token).json(&body).send();
    assert_eq!(response.await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(sandbox.links().len(), 1);
}

#[tokio::test]
async fn link_bodies_the_service_would_refuse_get_their_400() {
    let sandbox = start(SandboxConfig::default()).await;
    let token = password_token(&sandbox).await;
    let base = edited(
        link("a@example.com", "r1"),
        &[
            ("/locale", Some(json!("en-GB"))),
            ("/tags", Some(json!(["sms", "spring_sale"]))),
            ("/redirectUri", Some(json!("https://example.com/thanks"))),
            ("/locationId", Some(json!("ABC123"))),
        ],
    );
    let s = |text: &str| Some(json!(text));
    type Edits<'a> = Vec<(&'a str, Option<Value>)>;
    let table: Vec<(Edits, &str)> = vec![
        (vec![("/referenceId", None)], "'Reference Id' is required."),
        (vec![("/email", None)], "'Email' is required."),
        (vec![("/name", None)], "'Name' is required."),
        (vec![("/referenceId", s("#1001"))], "'Reference Id' must not contain any of # * + \" % &."),
        (vec![("/referenceId", s(""))], "'Reference Id' must not be empty."),
        (vec![("/email", s("john.doe"))], "'Email' is not in the correct format."),
        (vec![("/name", Some(json!(7)))], "'Name' must be a string."),
        (vec![("/name", s("John\u{0}Doe"))], "'Name' is not in the correct format."),
        (
            vec![("/tags", Some(json!(["a b"])))],
            "'Tags' may only contain letters, digits, '_', '-' and '.' (found 'a b').",
        ),
        (vec![("/redirectUri", s("example.com/thanks"))], "'Redirect Uri' is not in the correct format."),
        (vec![("/locationId", s(" "))], "'Location Id' must not be empty."),
        // The email invitation's names are not the link's.
        (
            vec![("/referenceId", None), ("/referenceNumber", s("r1"))],
            "'referenceNumber' is not a known field. 'Reference Id' is required.",
        ),
        (vec![("/serviceReviewInvitation", Some(json!({})))], "'serviceReviewInvitation' is not a known field."),
    ];
    for (edits, details) in table {
        let body = edited(base.clone(), &edits);
        let (status, answer) = json_of(create_link(&sandbox, &token, &body).await.unwrap()).await;
        assert_invalid(status, &answer, details);
    }
    let body = edited(base.clone(), &[("/locale", Some(json!("en_GB")))]);
    let (status, answer) = json_of(create_link(&sandbox, &token, &body).await.unwrap()).await;
    let locales = super::rules::LOCALES.join(", ");
    assert_invalid(status, &answer, &format!("'Locale' 'en_GB' is not supported; use one of {locales}."));
    let response = http()
        .post(format!("{}{LINKS}", sandbox.invitations_url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("[1]")
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_invalid(status, &answer, "The request body must be a JSON object.");
    assert!(sandbox.links().is_empty());
    assert_eq!(create_link(&sandbox, &token, &base).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn links_meet_the_faults_invitations_meet() {
    // 5xx: nothing created.
    let sandbox = start(SandboxConfig { fail_rate: 1.0, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    for i in 0..6 {
        let status = create_link(&sandbox, &token, &link("a@example.com", &format!("r{i}"))).await.unwrap().status();
        assert!([500, 502, 503].contains(&status.as_u16()), "{status}");
    }
    assert!(sandbox.links().is_empty());

    // Dropped: created, recorded, no answer at all.
    let sandbox = start(SandboxConfig { drop_rate: 1.0, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let error = create_link(&sandbox, &token, &link("a@example.com", "r1")).await.expect_err("no answer");
    assert!(error.status().is_none() && !error.is_timeout(), "{error:?}");
    assert_eq!(sandbox.links().len(), 1);
    assert_eq!(sandbox.requests().pop().unwrap().status, 0);

    // 504 and 303 after the link was created; the redirect points at it.
    let sandbox = start(SandboxConfig { timeout_rate: 1.0, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let response = create_link(&sandbox, &token, &link("a@example.com", "r1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(sandbox.links().len(), 1);
    let sandbox = start(SandboxConfig { redirect_rate: 1.0, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let response = post_unredirected(&sandbox, LINKS, &token, &link("a@example.com", "r1")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let created = sandbox.links().pop().unwrap();
    assert_eq!(response.headers()["location"].to_str().unwrap(), format!("{LINKS}/{}", created.id));

    // The quota counts links like any request.
    let sandbox = start(SandboxConfig { quota: Some((2, Duration::from_secs(600))), ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    assert_eq!(create_link(&sandbox, &token, &link("a@example.com", "r1")).await.unwrap().status(), StatusCode::OK);
    let refused = create_link(&sandbox, &token, &link("a@example.com", "r2")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sandbox.links().len(), 1);
}

#[tokio::test]
async fn invitations_and_links_share_the_dice() {
    // The faults follow the order of invitation and link requests together: the same seed
    // gives the same sequence whichever of the two each request is.
    let config = SandboxConfig { fail_rate: 0.5, seed: 42, ..SandboxConfig::default() };
    let only_invitations = statuses(config.clone(), 12).await;
    let sandbox = start(config).await;
    let token = password_token(&sandbox).await;
    let mut mixed = Vec::new();
    for i in 0..12 {
        let reference = format!("r{i}");
        let response = if i % 2 == 0 {
            invite(&sandbox, &token, &invitation("a@example.com", &reference)).await
        } else {
            create_link(&sandbox, &token, &link("a@example.com", &reference)).await
        };
        mixed.push(response.unwrap().status().as_u16() >= 500);
    }
    let failed: Vec<bool> = only_invitations.iter().map(|status| *status >= 500).collect();
    assert_eq!(mixed, failed);
    assert!(mixed.contains(&true) && mixed.contains(&false), "{mixed:?}");
}

#[tokio::test]
async fn link_requests_can_be_echoed_back_and_answered_without_a_url() {
    let sandbox = start(SandboxConfig { echo_invitation_requests: true, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let (status, answer) = json_of(create_link(&sandbox, &token, &link("a@example.com", "r1")).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["details"].as_str().unwrap().ends_with(&format!("(Authorization: Bearer {token}).")));
    assert!(sandbox.links().is_empty());

    let sandbox = start(SandboxConfig { links_without_url: true, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let (status, answer) = json_of(create_link(&sandbox, &token, &link("a@example.com", "r1")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let created = sandbox.links();
    assert_eq!(answer, json!({"id": created[0].id}), "created all the same");
}

// ----- misbehaviours -----

#[tokio::test]
async fn a_gateway_timeout_comes_after_the_invitation_is_recorded() {
    let sandbox = start(SandboxConfig { timeout_rate: 1.0, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let response = invite(&sandbox, &token, &invitation("a@example.com", "r1")).await.unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["fault"]["detail"]["errorcode"], "messaging.adaptors.http.flow.GatewayTimeout");
    assert_eq!(sandbox.accepted().len(), 1, "created all the same");
    assert_eq!(sandbox.requests().pop().unwrap().status, 504);
}

#[tokio::test]
async fn a_redirect_comes_after_the_invitation_is_recorded() {
    let sandbox = start(SandboxConfig { redirect_rate: 1.0, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let response = post_unredirected(&sandbox, INVITATIONS, &token, &invitation("a@example.com", "r1")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/v1/private/business-units/46d6a890000064000500e0c3/invitations/"), "{location}");
    assert_eq!(sandbox.accepted().len(), 1);
}

#[tokio::test]
async fn a_quota_429_can_carry_any_retry_after_text() {
    for text in ["1e30", "-5", "Fri, 31 Dec 9999 23:59:59 GMT", "18446744073709551616"] {
        let config = SandboxConfig {
            quota: Some((1, Duration::from_secs(60))),
            retry_after: Some(Duration::from_secs(7)),
            retry_after_text: Some(text.to_string()),
            ..SandboxConfig::default()
        };
        let sandbox = start(config).await;
        let token = password_token(&sandbox).await;
        let response = invite(&sandbox, &token, &invitation("a@example.com", "r1")).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], text, "the text wins over the seconds");
    }
}

#[tokio::test]
async fn token_requests_can_be_echoed_back() {
    let sandbox = start(SandboxConfig { echo_token_requests: true, ..SandboxConfig::default() }).await;
    let authorization = basic("k\"ey", "se cret");
    let form = [("grant_type", "password"), ("username", "me"), ("password", "p&ss\"w")];
    for path in [TOKEN_PATH, REFRESH_PATH] {
        let (status, body) = json_of(token_request(&sandbox, path, &authorization, &form).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_request");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(&format!("Authorization: {authorization};")), "{description}");
        assert!(description.contains("password=p%26ss%22w"), "{description}");
        assert!(description.ends_with("fields: grant_type 'password', username 'me', password 'p&ss\"w'"));
        let details: Value = serde_json::from_str(body["details"].as_str().unwrap()).unwrap();
        assert_eq!(details["credentials"], "k\"ey:se cret");
        assert_eq!(details["form"]["password"], "p&ss\"w");
    }
    assert!(sandbox.issued_tokens().is_empty());
}

#[tokio::test]
async fn invitations_can_be_echoed_back_with_their_token() {
    let sandbox = start(SandboxConfig { echo_invitation_requests: true, ..SandboxConfig::default() }).await;
    let token = password_token(&sandbox).await;
    let response = invite(&sandbox, &token, &invitation("a@example.com", "r1")).await.unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let details = body["details"].as_str().unwrap();
    assert!(details.starts_with("Could not process {"), "{details}");
    assert!(details.ends_with(&format!("(Authorization: Bearer {token}).")), "{details}");
    assert!(sandbox.accepted().is_empty());
    // Checks come first: an invitation the service would refuse gets its own 400.
    let response = invite(&sandbox, &token, &invitation("not-an-email", "r2")).await.unwrap();
    let (_, body) = json_of(response).await;
    assert!(!body["details"].as_str().unwrap().contains(&token));
}

#[tokio::test]
async fn an_endless_token_lifetime_never_expires_and_every_token_is_on_record() {
    let sandbox = start(SandboxConfig { token_lifetime: Duration::MAX, ..SandboxConfig::default() }).await;
    let body = password_grant(&sandbox).await;
    let token = body["access_token"].as_str().unwrap();
    let response = invite(&sandbox, token, &invitation("a@example.com", "r1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(sandbox.issued_tokens(), [token, body["refresh_token"].as_str().unwrap()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_keep_the_books_straight() {
    let sandbox = start(SandboxConfig {
        fail_rate: 0.2,
        drop_rate: 0.2,
        jitter: Duration::from_millis(20),
        latency: Duration::from_millis(20),
        ..SandboxConfig::default()
    })
    .await;
    let token = password_token(&sandbox).await;
    let client = http();
    let url = format!("{}{INVITATIONS}", sandbox.invitations_url());
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let request = client.post(&url).bearer_auth(&token).json(&invitation("a@example.com", &format!("r{i}")));
            tokio::spawn(async move { (i, request.send().await.map(|response| response.status().as_u16())) })
        })
        .collect();
    let mut answered = Vec::new();
    let mut dropped = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (i, Ok(202)) => answered.push(format!("r{i}")),
            (_, Ok(status)) => assert!([500, 502, 503].contains(&status), "{status}"),
            (i, Err(_)) => dropped.push(format!("r{i}")),
        }
    }
    assert!(!dropped.is_empty() && !answered.is_empty());
    // Every 202 and every dropped connection is an accepted invitation, and nothing else is.
    let mut accepted: Vec<String> = sandbox.accepted().into_iter().map(|a| a.reference).collect();
    let mut expected = [answered, dropped].concat();
    accepted.sort();
    expected.sort();
    assert_eq!(accepted, expected);
}

#[tokio::test]
async fn the_quota_answers_429_within_a_sliding_window() {
    // A window far longer than the test: the 429 cannot depend on how fast the machine is.
    // When the window lets requests in again is the window's own unit test (faults.rs).
    let sandbox = start(SandboxConfig { quota: Some((3, Duration::from_secs(600))), ..SandboxConfig::default() }).await;
    // The token request counts against the quota too.
    let token = password_token(&sandbox).await;
    for i in 0..2 {
        let response = invite(&sandbox, &token, &invitation("a@example.com", &format!("r{i}"))).await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let refused = invite(&sandbox, &token, &invitation("a@example.com", "r2")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().get("retry-after").is_none());
    assert!(refused.headers().contains_key(CORRELATION_HEADER));
    let (_, body) = json_of(refused).await;
    assert_eq!(body["fault"]["detail"]["errorcode"], "policies.ratelimit.QuotaViolation");
    assert_eq!(sandbox.accepted().len(), 2);
}

#[tokio::test]
async fn a_quota_429_says_retry_after_when_configured() {
    let sandbox = start(SandboxConfig {
        quota: Some((1, Duration::from_secs(60))),
        retry_after: Some(Duration::from_secs(7)),
        ..SandboxConfig::default()
    })
    .await;
    let token = password_token(&sandbox).await;
    let response = invite(&sandbox, &token, &invitation("a@example.com", "r1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");
    let statuses: Vec<u16> = sandbox.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 429]);
}

// ----- life cycle and record -----

#[tokio::test]
async fn the_record_file_gets_a_line_per_request_and_per_acceptance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("record.jsonl");
    let sandbox = Sandbox::start_recording(SandboxConfig::default(), 0, false, Some(&path)).await.unwrap();
    let token = password_token(&sandbox).await;
    invite(&sandbox, &token, &invitation("a@example.com", "r1")).await.unwrap();
    invite(&sandbox, &token, &invitation("bad", "r2")).await.unwrap();
    let lines: Vec<Value> =
        std::fs::read_to_string(&path).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let kinds: Vec<&str> = lines.iter().map(|line| line["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["request", "accepted", "request", "request"]);
    assert_eq!(lines[1]["email"], "a@example.com");
    assert_eq!(lines[1]["reference"], "r1");
    assert_eq!(lines[1]["skus"], json!([]));
    assert!(lines[1]["at_ms"].is_u64());
    assert_eq!(lines[2]["status"], 202);
    assert_eq!(lines[3]["status"], 400);
    assert_eq!(lines[3]["method"], "POST");
    assert_eq!(lines[3]["path"], INVITATIONS);
    drop(sandbox);

    // A second sandbox appends to the same file.
    let sandbox = Sandbox::start_recording(SandboxConfig::default(), 0, false, Some(&path)).await.unwrap();
    password_token(&sandbox).await;
    let count = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(count, 5);

    let missing = dir.path().join("no/such/dir/record.jsonl");
    let error = Sandbox::start_recording(SandboxConfig::default(), 0, false, Some(&missing)).await.unwrap_err();
    assert!(error.to_string().contains("TP_INVITE_SANDBOX_RECORD"), "{error}");
}

#[tokio::test]
async fn the_record_file_holds_the_skus_and_the_links() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("record.jsonl");
    let sandbox = Sandbox::start_recording(SandboxConfig::default(), 0, false, Some(&path)).await.unwrap();
    let token = password_token(&sandbox).await;
    invite(&sandbox, &token, &product_invitation("a@example.com", "r1", &["ABC-1234", "XYZ-9"])).await.unwrap();
    create_link(&sandbox, &token, &link("b@example.com", "r2")).await.unwrap();
    create_link(&sandbox, &token, &link("bad", "r3")).await.unwrap();
    let lines: Vec<Value> =
        std::fs::read_to_string(&path).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let kinds: Vec<&str> = lines.iter().map(|line| line["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["request", "accepted", "request", "link", "request", "request"]);
    assert_eq!(lines[1]["skus"], json!(["ABC-1234", "XYZ-9"]));
    let created = &sandbox.links()[0];
    let expected = json!({
        "kind": "link",
        "email": "b@example.com",
        "reference": "r2",
        "id": created.id,
        "url": created.url,
        "at_ms": lines[3]["at_ms"],
    });
    assert_eq!(lines[3], expected);
    assert!(lines[3]["at_ms"].is_u64());
    assert_eq!((lines[4]["path"].as_str(), lines[4]["status"].as_u64()), (Some(LINKS), Some(200)));
    assert_eq!(lines[5]["status"], 400);
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let sandbox = start(SandboxConfig::default()).await;
    let url = format!("{}/v1/business-units/find?name=example.com", sandbox.api_url());
    let response = http().get(&url).header("apikey", DEMO_API_KEY).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    sandbox.shutdown().await;
    // A fresh client, so no pooled connection hides the closed listener.
    assert!(http().get(&url).send().await.is_err());

    let sandbox = start(SandboxConfig::default()).await;
    let url = format!("{}/v1/business-units/find?name=example.com", sandbox.api_url());
    drop(sandbox);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(http().get(&url).send().await.is_err());
}

#[tokio::test]
async fn a_given_port_holds_the_api_and_the_next_one_the_invitations() {
    // Find two free neighbouring ports; another process may take them in between, so retry.
    for _ in 0..20 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        if port == u16::MAX {
            continue;
        }
        let Ok(sandbox) = Sandbox::start_recording(SandboxConfig::default(), port, false, None).await else {
            continue;
        };
        assert_eq!(sandbox.api_url(), format!("http://127.0.0.1:{port}"));
        assert_eq!(sandbox.invitations_url(), format!("http://127.0.0.1:{}", port + 1));
        let env: std::collections::HashMap<_, _> = sandbox.env().into_iter().collect();
        assert_eq!(env.len(), 7);
        assert_eq!(env["TRUSTPILOT_API_URL"], sandbox.api_url());
        assert_eq!(env["TRUSTPILOT_INVITATIONS_API_URL"], sandbox.invitations_url());
        assert_eq!(env["TRUSTPILOT_API_KEY"], DEMO_API_KEY);
        assert_eq!(env["TRUSTPILOT_API_SECRET"], DEMO_API_SECRET);
        assert_eq!(env["TRUSTPILOT_USERNAME"], DEMO_USERNAME);
        assert_eq!(env["TRUSTPILOT_PASSWORD"], DEMO_PASSWORD);
        assert_eq!(env["TRUSTPILOT_BUSINESS_UNIT_ID"], DEMO_BUSINESS_UNIT_ID);
        // A busy port is an error that names it.
        let error = Sandbox::start(SandboxConfig::default(), port).await.unwrap_err();
        assert!(error.to_string().contains(&format!("127.0.0.1:{port}")), "{error}");
        return;
    }
    panic!("found no two free neighbouring ports");
}

#[test]
fn fault_flags_become_a_config() {
    let args = crate::cli::FaultArgs {
        latency: 20,
        jitter: 5,
        fail_rate: 0.1,
        drop_rate: 0.2,
        quota: Some(crate::cli::Rate { count: 833, per: Duration::from_secs(300) }),
        retry_after: Some(30),
        token_lifetime: 60,
        seed: 9,
        retry_after_text: Some("soon".into()),
        timeout_rate: 0.3,
        redirect_rate: 0.4,
        echo_token_requests: true,
        echo_invitation_requests: true,
    };
    let config = SandboxConfig::from(&args);
    assert_eq!(config.latency, Duration::from_millis(20));
    assert_eq!(config.jitter, Duration::from_millis(5));
    assert_eq!((config.fail_rate, config.drop_rate), (0.1, 0.2));
    assert_eq!(config.quota, Some((833, Duration::from_secs(300))));
    assert_eq!(config.retry_after, Some(Duration::from_secs(30)));
    assert_eq!(config.token_lifetime, Duration::from_secs(60));
    assert_eq!(config.seed, 9);
    assert_eq!(config.retry_after_text.as_deref(), Some("soon"));
    assert_eq!((config.timeout_rate, config.redirect_rate), (0.3, 0.4));
    assert!(config.echo_token_requests && config.echo_invitation_requests);
    let default = SandboxConfig::default();
    assert_eq!(default.token_lifetime, Duration::from_secs(359_999));
    assert_eq!((default.seed, default.quota, default.retry_after), (1, None, None));
    assert_eq!((default.fail_rate, default.drop_rate), (0.0, 0.0));
}
