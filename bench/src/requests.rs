//! The HTTP scenarios: `health_check`, `insert_record`, `read_full`, `read_paged` and
//! `mixed`, each a closed loop of `--concurrency` clients (see [`crate::load`]); and the
//! seeded table the reads run against.

use crate::load::{Answer, Step};
use crate::report::Row;
use crate::Bench;
use mysql_async::prelude::*;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Rows in the table while the reads run.
pub(crate) const SEEDED: usize = 10_000;

/// Sends a request and reads the whole body, as a client would: the status (0 if the
/// request or the transfer failed) and the bytes received.
pub(crate) async fn fetch(request: reqwest::RequestBuilder) -> Answer {
    let Ok(mut response) = request.send().await else {
        return Answer {
            status: 0,
            bytes: 0,
        };
    };
    let status = response.status().as_u16();
    let mut bytes = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes += chunk.len() as u64,
            Ok(None) => return Answer { status, bytes },
            Err(_) => return Answer { status: 0, bytes },
        }
    }
}

/// Empties the table and fills it with [`SEEDED`] records; their SRNs, in order.
pub(crate) async fn seed(database_url: &str, run: &str) -> Vec<String> {
    let mut conn = mysql_async::Conn::from_url(database_url)
        .await
        .expect("database");
    conn.query_drop("DELETE FROM students")
        .await
        .expect("empty the table");
    let srns: Vec<String> = (0..SEEDED).map(|i| format!("S{run}{i:06}")).collect();
    for chunk in srns.chunks(1000) {
        let rows = vec!["(?, ?, ?, NULL)"; chunk.len()].join(", ");
        let params: Vec<mysql_async::Value> = chunk
            .iter()
            .flat_map(|s| [s.as_str().into(), "Seeded Student Name".into(), "A".into()])
            .collect();
        conn.exec_drop(
            format!("INSERT INTO students (srn, name, section, request_id) VALUES {rows}"),
            params,
        )
        .await
        .expect("seed");
    }
    conn.disconnect().await.ok();
    srns
}

/// The producer as the scenarios' clients see it.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    run: String,
}

impl Client {
    pub(crate) fn new(bench: &Bench) -> Client {
        Client {
            http: bench.http.clone(),
            base: bench.stack.base.clone(),
            run: bench.run.clone(),
        }
    }

    pub(crate) fn get(&self, path: String) -> impl Future<Output = Answer> + Send + 'static {
        fetch(self.http.get(format!("{}{path}", self.base)))
    }

    /// Inserts a new record; its SRN is `tag`, the run and `n`.
    pub(crate) fn insert(
        &self,
        n: u64,
        tag: &str,
    ) -> impl Future<Output = Answer> + Send + 'static {
        let srn = format!("{tag}{}{n:08}", self.run);
        self.insert_srn(&srn, "Bench Student", "B")
    }

    fn insert_srn(
        &self,
        srn: &str,
        name: &str,
        section: &str,
    ) -> impl Future<Output = Answer> + Send + 'static {
        let body = serde_json::json!({"Name": name, "SRN": srn, "Section": section});
        fetch(
            self.http
                .post(format!("{}/insert_record", self.base))
                .json(&body),
        )
    }
}

pub(crate) async fn health_check(bench: &Bench) -> Row {
    let client = Client::new(bench);
    let step: Step = Arc::new(move |_| Box::pin(client.get("/health_check?message=bench".into())));
    bench.http_scenario("health_check", step, &[200]).await
}

/// New records; `tag` starts their SRNs, so that runs on one table never collide.
pub(crate) async fn insert_record(bench: &Bench, name: &str, tag: &'static str) -> Row {
    let client = Client::new(bench);
    let step: Step = Arc::new(move |n| Box::pin(client.insert(n, tag)));
    bench.http_scenario(name, step, &[201]).await
}

/// The whole table, [`SEEDED`] records, in every response.
pub(crate) async fn read_full(bench: &Bench) -> Row {
    // Inserts before this added rows: back to exactly the seeded 10,000.
    seed(&bench.stack.database_url, &bench.run).await;
    let client = Client::new(bench);
    let step: Step = Arc::new(move |_| Box::pin(client.get("/read_database".into())));
    let mut row = bench
        .http_scenario("read_full (10,000 records)", step, &[200])
        .await;
    row.note = format!("{SEEDED} records per response; {}", row.note);
    row
}

/// Pages of 100 from spread-out starting points.
pub(crate) async fn read_paged(bench: &Bench, srns: Arc<Vec<String>>) -> Row {
    let client = Client::new(bench);
    let step: Step = Arc::new(move |n| {
        let after = &srns[(n as usize * 7919) % (SEEDED - 100)];
        Box::pin(client.get(format!("/read_database?limit=100&after={after}")))
    });
    bench
        .http_scenario("read_paged (limit=100)", step, &[200])
        .await
}

/// 70% paged reads, 25% inserts, 5% deletes of what this scenario inserted.
pub(crate) async fn mixed(bench: &Bench, srns: Arc<Vec<String>>) -> Row {
    let inserted = Arc::new(Mutex::new(Vec::<String>::new()));
    let client = Client::new(bench);
    let step: Step = Arc::new(move |n| {
        let (client, inserted) = (client.clone(), inserted.clone());
        let pick = n % 20;
        let after = srns[(n as usize * 7919) % (SEEDED - 100)].clone();
        let srn = format!("M{}{n:08}", client.run);
        Box::pin(async move {
            if pick < 14 {
                client
                    .get(format!("/read_database?limit=100&after={after}"))
                    .await
            } else if pick < 19 {
                let answer = client.insert_srn(&srn, "Mixed", "M").await;
                if answer.status == 201 {
                    inserted.lock().unwrap().push(srn);
                }
                answer
            } else {
                let victim = inserted.lock().unwrap().pop();
                match victim {
                    Some(srn) => client.get(format!("/delete_record/{srn}")).await,
                    None => {
                        client
                            .get(format!("/read_database?limit=100&after={after}"))
                            .await
                    }
                }
            }
        })
    });
    let mut row = bench
        .http_scenario("mixed (70% read, 25% insert, 5% delete)", step, &[200, 201])
        .await;
    row.note = format!("reads are paged (limit=100); {}", row.note);
    row
}
