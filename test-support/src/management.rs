//! The test broker's management API as its admin: creating vhosts, reading policies,
//! queues and connections, removing a queue behind the services' back.

use serde_json::Value;

/// The management API at one URL with its credentials (`http://user:pass@host/api`).
pub struct ManagementApi {
    base: String,
    user: String,
    password: String,
    client: reqwest::Client,
}

impl ManagementApi {
    /// The test stack's API (`TEST_RABBITMQ_API`).
    pub fn of_test_stack() -> Self {
        Self::at(&crate::stack_var("TEST_RABBITMQ_API"))
    }

    /// The API at `url`, which carries the credentials.
    pub fn at(url: &str) -> Self {
        let (base, user, password) = crate::split_credentials(url);
        ManagementApi {
            base,
            user,
            password,
            client: reqwest::Client::new(),
        }
    }

    /// The account the API is used as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// A request to `path` below the API's root (`/vhosts/x`), with the credentials.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.password))
    }

    /// `GET path` as JSON. Panics with `what` unless the API answers 2xx with JSON.
    pub async fn get(&self, path: &str, what: &str) -> Value {
        self.send(self.request(reqwest::Method::GET, path), what)
            .await
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// `PUT path` with a JSON body. Panics with `what` unless the API answers 2xx.
    pub async fn put(&self, path: &str, body: &Value, what: &str) {
        let request = self.request(reqwest::Method::PUT, path).json(body);
        self.send(request, what).await;
    }

    /// `DELETE path`. Panics with `what` unless the API answers 2xx.
    pub async fn delete(&self, path: &str, what: &str) {
        self.send(self.request(reqwest::Method::DELETE, path), what)
            .await;
    }

    /// The connections open on `vhost`. The API lists a connection once its statistics
    /// are in, a few seconds after it opened.
    pub async fn connections(&self, vhost: &str) -> Vec<Value> {
        let listed = self
            .get(
                &format!("/vhosts/{vhost}/connections"),
                "list the vhost's connections",
            )
            .await;
        match listed {
            Value::Array(connections) => connections,
            other => panic!("connections of {vhost}: not a list: {other}"),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> reqwest::Response {
        request
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("{what} through the management API: {e}"))
    }
}
